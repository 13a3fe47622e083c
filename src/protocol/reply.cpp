// SPDX-License-Identifier: MIT
#include "protocol/reply.hpp"

namespace fastmc::protocol {

std::string_view name_of(ReplyStatus status) noexcept {
  switch (status) {
    case ReplyStatus::value: return "value";
    case ReplyStatus::end: return "end";
    case ReplyStatus::stored: return "stored";
    case ReplyStatus::not_stored: return "not_stored";
    case ReplyStatus::exists: return "exists";
    case ReplyStatus::not_found: return "not_found";
    case ReplyStatus::deleted: return "deleted";
    case ReplyStatus::touched: return "touched";
    case ReplyStatus::ok: return "ok";
    case ReplyStatus::number: return "number";
    case ReplyStatus::stat: return "stat";
    case ReplyStatus::version: return "version";
    case ReplyStatus::error: return "error";
    case ReplyStatus::client_error: return "client_error";
    case ReplyStatus::server_error: return "server_error";
    case ReplyStatus::done: return "done";
    case ReplyStatus::miss: return "miss";
    case ReplyStatus::noop: return "noop";
    case ReplyStatus::debug: return "debug";
    case ReplyStatus::auth_error: return "auth_error";
    case ReplyStatus::auth_continue: return "auth_continue";
  }
  return "unknown";
}

}  // namespace fastmc::protocol
