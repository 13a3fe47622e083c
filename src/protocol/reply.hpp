// SPDX-License-Identifier: MIT
// Reply: one parsed reply unit from a memcached server (protocol layer).
//
// A unit is one line, or one VALUE line with its data block. Replies that span
// several units (a multi-key get, stats) are read as a sequence of units ending
// with `end` or an error. The text and meta parsers fill it, and the binary
// parser fills the same struct, so the layers above stay protocol-agnostic.
//
// Meta replies (docs/protocol.md, "Meta") are one unit each and map onto it so:
//   HD -> done         VA -> value        EN -> miss         MN -> noop
//   NS -> not_stored   EX -> exists       NF -> not_found    ME -> debug
// HD gets a status of its own because its meaning depends on the command it
// answers (ms stored, md deleted or invalidated, ma applied, mg hit without a
// value) and the meta parser, unlike the text one, is not told the command:
// reusing `stored` would make a successful md read as a store. The caller
// knows what it sent; `done` plus the command is the meaning. NS, EX and NF
// mean what NOT_STORED, EXISTS and NOT_FOUND mean, so they reuse those.
// A meta reply's return flags are in `meta_flags`, and their values in the
// "Meta only" fields below and in key (k), flags (f) and cas (c).
//
// Binary replies carry their opcode and status code; the binary parser maps
// them onto the status the text protocol gives the same outcome (a set's
// success is `stored`, a delete's `deleted`, a get's miss `miss`, ...; see
// binary_reply_parser.hpp), keeping the raw code in `binary_status`.
//
// Thread-safety: plain data. Lifetime: `key`, `data` and `opaque` view the
// buffer handed to the parser and are valid until that buffer is changed.
#pragma once

#include <cstdint>
#include <string_view>

namespace fastmc::protocol {

enum class ReplyStatus : std::uint8_t {
  value,         // one item of a retrieval reply; more units follow until `end`
  end,           // end of a retrieval or stats reply
  stored,        // storage command succeeded
  not_stored,    // add/replace/append/prepend condition not met
  exists,        // cas: the item changed since it was read
  not_found,     // no such item (cas, delete, incr/decr, touch)
  deleted,       // delete succeeded
  touched,       // touch succeeded
  ok,            // flush_all, verbosity
  number,        // incr/decr result, in `number`
  stat,          // one statistic: `key` is its name, `data` its value
  version,       // `data` holds the server's version string
  error,         // "ERROR": the server did not recognise the command
  client_error,  // "CLIENT_ERROR <message>": `data` holds the message
  server_error,  // "SERVER_ERROR <message>": `data` holds the message
  done,          // meta "HD": the command succeeded (see above for what it did)
  miss,          // meta "EN": mg or me found no item
  noop,          // meta "MN": answers mn; every earlier request has been answered
  debug,         // meta "ME": `key` is the item's key, `data` its "name=value" pairs

  // Binary SASL outcomes (and 0x20 to any request on an unauthenticated connection).
  auth_error,     // 0x20: the server refused the credentials, or needs some
  auth_continue,  // 0x21: SASL needs another step; `data` is the server's challenge
};

// The bit of meta return flag `letter` in Reply::meta_flags: bit (letter - 'A'),
// the layout of memcached's mcmc client, so 'A'..'Z' are bits 0..25 and
// 'a'..'z' bits 32..57. 0 for a byte that is not an ASCII letter.
constexpr std::uint64_t meta_flag_bit(char letter) noexcept {
  const bool is_letter = (letter >= 'A' && letter <= 'Z') || (letter >= 'a' && letter <= 'z');
  return is_letter ? std::uint64_t{1} << (letter - 'A') : 0;
}

struct Reply {
  ReplyStatus status = ReplyStatus::end;
  // value: the item's key; stat: the statistic's name; meta: the k token (the
  // key base64-encoded iff has_flag('b')) or the key of an ME reply.
  std::string_view key;
  // value bytes (text VALUE or meta VA; after ma with v, the new number in
  // decimal), stat value, version, ME pairs, or error message.
  std::string_view data;
  std::uint32_t flags = 0;   // client flags (text VALUE, meta f)
  std::uint64_t cas = 0;     // set iff has_cas (gets, gats, meta c)
  std::uint64_t number = 0;  // arithmetic result
  bool has_cas = false;

  // Meta only; each field is set iff its flag's bit is in meta_flags.
  std::uint64_t meta_flags = 0;   // meta_flag_bit(letter) of every return flag present
  std::string_view opaque;        // O: the request's opaque token, echoed (may be empty)
  std::int64_t ttl = 0;           // t: seconds until the item expires; -1 = never
  std::uint64_t size = 0;         // s: the item's value size in bytes
  std::uint64_t last_access = 0;  // l: seconds since the item was last accessed
  bool hit_before = false;        // h: the item had been fetched before this request

  // Binary only.
  std::uint32_t binary_opaque = 0;  // the request's opaque, echoed
  std::uint16_t binary_status = 0;  // the raw status code (protocol::BinaryStatus)
  std::uint8_t binary_opcode = 0;   // the opcode of the request answered

  // True iff the meta reply carried return flag `letter` (W: won the right to
  // recache, X: stale, Z: another client already won, b: key is base64, ...).
  [[nodiscard]] constexpr bool has_flag(char letter) const noexcept {
    return (meta_flags & meta_flag_bit(letter)) != 0;
  }
};

// True iff the status is one of the three error replies, or a binary
// authentication error; each ends any reply.
constexpr bool is_error(ReplyStatus status) noexcept {
  return status == ReplyStatus::error || status == ReplyStatus::client_error ||
         status == ReplyStatus::server_error || status == ReplyStatus::auth_error;
}

// A short stable name for logs and error messages ("stored", "not_found", ...).
std::string_view name_of(ReplyStatus status) noexcept;

}  // namespace fastmc::protocol
