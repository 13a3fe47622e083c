// SPDX-License-Identifier: MIT
// Every fastmc::Client command over the binary protocol (protocol =
// "binary"), against a real memcached that speaks only binary (-B binary),
// and SASL against one started with -S over a database the test creates.
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fastmc/client.hpp>

#include "support/memcached_process.hpp"

namespace fastmc {
namespace {

using namespace std::chrono_literals;

testing::MemcachedProcess::Options binary_only(std::vector<std::string> more = {}) {
  std::vector<std::string> args = {"-B", "binary"};
  args.insert(args.end(), more.begin(), more.end());
  return {.tcp = false, .extra_args = std::move(args)};
}

ClientOptions binary_options(const testing::MemcachedProcess& server) {
  ClientOptions options;
  options.servers = {server.address()};
  options.timeout = 1000ms;
  options.protocol = "binary";
  return options;
}

template <class T>
T ok(Result<T> result) {
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  return result ? std::move(result).value() : T{};
}

TEST(ClientBinaryTest, SetGetAndMiss) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  EXPECT_TRUE(ok(mc.set("greeting", "hello", {.flags = 7})));
  const std::optional<Item> item = ok(mc.get("greeting"));
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->value, "hello");
  EXPECT_EQ(item->flags, 7u);
  EXPECT_FALSE(ok(mc.get("missing")).has_value());
}

TEST(ClientBinaryTest, ConditionalStoresReportWhetherTheyStored) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  EXPECT_FALSE(ok(mc.replace("k", "v")));
  EXPECT_FALSE(ok(mc.append("k", "v")));
  EXPECT_FALSE(ok(mc.prepend("k", "v")));
  EXPECT_TRUE(ok(mc.add("k", "b")));
  EXPECT_FALSE(ok(mc.add("k", "x")));
  EXPECT_TRUE(ok(mc.append("k", "c")));
  EXPECT_TRUE(ok(mc.prepend("k", "a")));
  EXPECT_EQ(ok(mc.get("k"))->value, "abc");
  EXPECT_TRUE(ok(mc.replace("k", "z", {.flags = 3})));
  EXPECT_EQ(ok(mc.get("k"))->flags, 3u);
}

TEST(ClientBinaryTest, CasStoresOnlyWhenTheItemIsUnchanged) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  ASSERT_TRUE(ok(mc.set("k", "1")));
  const std::uint64_t cas = ok(mc.gets("k"))->cas;
  EXPECT_NE(cas, 0u);
  EXPECT_EQ(ok(mc.cas("k", "2", cas)), CasOutcome::stored);
  EXPECT_EQ(ok(mc.cas("k", "3", cas)), CasOutcome::exists);
  EXPECT_EQ(ok(mc.cas("gone", "3", cas)), CasOutcome::not_found);
  EXPECT_EQ(ok(mc.get("k"))->value, "2");
}

TEST(ClientBinaryTest, ArithmeticFailsOnAMissLikeText) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  EXPECT_FALSE(ok(mc.incr("counter")).has_value());
  EXPECT_FALSE(ok(mc.get("counter")).has_value()) << "incr must not create the item";
  ASSERT_TRUE(ok(mc.set("counter", "10")));
  EXPECT_EQ(ok(mc.incr("counter", 5)), 15u);
  EXPECT_EQ(ok(mc.decr("counter", 100)), 0u);
  ASSERT_TRUE(ok(mc.set("text", "abc")));
  const Result<std::optional<std::uint64_t>> bad = mc.incr("text");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, Errc::client_error);
  EXPECT_NE(bad.error().message.find("Non-numeric"), std::string::npos) << bad.error().message;
  // The connection stays usable after an error reply.
  EXPECT_EQ(ok(mc.incr("counter", 2)), 2u);
}

