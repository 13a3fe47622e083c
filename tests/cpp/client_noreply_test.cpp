// SPDX-License-Identifier: MIT
// noreply (StoreOptions::noreply, WriteOptions::noreply) against a real
// memcached, with every protocol: fire and forget fenced by `mn` with "meta"
// and "text_pipelined", by a noop with "binary", the answer awaited and
// dropped with "text" (and binary touch, which has no quiet form). Whatever
// the form, a later call on the same connection reads its own replies and
// nothing else. remove_many and flush_all take noreply the same way.
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fastmc/client.hpp>

#include "support/memcached_process.hpp"

namespace fastmc {
namespace {

using namespace std::chrono_literals;

template <class T>
T ok(Result<T> result) {
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  return result ? std::move(result).value() : T{};
}

// One connection, so that every call follows the noreply ones on it.
Client single_connection_client(const testing::MemcachedProcess& server,
                                const std::string& protocol) {
  return Client({.servers = {server.address()},
                 .timeout = 2000ms,
                 .max_connections_per_server = 1,
                 .protocol = protocol});
}

std::string value_of(Client& mc, std::string_view key) {
  const std::optional<Item> item = ok(mc.get(key));
  return item ? item->value : "<miss>";
}

std::string stat_of(Client& mc, std::string_view name) {
  for (const ServerReply<Stats>& server : mc.stats()) {
    if (!server.reply) continue;
    for (const auto& [stat, value] : *server.reply) {
      if (stat == name) return value;
    }
  }
  return "";
}

class NoreplyTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Protocols, NoreplyTest,
                         ::testing::Values("meta", "text_pipelined", "text", "binary"));

TEST_P(NoreplyTest, ABurstOfNoreplySetsThenAGetReadsTheLastValue) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ok(mc.set("k", "value " + std::to_string(i), {.noreply = true})));
  }
  EXPECT_EQ(value_of(mc, "k"), "value 999");
}

TEST_P(NoreplyTest, EachCallAfterANoreplyOneReadsItsOwnReply) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  for (int i = 0; i < 200; ++i) {
    const std::string key = "k" + std::to_string(i % 7);
    ASSERT_TRUE(ok(mc.set(key, std::to_string(i), {.noreply = true})));
    ASSERT_EQ(value_of(mc, key), std::to_string(i));
    ASSERT_EQ(value_of(mc, "never_set"), "<miss>");
    ASSERT_TRUE(ok(mc.remove(key, {.noreply = true})));
    ASSERT_EQ(value_of(mc, key), "<miss>");
  }
}

TEST_P(NoreplyTest, EveryWriteCanBeNoreply) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  const StoreOptions noreply{.noreply = true};
  EXPECT_TRUE(ok(mc.set("k", "b", noreply)));
  EXPECT_TRUE(ok(mc.append("k", "c", noreply)));
  EXPECT_TRUE(ok(mc.prepend("k", "a", noreply)));
  EXPECT_TRUE(ok(mc.replace("missing", "x", noreply)));
  EXPECT_TRUE(ok(mc.add("new", "n", noreply)));
  EXPECT_EQ(value_of(mc, "k"), "abc");
  EXPECT_EQ(value_of(mc, "new"), "n");
  EXPECT_EQ(value_of(mc, "missing"), "<miss>");
  const std::uint64_t cas = ok(mc.gets("k"))->cas;
  EXPECT_EQ(ok(mc.cas("k", "swapped", cas, noreply)), CasOutcome::stored);
  EXPECT_EQ(ok(mc.cas("k", "stale cas", cas, noreply)), CasOutcome::stored);  // not known
  EXPECT_EQ(value_of(mc, "k"), "swapped");
  ASSERT_TRUE(ok(mc.set("n", "10")));
  // The new value is not known: an empty optional, as for a miss.
  EXPECT_FALSE(ok(mc.incr("n", 5, {.noreply = true})).has_value());
  EXPECT_FALSE(ok(mc.decr("n", 2, {.noreply = true})).has_value());
  EXPECT_EQ(ok(mc.incr("n", 0)), std::optional<std::uint64_t>(13));
  EXPECT_TRUE(ok(mc.touch("n", 100, {.noreply = true})));
  EXPECT_TRUE(ok(mc.touch("missing", 100, {.noreply = true})));
  EXPECT_EQ(value_of(mc, "n"), "13");
}

TEST_P(NoreplyTest, AddOnAnExistingKeyAnswersTrueAndStoresNothing) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  ASSERT_TRUE(ok(mc.set("k", "first")));
  EXPECT_TRUE(ok(mc.add("k", "second", {.noreply = true})));
  EXPECT_EQ(value_of(mc, "k"), "first");
  EXPECT_FALSE(ok(mc.add("k", "third")));
}

