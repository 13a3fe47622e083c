// SPDX-License-Identifier: MIT
#include "protocol/printable.hpp"

namespace fastmc::protocol {

std::string printable_excerpt(std::string_view bytes, std::size_t max_size) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string text;
  for (const char c : bytes.substr(0, max_size)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      text += c;
    } else if (c == '\r') {
      text += "\\r";
    } else if (c == '\n') {
      text += "\\n";
    } else {
      text += "\\x";
      text += kHex[byte >> 4];
      text += kHex[byte & 0xf];
    }
  }
  if (bytes.size() > max_size) text += "...";
  return text;
}

}  // namespace fastmc::protocol
