// SPDX-License-Identifier: MIT
// Router: which server a key goes to (routing layer). No I/O.
//
// Routing is a key hash (bytes -> 32 bits) composed with a distribution
// (hash -> server index), as memcached's proxy separates them. This first
// router knows libmemcached's defaults, one_at_a_time with modula; the other
// hashes and distributions (ketama, libmc's continuum, rendezvous) slot in
// behind the same call. With one server nothing is hashed (libmemcached
// does the same).
//
// Thread-safety: const methods may be called from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace fastmc::routing {

// Bob Jenkins' one-at-a-time hash, libmemcached's MEMCACHED_HASH_DEFAULT.
std::uint32_t one_at_a_time_hash(std::string_view key) noexcept;

class Router {
 public:
  // Requires: server_count > 0.
  explicit Router(std::size_t server_count) noexcept : server_count_(server_count) {}

  std::size_t server_count() const noexcept { return server_count_; }
  // The index of the server that holds `key`.
  std::size_t server_for_key(std::string_view key) const noexcept {
    if (server_count_ == 1) return 0;
    return one_at_a_time_hash(key) % server_count_;
  }

 private:
  std::size_t server_count_;
};

}  // namespace fastmc::routing
