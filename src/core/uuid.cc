#include <string>

#include "cleancache/backend.h"

namespace cleancache {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsDashPosition(size_t i) { return i == 8 || i == 13 || i == 18 || i == 23; }

}  // namespace

Result<Uuid> Uuid::Parse(std::string_view text) {
  const bool canonical = text.size() == 36;
  if (!canonical && text.size() != 32) {
    return Status::InvalidArgument("UUID '" + std::string(text) +
                                   "' has the wrong length: expected 8-4-4-4-12 hex digits or 32 hex digits");
  }
  Uuid uuid;
  size_t nibble = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (canonical && IsDashPosition(i)) {
      if (text[i] != '-') {
        return Status::InvalidArgument("UUID '" + std::string(text) + "': expected '-' at position " +
                                       std::to_string(i + 1));
      }
      continue;
    }
    int value = HexValue(text[i]);
    if (value < 0) {
      return Status::InvalidArgument("UUID '" + std::string(text) + "': '" + std::string(1, text[i]) +
                                     "' at position " + std::to_string(i + 1) + " is not a hex digit");
    }
    uuid.bytes[nibble / 2] = static_cast<uint8_t>(uuid.bytes[nibble / 2] | (value << ((nibble % 2) ? 0 : 4)));
    ++nibble;
  }
  return uuid;
}

std::string Uuid::ToString() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) text += '-';
    text += kHex[bytes[i] >> 4];
    text += kHex[bytes[i] & 15];
  }
  return text;
}

}  // namespace cleancache
