// SPDX-License-Identifier: MIT
// The client's meta-protocol calls and binary keys, against real memcached.
// (client_test.cpp covers the classic calls, which go out as meta by default.)
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

Client client_for(const testing::MemcachedProcess& server, std::string protocol = "meta",
                  bool digest_long_keys = false) {
  return Client({.servers = {server.address()},
                 .timeout = 1000ms,
                 .protocol = std::move(protocol),
                 .digest_long_keys = digest_long_keys});
}

template <class T>
T ok(Result<T> result) {
  EXPECT_TRUE(result.has_value()) << (result ? "" : result.error().message);
  return result ? std::move(result).value() : T{};
}

// ---- get_item: every return flag and modifier exposed

TEST(ClientMetaTest, GetItemReturnsValueFlagsCasAndTtl) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const StoreResult stored = ok(mc.store("k", "v", {.ttl = 100, .flags = 9}));
  ASSERT_TRUE(stored.stored());
  const std::optional<MetaItem> item = ok(mc.get_item("k"));
  ASSERT_TRUE(item);
  EXPECT_EQ(item->value, "v");
  EXPECT_EQ(item->flags, 9u);
  EXPECT_EQ(item->cas, stored.cas);
  EXPECT_GE(item->ttl, 99);
  EXPECT_LE(item->ttl, 100);
  EXPECT_FALSE(item->last_access);
  EXPECT_FALSE(item->hit_before);
  EXPECT_FALSE(item->stale || item->won || item->already_won);
  EXPECT_FALSE(ok(mc.get_item("missing")));
}

TEST(ClientMetaTest, GetItemWithoutTtlSaysNeverExpires) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));
  EXPECT_EQ(ok(mc.get_item("k"))->ttl, -1);
}

TEST(ClientMetaTest, HitBeforeAndLastAccess) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));
  const ReadOptions options{.with_last_access = true, .with_hit_before = true};
  const std::optional<MetaItem> first = ok(mc.get_item("k", options));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->hit_before, false);
  ASSERT_TRUE(first->last_access);
  EXPECT_LE(*first->last_access, 1u);
  std::this_thread::sleep_for(2100ms);
  const std::optional<MetaItem> second = ok(mc.get_item("k", options));
  EXPECT_EQ(second->hit_before, true);
  ASSERT_TRUE(second->last_access);
  EXPECT_GE(*second->last_access, 1u);
}

TEST(ClientMetaTest, TouchOnReadResetsTheTtl) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v", {.ttl = 100})));
  const std::optional<MetaItem> item = ok(mc.get_item("k", {.touch_ttl = 5000}));
  ASSERT_TRUE(item);
  EXPECT_GE(item->ttl, 4999);
  EXPECT_GE(ok(mc.get_item("k"))->ttl, 4998);
  EXPECT_FALSE(ok(mc.get_item("missing", {.touch_ttl = 10})));
}

TEST(ClientMetaTest, OpaqueIsEchoedAndCheckedBeforeSending) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));
  EXPECT_EQ(ok(mc.get_item("k", {.opaque = "req-42"}))->opaque, "req-42");
  EXPECT_EQ(ok(mc.store("k", "w", {.opaque = "s1"})).opaque, "s1");
  EXPECT_EQ(ok(mc.arithmetic("n", {.initial = 1, .opaque = "a9"}))->opaque, "a9");
  const std::string too_long(32, 'o');
  for (const std::string_view bad :
       {std::string_view("has space"), std::string_view("x\r\n"), std::string_view(too_long)}) {
    const auto read = mc.get_item("k", {.opaque = bad});
    ASSERT_FALSE(read);
    EXPECT_EQ(read.error().code, Errc::invalid_argument);
  }
  EXPECT_EQ(ok(mc.get_item("k"))->value, "w");  // the connection is still in step
}

// ---- store: cas on writes, modes, compare-and-swap

TEST(ClientMetaTest, StoreReturnsTheNewCasAndComparesIt) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const StoreResult first = ok(mc.store("k", "1"));
  ASSERT_TRUE(first.stored());
  EXPECT_NE(first.cas, 0u);
  const StoreResult second = ok(mc.store("k", "2", {.compare_cas = first.cas}));
  ASSERT_TRUE(second.stored());
  EXPECT_GT(second.cas, first.cas);
  const StoreResult stale = ok(mc.store("k", "3", {.compare_cas = first.cas}));
  EXPECT_EQ(stale.status, StoreStatus::exists);
  EXPECT_EQ(stale.cas, 0u);
  EXPECT_EQ(ok(mc.store("gone", "x", {.compare_cas = 1})).status, StoreStatus::not_found);
  EXPECT_EQ(ok(mc.get("k"))->value, "2");
}

