// SPDX-License-Identifier: MIT
#include <atomic>
#include <chrono>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fastmc/client.hpp>

#include "support/memcached_process.hpp"

namespace fastmc {
namespace {

using namespace std::chrono_literals;

Client client_for(const testing::MemcachedProcess& server,
                  std::chrono::milliseconds timeout = 500ms) {
  return Client({.servers = {server.address()}, .timeout = timeout});
}

// The value of a call that must succeed (by value: the Result is a temporary).
template <class T>
T ok(Result<T> result) {
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  return result ? std::move(result).value() : T{};
}

TEST(ClientTest, SetThenGetReturnsTheValueAndFlags) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  EXPECT_TRUE(ok(mc.set("greeting", "hello", {.flags = 7})));
  const std::optional<Item> item = ok(mc.get("greeting"));
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->value, "hello");
  EXPECT_EQ(item->flags, 7u);
}

TEST(ClientTest, AMissIsAnEmptyOptionalNotAnError) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  EXPECT_FALSE(ok(mc.get("missing")).has_value());
}

TEST(ClientTest, ConditionalStoresReportWhetherTheyStored) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  EXPECT_FALSE(ok(mc.replace("k", "v")));
  EXPECT_FALSE(ok(mc.append("k", "v")));
  EXPECT_TRUE(ok(mc.add("k", "b")));
  EXPECT_FALSE(ok(mc.add("k", "x")));
  EXPECT_TRUE(ok(mc.append("k", "c")));
  EXPECT_TRUE(ok(mc.prepend("k", "a")));
  EXPECT_EQ(ok(mc.get("k"))->value, "abc");
  EXPECT_TRUE(ok(mc.replace("k", "z")));
  EXPECT_EQ(ok(mc.get("k"))->value, "z");
}

TEST(ClientTest, CasStoresOnlyWhenTheItemIsUnchanged) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "1")));
  const std::uint64_t cas = ok(mc.gets("k"))->cas;
  EXPECT_NE(cas, 0u);
  EXPECT_EQ(ok(mc.cas("k", "2", cas)), CasOutcome::stored);
  EXPECT_EQ(ok(mc.cas("k", "3", cas)), CasOutcome::exists);
  EXPECT_EQ(ok(mc.cas("gone", "3", cas)), CasOutcome::not_found);
  EXPECT_EQ(ok(mc.get("k"))->value, "2");
}

TEST(ClientTest, ArithmeticFollowsMemcachedsRules) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  EXPECT_FALSE(ok(mc.incr("counter")).has_value());
  ASSERT_TRUE(ok(mc.set("counter", "10")));
  EXPECT_EQ(ok(mc.incr("counter", 5)), 15u);
  EXPECT_EQ(ok(mc.decr("counter", 100)), 0u);  // decr stops at zero
  ASSERT_TRUE(ok(mc.set("counter", "18446744073709551615")));
  EXPECT_EQ(ok(mc.incr("counter")), 0u);  // incr wraps
  ASSERT_TRUE(ok(mc.set("text", "abc")));
  const Result<std::optional<std::uint64_t>> bad = mc.incr("text");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::client_error);
  EXPECT_EQ(ok(mc.get("text"))->value, "abc");  // the connection is still in step
}

TEST(ClientTest, DeleteTouchAndGatReportExistence) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));
  EXPECT_TRUE(ok(mc.touch("k", 100)));
  EXPECT_FALSE(ok(mc.touch("missing", 100)));
  EXPECT_EQ(ok(mc.gat("k", 200))->value, "v");
  const std::optional<Item> touched = ok(mc.gats("k", 300));
  ASSERT_TRUE(touched.has_value());
  EXPECT_NE(touched->cas, 0u);
  EXPECT_TRUE(ok(mc.remove("k")));
  EXPECT_FALSE(ok(mc.remove("k")));
  EXPECT_FALSE(ok(mc.gat("k", 1)).has_value());
}

TEST(ClientTest, GetManyReturnsTheHitsOnly) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  std::vector<Entry> entries;
  std::vector<std::string> keys;
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i) keys.push_back("key:" + std::to_string(i));
  for (std::size_t i = 0; i < 100; i += 2) values.push_back(keys[i] + ":value");
  for (std::size_t i = 0; i < 100; i += 2) entries.push_back({keys[i], values[i / 2]});
  EXPECT_TRUE(ok(mc.set_many(entries)).empty());
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const auto items = ok(mc.get_many(views));
  ASSERT_EQ(items.size(), 50u);
  for (std::size_t i = 0; i < 100; i += 2) EXPECT_EQ(items.at(keys[i]).value, keys[i] + ":value");

  const Result<FetchedItems> fetched = mc.fetch(views, {.with_cas = true});
  ASSERT_TRUE(fetched);
  ASSERT_EQ(fetched->size(), 50u);
  for (std::size_t i = 0; i < fetched->size(); ++i) {
    const ItemView item = (*fetched)[i];
    EXPECT_EQ(item.key, views[item.key_index]);
    EXPECT_NE(item.cas, 0u);
  }
}

