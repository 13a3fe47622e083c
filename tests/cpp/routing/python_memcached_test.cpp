// SPDX-License-Identifier: MIT
#include "routing/python_memcached.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "routing/modula.hpp"
#include "support/routing_vectors.hpp"

namespace fastmc::routing {
namespace {

using testing::PlacementCase;
using testing::read_placements;

TEST(PythonMemcachedTest, PlacementsMatchPythonMemcached) {
  const std::vector<PlacementCase> cases = read_placements("python_memcached.csv");
  ASSERT_EQ(cases.size(), 10u);
  std::size_t checked = 0;
  std::size_t given_up = 0;
  for (const PlacementCase& placement : cases) {
    checked += testing::expect_placements_match(placement);
    for (const testing::PlacementKey& key : placement.keys) given_up += key.expected == -1;
  }
  EXPECT_GT(checked, 4500u);
  EXPECT_GT(given_up, 0u) << "the ten-lookup limit is exercised";
}

TEST(PythonMemcachedTest, BucketsRepeatEachServerByWeight) {
  const PythonMemcached buckets({1, 2, 3, 0, 5}, KeyHash::crc);
  EXPECT_EQ(buckets.bucket_count(), 11u);
  EXPECT_EQ(buckets.server_count(), 5u);
  // Bucket order: 0, 1, 1, 2, 2, 2, 4, 4, 4, 4, 4.
  EXPECT_EQ(buckets.server_for_hash(0), 0u);
  EXPECT_EQ(buckets.server_for_hash(2), 1u);
  EXPECT_EQ(buckets.server_for_hash(5), 2u);
  EXPECT_EQ(buckets.server_for_hash(6), 4u);
  EXPECT_EQ(buckets.server_for_hash(11), 0u);
}

TEST(PythonMemcachedTest, EqualsLibmemcachedModulaWithCrcWhenUnweighted) {
  const PythonMemcached python_memcached({1, 1, 1, 1, 1}, KeyHash::crc);
  const Modula modula(5, KeyHash::crc);
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    EXPECT_EQ(python_memcached.server_for_key(key), modula.server_for_key(key)) << key;
  }
}

TEST(PythonMemcachedTest, RehashesFromThePreviousHashWithTheAttemptNumber) {
  const PythonMemcached buckets({1, 1, 1}, KeyHash::crc);
  const std::string key = "user:7";
  const std::uint32_t first = hash_key(KeyHash::crc, key);
  const std::uint32_t second = hash_key(KeyHash::crc, std::to_string(first) + "0");
  const std::uint32_t third = hash_key(KeyHash::crc, std::to_string(second) + "1");
  const std::size_t home = first % 3;
  // Kill whatever the first two lookups land on, unless the third lands
  // there too.
  auto is_live = [&](std::size_t index) { return index != home && index != second % 3; };
  if (third % 3 != home && third % 3 != second % 3) {
    EXPECT_EQ(buckets.live_server_for_key(key, is_live), third % 3);
  }
  EXPECT_EQ(buckets.live_server_for_key(key, [](std::size_t) { return false; }), std::nullopt);
}

}  // namespace
}  // namespace fastmc::routing