TEST(ClientMetaTest, StoreModes) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  EXPECT_EQ(ok(mc.store("k", "b", {.mode = StoreMode::replace})).status, StoreStatus::not_stored);
  EXPECT_EQ(ok(mc.store("k", "b", {.mode = StoreMode::append})).status, StoreStatus::not_stored);
  EXPECT_TRUE(ok(mc.store("k", "b", {.mode = StoreMode::add})).stored());
  EXPECT_EQ(ok(mc.store("k", "x", {.mode = StoreMode::add})).status, StoreStatus::not_stored);
  EXPECT_TRUE(ok(mc.store("k", "c", {.mode = StoreMode::append})).stored());
  EXPECT_TRUE(ok(mc.store("k", "a", {.mode = StoreMode::prepend})).stored());
  EXPECT_EQ(ok(mc.get("k"))->value, "abc");
  EXPECT_TRUE(ok(mc.store("k", "z", {.mode = StoreMode::replace})).stored());
  EXPECT_EQ(ok(mc.get("k"))->value, "z");
}

TEST(ClientMetaTest, CasCallsGoOutAsMetaAndKeepTheirOutcomes) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "1")));
  const std::uint64_t cas = ok(mc.gets("k"))->cas;
  EXPECT_EQ(ok(mc.cas("k", "2", cas)), CasOutcome::stored);
  EXPECT_EQ(ok(mc.cas("k", "3", cas)), CasOutcome::exists);
  EXPECT_EQ(ok(mc.cas("nope", "3", cas)), CasOutcome::not_found);
}

// ---- stale-while-revalidate

TEST(ClientMetaTest, InvalidateMarksStaleAndHandsTheRecomputeToOneReader) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "old")));
  EXPECT_TRUE(ok(mc.invalidate("k", 30)));
  EXPECT_FALSE(ok(mc.invalidate("missing")));
  const std::optional<MetaItem> first = ok(mc.get_item("k"));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->value, "old");
  EXPECT_TRUE(first->stale);
  EXPECT_TRUE(first->won);
  EXPECT_FALSE(first->already_won);
  EXPECT_LE(first->ttl, 30);
  const std::optional<MetaItem> second = ok(mc.get_item("k"));
  EXPECT_TRUE(second->stale);
  EXPECT_FALSE(second->won);
  EXPECT_TRUE(second->already_won);
  // The winner stores the recomputed value: fresh again, no flags.
  ASSERT_TRUE(ok(mc.set("k", "new")));
  const std::optional<MetaItem> fresh = ok(mc.get_item("k"));
  EXPECT_EQ(fresh->value, "new");
  EXPECT_FALSE(fresh->stale || fresh->won || fresh->already_won);
}

TEST(ClientMetaTest, StoreWithInvalidateAcceptsAnOlderCasAndStaysStale) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const std::uint64_t old_cas = ok(mc.store("k", "v1")).cas;
  ASSERT_TRUE(ok(mc.set("k", "v2")));
  // A recompute that raced a newer write: refused without I, stored stale with it.
  EXPECT_EQ(ok(mc.store("k", "v1b", {.compare_cas = old_cas})).status, StoreStatus::exists);
  EXPECT_TRUE(ok(mc.store("k", "v1b", {.compare_cas = old_cas, .invalidate = true})).stored());
  const std::optional<MetaItem> item = ok(mc.get_item("k"));
  EXPECT_EQ(item->value, "v1b");
  EXPECT_TRUE(item->stale);
}

TEST(ClientMetaTest, VivifyOnMissWinsOnceThenOthersSeeAlreadyWon) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const std::optional<MetaItem> first = ok(mc.get_item("k", {.vivify_ttl = 30}));
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->won);
  EXPECT_TRUE(first->value.empty());
  const std::optional<MetaItem> second = ok(mc.get_item("k", {.vivify_ttl = 30}));
  EXPECT_FALSE(second->won);
  EXPECT_TRUE(second->already_won);
}

