// The binary trace format (round trip, size limit, every kind of damage) and
// the fio iolog reader (v2, v3, bad lines).
#include "cleancache/page_trace.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "corpus/temp_tree.h"

namespace cleancache {
namespace {

class PageTraceTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.root() + "/" + name; }
  void WriteText(const std::string& name, const std::string& text) const { dir_.Write(name, text); }
  // Overwrites `bytes` at `offset` of a file.
  void Patch(const std::string& path, size_t offset, const std::string& bytes) const {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  PageTrace Sample(size_t records) const {
    PageTrace trace;
    trace.page_size = 4096;
    for (size_t i = 0; i < records; ++i) {
      TraceRecord r;
      r.file_hash = 0x1234567890abcdefull + i / 7;
      r.index = i * 3;
      r.compressed_bytes = static_cast<uint32_t>(i % 4097);
      r.op = static_cast<TraceOp>(1 + i % 3);
      r.pool = static_cast<uint8_t>(i % 2);
      trace.records.push_back(r);
    }
    return trace;
  }
  testing::TempTree dir_;
};

TEST_F(PageTraceTest, RoundTripsEveryField) {
  const PageTrace trace = Sample(10000);  // several 64 KiB write batches
  ASSERT_TRUE(WritePageTrace(Path("t"), trace).ok());
  EXPECT_EQ(std::filesystem::file_size(Path("t")), kTraceHeaderBytes + 10000 * kTraceRecordBytes);
  auto read = ReadPageTrace(Path("t"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->page_size, 4096u);
  EXPECT_FALSE(read->limit_reached);
  EXPECT_EQ(read->records, trace.records);
  auto any = ReadAnyTrace(Path("t"));
  ASSERT_TRUE(any.ok());
  EXPECT_EQ(any->records.size(), 10000u);
}

TEST_F(PageTraceTest, WriterStopsAtItsSizeLimitAndSaysSo) {
  TraceWriterOptions options;
  options.max_bytes = kTraceHeaderBytes + 100 * kTraceRecordBytes + 5;
  auto writer = TraceWriter::Create(Path("t"), options);
  ASSERT_TRUE(writer.ok());
  const PageTrace trace = Sample(150);
  size_t accepted = 0;
  for (const TraceRecord& r : trace.records) accepted += writer.value()->Append(r);
  EXPECT_EQ(accepted, 100u);
  EXPECT_EQ(writer.value()->dropped(), 50u);
  ASSERT_TRUE(writer.value()->Close().ok());
  EXPECT_LE(std::filesystem::file_size(Path("t")), options.max_bytes);
  auto read = ReadPageTrace(Path("t"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->limit_reached);
  EXPECT_EQ(read->records, std::vector<TraceRecord>(trace.records.begin(), trace.records.begin() + 100));
}

TEST_F(PageTraceTest, BadWriterOptionsAreRefused) {
  TraceWriterOptions options;
  options.page_size = 1000;
  EXPECT_EQ(TraceWriter::Create(Path("t"), options).status().code(), Status::Code::kInvalidArgument);
  options.page_size = 4096;
  options.max_bytes = 10;
  EXPECT_EQ(TraceWriter::Create(Path("t"), options).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(TraceWriter::Create(Path("no/such/dir/t"), TraceWriterOptions{}).status().code(), Status::Code::kIOError);
}

TEST_F(PageTraceTest, TruncatedTraceIsAnError) {
  ASSERT_TRUE(WritePageTrace(Path("t"), Sample(100)).ok());
  std::filesystem::resize_file(Path("t"), kTraceHeaderBytes + 50 * kTraceRecordBytes + 7);
  auto read = ReadPageTrace(Path("t"));
  ASSERT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_NE(read.status().message().find("truncated"), std::string::npos) << read.status().message();
  EXPECT_NE(read.status().message().find("100 records"), std::string::npos) << read.status().message();

  std::filesystem::resize_file(Path("t"), 20);
  read = ReadPageTrace(Path("t"));
  ASSERT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_NE(read.status().message().find("truncated header"), std::string::npos) << read.status().message();
}

TEST_F(PageTraceTest, UnclosedTraceIsAnError) {
  auto writer = TraceWriter::Create(Path("t"), TraceWriterOptions{});
  ASSERT_TRUE(writer.ok());
  for (const TraceRecord& r : Sample(10).records) writer.value()->Append(r);
  // Read while still open: the header says the writer has not finished.
  auto read = ReadPageTrace(Path("t"));
  ASSERT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_NE(read.status().message().find("never closed"), std::string::npos) << read.status().message();
  EXPECT_TRUE(writer.value()->Close().ok());
  EXPECT_TRUE(ReadPageTrace(Path("t")).ok());
}

TEST_F(PageTraceTest, DamagedRecordsAndHeadersAreErrors) {
  ASSERT_TRUE(WritePageTrace(Path("t"), Sample(100)).ok());
  const std::string good = Path("t");
  auto expect = [&](const std::string& fragment) {
    auto read = ReadPageTrace(good);
    ASSERT_EQ(read.status().code(), Status::Code::kCorruption) << fragment;
    EXPECT_NE(read.status().message().find(fragment), std::string::npos) << read.status().message();
    ASSERT_TRUE(WritePageTrace(good, Sample(100)).ok());  // repair for the next case
  };
  Patch(good, kTraceHeaderBytes + 5 * kTraceRecordBytes + 20, std::string(1, '\x09'));
  expect("bad record 5 at byte 160 (op 9)");
  Patch(good, kTraceHeaderBytes + 2 * kTraceRecordBytes + 3, "x");  // a flipped byte in a hash
  expect("checksum mismatch");
  Patch(good, 0, "XXTRACE1");
  expect("bad magic");
  Patch(good, 8, std::string("\x02\0\0\0", 4));
  expect("unsupported version 2");
  Patch(good, 12, std::string("\x00\x03\0\0", 4));
  expect("bad page size 768");
}

TEST_F(PageTraceTest, MissingOrForeignFilesAreErrors) {
  EXPECT_EQ(ReadAnyTrace(Path("none")).status().code(), Status::Code::kNotFound);
  WriteText("text", "hello, this is not a trace\n");
  auto read = ReadAnyTrace(Path("text"));
  ASSERT_EQ(read.status().code(), Status::Code::kCorruption);
  EXPECT_NE(read.status().message().find("neither"), std::string::npos);
}

TEST_F(PageTraceTest, ReadsFioIologVersion2) {
  WriteText("log",
            "fio version 2 iolog\n/data/a add\n/data/a open\n/data/a read 0 4096\n/data/a read 6144 4096\n"
            "/data/b read 8192 8192\n/data/a write 4096 100\n/data/a sync 0 0\n/data/a close\n");
  auto read = ReadAnyTrace(Path("log"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  const auto& r = read->records;
  ASSERT_EQ(r.size(), 6u);  // a:0, a:1, a:2, b:2, b:3, invalidate a:1
  EXPECT_EQ(r[0].index, 0u);
  EXPECT_EQ(r[1].index, 1u);
  EXPECT_EQ(r[2].index, 2u);
  EXPECT_EQ(r[0].file_hash, r[1].file_hash);
  EXPECT_NE(r[3].file_hash, r[0].file_hash);
  EXPECT_EQ(r[3].index, 2u);
  EXPECT_EQ(r[4].index, 3u);
  EXPECT_EQ(r[5].op, TraceOp::kInvalidate);
  EXPECT_EQ(r[5].index, 1u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(r[i].op, TraceOp::kGet);
}

TEST_F(PageTraceTest, ReadsFioIologVersion3) {
  WriteText("log",
            "fio version 3 iolog\n100 /data/a add\n200 /data/a open\n300 /data/a read 0 16384\n"
            "400 /data/a trim 0 4096\n500 /data/a close\n");
  auto read = ReadFioIolog(Path("log"));
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->records.size(), 5u);
  EXPECT_EQ(read->records[3].index, 3u);
  EXPECT_EQ(read->records[4].op, TraceOp::kInvalidate);
}

TEST_F(PageTraceTest, BadIologLinesNameTheLine) {
  WriteText("v", "fio version 9 iolog\n");
  EXPECT_EQ(ReadFioIolog(Path("v")).status().code(), Status::Code::kInvalidArgument);
  WriteText("a", "fio version 2 iolog\n/d read 0 4096\n/d frobnicate 0 4096\n");
  auto read = ReadFioIolog(Path("a"));
  ASSERT_EQ(read.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(read.status().message().find("line 3"), std::string::npos) << read.status().message();
  WriteText("n", "fio version 2 iolog\n/d read zero 4096\n");
  EXPECT_NE(ReadFioIolog(Path("n")).status().message().find("line 2"), std::string::npos);
  WriteText("t", "fio version 3 iolog\n/d read 0 4096\n");  // v3 without a timestamp
  EXPECT_NE(ReadFioIolog(Path("t")).status().message().find("timestamp"), std::string::npos);
}

}  // namespace
}  // namespace cleancache
