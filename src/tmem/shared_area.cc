#include "tmem/shared_area.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace cleancache::daemon {
namespace {

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

}  // namespace

SharedArea::~SharedArea() { Reset(); }

SharedArea::SharedArea(SharedArea&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      fd_(std::exchange(other.fd_, -1)) {}

SharedArea& SharedArea::operator=(SharedArea&& other) noexcept {
  if (this != &other) {
    Reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

void SharedArea::Reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  if (fd_ >= 0) ::close(fd_);
  data_ = nullptr;
  size_ = 0;
  fd_ = -1;
}

std::span<uint8_t> SharedArea::Slice(uint64_t offset, uint64_t length) const {
  if (offset > size_ || length > size_ - offset) return {};
  return {data_ + offset, static_cast<size_t>(length)};
}

Result<SharedArea> SharedArea::Create(uint64_t bytes) {
  if (bytes == 0) return Status::InvalidArgument("shared area size is zero");
  SharedArea area;
  area.fd_ = ::memfd_create("cleancache-tmem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (area.fd_ < 0) return Status::IOError(Errno("memfd_create"));
  if (::ftruncate(area.fd_, static_cast<off_t>(bytes)) != 0) return Status::IOError(Errno("ftruncate"));
  if (::fcntl(area.fd_, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    return Status::IOError(Errno("sealing the shared area"));
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, area.fd_, 0);
  if (p == MAP_FAILED) return Status::IOError(Errno("mmap"));
  area.data_ = static_cast<uint8_t*>(p);
  area.size_ = bytes;
  return area;
}

Result<SharedArea> SharedArea::Map(int fd, uint64_t bytes) {
  SharedArea area;
  area.fd_ = fd;  // closed by area on every path
  const int seals = ::fcntl(fd, F_GET_SEALS);
  if (seals < 0) return Status::InvalidArgument("shared area is not a sealable memfd");
  if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
    return Status::InvalidArgument("shared area is not sealed against shrink and grow");
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IOError(Errno("fstat shared area"));
  if (static_cast<uint64_t>(st.st_size) != bytes) {
    return Status::InvalidArgument("shared area size differs from the size announced at hello");
  }
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return Status::IOError(Errno("mmap shared area"));
  ::close(fd);
  area.fd_ = -1;
  area.data_ = static_cast<uint8_t*>(p);
  area.size_ = bytes;
  return area;
}

}  // namespace cleancache::daemon
