// SPDX-License-Identifier: MIT
// Key checks for the text protocol (protocol layer).
//
// memcached does not fully enforce its own key rules (a bare LF ends a command
// line, TAB and DEL are stored), so a key that reaches the wire unchecked can
// inject a second command or desynchronise the connection. Every key is
// checked with this before any byte of its request is written.
// Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fastmc::protocol {

// The protocol's limit on a key, in bytes (memcached doc/protocol.txt).
inline constexpr std::size_t kMaxKeySize = 250;

enum class KeyProblem : std::uint8_t {
  none,
  empty,           // zero bytes
  too_long,        // more than kMaxKeySize bytes
  forbidden_byte,  // a space, control byte (0x00-0x1f) or DEL (0x7f)
  non_ascii,       // a byte >= 0x80 while non-ASCII keys are not allowed
};

struct KeyCheck {
  KeyProblem problem = KeyProblem::none;
  std::size_t position = 0;  // index of the offending byte, for forbidden_byte and non_ascii

  constexpr explicit operator bool() const noexcept { return problem == KeyProblem::none; }
};

// Valid iff 1 to kMaxKeySize bytes, every byte > 0x20 and != 0x7f, and, unless
// allow_non_ascii, every byte < 0x80.
KeyCheck check_text_key(std::string_view key, bool allow_non_ascii = true) noexcept;

// A short human description of a problem ("contains a space or control byte").
std::string_view describe(KeyProblem problem) noexcept;

}  // namespace fastmc::protocol
