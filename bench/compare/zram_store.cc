// Linux zram as a page store: the device is reset, set to lz4 and sized for
// the corpus, then pages are written and read with 4 KiB O_DIRECT pwrite /
// pread (no page cache in between). Memory is mm_stat's mem_used_total. The
// device is reset again when the store goes away.
// Preconditions checked, each with its own message: the device exists, we are
// root, it is not in use (swap or mounted), lz4 is offered.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "compare/stores.h"

namespace cleancache::compare {
namespace {

constexpr size_t kAlignment = 4096;

struct AlignedFree {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], AlignedFree>;

AlignedBuffer AllocateAligned(size_t bytes) {
  return AlignedBuffer(
      static_cast<uint8_t*>(std::aligned_alloc(kAlignment, (bytes + kAlignment - 1) / kAlignment * kAlignment)));
}

Result<std::string> ReadSysfs(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status WriteSysfs(const std::string& path, const std::string& value) {
  const int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
  const ssize_t n = write(fd, value.data(), value.size());
  const int error = errno;
  close(fd);
  if (n != static_cast<ssize_t>(value.size()))
    return Status::IOError("writing '" + value + "' to " + path + ": " + std::strerror(error));
  return Status::Ok();
}

// True if `needle` appears as a whole word in the file (e.g. /proc/swaps).
bool FileMentions(const std::string& path, const std::string& needle) {
  Result<std::string> text = ReadSysfs(path);
  if (!text.ok()) return false;
  std::istringstream words(text.value());
  for (std::string word; words >> word;)
    if (word == needle) return true;
  return false;
}

class ZramStore final : public PageStore {
 public:
  ZramStore(std::string sysfs, int fd, AlignedBuffer pages, uint32_t page_size)
      : sysfs_(std::move(sysfs)), fd_(fd), pages_(std::move(pages)), page_size_(page_size) {}
  ~ZramStore() override {
    close(fd_);
    (void)WriteSysfs(sysfs_ + "/reset", "1");
  }

  void Put(uint64_t page, std::span<const uint8_t> data) override {
    // The aligned copy of the same page: O_DIRECT needs aligned buffers.
    (void)pwrite(fd_, pages_.get() + page * page_size_, page_size_, static_cast<off_t>(page * page_size_));
  }

  bool Get(uint64_t page, std::span<uint8_t> out) override {
    return pread(fd_, out.data(), out.size(), static_cast<off_t>(page * page_size_)) ==
           static_cast<ssize_t>(out.size());
  }

  std::optional<uint64_t> Memory() const override {
    Result<std::string> text = ReadSysfs(sysfs_ + "/mm_stat");
    if (!text.ok()) return std::nullopt;
    std::istringstream fields(text.value());
    uint64_t original = 0, compressed = 0, used = 0;
    if (!(fields >> original >> compressed >> used)) return std::nullopt;
    return used;
  }

 private:
  std::string sysfs_;
  int fd_;
  AlignedBuffer pages_;
  uint32_t page_size_;
};

Result<std::unique_ptr<PageStore>> CreateZramStore(const std::string& device, const StoreSetup& setup) {
  const std::string node = "/dev/" + device, sysfs = "/sys/block/" + device;
  if (access(node.c_str(), F_OK) != 0 || access(sysfs.c_str(), F_OK) != 0)
    return Status::NotFound(node + " not present (modprobe zram)");
  if (geteuid() != 0) return Status::PermissionDenied("zram needs root (run bench/compare/run.sh as root)");
  if (FileMentions("/proc/swaps", node) || FileMentions("/proc/mounts", node))
    return Status::Busy(node + " is in use (swap or mounted); not touching it");
  Result<std::string> algorithms = ReadSysfs(sysfs + "/comp_algorithm");
  if (!algorithms.ok()) return algorithms.status();
  if (algorithms.value().find("lz4") == std::string::npos)
    return Status::NotSupported(node + " offers no lz4: " + algorithms.value());
  if (Status s = WriteSysfs(sysfs + "/reset", "1"); !s.ok()) return Status::Busy(s.message() + " (device busy?)");
  if (Status s = WriteSysfs(sysfs + "/comp_algorithm", "lz4"); !s.ok()) return s;
  const size_t bytes = setup.corpus->bytes().size();
  if (Status s = WriteSysfs(sysfs + "/disksize", std::to_string(2 * bytes + (64u << 20))); !s.ok()) return s;
  const int fd = open(node.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  if (fd < 0) {
    const std::string why = std::strerror(errno);
    (void)WriteSysfs(sysfs + "/reset", "1");
    return Status::IOError("cannot open " + node + " with O_DIRECT: " + why);
  }
  AlignedBuffer pages = AllocateAligned(bytes);
  std::memcpy(pages.get(), setup.corpus->bytes().data(), bytes);
  return std::unique_ptr<PageStore>(
      std::make_unique<ZramStore>(sysfs, fd, std::move(pages), setup.corpus->page_size()));
}

}  // namespace

Contestant ZramContestant(std::string device) {
  return Contestant{"zram-lz4", MemoryBasis::kZramMemUsed, false,
                    [device](const StoreSetup& setup) { return CreateZramStore(device, setup); }};
}

}  // namespace cleancache::compare
