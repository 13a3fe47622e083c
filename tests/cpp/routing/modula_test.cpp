// SPDX-License-Identifier: MIT
#include "routing/modula.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/routing_vectors.hpp"

namespace fastmc::routing {
namespace {

using testing::PlacementCase;
using testing::read_placements;

TEST(ModulaTest, PlacementsMatchLibmemcached) {
  const std::vector<PlacementCase> cases = read_placements("modula.csv");
  ASSERT_EQ(cases.size(), 14u);
  std::size_t checked = 0;
  for (const PlacementCase& placement : cases)
    checked += testing::expect_placements_match(placement);
  EXPECT_GT(checked, 6000u);
}

TEST(ModulaTest, IsTheHashModuloTheServerCount) {
  const Modula modula(7, KeyHash::fnv1a_32);
  for (int i = 0; i < 200; ++i) {
    const std::string key = "key:" + std::to_string(i);
    EXPECT_EQ(modula.server_for_key(key), hash_key(KeyHash::fnv1a_32, key) % 7) << key;
  }
}

TEST(ModulaTest, NeverFailsOverLikeLibmemcached) {
  const Modula modula(3, KeyHash::one_at_a_time);
  for (int i = 0; i < 100; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::size_t home = modula.server_for_key(key);
    EXPECT_EQ(modula.live_server_for_key(key, [](std::size_t) { return true; }), home);
    EXPECT_EQ(modula.live_server_for_key(key, [&](std::size_t index) { return index != home; }),
              std::nullopt);
  }
}

TEST(ModulaTest, IgnoresWeights) {
  const std::vector<PlacementCase> cases = read_placements("modula.csv");
  const PlacementCase& plain = testing::find_case(cases, "modula_one_at_a_time");
  const PlacementCase& weighted = testing::find_case(cases, "modula_weights_ignored");
  ASSERT_EQ(plain.keys.size(), weighted.keys.size());
  for (std::size_t i = 0; i < plain.keys.size(); ++i) {
    EXPECT_EQ(plain.keys[i].expected, weighted.keys[i].expected);
  }
}

}  // namespace
}  // namespace fastmc::routing
