// SharedArea: the per-connection shared memory through which page data moves
// between a tmem client and the daemon (see protocol.h).
//
// The client creates it (a memfd sealed against shrinking and growing, so the
// daemon can never be made to fault on a truncated mapping) and passes the
// descriptor at Hello; the daemon maps it only after checking those seals and
// the size. Either side may scribble on the area at any time; the daemon only
// ever copies a client's own bytes in and out of it, so a misbehaving client
// can corrupt nothing but its own pages.
// Move-only; unmapped by the destructor. Not thread-safe.
#pragma once

#include <cstdint>
#include <span>

#include "cleancache/status.h"

namespace cleancache::daemon {

class SharedArea {
 public:
  SharedArea() = default;
  ~SharedArea();
  SharedArea(SharedArea&& other) noexcept;
  SharedArea& operator=(SharedArea&& other) noexcept;

  // Client side: a new sealed memfd of `bytes` bytes, mapped; fd() stays open.
  static Result<SharedArea> Create(uint64_t bytes);
  // Daemon side: maps `fd` (taking ownership; it is closed before returning)
  // if it is a memfd sealed against shrink and grow, exactly `bytes` long.
  static Result<SharedArea> Map(int fd, uint64_t bytes);

  std::span<uint8_t> bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }
  int fd() const { return fd_; }
  // Bounds-checked view: nullptr-span unless [offset, offset + length) fits.
  std::span<uint8_t> Slice(uint64_t offset, uint64_t length) const;

 private:
  void Reset();
  uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  int fd_ = -1;
};

}  // namespace cleancache::daemon
