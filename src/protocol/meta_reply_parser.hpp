// SPDX-License-Identifier: MIT
// Meta-protocol reply parser (protocol layer). Grammar: docs/protocol.md,
// section "Meta".
//
// Meta replies are self-describing: every reply is one unit that starts with
// a two-letter code (HD, VA, EN, NS, EX, NF, MN, ME) or is an error line, so
// unlike the text parser this one is not told what to expect. The return
// flags are collected into Reply::meta_flags (one bit per letter, as
// memcached's mcmc does) and their values into the Reply fields; see
// reply.hpp for the mapping of codes to ReplyStatus.
//
// Matching replies to requests is the caller's job. Without q, replies come
// in request order. With q, the nominal replies are left out, so the caller
// ends a quiet pipeline with mn (whose MN says every earlier request has been
// answered) and matches each reply that does come by its `opaque` (O) or
// `key` (k) token; a quiet request with no reply before the MN got the
// suppressed one. Error lines carry neither token (docs/protocol.md,
// "Quiet mode").
//
// The parser is a pure function over a byte span: it never touches a socket,
// never allocates, and gives the same result however the input was split
// across reads (the tests feed every split; the fuzzer checks it too).
// Thread-safety: pure. Lifetime: views in the Reply point into `input`.
#pragma once

#include <cstddef>
#include <string_view>

#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace fastmc::protocol {

// A reply line whose CRLF does not end within this many bytes is malformed,
// so a server that never ends its line cannot make the caller buffer without
// bound. The longest legitimate line (ME, or a VA with a 250-byte key, a
// 32-byte opaque and every numeric flag) is under 500 bytes. VA data blocks
// are not lines and are not limited by it.
inline constexpr std::size_t kMaxMetaReplyLineSize = 4096;

// Parses the first reply in `input`.
// - complete: `reply` holds it; `consumed` is its size.
// - need_more: `input` ends inside the reply. After a complete VA header,
//   `needed` is the whole reply's size and `reply` holds the header (status
//   value, its return flags; data empty), so the caller may receive the data
//   elsewhere; otherwise `reply` is left unchanged.
// On malformed, `reply` is left unchanged.
// - malformed: an unknown code, a line not exactly in the grammar (single
//   spaces, no trailing space, CRLF), a flag that is not a letter, a flag
//   repeated, a bad value for a flag whose value the parser reads (b W X Z
//   with a token, c f l s t not decimal or out of range, h not 0 or 1, k empty
//   or over 250 bytes, O over 32 bytes), an ME pair without "=", a VA size
//   above `max_value_size`, a data block not followed by CRLF, or no CRLF
//   within kMaxMetaReplyLineSize bytes.
// Flags with other letters are recorded in meta_flags and their tokens
// ignored, so a newer server's extra flags do not break the connection.
ParseResult parse_meta_reply(std::string_view input, std::size_t max_value_size,
                             Reply& reply) noexcept;

}  // namespace fastmc::protocol