TEST_P(NoreplyTest, ARefusedNoreplyRequestLeavesTheNextCallItsOwnAnswer) {
  testing::MemcachedProcess server({.extra_args = {"-I", "1m"}});
  Client mc = single_connection_client(server, GetParam());
  ASSERT_TRUE(ok(mc.set("other", "kept")));
  ASSERT_TRUE(ok(mc.set("word", "not a number")));
  ASSERT_TRUE(ok(mc.set("n", "1")));
  const std::string too_large(2 * 1024 * 1024, 'x');
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(ok(mc.set("big", too_large, {.noreply = true})));
    EXPECT_EQ(value_of(mc, "other"), "kept");
    EXPECT_FALSE(ok(mc.incr("word", 1, {.noreply = true})).has_value());
    EXPECT_EQ(ok(mc.incr("n", 1)), std::optional<std::uint64_t>(2 + round));
    EXPECT_FALSE(ok(mc.incr("word", 1, {.noreply = true})).has_value());
    EXPECT_TRUE(ok(mc.set("other", "kept")));
  }
  EXPECT_EQ(value_of(mc, "big"), "<miss>");
  EXPECT_EQ(value_of(mc, "word"), "not a number");
}

TEST_P(NoreplyTest, SetManyNoreplyStoresEveryEntry) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  std::vector<std::string> keys;
  std::vector<std::string> values;
  std::vector<Entry> entries;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("key" + std::to_string(i));
    values.push_back("v" + std::to_string(i));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) entries.push_back({keys[i], values[i]});
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(ok(mc.set_many(entries, {.noreply = true})).empty());
  }
  std::vector<std::string_view> views(keys.begin(), keys.end());
  const auto items = ok(mc.get_many(views));
  ASSERT_EQ(items.size(), keys.size());
  for (const std::string& key : keys) EXPECT_EQ(items.at(key).value, "v" + key.substr(3));
}

TEST_P(NoreplyTest, SetManyWithoutNoreplyStillNamesTheEntryTheServerRefused) {
  testing::MemcachedProcess server({.extra_args = {"-I", "1m"}});
  Client mc = single_connection_client(server, GetParam());
  const std::string too_large(2 * 1024 * 1024, 'x');
  const std::vector<Entry> entries = {{"a", "1"}, {"b", too_large}, {"c", "3"}};
  EXPECT_EQ(ok(mc.set_many(entries)), std::vector<std::size_t>{1});
  EXPECT_EQ(value_of(mc, "a"), "1");
  EXPECT_EQ(value_of(mc, "c"), "3");
}

TEST_P(NoreplyTest, AnIdleConnectionOwingItsFenceIsKept) {
  // The pool's idle check must not take the MN owed to the next call for
  // bytes the server sent unasked.
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  ASSERT_TRUE(ok(mc.set("k", "0")));
  const std::string connections_before = stat_of(mc, "total_connections");
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE(ok(mc.set("k", std::to_string(i), {.noreply = true})));
    ASSERT_TRUE(ok(mc.set("j", std::to_string(i), {.noreply = true})));
    std::this_thread::sleep_for(5ms);  // past the pool's quiet check delay
    ASSERT_EQ(value_of(mc, "k"), std::to_string(i));
  }
  EXPECT_EQ(stat_of(mc, "total_connections"), connections_before);
}

TEST_P(NoreplyTest, NoreplyWritesToAStoppedServerDoNotKeepItUp) {
  // A stopped server's kernel still takes fire-and-forget bytes: that is no
  // sign of life, so the reads that time out take the server down as usual
  // and the next read fails fast instead of waiting out another timeout.
  testing::MemcachedProcess server;
  Client mc({.servers = {server.address()},
             .timeout = 200ms,
             .failure_limit = 2,
             .retry_timeout = 60s,
             .protocol = GetParam()});
  ASSERT_TRUE(ok(mc.set("k", "v")));
  server.pause();
  for (int i = 0; i < 2; ++i) {
    (void)mc.set("k", "quiet", {.noreply = true});
    EXPECT_FALSE(mc.get("k"));  // times out: a failure
  }
  (void)mc.set("k", "quiet", {.noreply = true});
  const auto started = std::chrono::steady_clock::now();
  const Result<std::optional<Item>> down = mc.get("k");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  server.resume();
  ASSERT_FALSE(down);
  EXPECT_EQ(down.error().code, Errc::server_down) << down.error().message;
  EXPECT_LT(elapsed, 100ms);
}