TEST(ClientBinaryTest, TouchGatAndGats) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  EXPECT_FALSE(ok(mc.touch("k", 100)));
  ASSERT_TRUE(ok(mc.set("k", "v", {.flags = 2})));
  EXPECT_TRUE(ok(mc.touch("k", 100)));
  const std::optional<Item> touched = ok(mc.gat("k", 100));
  ASSERT_TRUE(touched.has_value());
  EXPECT_EQ(touched->value, "v");
  EXPECT_EQ(touched->flags, 2u);
  const std::optional<Item> with_cas = ok(mc.gats("k", 100));
  ASSERT_TRUE(with_cas.has_value());
  EXPECT_NE(with_cas->cas, 0u);
  EXPECT_FALSE(ok(mc.gat("missing", 100)).has_value());
  // A negative ttl expires the item at once, as in text.
  EXPECT_TRUE(ok(mc.touch("k", -1)));
  EXPECT_FALSE(ok(mc.get("k")).has_value());
  EXPECT_TRUE(ok(mc.set("k", "v", {.ttl = -1})));
  EXPECT_FALSE(ok(mc.get("k")).has_value());
  EXPECT_TRUE(ok(mc.set("k", "v", {.ttl = 100})));
  EXPECT_TRUE(ok(mc.get("k")).has_value());
}

TEST(ClientBinaryTest, GetManyIsOneQuietBatchWithMissesLeftOut) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  ASSERT_TRUE(ok(mc.set("a", "1")));
  ASSERT_TRUE(ok(mc.set("c", "3", {.flags = 9})));
  const std::vector<std::string_view> keys = {"a", "b", "c", "d"};
  const auto items = ok(mc.get_many(keys));
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items.at("a").value, "1");
  EXPECT_EQ(items.at("c").value, "3");
  EXPECT_EQ(items.at("c").flags, 9u);
  const auto with_cas = ok(mc.gets_many(keys));
  EXPECT_NE(with_cas.at("a").cas, 0u);
  const std::vector<std::string_view> none = {"x", "y"};
  EXPECT_TRUE(ok(mc.get_many(none)).empty());
  // fetch keeps each hit's place in the keys given.
  const FetchedItems fetched = ok(mc.fetch(keys));
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[0].key_index, 0u);
  EXPECT_EQ(fetched[1].key_index, 2u);
}

TEST(ClientBinaryTest, GetManyWithTheSameKeyTwiceAnswersEachRequest) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  ASSERT_TRUE(ok(mc.set("a", "1")));
  const std::vector<std::string_view> keys = {"a", "a"};
  const FetchedItems fetched = ok(mc.fetch(keys));
  ASSERT_EQ(fetched.size(), 2u);
  EXPECT_EQ(fetched[1].key_index, 1u);
}

class Storage final : public ValueStorage {
 public:
  std::span<char> allocate(std::string_view, std::size_t size) override {
    buffers.emplace_back(size, '\0');
    return buffers.back();
  }
  std::vector<std::string> buffers;
};

TEST(ClientBinaryTest, LargeValuesGoStraightIntoTheCallersStorage) {
  testing::MemcachedProcess server(binary_only({"-I", "4m"}));
  Client mc(binary_options(server));
  std::string large(3 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < large.size(); i += 4093) large[i] = static_cast<char>('a' + i % 26);
  ASSERT_TRUE(ok(mc.set("large", large)));
  ASSERT_TRUE(ok(mc.set("small", "s")));
  Storage storage;
  const std::vector<std::string_view> keys = {"large", "small", "missing"};
  const FetchedItems fetched = ok(mc.fetch(keys, {.storage = &storage, .storage_min_size = 1024}));
  ASSERT_EQ(fetched.size(), 2u);
  ASSERT_EQ(storage.buffers.size(), 1u);
  EXPECT_EQ(fetched[0].value.data(), storage.buffers[0].data());
  EXPECT_TRUE(fetched[0].value == large);
  EXPECT_EQ(fetched[1].value, "s");
}

TEST(ClientBinaryTest, SetManyReportsOnlyTheEntriesThatFailed) {
  testing::MemcachedProcess server(binary_only({"-I", "1m"}));
  Client mc(binary_options(server));
  const std::string too_large(2 * 1024 * 1024, 'x');
  const std::vector<Entry> entries = {
      {.key = "a", .value = "1"},
      {.key = "b", .value = too_large},
      {.key = "c", .value = "3", .options = {.flags = 4}},
  };
  EXPECT_EQ(ok(mc.set_many(entries)), std::vector<std::size_t>{1});
  EXPECT_EQ(ok(mc.get("a"))->value, "1");
  EXPECT_EQ(ok(mc.get("c"))->flags, 4u);
  EXPECT_FALSE(ok(mc.get("b")).has_value());
}

