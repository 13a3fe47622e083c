// SPDX-License-Identifier: MIT
// fastmc::Client: a memcached client over one or more servers.
//
// Thread-safety: one Client may be shared by any number of threads. Each call
// leases connections from per-server pools and gives them back; no lock is
// held across I/O. Calls on one connection never interleave.
//
// Every call finishes within ClientOptions::timeout (connects within
// connect_timeout), whatever the servers do. A connection that saw an error
// or a timeout mid-reply is closed, never reused, so a late reply can never
// be read as the answer to a later request.
//
// Errors are values (Result); a miss is not an error. Keys are checked before
// any byte is written: a bad key is Errc::invalid_key and nothing is sent.
// With the meta protocol, a key that is not a valid text key (spaces,
// control bytes, any bytes at all) of 1 to 186 bytes is sent base64-encoded
// (meta's `b` flag) and works with every call; in text mode it is
// invalid_key. Keys over 250 bytes are invalid_key unless
// ClientOptions::digest_long_keys replaces them by a digest.
//
//   fastmc::Client mc({.servers = {"127.0.0.1:11211"}});
//   mc.set("greeting", "hello", {.ttl = 60});
//   auto item = mc.get("greeting");   // Result<std::optional<Item>>
//   if (item && *item) std::cout << (*item)->value;
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fastmc/errors.hpp>
#include <fastmc/options.hpp>
#include <fastmc/result.hpp>

namespace fastmc {

namespace detail {
class ClientState;
class FetchState;
}  // namespace detail

// An item read from a server, owning its bytes.
struct Item {
  std::string value;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;  // set by gets, gats, gets_many
};

// An item read from a server, viewing the client's buffers (see FetchedItems).
struct ItemView {
  std::string_view key;  // as given to fetch
  std::string_view value;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;      // set when the fetch asked for it
  std::size_t key_index = 0;  // where the key stands in the keys given to fetch
};

// Storage a caller provides for large fetched values, so that they are
// received straight into their final place (the Python binding reads into
// the bytes object it returns) instead of being copied out of the client's
// buffers. Called from the thread running the fetch, once per large value.
class ValueStorage {
 public:
  virtual ~ValueStorage() = default;
  // Room for one value of `size` bytes for `key` (as the server names it:
  // base64-encoded for a binary key fetched with the meta protocol). It must stay valid while
  // the FetchedItems lives, and the caller must not touch it before the fetch
  // returns; an empty span declines (the value is then read as usual).
  virtual std::span<char> allocate(std::string_view key, std::size_t size) = 0;
};

// What to fetch with Client::fetch.
struct FetchOptions {
  bool with_cas = false;  // gets / gats
  bool touch = false;     // gat / gats: reset each hit's ttl to `ttl`
  std::int64_t ttl = 0;   // used iff touch
  // Values of at least storage_min_size bytes go to `storage` when set.
  ValueStorage* storage = nullptr;
  std::size_t storage_min_size = std::size_t{64} * 1024;
};

// The hits of one Client::fetch, in no particular order; misses are absent.
// The views point into the connections the replies were read from: they stay
// valid while this object lives, which keeps those connections leased. Let it
// go soon. Move-only; not synchronised.
class FetchedItems {
 public:
  FetchedItems();
  FetchedItems(FetchedItems&&) noexcept;
  FetchedItems& operator=(FetchedItems&&) noexcept;
  ~FetchedItems();

  [[nodiscard]] std::size_t size() const noexcept;
  [[nodiscard]] bool empty() const noexcept { return size() == 0; }
  // The servers that failed or were down during a fetch that went to several
  // (their keys are absent, as misses), or under miss_on_error; empty when
  // every server answered.
  [[nodiscard]] std::span<const Error> failures() const noexcept;
  // Requires: index < size().
  ItemView operator[](std::size_t index) const noexcept;

