#include "cleancache/status.h"

namespace cleancache {
namespace {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "ok";
    case Status::Code::kInvalidArgument: return "invalid argument";
    case Status::Code::kNotFound: return "not found";
    case Status::Code::kBusy: return "busy";
    case Status::Code::kIOError: return "I/O error";
    case Status::Code::kNotSupported: return "not supported";
    case Status::Code::kPermissionDenied: return "permission denied";
    case Status::Code::kUnavailable: return "unavailable";
    case Status::Code::kCorruption: return "corruption";
  }
  return "unknown status";
}

}  // namespace

std::string Status::ToString() const {
  std::string text = CodeName(code_);
  if (!message_.empty()) {
    text += ": ";
    text += message_;
  }
  return text;
}

}  // namespace cleancache