TEST(ClientTest, KeyPrefixIsOnTheWireAndNotInTheKeysHandedBack) {
  testing::MemcachedProcess server;
  Client mc({.servers = {server.address()}, .key_prefix = "app:"});
  Client plain = client_for(server);
  EXPECT_TRUE(ok(mc.set("k", "v")));
  EXPECT_EQ(ok(plain.get("app:k"))->value, "v");
  EXPECT_FALSE(ok(plain.get("k")).has_value());
  const std::string_view keys[] = {"k", "absent"};
  const auto items = ok(mc.get_many(keys));
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items.at("k").value, "v");
  const Entry entries[] = {{"a", "1"}, {"b", "2"}};
  EXPECT_TRUE(ok(mc.set_many(entries)).empty());
  EXPECT_EQ(ok(mc.incr("a", 2)), std::optional<std::uint64_t>(3));
  EXPECT_TRUE(ok(mc.touch("b", 100)));
  EXPECT_TRUE(ok(mc.remove("k")));
  const std::string_view both[] = {"a", "b"};
  EXPECT_EQ(ok(mc.remove_many(both)), 2u);
  // The prefix counts toward memcached's 250-byte limit.
  EXPECT_EQ(mc.set(std::string(247, 'k'), "v").error().code, Errc::invalid_key);
}

TEST(ClientTest, TouchingManyKeysSplitsTheLinesMemcachedWouldDrop) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  std::vector<std::string> keys;
  std::vector<Entry> entries;
  for (int i = 0; i < 400; ++i) keys.push_back(std::string(100, 'k') + std::to_string(i));
  for (const std::string& key : keys) entries.push_back({key, key});
  ASSERT_TRUE(ok(mc.set_many(entries)).empty());
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const Result<FetchedItems> touched =
      mc.fetch(views, {.with_cas = true, .touch = true, .ttl = 60});
  ASSERT_TRUE(touched) << touched.error().message;
  ASSERT_EQ(touched->size(), 400u);
  for (std::size_t i = 0; i < touched->size(); ++i) {
    EXPECT_EQ((*touched)[i].value, (*touched)[i].key);
  }
}

TEST(ClientTest, SetManyReportsTheEntriesThatWereNotStored) {
  testing::MemcachedProcess server({.extra_args = {"-I", "1m"}});
  Client mc = client_for(server);
  const std::string too_big(2 * 1024 * 1024, 'x');
  const std::vector<Entry> entries = {{"a", "1"}, {"b", too_big}, {"c", "3"}};
  EXPECT_EQ(ok(mc.set_many(entries)), std::vector<std::size_t>{1});
  EXPECT_EQ(ok(mc.get("a"))->value, "1");
  EXPECT_EQ(ok(mc.get("c"))->value, "3");
  EXPECT_FALSE(ok(mc.get("b")).has_value());
}

TEST(ClientTest, RemoveManyCountsTheKeysThatExisted) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("a", "1")));
  ASSERT_TRUE(ok(mc.set("b", "2")));
  const std::string_view keys[] = {"a", "b", "c"};
  EXPECT_EQ(ok(mc.remove_many(keys)), 2u);
}

TEST(ClientTest, ValueAboveTheServersItemSizeIsValueTooLargeAndTheConnectionStaysUsable) {
  testing::MemcachedProcess server({.extra_args = {"-I", "1m"}});
  Client mc = client_for(server);
  const Result<bool> stored = mc.set("big", std::string(2 * 1024 * 1024, 'x'));
  ASSERT_FALSE(stored);
  EXPECT_EQ(stored.error().code, Errc::value_too_large);
  EXPECT_NE(stored.error().message.find(server.address().substr(5)), std::string::npos);
  ASSERT_TRUE(ok(mc.set("small", "ok")));
  EXPECT_EQ(ok(mc.get("small"))->value, "ok");
}

TEST(ClientTest, LargeValuesRoundTrip) {
  testing::MemcachedProcess server({.extra_args = {"-I", "2m"}});
  Client mc = client_for(server);
  for (const std::size_t size : {100u * 1024u, 900u * 1024u}) {
    std::string value(size, '\0');
    for (std::size_t i = 0; i < size; ++i) value[i] = static_cast<char>(i * 7);
    ASSERT_TRUE(ok(mc.set("large", value)));
    EXPECT_EQ(ok(mc.get("large"))->value, value);
  }
}

