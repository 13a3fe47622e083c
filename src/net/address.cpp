// SPDX-License-Identifier: MIT
#include "net/address.hpp"

#include <algorithm>
#include <cctype>
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

// Host names and IPv4 literals: letters, digits, '-', '.', '_'. Inside
// brackets also ':' and an IPv6 zone's '%' ("[fe80::1%eth0]").
bool is_host_text(std::string_view text, bool bracketed) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_' ||
           (bracketed && (c == ':' || c == '%'));
  });
}

// `text` as errors show it: a scheme form's userinfo (a password) hidden.
std::string shown(std::string_view text) {
  const auto scheme_end = text.find("://");
  const auto at = text.rfind('@');
  if (scheme_end == std::string_view::npos || at == std::string_view::npos || at < scheme_end) {
    return std::string(text);
  }
  return std::string(text.substr(0, scheme_end + 3)) + "..." + std::string(text.substr(at));
}

// RFC 3986 percent-decoding; false on a malformed escape.
bool percent_decode(std::string_view text, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    unsigned value = 0;
    if (i + 2 >= text.size()) return false;
    const auto [ptr, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
    if (ec != std::errc() || ptr != text.data() + i + 3) return false;
    out += static_cast<char>(value);
    i += 2;
  }
  return true;
}

// "tls://..." or "tcp://...", with optional "user:password@" before the host.
std::optional<Address> parse_scheme_address(std::string_view text, std::size_t scheme_end,
                                            std::string& problem) {
  const std::string_view scheme = text.substr(0, scheme_end);
  Address::Transport transport;
  if (scheme == "tls") {
    transport = Address::Transport::tls;
  } else if (scheme == "tcp") {
    transport = Address::Transport::plain;
  } else {
    problem = "server \"" + shown(text) + "\": unknown scheme (tls:// or tcp://)";
    return std::nullopt;
  }
  std::string_view rest = text.substr(scheme_end + 3);
  std::string username;
  std::string password;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    // Nothing of the userinfo goes into a message: it holds a password.
    const std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos || colon == 0 ||
        !percent_decode(userinfo.substr(0, colon), username) ||
        !percent_decode(userinfo.substr(colon + 1), password) ||
        has_whitespace_or_control(username)) {
      problem = "server \"" + std::string(scheme) + "://...@" + std::string(rest) +
                "\": credentials must be user:password, percent-encoded, the user without spaces";
      return std::nullopt;
    }
  }
  if (rest.find("://") != std::string_view::npos) {
    problem = "server \"" + std::string(rest) + "\": more than one scheme";
    return std::nullopt;
  }
  std::optional<Address> address = parse_address(rest, problem);
  if (!address) return std::nullopt;
  address->transport = transport;
  address->username = std::move(username);
  address->password = std::move(password);
  return address;
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

bool parse_weight(std::string_view text, std::uint32_t& weight) {
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, weight);
  return !text.empty() && ec == std::errc() && ptr == end;
}

std::optional<Address> parse_address(std::string_view text, std::string& problem) {
  Address address;
  const std::string quoted = "server \"" + shown(text) + "\"";
  if (text.empty()) {
    problem = "empty server address";
    return std::nullopt;
  }
  // libmc: "host[:port] alias", one space before the alias.
  if (const auto space = text.find(' '); space != std::string_view::npos) {
    const std::string_view alias = text.substr(space + 1);
    if (alias.empty() || has_whitespace_or_control(alias)) {
      problem = quoted + ": expected one alias after a single space";
      return std::nullopt;
    }
    std::optional<Address> aliased = parse_address(text.substr(0, space), problem);
    if (!aliased) return std::nullopt;
    aliased->alias = std::string(alias);
    return aliased;
  }
  if (const auto scheme_end = text.find("://"); scheme_end != std::string_view::npos) {
    return parse_scheme_address(text, scheme_end, problem);
  }
  if (text.starts_with("unix:")) {
    // "unix:" always names a socket: "unix:11211" is not the host "unix"
    // (write that as "[unix]:11211").
    text.remove_prefix(5);
    if (!text.starts_with('/')) {
      problem = quoted + ": \"unix:\" must be followed by an absolute socket path";
      return std::nullopt;
    }
  }
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
    if (!is_host_text(address.host, true)) {
      problem = quoted + ": not an IPv6 address or host name inside [ ]";
      return std::nullopt;
    }
    auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      const auto weight_colon = rest.find(':', 1);
      if (rest.front() != ':' || !parse_port(rest.substr(1, weight_colon - 1), address.port) ||
          (weight_colon != std::string_view::npos &&
           !parse_weight(rest.substr(weight_colon + 1), address.weight))) {
        problem =
            quoted + ": expected :port (1-65535) and optionally :weight after the IPv6 literal";
        return std::nullopt;
      }
    }
    return address;
  }
  const auto colons = std::count(text.begin(), text.end(), ':');
  if (colons == 2) {
    // pylibmc's "host:port:weight", unless it is an IPv6 literal (fe80::1).
    const auto first = text.find(':');
    const auto second = text.find(':', first + 1);
    std::uint16_t port = 0;
    std::uint32_t weight = 0;
    if (first > 0 && is_host_text(text.substr(0, first), false) &&
        parse_port(text.substr(first + 1, second - first - 1), port) &&
        parse_weight(text.substr(second + 1), weight)) {
      address.host = std::string(text.substr(0, first));
      address.port = port;
      address.weight = weight;
      return address;
    }
  }
  if (colons > 1) {  // a bare IPv6 literal such as ::1 cannot carry a port
    const bool looks_like_ipv6 = std::all_of(text.begin(), text.end(), [](char c) {
      return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
    });
    if (!looks_like_ipv6) {
      problem = quoted + ": neither host:port:weight nor an IPv6 address";
      return std::nullopt;
    }
    address.host = std::string(text);
    return address;
  }
  const auto colon = text.find(':');
  address.host = std::string(text.substr(0, colon));
  if (address.host.empty()) {
    problem = quoted + ": missing host";
    return std::nullopt;
  }
  if (!is_host_text(address.host, false)) {
    problem = quoted + ": a host name has only letters, digits, '-', '.' and '_'";
    return std::nullopt;
  }
  if (colon != std::string_view::npos && !parse_port(text.substr(colon + 1), address.port)) {
    problem = quoted + ": port must be a number from 1 to 65535";
    return std::nullopt;
  }
  return address;
}

}  // namespace fastmc::net
