// Page-access traces: a compact binary format (writer + reader) and a reader
// of fio's iolog, for `cleancache replay` and miss-ratio curves (docs/MRC.md).
//
// Binary layout (version 1, all integers little-endian):
//   header, 40 bytes:
//     0  char[8]  magic "CCTRACE1"
//     8  u32      version (1)
//    12  u32      page size (a power of two, 512..65536)
//    16  u64      record count (UINT64_MAX while the writer has not closed)
//    24  u64      XXH3-64 of all record bytes, in order
//    32  u32      flags: bit 0 = the size limit was reached, later records dropped;
//                 bit 1 = puts recorded: every put the cache received is a put
//                 record (a mount's trace), so a replay puts nothing on a get's
//                 miss; unset, a get's miss implies a put (fio, generators)
//    36  u32      reserved, 0
//   records, 24 bytes each, from offset 40:
//     0  u64      file key hash (FileKey::hash(), or XXH3 of an iolog file name)
//     8  u64      page index in the file
//    16  u32      compressed size of the page in bytes (0 = unknown)
//    20  u8       op: 1 get (a read), 2 put, 3 invalidate
//    21  u8       pool ordinal (pages of different pools never match)
//    22  u16      reserved, 0
// Size policy: a writer stops at `max_bytes` (default 1 GiB = 44.7 M records):
// records past it are counted and dropped, and flag bit 0 is set, so a full
// trace is a valid prefix of the workload, never a torn file.
// The reader checks the magic, version, page size, that the file holds exactly
// the header's record count (a truncated file or a writer that never closed is
// an error saying so), every record's op, reserved bytes and size, and the
// checksum; any failure is Status::Corruption naming the file, the record and
// the byte offset.
//
// fio iolog (`fio --write_iolog=FILE`), versions 2 and 3: first line
// "fio version 2 iolog" or "fio version 3 iolog"; then "FILE ACTION" (add,
// open, close) or "FILE ACTION OFFSET LENGTH" (read, write, trim, sync,
// datasync); version 3 puts a timestamp in ns before each line. A read
// becomes one get per page it touches, a write or trim one invalidate per
// page; file management and syncs are skipped. A bad line is InvalidArgument
// naming the file and line number.
// Thread safety: a TraceWriter may be shared by threads (one mutex; records
// are buffered 64 KiB at a time); readers are single-threaded objects.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cleancache/status.h"

namespace cleancache {

enum class TraceOp : uint8_t { kGet = 1, kPut = 2, kInvalidate = 3 };

struct TraceRecord {
  uint64_t file_hash = 0;
  uint64_t index = 0;
  uint32_t compressed_bytes = 0;  // 0 = unknown
  TraceOp op = TraceOp::kGet;
  uint8_t pool = 0;
  friend bool operator==(const TraceRecord&, const TraceRecord&) = default;
};

inline constexpr size_t kTraceHeaderBytes = 40;
inline constexpr size_t kTraceRecordBytes = 24;

struct TraceWriterOptions {
  uint32_t page_size = 4096;
  uint64_t max_bytes = 1ull << 30;  // header included; >= one header + one record
  bool puts_recorded = false;       // flag bit 1
};

class TraceWriter {
 public:
  // Creates (truncates) `path`. InvalidArgument for bad options, IOError.
  static Result<std::unique_ptr<TraceWriter>> Create(const std::string& path, const TraceWriterOptions& options);
  ~TraceWriter();  // closes if Close was not called (errors are lost then)

  // False once the size limit is reached (the record is dropped and counted).
  bool Append(const TraceRecord& record);
  // Flushes, writes the final header and closes. IOError on a failed write.
  Status Close();

  uint64_t records() const;
  uint64_t dropped() const;

 private:
  TraceWriter(std::FILE* file, const std::string& path, const TraceWriterOptions& options);
  Status FlushLocked();
  struct Hasher;
  mutable std::mutex mutex_;
  std::FILE* file_;
  std::string path_;
  TraceWriterOptions options_;
  std::vector<uint8_t> buffer_;
  std::unique_ptr<Hasher> hasher_;
  uint64_t records_ = 0;
  uint64_t dropped_ = 0;
  Status error_;  // the first write error, reported by Close
};

struct PageTrace {
  uint32_t page_size = 4096;
  bool limit_reached = false;  // the writer dropped records at its size limit
  bool puts_recorded = false;  // flag bit 1: a get's miss implies no put
  std::vector<TraceRecord> records;
};

// Reads a whole binary trace (checked as above).
Result<PageTrace> ReadPageTrace(const std::string& path);
// Writes a whole trace (no size limit beyond the format's).
Status WritePageTrace(const std::string& path, const PageTrace& trace);
// Reads a fio iolog v2/v3 into page accesses of `page_size` bytes.
Result<PageTrace> ReadFioIolog(const std::string& path, uint32_t page_size = 4096);
// Either format, told apart by the first bytes ("CCTRACE1" or "fio version").
Result<PageTrace> ReadAnyTrace(const std::string& path, uint32_t iolog_page_size = 4096);

}  // namespace cleancache
