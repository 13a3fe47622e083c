// SPDX-License-Identifier: MIT
#include "routing/libmc_continuum.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "routing/ketama.hpp"
#include "routing/router.hpp"
#include "support/routing_vectors.hpp"

namespace fastmc::routing {
namespace {

using testing::PlacementCase;
using testing::read_placements;

std::vector<RoutingServer> five_servers() {
  return {{.host = "10.0.0.1", .port = 11211},
          {.host = "10.0.0.2", .port = 11212},
          {.host = "cache-a.example.com", .port = 11211},
          {.host = "cache-b.example.com", .port = 22122},
          {.host = "192.168.1.5", .port = 11311}};
}

TEST(LibmcContinuumTest, PlacementsMatchLibmc) {
  const std::vector<PlacementCase> cases = read_placements("libmc_continuum.csv");
  ASSERT_EQ(cases.size(), 12u);
  std::size_t checked = 0;
  for (const PlacementCase& placement : cases)
    checked += testing::expect_placements_match(placement);
  EXPECT_GT(checked, 5000u);
}

TEST(LibmcContinuumTest, PointNamesPreferTheAliasAndOmitTheDefaultPort) {
  EXPECT_EQ(LibmcContinuum::point_name({.host = "10.0.0.1", .port = 11211}, 0), "10.0.0.1-0");
  EXPECT_EQ(LibmcContinuum::point_name({.host = "10.0.0.2", .port = 11212}, 99),
            "10.0.0.2:11212-99");
  EXPECT_EQ(LibmcContinuum::point_name({.host = "10.0.0.2", .port = 11212, .alias = "beta"}, 5),
            "beta-5");
  EXPECT_EQ(LibmcContinuum::point_name({.path = "/run/mc.sock"}, 1), "/run/mc.sock-1");
}

TEST(LibmcContinuumTest, PrefixGoesAfterALeadingQuestionMark) {
  EXPECT_EQ(libmc_prefixed_key("app:", "user"), "app:user");
  EXPECT_EQ(libmc_prefixed_key("app:", "?user"), "?app:user");
  EXPECT_EQ(libmc_prefixed_key("", "?user"), "?user");
  EXPECT_EQ(libmc_prefixed_key("app:", ""), "app:");
  const Router router(
      five_servers(),
      {.kind = DistributionKind::libmc, .prefix = "app:", .hash_with_prefix = true});
  EXPECT_EQ(router.routing_key("?user"), "?app:user");
  EXPECT_EQ(router.routing_key("user"), "app:user");
}

TEST(LibmcContinuumTest, EqualsLibmemcachedKetamaWithMd5ForTheSameNames) {
  // peers.md 2.2: libmc (md5) places keys as libmemcached's unweighted
  // ketama with hash=md5 does, given the same host strings and no alias.
  const std::vector<RoutingServer> servers = five_servers();
  const LibmcContinuum libmc(servers, KeyHash::md5);
  const KetamaContinuum ketama(servers, KeyHash::md5, {});
  for (int i = 0; i < 2000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    EXPECT_EQ(libmc.server_for_key(key), ketama.server_for_key(key)) << key;
  }
}

TEST(LibmcContinuumTest, FailoverMovesOnlyTheDeadServersKeys) {
  const LibmcContinuum libmc(five_servers(), KeyHash::md5);
  for (std::size_t dead = 0; dead < 5; ++dead) {
    auto is_live = [dead](std::size_t index) { return index != dead; };
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "key:" + std::to_string(i);
      const std::size_t home = libmc.server_for_key(key);
      const std::optional<std::size_t> now = libmc.live_server_for_key(key, is_live);
      ASSERT_TRUE(now);
      if (home != dead) {
        EXPECT_EQ(*now, home) << key;
      }
      EXPECT_NE(*now, dead) << key;
    }
  }
  EXPECT_EQ(libmc.live_server_for_key("key", [](std::size_t) { return false; }), std::nullopt);
}

TEST(LibmcContinuumTest, AnAliasKeepsKeysWhenItsServerMoves) {
  const std::vector<PlacementCase> cases = read_placements("libmc_continuum.csv");
  const PlacementCase& before = testing::find_case(cases, "libmc_aliases");
  const PlacementCase& after = testing::find_case(cases, "libmc_aliases_moved");
  ASSERT_EQ(before.keys.size(), after.keys.size());
  for (std::size_t i = 0; i < before.keys.size(); ++i) {
    EXPECT_EQ(before.keys[i].expected, after.keys[i].expected);
  }
}

}  // namespace
}  // namespace fastmc::routing
