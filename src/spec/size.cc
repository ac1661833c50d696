// Size strings: "4096", "64K", "1.5G", "512MiB", "2 tb". Binary units only
// (1K = 1024), case-insensitive, optional 'B' or 'iB' after the unit.
#include <cctype>
#include <cstdio>
#include <string>

#include "cleancache/spec_parser.h"

namespace cleancache {
namespace {

constexpr unsigned __int128 kMaxBytes = ~uint64_t{0};

Status BadSize(std::string_view text, const std::string& why) {
  return Status::InvalidArgument("bad size '" + std::string(text) + "': " + why +
                                 " (expected e.g. 4096, 64K, 1.5G, 512MiB; units K, M, G, T = powers of 1024)");
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return text;
}

}  // namespace

Result<uint64_t> ParseSize(std::string_view original) {
  std::string_view text = Trim(original);
  if (text.empty()) return BadSize(original, "empty");

  size_t pos = 0;
  unsigned __int128 whole = 0;
  size_t whole_digits = 0;
  for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos, ++whole_digits) {
    whole = whole * 10 + static_cast<unsigned>(text[pos] - '0');
    if (whole > kMaxBytes) return BadSize(original, "too large (the maximum is 2^64-1 bytes)");
  }
  // Fraction digits, kept exactly as numerator / 10^count.
  unsigned __int128 fraction = 0, fraction_scale = 1;
  size_t fraction_digits = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    for (; pos < text.size() && std::isdigit(static_cast<unsigned char>(text[pos])); ++pos, ++fraction_digits) {
      if (fraction_digits == 18) return BadSize(original, "too many decimal places");
      fraction = fraction * 10 + static_cast<unsigned>(text[pos] - '0');
      fraction_scale *= 10;
    }
    if (fraction_digits == 0) return BadSize(original, "no digits after the decimal point");
  }
  if (whole_digits == 0) return BadSize(original, "does not start with a number");

  while (pos < text.size() && text[pos] == ' ') ++pos;
  std::string unit;
  for (; pos < text.size(); ++pos) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(text[pos])));

  unsigned shift = 0;
  std::string_view rest = unit;
  if (!rest.empty()) {
    switch (rest.front()) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: break;
    }
    if (shift != 0) rest.remove_prefix(1);
  }
  const bool suffix_ok = rest.empty() || rest == "b" || (shift != 0 && rest == "ib");
  if (!suffix_ok) return BadSize(original, "unknown unit '" + unit + "'");

  const unsigned __int128 multiplier = static_cast<unsigned __int128>(1) << shift;
  const unsigned __int128 whole_bytes = whole * multiplier;
  // fraction < 10^18 < 2^60 and multiplier <= 2^40: no 128-bit overflow.
  const unsigned __int128 fraction_bytes = fraction * multiplier;
  if (fraction_bytes % fraction_scale != 0) {
    return BadSize(original, "not a whole number of bytes");
  }
  const unsigned __int128 total = whole_bytes + fraction_bytes / fraction_scale;
  if (total > kMaxBytes) return BadSize(original, "too large (the maximum is 2^64-1 bytes)");
  return static_cast<uint64_t>(total);
}

std::string FormatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  unsigned unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes >= (uint64_t{1} << (10 * (unit + 1)))) ++unit;
  if (unit == 0) return std::to_string(bytes) + " B";
  // Two decimals at most, rounded to nearest, trailing zeros dropped.
  const unsigned __int128 scale = static_cast<unsigned __int128>(1) << (10 * unit);
  unsigned __int128 hundredths = (static_cast<unsigned __int128>(bytes) * 100 + scale / 2) / scale;
  if (hundredths >= 1024 * 100 && unit + 1 < std::size(kUnits)) {
    ++unit;  // e.g. 1048575 bytes rounds to 1024 KiB: say 1 MiB
    hundredths = 100;
  }
  std::string text = std::to_string(static_cast<uint64_t>(hundredths / 100));
  const unsigned cents = static_cast<unsigned>(hundredths % 100);
  if (cents != 0) {
    char decimals[4];
    std::snprintf(decimals, sizeof decimals, "%02u", cents);
    std::string digits = decimals;
    if (digits.back() == '0') digits.pop_back();
    text += "." + digits;
  }
  return text + " " + kUnits[unit];
}

}  // namespace cleancache
