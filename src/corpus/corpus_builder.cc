#include "corpus/corpus_builder.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace cleancache {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

bool NameMatches(CorpusFilter filter, std::string_view path) {
  return filter != CorpusFilter::kPython || path.ends_with(".py");
}

bool ContentMatches(CorpusFilter filter, std::span<const uint8_t> head) {
  switch (filter) {
    case CorpusFilter::kText: return std::find(head.begin(), head.end(), uint8_t{0}) == head.end();
    case CorpusFilter::kElf:
      return head.size() >= 4 && head[0] == 0x7f && head[1] == 'E' && head[2] == 'L' && head[3] == 'F';
    case CorpusFilter::kPython:
    case CorpusFilter::kAny: return true;
  }
  return false;
}

std::string ErrnoText(const std::string& what, const std::string& path) {
  return what + " '" + path + "': " + std::strerror(errno);
}

}  // namespace

CorpusBuilder::CorpusBuilder(uint32_t page_size, uint64_t expected_pages) : page_size_(page_size) {
  bytes_.reserve(expected_pages * page_size);
}

Result<uint64_t> CorpusBuilder::AppendFile(const std::string& path, std::string_view category, CorpusFilter filter,
                                           uint64_t max_pages) {
  if (max_pages == 0 || !NameMatches(filter, path)) return uint64_t{0};
  // O_NONBLOCK: a FIFO that slipped past the caller's checks must not hang us.
  FileDescriptor fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (fd.get() < 0) return Status::IOError(ErrnoText("cannot open", path));
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Status::IOError(ErrnoText("cannot stat", path));
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return uint64_t{0};
  const auto identity = std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  if (taken_.contains(identity)) return uint64_t{0};

  const uint64_t file_pages = (static_cast<uint64_t>(st.st_size) + page_size_ - 1) / page_size_;
  const uint64_t wanted_bytes = std::min(max_pages, file_pages) * page_size_;
  const size_t start = bytes_.size();
  bytes_.resize(start + wanted_bytes);  // zero-filled: the padding
  uint64_t got = 0;
  while (got < wanted_bytes) {
    const ssize_t n = pread(fd.get(), bytes_.data() + start + got, wanted_bytes - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      bytes_.resize(start);
      return Status::IOError(ErrnoText("cannot read", path));
    }
    if (n == 0) break;  // the file shrank since fstat
    got += static_cast<uint64_t>(n);
  }
  const uint64_t pages = (got + page_size_ - 1) / page_size_;
  const std::span<const uint8_t> head(bytes_.data() + start, std::min<uint64_t>(got, page_size_));
  if (pages == 0 || !ContentMatches(filter, head)) {
    bytes_.resize(start);
    return uint64_t{0};
  }
  bytes_.resize(start + pages * page_size_);
  files_.push_back(
      CorpusFile{path, std::string(category), identity.first, identity.second, start / page_size_, pages, got});
  taken_.insert(identity);
  return pages;
}

std::span<uint8_t> CorpusBuilder::AppendBlankFile(std::string path, std::string_view category, uint64_t device,
                                                  uint64_t inode, uint64_t pages) {
  const size_t start = bytes_.size();
  bytes_.resize(start + pages * page_size_);
  files_.push_back(
      CorpusFile{std::move(path), std::string(category), device, inode, start / page_size_, pages, pages * page_size_});
  return {bytes_.data() + start, pages * page_size_};
}

PageCorpus CorpusBuilder::Finish() && { return PageCorpus(page_size_, std::move(bytes_), std::move(files_)); }

}  // namespace cleancache
