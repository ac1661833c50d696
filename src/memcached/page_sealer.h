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
// atomic; everything else is immutable after construction). Scratch buffers
// are the caller's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace cleancache::memcached {

class PageSealer {
 public:
  static constexpr size_t kKeyChars = 36;  // "cc1:" + 32 hex digits

  PageSealer(bool encrypt, bool compress);
  ~PageSealer();
  PageSealer(const PageSealer&) = delete;
  PageSealer& operator=(const PageSealer&) = delete;

  // "aes256gcm" / "xchacha20poly1305" / "plaintext+aes256gcm-tag" ...
  const char* Description() const;

  // The memcached key of `binding`: a keyed hash, so keys reveal nothing.
  void KeyFor(std::span<const uint8_t> binding, char (&key)[kKeyChars]) const;

  // Fills `value` (resized) with the sealed page. `scratch` is reused memory.
  void Seal(std::span<const uint8_t> binding, std::span<const uint8_t> page, std::vector<uint8_t>& scratch,
            std::vector<uint8_t>& value);

  // True and `page` filled when `value` is authentic for `binding` and
  // decodes to exactly page.size() bytes.
  bool Open(std::span<const uint8_t> binding, std::span<const uint8_t> value, std::span<uint8_t> page,
            std::vector<uint8_t>& scratch) const;

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
