// SPDX-License-Identifier: MIT
// KetamaContinuum: libmemcached's consistent hashing, plain, weighted and
// spymemcached-style, bit for bit (routing layer). No I/O.
//
// Built as libmemcached-awesome 1.1 src/libmemcached/hosts.cc
// update_continuum builds it (pylibmc's bundled libmemcached 1.0.16 gives the
// same placements; tests/data/routing holds both):
//   - each server's point strings are "{host}-{i}" when its port is 11211,
//     else "{host}:{port}-{i}"; the spy flavor always uses
//     "/{host}:{port}-{i}". A unix socket is named by its path with port 0.
//     host is the name as configured, never resolved.
//   - unweighted: 100 points per server (i = 0..99), each the *key hash* of
//     its point string: libmemcached hashes points with the key hash, not
//     with its separate "ketama_hash" setting.
//   - weighted: MD5 for the points whatever the key hash; each server gets
//     floor(weight / total_weight * 160 / 4 * server_count) * 4 points,
//     computed in single precision as libmemcached does, and each point
//     string's digest gives 4 points (little-endian words at bytes 0, 4, 8,
//     12).
//   - points sorted by (value, server index); a key goes to the first point
//     >= its hash, wrapping to the first point.
//
// Thread-safety: immutable; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/continuum.hpp"
#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"

namespace fastmc::routing {

// libmemcached MEMCACHED_POINTS_PER_SERVER and MEMCACHED_POINTS_PER_SERVER_KETAMA.
inline constexpr std::uint32_t kKetamaPointsPerServer = 100;
inline constexpr std::uint32_t kKetamaWeightedPointsPerServer = 160;

struct KetamaOptions {
  bool weighted = false;  // MEMCACHED_DISTRIBUTION_CONSISTENT_WEIGHTED (or a server weight > 1)
  bool spy = false;       // MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA_SPY point strings
};

class KetamaContinuum final : public HashDistribution {
 public:
  // `hash` hashes keys, and the points too when unweighted. Requires: servers
  // is not empty; MD5 available if weighted or hash is md5.
  KetamaContinuum(const std::vector<RoutingServer>& servers, KeyHash hash, KetamaOptions options);

  [[nodiscard]] std::size_t server_count() const noexcept override { return server_count_; }
  [[nodiscard]] std::size_t server_for_hash(std::uint32_t hash) const noexcept override {
    return continuum_.server_for_hash(hash);
  }
  // Walks the ring from the key's point to the next live server's point. For
  // the unweighted continuum that is exactly what libmemcached's auto_eject
  // rebuild without the dead servers gives; for the weighted one the rebuild
  // also re-spreads the points, so use Router::live_subset to match it.
  [[nodiscard]] std::optional<std::size_t> live_server_for_hash(
      std::uint32_t hash, LiveServers is_live) const override {
    return continuum_.live_server_for_hash(hash, is_live);
  }

  [[nodiscard]] const Continuum& continuum() const noexcept { return continuum_; }

  // The point string of `server` for point `index`.
  static std::string point_name(const RoutingServer& server, std::uint32_t index, bool spy);

  // How many points the weighted continuum gives a server of `weight` among
  // `server_count` servers weighing `total_weight` together.
  static std::uint32_t weighted_point_count(std::uint32_t weight, std::uint64_t total_weight,
                                            std::size_t server_count) noexcept;

 private:
  std::size_t server_count_;
  Continuum continuum_;
};

}  // namespace fastmc::routing
