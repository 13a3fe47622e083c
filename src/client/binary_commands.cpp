// SPDX-License-Identifier: MIT
#include "client/binary_commands.hpp"

#include <string>

#include "protocol/binary_request.hpp"
#include "protocol/printable.hpp"

namespace fastmc::binary_commands {

using protocol::BinaryOpcode;

std::optional<Error> check_key(std::string_view key) {
  if (protocol::is_valid_binary_key(key)) return std::nullopt;
  return Error{Errc::invalid_key,
               {},
               "invalid key \"" + protocol::printable_excerpt(key) +
                   "\": a binary-protocol key is 1 to 250 bytes (it has " +
                   std::to_string(key.size()) + ")"};
}

void append_retrievals(net::Connection& connection, protocol::RetrievalCommand command,
                       std::int64_t ttl, std::span<const std::string_view> keys) {
  const bool touches =
      command == protocol::RetrievalCommand::gat || command == protocol::RetrievalCommand::gats;
  // The k forms return the key, which matches a hit to its request as the
  // text VALUE line does; every hit carries the cas, so gets needs nothing more.
  for (std::size_t position = 0; position < keys.size(); ++position) {
    const protocol::BinaryRequestOptions options{.opaque = static_cast<std::uint32_t>(position),
                                                 .quiet = true};
    if (touches) {
      protocol::append_binary_gat_request(connection.requests(), keys[position], ttl, true,
                                          options);
    } else {
      protocol::append_binary_get_request(connection.requests(), keys[position], true, options);
    }
  }
  const auto count = static_cast<std::uint32_t>(keys.size());
  protocol::append_binary_noop_request(connection.requests(), count);
  connection.expect_binary_batch(
      touches ? BinaryOpcode::gat_key_quiet : BinaryOpcode::get_key_quiet, count);
}

void append_storage(net::Connection& connection, protocol::StorageCommand command,
                    std::string_view key, std::uint32_t flags, std::int64_t ttl,
                    std::string_view value, std::uint64_t cas, bool quiet) {
  protocol::append_binary_storage_request(connection.requests(), command, key, flags, ttl, value,
                                          cas, {.quiet = quiet});
  if (quiet) return;
  BinaryOpcode opcode = BinaryOpcode::set;
  switch (command) {
    case protocol::StorageCommand::set:
    case protocol::StorageCommand::cas: opcode = BinaryOpcode::set; break;
    case protocol::StorageCommand::add: opcode = BinaryOpcode::add; break;
    case protocol::StorageCommand::replace: opcode = BinaryOpcode::replace; break;
    case protocol::StorageCommand::append: opcode = BinaryOpcode::append; break;
    case protocol::StorageCommand::prepend: opcode = BinaryOpcode::prepend; break;
  }
  connection.expect_binary(opcode, 0);
}

void append_delete(net::Connection& connection, std::string_view key, std::uint32_t opaque,
                   bool quiet) {
  protocol::append_binary_delete_request(connection.requests(), key,
                                         {.opaque = opaque, .quiet = quiet});
  if (!quiet) connection.expect_binary(BinaryOpcode::remove, opaque);
}

void append_arithmetic(net::Connection& connection, protocol::ArithmeticCommand command,
                       std::string_view key, std::uint64_t delta, bool quiet) {
  protocol::append_binary_arithmetic_request(connection.requests(), command, key, delta, 0,
                                             protocol::kBinaryNoAutoCreate, {.quiet = quiet});
  if (quiet) return;
  connection.expect_binary(command == protocol::ArithmeticCommand::incr ? BinaryOpcode::increment
                                                                        : BinaryOpcode::decrement,
                           0);
}

void append_touch(net::Connection& connection, std::string_view key, std::int64_t ttl) {
  protocol::append_binary_touch_request(connection.requests(), key, ttl);
  connection.expect_binary(BinaryOpcode::touch, 0);
}

void append_flush_all(net::Connection& connection, std::uint32_t delay, bool quiet) {
  protocol::append_binary_flush_request(connection.requests(), delay, {.quiet = quiet});
  if (!quiet) connection.expect_binary(BinaryOpcode::flush, 0);
}

void append_stats(net::Connection& connection, std::span<const std::string_view> arguments) {
  std::string group;
  for (const std::string_view argument : arguments) {
    if (!group.empty()) group += ' ';
    group += argument;
  }
  protocol::append_binary_stat_request(connection.requests(), group);
  connection.expect_binary(BinaryOpcode::stat, 0);
}

void append_version(net::Connection& connection) {
  protocol::append_binary_version_request(connection.requests());
  connection.expect_binary(BinaryOpcode::version, 0);
}

void append_set_batch(net::Connection& connection, std::span<const Entry> entries,
                      std::span<const std::size_t> items, bool quiet) {
  for (std::size_t position = 0; position < items.size(); ++position) {
    const Entry& entry = entries[items[position]];
    protocol::append_binary_storage_request(
        connection.requests(), protocol::StorageCommand::set, entry.key, entry.options.flags,
        entry.options.ttl, entry.value, 0,
        {.opaque = static_cast<std::uint32_t>(position), .quiet = true});
  }
  if (quiet) return;
  const auto count = static_cast<std::uint32_t>(items.size());
  protocol::append_binary_noop_request(connection.requests(), count);
  connection.expect_binary_batch(BinaryOpcode::set_quiet, count);
}

}  // namespace fastmc::binary_commands