 private:
  friend class Client;
  std::unique_ptr<detail::FetchState> state_;
};

// One key and value for Client::set_many. The views must outlive the call.
struct Entry {
  std::string_view key;
  std::string_view value;
  StoreOptions options = {};
};

enum class CasOutcome : std::uint8_t {
  stored,     // the item was replaced
  exists,     // the item changed since its cas was read; nothing stored
  not_found,  // the item is gone; nothing stored
};

// One server's answer to a call that goes to every server (stats, version).
template <class T>
struct ServerReply {
  std::string server;
  Result<T> reply;
};

using Stats = std::vector<std::pair<std::string, std::string>>;

// The calls below (get_item, store, invalidate, arithmetic, get_or_lease)
// use memcached 1.6's meta protocol (docs/protocol.md, "Meta"): with
// ClientOptions::protocol "text", or against a server that does not speak
// meta, they fail with Errc::invalid_argument and send nothing.

// What Client::get_item asks for besides the value, flags, cas and ttl,
// which it always returns.
struct ReadOptions {
  bool with_last_access = false;  // l: fill MetaItem::last_access
  bool with_hit_before = false;   // h: fill MetaItem::hit_before
  // T: on a hit, reset the item's ttl to this (touch on read); the ttl
  // returned is the new one.
  std::optional<std::int64_t> touch_ttl = {};
  // N: on a miss, create an empty item with this ttl and answer it as a hit
  // with `won` set, so exactly one caller learns it must fill the key (later
  // callers see the empty item with `already_won`) until it is stored.
  std::optional<std::int64_t> vivify_ttl = {};
  // R: if the item's remaining ttl is below this, the first caller to see it
  // wins the right to recompute it early (`won`; later ones `already_won`).
  std::optional<std::int64_t> recache_ttl = {};
  // O: 1 to 31 printable ASCII bytes, echoed in MetaItem::opaque; empty sends none.
  std::string_view opaque = {};
};

// An item read by Client::get_item, with what the meta protocol tells of it.
struct MetaItem {
  std::string value;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;
  // Seconds until the item expires; -1 when it never does.
  std::int64_t ttl = -1;
  // Seconds since the item was last accessed, before this read (with_last_access).
  std::optional<std::uint64_t> last_access = {};
  // Whether the item had been read before this read (with_hit_before).
  std::optional<bool> hit_before = {};
  // Stale-while-revalidate (memcached's X, W and Z flags):
  bool stale = false;        // invalidated (Client::invalidate): the value is out of date
  bool won = false;          // this caller won the right to recompute and store the item
  bool already_won = false;  // another caller already won it; use the value you have
  std::string opaque;        // ReadOptions::opaque, echoed
};

// What Client::get_or_lease found.
struct LeaseResult {
  // The value to use: a fresh one, or while someone recomputes it, the stale
  // one (item->stale). Empty when there is none: a miss, the key just
  // created as a placeholder for the lease holder.
  std::optional<MetaItem> item;
  // This caller holds the lease: it must compute the value and store it
  // (set or store); others meanwhile get the stale value or no value.
  bool must_recompute = false;
};

// The command a Client::store sends.
enum class StoreMode : std::uint8_t { set, add, replace, append, prepend };

// Options of Client::store.
struct StoreRequest {
  StoreMode mode = StoreMode::set;
  std::int64_t ttl = 0;     // as StoreOptions::ttl
  std::uint32_t flags = 0;  // as StoreOptions::flags
  // C: store only if the item's cas is still this one (any mode).
  std::optional<std::uint64_t> compare_cas = {};
  // I: with compare_cas, a cas older than the item's is accepted too, and
  // the item is stored marked stale (for a recomputation that raced an
  // invalidation).
  bool invalidate = false;
  std::string_view opaque = {};  // O: echoed in StoreResult::opaque
};

enum class StoreStatus : std::uint8_t {
  stored,      // HD
  not_stored,  // NS: the mode's condition failed (add: exists; replace, append, prepend: missing)
  exists,      // EX: compare_cas did not match
  not_found,   // NF: compare_cas given and the item is gone
};

struct StoreResult {
  StoreStatus status = StoreStatus::stored;
  std::uint64_t cas = 0;  // the stored item's new cas; 0 unless stored
  std::string opaque;
  [[nodiscard]] bool stored() const noexcept { return status == StoreStatus::stored; }
};

// Options of Client::arithmetic.
struct ArithmeticOptions {
  bool decrement = false;  // decr (stops at 0) instead of incr (wraps at 2^64)
  std::uint64_t delta = 1;
  // When set, a missing counter is created with this value (and `ttl`)
  // instead of the call answering a miss; the delta is not applied to it.
  std::optional<std::uint64_t> initial = {};
  std::int64_t ttl = 0;  // the created counter's ttl (0 = never expires)
  // C: apply only if the counter's cas is still this one.
  std::optional<std::uint64_t> compare_cas = {};
  std::string_view opaque = {};  // O
};

struct Counter {
  std::uint64_t value = 0;
  std::uint64_t cas = 0;
  std::int64_t ttl = -1;  // seconds left, -1 = never expires
  std::string opaque;
};

class Client {
 public:
  // Throws std::invalid_argument naming the entry if a server string cannot
  // be parsed, the list is empty, or the distribution or hash is unknown.
  // Connects lazily, on first use; except that with a configuration_endpoint
  // it asks the endpoint for the servers at once (within connect_timeout +
  // timeout), throws std::runtime_error naming the endpoint and the cause if
  // that fails, and then polls it from a background thread:
  //
  //   fastmc::Client mc({.configuration_endpoint = "mycluster.cfg.cache.amazonaws.com:11211",
  //                      .discovery_interval = 30s});
  explicit Client(ClientOptions options);
  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Single-key reads. A miss is an empty optional.
  Result<std::optional<Item>> get(std::string_view key);
  Result<std::optional<Item>> gets(std::string_view key);
  Result<std::optional<Item>> gat(std::string_view key, std::int64_t ttl);
  Result<std::optional<Item>> gats(std::string_view key, std::int64_t ttl);

