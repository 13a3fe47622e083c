// SPDX-License-Identifier: MIT
#include "protocol/key.hpp"

#include <cstdint>
#include <cstring>

namespace fastmc::protocol {
namespace {

// Every byte is 0x21..0x7e, tested a word at a time: a byte below 0x21 or
// above 0x7e sets its top bit in `below | above` (the "has less / has more
// than n" word tests; exact for these bounds).
bool is_printable_ascii(std::string_view key) noexcept {
  constexpr std::uint64_t kOnes = 0x0101010101010101;
  constexpr std::uint64_t kHighBits = 0x8080808080808080;
  const auto word_is_printable = [](std::uint64_t word) {
    const std::uint64_t below = (word - kOnes * 0x21) & ~word;
    const std::uint64_t above = (word + kOnes * (127 - 0x7e)) | word;
    return ((below | above) & kHighBits) == 0;
  };
  std::size_t offset = 0;
  for (; offset + 8 <= key.size(); offset += 8) {
    std::uint64_t word;
    std::memcpy(&word, key.data() + offset, 8);
    if (!word_is_printable(word)) return false;
  }
  std::uint64_t tail = kOnes * 'a';  // a printable filler for the missing bytes
  std::memcpy(&tail, key.data() + offset, key.size() - offset);
  return word_is_printable(tail);
}

}  // namespace

KeyCheck check_text_key(std::string_view key, bool allow_non_ascii) noexcept {
  if (key.empty()) {
    return {KeyProblem::empty, 0};
  }
  if (key.size() > kMaxKeySize) {
    return {KeyProblem::too_long, 0};
  }
  // Nearly every key is printable ASCII: a pass over eight bytes at a time
  // settles it; only a key that fails it is searched byte by byte for the
  // first problem.
  if (is_printable_ascii(key)) {
    return {};
  }
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto byte = static_cast<unsigned char>(key[i]);
    // Space separates tokens and control bytes end or corrupt the command
    // line; DEL is refused too because the protocol says "no control
    // characters" and memcached would store it silently.
    if (byte <= 0x20 || byte == 0x7f) {
      return {KeyProblem::forbidden_byte, i};
    }
    if (byte >= 0x80 && !allow_non_ascii) {
      return {KeyProblem::non_ascii, i};
    }
  }
  return {};
}

std::string_view describe(KeyProblem problem) noexcept {
  switch (problem) {
    case KeyProblem::none: return "valid";
    case KeyProblem::empty: return "is empty";
    case KeyProblem::too_long: return "is longer than 250 bytes";
    case KeyProblem::forbidden_byte: return "contains a space or control byte";
    case KeyProblem::non_ascii: return "contains a non-ASCII byte";
  }
  return "unknown key problem";
}

}  // namespace fastmc::protocol
