// SPDX-License-Identifier: MIT
// Binary-protocol request encoders (protocol layer): each appends one
// complete request packet to a RequestBuffer. Layout of every packet:
// docs/protocol.md, section "Binary".
//
// Every request carries an `opaque` the server echoes in its reply, so the
// caller can tell which request a reply answers; a quiet request (`quiet`)
// gets a reply only when it fails (or, for the gets, only on a hit), so a
// batch of them ends with a noop whose reply says every earlier request has
// been answered.
//
// Requires, for every function: the key is 1 to kMaxKeySize bytes (any
// bytes: the binary protocol frames keys by length) and the value is at
// most 2^32 - 1 - 280 bytes; a ttl is at most 2^32 - 1. A negative ttl is
// sent as 2592001 (30 days + 1 s, an absolute time long past), which is how
// memcached itself expires an item given a negative text ttl: binary has no
// negative expiration. The encoders never validate. Values of
// RequestBuffer::kBorrowThreshold bytes or more are borrowed, not copied.
// Pure functions; thread-safety is the buffer's.
#pragma once

#include <cstdint>
#include <string_view>

#include "protocol/binary_header.hpp"
#include "protocol/key.hpp"
#include "protocol/request_buffer.hpp"
#include "protocol/text_request.hpp"

namespace fastmc::protocol {

// The ttl that makes incr and decr fail on a missing key (status
// key_not_found) instead of creating it with the initial value.
inline constexpr std::uint32_t kBinaryNoAutoCreate = 0xffffffff;

// True iff `key` can be sent over the binary protocol: 1 to kMaxKeySize
// bytes, any bytes (spaces, control bytes and NUL included), since the
// packet carries the key's length rather than delimiting it.
constexpr bool is_valid_binary_key(std::string_view key) noexcept {
  return !key.empty() && key.size() <= kMaxKeySize;
}

struct BinaryRequestOptions {
  std::uint32_t opaque = 0;
  bool quiet = false;
};

// get / getq / getk / getkq: `with_key` asks for the key in the reply.
void append_binary_get_request(RequestBuffer& out, std::string_view key, bool with_key,
                               BinaryRequestOptions options = {});
// gat / gatq / gatk / gatkq: a get that also sets the item's ttl.
void append_binary_gat_request(RequestBuffer& out, std::string_view key, std::int64_t ttl,
                               bool with_key, BinaryRequestOptions options = {});
// set, add, replace (extras: flags, ttl), append, prepend (no extras: the
// item keeps its flags and ttl). StorageCommand::cas is a set carrying the
// cas; a non-zero `cas` on any other command also makes it conditional.
void append_binary_storage_request(RequestBuffer& out, StorageCommand command, std::string_view key,
                                   std::uint32_t flags, std::int64_t ttl, std::string_view value,
                                   std::uint64_t cas, BinaryRequestOptions options = {});
void append_binary_delete_request(RequestBuffer& out, std::string_view key,
                                  BinaryRequestOptions options = {});
// incr / decr. A missing key is created holding `initial` with `ttl`, unless
// `ttl` is kBinaryNoAutoCreate (the text protocol's behaviour: not found).
void append_binary_arithmetic_request(RequestBuffer& out, ArithmeticCommand command,
                                      std::string_view key, std::uint64_t delta,
                                      std::uint64_t initial, std::uint32_t ttl,
                                      BinaryRequestOptions options = {});
void append_binary_touch_request(RequestBuffer& out, std::string_view key, std::int64_t ttl,
                                 BinaryRequestOptions options = {});
// flush with a delay in seconds (0: now).
void append_binary_flush_request(RequestBuffer& out, std::uint32_t delay,
                                 BinaryRequestOptions options = {});
void append_binary_noop_request(RequestBuffer& out, std::uint32_t opaque = 0);
// The noop that fences off quiet requests sent fire and forget (see
// net/connection.hpp), as bytes, and memcached's whole reply to it: every
// reply before that one answers a quiet request. Its opaque,
// kBinaryFenceOpaque, is one no batch gives its own noop in practice (a
// batch's noop carries its request count).
inline constexpr std::uint32_t kBinaryFenceOpaque = 0xffffffff;
inline constexpr std::string_view kBinaryFenceRequest{
    "\x80\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"
    "\x00\x00\x00\x00\x00\x00\x00\x00",
    kBinaryHeaderSize};
inline constexpr std::string_view kBinaryFenceReply{
    "\x81\x0a\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff"
    "\x00\x00\x00\x00\x00\x00\x00\x00",
    kBinaryHeaderSize};
void append_binary_version_request(RequestBuffer& out, std::uint32_t opaque = 0);
void append_binary_verbosity_request(RequestBuffer& out, std::uint32_t level,
                                     std::uint32_t opaque = 0);
// stat with an optional group ("settings", "items", "slabs", "reset", ...);
// answered by one reply per statistic and an empty one at the end.
void append_binary_stat_request(RequestBuffer& out, std::string_view group,
                                std::uint32_t opaque = 0);
void append_binary_quit_request(RequestBuffer& out, BinaryRequestOptions options = {});
// SASL (RFC 4422) over the binary protocol: list the server's mechanisms;
// start with a mechanism and the client's first message; continue with the
// next message after an auth_continue reply.
void append_binary_sasl_list_request(RequestBuffer& out, std::uint32_t opaque = 0);
void append_binary_sasl_auth_request(RequestBuffer& out, std::string_view mechanism,
                                     std::string_view data, std::uint32_t opaque = 0);
void append_binary_sasl_step_request(RequestBuffer& out, std::string_view mechanism,
                                     std::string_view data, std::uint32_t opaque = 0);

}  // namespace fastmc::protocol
