#include "mrc/trace_generator.h"

#include <xxhash.h>

#include <cmath>
#include <random>

namespace cleancache::mrc {
namespace {

// Scatters ranks over pages: k -> (k x P + offset) mod n is a permutation of
// 0..n-1 whenever P is coprime with n; P = 2,654,435,761 is prime.
constexpr uint64_t kScatter = 2654435761ull;

double Uniform01(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1p-53; }

// Gray et al., "Quickly generating billion-record synthetic databases"
// (SIGMOD '94): Zipf ranks 0..n-1 by inversion in O(1) per draw after an
// O(n) sum.
class ZipfRanks {
 public:
  ZipfRanks(uint64_t n, double theta) : n_(n), theta_(theta) {
    for (uint64_t i = 1; i <= n; ++i) zeta_n_ += 1.0 / std::pow(static_cast<double>(i), theta);
    const double zeta2 = 1.0 + std::pow(0.5, theta);
    alpha_ = 1.0 / (1.0 - theta);
    eta_ = (1.0 - std::pow(2.0 / static_cast<double>(n), 1.0 - theta)) / (1.0 - zeta2 / zeta_n_);
  }
  uint64_t Draw(std::mt19937_64& rng) const {
    const double u = Uniform01(rng);
    const double uz = u * zeta_n_;
    if (uz < 1.0) return 0;
    if (uz < 1.0 + std::pow(0.5, theta_)) return std::min<uint64_t>(1, n_ - 1);
    const auto rank = static_cast<uint64_t>(static_cast<double>(n_) * std::pow(eta_ * u - eta_ + 1.0, alpha_));
    return std::min(rank, n_ - 1);
  }

 private:
  uint64_t n_;
  double theta_;
  double zeta_n_ = 0, alpha_ = 0, eta_ = 0;
};

uint64_t Scatter(uint64_t rank, uint64_t n, uint64_t seed) { return (rank % n * kScatter + seed) % n; }

}  // namespace

Result<Workload> ParseWorkload(std::string_view name) {
  if (name == "zipf") return Workload::kZipf;
  if (name == "uniform") return Workload::kUniform;
  if (name == "scan-hot") return Workload::kScanHot;
  if (name == "shift") return Workload::kShift;
  return Status::InvalidArgument("unknown workload '" + std::string(name) + "' (zipf, uniform, scan-hot, shift)");
}

const char* WorkloadName(Workload workload) {
  switch (workload) {
    case Workload::kZipf: return "zipf";
    case Workload::kUniform: return "uniform";
    case Workload::kScanHot: return "scan-hot";
    case Workload::kShift: return "shift";
  }
  return "?";
}

Status CheckGeneratorOptions(const GeneratorOptions& o) {
  if (o.pages < 2 || o.pages > (1ull << 32)) return Status::InvalidArgument("pages must be in 2..2^32");
  if (o.accesses == 0) return Status::InvalidArgument("accesses must be >= 1");
  if (!(o.zipf_exponent > 0 && o.zipf_exponent < 1)) return Status::InvalidArgument("zipf exponent must be in (0, 1)");
  if (!(o.hot_share > 0 && o.hot_share < 1)) return Status::InvalidArgument("hot share must be in (0, 1)");
  if (!(o.hot_ratio >= 0 && o.hot_ratio <= 1)) return Status::InvalidArgument("hot ratio must be in [0, 1]");
  if (o.pages_per_file == 0) return Status::InvalidArgument("pages per file must be >= 1");
  return Status::Ok();
}

PageTrace GenerateTrace(const GeneratorOptions& o) {
  PageTrace trace;
  trace.page_size = o.page_size;
  trace.records.reserve(o.accesses);
  std::mt19937_64 rng(o.seed);
  const uint64_t offset = rng();
  auto emit = [&](uint64_t page) {
    TraceRecord r;
    const uint64_t file = page / o.pages_per_file;
    r.file_hash = XXH3_64bits_withSeed(&file, sizeof file, o.seed);
    r.index = page % o.pages_per_file;
    trace.records.push_back(r);
  };
  const uint64_t n = o.pages;
  switch (o.workload) {
    case Workload::kZipf:
    case Workload::kShift: {
      const ZipfRanks zipf(n, o.zipf_exponent);
      for (uint64_t i = 0; i < o.accesses; ++i) {
        const uint64_t base = o.workload == Workload::kShift && i >= o.accesses / 2 ? n : 0;
        emit(base + Scatter(zipf.Draw(rng), n, offset));
      }
      break;
    }
    case Workload::kUniform:
      for (uint64_t i = 0; i < o.accesses; ++i) emit(rng() % n);
      break;
    case Workload::kScanHot: {
      const uint64_t hot = std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(n) * o.hot_share));
      const uint64_t scan = n - hot;
      uint64_t next = 0;
      for (uint64_t i = 0; i < o.accesses; ++i) {
        if (scan == 0 || Uniform01(rng) < o.hot_ratio) {
          emit(rng() % hot);
        } else {
          emit(hot + next);  // in page order, as a file read front to back
          next = (next + 1) % scan;
        }
      }
      break;
    }
  }
  return trace;
}

}  // namespace cleancache::mrc