  // Fetches every key with one request per server, all servers at once,
  // under one deadline. Keys are sent as given, duplicates included: one
  // key as a meta mg where the server speaks meta, several as one text get
  // line (measured faster), or as quiet mg closed by mn when one of them is
  // a binary key (docs/protocol.md, "How the client uses meta"). When
  // the keys span several servers and some fail, their keys are missing and
  // FetchedItems::failures() names the servers; the call fails only when no
  // server answered (never, under miss_on_error).
  Result<FetchedItems> fetch(std::span<const std::string_view> keys, FetchOptions options = {});
  Result<FetchedItems> fetch(std::string_view key, FetchOptions options = {});
  // Owning forms of fetch: key -> item, misses absent.
  Result<std::unordered_map<std::string, Item>> get_many(std::span<const std::string_view> keys);
  Result<std::unordered_map<std::string, Item>> gets_many(std::span<const std::string_view> keys);

  // Storage. true iff stored; false when the command's condition failed
  // (add: the key exists; replace, append, prepend: it does not).
  Result<bool> set(std::string_view key, std::string_view value, StoreOptions options = {});
  Result<bool> add(std::string_view key, std::string_view value, StoreOptions options = {});
  Result<bool> replace(std::string_view key, std::string_view value, StoreOptions options = {});
  Result<bool> append(std::string_view key, std::string_view value, StoreOptions options = {});
  Result<bool> prepend(std::string_view key, std::string_view value, StoreOptions options = {});
  Result<CasOutcome> cas(std::string_view key, std::string_view value, std::uint64_t cas,
                         StoreOptions options = {});
  // Stores every entry, pipelined: one write and one read per server, all
  // servers at once. Returns the indexes of the entries that were not
  // stored, in increasing order, those of failed or down servers included;
  // the call fails only when no server answered.
  // With noreply, one quiet pipeline per server, written and not awaited.
  Result<std::vector<std::size_t>> set_many(std::span<const Entry> entries,
                                            WriteOptions write = {});

  // memcached's delete (a C++ keyword). true iff the key existed.
  Result<bool> remove(std::string_view key, WriteOptions write = {});
  // Deletes every key, pipelined; returns how many existed. Any server that
  // fails or is down fails the call: the count could not say which keys remain.
  // With noreply (see StoreOptions::noreply), fire and forget where a fence
  // may follow, answered as if every key had existed (keys.size()).
  Result<std::size_t> remove_many(std::span<const std::string_view> keys, WriteOptions write = {});

  // Arithmetic on a decimal value; an empty optional when the key is missing.
  // incr wraps at 2^64; decr stops at 0 (memcached's rules).
  Result<std::optional<std::uint64_t>> incr(std::string_view key, std::uint64_t delta = 1,
                                            WriteOptions write = {});
  Result<std::optional<std::uint64_t>> decr(std::string_view key, std::uint64_t delta = 1,
                                            WriteOptions write = {});

  // true iff the key existed and its ttl was reset.
  Result<bool> touch(std::string_view key, std::int64_t ttl, WriteOptions write = {});

