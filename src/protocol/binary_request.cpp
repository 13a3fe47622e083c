// SPDX-License-Identifier: MIT
#include "protocol/binary_request.hpp"

namespace fastmc::protocol {
namespace {

// Appends a header for `opcode` with the sizes of the parts that follow it.
void append_header(RequestBuffer& out, BinaryOpcode opcode, std::size_t extras_size,
                   std::string_view key, std::size_t value_size, std::uint32_t opaque,
                   std::uint64_t cas = 0) {
  append_binary_header(
      out, BinaryHeader{
               .magic = kBinaryRequestMagic,
               .opcode = static_cast<std::uint8_t>(opcode),
               .key_size = static_cast<std::uint16_t>(key.size()),
               .extras_size = static_cast<std::uint8_t>(extras_size),
               .body_size = static_cast<std::uint32_t>(extras_size + key.size() + value_size),
               .opaque = opaque,
               .cas = cas,
           });
}

BinaryOpcode quiet_if(bool quiet, BinaryOpcode loud, BinaryOpcode silent) {
  return quiet ? silent : loud;
}

// The binary expiration is unsigned: memcached would read -1 as a Unix time
// in 2106. A negative ttl means "expire at once" in the text protocol, which
// memcached implements by turning it into 30 days + 1 s, an absolute time in
// 1970; sending that keeps the meaning over binary (checked against 1.6.18).
constexpr std::uint32_t kExpiredTtl = 30 * 24 * 60 * 60 + 1;

std::uint32_t wire_ttl(std::int64_t ttl) {
  return ttl < 0 ? kExpiredTtl : static_cast<std::uint32_t>(ttl);
}

// A request whose only body is the key.
void append_key_only(RequestBuffer& out, BinaryOpcode opcode, std::string_view key,
                     std::uint32_t opaque) {
  append_header(out, opcode, 0, key, 0, opaque);
  out.append(key);
}

}  // namespace

void append_binary_get_request(RequestBuffer& out, std::string_view key, bool with_key,
                               BinaryRequestOptions options) {
  const BinaryOpcode opcode =
      with_key ? quiet_if(options.quiet, BinaryOpcode::get_key, BinaryOpcode::get_key_quiet)
               : quiet_if(options.quiet, BinaryOpcode::get, BinaryOpcode::get_quiet);
  append_key_only(out, opcode, key, options.opaque);
}

void append_binary_gat_request(RequestBuffer& out, std::string_view key, std::int64_t ttl,
                               bool with_key, BinaryRequestOptions options) {
  const BinaryOpcode opcode =
      with_key ? quiet_if(options.quiet, BinaryOpcode::gat_key, BinaryOpcode::gat_key_quiet)
               : quiet_if(options.quiet, BinaryOpcode::gat, BinaryOpcode::gat_quiet);
  append_header(out, opcode, 4, key, 0, options.opaque);
  append_big_endian(out, wire_ttl(ttl), 4);
  out.append(key);
}

void append_binary_storage_request(RequestBuffer& out, StorageCommand command, std::string_view key,
                                   std::uint32_t flags, std::int64_t ttl, std::string_view value,
                                   std::uint64_t cas, BinaryRequestOptions options) {
  BinaryOpcode opcode = BinaryOpcode::set;
  bool has_extras = true;
  switch (command) {
    case StorageCommand::set:
    case StorageCommand::cas:
      opcode = quiet_if(options.quiet, BinaryOpcode::set, BinaryOpcode::set_quiet);
      break;
    case StorageCommand::add:
      opcode = quiet_if(options.quiet, BinaryOpcode::add, BinaryOpcode::add_quiet);
      break;
    case StorageCommand::replace:
      opcode = quiet_if(options.quiet, BinaryOpcode::replace, BinaryOpcode::replace_quiet);
      break;
    case StorageCommand::append:
      opcode = quiet_if(options.quiet, BinaryOpcode::append, BinaryOpcode::append_quiet);
      has_extras = false;
      break;
    case StorageCommand::prepend:
      opcode = quiet_if(options.quiet, BinaryOpcode::prepend, BinaryOpcode::prepend_quiet);
      has_extras = false;
      break;
  }
  append_header(out, opcode, has_extras ? 8 : 0, key, value.size(), options.opaque, cas);
  if (has_extras) {
    append_big_endian(out, flags, 4);
    append_big_endian(out, wire_ttl(ttl), 4);
  }
  out.append(key);
  out.append_value(value);
}

void append_binary_delete_request(RequestBuffer& out, std::string_view key,
                                  BinaryRequestOptions options) {
  append_key_only(out, quiet_if(options.quiet, BinaryOpcode::remove, BinaryOpcode::remove_quiet),
                  key, options.opaque);
}

void append_binary_arithmetic_request(RequestBuffer& out, ArithmeticCommand command,
                                      std::string_view key, std::uint64_t delta,
                                      std::uint64_t initial, std::uint32_t ttl,
                                      BinaryRequestOptions options) {
  const BinaryOpcode opcode =
      command == ArithmeticCommand::incr
          ? quiet_if(options.quiet, BinaryOpcode::increment, BinaryOpcode::increment_quiet)
          : quiet_if(options.quiet, BinaryOpcode::decrement, BinaryOpcode::decrement_quiet);
  append_header(out, opcode, 20, key, 0, options.opaque);
  append_big_endian(out, delta, 8);
  append_big_endian(out, initial, 8);
  append_big_endian(out, ttl, 4);
  out.append(key);
}

void append_binary_touch_request(RequestBuffer& out, std::string_view key, std::int64_t ttl,
                                 BinaryRequestOptions options) {
  // memcached has no quiet touch; `quiet` is ignored.
  append_header(out, BinaryOpcode::touch, 4, key, 0, options.opaque);
  append_big_endian(out, wire_ttl(ttl), 4);
  out.append(key);
}

void append_binary_flush_request(RequestBuffer& out, std::uint32_t delay,
                                 BinaryRequestOptions options) {
  append_header(out, quiet_if(options.quiet, BinaryOpcode::flush, BinaryOpcode::flush_quiet), 4, {},
                0, options.opaque);
  append_big_endian(out, delay, 4);
}

void append_binary_noop_request(RequestBuffer& out, std::uint32_t opaque) {
  append_header(out, BinaryOpcode::noop, 0, {}, 0, opaque);
}

void append_binary_version_request(RequestBuffer& out, std::uint32_t opaque) {
  append_header(out, BinaryOpcode::version, 0, {}, 0, opaque);
}

void append_binary_verbosity_request(RequestBuffer& out, std::uint32_t level,
                                     std::uint32_t opaque) {
  append_header(out, BinaryOpcode::verbosity, 4, {}, 0, opaque);
  append_big_endian(out, level, 4);
}

void append_binary_stat_request(RequestBuffer& out, std::string_view group, std::uint32_t opaque) {
  append_key_only(out, BinaryOpcode::stat, group, opaque);
}

void append_binary_quit_request(RequestBuffer& out, BinaryRequestOptions options) {
  append_header(out, quiet_if(options.quiet, BinaryOpcode::quit, BinaryOpcode::quit_quiet), 0, {},
                0, options.opaque);
}

void append_binary_sasl_list_request(RequestBuffer& out, std::uint32_t opaque) {
  append_header(out, BinaryOpcode::sasl_list_mechanisms, 0, {}, 0, opaque);
}

void append_binary_sasl_auth_request(RequestBuffer& out, std::string_view mechanism,
                                     std::string_view data, std::uint32_t opaque) {
  append_header(out, BinaryOpcode::sasl_auth, 0, mechanism, data.size(), opaque);
  out.append(mechanism);
  out.append(data);
}

void append_binary_sasl_step_request(RequestBuffer& out, std::string_view mechanism,
                                     std::string_view data, std::uint32_t opaque) {
  append_header(out, BinaryOpcode::sasl_step, 0, mechanism, data.size(), opaque);
  out.append(mechanism);
  out.append(data);
}

}  // namespace fastmc::protocol
