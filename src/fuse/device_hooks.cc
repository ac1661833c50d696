#include "fuse/device_hooks.h"

#include <linux/capability.h>
#include <linux/fuse.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace cleancache::fuse {
namespace {

static_assert(FATTR_KILL_SUIDGID == kSetAttrKillSuidSgid, "libfuse passes the SETATTR mark on under this bit");

// What the hooks learned from the request this thread received last.
struct RequestMarks {
  bool kill_suidgid = false;
  bool init_pending = false;  // the INIT reply still to patch
  uint64_t init_unique = 0;
  uint64_t init_offered = 0;  // the kernel's INIT flags (flags2 << 32 | flags)
};

// Per worker thread: a request is received and handled on one thread, and
// the mark must not leak to another thread's request.
thread_local RequestMarks t_marks;

// The uint32_t at `offset` of a request or reply body, if the body has it.
bool LoadU32(const uint8_t* body, size_t body_bytes, size_t offset, uint32_t* value) {
  if (body_bytes < offset + sizeof(uint32_t)) return false;
  std::memcpy(value, body + offset, sizeof(uint32_t));
  return true;
}

// Whether the body has the uint32_t flags word at `offset` with `flag` set.
bool HasFlag(const uint8_t* body, size_t body_bytes, size_t offset, uint32_t flag) {
  uint32_t flags;
  return LoadU32(body, body_bytes, offset, &flags) && (flags & flag) != 0;
}

void NoteRequest(const uint8_t* request, size_t bytes) {
  RequestMarks& marks = t_marks;
  marks.kill_suidgid = false;
  fuse_in_header header;
  if (bytes < sizeof(header)) return;
  std::memcpy(&header, request, sizeof(header));
  const uint8_t* body = request + sizeof(header);
  const size_t body_bytes = bytes - sizeof(header);
  switch (header.opcode) {
    case FUSE_INIT: {
      uint32_t flags = 0, flags2 = 0;
      LoadU32(body, body_bytes, offsetof(fuse_init_in, flags), &flags);
      if (flags & FUSE_INIT_EXT) LoadU32(body, body_bytes, offsetof(fuse_init_in, flags2), &flags2);
      marks.init_offered = uint64_t{flags2} << 32 | flags;
      marks.init_pending = (marks.init_offered & (FUSE_HANDLE_KILLPRIV_V2 | kDirectIoAllowMmap)) != 0;
      marks.init_unique = header.unique;
      break;
    }
    case FUSE_WRITE:
      marks.kill_suidgid = HasFlag(body, body_bytes, offsetof(fuse_write_in, write_flags), FUSE_WRITE_KILL_SUIDGID);
      break;
    case FUSE_OPEN:
      marks.kill_suidgid = HasFlag(body, body_bytes, offsetof(fuse_open_in, open_flags), FUSE_OPEN_KILL_SUIDGID);
      break;
    case FUSE_CREATE:
      marks.kill_suidgid = HasFlag(body, body_bytes, offsetof(fuse_create_in, open_flags), FUSE_OPEN_KILL_SUIDGID);
      break;
    default: break;
  }
}

void PatchInitReply(struct iovec* iov, int count) {
  RequestMarks& marks = t_marks;
  if (!marks.init_pending || count < 2 || iov[0].iov_len < sizeof(fuse_out_header)) return;
  fuse_out_header header;
  std::memcpy(&header, iov[0].iov_base, sizeof(header));
  if (header.unique != marks.init_unique) return;
  marks.init_pending = false;
  auto* body = static_cast<uint8_t*>(iov[1].iov_base);
  uint32_t flags, flags2;
  if (header.error != 0 || !LoadU32(body, iov[1].iov_len, offsetof(fuse_init_out, flags), &flags) ||
      !LoadU32(body, iov[1].iov_len, offsetof(fuse_init_out, flags2), &flags2)) {
    return;
  }
  if (marks.init_offered & FUSE_HANDLE_KILLPRIV_V2) flags |= FUSE_HANDLE_KILLPRIV_V2;
  if (marks.init_offered & kDirectIoAllowMmap) {
    flags |= FUSE_INIT_EXT;  // the kernel reads flags2 only with it, and offered it
    flags2 |= static_cast<uint32_t>(kDirectIoAllowMmap >> 32);
  }
  std::memcpy(body + offsetof(fuse_init_out, flags), &flags, sizeof(flags));
  std::memcpy(body + offsetof(fuse_init_out, flags2), &flags2, sizeof(flags2));
}

ssize_t ReadRequest(int fd, void* buf, size_t bytes, void* /*userdata*/) {
  ssize_t n = ::read(fd, buf, bytes);
  if (n > 0) {
    const int saved = errno;  // libfuse reads errno after the call
    NoteRequest(static_cast<const uint8_t*>(buf), static_cast<size_t>(n));
    errno = saved;
  }
  return n;
}

ssize_t WriteReply(int fd, struct iovec* iov, int count, void* /*userdata*/) {
  PatchInitReply(iov, count);
  return ::writev(fd, iov, count);
}

}  // namespace

Status InstallDeviceHooks(fuse_session* session) {
  static constexpr fuse_custom_io kIo = {
      .writev = WriteReply, .read = ReadRequest, .splice_receive = nullptr, .splice_send = nullptr};
  const int rc = fuse_session_custom_io(session, &kIo, fuse_session_fd(session));
  if (rc != 0) return Status::IOError(std::string("cannot hook the FUSE device I/O: ") + std::strerror(-rc));
  return Status::Ok();
}

bool RequestKillsSuidSgid() { return t_marks.kill_suidgid; }

uint64_t InitFlagsOffered() { return t_marks.init_offered; }

// Capabilities are per thread, and only this thread changes its own, so the
// sets read here are still the thread's when they are put back.
WithoutFsetid::WithoutFsetid(bool drop) {
  if (!drop) return;
  const int saved = errno;
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  if (syscall(SYS_capget, &header, before_) == 0 && (before_[0].effective & (1u << CAP_FSETID)) != 0) {
    __user_cap_data_struct without[2] = {before_[0], before_[1]};
    without[0].effective &= ~(1u << CAP_FSETID);
    dropped_ = syscall(SYS_capset, &header, without) == 0;
  }
  errno = saved;
}

WithoutFsetid::~WithoutFsetid() {
  if (!dropped_) return;
  const int saved = errno;  // the caller reads the operation's errno after this
  // CAP_FSETID stayed in the permitted set, so raising it again cannot fail
  // short of the process being changed under us.
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  syscall(SYS_capset, &header, before_);
  errno = saved;
}

}  // namespace cleancache::fuse
