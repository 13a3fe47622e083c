// SPDX-License-Identifier: MIT
// Strict ASCII decimal conversion for protocol fields (protocol layer).
//
// Length fields come from the server and decide how many bytes are read next,
// so parsing is strict: digits only, no sign, no spaces, no empty string, and
// overflow is rejected rather than wrapped. Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fastmc::protocol {

// Enough for any 64-bit value with a sign.
inline constexpr std::size_t kMaxDecimalSize = 20;

// Writes `value` in decimal at `out`, which has room for kMaxDecimalSize
// bytes; returns the number of bytes written.
std::size_t format_decimal(std::uint64_t value, char* out) noexcept;
std::size_t format_signed_decimal(std::int64_t value, char* out) noexcept;

// True iff `text` is one or more ASCII digits whose value fits the type; the
// value is stored only then. Leading zeros are accepted.
bool parse_decimal(std::string_view text, std::uint64_t& value) noexcept;
bool parse_decimal(std::string_view text, std::uint32_t& value) noexcept;

}  // namespace fastmc::protocol
