// SPDX-License-Identifier: MIT
// Text-protocol request encoders (protocol layer): each appends one complete
// request to a RequestBuffer. Grammar: docs/protocol.md, section "Text".
//
// Requires, for every function: keys already passed check_text_key, and stats
// arguments passed check_text_key too (they are tokens on the same line). The
// encoders never validate; that happens once, before anything is appended, so
// a bad key never leaves half a batch in the buffer.
// Pure functions; thread-safety is the buffer's.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "protocol/request_buffer.hpp"

namespace fastmc::protocol {

enum class RetrievalCommand : std::uint8_t { get, gets, gat, gats };
enum class StorageCommand : std::uint8_t { set, add, replace, append, prepend, cas };
enum class ArithmeticCommand : std::uint8_t { incr, decr };

// "get|gets <key>*" or "gat|gats <ttl> <key>*"; `ttl` is used by gat and gats.
// Requires: keys is not empty.
void append_retrieval_request(RequestBuffer& out, RetrievalCommand command, std::int64_t ttl,
                              std::span<const std::string_view> keys);
void append_retrieval_request(RequestBuffer& out, RetrievalCommand command, std::int64_t ttl,
                              std::string_view key);

// "<command> <key> <flags> <ttl> <size> [<cas>] [noreply]\r\n<value>\r\n";
// `cas` is used by StorageCommand::cas only. The size is the value's own.
void append_storage_request(RequestBuffer& out, StorageCommand command, std::string_view key,
                            std::uint32_t flags, std::int64_t ttl, std::string_view value,
                            std::uint64_t cas, bool noreply);

void append_delete_request(RequestBuffer& out, std::string_view key, bool noreply);
void append_arithmetic_request(RequestBuffer& out, ArithmeticCommand command, std::string_view key,
                               std::uint64_t delta, bool noreply);
void append_touch_request(RequestBuffer& out, std::string_view key, std::int64_t ttl, bool noreply);
// "flush_all [<delay>] [noreply]"; a zero delay is left out.
void append_flush_all_request(RequestBuffer& out, std::uint32_t delay, bool noreply);
// "stats [<argument>*]".
void append_stats_request(RequestBuffer& out, std::span<const std::string_view> arguments);
void append_version_request(RequestBuffer& out);
void append_verbosity_request(RequestBuffer& out, std::uint32_t level, bool noreply);
// "config get <key>": AWS ElastiCache's configuration request (key "cluster"
// for autodiscovery). Requires: key passed check_text_key.
void append_config_get_request(RequestBuffer& out, std::string_view key);

}  // namespace fastmc::protocol
