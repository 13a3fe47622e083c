// SPDX-License-Identifier: MIT
// Continuum: a sorted ring of (point value, server index), the structure
// behind libmemcached's ketama and libmc's continuum (routing layer).
//
// The two peers differ only in how they name and hash the points
// (ketama.hpp, libmc_continuum.hpp); the ring, the lookup and the walk to the
// next live server are the same, and live here.
//
// Thread-safety: immutable once built; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "routing/distribution.hpp"

namespace fastmc::routing {

struct ContinuumPoint {
  std::uint32_t value;
  std::uint32_t server_index;
};

class Continuum {
 public:
  // Sorts the points by (value, server index), libmemcached's order; libmc
  // sorts by value alone with std::sort, which leaves equal values in an
  // unspecified order (a 32-bit collision between two servers' MD5 points).
  // Requires: points is not empty.
  explicit Continuum(std::vector<ContinuumPoint> points);

  // The position of the first point whose value is >= hash, wrapping to the
  // first point past the last: both peers' lookup.
  [[nodiscard]] std::size_t position_for_hash(std::uint32_t hash) const noexcept;

  [[nodiscard]] std::size_t server_at(std::size_t position) const noexcept {
    return points_[position].server_index;
  }

  [[nodiscard]] std::size_t server_for_hash(std::uint32_t hash) const noexcept {
    return server_at(position_for_hash(hash));
  }

  // libmc's failover (src/HashkitKetama.cpp): the key's server if live,
  // otherwise the server of the next point along the ring (wrapping) that
  // belongs to another server and is live; nullopt after a full turn. For
  // libmemcached's unweighted ketama this is also what rebuilding the
  // continuum without the dead servers gives.
  [[nodiscard]] std::optional<std::size_t> live_server_for_hash(std::uint32_t hash,
                                                                LiveServers is_live) const;

  [[nodiscard]] std::size_t point_count() const noexcept { return points_.size(); }
  [[nodiscard]] const std::vector<ContinuumPoint>& points() const noexcept { return points_; }

 private:
  std::vector<ContinuumPoint> points_;
  // Where the search for a hash starts and ends: bucket_starts_[b] is the
  // position of the first point whose value is >= b << bucket_shift_, so a
  // lookup searches one bucket (about one point) instead of the whole ring.
  std::vector<std::uint32_t> bucket_starts_;
  unsigned bucket_shift_ = 32;
};

}  // namespace fastmc::routing
