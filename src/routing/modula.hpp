// SPDX-License-Identifier: MIT
// Modula: libmemcached's default distribution, hash(key) % server count
// (routing layer). No I/O.
//
// libmemcached hash.cc dispatch_host (MEMCACHED_DISTRIBUTION_MODULA): the
// server is the key hash modulo the number of servers, weights ignored.
// libmemcached never fails over under modula: a key whose server is down
// fails, so live_server_for_key gives nullopt then.
//
// Thread-safety: immutable; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"

namespace fastmc::routing {

class Modula final : public HashDistribution {
 public:
  // Requires: server_count > 0.
  Modula(std::size_t server_count, KeyHash hash) noexcept
      : HashDistribution(hash), server_count_(server_count) {}

  [[nodiscard]] std::size_t server_count() const noexcept override { return server_count_; }
  [[nodiscard]] std::size_t server_for_hash(std::uint32_t hash) const noexcept override {
    return hash % server_count_;
  }
  // The key's server iff live, else nullopt (libmemcached does not fail over).
  [[nodiscard]] std::optional<std::size_t> live_server_for_hash(std::uint32_t hash,
                                                                LiveServers is_live) const override;

 private:
  std::size_t server_count_;
};

}  // namespace fastmc::routing
