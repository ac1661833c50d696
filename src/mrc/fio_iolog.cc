// fio's iolog, versions 2 and 3, as page accesses (see page_trace.h).
#include <xxhash.h>

#include <bit>
#include <charconv>
#include <fstream>
#include <sstream>

#include "cleancache/page_trace.h"

namespace cleancache {
namespace {

bool ParseUnsigned(const std::string& text, uint64_t* out) {
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, *out);
  return ec == std::errc() && ptr == end;
}

}  // namespace

Result<PageTrace> ReadFioIolog(const std::string& path, uint32_t page_size) {
  if (page_size < 512 || page_size > 65536 || !std::has_single_bit(page_size))
    return Status::InvalidArgument("iolog page size " + std::to_string(page_size) +
                                   ": must be a power of two in 512..65536");
  std::ifstream in(path);
  if (!in) return Status::NotFound("cannot open iolog " + path);
  std::string line;
  std::getline(in, line);
  int version = 0;
  if (line == "fio version 2 iolog") version = 2;
  if (line == "fio version 3 iolog") version = 3;
  if (version == 0)
    return Status::InvalidArgument("iolog " + path +
                                   ": line 1 is not \"fio version 2 iolog\" or \"fio version 3 iolog\"");

  PageTrace trace;
  trace.page_size = page_size;
  for (uint64_t number = 2; std::getline(in, line); ++number) {
    auto bad = [&](const std::string& what) {
      return Status::InvalidArgument("iolog " + path + ": line " + std::to_string(number) + ": " + what + ": \"" +
                                     line + "\"");
    };
    std::istringstream fields(line);
    std::vector<std::string> f;
    for (std::string word; fields >> word;) f.push_back(word);
    if (f.empty()) continue;
    size_t first = 0;
    if (version == 3) {  // a timestamp first
      uint64_t ns;
      if (!ParseUnsigned(f[0], &ns)) return bad("expected a timestamp first");
      first = 1;
    }
    if (f.size() < first + 2) return bad("expected FILE ACTION");
    const std::string& file = f[first];
    const std::string& action = f[first + 1];
    if (action == "add" || action == "open" || action == "close") {
      if (f.size() != first + 2) return bad("file action with extra fields");
      continue;
    }
    const bool read = action == "read";
    const bool invalidates = action == "write" || action == "trim";
    if (!read && !invalidates && action != "sync" && action != "datasync" && action != "wait")
      return bad("unknown action '" + action + "'");
    if (f.size() != first + 4) return bad("expected FILE ACTION OFFSET LENGTH");
    uint64_t offset, length;
    if (!ParseUnsigned(f[first + 2], &offset) || !ParseUnsigned(f[first + 3], &length))
      return bad("offset and length must be unsigned integers");
    if (!read && !invalidates) continue;
    if (length == 0) continue;
    if (offset + length < offset) return bad("offset + length overflows");
    TraceRecord r;
    r.file_hash = XXH3_64bits(file.data(), file.size());
    r.op = read ? TraceOp::kGet : TraceOp::kInvalidate;
    for (uint64_t page = offset / page_size; page <= (offset + length - 1) / page_size; ++page) {
      r.index = page;
      trace.records.push_back(r);
    }
  }
  return trace;
}

}  // namespace cleancache
