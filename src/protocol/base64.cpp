// SPDX-License-Identifier: MIT
#include "protocol/base64.hpp"

#include <array>
#include <cstdint>

namespace fastmc::protocol {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::uint8_t kInvalid = 0xff;

// The 6-bit value of each alphabet character; kInvalid for every other byte,
// "=" included (padding is handled by position, not by lookup).
constexpr std::array<std::uint8_t, 256> make_decode_table() {
  std::array<std::uint8_t, 256> table{};
  for (std::uint8_t& entry : table) {
    entry = kInvalid;
  }
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::uint8_t>(i);
  }
  return table;
}

constexpr std::array<std::uint8_t, 256> kDecodeTable = make_decode_table();

std::uint8_t sextet(char c) noexcept { return kDecodeTable[static_cast<unsigned char>(c)]; }

char character(std::uint32_t group, int shift) noexcept {
  return kAlphabet[(group >> shift) & 0x3f];
}

}  // namespace

std::size_t encode_base64(std::string_view bytes, char* out) noexcept {
  const auto byte = [&](std::size_t i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i]));
  };
  char* next = out;
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t group = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    *next++ = character(group, 18);
    *next++ = character(group, 12);
    *next++ = character(group, 6);
    *next++ = character(group, 0);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest != 0) {
    const std::uint32_t group = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    *next++ = character(group, 18);
    *next++ = character(group, 12);
    *next++ = rest == 2 ? character(group, 6) : '=';
    *next++ = '=';
  }
  return static_cast<std::size_t>(next - out);
}

bool decode_base64(std::string_view text, char* out, std::size_t& size) noexcept {
  if (text.size() % 4 != 0) {
    return false;
  }
  char* next = out;
  for (std::size_t i = 0; i < text.size(); i += 4) {
    const bool last = i + 4 == text.size();
    // Padding may only end the last group: "xx==" or "xxx=".
    const std::size_t padding = !last ? 0 : text[i + 3] != '=' ? 0 : text[i + 2] != '=' ? 1 : 2;
    std::uint32_t group = 0;
    for (std::size_t j = 0; j < 4 - padding; ++j) {
      const std::uint8_t value = sextet(text[i + j]);
      if (value == kInvalid) {
        return false;
      }
      group = group << 6 | value;
    }
    group <<= 6 * padding;
    // The bits a padded group does not use must be zero, or two texts would
    // decode to the same bytes.
    if ((padding == 1 && (group & 0xff) != 0) || (padding == 2 && (group & 0xffff) != 0)) {
      return false;
    }
    *next++ = static_cast<char>(group >> 16);
    if (padding < 2) {
      *next++ = static_cast<char>(group >> 8 & 0xff);
    }
    if (padding < 1) {
      *next++ = static_cast<char>(group & 0xff);
    }
  }
  size = static_cast<std::size_t>(next - out);
  return true;
}

}  // namespace fastmc::protocol
