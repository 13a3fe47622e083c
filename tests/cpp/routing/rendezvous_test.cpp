// SPDX-License-Identifier: MIT
#include "routing/rendezvous.hpp"

#include <cstddef>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "routing/router.hpp"
#include "support/routing_vectors.hpp"

namespace fastmc::routing {
namespace {

using testing::PlacementCase;
using testing::read_placements;

std::vector<std::string> node_ids() {
  return {"10.0.0.1:11211", "10.0.0.2:11212", "cache-a.example.com:11211",
          "cache-b.example.com:22122", "192.168.1.5:11311"};
}

TEST(RendezvousTest, PlacementsMatchPymemcache) {
  const std::vector<PlacementCase> cases = read_placements("rendezvous.csv");
  ASSERT_EQ(cases.size(), 5u);
  std::size_t checked = 0;
  for (const PlacementCase& placement : cases)
    checked += testing::expect_placements_match(placement);
  EXPECT_GT(checked, 4500u);
}

TEST(RendezvousTest, BytesKeysAreRoutedAsTheirPythonRepr) {
  EXPECT_EQ(pymemcache_bytes_key("foo"), "b'foo'");
  EXPECT_EQ(pymemcache_bytes_key(""), "b''");
  EXPECT_EQ(pymemcache_bytes_key("it's"), "b\"it's\"");
  EXPECT_EQ(pymemcache_bytes_key("both'\""), "b'both\\'\"'");
  EXPECT_EQ(pymemcache_bytes_key("a\\b"), "b'a\\\\b'");
  EXPECT_EQ(pymemcache_bytes_key("\t\n\r"), "b'\\t\\n\\r'");
  EXPECT_EQ(pymemcache_bytes_key(std::string("\x00\x1f\x7f\x80\xff", 5)),
            "b'\\x00\\x1f\\x7f\\x80\\xff'");
  EXPECT_EQ(pymemcache_bytes_key("cl\xc3\xa9"), "b'cl\\xc3\\xa9'");
}

TEST(RendezvousTest, StrKeysKeepTheLowByteOfEachCharacter) {
  EXPECT_EQ(pymemcache_str_key("plain:ascii"), "plain:ascii");
  EXPECT_EQ(pymemcache_str_key("cl\xc3\xa9"), "cl\xe9");                    // U+00E9
  EXPECT_EQ(pymemcache_str_key("\xe9\x94\xae"), ".");                       // U+952E
  EXPECT_EQ(pymemcache_str_key("\xf0\x9f\x98\x80"), std::string(1, '\0'));  // U+1F600
  const std::string invalid = std::string("a\xff") + "b";
  EXPECT_EQ(pymemcache_str_key(invalid), invalid);  // not UTF-8: kept
}

TEST(RendezvousTest, NodeIdsAreHostPortOrPath) {
  EXPECT_EQ(pymemcache_node_id({.host = "10.0.0.1", .port = 11211}), "10.0.0.1:11211");
  EXPECT_EQ(pymemcache_node_id({.host = "::1", .port = 11211}), "::1:11211");
  EXPECT_EQ(pymemcache_node_id({.path = "/run/mc.sock"}), "/run/mc.sock");
}

TEST(RendezvousTest, HighestScoreWins) {
  const Rendezvous rendezvous(node_ids(), KeyHash::murmur3_32);
  for (int i = 0; i < 200; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::size_t winner = rendezvous.server_for_key(key);
    for (std::size_t index = 0; index < 5; ++index) {
      EXPECT_GE(rendezvous.score(winner, key), rendezvous.score(index, key));
    }
    EXPECT_EQ(rendezvous.score(winner, key), murmur3_x86_32(node_ids()[winner] + "-" + key, 0));
  }
}

TEST(RendezvousTest, ATieGoesToTheLargerNodeId) {
  // 15-bit crc scores collide once in 32768 node ids or so (not across keys:
  // CRC is affine, so two fixed node ids differ by a constant per key
  // length). The larger node id wins a tie whichever comes first.
  const std::string key = "k";
  std::size_t ties = 0;
  for (int i = 0; i < 1000000 && ties < 5; ++i) {
    const std::string other = "b" + std::to_string(i);
    const Rendezvous forward({"a:1", other}, KeyHash::crc);
    if (forward.score(0, key) != forward.score(1, key)) continue;
    ++ties;
    EXPECT_EQ(forward.server_for_key(key), 1u) << other;
    EXPECT_EQ(Rendezvous({other, "a:1"}, KeyHash::crc).server_for_key(key), 0u) << other;
  }
  EXPECT_EQ(ties, 5u);
}

TEST(RendezvousTest, RemovingAServerMovesOnlyItsKeys) {
  const Router router(
      {{.host = "10.0.0.1"}, {.host = "10.0.0.2"}, {.host = "10.0.0.3"}, {.host = "10.0.0.4"}},
      {.kind = DistributionKind::rendezvous});
  for (std::size_t dead = 0; dead < 4; ++dead) {
    auto is_live = [dead](std::size_t index) { return index != dead; };
    const std::optional<Router> live = router.live_subset(is_live);
    ASSERT_TRUE(live);
    for (int i = 0; i < 1000; ++i) {
      const std::string key = "key:" + std::to_string(i);
      const std::size_t home = router.server_for_key(key);
      const std::size_t now = live->server_for_key(key);
      if (home != dead) {
        EXPECT_EQ(now, home) << key;
      }
      EXPECT_NE(now, dead);
      EXPECT_EQ(router.live_server_for_key(key, is_live), now);
    }
  }
}

}  // namespace
}  // namespace fastmc::routing