TEST(ClientBinaryTest, RemoveAndRemoveMany) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  EXPECT_FALSE(ok(mc.remove("k")));
  ASSERT_TRUE(ok(mc.set("k", "v")));
  EXPECT_TRUE(ok(mc.remove("k")));
  EXPECT_FALSE(ok(mc.get("k")).has_value());
  ASSERT_TRUE(ok(mc.set("a", "1")));
  ASSERT_TRUE(ok(mc.set("b", "2")));
  const std::vector<std::string_view> keys = {"a", "missing", "b"};
  EXPECT_EQ(ok(mc.remove_many(keys)), 2u);
  EXPECT_TRUE(ok(mc.get_many(keys)).empty());
}

TEST(ClientBinaryTest, FlushStatsAndVersion) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  ASSERT_TRUE(ok(mc.set("k", "v")));
  EXPECT_TRUE(mc.flush_all().has_value());
  EXPECT_FALSE(ok(mc.get("k")).has_value());
  const auto versions = mc.version();
  ASSERT_EQ(versions.size(), 1u);
  ASSERT_TRUE(versions[0].reply.has_value()) << versions[0].reply.error().message;
  EXPECT_FALSE(versions[0].reply->empty());
  const auto stats = mc.stats();
  ASSERT_TRUE(stats[0].reply.has_value()) << stats[0].reply.error().message;
  bool has_pid = false;
  for (const auto& [name, value] : *stats[0].reply) has_pid = has_pid || name == "pid";
  EXPECT_TRUE(has_pid);
  const std::vector<std::string_view> settings = {"settings"};
  const auto grouped = mc.stats(settings);
  ASSERT_TRUE(grouped[0].reply.has_value()) << grouped[0].reply.error().message;
  bool has_binding_protocol = false;
  for (const auto& [name, value] : *grouped[0].reply) {
    if (name == "binding_protocol") has_binding_protocol = value == "binary";
  }
  EXPECT_TRUE(has_binding_protocol);
}

TEST(ClientBinaryTest, KeysMayHoldAnyBytesButStayWithin250) {
  testing::MemcachedProcess server(binary_only());
  Client mc(binary_options(server));
  const std::string key("a\0 b\r\nc", 7);
  ASSERT_TRUE(ok(mc.set(key, "nul")));
  EXPECT_EQ(ok(mc.get(key))->value, "nul");
  EXPECT_FALSE(ok(mc.get("a")).has_value()) << "the NUL must not cut the key";
  const std::vector<std::string_view> keys = {key, "other"};
  EXPECT_EQ(ok(mc.get_many(keys)).count(key), 1u);
  ASSERT_TRUE(ok(mc.set(std::string(250, 'k'), "v")));
  const Result<bool> too_long = mc.set(std::string(251, 'k'), "v");
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, Errc::invalid_key);
  const Result<bool> empty = mc.set("", "v");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, Errc::invalid_key);
}

TEST(ClientBinaryTest, AValueAboveTheServersLimitIsValueTooLarge) {
  testing::MemcachedProcess server(binary_only({"-I", "1m"}));
  Client mc(binary_options(server));
  const Result<bool> stored = mc.set("big", std::string(2 * 1024 * 1024, 'x'));
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().code, Errc::value_too_large) << stored.error().message;
  EXPECT_TRUE(ok(mc.set("after", "ok")));
}

TEST(ClientBinaryTest, WorksOnAServerThatAlsoSpeaksText) {
  testing::MemcachedProcess server;  // -B auto, memcached's default
  Client mc(binary_options(server));
  ASSERT_TRUE(ok(mc.set("k", "v")));
  ClientOptions text = binary_options(server);
  text.protocol = "text";
  Client text_client(text);
  EXPECT_EQ(ok(text_client.get("k"))->value, "v");
}

// SASL ------------------------------------------------------------------------

testing::MemcachedProcess::Options with_sasl() {
  return {.tcp = false, .extra_args = {}, .sasl_users = {{"alice", "wonderland"}, {"bob", "b0b"}}};
}

ClientOptions sasl_options(const testing::MemcachedProcess& server, std::string username,
                           std::string password) {
  ClientOptions options = binary_options(server);
  options.username = std::move(username);
  options.password = std::move(password);
  return options;
}

TEST(ClientSaslTest, RightCredentialsReachEveryCommand) {
  testing::MemcachedProcess server(with_sasl());
  Client mc(sasl_options(server, "alice", "wonderland"));
  EXPECT_TRUE(ok(mc.set("k", "v")));
  EXPECT_EQ(ok(mc.get("k"))->value, "v");
  const std::vector<std::string_view> keys = {"k", "missing"};
  EXPECT_EQ(ok(mc.get_many(keys)).size(), 1u);
  EXPECT_TRUE(mc.flush_all().has_value());
  Client other(sasl_options(server, "bob", "b0b"));
  EXPECT_TRUE(ok(other.set("k", "bob's")));
}

