// SPDX-License-Identifier: MIT
#include "routing/router.hpp"

#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "net/address.hpp"
#include "routing/ketama.hpp"
#include "routing/modula.hpp"

namespace fastmc::routing {
namespace {

std::vector<RoutingServer> five_servers() {
  return {{.host = "10.0.0.1", .port = 11211},
          {.host = "10.0.0.2", .port = 11212},
          {.host = "cache-a.example.com", .port = 11211},
          {.host = "cache-b.example.com", .port = 22122},
          {.host = "192.168.1.5", .port = 11311}};
}

const DistributionKind kAllKinds[] = {
    DistributionKind::modula,
    DistributionKind::ketama,
    DistributionKind::ketama_weighted,
    DistributionKind::ketama_spy,
    DistributionKind::ketama_spy_weighted,
    DistributionKind::libmc,
    DistributionKind::rendezvous,
    DistributionKind::python_memcached,
};

TEST(RouterTest, OneServerTakesEveryKeyWithoutHashing) {
  const Router router(1);
  EXPECT_EQ(router.server_for_key("anything"), 0u);
  EXPECT_EQ(router.server_for_key(""), 0u);
  for (const DistributionKind kind : kAllKinds) {
    const Router one({{.host = "10.0.0.9", .port = 11300}}, {.kind = kind});
    EXPECT_EQ(one.server_for_key("key"), 0u) << distribution_kind_name(kind);
    EXPECT_EQ(one.live_server_for_key("key", [](std::size_t) { return true; }), 0u);
    EXPECT_EQ(one.live_server_for_key("key", [](std::size_t) { return false; }), std::nullopt);
  }
}

TEST(RouterTest, CountConstructorIsLibmemcachedsDefaultModula) {
  const Router router(5);
  EXPECT_EQ(router.server_count(), 5u);
  EXPECT_EQ(router.kind(), DistributionKind::modula);
  EXPECT_EQ(router.key_hash(), KeyHash::one_at_a_time);
  std::vector<int> counts(5);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::size_t server = router.server_for_key(key);
    ASSERT_LT(server, 5u);
    EXPECT_EQ(server, one_at_a_time_hash(key) % 5);
    ++counts[server];
  }
  for (const int count : counts) EXPECT_GT(count, 800);
}

TEST(RouterTest, DefaultHashIsEachPeersOwn) {
  EXPECT_EQ(default_key_hash(DistributionKind::modula), KeyHash::one_at_a_time);
  EXPECT_EQ(default_key_hash(DistributionKind::ketama), KeyHash::one_at_a_time);
  EXPECT_EQ(default_key_hash(DistributionKind::ketama_weighted), KeyHash::md5);
  EXPECT_EQ(default_key_hash(DistributionKind::libmc), KeyHash::md5);
  EXPECT_EQ(default_key_hash(DistributionKind::rendezvous), KeyHash::murmur3_32);
  EXPECT_EQ(default_key_hash(DistributionKind::python_memcached), KeyHash::crc);
  const Router router(five_servers(), {.kind = DistributionKind::libmc, .hash = KeyHash::crc32});
  EXPECT_EQ(router.key_hash(), KeyHash::crc32);
}

TEST(RouterTest, KindNamesRoundTrip) {
  for (const DistributionKind kind : kAllKinds) {
    EXPECT_EQ(distribution_kind_from_name(distribution_kind_name(kind)), kind);
  }
  EXPECT_FALSE(distribution_kind_from_name("random"));
}

TEST(RouterTest, EveryIndexIsAPositionInTheServerList) {
  for (const DistributionKind kind : kAllKinds) {
    const Router router(five_servers(), {.kind = kind});
    std::vector<int> counts(5);
    for (int i = 0; i < 2000; ++i) ++counts.at(router.server_for_key("k" + std::to_string(i)));
    for (const int count : counts) EXPECT_GT(count, 100) << distribution_kind_name(kind);
  }
}

TEST(RouterTest, LiveSubsetAnswersWithIndexesOfTheFullList) {
  for (const DistributionKind kind : kAllKinds) {
    const Router router(five_servers(), {.kind = kind});
    auto is_live = [](std::size_t index) { return index == 1 || index == 3; };
    const std::optional<Router> live = router.live_subset(is_live);
    ASSERT_TRUE(live) << distribution_kind_name(kind);
    EXPECT_EQ(live->server_count(), 5u);
    EXPECT_EQ(live->routed_server_count(), 2u);
    std::vector<int> counts(5);
    for (int i = 0; i < 1000; ++i) ++counts.at(live->server_for_key("k" + std::to_string(i)));
    EXPECT_EQ(counts[0] + counts[2] + counts[4], 0) << distribution_kind_name(kind);
    EXPECT_GT(counts[1], 0);
    EXPECT_GT(counts[3], 0);
    // A subset of a subset is taken from the full list.
    const std::optional<Router> again =
        live->live_subset([](std::size_t index) { return index == 4; });
    ASSERT_TRUE(again);
    EXPECT_EQ(again->server_for_key("anything"), 4u);
  }
}

TEST(RouterTest, LiveSubsetOfNothingIsNothing) {
  const Router router(five_servers(), {.kind = DistributionKind::ketama});
  EXPECT_FALSE(router.live_subset([](std::size_t) { return false; }));
  const Router all = *router.live_subset([](std::size_t) { return true; });
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(all.server_for_key(key), router.server_for_key(key));
  }
}

