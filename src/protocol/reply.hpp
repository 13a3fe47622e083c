// SPDX-License-Identifier: MIT
// Reply: one parsed reply unit from a memcached server (protocol layer).
//
// A unit is one line, or one VALUE line with its data block. Replies that span
// several units (a multi-key get, stats) are read as a sequence of units ending
// with `end` or an error. The text parser fills it today; the meta and binary
// parsers fill the same struct so the layers above stay protocol-agnostic.
//
// Thread-safety: plain data. Lifetime: `key` and `data` view the buffer handed
// to the parser and are valid until that buffer is changed.
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
};

struct Reply {
  ReplyStatus status = ReplyStatus::end;
  std::string_view key;   // value: the item's key; stat: the statistic's name
  std::string_view data;  // value bytes, stat value, version, or error message
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;     // set iff has_cas (gets, gats)
  std::uint64_t number = 0;  // arithmetic result
  bool has_cas = false;
};

// True iff the status is one of the three error replies, which end any reply.
constexpr bool is_error(ReplyStatus status) noexcept {
  return status == ReplyStatus::error || status == ReplyStatus::client_error ||
         status == ReplyStatus::server_error;
}

// A short stable name for logs and error messages ("stored", "not_found", ...).
std::string_view name_of(ReplyStatus status) noexcept;

}  // namespace fastmc::protocol
