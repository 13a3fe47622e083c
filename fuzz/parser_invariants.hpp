// SPDX-License-Identifier: MIT
// Checks shared by the reply-parser fuzzers (fuzz/): a failed check aborts,
// which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "protocol/parse_result.hpp"

namespace fastmc::fuzz {

inline void require(bool condition) {
  if (!condition) std::abort();
}

// True iff `view` is empty or lies inside `unit`.
inline bool is_inside(std::string_view view, std::string_view unit) {
  if (view.empty()) return true;
  const auto begin = reinterpret_cast<std::uintptr_t>(unit.data());
  const auto start = reinterpret_cast<std::uintptr_t>(view.data());
  return start >= begin && start + view.size() <= begin + unit.size();
}

// Value size limits a fuzzer picks from with two input bits: the default
// order of magnitude, none, tiny, and unbounded.
inline constexpr std::array<std::size_t, 4> kMaxValueSizes = {
    std::size_t{1} << 20, 0, 16, std::numeric_limits<std::size_t>::max()};

// Requires that parsing `prefix_size` bytes of a `whole_size`-byte input
// (`part`) never contradicts parsing all of it (`full`): what the parser
// decided from fewer bytes stands once more bytes arrive. `same_replies`
// says whether the two replies agree; it matters only when both completed.
inline void require_prefix_agrees(std::size_t whole_size, std::size_t prefix_size,
                                  const protocol::ParseResult& full,
                                  const protocol::ParseResult& part, bool same_replies) {
  using protocol::ParseStatus;
  switch (part.status) {
    case ParseStatus::complete:
      require(full.status == ParseStatus::complete && full.consumed == part.consumed);
      require(same_replies);
      break;
    case ParseStatus::malformed:
      require(full.status == ParseStatus::malformed && full.problem == part.problem);
      break;
    case ParseStatus::need_more:
      if (full.status == ParseStatus::complete) {
        require(full.consumed > prefix_size);
        require(part.needed == 0 || part.needed == full.consumed);
      } else if (full.status == ParseStatus::need_more) {
        require(part.needed == 0 || part.needed == full.needed);
      } else if (part.needed != 0) {
        // Only the data terminator is left to judge once the size is known.
        require(whole_size >= part.needed);
      }
      break;
  }
}

// The input layout and walk of the meta and binary reply fuzzers: byte 0
// picks the value size limit (kMaxValueSizes), byte 1 where a prefix ends,
// and the rest is replies, walked one by one as a connection would, each
// checked against its own prefix (require_prefix_agrees).
// `checked_parse(input, max_value_size, reply)` parses and checks one reply;
// `same_reply(a, b)` says whether two parses agree.
template <class Reply, class CheckedParse, class SameReply>
int walk_reply_stream(const std::uint8_t* bytes, std::size_t size, CheckedParse&& checked_parse,
                      SameReply&& same_reply) {
  if (size < 2) return 0;
  const std::size_t max_value_size = kMaxValueSizes[bytes[0] & 3u];
  const std::string_view input(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  const std::size_t prefix_size = input.size() * bytes[1] / 255;
  std::string_view rest = input;
  while (true) {
    const std::size_t cut = prefix_size < rest.size() ? prefix_size : rest.size();
    Reply whole_reply;
    Reply prefix_reply;
    const protocol::ParseResult full = checked_parse(rest, max_value_size, whole_reply);
    const protocol::ParseResult part =
        checked_parse(rest.substr(0, cut), max_value_size, prefix_reply);
    require_prefix_agrees(rest.size(), cut, full, part, same_reply(whole_reply, prefix_reply));
    if (full.status != protocol::ParseStatus::complete) return 0;
    rest.remove_prefix(full.consumed);
  }
}

}  // namespace fastmc::fuzz