TEST(ClientMetaTest, RecacheWinsWhenTheTtlLeftIsBelowTheThreshold) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v", {.ttl = 10})));
  EXPECT_FALSE(ok(mc.get_item("k", {.recache_ttl = 5}))->won);
  const std::optional<MetaItem> first = ok(mc.get_item("k", {.recache_ttl = 30}));
  EXPECT_EQ(first->value, "v");
  EXPECT_TRUE(first->won);
  EXPECT_FALSE(first->stale);
  EXPECT_TRUE(ok(mc.get_item("k", {.recache_ttl = 30}))->already_won);
}

TEST(ClientMetaTest, GetOrLeaseOnAMissLeasesToOneCallerOnly) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const LeaseResult first = ok(mc.get_or_lease("k", 30));
  EXPECT_TRUE(first.must_recompute);
  EXPECT_FALSE(first.item);
  const LeaseResult second = ok(mc.get_or_lease("k", 30));
  EXPECT_FALSE(second.must_recompute);
  EXPECT_FALSE(second.item);
  ASSERT_TRUE(ok(mc.set("k", "computed")));
  const LeaseResult hit = ok(mc.get_or_lease("k", 30));
  EXPECT_FALSE(hit.must_recompute);
  ASSERT_TRUE(hit.item);
  EXPECT_EQ(hit.item->value, "computed");
}

TEST(ClientMetaTest, GetOrLeaseAfterInvalidateServesStaleWhileOneRecomputes) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "old")));
  ASSERT_TRUE(ok(mc.invalidate("k")));
  const LeaseResult first = ok(mc.get_or_lease("k", 30));
  EXPECT_TRUE(first.must_recompute);
  ASSERT_TRUE(first.item);
  EXPECT_EQ(first.item->value, "old");
  EXPECT_TRUE(first.item->stale);
  const LeaseResult second = ok(mc.get_or_lease("k", 30));
  EXPECT_FALSE(second.must_recompute);
  ASSERT_TRUE(second.item);
  EXPECT_EQ(second.item->value, "old");
}

TEST(ClientMetaTest, GetOrLeaseWithRecacheLeasesAFreshItemNearItsExpiry) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v", {.ttl = 10})));
  const LeaseResult early = ok(mc.get_or_lease("k", 30, 60));
  EXPECT_TRUE(early.must_recompute);
  ASSERT_TRUE(early.item);
  EXPECT_EQ(early.item->value, "v");
  EXPECT_FALSE(early.item->stale);
}

// ---- arithmetic

TEST(ClientMetaTest, ArithmeticCreatesAMissingCounterWithItsInitialValueAndTtl) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  EXPECT_FALSE(ok(mc.arithmetic("n")));
  const std::optional<Counter> created = ok(mc.arithmetic("n", {.initial = 10, .ttl = 100}));
  ASSERT_TRUE(created);
  EXPECT_EQ(created->value, 10u);
  EXPECT_GE(created->ttl, 99);
  const std::optional<Counter> next = ok(mc.arithmetic("n", {.delta = 5, .initial = 10}));
  EXPECT_EQ(next->value, 15u);
  EXPECT_GT(next->cas, created->cas);
  EXPECT_EQ(ok(mc.arithmetic("n", {.decrement = true, .delta = 20}))->value, 0u);
  EXPECT_EQ(ok(mc.arithmetic("z", {.decrement = true, .initial = 0}))->value, 0u);
  // memcached shrinks a decremented number in place, padding with spaces.
  EXPECT_EQ(ok(mc.get("n"))->value, "0 ");
}

TEST(ClientMetaTest, ArithmeticComparesTheCas) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const std::uint64_t cas = ok(mc.arithmetic("n", {.initial = 1}))->cas;
  EXPECT_FALSE(ok(mc.arithmetic("n", {.compare_cas = cas + 100})));
  EXPECT_EQ(ok(mc.arithmetic("n", {.compare_cas = cas}))->value, 2u);
}

TEST(ClientMetaTest, IncrAndDecrOnANonNumberAreClientErrorsAndTheConnectionRecovers) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("word", "abc")));
  const auto result = mc.incr("word");
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, Errc::client_error);
  EXPECT_EQ(ok(mc.get("word"))->value, "abc");
}

// ---- binary keys (meta's b flag)