// Hands out one buffer per value, recording the sizes asked for.
class RecordingStorage final : public ValueStorage {
 public:
  std::span<char> allocate(std::string_view key, std::size_t size) override {
    keys.emplace_back(key);
    buffers.emplace_back(size, '\0');
    return {buffers.back().data(), size};
  }
  std::vector<std::string> keys;
  std::deque<std::string> buffers;
};

TEST(ClientTest, LargeValuesAreReceivedStraightIntoTheCallersStorage) {
  testing::MemcachedProcess server({.extra_args = {"-I", "2m"}});
  Client mc = client_for(server);
  std::string large(900 * 1024, '\0');
  for (std::size_t i = 0; i < large.size(); ++i) large[i] = static_cast<char>(i % 251);
  ASSERT_TRUE(ok(mc.set("large", large)));
  ASSERT_TRUE(ok(mc.set("small", "tiny")));
  RecordingStorage storage;
  const std::string_view keys[] = {"small", "large", "missing"};
  const Result<FetchedItems> fetched = mc.fetch(keys, {.storage = &storage});
  ASSERT_TRUE(fetched);
  ASSERT_EQ(fetched->size(), 2u);
  EXPECT_EQ(storage.keys, std::vector<std::string>{"large"});
  for (std::size_t i = 0; i < fetched->size(); ++i) {
    const ItemView item = (*fetched)[i];
    if (item.key == "large") {
      EXPECT_EQ(item.value.data(), storage.buffers.front().data());
      EXPECT_EQ(item.value, large);
    } else {
      EXPECT_EQ(item.value, "tiny");
    }
  }
}

TEST(ClientTest, InvalidKeysAreRejectedBeforeAnythingIsSent) {
  // No server listens here: any attempt to send would be a connect error.
  // (With the meta protocol these keys are binary keys: see meta_client_test.)
  Client mc({.servers = {"127.0.0.1:1"}, .protocol = "text"});
  for (const std::string_view key :
       {std::string_view("has space"), std::string_view("crlf\r\n"), std::string_view("nul\0x", 5),
        std::string_view("tab\t"), std::string_view("del\x7f"), std::string_view("")}) {
    const Result<std::optional<Item>> item = mc.get(key);
    ASSERT_FALSE(item);
    EXPECT_EQ(item.error().code, Errc::invalid_key) << item.error().message;
  }
  EXPECT_EQ(mc.set(std::string(251, 'k'), "v").error().code, Errc::invalid_key);
  const std::string_view keys[] = {"ok", "not ok"};
  EXPECT_EQ(mc.fetch(keys).error().code, Errc::invalid_key);
}

TEST(ClientTest, AStoppedServerTimesOutAndTheNextCallGetsItsOwnValue) {
  testing::MemcachedProcess server;
  Client mc = client_for(server, 200ms);
  ASSERT_TRUE(ok(mc.set("first", "1")));
  ASSERT_TRUE(ok(mc.set("second", "2")));
  server.pause();
  const auto started = std::chrono::steady_clock::now();
  const Result<std::optional<Item>> stalled = mc.get("first");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  server.resume();
  ASSERT_FALSE(stalled);
  EXPECT_EQ(stalled.error().code, Errc::timed_out);
  EXPECT_LT(elapsed, 260ms);
  // The late reply for "first" must never be taken for "second"'s.
  EXPECT_EQ(ok(mc.get("second"))->value, "2");
}

TEST(ClientTest, AKilledServerIsAConnectionErrorAndARestartRecovers) {
  testing::MemcachedProcess server({.tcp = true});
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));
  server.kill();
  const Result<std::optional<Item>> down = mc.get("k");
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::connect_failed) << down.error().message;
  server.restart();
  EXPECT_FALSE(ok(mc.get("k")).has_value());  // a cold cache: a miss, not an error
  EXPECT_TRUE(ok(mc.set("k", "again")));
}