TEST_P(NoreplyTest, AServerThatCannotBeReachedIsStillReported) {
  testing::MemcachedProcess server;
  const std::string address = server.address();
  server.kill();
  Client mc = Client({.servers = {address}, .timeout = 500ms, .protocol = GetParam()});
  EXPECT_FALSE(mc.set("k", "v", {.noreply = true}).has_value());
  EXPECT_FALSE(mc.remove("k", {.noreply = true}).has_value());
  EXPECT_FALSE(mc.set_many(std::vector<Entry>{{"k", "v"}}, {.noreply = true}).has_value());
  const std::vector<std::string_view> keys = {"k", "j"};
  EXPECT_FALSE(mc.remove_many(keys, {.noreply = true}).has_value());
  EXPECT_FALSE(mc.flush_all(0, {.noreply = true}).has_value());
}

TEST_P(NoreplyTest, AFailedConditionNeitherShiftsRepliesNorCostsTheConnection) {
  // add of an existing key, replace and append of a missing one, delete and
  // incr of a missing one: refusals, not errors (binary: addq, replaceq,
  // appendq, deleteq, incrq answer them, and the answers are dropped).
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  ASSERT_TRUE(ok(mc.set("k", "first")));
  const std::string connections_before = stat_of(mc, "total_connections");
  for (int round = 0; round < 3; ++round) {
    EXPECT_TRUE(ok(mc.add("k", "second", {.noreply = true})));
    EXPECT_TRUE(ok(mc.replace("missing", "x", {.noreply = true})));
    EXPECT_TRUE(ok(mc.append("missing", "x", {.noreply = true})));
    EXPECT_TRUE(ok(mc.remove("missing", {.noreply = true})));
    EXPECT_FALSE(ok(mc.incr("missing", 1, {.noreply = true})).has_value());
    EXPECT_EQ(value_of(mc, "k"), "first");
    EXPECT_FALSE(ok(mc.add("k", "third")));
    EXPECT_EQ(value_of(mc, "missing"), "<miss>");
  }
  EXPECT_EQ(stat_of(mc, "total_connections"), connections_before);
}

TEST_P(NoreplyTest, RemoveManyNoreplyDeletesEveryKey) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  std::vector<std::string> keys;
  for (int i = 0; i < 150; ++i) keys.push_back("key" + std::to_string(i));
  std::vector<std::string_view> views(keys.begin(), keys.end());
  for (int round = 0; round < 3; ++round) {
    for (const std::string& key : keys) ASSERT_TRUE(ok(mc.set(key, "v" + key)));
    // Answered as if every key existed; a missing one is no failure.
    std::vector<std::string_view> with_missing = views;
    with_missing.push_back("never_set");
    EXPECT_EQ(ok(mc.remove_many(with_missing, {.noreply = true})), with_missing.size());
    EXPECT_TRUE(ok(mc.get_many(views)).empty());
    ASSERT_TRUE(ok(mc.set("after", std::to_string(round))));
    EXPECT_EQ(value_of(mc, "after"), std::to_string(round));
  }
  // Without noreply, the count is the server's.
  ASSERT_TRUE(ok(mc.set(keys[0], "v")));
  EXPECT_EQ(ok(mc.remove_many(views)), 1u);
}

TEST_P(NoreplyTest, FlushAllNoreplyEmptiesTheServer) {
  testing::MemcachedProcess server;
  Client mc = single_connection_client(server, GetParam());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(ok(mc.set("a", "1")));
    ASSERT_TRUE(ok(mc.set("b", "2")));
    EXPECT_TRUE(mc.flush_all(0, {.noreply = true}).has_value());
    EXPECT_EQ(value_of(mc, "a"), "<miss>");
    EXPECT_EQ(value_of(mc, "b"), "<miss>");
    ASSERT_TRUE(ok(mc.set("a", "after")));
    EXPECT_EQ(value_of(mc, "a"), "after");
  }
}

// The protocols where noreply is fire and forget: the call returns once its
// request is written, so it returns at once even from a server that has
// stopped reading (SIGSTOP), where an answered call would wait out its
// timeout; the writes land once the server runs again.
class FireAndForgetTest : public ::testing::TestWithParam<std::string> {
 protected:
  // One connection, opened by a first noreply call ("text_pipelined" asks
  // for meta at its first one), so that the calls under test only write.
  Client open_client() {
    Client mc({.servers = {server_.address()},
               .timeout = 1000ms,
               .max_connections_per_server = 1,
               .protocol = GetParam()});
    EXPECT_TRUE(ok(mc.set("gone", "1", {.noreply = true})));
    return mc;
  }

  testing::MemcachedProcess server_;
};

INSTANTIATE_TEST_SUITE_P(Protocols, FireAndForgetTest,
                         ::testing::Values("meta", "text_pipelined", "binary"));

