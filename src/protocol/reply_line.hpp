// SPDX-License-Identifier: MIT
// What the text and meta reply parsers share (protocol layer): finding the
// first reply line, and the error lines every command may get. Pure.
#pragma once

#include <cstddef>
#include <string_view>

#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"

namespace fastmc::protocol {

// Finds the first line of `input`. complete iff a whole line is present:
// then `line` holds it without its CRLF and `consumed` counts the CRLF. A
// line must end within `max_line_size` bytes (so a server that never sends
// one cannot make the caller buffer without bound); LF without CR, or a CR
// inside the line, is malformed.
ParseResult find_reply_line(std::string_view input, std::size_t max_line_size,
                            std::string_view& line) noexcept;

// True iff `line` is "ERROR", "CLIENT_ERROR" or "SERVER_ERROR", alone or with
// a message (protocol.txt writes the message as optional in places); then
// `reply` holds the status and the message.
bool match_error_line(std::string_view line, Reply& reply) noexcept;

}  // namespace fastmc::protocol
