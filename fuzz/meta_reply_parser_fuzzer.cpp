// SPDX-License-Identifier: MIT
// Fuzzes parse_meta_reply, the function that reads a meta server's bytes,
// and decode_base64, which reads the keys those replies carry.
//
// Input layout: byte 0 picks the value size limit (low 2 bits); byte 1 picks
// where to cut the input for the split check; the rest is what the server
// sent.
//
// Checked, besides the sanitizers: a complete reply is non-empty and inside
// the input, its views point into that reply, each field is set only with
// its flag's bit (and cas with has_cas), need_more's `needed` is beyond the
// bytes present, malformed says why; parsing a prefix first agrees with
// parsing the whole (the split invariance the connection relies on); and a
// key marked base64 that decodes re-encodes to the same text (the decoder
// accepts canonical base64 only).
#include "protocol/meta_reply_parser.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>

#include "parser_invariants.hpp"
#include "protocol/base64.hpp"
#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace {

using fastmc::fuzz::is_inside;
using fastmc::fuzz::require;
using fastmc::protocol::ParseResult;
using fastmc::protocol::ParseStatus;
using fastmc::protocol::Reply;

bool same_reply(const Reply& a, const Reply& b) {
  return a.status == b.status && a.key == b.key && a.data == b.data && a.flags == b.flags &&
         a.cas == b.cas && a.has_cas == b.has_cas && a.number == b.number &&
         a.meta_flags == b.meta_flags && a.opaque == b.opaque && a.ttl == b.ttl &&
         a.size == b.size && a.last_access == b.last_access && a.hit_before == b.hit_before;
}

// A field holds a value only if its flag was in the reply.
void check_fields_follow_flags(const Reply& reply) {
  require(reply.has_cas == reply.has_flag('c'));
  require(reply.has_flag('f') || reply.flags == 0);
  require(reply.has_flag('t') || reply.ttl == 0);
  require(reply.ttl >= -1);
  require(reply.has_flag('s') || reply.size == 0);
  require(reply.has_flag('l') || reply.last_access == 0);
  require(reply.has_flag('h') || !reply.hit_before);
  require(reply.has_flag('O') || reply.opaque.empty());
  require(reply.opaque.size() <= 32);
}

// A base64 key that decodes must be the one encoding of its bytes.
void check_base64_key(const Reply& reply) {
  if (!reply.has_flag('b') || reply.key.size() > 256) {
    return;
  }
  std::array<char, 192> bytes;
  std::size_t size = 0;
  if (!fastmc::protocol::decode_base64(reply.key, bytes.data(), size)) {
    return;
  }
  require(size <= reply.key.size() / 4 * 3);
  std::array<char, 260> text;
  const std::size_t text_size =
      fastmc::protocol::encode_base64(std::string_view(bytes.data(), size), text.data());
  require(std::string_view(text.data(), text_size) == reply.key);
}

ParseResult checked_parse(std::string_view input, std::size_t max_value_size, Reply& reply) {
  const ParseResult result = fastmc::protocol::parse_meta_reply(input, max_value_size, reply);
  switch (result.status) {
    case ParseStatus::complete: {
      require(result.consumed > 0 && result.consumed <= input.size());
      const std::string_view unit = input.substr(0, result.consumed);
      require(is_inside(reply.key, unit));
      require(is_inside(reply.data, unit));
      require(is_inside(reply.opaque, unit));
      check_fields_follow_flags(reply);
      check_base64_key(reply);
      break;
    }
    case ParseStatus::need_more:
      require(result.needed == 0 || result.needed > input.size());
      require(input.size() < fastmc::protocol::kMaxMetaReplyLineSize || result.needed != 0);
      break;
    case ParseStatus::malformed: require(!result.problem.empty()); break;
  }
  return result;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  return fastmc::fuzz::walk_reply_stream<Reply>(bytes, size, checked_parse, same_reply);
}
