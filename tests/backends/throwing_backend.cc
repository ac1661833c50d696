#include "throwing_backend.h"

#include <memory>
#include <stdexcept>
#include <string>

namespace cleancache::testing {
namespace {

struct ThrowingOptions {
  std::string at;
  bool std_exception = true;

  static Result<ThrowingOptions> FromSpec(const BackendSpec& spec) {
    if (Status s = spec.CheckKeys({"at", "what"}); !s.ok()) return s;
    ThrowingOptions options;
    if (const std::string* at = spec.Find("at")) options.at = *at;
    if (const std::string* what = spec.Find("what")) options.std_exception = *what != "other";
    return options;
  }
};

[[noreturn]] void Throw(const ThrowingOptions& options) {
  if (options.std_exception) throw std::runtime_error("throwing backend: " + options.at);
  throw 42;
}

class ThrowingBackend final : public Backend {
 public:
  explicit ThrowingBackend(ThrowingOptions options) : options_(std::move(options)) {}
  std::string Name() const override { return "throwing"; }
  Result<BackendPoolId> OpenPool(const PoolConfig& config) override {
    if (options_.at == "open") Throw(options_);
    return next_++;
  }
  void ClosePool(BackendPoolId) override {}
  bool GetPage(BackendPoolId, const FileKey&, uint64_t, std::span<uint8_t>) override {
    if (options_.at == "get") Throw(options_);
    return false;
  }
  void PutPage(BackendPoolId, const FileKey&, uint64_t, std::span<const uint8_t>) override {
    if (options_.at == "put") Throw(options_);
  }
  void InvalidatePage(BackendPoolId, const FileKey&, uint64_t) override {}
  void InvalidateInode(BackendPoolId, const FileKey&) override {}
  BackendStats Stats() const override {
    if (options_.at == "stats") Throw(options_);
    return {};
  }

 private:
  const ThrowingOptions options_;
  BackendPoolId next_ = 1;
};

Result<std::unique_ptr<Backend>> NewThrowingBackend(const ThrowingOptions& options) {
  if (options.at == "create") Throw(options);
  return std::unique_ptr<Backend>(std::make_unique<ThrowingBackend>(options));
}

}  // namespace

BackendScheme ThrowingScheme() { return OptionsScheme<ThrowingOptions, &NewThrowingBackend>("zcache"); }

}  // namespace cleancache::testing