TEST(ClientSaslTest, WrongPasswordIsAuthFailedQuickly) {
  testing::MemcachedProcess server(with_sasl());
  Client mc(sasl_options(server, "alice", "wrong"));
  const auto started = std::chrono::steady_clock::now();
  for (int attempt = 0; attempt < 3; ++attempt) {
    const Result<bool> stored = mc.set("k", "v");
    ASSERT_FALSE(stored.has_value());
    EXPECT_EQ(stored.error().code, Errc::auth_failed) << stored.error().message;
  }
  // Every attempt still says why: the server is not marked down.
  EXPECT_LT(std::chrono::steady_clock::now() - started, 500ms);
}

TEST(ClientSaslTest, UnknownUserIsAuthFailed) {
  testing::MemcachedProcess server(with_sasl());
  Client mc(sasl_options(server, "mallory", "wonderland"));
  const Result<std::optional<Item>> item = mc.get("k");
  ASSERT_FALSE(item.has_value());
  EXPECT_EQ(item.error().code, Errc::auth_failed);
}

TEST(ClientSaslTest, NoCredentialsAgainstASaslServerIsAuthFailed) {
  testing::MemcachedProcess server(with_sasl());
  Client mc(binary_options(server));
  const Result<bool> stored = mc.set("k", "v");
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().code, Errc::auth_failed) << stored.error().message;
  const std::vector<std::string_view> keys = {"a", "b"};
  const auto items = mc.get_many(keys);
  ASSERT_FALSE(items.has_value());
  EXPECT_EQ(items.error().code, Errc::auth_failed) << items.error().message;
}

TEST(ClientSaslTest, CredentialsAgainstAServerWithoutSaslAreAuthFailed) {
  testing::MemcachedProcess server(binary_only());
  Client mc(sasl_options(server, "alice", "wonderland"));
  const Result<bool> stored = mc.set("k", "v");
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().code, Errc::auth_failed) << stored.error().message;
}

TEST(ClientSaslTest, EachNewConnectionAuthenticates) {
  testing::MemcachedProcess server(with_sasl());
  Client mc(sasl_options(server, "alice", "wonderland"));
  ASSERT_TRUE(ok(mc.set("k", "1")));
  mc.close();  // drops the idle connection; the next call opens and authenticates another
  EXPECT_EQ(ok(mc.get("k"))->value, "1");
  server.restart();
  // The first call after a restart finds its pooled connection stale and
  // retries on a fresh, freshly authenticated one.
  EXPECT_FALSE(ok(mc.get("k")).has_value());
  EXPECT_TRUE(ok(mc.set("k", "2")));
}

TEST(ClientSaslTest, AServerThatStallsDuringAuthenticationCostsTheTimeoutNotAHang) {
  testing::MemcachedProcess server(with_sasl());
  ClientOptions options = sasl_options(server, "alice", "wonderland");
  options.timeout = 200ms;
  Client mc(options);
  server.pause();  // connects are accepted; the SASL list is never answered
  const auto started = std::chrono::steady_clock::now();
  const Result<bool> stored = mc.set("k", "v");
  const auto elapsed = std::chrono::steady_clock::now() - started;
  server.resume();
  ASSERT_FALSE(stored.has_value());
  EXPECT_EQ(stored.error().code, Errc::timed_out) << stored.error().message;
  EXPECT_LT(elapsed, 1s);
  EXPECT_TRUE(ok(mc.set("k", "v")));
}

TEST(ClientSaslTest, ThreadsAuthenticateTheirOwnConnectionsAtOnce) {
  testing::MemcachedProcess server(with_sasl());
  Client mc(sasl_options(server, "alice", "wonderland"));
  constexpr std::size_t kThreads = 8;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (std::size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string key = "k" + std::to_string(t);
      for (int i = 0; i < 20; ++i) {
        const Result<bool> stored = mc.set(key, std::to_string(i));
        const Result<std::optional<Item>> item = mc.get(key);
        if (!stored || !item || !*item || (*item)->value != std::to_string(i)) ++failures[t];
        if (i % 5 == 0) mc.close();  // the next call opens and authenticates anew
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (std::size_t t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace fastmc
