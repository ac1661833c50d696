#include "memcached/page_sealer.h"

#include <lz4.h>
#include <sodium.h>

#include <cstring>
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

static_assert(crypto_aead_aes256gcm_ABYTES == kTagBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagBytes);

}  // namespace

struct PageSealer::Keys {
  alignas(16) crypto_aead_aes256gcm_state aes_state;
  uint8_t aead_key[32];
  uint8_t name_key[crypto_generichash_KEYBYTES];
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
  uint8_t digest[16];
  crypto_generichash(digest, sizeof digest, binding.data(), binding.size(), keys_->name_key, sizeof keys_->name_key);
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
  return crypto_aead_xchacha20poly1305_ietf_decrypt_detached(message, nullptr, cipher, cipher_bytes, tag, ad,
                                                             ad_bytes, nonce, key) == 0;
}

void PageSealer::Seal(std::span<const uint8_t> binding, std::span<const uint8_t> page, std::vector<uint8_t>& scratch,
                      std::vector<uint8_t>& value) {
  if (binding.size() > kMaxBindingBytes) throw std::logic_error("PageSealer: binding too long");
  uint8_t flags = (encrypt_ ? kFlagEncrypted : 0) | (use_aes_ ? 0 : kFlagXChaCha);
  std::span<const uint8_t> payload = page;
  if (compress_) {
    scratch.resize(static_cast<size_t>(LZ4_compressBound(static_cast<int>(page.size()))));
    int packed = LZ4_compress_default(reinterpret_cast<const char*>(page.data()), reinterpret_cast<char*>(scratch.data()),
                                      static_cast<int>(page.size()), static_cast<int>(scratch.size()));
    if (packed > 0 && static_cast<size_t>(packed) < page.size()) {
      payload = {scratch.data(), static_cast<size_t>(packed)};
      flags |= kFlagLz4;
    }
  }
  const uint8_t header[kHeaderBytes] = {kFormatVersion, flags};
  const size_t body = kHeaderBytes + nonce_bytes_ + payload.size();

  if (encrypt_) {
    value.resize(body + kTagBytes);
    std::memcpy(value.data(), header, kHeaderBytes);
    uint8_t* nonce = value.data() + kHeaderBytes;
    FillNonce(nonce);
    uint8_t ad[kMaxBindingBytes + kHeaderBytes];
    std::memcpy(ad, binding.data(), binding.size());
    std::memcpy(ad + binding.size(), header, kHeaderBytes);
    SealDetached(use_aes_, &keys_->aes_state, keys_->aead_key, nonce + nonce_bytes_, value.data() + body,
                 payload.data(), payload.size(), ad, binding.size() + kHeaderBytes, nonce);
    return;
  }
  // Plaintext: the tag authenticates binding || header || nonce || payload,
  // which must be contiguous; build it in `value` and drop the binding after.
  value.resize(binding.size() + body + kTagBytes);
  uint8_t* out = value.data();
  std::memcpy(out, binding.data(), binding.size());
  std::memcpy(out + binding.size(), header, kHeaderBytes);
  uint8_t* nonce = out + binding.size() + kHeaderBytes;
  FillNonce(nonce);
  std::memcpy(nonce + nonce_bytes_, payload.data(), payload.size());
  uint8_t unused = 0;
  SealDetached(use_aes_, &keys_->aes_state, keys_->aead_key, &unused, out + binding.size() + body, nullptr, 0, out,
               binding.size() + body, nonce);
  value.erase(value.begin(), value.begin() + static_cast<std::ptrdiff_t>(binding.size()));
}

bool PageSealer::Open(std::span<const uint8_t> binding, std::span<const uint8_t> value, std::span<uint8_t> page,
                      std::vector<uint8_t>& scratch) const {
  if (binding.size() > kMaxBindingBytes || value.size() < kHeaderBytes + nonce_bytes_ + kTagBytes) return false;
  const uint8_t flags = value[1];
  const uint8_t mode = (encrypt_ ? kFlagEncrypted : 0) | (use_aes_ ? 0 : kFlagXChaCha);
  if (value[0] != kFormatVersion || (flags & ~kFlagLz4) != mode) return false;
  const uint8_t* nonce = value.data() + kHeaderBytes;
  const size_t body = value.size() - kTagBytes;
  const uint8_t* tag = value.data() + body;
  const uint8_t* payload = nonce + nonce_bytes_;
  const size_t payload_bytes = body - kHeaderBytes - nonce_bytes_;

  if (encrypt_) {
    uint8_t ad[kMaxBindingBytes + kHeaderBytes];
    std::memcpy(ad, binding.data(), binding.size());
    std::memcpy(ad + binding.size(), value.data(), kHeaderBytes);
    scratch.resize(payload_bytes + 1);
    if (!OpenDetached(use_aes_, &keys_->aes_state, keys_->aead_key, scratch.data(), payload, payload_bytes, tag, ad,
                      binding.size() + kHeaderBytes, nonce)) {
      return false;
    }
    payload = scratch.data();
  } else {
    scratch.resize(binding.size() + body);
    std::memcpy(scratch.data(), binding.data(), binding.size());
    std::memcpy(scratch.data() + binding.size(), value.data(), body);
    uint8_t unused = 0;
    if (!OpenDetached(use_aes_, &keys_->aes_state, keys_->aead_key, &unused, &unused, 0, tag, scratch.data(),
                      scratch.size(), nonce)) {
      return false;
    }
  }
  if (flags & kFlagLz4) {
    int size = LZ4_decompress_safe(reinterpret_cast<const char*>(payload), reinterpret_cast<char*>(page.data()),
                                   static_cast<int>(payload_bytes), static_cast<int>(page.size()));
    return size >= 0 && static_cast<size_t>(size) == page.size();
  }
  if (payload_bytes != page.size()) return false;
  std::memcpy(page.data(), payload, payload_bytes);
  return true;
}

}  // namespace cleancache::memcached
