// The C API: a thin layer over cleancache::Cleancache and CreateBackend.
// Error style at this boundary (docs/ARCHITECTURE.md, "Errors"): every
// function returns a code (CC_OK, CC_MISS or a negative CC_E*), control calls
// leave a message for cc_last_error, and no exception ever crosses into C:
// every entry point runs inside Guarded, which catches everything (bad_alloc
// is CC_ENOMEM, any other exception CC_EIO) and records the message.
//
// cc_last_error returns a pointer the caller reads after the call returns, so
// one shared string would be torn or freed under a reader when two threads
// fail at once. Each handle therefore keeps the last error per calling thread
// (node-based map: an entry never moves); the pointer stays valid until the
// same thread's next failing call on the same handle.
#include "cleancache/cleancache.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <type_traits>

#include "cleancache/backend_spec.h"
#include "cleancache/cleancache.hpp"

struct cc_cache {
  cleancache::Cleancache cache;
  mutable std::mutex error_mutex;
  mutable std::map<std::thread::id, std::string> last_errors;  // map guarded by error_mutex

  int Fail(int code, const std::string& message) const noexcept { return Fail(code, message.c_str(), ""); }
  // `prefix` + `detail`, built here so that a failure to build it is caught.
  int Fail(int code, const char* prefix, const char* detail) const noexcept {
    std::lock_guard lock(error_mutex);
    try {
      last_errors[std::this_thread::get_id()] = std::string(prefix) + detail;
    } catch (...) {
      // The code still tells the caller what failed; the text is lost.
    }
    return code;
  }
  const char* LastError() const noexcept {
    std::lock_guard lock(error_mutex);
    try {
      return last_errors[std::this_thread::get_id()].c_str();
    } catch (...) {
      return "out of memory";
    }
  }
  int Fail(const cleancache::Status& status) const { return Fail(CodeFor(status), status.ToString()); }

  static int CodeFor(const cleancache::Status& status) {
    using Code = cleancache::Status::Code;
    switch (status.code()) {
      case Code::kOk: return CC_OK;
      case Code::kInvalidArgument: return CC_EINVAL;
      case Code::kBusy: return CC_EBUSY;
      case Code::kNotFound: return CC_ENOENT;
      default: return CC_EIO;
    }
  }
};

namespace {

using cleancache::FileKey;

// Converts a C key; false if it is malformed.
bool ToFileKey(const cc_file_key* key, FileKey* out) {
  if (key == nullptr || key->size > CC_MAX_KEY_BYTES) return false;
  *out = FileKey::FromBytes(key->type, std::span<const uint8_t>(key->data, key->size)).value();
  return true;
}

void FromFileKey(const FileKey& key, cc_file_key* out) {
  std::memset(out, 0, sizeof *out);
  out->type = key.type();
  out->size = static_cast<uint32_t>(key.size());
  std::memcpy(out->data, key.bytes().data(), key.size());
}

// Why a data-path call on `pool` with a buffer of `size` bytes cannot be
// served, as a CC_E* code, or CC_OK if the call is well formed.
int CheckDataCall(const cc_cache* cache, int32_t pool, size_t size, bool needs_size) {
  cleancache::Result<cleancache::PoolInfo> info = cache->cache.Info(pool);
  if (!info.ok()) return CC_ENOENT;
  if (needs_size && size != info->page_size) return CC_EINVAL;
  return CC_OK;
}

// Runs `fn` and turns anything it throws into a code with its message on
// `cache` (when there is one): std::bad_alloc is CC_ENOMEM, anything else
// CC_EIO. A void function just returns.
template <typename Fn>
auto Guarded(const cc_cache* cache, Fn&& fn) noexcept -> decltype(fn()) {
  using R = decltype(fn());
  auto fail = [cache](int code, const char* prefix, const char* detail) noexcept -> R {
    if (cache != nullptr) cache->Fail(code, prefix, detail);
    if constexpr (std::is_pointer_v<R>)
      return nullptr;
    else if constexpr (!std::is_void_v<R>)
      return static_cast<R>(code);
  };
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return fail(CC_ENOMEM, "out of memory", "");
  } catch (const std::exception& e) {
    return fail(CC_EIO, "internal error: ", e.what());
  } catch (...) {
    return fail(CC_EIO, "internal error: ", "unknown exception");
  }
}

}  // namespace

