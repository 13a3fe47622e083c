// SPDX-License-Identifier: MIT
// The binary protocol's 24-byte packet header, its opcodes and its status
// codes (protocol layer). Layout: docs/protocol.md, section "Binary".
//
// Every request and reply starts with this header; all its numbers are
// big-endian, written and read byte by byte here (never by overlaying a
// struct on the bytes), so the code is the same on every host.
// Pure functions over plain data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "protocol/request_buffer.hpp"

namespace fastmc::protocol {

inline constexpr std::size_t kBinaryHeaderSize = 24;
inline constexpr std::uint8_t kBinaryRequestMagic = 0x80;
inline constexpr std::uint8_t kBinaryResponseMagic = 0x81;

// The opcodes memcached 1.6 knows. The quiet forms (suffix `_quiet`) send
// no reply on their nominal outcome: a hit for the gets, success otherwise.
enum class BinaryOpcode : std::uint8_t {
  get = 0x00,
  set = 0x01,
  add = 0x02,
  replace = 0x03,
  remove = 0x04,  // wire: delete
  increment = 0x05,
  decrement = 0x06,
  quit = 0x07,
  flush = 0x08,
  get_quiet = 0x09,
  noop = 0x0a,
  version = 0x0b,
  get_key = 0x0c,
  get_key_quiet = 0x0d,
  append = 0x0e,
  prepend = 0x0f,
  stat = 0x10,
  set_quiet = 0x11,
  add_quiet = 0x12,
  replace_quiet = 0x13,
  remove_quiet = 0x14,
  increment_quiet = 0x15,
  decrement_quiet = 0x16,
  quit_quiet = 0x17,
  flush_quiet = 0x18,
  append_quiet = 0x19,
  prepend_quiet = 0x1a,
  verbosity = 0x1b,
  touch = 0x1c,
  gat = 0x1d,
  gat_quiet = 0x1e,
  sasl_list_mechanisms = 0x20,
  sasl_auth = 0x21,
  sasl_step = 0x22,
  gat_key = 0x23,
  gat_key_quiet = 0x24,
};

// True iff `opcode` is one of the values above.
bool is_known_opcode(std::uint8_t opcode) noexcept;

// Reply status codes. memcached's protocol_binary.h, not protocol-binary.txt,
// is the authority for the two SASL codes: the text lists 0x08 and 0x09, the
// server sends 0x20 and 0x21 (checked against 1.6.18).
enum class BinaryStatus : std::uint16_t {
  no_error = 0x0000,
  key_not_found = 0x0001,
  key_exists = 0x0002,
  value_too_large = 0x0003,
  invalid_arguments = 0x0004,
  item_not_stored = 0x0005,
  non_numeric_value = 0x0006,  // incr/decr on a value that is not a number
  wrong_server = 0x0007,       // "vbucket belongs to another server"
  auth_error = 0x0020,
  auth_continue = 0x0021,
  unknown_command = 0x0081,
  out_of_memory = 0x0082,
  not_supported = 0x0083,
  internal_error = 0x0084,
  busy = 0x0085,
  temporary_failure = 0x0086,
};

struct BinaryHeader {
  std::uint8_t magic = kBinaryRequestMagic;
  std::uint8_t opcode = 0;
  std::uint16_t key_size = 0;
  std::uint8_t extras_size = 0;
  std::uint8_t data_type = 0;   // always 0 (raw bytes)
  std::uint16_t status = 0;     // replies; "vbucket id" in requests, sent as 0
  std::uint32_t body_size = 0;  // extras + key + value
  std::uint32_t opaque = 0;     // echoed by the server in the reply
  std::uint64_t cas = 0;
};

// Appends the 24 header bytes.
void append_binary_header(RequestBuffer& out, const BinaryHeader& header);
// Decodes a header. Requires: `bytes` holds at least kBinaryHeaderSize bytes.
BinaryHeader decode_binary_header(std::string_view bytes) noexcept;

// Big-endian helpers for the extras fields.
void append_big_endian(RequestBuffer& out, std::uint64_t value, std::size_t size);
// Requires: `bytes` holds at least `size` (<= 8) bytes.
std::uint64_t read_big_endian(std::string_view bytes, std::size_t size) noexcept;

}  // namespace fastmc::protocol
