// SPDX-License-Identifier: MIT
// Address: where a server listens, parsed from the forms users write (net layer).
//
//   "host", "host:port", "10.0.0.1:11211", "[::1]:11211", "[::1]", "::1",
//   "/run/memcached.sock", "unix:/run/memcached.sock"
//   "host:port:weight", "[::1]:port:weight"   (pylibmc's weights)
//   "host[:port] alias"                       (libmc's alias: the server's
//                                              name on the continuum)
//   "tls://<any of the above>"                (TLS for this server)
//   "tcp://<any of the above>"                (no TLS for this server)
//   "tls://user:password@host:port"           (credentials for this server;
//                                              percent-encoded, RFC 3986)
// Port 11211 when none is given; weight 1. Pure; safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fastmc::net {

inline constexpr std::uint16_t kDefaultPort = 11211;

struct Address {
  enum class Kind : std::uint8_t { tcp, unix_socket };

  Kind kind = Kind::tcp;
  std::string host;  // tcp: a name or literal as configured, IPv6 without brackets
  std::uint16_t port = kDefaultPort;
  std::string path;  // unix_socket
  std::uint32_t weight = 1;
  std::string alias;  // a stable name for routing, when the user gave one
  // TLS for this server: as the client's options say, or forced by a scheme.
  enum class Transport : std::uint8_t { client_default, plain, tls };
  Transport transport = Transport::client_default;
  // Credentials for this server only (overriding the client's), from a
  // scheme form's userinfo; never part of name() or an error message.
  std::string username;
  std::string password;

  // How the server is named in errors and results: "host:port", "[v6]:port"
  // or the unix path.
  [[nodiscard]] std::string name() const;

  friend bool operator==(const Address&, const Address&) = default;
};

// Parses one server string. On failure returns nullopt and sets `problem` to
// a sentence naming what is wrong.
std::optional<Address> parse_address(std::string_view text, std::string& problem);

}  // namespace fastmc::net
