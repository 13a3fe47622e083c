// SPDX-License-Identifier: MIT
// ParseResult: what an incremental reply parser reports after looking at the
// bytes it was given (protocol layer). Shared by the text, meta and binary
// parsers. Plain data; `problem` points to a static string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fastmc::protocol {

enum class ParseStatus : std::uint8_t {
  complete,   // one reply unit was parsed; `consumed` bytes belong to it
  need_more,  // the input ends inside a unit; call again with more bytes
  malformed,  // the input cannot be a valid reply; `problem` says why
};

struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  // complete: the size of the unit, header, data and terminators included.
  std::size_t consumed = 0;
  // need_more: the whole unit's size when the parser already knows it (after
  // a VALUE header), so the caller can read the rest in one go; 0 otherwise.
  std::size_t needed = 0;
  // malformed: a short, static description of what was wrong.
  std::string_view problem;

  static constexpr ParseResult complete(std::size_t consumed) noexcept {
    return {ParseStatus::complete, consumed, 0, {}};
  }
  static constexpr ParseResult need_more(std::size_t needed = 0) noexcept {
    return {ParseStatus::need_more, 0, needed, {}};
  }
  static constexpr ParseResult malformed(std::string_view problem) noexcept {
    return {ParseStatus::malformed, 0, 0, problem};
  }
};

}  // namespace fastmc::protocol
