// SPDX-License-Identifier: MIT
// ConnectionFailure: every way a connection can fail, each with a short
// stable name used in error messages, logs and stats (net layer; the idea is
// memcached proxy_network.c's backend failure table). Any of them closes the
// connection: the rule lives in Connection::fail, not scattered over callers.
#pragma once

#include <cstdint>
#include <string_view>

namespace fastmc::net {

enum class ConnectionFailure : std::uint8_t {
  none,
  resolve_failed,    // the host name did not resolve
  connect_refused,   // ECONNREFUSED, or the unix socket does not exist
  connect_failed,    // any other connect error (unreachable, ...)
  connect_timeout,   // no connection before the connect deadline
  timed_out,         // the reply did not complete before the deadline
  closed_by_server,  // EOF while a reply was expected
  reset,             // ECONNRESET, EPIPE and friends
  io_error,          // another socket error
  malformed_reply,   // the parser refused the bytes
  unexpected_reply,  // a well-formed reply that does not answer the request
  trailing_data,     // bytes arrived that no request asked for
  value_too_large,   // a VALUE bigger than the client's max_value_size
  abandoned,         // the caller gave up mid-exchange (e.g. interrupted)
  auth_failed,       // the server refused the credentials (SASL), or wants some
};

std::string_view name_of(ConnectionFailure failure) noexcept;

// True iff the failure happened before the connection was established.
constexpr bool is_connect_failure(ConnectionFailure failure) noexcept {
  return failure == ConnectionFailure::resolve_failed ||
         failure == ConnectionFailure::connect_refused ||
         failure == ConnectionFailure::connect_failed ||
         failure == ConnectionFailure::connect_timeout;
}

}  // namespace fastmc::net