TEST(ClientTest, LiveServerForKeyFollowsTheDeadServerPolicy) {
  testing::MemcachedProcess first({.tcp = true});
  testing::MemcachedProcess second({.tcp = true});
  const std::vector<std::string> servers = {first.address(), second.address()};
  Client failover({.servers = servers,
                   .distribution = "libmc",
                   .timeout = 500ms,
                   .failure_limit = 1,
                   .retry_timeout = 60s,
                   .dead_server_policy = "failover"});
  Client strict({.servers = servers,
                 .distribution = "libmc",
                 .timeout = 500ms,
                 .failure_limit = 1,
                 .retry_timeout = 60s});
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string candidate = "key" + std::to_string(i);
    if (ok(failover.server_for_key(candidate)) == first.address()) key = candidate;
  }
  EXPECT_EQ(ok(failover.live_server_for_key(key)), std::optional<std::string>(first.address()));
  first.kill();
  EXPECT_FALSE(failover.get(key));  // the failure that takes the server down
  EXPECT_FALSE(strict.get(key));
  EXPECT_EQ(ok(failover.live_server_for_key(key)), std::optional<std::string>(second.address()));
  EXPECT_EQ(ok(strict.live_server_for_key(key)), std::nullopt);
  EXPECT_EQ(ok(strict.server_for_key(key)), first.address());  // the placement is unchanged
  EXPECT_EQ(strict.live_server_for_key(std::string(300, 'k')).error().code, Errc::invalid_key);
}

TEST(ClientTest, PauseAfterFailureFailsFastWhereTheKeyIsUntilTheLimitEjectsTheServer) {
  testing::MemcachedProcess first({.tcp = true});
  testing::MemcachedProcess second({.tcp = true});
  Client mc({.servers = {first.address(), second.address()},
             .distribution = "ketama",
             .timeout = 500ms,
             .failure_limit = 3,
             .retry_timeout = 300ms,
             .pause_after_failure = true,
             .dead_server_policy = "auto_eject"});
  std::string key;
  for (int i = 0; key.empty(); ++i) {
    const std::string candidate = "key" + std::to_string(i);
    if (ok(mc.server_for_key(candidate)) == first.address()) key = candidate;
  }
  ASSERT_TRUE(ok(mc.set(key, "v")));
  first.kill();
  for (int failure = 1; failure < 3; ++failure) {
    const Result<std::optional<Item>> refused = mc.get(key);  // tries the server
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, Errc::connect_failed) << refused.error().message;
    // Paused: the key fails fast where it is, and does not move.
    const auto started = std::chrono::steady_clock::now();
    const Result<std::optional<Item>> paused = mc.get(key);
    ASSERT_FALSE(paused);
    EXPECT_EQ(paused.error().code, Errc::server_paused) << paused.error().message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 50ms);
    EXPECT_EQ(ok(mc.live_server_for_key(key)), std::nullopt);
    EXPECT_FALSE(mc.set(key, "elsewhere"));
    std::this_thread::sleep_for(320ms);  // the pause ends: the next call probes
  }
  // The third failure reaches failure_limit: the server is ejected, and its
  // keys go to the live server.
  EXPECT_FALSE(mc.get(key));
  EXPECT_EQ(ok(mc.live_server_for_key(key)), std::optional<std::string>(second.address()));
  EXPECT_TRUE(ok(mc.set(key, "moved")));
  EXPECT_EQ(ok(mc.get(key))->value, "moved");
}

TEST(ClientTest, ARoutingKeyIsPlacedAsAKeyAndRecordedOutcomesCountTowardHealth) {
  testing::MemcachedProcess first({.tcp = true});
  testing::MemcachedProcess second({.tcp = true});
  Client mc({.servers = {first.address(), second.address()},
             .distribution = "rendezvous",
             .key_prefix = "ns:",
             .failure_limit = 1,
             .retry_timeout = 60s,
             .dead_server_policy = "failover"});
  for (int i = 0; i < 50; ++i) {
    const std::string key = "b'key" + std::to_string(i) + "'";
    EXPECT_EQ(mc.server_for_routing_key(key, false), ok(mc.server_for_key(key)));
  }
  // Only hashed: bytes no key may hold, and longer than a key, are placed.
  const std::string routing_key = std::string(300, ' ') + std::string(1, '\0');
  const std::string home = mc.server_for_routing_key(routing_key, false).value();
  const std::string other = home == first.address() ? second.address() : first.address();
  EXPECT_EQ(mc.server_for_routing_key(routing_key, true), std::optional<std::string>(home));
  EXPECT_TRUE(mc.record_server_outcome(home, false));  // failure_limit 1: down
  EXPECT_EQ(mc.server_for_routing_key(routing_key, true), std::optional<std::string>(other));
  EXPECT_EQ(mc.server_for_routing_key(routing_key, false), std::optional<std::string>(home));
  EXPECT_TRUE(mc.record_server_outcome(home, true));
  EXPECT_EQ(mc.server_for_routing_key(routing_key, true), std::optional<std::string>(home));
  EXPECT_FALSE(mc.record_server_outcome("nowhere:1", false));
}

