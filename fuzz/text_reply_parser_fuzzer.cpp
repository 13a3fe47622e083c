// SPDX-License-Identifier: MIT
// Fuzzes parse_text_reply, the function that reads a server's bytes.
//
// Input layout: byte 0 picks the expected reply kind (low 3 bits, or config
// when bit 5 is set) and the value size limit (bits 3 and 4); byte 1 picks where to cut the input
// for the split check; the rest is what the server sent.
//
// Checked, besides the sanitizers: a complete unit is non-empty and inside
// the input, its views point into that unit, need_more's `needed` is beyond
// the bytes present, malformed says why; and parsing a prefix first agrees
// with parsing the whole (the split invariance the connection relies on).
#include "protocol/text_reply_parser.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "parser_invariants.hpp"
#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace {

using fastmc::fuzz::is_inside;
using fastmc::fuzz::kMaxValueSizes;
using fastmc::fuzz::require;
using fastmc::protocol::ParseResult;
using fastmc::protocol::ParseStatus;
using fastmc::protocol::Reply;
using fastmc::protocol::TextReplyKind;

bool same_reply(const Reply& a, const Reply& b) {
  return a.status == b.status && a.key == b.key && a.data == b.data && a.flags == b.flags &&
         a.cas == b.cas && a.has_cas == b.has_cas && a.number == b.number;
}

ParseResult checked_parse(std::string_view input, TextReplyKind kind, std::size_t max_value_size,
                          Reply& reply) {
  const ParseResult result = fastmc::protocol::parse_text_reply(input, kind, max_value_size, reply);
  switch (result.status) {
    case ParseStatus::complete:
      require(result.consumed > 0 && result.consumed <= input.size());
      require(is_inside(reply.key, input.substr(0, result.consumed)));
      require(is_inside(reply.data, input.substr(0, result.consumed)));
      break;
    case ParseStatus::need_more:
      require(result.needed == 0 || result.needed > input.size());
      require(input.size() < fastmc::protocol::kMaxReplyLineSize || result.needed != 0);
      break;
    case ParseStatus::malformed: require(!result.problem.empty()); break;
  }
  return result;
}

// Parsing `prefix` of `whole` must never contradict parsing `whole`: what
// the parser decided from fewer bytes stands once more bytes arrive.
void check_prefix_agrees(std::string_view whole, std::size_t prefix_size, TextReplyKind kind,
                         std::size_t max_value_size) {
  Reply whole_reply;
  Reply prefix_reply;
  const ParseResult full = checked_parse(whole, kind, max_value_size, whole_reply);
  const ParseResult part =
      checked_parse(whole.substr(0, prefix_size), kind, max_value_size, prefix_reply);
  fastmc::fuzz::require_prefix_agrees(whole.size(), prefix_size, full, part,
                                      same_reply(whole_reply, prefix_reply));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  if (size < 2) {
    return 0;
  }
  const auto kind =
      (bytes[0] & 0x20u) != 0 ? TextReplyKind::config : static_cast<TextReplyKind>(bytes[0] & 7u);
  const std::size_t max_value_size = kMaxValueSizes[(bytes[0] >> 3) & 3u];
  const std::string_view input(reinterpret_cast<const char*>(bytes) + 2, size - 2);
  const std::size_t prefix_size = input.size() * bytes[1] / 255;

  // Walk the input unit by unit, as a connection would with one kind.
  std::string_view rest = input;
  while (true) {
    check_prefix_agrees(rest, prefix_size < rest.size() ? prefix_size : rest.size(), kind,
                        max_value_size);
    Reply reply;
    const ParseResult result = checked_parse(rest, kind, max_value_size, reply);
    if (result.status != ParseStatus::complete) {
      break;
    }
    rest.remove_prefix(result.consumed);
  }
  return 0;
}
