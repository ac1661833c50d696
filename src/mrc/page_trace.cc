// The binary page-trace format (layout in include/cleancache/page_trace.h).
#include "cleancache/page_trace.h"

#include <xxhash.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <limits>

namespace cleancache {
namespace {

constexpr char kMagic[8] = {'C', 'C', 'T', 'R', 'A', 'C', 'E', '1'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kUnclosed = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kFlagLimitReached = 1;
constexpr uint32_t kFlagPutsRecorded = 2;
// Records are written in batches of this many bytes (2,730 records).
constexpr size_t kBufferBytes = 64 << 10;

template <typename T>
void Put(uint8_t* at, T value) {
  static_assert(std::endian::native == std::endian::little, "the trace format is little-endian");
  std::memcpy(at, &value, sizeof value);
}

template <typename T>
T Get(const uint8_t* at) {
  T value;
  std::memcpy(&value, at, sizeof value);
  return value;
}

void EncodeHeader(uint8_t* out, uint32_t page_size, uint64_t records, uint64_t checksum, uint32_t flags) {
  std::memcpy(out, kMagic, sizeof kMagic);
  Put<uint32_t>(out + 8, kVersion);
  Put<uint32_t>(out + 12, page_size);
  Put<uint64_t>(out + 16, records);
  Put<uint64_t>(out + 24, checksum);
  Put<uint32_t>(out + 32, flags);
  Put<uint32_t>(out + 36, 0);
}

void EncodeRecord(uint8_t* out, const TraceRecord& r) {
  Put<uint64_t>(out, r.file_hash);
  Put<uint64_t>(out + 8, r.index);
  Put<uint32_t>(out + 16, r.compressed_bytes);
  out[20] = static_cast<uint8_t>(r.op);
  out[21] = r.pool;
  Put<uint16_t>(out + 22, 0);
}

bool ValidPageSize(uint32_t size) { return size >= 512 && size <= 65536 && std::has_single_bit(size); }

std::string ErrnoText() { return std::strerror(errno); }

}  // namespace

struct TraceWriter::Hasher {
  Hasher() { XXH3_64bits_reset(state); }
  ~Hasher() { XXH3_freeState(state); }
  XXH3_state_t* state = XXH3_createState();
};

Result<std::unique_ptr<TraceWriter>> TraceWriter::Create(const std::string& path, const TraceWriterOptions& options) {
  if (!ValidPageSize(options.page_size))
    return Status::InvalidArgument("trace page size " + std::to_string(options.page_size) +
                                   ": must be a power of two in 512..65536");
  if (options.max_bytes < kTraceHeaderBytes + kTraceRecordBytes)
    return Status::InvalidArgument("trace size limit " + std::to_string(options.max_bytes) +
                                   ": must hold the header and one record (64 bytes)");
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) return Status::IOError("cannot create trace " + path + ": " + ErrnoText());
  std::unique_ptr<TraceWriter> writer(new TraceWriter(file, path, options));
  uint8_t header[kTraceHeaderBytes];
  EncodeHeader(header, options.page_size, kUnclosed, 0, 0);
  // Flushed at once: a writer that never closes leaves a header saying so.
  if (std::fwrite(header, 1, sizeof header, file) != sizeof header || std::fflush(file) != 0)
    return Status::IOError("cannot write trace " + path + ": " + ErrnoText());
  return writer;
}

TraceWriter::TraceWriter(std::FILE* file, const std::string& path, const TraceWriterOptions& options)
    : file_(file), path_(path), options_(options), hasher_(std::make_unique<Hasher>()) {
  buffer_.reserve(kBufferBytes);
}

TraceWriter::~TraceWriter() {
  if (file_ != nullptr) (void)Close();
}

bool TraceWriter::Append(const TraceRecord& record) {
  std::lock_guard lock(mutex_);
  if (file_ == nullptr || kTraceHeaderBytes + (records_ + 1) * kTraceRecordBytes > options_.max_bytes) {
    ++dropped_;
    return false;
  }
  const size_t at = buffer_.size();
  buffer_.resize(at + kTraceRecordBytes);
  EncodeRecord(buffer_.data() + at, record);
  ++records_;
  if (buffer_.size() + kTraceRecordBytes > kBufferBytes) (void)FlushLocked();
  return true;
}

Status TraceWriter::FlushLocked() {
  if (buffer_.empty()) return Status::Ok();
  XXH3_64bits_update(hasher_->state, buffer_.data(), buffer_.size());
  if (error_.ok() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
    error_ = Status::IOError("cannot write trace " + path_ + ": " + ErrnoText());
  buffer_.clear();
  return error_;
}

Status TraceWriter::Close() {
  std::lock_guard lock(mutex_);
  if (file_ == nullptr) return error_;
  (void)FlushLocked();
  uint8_t header[kTraceHeaderBytes];
  EncodeHeader(header, options_.page_size, records_, XXH3_64bits_digest(hasher_->state),
               (dropped_ > 0 ? kFlagLimitReached : 0) | (options_.puts_recorded ? kFlagPutsRecorded : 0));
  if (error_.ok() &&
      (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(header, 1, sizeof header, file_) != sizeof header))
    error_ = Status::IOError("cannot write trace header of " + path_ + ": " + ErrnoText());
  if (std::fclose(file_) != 0 && error_.ok())
    error_ = Status::IOError("cannot close trace " + path_ + ": " + ErrnoText());
  file_ = nullptr;
  return error_;
}

uint64_t TraceWriter::records() const {
  std::lock_guard lock(mutex_);
  return records_;
}

uint64_t TraceWriter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

Status WritePageTrace(const std::string& path, const PageTrace& trace) {
  TraceWriterOptions options;
  options.page_size = trace.page_size;
  options.max_bytes = std::numeric_limits<uint64_t>::max();
  options.puts_recorded = trace.puts_recorded;
  auto writer = TraceWriter::Create(path, options);
  if (!writer.ok()) return writer.status();
  for (const TraceRecord& r : trace.records) writer.value()->Append(r);
  return writer.value()->Close();
}

Result<PageTrace> ReadPageTrace(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Status::NotFound("cannot open trace " + path + ": " + ErrnoText());
  struct Closer {
    std::FILE* f;
    ~Closer() { std::fclose(f); }
  } closer{file};
  auto corrupt = [&path](const std::string& what) { return Status::Corruption("trace " + path + ": " + what); };

  uint8_t header[kTraceHeaderBytes];
  const size_t got = std::fread(header, 1, sizeof header, file);
  if (got < sizeof header)
    return corrupt("truncated header (" + std::to_string(got) + " of " + std::to_string(kTraceHeaderBytes) + " bytes)");
  if (std::memcmp(header, kMagic, sizeof kMagic) != 0) return corrupt("not a cleancache trace (bad magic)");
  if (const uint32_t version = Get<uint32_t>(header + 8); version != kVersion)
    return corrupt("unsupported version " + std::to_string(version) + " (this build reads 1)");
  PageTrace trace;
  trace.page_size = Get<uint32_t>(header + 12);
  if (!ValidPageSize(trace.page_size)) return corrupt("bad page size " + std::to_string(trace.page_size));
  const uint64_t count = Get<uint64_t>(header + 16);
  const uint64_t checksum = Get<uint64_t>(header + 24);
  const uint32_t flags = Get<uint32_t>(header + 32);
  if (count == kUnclosed) return corrupt("the writer never closed it (record count unset): incomplete trace");
  if ((flags & ~(kFlagLimitReached | kFlagPutsRecorded)) != 0 || Get<uint32_t>(header + 36) != 0)
    return corrupt("bad header flags");
  trace.limit_reached = (flags & kFlagLimitReached) != 0;
  trace.puts_recorded = (flags & kFlagPutsRecorded) != 0;

  if (std::fseek(file, 0, SEEK_END) != 0) return Status::IOError("cannot seek trace " + path + ": " + ErrnoText());
  const long end = std::ftell(file);
  const uint64_t body = end < 0 ? 0 : static_cast<uint64_t>(end) - kTraceHeaderBytes;
  if (count > body / kTraceRecordBytes || body != count * kTraceRecordBytes) {
    return corrupt("truncated or overlong: the header says " + std::to_string(count) + " records (" +
                   std::to_string(count * kTraceRecordBytes) + " bytes), the file holds " + std::to_string(body) +
                   " bytes of records");
  }
  std::fseek(file, static_cast<long>(kTraceHeaderBytes), SEEK_SET);

  trace.records.reserve(count);
  XXH3_state_t* state = XXH3_createState();
  XXH3_64bits_reset(state);
  std::vector<uint8_t> buffer(kBufferBytes / kTraceRecordBytes * kTraceRecordBytes);
  Status error;
  for (uint64_t done = 0; done < count && error.ok();) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(count - done, buffer.size() / kTraceRecordBytes));
    if (std::fread(buffer.data(), kTraceRecordBytes, n, file) != n) {
      error = Status::IOError("cannot read trace " + path + ": " + ErrnoText());
      break;
    }
    XXH3_64bits_update(state, buffer.data(), n * kTraceRecordBytes);
    for (size_t i = 0; i < n; ++i, ++done) {
      const uint8_t* at = buffer.data() + i * kTraceRecordBytes;
      TraceRecord r;
      r.file_hash = Get<uint64_t>(at);
      r.index = Get<uint64_t>(at + 8);
      r.compressed_bytes = Get<uint32_t>(at + 16);
      r.pool = at[21];
      const uint8_t op = at[20];
      if (op < 1 || op > 3 || Get<uint16_t>(at + 22) != 0 || r.compressed_bytes > trace.page_size) {
        error = corrupt("bad record " + std::to_string(done) + " at byte " +
                        std::to_string(kTraceHeaderBytes + done * kTraceRecordBytes) +
                        (op < 1 || op > 3 ? " (op " + std::to_string(op) + ")" : " (reserved bytes or size)"));
        break;
      }
      r.op = static_cast<TraceOp>(op);
      trace.records.push_back(r);
    }
  }
  const uint64_t digest = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  if (!error.ok()) return error;
  if (digest != checksum) return corrupt("checksum mismatch: the records were changed or damaged");
  return trace;
}

Result<PageTrace> ReadAnyTrace(const std::string& path, uint32_t iolog_page_size) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Status::NotFound("cannot open trace " + path + ": " + ErrnoText());
  char start[11] = {};
  const size_t got = std::fread(start, 1, sizeof start, file);
  std::fclose(file);
  if (got >= sizeof kMagic && std::memcmp(start, kMagic, sizeof kMagic) == 0) return ReadPageTrace(path);
  if (got == sizeof start && std::memcmp(start, "fio version", sizeof start) == 0)
    return ReadFioIolog(path, iolog_page_size);
  return Status::Corruption("trace " + path +
                            ": neither a cleancache trace (magic CCTRACE1) nor a fio iolog "
                            "(first line \"fio version 2 iolog\" or \"fio version 3 iolog\")");
}

}  // namespace cleancache
