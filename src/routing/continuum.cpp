// SPDX-License-Identifier: MIT
#include "routing/continuum.hpp"

#include <algorithm>
#include <bit>
#include <utility>

namespace fastmc::routing {
namespace {

// About one point per bucket, within bounds: 2^14 buckets (64 KiB) cover a
// hundred servers of libmemcached's 160 points.
constexpr unsigned kMinBucketBits = 4;
constexpr unsigned kMaxBucketBits = 14;

bool below(const ContinuumPoint& point, std::uint32_t value) noexcept {
  return point.value < value;
}

}  // namespace

Continuum::Continuum(std::vector<ContinuumPoint> points) : points_(std::move(points)) {
  std::sort(points_.begin(), points_.end(),
            [](const ContinuumPoint& left, const ContinuumPoint& right) {
              if (left.value != right.value) return left.value < right.value;
              return left.server_index < right.server_index;
            });
  const unsigned bits = std::clamp(static_cast<unsigned>(std::bit_width(points_.size())),
                                   kMinBucketBits, kMaxBucketBits);
  bucket_shift_ = 32 - bits;
  const std::size_t buckets = std::size_t{1} << bits;
  bucket_starts_.resize(buckets + 1);
  std::size_t position = 0;
  for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
    const auto floor = static_cast<std::uint32_t>(bucket << bucket_shift_);
    while (position < points_.size() && points_[position].value < floor) ++position;
    bucket_starts_[bucket] = static_cast<std::uint32_t>(position);
  }
  bucket_starts_[buckets] = static_cast<std::uint32_t>(points_.size());
}

std::size_t Continuum::position_for_hash(std::uint32_t hash) const noexcept {
  // libmemcached hash.cc dispatch_host and libmc's std::lower_bound both find
  // the first point not below the hash, and wrap to the first point. Every
  // point of a lower bucket is below the hash, every point of a higher one
  // not, so the search stays within the hash's bucket.
  const std::size_t bucket = hash >> bucket_shift_;
  const auto found = std::lower_bound(points_.begin() + bucket_starts_[bucket],
                                      points_.begin() + bucket_starts_[bucket + 1], hash, below);
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
