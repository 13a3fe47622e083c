// SPDX-License-Identifier: MIT
#include "routing/continuum.hpp"

#include <algorithm>
#include <utility>

namespace fastmc::routing {

Continuum::Continuum(std::vector<ContinuumPoint> points) : points_(std::move(points)) {
  std::sort(points_.begin(), points_.end(),
            [](const ContinuumPoint& left, const ContinuumPoint& right) {
              if (left.value != right.value) return left.value < right.value;
              return left.server_index < right.server_index;
            });
}

std::size_t Continuum::position_for_hash(std::uint32_t hash) const noexcept {
  // libmemcached hash.cc dispatch_host and libmc's std::lower_bound both find
  // the first point not below the hash, and wrap to the first point.
  const auto found = std::lower_bound(
      points_.begin(), points_.end(), hash,
      [](const ContinuumPoint& point, std::uint32_t value) { return point.value < value; });
  if (found == points_.end()) return 0;
  return static_cast<std::size_t>(found - points_.begin());
}

std::optional<std::size_t> Continuum::live_server_for_hash(std::uint32_t hash,
                                                           LiveServers is_live) const {
  std::size_t position = position_for_hash(hash);
  const std::size_t origin = server_at(position);
  if (is_live(origin)) return origin;
  for (std::size_t step = 1; step < points_.size(); ++step) {
    position = (position + 1 == points_.size()) ? 0 : position + 1;
    const std::size_t server = server_at(position);
    if (server != origin && is_live(server)) return server;
  }
  return std::nullopt;
}

}  // namespace fastmc::routing