  // Meta calls (see the note above ReadOptions).
  //
  // mg: one read with the item's metadata; a miss is an empty optional
  // (unless vivify_ttl, which turns it into a hit with `won`).
  Result<std::optional<MetaItem>> get_item(std::string_view key, ReadOptions options = {});
  // Stampede control as a lease: a hit answers the value; a miss creates a
  // placeholder for `lease_ttl` seconds and hands the lease (must_recompute)
  // to exactly one caller, the others get no item and no lease until the
  // holder stores the value or the placeholder expires. After invalidate(),
  // one caller gets the lease with the stale item, the others the stale
  // item alone. A non-zero `recache_ttl` also hands out the lease, with the
  // fresh item, once the item has fewer seconds left than that.
  Result<LeaseResult> get_or_lease(std::string_view key, std::int64_t lease_ttl,
                                   std::int64_t recache_ttl = 0);
  // ms: a store that reports its outcome and the new cas.
  Result<StoreResult> store(std::string_view key, std::string_view value,
                            StoreRequest request = {});
  // md with I: marks the item stale instead of deleting it, so readers keep
  // getting its value (flagged stale) while one of them recomputes it. A
  // non-zero `stale_ttl` also sets its remaining ttl. true iff it existed.
  Result<bool> invalidate(std::string_view key, std::int64_t stale_ttl = 0);
  // ma: incr or decr, optionally creating a missing counter. An empty
  // optional when the counter is missing and no initial value was given, or
  // when compare_cas did not match.
  Result<std::optional<Counter>> arithmetic(std::string_view key, ArithmeticOptions options = {});

  // Calls that go to every server.
  // flush_all with noreply (see StoreOptions::noreply) is fire and forget
  // where a fence may follow it; a server that cannot be reached still fails it.
  Result<Done> flush_all(std::uint32_t delay_seconds = 0, WriteOptions write = {});
  std::vector<ServerReply<Stats>> stats(std::span<const std::string_view> arguments = {});
  std::vector<ServerReply<std::string>> version();

  // Closes the idle connections; the client stays usable and reconnects.
  void close();

  // The servers as configured, in order.
  [[nodiscard]] std::vector<std::string> servers() const;
  // Replaces the server list (the same forms as ClientOptions::servers).
  // Servers in both lists keep their connections and health; keys move as
  // little as the distribution allows (ketama, libmc and rendezvous move
  // only the keys of servers added or removed). Calls in flight finish on
  // the old list. Throws std::invalid_argument naming a bad entry, and then
  // changes nothing.
  void set_servers(const std::vector<std::string>& servers);

  // The version of the ElastiCache cluster configuration in use; empty
  // without a configuration_endpoint. The server list is replaced, as by
  // set_servers, each time a poll finds another version; a poll that fails
  // leaves it as it is (see discovery_failure_count and discovery_last_error).
  [[nodiscard]] std::optional<std::uint64_t> discovered_config_version() const;
  // Polls of the configuration endpoint that failed, and the last cause
  // ("" if none); 0 and "" without a configuration_endpoint.
  [[nodiscard]] std::uint64_t discovery_failure_count() const;
  [[nodiscard]] std::string discovery_last_error() const;

  // The server that holds `key` under the configured distribution (libmc's
  // get_host_by_key), or an invalid_key error. Needs no I/O.
  [[nodiscard]] Result<std::string> server_for_key(std::string_view key) const;
  // The server a call would send `key` to now: its own while it admits
  // calls, else where dead_server_policy sends it (libmc's
  // get_realtime_host_by_key); nullopt when the call would fail fast. Needs
  // no I/O.
  [[nodiscard]] Result<std::optional<std::string>> live_server_for_key(std::string_view key) const;
  // The server for a key that the peer places by other bytes than the key's
  // own, `routing_key` (pymemcache's HashClient hashes a bytes key's repr):
  // as server_for_key, or live_server_for_key when `live`, with `routing_key`
  // hashed in place of the key (without the key_prefix unless
  // hash_key_prefix). It is only hashed, never checked as a key. No I/O.
  [[nodiscard]] std::optional<std::string> server_for_routing_key(std::string_view routing_key,
                                                                  bool live) const;
  // Counts a call made to `server` (a name server_for_key returns) by another client,
  // for keys this one routes (see server_for_routing_key), toward the
  // server's health as if this client had made it: a failure to reach it or
  // a success. false if no server has that name.
  bool record_server_outcome(std::string_view server, bool succeeded);

 private:
  std::unique_ptr<detail::ClientState> state_;
};

}  // namespace fastmc
