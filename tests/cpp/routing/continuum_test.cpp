// SPDX-License-Identifier: MIT
#include "routing/continuum.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace fastmc::routing {
namespace {

// The lookup both peers make: the first point not below the hash over the
// whole sorted ring, wrapping to the first.
std::size_t searched_position(const std::vector<ContinuumPoint>& sorted, std::uint32_t hash) {
  const auto found = std::lower_bound(
      sorted.begin(), sorted.end(), hash,
      [](const ContinuumPoint& point, std::uint32_t value) { return point.value < value; });
  return found == sorted.end() ? 0 : static_cast<std::size_t>(found - sorted.begin());
}

std::vector<ContinuumPoint> random_points(std::size_t count, std::mt19937& random) {
  std::uniform_int_distribution<std::uint32_t> value;
  std::vector<ContinuumPoint> points;
  for (std::size_t i = 0; i < count; ++i) {
    points.push_back({value(random), static_cast<std::uint32_t>(i % 7)});
  }
  return points;
}

// Every hash that can land on a bucket or point edge, and random ones.
void expect_lookup_matches_search(const Continuum& continuum, std::mt19937& random) {
  const std::vector<ContinuumPoint>& sorted = continuum.points();
  std::vector<std::uint32_t> hashes = {0, 1, std::numeric_limits<std::uint32_t>::max()};
  for (const ContinuumPoint& point : sorted) {
    hashes.push_back(point.value);
    hashes.push_back(point.value - 1);
    hashes.push_back(point.value + 1);
  }
  for (std::uint32_t edge = 1; edge != 0; edge <<= 1) {
    hashes.push_back(edge);
    hashes.push_back(edge - 1);
  }
  std::uniform_int_distribution<std::uint32_t> value;
  for (int i = 0; i < 20000; ++i) hashes.push_back(value(random));
  for (const std::uint32_t hash : hashes) {
    ASSERT_EQ(continuum.position_for_hash(hash), searched_position(sorted, hash))
        << "hash " << hash << " on a ring of " << sorted.size() << " points";
  }
}

TEST(ContinuumTest, LookupFindsTheFirstPointNotBelowTheHashOnRingsOfEverySize) {
  std::mt19937 random(20261121);
  // One point, fewer points than the fewest buckets, about one per bucket,
  // and more than the most buckets hold one each.
  for (const std::size_t count : {1u, 2u, 5u, 16u, 800u, 16000u, 70000u}) {
    expect_lookup_matches_search(Continuum(random_points(count, random)), random);
  }
}

TEST(ContinuumTest, LookupHandlesCrowdedBucketsAndEqualValues) {
  std::mt19937 random(7);
  // Every point in one bucket, some sharing a value (a 32-bit collision
  // between servers): the lowest server index comes first, as in libmemcached.
  std::vector<ContinuumPoint> points;
  for (std::uint32_t i = 0; i < 300; ++i) points.push_back({0x12340000u + (i / 3), i % 3});
  points.push_back({std::numeric_limits<std::uint32_t>::max(), 4});
  points.push_back({0, 5});
  const Continuum continuum(points);
  expect_lookup_matches_search(continuum, random);
  EXPECT_EQ(continuum.server_for_hash(0x12340000u), 0u);
  EXPECT_EQ(continuum.server_for_hash(std::numeric_limits<std::uint32_t>::max()), 4u);
  EXPECT_EQ(continuum.server_for_hash(0), 5u);
}

TEST(ContinuumTest, HashesPastTheLastPointWrapToTheFirst) {
  const Continuum continuum({{100, 1}, {200, 2}, {300, 3}});
  EXPECT_EQ(continuum.server_for_hash(301), 1u);
  EXPECT_EQ(continuum.server_for_hash(std::numeric_limits<std::uint32_t>::max()), 1u);
  EXPECT_EQ(continuum.server_for_hash(100), 1u);
  EXPECT_EQ(continuum.server_for_hash(101), 2u);
  EXPECT_EQ(continuum.server_for_hash(0), 1u);
}

}  // namespace
}  // namespace fastmc::routing
