// SPDX-License-Identifier: MIT
#include "protocol/key.hpp"

namespace fastmc::protocol {

KeyCheck check_text_key(std::string_view key, bool allow_non_ascii) noexcept {
  if (key.empty()) {
    return {KeyProblem::empty, 0};
  }
  if (key.size() > kMaxKeySize) {
    return {KeyProblem::too_long, 0};
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
