// TierBackend: a fast local backend in front of a larger, slower one
// ("tier:zcache:capacity=512M+memcached://..."), like RAMster: pages the
// local tier evicts for space are demoted to the remote tier, and a get that
// misses locally is served from the remote tier.
//
// Guarantees, beyond the Backend contract (which holds for the tier as one
// backend):
//  - Put goes to the local tier and removes any remote copy, so an older
//    remote copy can never come back. Invalidations reach both tiers.
//  - Pools that keep pages on get: a remote hit is promoted (copied into the
//    local tier). Other pools: a remote hit is removed from the remote tier
//    and not promoted: an exclusive get empties the whole tier.
//  - Demotion is asynchronous (one worker, a bounded queue of `queue_pages`
//    pages). A demotion that would race any operation on the same page, or an
//    InvalidateInode/ClosePool, is dropped instead: losing a page is allowed,
//    resurrecting an old one is not.
// Thread safety: fully concurrent. Operations on one page are serialised by
// striped locks held across both tiers (so a remote round trip blocks only
// that stripe). The tier owns both backends.
#pragma once

#include <cstddef>
#include <memory>

#include "cleancache/backend.h"
#include "cleancache/spec_parser.h"

namespace cleancache {

struct TierOptions {
  size_t queue_pages = 1024;  // demotions waiting for the worker; more are dropped
};

std::unique_ptr<Backend> NewTierBackend(std::unique_ptr<Backend> local, std::unique_ptr<Backend> remote,
                                        const TierOptions& options = {});

// The "tier" entry of the composition layer's scheme table: "tier:<spec>+<spec>",
// each part created (or checked) through the whole table.
BackendScheme TierScheme();

}  // namespace cleancache
