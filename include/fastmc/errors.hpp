// SPDX-License-Identifier: MIT
// fastmc::Errc and fastmc::Error: why an operation failed, as a value.
//
// Every failure has a named cause with a short stable name (for logs, stats
// and the Python exception mapping) and a message that names the server.
// Plain data; safe to copy between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace fastmc {

enum class Errc : std::uint8_t {
  connect_failed,     // the server refused or could not be reached (ECONNREFUSED, DNS, ...)
  connect_timeout,    // no connection within connect_timeout
  timed_out,          // no complete reply before the operation's deadline
  connection_closed,  // the server closed or reset the connection mid-request
  protocol_error,     // the reply was malformed or did not match the request
  server_error,       // SERVER_ERROR from the server (out of memory, busy, ...)
  client_error,       // CLIENT_ERROR or ERROR: the server rejected the request
  invalid_key,        // the key cannot be sent (checked before anything is written)
  invalid_argument,   // another argument is out of range
  value_too_large,    // the server or the client's limit refused the value's size
  no_servers,         // the client has no server to send the key to
  server_down,        // the key's server is down (failure_limit reached) and not yet retried
  server_paused,      // the key's server failed just now and is paused (pause_after_failure)
  auth_failed,        // the server refused the credentials (SASL or ASCII auth), or needs some
  tls_failed,         // the TLS handshake failed (certificate, host name, or no TLS peer)
};

// A short stable name for the cause: "connect_timeout", "timed_out", ...
std::string_view name_of(Errc code) noexcept;

struct Error {
  Errc code = Errc::protocol_error;
  std::string server;   // "host:port" or the unix path; empty when no server was involved
  std::string message;  // the whole human-readable text, server and cause included
};

}  // namespace fastmc