TEST(ClientTest, TheFirstReadAfterARestartSucceedsOnAFreshConnection) {
  testing::MemcachedProcess server({.tcp = true});
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));  // leaves an idle pooled connection
  server.restart();
  EXPECT_FALSE(ok(mc.get("k")).has_value());
}

TEST(ClientTest, StatsVersionAndFlushReachEveryServer) {
  testing::MemcachedProcess first;
  testing::MemcachedProcess second;
  Client mc({.servers = {first.address(), second.address()}});
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(ok(mc.set("k" + std::to_string(i), "v")));
  const auto stats = mc.stats();
  ASSERT_EQ(stats.size(), 2u);
  std::size_t items = 0;
  for (const auto& server : stats) {
    for (const auto& [name, value] : ok(server.reply)) {
      if (name == "curr_items") items += std::stoul(value);
    }
  }
  EXPECT_EQ(items, 20u);
  for (const auto& version : mc.version()) EXPECT_FALSE(ok(version.reply).empty());
  ASSERT_TRUE(mc.flush_all());
  EXPECT_FALSE(ok(mc.get("k1")).has_value());
}

TEST(ClientTest, KeysSpreadOverServersComeBackFromEach) {
  testing::MemcachedProcess first;
  testing::MemcachedProcess second({.tcp = true});
  Client mc({.servers = {first.address(), second.address()}});
  std::vector<std::string> keys;
  std::vector<Entry> entries;
  for (int i = 0; i < 200; ++i) keys.push_back("spread:" + std::to_string(i));
  for (const std::string& key : keys) entries.push_back({key, key});
  EXPECT_TRUE(ok(mc.set_many(entries)).empty());
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const auto items = ok(mc.get_many(views));
  ASSERT_EQ(items.size(), 200u);
  for (const auto& [key, item] : items) EXPECT_EQ(item.value, key);
  EXPECT_EQ(ok(mc.remove_many(views)), 200u);
}

TEST(ClientTest, EightThreadsSharingOneClientNeverSeeAnotherKeysValue) {
  testing::MemcachedProcess server;
  Client mc({.servers = {server.address()}, .timeout = 2s, .max_connections_per_server = 4});
  std::atomic<int> mismatches{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 400; ++i) {
        const std::string key = "t" + std::to_string(t) + ":" + std::to_string(i % 20);
        const std::string value = key + "|" + std::to_string(i);
        if (!mc.set(key, value)) ++errors;
        const auto item = mc.get(key);
        if (!item || !*item) {
          ++errors;
        } else if ((*item)->value.rfind(key + "|", 0) != 0) {
          ++mismatches;
        }
        const std::string_view many[] = {key, "t0:0", "t7:19"};
        const auto fetched = mc.fetch(many);
        if (!fetched) {
          ++errors;
          continue;
        }
        for (std::size_t h = 0; h < fetched->size(); ++h) {
          const ItemView hit = (*fetched)[h];
          if (hit.value.substr(0, hit.key.size() + 1) != std::string(hit.key) + "|") ++mismatches;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(errors.load(), 0);
}

TEST(ClientTest, ServerListChangesWhileThreadsUseTheClient) {
  testing::MemcachedProcess first;
  testing::MemcachedProcess second;
  testing::MemcachedProcess third;
  const std::vector<std::string> all = {first.address(), second.address(), third.address()};
  Client mc({.servers = all, .distribution = "ketama", .timeout = 2s});
  std::vector<std::string> keys;
  std::vector<Entry> entries;
  for (int i = 0; i < 60; ++i) keys.push_back("moving:" + std::to_string(i));
  for (const std::string& key : keys) entries.push_back({key, key});
  ASSERT_TRUE(ok(mc.set_many(entries)).empty());
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  std::atomic<bool> stop{false};
  std::atomic<int> wrong{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop) {
        const Result<FetchedItems> fetched = mc.fetch(views);
        if (!fetched) {
          ++errors;
          continue;
        }
        for (std::size_t i = 0; i < fetched->size(); ++i) {
          if ((*fetched)[i].value != (*fetched)[i].key) ++wrong;
        }
      }
    });
  }
  for (int i = 0; i < 40; ++i) {
    mc.set_servers({all.begin(), all.begin() + 1 + i % 3});
  }
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_THROW(mc.set_servers({"host:0"}), std::invalid_argument);
  EXPECT_EQ(mc.servers().size(), 1u);  // the last list set: one server
}

TEST(ClientTest, BadServerStringsThrowNamingTheEntry) {
  EXPECT_THROW(Client({.servers = {}}), std::invalid_argument);
  try {
    Client mc({.servers = {"host:99999"}});
    FAIL();
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("host:99999"), std::string::npos);
  }
}

}  // namespace
}  // namespace fastmc
