// SPDX-License-Identifier: MIT
// The binary protocol's side of fastmc::Client (client layer): each function
// appends one command's binary request(s) to a connection together with the
// replies it expects, so src/client.cpp runs, retries and interprets binary
// commands with the same code as text ones.
//
// The seam: wherever client.cpp encodes a text request and declares its
// TextReplyKind, it calls the matching function here instead when
// ClientOptions::protocol is "binary" (Engine::is_binary()). The replies need no translation: the
// binary parser maps every outcome onto the status the text protocol gives
// it (protocol/binary_reply_parser.hpp), so a set answers `stored`, a
// delete `deleted`, and so on. What differs is shape, not meaning:
//   - retrievals are one quiet batch (getkq or gatkq per key, then a noop):
//     hits come back with their key, misses not at all, and the noop's reply
//     (status noop) ends the batch where text has END;
//   - set_many is one quiet batch of setq (then a noop): only failures
//     answer, each naming its entry by opaque (Connection::reply_opaque);
//   - noreply (fire and forget) writes append the quiet opcode (setq,
//     addq, deleteq, incrq, flushq, ...) and expect nothing: the caller
//     declares them with Connection::send_quietly(count, Fence::binary),
//     and a noop fences them off from the next replies read. Binary has
//     no quiet touch, so a noreply touch is sent answered.
// SASL is not here: net::Connection authenticates each new connection
// (ConnectionOptions::Authentication::sasl) before its first request.
//
// Thread-safety: free functions over the caller's connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include <fastmc/client.hpp>

#include "net/connection.hpp"
#include "protocol/text_request.hpp"

namespace fastmc::binary_commands {

// invalid_key unless `key` is 1 to 250 bytes; any bytes are allowed.
std::optional<Error> check_key(std::string_view key);

// get, gets, gat, gats of `keys` as one quiet batch ending with a noop.
// Requires: keys is not empty and holds at most 2^32 - 1 keys.
void append_retrievals(net::Connection& connection, protocol::RetrievalCommand command,
                       std::int64_t ttl, std::span<const std::string_view> keys);
// The writes below expect one reply, or, when `quiet`, none: they go as the
// quiet opcode, answered only on failure (see above).
//
// set, add, replace, append, prepend, or cas (with `cas`).
void append_storage(net::Connection& connection, protocol::StorageCommand command,
                    std::string_view key, std::uint32_t flags, std::int64_t ttl,
                    std::string_view value, std::uint64_t cas, bool quiet);
void append_delete(net::Connection& connection, std::string_view key, std::uint32_t opaque,
                   bool quiet);
// incr, decr; a missing key is not found (not created), as in text.
void append_arithmetic(net::Connection& connection, protocol::ArithmeticCommand command,
                       std::string_view key, std::uint64_t delta, bool quiet);
// Always answered: the binary protocol has no quiet touch.
void append_touch(net::Connection& connection, std::string_view key, std::int64_t ttl);
void append_flush_all(net::Connection& connection, std::uint32_t delay, bool quiet);
// The binary stat request takes one group: the arguments joined by spaces
// ("settings", "items", "slabs", "detail dump", ...).
void append_stats(net::Connection& connection, std::span<const std::string_view> arguments);
void append_version(net::Connection& connection);
// set of entries[items[i]] for each i as setq with opaque i, then a noop;
// when `quiet` (fire and forget), the setqs alone, expecting nothing.
// Requires: items is not empty.
void append_set_batch(net::Connection& connection, std::span<const Entry> entries,
                      std::span<const std::size_t> items, bool quiet);

}  // namespace fastmc::binary_commands
