// SPDX-License-Identifier: MIT
#include <fastmc/errors.hpp>

namespace fastmc {

std::string_view name_of(Errc code) noexcept {
  switch (code) {
    case Errc::connect_failed: return "connect_failed";
    case Errc::connect_timeout: return "connect_timeout";
    case Errc::timed_out: return "timed_out";
    case Errc::connection_closed: return "connection_closed";
    case Errc::protocol_error: return "protocol_error";
    case Errc::server_error: return "server_error";
    case Errc::client_error: return "client_error";
    case Errc::invalid_key: return "invalid_key";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::value_too_large: return "value_too_large";
    case Errc::no_servers: return "no_servers";
    case Errc::server_down: return "server_down";
    case Errc::server_paused: return "server_paused";
    case Errc::auth_failed: return "auth_failed";
    case Errc::tls_failed: return "tls_failed";
  }
  return "unknown";
}

}  // namespace fastmc
