#include "memcached/page_sealer.h"

#define LZ4_STATIC_LINKING_ONLY  // LZ4_compress_fast_extState_fastReset
#include <lz4.h>
#include <sodium.h>

#include <cstring>
#include <new>
#include <stdexcept>

namespace cleancache::memcached {
namespace {

constexpr uint8_t kFormatVersion = 1;
constexpr uint8_t kFlagLz4 = 1;
constexpr uint8_t kFlagEncrypted = 2;
constexpr uint8_t kFlagXChaCha = 4;
constexpr size_t kHeaderBytes = 2;
constexpr size_t kTagBytes = 16;
// Pool nonce + generation + type + length + 128 key bytes + index, with room.
constexpr size_t kMaxBindingBytes = 256;
constexpr int kLz4Acceleration = 1;  // LZ4's default: the best ratio of its fast mode

static_assert(crypto_aead_aes256gcm_ABYTES == kTagBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagBytes);
static_assert(crypto_shorthash_siphashx24_BYTES == 16);

}  // namespace

SealerScratch::SealerScratch() : lz4_stream_(LZ4_createStream()) {
  if (!lz4_stream_) throw std::bad_alloc();
}

SealerScratch::~SealerScratch() { LZ4_freeStream(static_cast<LZ4_stream_t*>(lz4_stream_)); }

uint8_t* SealerScratch::Reserve(std::vector<uint8_t>& buffer, size_t size) {
  if (buffer.size() < size) buffer.resize(size);
  return buffer.data();
}

struct PageSealer::Keys {
  alignas(16) crypto_aead_aes256gcm_state aes_state;
  uint8_t aead_key[32];
  uint8_t name_key[crypto_shorthash_siphashx24_KEYBYTES];
  uint8_t nonce_prefix[16];
};

PageSealer::PageSealer(bool encrypt, bool compress)
    : encrypt_(encrypt), compress_(compress), keys_(std::make_unique<Keys>()) {
  if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
  use_aes_ = crypto_aead_aes256gcm_is_available() != 0;
  nonce_bytes_ = use_aes_ ? crypto_aead_aes256gcm_NPUBBYTES : crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  randombytes_buf(keys_->aead_key, sizeof keys_->aead_key);
  randombytes_buf(keys_->name_key, sizeof keys_->name_key);
  randombytes_buf(keys_->nonce_prefix, sizeof keys_->nonce_prefix);
  if (use_aes_) crypto_aead_aes256gcm_beforenm(&keys_->aes_state, keys_->aead_key);
}

PageSealer::~PageSealer() { sodium_memzero(keys_.get(), sizeof(Keys)); }

const char* PageSealer::Description() const {
  if (encrypt_) return use_aes_ ? "aes256gcm" : "xchacha20poly1305";
  return use_aes_ ? "plaintext+gmac" : "plaintext+poly1305";
}

void PageSealer::KeyFor(std::span<const uint8_t> binding, char (&key)[kKeyChars]) const {
  uint8_t digest[crypto_shorthash_siphashx24_BYTES];
  crypto_shorthash_siphashx24(digest, binding.data(), binding.size(), keys_->name_key);
  std::memcpy(key, "cc1:", 4);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof digest; ++i) {
    key[4 + 2 * i] = kHex[digest[i] >> 4];
    key[5 + 2 * i] = kHex[digest[i] & 15];
  }
}

void PageSealer::FillNonce(uint8_t* nonce) {
  uint64_t counter = nonce_counter_.fetch_add(1, std::memory_order_relaxed);
  size_t prefix = nonce_bytes_ - sizeof counter;
  std::memcpy(nonce, keys_->nonce_prefix, prefix);
  std::memcpy(nonce + prefix, &counter, sizeof counter);
}

// The AEAD call both modes share: encrypt `message` (possibly empty) into
// `cipher`, authenticating `ad`, tag to `tag`.
static void SealDetached(bool use_aes, const void* aes_state, const uint8_t* key, uint8_t* cipher, uint8_t* tag,
                         const uint8_t* message, size_t message_bytes, const uint8_t* ad, size_t ad_bytes,
                         const uint8_t* nonce) {
  if (use_aes) {
    crypto_aead_aes256gcm_encrypt_detached_afternm(cipher, tag, nullptr, message, message_bytes, ad, ad_bytes, nullptr,
                                                   nonce, static_cast<const crypto_aead_aes256gcm_state*>(aes_state));
  } else {
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(cipher, tag, nullptr, message, message_bytes, ad, ad_bytes,
                                                        nullptr, nonce, key);
  }
}

static bool OpenDetached(bool use_aes, const void* aes_state, const uint8_t* key, uint8_t* message,
                         const uint8_t* cipher, size_t cipher_bytes, const uint8_t* tag, const uint8_t* ad,
                         size_t ad_bytes, const uint8_t* nonce) {
  if (use_aes) {
    return crypto_aead_aes256gcm_decrypt_detached_afternm(
               message, nullptr, cipher, cipher_bytes, tag, ad, ad_bytes, nonce,
               static_cast<const crypto_aead_aes256gcm_state*>(aes_state)) == 0;
  }
  return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(message, nullptr, cipher, cipher_bytes, tag, ad, ad_bytes,
                                                             nonce, key) == 0;
}

