// SPDX-License-Identifier: MIT
#include "routing/ketama.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

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

std::vector<std::string> many_keys() {
  std::vector<std::string> keys;
  for (int i = 0; i < 3000; ++i) keys.push_back("key:" + std::to_string(i));
  return keys;
}

TEST(KetamaTest, PlacementsMatchLibmemcached) {
  const std::vector<PlacementCase> cases = read_placements("ketama.csv");
  ASSERT_EQ(cases.size(), 20u);
  std::size_t checked = 0;
  for (const PlacementCase& placement : cases)
    checked += testing::expect_placements_match(placement);
  EXPECT_GT(checked, 9000u);
}

TEST(KetamaTest, PointNamesFollowLibmemcached) {
  const RoutingServer default_port{.host = "10.0.0.1", .port = 11211};
  const RoutingServer other_port{.host = "cache.example.com", .port = 11212};
  const RoutingServer unix_socket{.path = "/run/memcached.sock"};
  EXPECT_EQ(KetamaContinuum::point_name(default_port, 0, false), "10.0.0.1-0");
  EXPECT_EQ(KetamaContinuum::point_name(other_port, 99, false), "cache.example.com:11212-99");
  EXPECT_EQ(KetamaContinuum::point_name(unix_socket, 3, false), "/run/memcached.sock:0-3");
  EXPECT_EQ(KetamaContinuum::point_name(default_port, 7, true), "/10.0.0.1:11211-7");
  EXPECT_EQ(KetamaContinuum::point_name(other_port, 0, true), "/cache.example.com:11212-0");
}

TEST(KetamaTest, WeightedPointCountsFollowLibmemcachedsFloatFormula) {
  // Weights 1, 2, 3, 1, 5 (total 12) over 5 servers.
  EXPECT_EQ(KetamaContinuum::weighted_point_count(1, 12, 5), 64u);
  EXPECT_EQ(KetamaContinuum::weighted_point_count(2, 12, 5), 132u);
  EXPECT_EQ(KetamaContinuum::weighted_point_count(3, 12, 5), 200u);
  EXPECT_EQ(KetamaContinuum::weighted_point_count(5, 12, 5), 332u);
  // Equal weights give 160 points each, thirds included.
  EXPECT_EQ(KetamaContinuum::weighted_point_count(1, 5, 5), 160u);
  EXPECT_EQ(KetamaContinuum::weighted_point_count(1, 3, 3), 160u);
  EXPECT_EQ(KetamaContinuum::weighted_point_count(0, 3, 3), 0u);
}

TEST(KetamaTest, UnweightedHas100PointsPerServerHashedWithTheKeyHash) {
  const std::vector<RoutingServer> servers = five_servers();
  const KetamaContinuum ketama(servers, KeyHash::crc, {});
  ASSERT_EQ(ketama.continuum().point_count(), 500u);
  for (const ContinuumPoint& point : ketama.continuum().points()) {
    EXPECT_LE(point.value, 0x7fffu) << "crc points are 15 bits";
  }
}

TEST(KetamaTest, WeightedTakesFourPointsPerDigest) {
  std::vector<RoutingServer> servers = five_servers();
  const std::uint32_t weights[] = {1, 2, 3, 1, 5};
  for (std::size_t i = 0; i < servers.size(); ++i) servers[i].weight = weights[i];
  const KetamaContinuum ketama(servers, KeyHash::md5, {.weighted = true});
  EXPECT_EQ(ketama.continuum().point_count(), 64u + 132u + 200u + 64u + 332u);
  const std::array<std::uint8_t, 16> digest = md5_digest("10.0.0.1-0");
  std::vector<std::uint32_t> expected;
  for (std::size_t word = 0; word < 4; ++word) {
    expected.push_back(static_cast<std::uint32_t>(digest[word * 4]) |
                       (static_cast<std::uint32_t>(digest[word * 4 + 1]) << 8) |
                       (static_cast<std::uint32_t>(digest[word * 4 + 2]) << 16) |
                       (static_cast<std::uint32_t>(digest[word * 4 + 3]) << 24));
  }
  for (const std::uint32_t value : expected) {
    bool found = false;
    for (const ContinuumPoint& point : ketama.continuum().points()) {
      found = found || (point.value == value && point.server_index == 0);
    }
    EXPECT_TRUE(found) << value;
  }
}

TEST(KetamaTest, AddingAServerMovesKeysOnlyToIt) {
  std::vector<RoutingServer> servers = five_servers();
  const KetamaContinuum before(std::vector<RoutingServer>(servers.begin(), servers.end() - 1),
                               KeyHash::one_at_a_time, {});
  const KetamaContinuum after(servers, KeyHash::one_at_a_time, {});
  std::size_t moved = 0;
  for (const std::string& key : many_keys()) {
    const std::size_t old_server = before.server_for_key(key);
    const std::size_t new_server = after.server_for_key(key);
    if (old_server != new_server) {
      ++moved;
      EXPECT_EQ(new_server, 4u) << key;
    }
  }
  // About a fifth of the keys, never most of them.
  EXPECT_GT(moved, 300u);
  EXPECT_LT(moved, 1200u);
}

TEST(KetamaTest, RemovingAServerMovesOnlyItsKeys) {
  const Router router(five_servers(), {.kind = DistributionKind::ketama});
  for (std::size_t dead = 0; dead < 5; ++dead) {
    auto is_live = [dead](std::size_t index) { return index != dead; };
    const std::optional<Router> live = router.live_subset(is_live);
    ASSERT_TRUE(live);
    for (const std::string& key : many_keys()) {
      const std::size_t home = router.server_for_key(key);
      const std::size_t now = live->server_for_key(key);
      if (home != dead) {
        EXPECT_EQ(now, home) << key;
      }
      EXPECT_NE(now, dead) << key;
      // Unweighted, walking the ring equals libmemcached's rebuild.
      EXPECT_EQ(router.live_server_for_key(key, is_live), now) << key;
    }
  }
}

TEST(KetamaTest, PeersAutoEjectMovedOnlyTheDeadServersKeys) {
  const std::vector<PlacementCase> cases = read_placements("ketama.csv");
  const PlacementCase& full = testing::find_case(cases, "ketama_local");
  const PlacementCase& ejected = testing::find_case(cases, "ketama_local_auto_eject");
  ASSERT_EQ(full.keys.size(), ejected.keys.size());
  std::size_t moved = 0;
  for (std::size_t i = 0; i < full.keys.size(); ++i) {
    if (full.keys[i].expected != 2) {
      EXPECT_EQ(ejected.keys[i].expected, full.keys[i].expected);
    } else {
      ++moved;
    }
  }
  EXPECT_GT(moved, 0u);
}

TEST(KetamaTest, RouterWeighsKetamaWhenAServerWeighsMoreThanOne) {
  std::vector<RoutingServer> servers = five_servers();
  EXPECT_EQ(Router(servers, {.kind = DistributionKind::ketama}).kind(), DistributionKind::ketama);
  servers[1].weight = 2;
  const Router weighted(servers, {.kind = DistributionKind::ketama});
  EXPECT_EQ(weighted.kind(), DistributionKind::ketama_weighted);
  EXPECT_EQ(weighted.key_hash(), KeyHash::one_at_a_time);
  EXPECT_EQ(Router(servers, {.kind = DistributionKind::ketama_spy}).kind(),
            DistributionKind::ketama_spy_weighted);
  EXPECT_EQ(Router(servers, {.kind = DistributionKind::ketama_weighted}).key_hash(), KeyHash::md5);
}

}  // namespace
}  // namespace fastmc::routing