TEST_P(FireAndForgetTest, NoreplyWritesReturnWithoutAwaitingAStoppedServer) {
  Client mc = open_client();
  std::vector<std::string> keys;
  std::vector<std::string> values;  // Entry views them: they must outlive it
  std::vector<Entry> entries;
  for (int i = 0; i < 100; ++i) {
    keys.push_back("key" + std::to_string(i));
    values.push_back("v" + std::to_string(i));
  }
  for (std::size_t i = 0; i < keys.size(); ++i) entries.push_back({keys[i], values[i]});
  const std::vector<std::string_view> gone = {"gone"};
  server_.pause();
  const auto started = std::chrono::steady_clock::now();
  const Result<bool> stored = mc.set("k", "quiet", {.noreply = true});
  const Result<bool> added = mc.add("k", "second", {.noreply = true});
  const Result<std::optional<std::uint64_t>> counted = mc.incr("n", 1, {.noreply = true});
  const Result<std::vector<std::size_t>> many = mc.set_many(entries, {.noreply = true});
  const Result<std::size_t> removed = mc.remove_many(gone, {.noreply = true});
  const auto elapsed = std::chrono::steady_clock::now() - started;
  server_.resume();
  EXPECT_TRUE(ok(Result<bool>(stored)));
  EXPECT_TRUE(ok(Result<bool>(added)));
  EXPECT_FALSE(ok(Result<std::optional<std::uint64_t>>(counted)).has_value());
  EXPECT_TRUE(ok(Result<std::vector<std::size_t>>(many)).empty());
  EXPECT_EQ(ok(Result<std::size_t>(removed)), 1u);
  EXPECT_LT(elapsed, 500ms);
  EXPECT_EQ(value_of(mc, "k"), "quiet");
  EXPECT_EQ(value_of(mc, "gone"), "<miss>");
  std::vector<std::string_view> views(keys.begin(), keys.end());
  EXPECT_EQ(ok(mc.get_many(views)).size(), keys.size());
}

TEST_P(FireAndForgetTest, FlushAllNoreplyReturnsWithoutAwaitingAStoppedServer) {
  Client mc = open_client();
  server_.pause();
  const auto started = std::chrono::steady_clock::now();
  const Result<Done> flushed = mc.flush_all(0, {.noreply = true});
  const auto elapsed = std::chrono::steady_clock::now() - started;
  server_.resume();
  EXPECT_TRUE(flushed.has_value()) << flushed.error().message;
  EXPECT_LT(elapsed, 500ms);
  EXPECT_EQ(value_of(mc, "gone"), "<miss>");
}

// Several threads share one client; each writes its own key, mostly with
// noreply, and reads it back. `connections` connections to the server: with
// one, every call follows the others on it, so each read sees the write just
// before it; with more, a noreply write on one connection may still be
// unprocessed when another connection reads (fire and forget promises no
// order across connections), but a read never sees another key's value or
// one not yet written: no connection ever reads a reply out of step.
void run_threads(const std::string& protocol, std::size_t connections) {
  testing::MemcachedProcess server;
  Client mc({.servers = {server.address()},
             .timeout = 5000ms,
             .max_connections_per_server = connections,
             .protocol = protocol});
  constexpr std::size_t kThreads = 4;
  constexpr int kRounds = 300;
  std::vector<int> wrong(kThreads, 0);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "thread" + std::to_string(t);
      for (int i = 0; i < kRounds; ++i) {
        const bool noreply = i % 3 != 0;
        Result<bool> stored = mc.set(key, std::to_string(i), {.noreply = noreply});
        if (!stored) ADD_FAILURE() << "set: " << stored.error().message;
        if (i % 5 == 0) {
          Result<bool> removed = mc.remove("scratch" + std::to_string(t), {.noreply = true});
          if (!removed) ADD_FAILURE() << "remove: " << removed.error().message;
        }
        Result<std::optional<Item>> item = mc.get(key);
        if (!item) ADD_FAILURE() << "get: " << item.error().message;
        if (!item || !*item) {
          ++wrong[t];
          continue;
        }
        const std::string& value = (*item)->value;
        const bool exact = value == std::to_string(i);
        bool earlier = false;
        for (int j = 0; j < i && !earlier; ++j) earlier = value == std::to_string(j);
        if (!(exact || (connections > 1 && earlier))) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (std::size_t t = 0; t < kThreads; ++t) EXPECT_EQ(wrong[t], 0) << "thread " << t;
}

TEST_P(NoreplyTest, ThreadsSharingOneConnectionEachReadTheirOwnLastWrite) {
  run_threads(GetParam(), 1);
}

TEST_P(NoreplyTest, ThreadsSharingSeveralConnectionsNeverReadAWrongValue) {
  run_threads(GetParam(), 2);
}

}  // namespace
}  // namespace fastmc
