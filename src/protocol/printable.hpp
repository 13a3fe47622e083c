// SPDX-License-Identifier: MIT
// Printable excerpts of protocol bytes for error messages (protocol layer):
// keys and replies can hold any byte, and an error message must stay one
// readable line. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fastmc::protocol {

// At most `max_size` bytes of `bytes`, with CR and LF shown as \r and \n,
// other non-printable bytes as \xHH, and "..." when cut.
std::string printable_excerpt(std::string_view bytes, std::size_t max_size = 40);

}  // namespace fastmc::protocol
