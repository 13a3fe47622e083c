// SPDX-License-Identifier: MIT
// Text-protocol reply parser (protocol layer). Grammar: docs/protocol.md,
// section "Text".
//
// Text replies are ambiguous without the request ("END" ends a get and a
// stats reply; a bare number only answers incr/decr), so the caller says
// which kind of reply it expects, as mcrouter's McAsciiParser does. The
// parser is a pure function over a byte span: it never touches a socket,
// never allocates, and gives the same result however the input was split
// across reads (the tests feed every split).
//
// Thread-safety: pure. Lifetime: views in the Reply point into `input`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace fastmc::protocol {

enum class TextReplyKind : std::uint8_t {
  retrieval,   // get, gets, gat, gats: VALUE units, then END
  storage,     // set, add, replace, append, prepend, cas
  deletion,    // delete: DELETED or NOT_FOUND
  arithmetic,  // incr, decr: a number or NOT_FOUND
  touch,       // touch: TOUCHED or NOT_FOUND
  ok,          // flush_all, verbosity: OK
  stats,       // stats: STAT (or PREFIX) units, then END; or RESET / OK alone
  version,     // version: VERSION <text>
  // config get (AWS ElastiCache): one "CONFIG <key> <flags> <size>" unit,
  // read as a VALUE (status value), then END; ERROR from an engine without it
  config,
};

// A reply line whose CRLF does not end within this many bytes is malformed,
// so a server that never sends a line end cannot make the caller buffer
// without bound. VALUE data blocks are not lines and are not limited by it.
inline constexpr std::size_t kMaxReplyLineSize = 4096;

// Parses the first reply unit in `input`.
// - complete: `reply` holds the unit; `consumed` is its size.
// - need_more: `input` ends inside the unit. After a complete VALUE header,
//   `needed` is the whole unit's size and `reply` holds the header (status
//   value, key, flags, cas; data empty), so the caller may receive the data
//   elsewhere; otherwise `reply` is unspecified.
// - malformed: a line that is not a valid reply of the expected kind, a bad
//   number, a data block not followed by CRLF, a VALUE size above
//   `max_value_size`, or no CRLF within kMaxReplyLineSize bytes.
// ERROR, CLIENT_ERROR and SERVER_ERROR are valid for every kind.
ParseResult parse_text_reply(std::string_view input, TextReplyKind expected,
                             std::size_t max_value_size, Reply& reply) noexcept;

// True iff `status` ends a reply of kind `expected`: END or an error for
// retrieval and config; END, OK (stats reset, stats detail on|off) or an error for
// stats; any unit for the other kinds.
constexpr bool ends_reply(TextReplyKind expected, ReplyStatus status) noexcept {
  if (expected == TextReplyKind::retrieval || expected == TextReplyKind::config) {
    return status == ReplyStatus::end || is_error(status);
  }
  if (expected == TextReplyKind::stats) {
    return status == ReplyStatus::end || status == ReplyStatus::ok || is_error(status);
  }
  return true;
}

}  // namespace fastmc::protocol
