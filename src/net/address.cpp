// SPDX-License-Identifier: MIT
#include "net/address.hpp"

#include <algorithm>
#include <charconv>

namespace fastmc::net {
namespace {

bool parse_port(std::string_view text, std::uint16_t& port) {
  unsigned value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end || value == 0 || value > 65535) return false;
  port = static_cast<std::uint16_t>(value);
  return true;
}

bool has_whitespace_or_control(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

}  // namespace

std::string Address::name() const {
  if (kind == Kind::unix_socket) return path;
  std::string result;
  const bool v6 = host.find(':') != std::string::npos;
  if (v6) result += '[';
  result += host;
  if (v6) result += ']';
  result += ':';
  result += std::to_string(port);
  return result;
}

std::optional<Address> parse_address(std::string_view text, std::string& problem) {
  Address address;
  const std::string quoted = "server \"" + std::string(text) + "\"";
  if (text.empty()) {
    problem = "empty server address";
    return std::nullopt;
  }
  if (text.starts_with("unix:")) text.remove_prefix(5);
  if (text.starts_with('/')) {
    if (text.size() < 2 || text.find('\0') != std::string_view::npos) {
      problem = quoted + ": not a valid unix socket path";
      return std::nullopt;
    }
    address.kind = Address::Kind::unix_socket;
    address.path = std::string(text);
    return address;
  }
  if (has_whitespace_or_control(text)) {
    problem = quoted + ": contains a space or control character";
    return std::nullopt;
  }
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close == 1) {
      problem = quoted + ": unterminated or empty [IPv6] literal";
      return std::nullopt;
    }
    address.host = std::string(text.substr(1, close - 1));
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':' || !parse_port(rest.substr(1), address.port)) {
        problem = quoted + ": expected :port (1-65535) after the IPv6 literal";
        return std::nullopt;
      }
    }
    return address;
  }
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons > 1) {  // a bare IPv6 literal such as ::1 cannot carry a port
    address.host = std::string(text);
    return address;
  }
  const auto colon = text.find(':');
  address.host = std::string(text.substr(0, colon));
  if (address.host.empty()) {
    problem = quoted + ": missing host";
    return std::nullopt;
  }
  if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), address.port)) {
    problem = quoted + ": port must be a number from 1 to 65535";
    return std::nullopt;
  }
  return address;
}

}  // namespace fastmc::net