TEST(ClientMetaTest, BinaryKeysRoundTripThroughEveryCall) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  const std::string binary("\x00\x01 key\r\n\xff", 10);
  ASSERT_TRUE(ok(mc.set(binary, "v", {.flags = 3})));
  EXPECT_EQ(ok(mc.get(binary))->value, "v");
  EXPECT_EQ(ok(mc.gets(binary))->flags, 3u);
  EXPECT_TRUE(ok(mc.touch(binary, 100)));
  EXPECT_GE(ok(mc.get_item(binary))->ttl, 99);
  EXPECT_TRUE(ok(mc.add("with space", "1")));
  EXPECT_EQ(ok(mc.incr("with space", 4)), std::optional<std::uint64_t>(5));
  const std::string_view keys[] = {binary, "plain", "with space", "missing\t"};
  ASSERT_TRUE(ok(mc.set("plain", "p")));
  const Result<FetchedItems> fetched = mc.fetch(keys);
  ASSERT_TRUE(fetched);
  ASSERT_EQ(fetched->size(), 3u);
  for (std::size_t i = 0; i < fetched->size(); ++i) {
    const ItemView item = (*fetched)[i];
    EXPECT_EQ(item.key, keys[item.key_index]);
  }
  const auto many = ok(mc.get_many(keys));
  EXPECT_EQ(many.at(binary).value, "v");
  EXPECT_EQ(many.at("with space").value, "5");
  const Entry entries[] = {{"a b", "1"}, {binary, "2"}};
  EXPECT_TRUE(ok(mc.set_many(entries)).empty());
  EXPECT_EQ(ok(mc.get("a b"))->value, "1");
  EXPECT_EQ(ok(mc.remove_many(keys)), 3u);
  EXPECT_FALSE(ok(mc.get(binary)));
}

TEST(ClientMetaTest, ABinaryKeyThatSpellsATextKeyIsThatKey) {
  testing::MemcachedProcess server;
  Client meta = client_for(server);
  Client text = client_for(server, "text");
  ASSERT_TRUE(ok(text.set("caf\xc3\xa9", "utf8")));
  EXPECT_EQ(ok(meta.get("caf\xc3\xa9"))->value, "utf8");
}

TEST(ClientMetaTest, TextModeRejectsBinaryKeysAndMetaOnlyCalls) {
  testing::MemcachedProcess server;
  Client text = client_for(server, "text");
  EXPECT_EQ(text.set("has space", "v").error().code, Errc::invalid_key);
  EXPECT_EQ(text.get_item("k").error().code, Errc::invalid_argument);
  EXPECT_EQ(text.invalidate("k").error().code, Errc::invalid_argument);
  EXPECT_EQ(text.store("k", "v").error().code, Errc::invalid_argument);
  EXPECT_EQ(text.arithmetic("k").error().code, Errc::invalid_argument);
  EXPECT_EQ(text.get_or_lease("k", 10).error().code, Errc::invalid_argument);
}

TEST(ClientMetaTest, KeysThatCannotBeSentAreRejectedBeforeAnythingIsSent) {
  // No server listens here: any attempt to send would be a connect error.
  Client mc({.servers = {"127.0.0.1:1"}});
  EXPECT_EQ(mc.get("").error().code, Errc::invalid_key);
  EXPECT_EQ(mc.set(std::string(251, 'k'), "v").error().code, Errc::invalid_key);
  EXPECT_EQ(mc.set(std::string(187, ' '), "v").error().code, Errc::invalid_key);
  const std::string_view keys[] = {"ok", ""};
  EXPECT_EQ(mc.fetch(keys).error().code, Errc::invalid_key);
}

// ---- digest_long_keys

TEST(ClientMetaTest, LongKeysAreReplacedByAStableDigest) {
  testing::MemcachedProcess server;
  const std::string long_key(300, 'k');
  // sha256("k" * 300), as Python's hashlib computes it.
  const std::string digest =
      "sha256:17b16d8ef494060fefa36a6a41567b8c32d213a17e02b7eeae86158cc4495461";
  for (const char* protocol : {"meta", "text"}) {
    Client mc = client_for(server, protocol, true);
    ASSERT_TRUE(ok(mc.set(long_key, protocol)));
    EXPECT_EQ(ok(mc.get(long_key))->value, protocol);
    EXPECT_EQ(ok(mc.get(digest))->value, protocol);
    const std::string_view keys[] = {long_key, "other"};
    const auto many = ok(mc.get_many(keys));
    EXPECT_EQ(many.at(long_key).value, protocol);
    EXPECT_EQ(ok(mc.server_for_key(long_key)), ok(mc.server_for_key(digest)));
  }
  Client plain = client_for(server);
  EXPECT_EQ(plain.get(long_key).error().code, Errc::invalid_key);
}

// ---- quiet pipelines

