// SPDX-License-Identifier: MIT
#include "protocol/decimal.hpp"

#include <charconv>
#include <limits>

namespace fastmc::protocol {
namespace {

// One loop for both widths: accumulate in 64 bits and refuse the digit that
// would take the value above `max`, so overflow is caught before it happens.
bool parse_bounded(std::string_view text, std::uint64_t max, std::uint64_t& value) noexcept {
  if (text.empty()) {
    return false;
  }
  std::uint64_t result = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (result > (max - digit) / 10) {
      return false;
    }
    result = result * 10 + digit;
  }
  value = result;
  return true;
}

}  // namespace

std::size_t format_decimal(std::uint64_t value, char* out) noexcept {
  // kMaxDecimalSize always suffices for a 64-bit value, so to_chars cannot fail.
  const auto result = std::to_chars(out, out + kMaxDecimalSize, value);
  return static_cast<std::size_t>(result.ptr - out);
}

std::size_t format_signed_decimal(std::int64_t value, char* out) noexcept {
  const auto result = std::to_chars(out, out + kMaxDecimalSize, value);
  return static_cast<std::size_t>(result.ptr - out);
}

bool parse_decimal(std::string_view text, std::uint64_t& value) noexcept {
  return parse_bounded(text, std::numeric_limits<std::uint64_t>::max(), value);
}

bool parse_decimal(std::string_view text, std::uint32_t& value) noexcept {
  std::uint64_t wide = 0;
  if (!parse_bounded(text, std::numeric_limits<std::uint32_t>::max(), wide)) {
    return false;
  }
  value = static_cast<std::uint32_t>(wide);
  return true;
}

}  // namespace fastmc::protocol
