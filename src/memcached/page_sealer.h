// PageSealer: turns a page into the value stored in remote memory and back,
// and names it. One per pool; its keys are random and never leave the process.
//
// Value layout: [version][flags][nonce][payload][tag(16)], where payload is the
// (optionally LZ4-compressed) page, encrypted unless the sealer is plaintext.
// The tag authenticates the header, the payload and the caller's `binding`
// (pool, file key, generation, index): a value is accepted only under the
// binding it was sealed for. Nonces are a random per-sealer prefix plus a
// per-sealer counter, so they never repeat under one key.
// Thread safety: Seal, Open and KeyFor may run concurrently (the counter is
// atomic; everything else is immutable after construction), each call with
// its own SealerScratch.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace cleancache::memcached {

// Working memory for Seal and Open, reused across calls so the data path
// neither allocates nor re-initialises LZ4's 16 KiB hash table per page. One
// per thread at a time (the backend keeps one per connection).
class SealerScratch {
 public:
  SealerScratch();
  ~SealerScratch();
  SealerScratch(const SealerScratch&) = delete;
  SealerScratch& operator=(const SealerScratch&) = delete;

 private:
  friend class PageSealer;
  // Grows `buffer` to at least `size` bytes (never shrinks, never zero-fills
  // what it already had) and returns its start.
  static uint8_t* Reserve(std::vector<uint8_t>& buffer, size_t size);

  std::vector<uint8_t> value_;  // Seal: the value is built (and returned) here
  // Seal: the compressed page before encryption. Open: the decrypted payload,
  // or (plaintext) the binding and value the tag covers, made contiguous.
  std::vector<uint8_t> work_;
  void* lz4_stream_;  // LZ4_stream_t, reset cheaply between pages
};

class PageSealer {
 public:
  static constexpr size_t kKeyChars = 36;  // "cc1:" + 32 hex digits

  PageSealer(bool encrypt, bool compress);
  ~PageSealer();
  PageSealer(const PageSealer&) = delete;
  PageSealer& operator=(const PageSealer&) = delete;

  // "aes256gcm" / "xchacha20poly1305" / "plaintext+gmac" ...
  const char* Description() const;

  // The memcached key of `binding`: a keyed 128-bit PRF (SipHash-2-4), so keys
  // reveal nothing; two bindings sharing a key only cost misses, because the
  // value's tag still names its own binding.
  void KeyFor(std::span<const uint8_t> binding, char (&key)[kKeyChars]) const;

  // The sealed page, in `scratch`'s memory: valid until its next use.
  std::span<const uint8_t> Seal(std::span<const uint8_t> binding, std::span<const uint8_t> page,
                                SealerScratch& scratch);

  // True and `page` filled when `value` is authentic for `binding` and
  // decodes to exactly page.size() bytes; `page` is written only after the
  // tag has been verified.
  bool Open(std::span<const uint8_t> binding, std::span<const uint8_t> value, std::span<uint8_t> page,
            SealerScratch& scratch) const;

 private:
  struct Keys;
  void FillNonce(uint8_t* nonce);

  bool encrypt_;
  bool compress_;
  bool use_aes_;
  size_t nonce_bytes_;
  std::unique_ptr<Keys> keys_;
  std::atomic<uint64_t> nonce_counter_{0};
};

}  // namespace cleancache::memcached