// Binary keys make a multi-key fetch go out as quiet mg (text keys go out
// as one get: see Client::fetch).
TEST(ClientMetaTest, FetchManyMatchesHitsByOpaqueAcrossMisses) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  std::vector<std::string> keys;
  for (int i = 0; i < 200; ++i) keys.push_back((i % 2 ? "key " : "key") + std::to_string(i));
  for (std::size_t i = 0; i < keys.size(); i += 3) ASSERT_TRUE(ok(mc.set(keys[i], keys[i])));
  const std::vector<std::string_view> views(keys.begin(), keys.end());
  const Result<FetchedItems> fetched = mc.fetch(views, {.with_cas = true});
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->size(), 67u);
  for (std::size_t i = 0; i < fetched->size(); ++i) {
    const ItemView item = (*fetched)[i];
    EXPECT_EQ(item.key_index % 3, 0u);
    EXPECT_EQ(item.key, views[item.key_index]);
    EXPECT_EQ(item.value, views[item.key_index]);
    EXPECT_NE(item.cas, 0u);
  }
}

TEST(ClientMetaTest, GatManyTouchesEveryHit) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("a", "1", {.ttl = 10})));
  ASSERT_TRUE(ok(mc.set("b b", "2", {.ttl = 10})));
  const std::string_view keys[] = {"a", "b b", "c"};
  const Result<FetchedItems> fetched = mc.fetch(keys, {.touch = true, .ttl = 1000});
  ASSERT_TRUE(fetched);
  EXPECT_EQ(fetched->size(), 2u);
  EXPECT_GE(ok(mc.get_item("a"))->ttl, 999);
  EXPECT_GE(ok(mc.get_item("b b"))->ttl, 999);
}

TEST(ClientMetaTest, SetManyReportsTheEntryTheServerRefusedAndStoresTheRest) {
  testing::MemcachedProcess server({.extra_args = {"-I", "1m"}});
  Client mc = client_for(server);
  const std::string huge(2 * 1024 * 1024, 'x');
  const Entry entries[] = {{"a", "1"}, {"b", huge}, {"c", "3"}};
  EXPECT_EQ(ok(mc.set_many(entries)), std::vector<std::size_t>{1});
  EXPECT_EQ(ok(mc.get("a"))->value, "1");
  EXPECT_EQ(ok(mc.get("c"))->value, "3");
}

TEST(ClientMetaTest, RemoveManyCountsOnlyTheKeysThatExisted) {
  testing::MemcachedProcess server;
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("a", "1")));
  ASSERT_TRUE(ok(mc.set("c", "3")));
  const std::string_view keys[] = {"a", "b", "c", "d"};
  EXPECT_EQ(ok(mc.remove_many(keys)), 2u);
  EXPECT_EQ(ok(mc.remove_many(keys)), 0u);
}

TEST(ClientMetaTest, LargeValuesReachTheCallersStorageThroughMetaToo) {
  testing::MemcachedProcess server({.extra_args = {"-I", "2m"}});
  Client mc = client_for(server);
  const std::string large(700 * 1024, 'L');
  ASSERT_TRUE(ok(mc.set("large", large)));
  struct Storage : ValueStorage {
    std::span<char> allocate(std::string_view key, std::size_t size) override {
      keys.emplace_back(key);
      buffer.resize(size);
      return {buffer.data(), size};
    }
    std::vector<std::string> keys;
    std::string buffer;
  } storage;
  for (const bool several : {false, true}) {
    storage.keys.clear();
    std::vector<std::string_view> keys = {"large"};
    if (several) keys.push_back("miss ing");  // a binary key: the quiet mg pipeline
    const Result<FetchedItems> fetched = mc.fetch(keys, {.storage = &storage});
    ASSERT_TRUE(fetched);
    ASSERT_EQ(fetched->size(), 1u);
    EXPECT_EQ(storage.keys, std::vector<std::string>{"large"});
    EXPECT_EQ((*fetched)[0].value.data(), storage.buffer.data());
    EXPECT_EQ((*fetched)[0].value, large);
    EXPECT_EQ((*fetched)[0].key, "large");
  }
}

TEST(ClientMetaTest, AStaleConnectionIsRetriedOnceForMetaReads) {
  testing::MemcachedProcess server({.tcp = true});
  Client mc = client_for(server);
  ASSERT_TRUE(ok(mc.set("k", "v")));
  server.restart();
  ASSERT_TRUE(ok(mc.set("k", "again")));
  server.restart();
  EXPECT_FALSE(ok(mc.get_item("k")));  // restarted empty, answered on a fresh connection
}

}  // namespace
}  // namespace fastmc
