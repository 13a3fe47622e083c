// SPDX-License-Identifier: MIT
// Fuzzes check_text_key against a plain restatement of the key rule, and
// checks the property the rule exists for: a key that passes cannot change
// the shape of a request line (one space before it, one line end after it).
//
// Input layout: byte 0's low bit says whether non-ASCII bytes are allowed;
// the rest is the key.
#include "protocol/key.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "protocol/request_buffer.hpp"
#include "protocol/text_request.hpp"

namespace {

using fastmc::protocol::KeyProblem;

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

// The first byte a key may not hold, or key.size() if there is none.
std::size_t first_bad_byte(std::string_view key, bool allow_non_ascii, KeyProblem& problem) {
  for (std::size_t i = 0; i < key.size(); ++i) {
    const auto byte = static_cast<unsigned char>(key[i]);
    if (byte == ' ' || byte < 0x20 || byte == 0x7f) {
      problem = KeyProblem::forbidden_byte;
      return i;
    }
    if (byte > 0x7f && !allow_non_ascii) {
      problem = KeyProblem::non_ascii;
      return i;
    }
  }
  problem = KeyProblem::none;
  return key.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 1) {
    return 0;
  }
  const bool allow_non_ascii = (bytes[0] & 1u) != 0;
  const std::string_view key(reinterpret_cast<const char*>(bytes) + 1, size - 1);

  const fastmc::protocol::KeyCheck check = fastmc::protocol::check_text_key(key, allow_non_ascii);
  require(!fastmc::protocol::describe(check.problem).empty());
  if (key.empty()) {
    require(check.problem == KeyProblem::empty);
  } else if (key.size() > fastmc::protocol::kMaxKeySize) {
    require(check.problem == KeyProblem::too_long);
  } else {
    KeyProblem expected = KeyProblem::none;
    const std::size_t position = first_bad_byte(key, allow_non_ascii, expected);
    require(check.problem == expected);
    if (expected != KeyProblem::none) {
      require(check.position == position);
    }
  }
  require(static_cast<bool>(check) == (check.problem == KeyProblem::none));

  if (check) {
    fastmc::protocol::RequestBuffer out;
    fastmc::protocol::append_delete_request(out, key, false);
    std::array<std::string_view, 4> segments;
    require(out.segments_from(0, segments.data(), segments.size()) == 1);
    const std::string_view line = segments[0];
    require(line.size() == key.size() + 9);  // "delete " + key + CRLF
    require(line.find(' ', 7) == std::string_view::npos);
    require(line.find('\n') == line.size() - 1);
    require(line.find('\r') == line.size() - 2);
  }
  return 0;
}
