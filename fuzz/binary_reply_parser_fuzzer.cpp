// SPDX-License-Identifier: MIT
// Fuzzes parse_binary_reply, the function that reads a binary-protocol
// server's bytes.
//
// Input layout: byte 0 picks the value size limit (low 2 bits); byte 1 picks
// where to cut the input for the split check; the rest is what the server
// sent.
//
// Checked, besides the sanitizers: a complete reply is at least a header and
// inside the input, its views point into that packet, a value is within the
// size limit, the fields hold only what the reply's kind carries (a number
// only for incr/decr, flags only for hits, the raw status matching the
// mapped one), need_more's `needed` is beyond the bytes present, malformed
// says why; and parsing a prefix first agrees with parsing the whole (the
// split invariance the connection relies on).
#include "protocol/binary_reply_parser.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "parser_invariants.hpp"
#include "protocol/binary_header.hpp"
#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace {

using fastmc::fuzz::is_inside;
using fastmc::fuzz::require;
using fastmc::protocol::ParseResult;
using fastmc::protocol::ParseStatus;
using fastmc::protocol::Reply;
using fastmc::protocol::ReplyStatus;

bool same_reply(const Reply& a, const Reply& b) {
  return a.status == b.status && a.key == b.key && a.data == b.data && a.flags == b.flags &&
         a.cas == b.cas && a.has_cas == b.has_cas && a.number == b.number &&
         a.binary_opaque == b.binary_opaque && a.binary_status == b.binary_status &&
         a.binary_opcode == b.binary_opcode;
}

// What a complete reply holds follows from its status.
void check_fields(const Reply& reply, std::size_t max_value_size) {
  require(reply.data.size() <= max_value_size);
  require(reply.key.size() <= 250);
  require(fastmc::protocol::is_known_opcode(reply.binary_opcode));
  require(reply.status == ReplyStatus::number || reply.number == 0);
  require(reply.status != ReplyStatus::number || reply.data.size() == 8);
  require(reply.status == ReplyStatus::value || reply.flags == 0);
  require(reply.has_cas || reply.cas == 0);
  // Only a success maps onto these; every failure carries its raw code.
  const bool success = reply.binary_status == 0;
  switch (reply.status) {
    case ReplyStatus::value:
    case ReplyStatus::stored:
    case ReplyStatus::deleted:
    case ReplyStatus::touched:
    case ReplyStatus::ok:
    case ReplyStatus::number:
    case ReplyStatus::noop:
    case ReplyStatus::version:
    case ReplyStatus::stat:
    case ReplyStatus::end: require(success); break;
    default: require(!success); break;
  }
  require(reply.status != ReplyStatus::stat || !reply.key.empty());
  require(reply.status != ReplyStatus::end || (reply.key.empty() && reply.data.empty()));
}

ParseResult checked_parse(std::string_view input, std::size_t max_value_size, Reply& reply) {
  const ParseResult result = fastmc::protocol::parse_binary_reply(input, max_value_size, reply);
  switch (result.status) {
    case ParseStatus::complete: {
      require(result.consumed >= fastmc::protocol::kBinaryHeaderSize &&
              result.consumed <= input.size());
      const std::string_view packet = input.substr(0, result.consumed);
      require(is_inside(reply.key, packet));
      require(is_inside(reply.data, packet));
      check_fields(reply, max_value_size);
      break;
    }
    case ParseStatus::need_more:
      require(result.needed == 0 || result.needed > input.size());
      // Once the header is in, the packet's size is known.
      require(input.size() < fastmc::protocol::kBinaryHeaderSize || result.needed != 0);
      break;
    case ParseStatus::malformed: require(!result.problem.empty()); break;
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  return fastmc::fuzz::walk_reply_stream<Reply>(bytes, size, checked_parse, same_reply);
}
