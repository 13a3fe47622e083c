// SPDX-License-Identifier: MIT
// Request grammar and the memcached behaviour behind each choice:
// docs/protocol.md, section "Text".
#include "protocol/text_request.hpp"

#include <cassert>

namespace fastmc::protocol {
namespace {

constexpr std::string_view kLineEnd = "\r\n";

std::string_view name_of(RetrievalCommand command) noexcept {
  switch (command) {
    case RetrievalCommand::get: return "get";
    case RetrievalCommand::gets: return "gets";
    case RetrievalCommand::gat: return "gat";
    case RetrievalCommand::gats: return "gats";
  }
  return "get";
}

std::string_view name_of(StorageCommand command) noexcept {
  switch (command) {
    case StorageCommand::set: return "set";
    case StorageCommand::add: return "add";
    case StorageCommand::replace: return "replace";
    case StorageCommand::append: return "append";
    case StorageCommand::prepend: return "prepend";
    case StorageCommand::cas: return "cas";
  }
  return "set";
}

bool takes_ttl(RetrievalCommand command) noexcept {
  return command == RetrievalCommand::gat || command == RetrievalCommand::gats;
}

// "noreply" must be the last token: memcached only looks for it there.
void end_line(RequestBuffer& out, bool noreply) {
  if (noreply) {
    out.append(" noreply");
  }
  out.append(kLineEnd);
}

void begin_retrieval(RequestBuffer& out, RetrievalCommand command, std::int64_t ttl) {
  out.append(name_of(command));
  if (takes_ttl(command)) {
    out.append(' ');
    out.append_signed_decimal(ttl);
  }
}

}  // namespace

void append_retrieval_request(RequestBuffer& out, RetrievalCommand command, std::int64_t ttl,
                              std::span<const std::string_view> keys) {
  assert(!keys.empty());
  begin_retrieval(out, command, ttl);
  for (const std::string_view key : keys) {
    out.append(' ');
    out.append(key);
  }
  out.append(kLineEnd);
}

void append_retrieval_request(RequestBuffer& out, RetrievalCommand command, std::int64_t ttl,
                              std::string_view key) {
  begin_retrieval(out, command, ttl);
  out.append(' ');
  out.append(key);
  out.append(kLineEnd);
}

void append_storage_request(RequestBuffer& out, StorageCommand command, std::string_view key,
                            std::uint32_t flags, std::int64_t ttl, std::string_view value,
                            std::uint64_t cas, bool noreply) {
  out.append(name_of(command));
  out.append(' ');
  out.append(key);
  out.append(' ');
  out.append_decimal(flags);
  out.append(' ');
  out.append_signed_decimal(ttl);
  out.append(' ');
  out.append_decimal(value.size());
  if (command == StorageCommand::cas) {
    out.append(' ');
    out.append_decimal(cas);
  }
  end_line(out, noreply);
  out.append_value(value);
  out.append(kLineEnd);
}

void append_delete_request(RequestBuffer& out, std::string_view key, bool noreply) {
  out.append("delete ");
  out.append(key);
  end_line(out, noreply);
}

void append_arithmetic_request(RequestBuffer& out, ArithmeticCommand command, std::string_view key,
                               std::uint64_t delta, bool noreply) {
  out.append(command == ArithmeticCommand::incr ? "incr " : "decr ");
  out.append(key);
  out.append(' ');
  out.append_decimal(delta);
  end_line(out, noreply);
}

void append_touch_request(RequestBuffer& out, std::string_view key, std::int64_t ttl,
                          bool noreply) {
  out.append("touch ");
  out.append(key);
  out.append(' ');
  out.append_signed_decimal(ttl);
  end_line(out, noreply);
}

void append_flush_all_request(RequestBuffer& out, std::uint32_t delay, bool noreply) {
  out.append("flush_all");
  // memcached reads a missing delay as 0 (flush now), so 0 needs no token.
  if (delay != 0) {
    out.append(' ');
    out.append_decimal(delay);
  }
  end_line(out, noreply);
}

void append_stats_request(RequestBuffer& out, std::span<const std::string_view> arguments) {
  out.append("stats");
  for (const std::string_view argument : arguments) {
    out.append(' ');
    out.append(argument);
  }
  out.append(kLineEnd);
}

void append_version_request(RequestBuffer& out) { out.append("version\r\n"); }

void append_verbosity_request(RequestBuffer& out, std::uint32_t level, bool noreply) {
  out.append("verbosity ");
  out.append_decimal(level);
  end_line(out, noreply);
}

void append_config_get_request(RequestBuffer& out, std::string_view key) {
  out.append("config get ");
  out.append(key);
  out.append(kLineEnd);
}

}  // namespace fastmc::protocol
