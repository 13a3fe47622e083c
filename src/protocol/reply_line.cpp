// SPDX-License-Identifier: MIT
#include "protocol/reply_line.hpp"

#include <cstring>

namespace fastmc::protocol {
namespace {

bool match_error(std::string_view line, std::string_view keyword, ReplyStatus status,
                 Reply& reply) noexcept {
  if (!line.starts_with(keyword)) return false;
  const std::string_view rest = line.substr(keyword.size());
  if (!rest.empty() && rest.front() != ' ') return false;
  reply.status = status;
  reply.data = rest.empty() ? rest : rest.substr(1);
  return true;
}

}  // namespace

ParseResult find_reply_line(std::string_view input, std::size_t max_line_size,
                            std::string_view& line) noexcept {
  // Only the first max_line_size bytes are searched, so a missing line end
  // is noticed after a bounded amount of input whatever the split.
  const std::size_t window = input.size() < max_line_size ? input.size() : max_line_size;
  const void* newline = window == 0 ? nullptr : std::memchr(input.data(), '\n', window);
  if (newline == nullptr) {
    if (input.size() >= max_line_size) {
      return ParseResult::malformed("no CRLF within the reply line size limit");
    }
    return ParseResult::need_more();
  }
  const auto newline_index =
      static_cast<std::size_t>(static_cast<const char*>(newline) - input.data());
  if (newline_index == 0 || input[newline_index - 1] != '\r') {
    return ParseResult::malformed("reply line ends with LF without CR");
  }
  line = input.substr(0, newline_index - 1);
  if (line.find('\r') != std::string_view::npos) {
    return ParseResult::malformed("reply line contains a CR before its end");
  }
  return ParseResult::complete(newline_index + 1);
}

bool match_error_line(std::string_view line, Reply& reply) noexcept {
  return match_error(line, "ERROR", ReplyStatus::error, reply) ||
         match_error(line, "CLIENT_ERROR", ReplyStatus::client_error, reply) ||
         match_error(line, "SERVER_ERROR", ReplyStatus::server_error, reply);
}

}  // namespace fastmc::protocol
