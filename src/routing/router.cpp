// SPDX-License-Identifier: MIT
#include "routing/router.hpp"

namespace fastmc::routing {

std::uint32_t one_at_a_time_hash(std::string_view key) noexcept {
  // libhashkit converts each char straight to uint32_t, which sign-extends
  // bytes >= 0x80 where char is signed (x86); placement must match it.
  std::uint32_t hash = 0;
  for (const char c : key) {
    hash += static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
    hash += hash << 10;
    hash ^= hash >> 6;
  }
  hash += hash << 3;
  hash ^= hash >> 11;
  hash += hash << 15;
  return hash;
}

}  // namespace fastmc::routing