extern "C" {

const char* cc_version(void) { return cleancache::Version(); }

cc_cache* cc_create(void) {
  return Guarded(nullptr, [] { return new (std::nothrow) cc_cache(); });
}

void cc_destroy(cc_cache* cache) {
  Guarded(nullptr, [cache] { delete cache; });
}

int cc_register_backend(cc_cache* cache, const char* spec) {
  if (cache == nullptr) return CC_EINVAL;
  if (spec == nullptr) return cache->Fail(CC_EINVAL, "cc_register_backend: null spec");
  return Guarded(cache, [&]() -> int {
    // Checked first so a refused registration does not build (and, for a
    // remote backend, connect) a backend only to throw it away.
    if (cache->cache.has_backend()) {
      return cache->Fail(CC_EBUSY, "busy: a backend is already registered (" + cache->cache.BackendName() + ")");
    }
    auto backend = cleancache::CreateBackend(std::string_view(spec));
    if (!backend.ok()) return cache->Fail(backend.status());
    cleancache::Status status = cache->cache.RegisterBackend(std::move(backend.value()));
    return status.ok() ? CC_OK : cache->Fail(status);
  });
}

const char* cc_last_error(const cc_cache* cache) {
  if (cache == nullptr) return "null cc_cache handle";
  return cache->LastError();
}

int32_t cc_init_fs(cc_cache* cache, uint32_t page_size) {
  if (cache == nullptr) return CC_EINVAL;
  return Guarded(cache, [&]() -> int32_t {
    auto id = cache->cache.OpenPool(
        cleancache::PoolConfig{.page_size = page_size, .shared = false, .uuid = {}, .keep_on_get = {}});
    return id.ok() ? id.value() : cache->Fail(id.status());
  });
}

int32_t cc_init_shared_fs(cc_cache* cache, const uint8_t uuid[16], uint32_t page_size) {
  if (cache == nullptr) return CC_EINVAL;
  if (uuid == nullptr) return cache->Fail(CC_EINVAL, "cc_init_shared_fs: null uuid");
  return Guarded(cache, [&]() -> int32_t {
    cleancache::PoolConfig config{.page_size = page_size, .shared = true, .uuid = {}, .keep_on_get = {}};
    std::memcpy(config.uuid.bytes.data(), uuid, config.uuid.bytes.size());
    auto id = cache->cache.OpenPool(config);
    return id.ok() ? id.value() : cache->Fail(id.status());
  });
}

void cc_key_from_inode(cc_file_key* key, uint64_t dev, uint64_t ino) {
  if (key != nullptr) Guarded(nullptr, [&] { FromFileKey(FileKey::FromInode(dev, ino), key); });
}

int cc_key_from_fd(cc_file_key* key, int fd) {
  if (key == nullptr) return CC_EINVAL;
  return Guarded(nullptr, [&]() -> int {
    auto file_key = FileKey::ForDescriptor(fd);
    if (!file_key.ok()) return cc_cache::CodeFor(file_key.status());
    FromFileKey(file_key.value(), key);
    return CC_OK;
  });
}

int cc_get_page(cc_cache* cache, int32_t pool, const cc_file_key* key, uint64_t index, void* page, size_t page_size) {
  FileKey file_key;
  if (cache == nullptr || page == nullptr || !ToFileKey(key, &file_key)) return CC_EINVAL;
  return Guarded(cache, [&]() -> int {
    if (cache->cache.GetPage(pool, file_key, index, std::span<uint8_t>(static_cast<uint8_t*>(page), page_size))) {
      return CC_OK;
    }
    const int reason = CheckDataCall(cache, pool, page_size, true);
    return reason == CC_OK ? CC_MISS : reason;
  });
}

int cc_put_page(cc_cache* cache, int32_t pool, const cc_file_key* key, uint64_t index, const void* page,
                size_t page_size) {
  FileKey file_key;
  if (cache == nullptr || page == nullptr || !ToFileKey(key, &file_key)) return CC_EINVAL;
  return Guarded(cache, [&]() -> int {
    if (int reason = CheckDataCall(cache, pool, page_size, true); reason != CC_OK) return reason;
    cache->cache.PutPage(pool, file_key, index, std::span<const uint8_t>(static_cast<const uint8_t*>(page), page_size));
    return CC_OK;
  });
}

int cc_invalidate_page(cc_cache* cache, int32_t pool, const cc_file_key* key, uint64_t index) {
  FileKey file_key;
  if (cache == nullptr || !ToFileKey(key, &file_key)) return CC_EINVAL;
  return Guarded(cache, [&]() -> int {
    if (int reason = CheckDataCall(cache, pool, 0, false); reason != CC_OK) return reason;
    cache->cache.InvalidatePage(pool, file_key, index);
    return CC_OK;
  });
}

int cc_invalidate_inode(cc_cache* cache, int32_t pool, const cc_file_key* key) {
  FileKey file_key;
  if (cache == nullptr || !ToFileKey(key, &file_key)) return CC_EINVAL;
  return Guarded(cache, [&]() -> int {
    if (int reason = CheckDataCall(cache, pool, 0, false); reason != CC_OK) return reason;
    cache->cache.InvalidateInode(pool, file_key);
    return CC_OK;
  });
}

int cc_invalidate_fs(cc_cache* cache, int32_t pool) {
  if (cache == nullptr) return CC_EINVAL;
  return Guarded(cache, [&]() -> int {
    if (int reason = CheckDataCall(cache, pool, 0, false); reason != CC_OK) {
      return cache->Fail(reason, "cc_invalidate_fs: no live pool with id " + std::to_string(pool));
    }
    cache->cache.InvalidateFs(pool);
    return CC_OK;
  });
}

int cc_pool_counters(const cc_cache* cache, int32_t pool, cc_counters* out) {
  if (cache == nullptr || out == nullptr) return CC_EINVAL;
  return Guarded(cache, [&]() -> int {
    if (int reason = CheckDataCall(cache, pool, 0, false); reason != CC_OK) return reason;
    cleancache::PoolCounters counters = cache->cache.Counters(pool);
    *out = cc_counters{counters.succ_gets, counters.failed_gets, counters.puts, counters.invalidates};
    return CC_OK;
  });
}

void cc_total_counters(const cc_cache* cache, cc_counters* out) {
  if (out == nullptr) return;
  *out = cc_counters{};
  if (cache == nullptr) return;
  Guarded(cache, [&] {
    cleancache::PoolCounters counters = cache->cache.TotalCounters();
    *out = cc_counters{counters.succ_gets, counters.failed_gets, counters.puts, counters.invalidates};
  });
}

void cc_backend_stats_get(const cc_cache* cache, cc_backend_stats* out) {
  if (out == nullptr) return;
  *out = cc_backend_stats{};
  if (cache == nullptr) return;
  // On an exception (e.g. the `extra` map could not be built) the zeros stand.
  Guarded(cache, [&] {
    cleancache::BackendStats stats = cache->cache.BackendStatistics();
    *out = cc_backend_stats{
        stats.pages_stored,      stats.original_bytes, stats.compressed_bytes,        stats.real_memory_bytes,
        stats.capacity_bytes,    stats.evictions,      stats.rejected_incompressible, stats.stored_raw,
        stats.same_filled_pages, stats.dropped_puts};
  });
}

}  // extern "C"
