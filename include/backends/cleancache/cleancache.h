/* cleancache.h: the C API of libcleancache.
 *
 * Same object and contract as the C++ class cleancache::Cleancache
 * (cleancache/cleancache.hpp): opt-in pools, pages keyed by pool + file key +
 * 64-bit index, ephemeral storage, exclusive gets on private pools, strict
 * coherency after invalidation. Handles are opaque; the caller owns a handle
 * from cc_create until cc_destroy. Buffers are borrowed for the call only.
 * All functions except cc_destroy may be called concurrently on one handle.
 * Functions returning int return CC_OK (0) or a negative CC_E* code; the last
 * error message of a failing control call is available from cc_last_error()
 * (per handle and calling thread; valid until that thread's next failing call
 * on the handle). No C++ exception ever escapes a function of this API: an
 * internal failure is CC_ENOMEM (out of memory) or CC_EIO, with its message
 * in cc_last_error(), on the data path too.
 */
#ifndef CLEANCACHE_CLEANCACHE_H_
#define CLEANCACHE_CLEANCACHE_H_

#include <stddef.h>
#include <stdint.h>

#include "cleancache/version.h" /* CLEANCACHE_VERSION_* of the headers */

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cc_cache cc_cache; /* opaque */

enum {
  CC_OK = 0,
  CC_MISS = 1,     /* cc_get_page: not in the cache (not an error) */
  CC_EINVAL = -22, /* bad argument (spec, page size, key length, buffer size) */
  CC_EBUSY = -16,  /* a backend is already registered */
  CC_ENOENT = -2,  /* unknown pool */
  CC_ENOMEM = -12,
  CC_EIO = -5, /* backend could not be created (e.g. server unreachable) */
};

#define CC_MAX_KEY_BYTES 128
#define CC_KEY_TYPE_INODE 0xCC000001u

typedef struct cc_file_key {
  uint32_t type; /* kernel handle type, or CC_KEY_TYPE_INODE */
  uint32_t size; /* bytes used in data, <= CC_MAX_KEY_BYTES */
  uint8_t data[CC_MAX_KEY_BYTES];
} cc_file_key;

typedef struct cc_counters {
  uint64_t succ_gets, failed_gets, puts, invalidates;
} cc_counters;

typedef struct cc_backend_stats {
  uint64_t pages_stored, original_bytes, compressed_bytes, real_memory_bytes, capacity_bytes;
  uint64_t evictions, rejected_incompressible, stored_raw, same_filled_pages, dropped_puts;
} cc_backend_stats;

/* The library's version, "MAJOR.MINOR.PATCH"; compare with
 * CLEANCACHE_VERSION_STRING, the headers' version. A static string. */
const char* cc_version(void);

/* A new instance with no backend. NULL only when out of memory. */
cc_cache* cc_create(void);
void cc_destroy(cc_cache* cache);
/* Register the backend named by a spec ("zcache:capacity=1G", ...). */
int cc_register_backend(cc_cache* cache, const char* spec);
const char* cc_last_error(const cc_cache* cache);

/* Pool ids are >= 0; a negative return is a CC_E* code. */
int32_t cc_init_fs(cc_cache* cache, uint32_t page_size);
int32_t cc_init_shared_fs(cc_cache* cache, const uint8_t uuid[16], uint32_t page_size);

/* Keys from an inode number or from an open descriptor's file handle. */
void cc_key_from_inode(cc_file_key* key, uint64_t dev, uint64_t ino);
int cc_key_from_fd(cc_file_key* key, int fd);

/* CC_OK on a hit (page filled), CC_MISS, or a CC_E* code for bad arguments. */
int cc_get_page(cc_cache* cache, int32_t pool, const cc_file_key* key, uint64_t index, void* page, size_t page_size);
int cc_put_page(cc_cache* cache, int32_t pool, const cc_file_key* key, uint64_t index, const void* page,
                size_t page_size);
int cc_invalidate_page(cc_cache* cache, int32_t pool, const cc_file_key* key, uint64_t index);
int cc_invalidate_inode(cc_cache* cache, int32_t pool, const cc_file_key* key);
int cc_invalidate_fs(cc_cache* cache, int32_t pool);

int cc_pool_counters(const cc_cache* cache, int32_t pool, cc_counters* out);
void cc_total_counters(const cc_cache* cache, cc_counters* out);
void cc_backend_stats_get(const cc_cache* cache, cc_backend_stats* out);

#ifdef __cplusplus
}
#endif

#endif /* CLEANCACHE_CLEANCACHE_H_ */