std::span<const uint8_t> PageSealer::Seal(std::span<const uint8_t> binding, std::span<const uint8_t> page,
                                          SealerScratch& scratch) {
  if (binding.size() > kMaxBindingBytes) throw std::logic_error("PageSealer: binding too long");
  const size_t bound = static_cast<size_t>(LZ4_compressBound(static_cast<int>(page.size())));
  // Plaintext: the tag covers binding || header || nonce || payload, which
  // libsodium wants contiguous, so the value is built behind a copy of the
  // binding and returned without it. Encrypted: the binding is separate AD.
  const size_t prefix = encrypt_ ? 0 : binding.size();
  uint8_t* const base =
      SealerScratch::Reserve(scratch.value_, prefix + kHeaderBytes + nonce_bytes_ + bound + kTagBytes);
  uint8_t* const header = base + prefix;
  uint8_t* const nonce = header + kHeaderBytes;
  uint8_t* const payload = nonce + nonce_bytes_;

  uint8_t flags = (encrypt_ ? kFlagEncrypted : 0) | (use_aes_ ? 0 : kFlagXChaCha);
  const uint8_t* message = page.data();  // what goes into the payload (encrypted or not)
  size_t payload_bytes = page.size();
  if (compress_) {
    // Encrypted: compress into the work buffer, then encrypt into the value.
    // Plaintext: compress straight into the value's payload.
    uint8_t* packed_out = encrypt_ ? SealerScratch::Reserve(scratch.work_, bound) : payload;
    int packed = LZ4_compress_fast_extState_fastReset(
        scratch.lz4_stream_, reinterpret_cast<const char*>(page.data()), reinterpret_cast<char*>(packed_out),
        static_cast<int>(page.size()), static_cast<int>(bound), kLz4Acceleration);
    if (packed > 0 && static_cast<size_t>(packed) < page.size()) {
      message = packed_out;
      payload_bytes = static_cast<size_t>(packed);
      flags |= kFlagLz4;
    }
  }
  header[0] = kFormatVersion;
  header[1] = flags;
  FillNonce(nonce);
  uint8_t* const tag = payload + payload_bytes;
  const size_t value_bytes = kHeaderBytes + nonce_bytes_ + payload_bytes + kTagBytes;

  if (encrypt_) {
    uint8_t ad[kMaxBindingBytes + kHeaderBytes];
    std::memcpy(ad, binding.data(), binding.size());
    std::memcpy(ad + binding.size(), header, kHeaderBytes);
    SealDetached(use_aes_, &keys_->aes_state, keys_->aead_key, payload, tag, message, payload_bytes, ad,
                 binding.size() + kHeaderBytes, nonce);
    return {header, value_bytes};
  }
  if (message != payload) std::memcpy(payload, message, payload_bytes);
  std::memcpy(base, binding.data(), binding.size());
  uint8_t unused = 0;
  SealDetached(use_aes_, &keys_->aes_state, keys_->aead_key, &unused, tag, nullptr, 0, base,
               static_cast<size_t>(tag - base), nonce);
  return {header, value_bytes};
}

bool PageSealer::Open(std::span<const uint8_t> binding, std::span<const uint8_t> value, std::span<uint8_t> page,
                      SealerScratch& scratch) const {
  if (binding.size() > kMaxBindingBytes || value.size() < kHeaderBytes + nonce_bytes_ + kTagBytes) return false;
  const uint8_t flags = value[1];
  const uint8_t mode = (encrypt_ ? kFlagEncrypted : 0) | (use_aes_ ? 0 : kFlagXChaCha);
  if (value[0] != kFormatVersion || (flags & ~kFlagLz4) != mode) return false;
  const bool compressed = (flags & kFlagLz4) != 0;
  const uint8_t* nonce = value.data() + kHeaderBytes;
  const size_t body = value.size() - kTagBytes;
  const uint8_t* tag = value.data() + body;
  const uint8_t* payload = nonce + nonce_bytes_;
  const size_t payload_bytes = body - kHeaderBytes - nonce_bytes_;
  if (!compressed && payload_bytes != page.size()) return false;

  if (encrypt_) {
    uint8_t ad[kMaxBindingBytes + kHeaderBytes];
    std::memcpy(ad, binding.data(), binding.size());
    std::memcpy(ad + binding.size(), value.data(), kHeaderBytes);
    // Decrypted into the work buffer, not the page: a value that fails its
    // tag must leave the caller's page untouched.
    uint8_t* plain = SealerScratch::Reserve(scratch.work_, payload_bytes + 1);
    if (!OpenDetached(use_aes_, &keys_->aes_state, keys_->aead_key, plain, payload, payload_bytes, tag, ad,
                      binding.size() + kHeaderBytes, nonce)) {
      return false;
    }
    payload = plain;
  } else {
    uint8_t* covered = SealerScratch::Reserve(scratch.work_, binding.size() + body);
    std::memcpy(covered, binding.data(), binding.size());
    std::memcpy(covered + binding.size(), value.data(), body);
    uint8_t unused = 0;
    if (!OpenDetached(use_aes_, &keys_->aes_state, keys_->aead_key, &unused, &unused, 0, tag, covered,
                      binding.size() + body, nonce)) {
      return false;
    }
  }
  if (compressed) {
    int size = LZ4_decompress_safe(reinterpret_cast<const char*>(payload), reinterpret_cast<char*>(page.data()),
                                   static_cast<int>(payload_bytes), static_cast<int>(page.size()));
    return size >= 0 && static_cast<size_t>(size) == page.size();
  }
  std::memcpy(page.data(), payload, payload_bytes);
  return true;
}

}  // namespace cleancache::memcached
