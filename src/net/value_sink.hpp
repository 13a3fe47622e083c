// SPDX-License-Identifier: MIT
// ValueSink: where a large value goes instead of the read buffer (net layer).
//
// A value at least `min_size` bytes long is received straight into storage
// the sink provides (a Python bytes object, a caller's buffer), so it is
// copied once, by the kernel, rather than again out of the read buffer.
// Plain data; the function is called from the thread running the exchange.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

namespace fastmc::net {

struct ValueSink {
  // Storage for one value of `size` bytes for `key`; it must stay valid and
  // untouched by others while the replies are in use. An empty span declines:
  // the value is then read into the read buffer as usual.
  std::span<char> (*allocate)(void* context, std::string_view key, std::size_t size) = nullptr;
  void* context = nullptr;
  std::size_t min_size = std::size_t{64} * 1024;

  explicit operator bool() const noexcept { return allocate != nullptr; }
};

}  // namespace fastmc::net
