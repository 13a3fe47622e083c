// SPDX-License-Identifier: MIT
#include "net/connection_failure.hpp"

namespace fastmc::net {

std::string_view name_of(ConnectionFailure failure) noexcept {
  switch (failure) {
    case ConnectionFailure::none: return "none";
    case ConnectionFailure::resolve_failed: return "resolve_failed";
    case ConnectionFailure::connect_refused: return "connect_refused";
    case ConnectionFailure::connect_failed: return "connect_failed";
    case ConnectionFailure::connect_timeout: return "connect_timeout";
    case ConnectionFailure::timed_out: return "timed_out";
    case ConnectionFailure::closed_by_server: return "closed_by_server";
    case ConnectionFailure::reset: return "reset";
    case ConnectionFailure::io_error: return "io_error";
    case ConnectionFailure::malformed_reply: return "malformed_reply";
    case ConnectionFailure::unexpected_reply: return "unexpected_reply";
    case ConnectionFailure::trailing_data: return "trailing_data";
    case ConnectionFailure::value_too_large: return "value_too_large";
    case ConnectionFailure::abandoned: return "abandoned";
    case ConnectionFailure::auth_failed: return "auth_failed";
  }
  return "unknown";
}

}  // namespace fastmc::net