TEST(RouterTest, WeightedLiveSubsetSpreadsTheDeadServersShare) {
  std::vector<RoutingServer> servers = five_servers();
  for (RoutingServer& server : servers) server.weight = 2;
  const Router router(servers, {.kind = DistributionKind::ketama});
  ASSERT_EQ(router.kind(), DistributionKind::ketama_weighted);
  const std::optional<Router> live =
      router.live_subset([](std::size_t index) { return index != 0; });
  ASSERT_TRUE(live);
  EXPECT_EQ(live->kind(), DistributionKind::ketama_weighted);
}

TEST(RouterTest, PrefixIsHashedOnlyWhenAsked) {
  const Router plain(five_servers(), {.prefix = "app:"});
  const Router hashed(five_servers(), {.prefix = "app:", .hash_with_prefix = true});
  const Router bare(five_servers(), {});
  EXPECT_EQ(plain.routing_key("user"), "user");
  EXPECT_EQ(hashed.routing_key("user"), "app:user");
  for (int i = 0; i < 500; ++i) {
    const std::string key = "user:" + std::to_string(i);
    EXPECT_EQ(plain.server_for_key(key), bare.server_for_key(key));
    EXPECT_EQ(hashed.server_for_key(key), bare.server_for_key("app:" + key));
  }
  // Longer than the stack buffer.
  const std::string long_key(700, 'k');
  const Router libmc(five_servers(),
                     {.kind = DistributionKind::libmc, .prefix = "app:", .hash_with_prefix = true});
  const Router libmc_bare(five_servers(), {.kind = DistributionKind::libmc});
  EXPECT_EQ(libmc.server_for_key(long_key), libmc_bare.server_for_key("app:" + long_key));
}

TEST(RouterTest, LibmemcachedHashesAnOverlongPrefixedKeyToZero) {
  const std::string fits(246, 'k');      // 250 bytes with "app:"
  const std::string too_long(247, 'k');  // 251
  const Modula modula(5, KeyHash::one_at_a_time);
  const KetamaContinuum ketama(five_servers(), KeyHash::one_at_a_time, {});
  for (const DistributionKind kind : {DistributionKind::modula, DistributionKind::ketama}) {
    const HashDistribution& distribution =
        kind == DistributionKind::modula ? static_cast<const HashDistribution&>(modula) : ketama;
    const Router hashed(five_servers(), {.kind = kind, .prefix = "app:", .hash_with_prefix = true});
    EXPECT_EQ(hashed.server_for_key(fits), distribution.server_for_key("app:" + fits));
    EXPECT_EQ(hashed.server_for_key(too_long), distribution.server_for_hash(0));
    EXPECT_EQ(hashed.live_server_for_key(too_long, [](std::size_t) { return true; }),
              distribution.server_for_hash(0));
  }
}

TEST(RouterTest, CopiesAreIndependentAndEqual) {
  Router router(five_servers(), {.kind = DistributionKind::ketama});
  const Router copy = router;
  router = Router(2);
  EXPECT_EQ(copy.server_count(), 5u);
  EXPECT_EQ(router.server_count(), 2u);
  const Router fresh(five_servers(), {.kind = DistributionKind::ketama});
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_EQ(copy.server_for_key(key), fresh.server_for_key(key));
  }
}

TEST(RouterTest, RefusesImpossibleServerLists) {
  EXPECT_THROW(Router(0), std::invalid_argument);
  EXPECT_THROW(Router({}, {.kind = DistributionKind::ketama}), std::invalid_argument);
  EXPECT_THROW(Router({{.host = "a", .weight = 0}, {.host = "b", .weight = 0}},
                      {.kind = DistributionKind::python_memcached}),
               std::invalid_argument);
}

TEST(RouterTest, ServersComeFromParsedAddresses) {
  std::string problem;
  std::vector<net::Address> addresses;
  for (const char* text : {"cache1:11212", "[::1]:11211", "/run/memcached.sock"}) {
    addresses.push_back(*net::parse_address(text, problem));
  }
  addresses[0].weight = 3;
  addresses[0].alias = "one";
  const std::vector<RoutingServer> servers = routing_servers(addresses);
  ASSERT_EQ(servers.size(), 3u);
  EXPECT_EQ(servers[0],
            (RoutingServer{.host = "cache1", .port = 11212, .weight = 3, .alias = "one"}));
  EXPECT_EQ(servers[1].host, "::1");
  EXPECT_EQ(servers[1].port, 11211);
  EXPECT_EQ(servers[2].path, "/run/memcached.sock");
  EXPECT_TRUE(servers[2].host.empty());
}

TEST(RouterTest, FailoverFollowsEachPeer) {
  auto all_dead_but = [](std::size_t live) {
    return [live](std::size_t index) { return index == live; };
  };
  for (const DistributionKind kind :
       {DistributionKind::ketama, DistributionKind::libmc, DistributionKind::rendezvous}) {
    const Router router(five_servers(), {.kind = kind});
    EXPECT_EQ(router.live_server_for_key("key", all_dead_but(3)), 3u);
    EXPECT_EQ(router.live_server_for_key("key", [](std::size_t) { return false; }), std::nullopt);
  }
  const Router modula(five_servers(), {});
  const std::size_t home = modula.server_for_key("key");
  EXPECT_EQ(modula.live_server_for_key("key", all_dead_but(home)), home);
  EXPECT_EQ(modula.live_server_for_key("key", all_dead_but((home + 1) % 5)), std::nullopt);
}

}  // namespace
}  // namespace fastmc::routing
