// SPDX-License-Identifier: MIT
// fastmc::Client over the engine: key checks, routing, leasing, encoding,
// running exchanges and turning replies into results.
#include <algorithm>
#include <array>
#include <limits>
#include <list>
#include <stdexcept>

#include <fastmc/client.hpp>

#include "client/binary_commands.hpp"
#include "engine/batch.hpp"
#include "engine/cluster_discovery.hpp"
#include "engine/connection_pool.hpp"
#include "engine/server.hpp"
#include "key_digest.hpp"
#include "net/address.hpp"
#include "net/connection.hpp"
#include "net/tls_context.hpp"
#include "protocol/decimal.hpp"
#include "protocol/key.hpp"
#include "protocol/meta_request.hpp"
#include "protocol/printable.hpp"
#include "protocol/text_request.hpp"
#include "routing/router.hpp"

namespace fastmc {

using engine::ConnectionPool;
using Lease = ConnectionPool::Lease;
using protocol::ReplyStatus;
using protocol::TextReplyKind;

namespace detail {

// The OpenSSL context every TLS connection of a client is made from.
std::shared_ptr<const net::TlsContext> make_tls_context(const TlsOptions& tls) {
  if (tls.ssl_context != nullptr) {
    return net::TlsContext::share(static_cast<SSL_CTX*>(tls.ssl_context), tls.verify,
                                  tls.server_name);
  }
  return net::TlsContext::create(net::TlsSettings{
      .ca_file = tls.ca_file,
      .ca_path = tls.ca_path,
      .cert_file = tls.cert_file,
      .key_file = tls.key_file,
      .verify = tls.verify,
      .server_name = tls.server_name,
      .min_version = tls.min_version,
      .ciphers = tls.ciphers,
  });
}

// ClientOptions::protocol, named once: calls ask it for every key.
enum class WireProtocol : std::uint8_t { meta, text, text_pipelined, binary };

WireProtocol wire_protocol_named(const std::string& name) {
  if (name == "meta") return WireProtocol::meta;
  if (name == "text") return WireProtocol::text;
  if (name == "text_pipelined") return WireProtocol::text_pipelined;
  if (name == "binary") return WireProtocol::binary;
  throw std::invalid_argument("fastmc::Client: unknown protocol \"" + name +
                              "\" (meta, text, text_pipelined, binary)");
}

// One set of servers with its placement: immutable, so a call keeps a
// consistent view (its server indexes and router agree) while the server
// list is replaced under it. Servers are shared between successive sets, so
// a server kept across a change keeps its pool and health.
class Engine {
 public:
  Engine(const ClientOptions& options, const std::vector<std::string>& servers,
         const Engine* previous)
      : options_(options),
        protocol_(wire_protocol_named(options.protocol)),
        router_(build_router(options, servers)) {
    net::ConnectionOptions connection_options{
        .connect_timeout = options_.connect_timeout,
        .call_timeout = options_.timeout,
        .max_value_size = options_.max_value_size,
        .tcp_nodelay = options_.tcp_nodelay,
    };
    const engine::PoolOptions pool_options{
        .max_connections = options_.max_connections_per_server,
        .max_idle = options_.max_idle_connections_per_server,
    };
    const engine::HealthOptions health_options{
        .failure_limit = options_.failure_limit,
        .retry_timeout = options_.retry_timeout,
        .dead_timeout = options_.dead_timeout,
        .pause_after_failure = options_.pause_after_failure,
    };
    std::vector<net::Address> addresses = parse_addresses(servers);
    if (previous != nullptr) tls_ = previous->tls_;
    for (net::Address& address : addresses) {
      std::shared_ptr<engine::Server> kept = previous ? previous->find(address) : nullptr;
      if (kept) {
        servers_.push_back(std::move(kept));
        continue;
      }
      net::ConnectionOptions secured = secure_connection_options(address, connection_options);
      servers_.push_back(std::make_shared<engine::Server>(std::move(address), std::move(secured),
                                                          pool_options, health_options));
    }
    if (options_.dead_server_policy == "error") {
      policy_ = DeadServerPolicy::error;
    } else if (options_.dead_server_policy == "failover") {
      policy_ = DeadServerPolicy::failover;
    } else if (options_.dead_server_policy == "auto_eject") {
      policy_ = DeadServerPolicy::auto_eject;
    } else {
      throw std::invalid_argument("fastmc::Client: unknown dead_server_policy \"" +
                                  options_.dead_server_policy +
                                  "\" (error, failover or auto_eject)");
    }
  }

  // The server with exactly this address (weight and alias included), if any.
  std::shared_ptr<engine::Server> find(const net::Address& address) const {
    for (const std::shared_ptr<engine::Server>& server : servers_) {
      if (server->address() == address) return server;
    }
    return nullptr;
  }

  const ClientOptions& options() const noexcept { return options_; }
  WireProtocol protocol() const noexcept { return protocol_; }
  bool is_binary() const noexcept { return protocol_ == WireProtocol::binary; }
  // Whether set_many's quiet pipelines and the noreply fences use meta where
  // the server speaks it: with "meta", and with "text_pipelined", which sends
  // the classic commands otherwise.
  bool pipelines_with_meta() const noexcept {
    return protocol_ == WireProtocol::meta || protocol_ == WireProtocol::text_pipelined;
  }
  std::size_t server_count() const noexcept { return servers_.size(); }
  engine::Server& server(std::size_t index) const noexcept { return *servers_[index]; }
  // The server `key` belongs to when every server is up.
  std::size_t server_index_for(std::string_view key) const noexcept {
    return router_.server_for_key(routing_key(key));
  }
  // The server a call sends `key` to now: its own while it admits calls,
  // otherwise as dead_server_policy says; nullopt when the call must fail
  // fast (policy "error", or no live server).
  std::optional<std::size_t> route(std::string_view key,
                                   engine::ServerHealth::Clock::time_point now) const {
    key = routing_key(key);
    const std::size_t home = router_.server_for_key(key);
    const engine::ServerHealth& health = servers_[home]->health();
    if (health.admits(now)) return home;
    // A paused server keeps its keys: they fail fast, and go nowhere else.
    if (health.is_paused(now)) return std::nullopt;
    // A paused server stays in the placement; only a down one leaves it.
    const auto is_live = [&](std::size_t index) { return !servers_[index]->health().is_down(now); };
    std::optional<std::size_t> chosen;
    switch (policy_) {
      case DeadServerPolicy::error: return std::nullopt;
      case DeadServerPolicy::failover: chosen = router_.live_server_for_key(key, is_live); break;
      case DeadServerPolicy::auto_eject: {
        const std::shared_ptr<const routing::Router> live = live_router(is_live);
        if (live) chosen = live->server_for_key(key);
        break;
      }
    }
    if (chosen && servers_[*chosen]->health().is_paused(now)) return std::nullopt;
    return chosen;
  }
  net::Deadline new_deadline() const noexcept { return net::Deadline::after(options_.timeout); }

 private:
  // What the distribution hashes for a key as sent (its prefix included).
  std::string_view routing_key(std::string_view wire_key) const noexcept {
    if (options_.hash_key_prefix) return wire_key;
    return wire_key.substr(std::min(options_.key_prefix.size(), wire_key.size()));
  }

  enum class DeadServerPolicy : std::uint8_t { error, failover, auto_eject };

  // libmemcached's auto_eject: the placement rebuilt over the live servers,
  // cached until the set of live servers changes.
  template <class IsLive>
  std::shared_ptr<const routing::Router> live_router(const IsLive& is_live) const {
    std::vector<bool> live(servers_.size());
    for (std::size_t i = 0; i < live.size(); ++i) live[i] = is_live(i);
    std::lock_guard lock(live_router_mutex_);
    if (live != live_router_mask_) {
      std::optional<routing::Router> rebuilt = router_.live_subset(is_live);
      live_router_ =
          rebuilt ? std::make_shared<const routing::Router>(std::move(*rebuilt)) : nullptr;
      live_router_mask_ = std::move(live);
    }
    return live_router_;
  }

  static std::vector<net::Address> parse_addresses(const std::vector<std::string>& servers) {
    if (servers.empty()) throw std::invalid_argument("fastmc::Client: no servers given");
    std::vector<net::Address> addresses;
    for (const std::string& text : servers) {
      std::string problem;
      std::optional<net::Address> address = net::parse_address(text, problem);
      if (!address) throw std::invalid_argument("fastmc::Client: " + problem);
      addresses.push_back(std::move(*address));
    }
    return addresses;
  }

  static routing::Router build_router(const ClientOptions& options,
                                      const std::vector<std::string>& servers) {
    routing::RouterOptions router_options;
    const auto kind = routing::distribution_kind_from_name(options.distribution);
    if (!kind) {
      throw std::invalid_argument("fastmc::Client: unknown distribution \"" + options.distribution +
                                  "\" (see docs/routing.md)");
    }
    router_options.kind = *kind;
    if (!options.hash.empty()) {
      router_options.hash = routing::key_hash_from_name(options.hash);
      if (!router_options.hash) {
        throw std::invalid_argument("fastmc::Client: unknown hash \"" + options.hash +
                                    "\" (see docs/routing.md)");
      }
    }
    return {routing::routing_servers(parse_addresses(servers)), router_options};
  }

  // `base` with TLS and credentials as the client's options and the
  // server's own string say (docs/security.md).
  net::ConnectionOptions secure_connection_options(const net::Address& address,
                                                   net::ConnectionOptions base) {
    const bool use_tls =
        address.transport == net::Address::Transport::tls ||
        (address.transport == net::Address::Transport::client_default && options_.tls.enabled);
    if (use_tls) {
      // One context for the client's life, made when a server first needs it.
      if (!tls_) tls_ = make_tls_context(options_.tls);
      base.tls = tls_;
    }
    const bool own = !address.username.empty();
    const std::string& username = own ? address.username : options_.username;
    if (username.find_first_of(" \t\r\n") != std::string::npos) {
      throw std::invalid_argument("fastmc::Client: a username cannot contain a space");
    }
    // SASL with the binary protocol, memcached's ASCII authentication with
    // text and meta.
    if (!username.empty()) {
      base.authentication = protocol_ == WireProtocol::binary
                                ? net::ConnectionOptions::Authentication::sasl
                                : net::ConnectionOptions::Authentication::ascii;
      base.username = username;
      base.password = own ? address.password : options_.password;
    }
    return base;
  }

  const ClientOptions& options_;
  WireProtocol protocol_;
  std::shared_ptr<const net::TlsContext> tls_;  // null until a server uses TLS
  std::vector<std::shared_ptr<engine::Server>> servers_;
  routing::Router router_;
  DeadServerPolicy policy_ = DeadServerPolicy::error;
  mutable std::mutex live_router_mutex_;
  mutable std::vector<bool> live_router_mask_;
  mutable std::shared_ptr<const routing::Router> live_router_;
};

// What a Client owns: its options and the current Engine, replaced whole
// when the server list changes.
class ClientState {
 public:
  explicit ClientState(ClientOptions options) : options_(std::move(options)) {
    wire_protocol_named(options_.protocol);  // throws on an unknown name
    if (options_.configuration_endpoint.empty()) {
      engine_ = std::make_shared<const Engine>(options_, options_.servers, nullptr);
      return;
    }
    discovery_ = std::make_unique<engine::ClusterDiscovery>(
        options_.configuration_endpoint, discovery_options(options_),
        [this](const std::vector<std::string>& servers) { set_servers(servers); });
    engine_ = std::make_shared<const Engine>(options_, discovery_->discover(), nullptr);
    discovery_->start();
  }

  // The current server set; a call keeps it for its whole duration.
  std::shared_ptr<const Engine> engine() const {
    std::lock_guard lock(mutex_);
    return engine_;
  }
  // Builds the new set first (throwing on a bad entry, with nothing changed),
  // then swaps it in; calls in flight finish on the old one.
  void set_servers(const std::vector<std::string>& servers) {
    std::lock_guard change(change_mutex_);
    auto replacement = std::make_shared<const Engine>(options_, servers, engine().get());
    std::lock_guard lock(mutex_);
    engine_ = std::move(replacement);
  }
  // Null without a configuration_endpoint.
  const engine::ClusterDiscovery* discovery() const noexcept { return discovery_.get(); }

 private:
  static engine::DiscoveryOptions discovery_options(const ClientOptions& options) {
    // The endpoint speaks TLS when the servers do by default (ElastiCache's
    // in-transit encryption covers both), or when its string says tls://.
    const bool tls = options.tls.enabled || options.configuration_endpoint.starts_with("tls://");
    return engine::DiscoveryOptions{
        .interval = options.discovery_interval,
        .timeout = options.timeout,
        .use_ip = options.discovery_use_ip,
        .connection =
            net::ConnectionOptions{
                .connect_timeout = options.connect_timeout,
                .call_timeout = options.timeout,
                .max_value_size = options.max_value_size,
                .tcp_nodelay = options.tcp_nodelay,
                .tls = tls ? make_tls_context(options.tls) : nullptr,
            },
    };
  }

  const ClientOptions options_;
  mutable std::mutex mutex_;  // guards engine_ (held only to copy the pointer)
  std::mutex change_mutex_;   // one change at a time
  std::shared_ptr<const Engine> engine_;
  // Last, so it is destroyed first: its thread, which calls set_servers, is
  // joined while everything it uses still exists.
  std::unique_ptr<engine::ClusterDiscovery> discovery_;
};

// The leases behind a FetchedItems and its hits. A hit's views point into
// its lease's connection, which reads nothing more once its exchange is
// over, so they are taken once, when the hit is recorded.
class FetchState {
 public:
  // key_size is kReplyKey when the hit's key is the reply's own (text
  // VALUE); otherwise the key is in key_bytes (meta replies carry none, and
  // a digested key is reported as the caller gave it), which may still grow.
  static constexpr std::uint32_t kReplyKey = 0xffffffff;
  struct Hit {
    ItemView item;
    std::uint32_t key_offset = 0;
    std::uint32_t key_size = kReplyKey;
  };
  std::vector<Lease> leases;
  std::vector<Hit> hits;
  std::string key_bytes;
  std::vector<Error> failures;           // servers that failed in a call that went to several
  std::shared_ptr<const Engine> engine;  // keeps the leased connections' servers alive
};

namespace {

// One spare FetchState per thread, kept with its vectors' capacity, so a
// steady stream of fetches allocates nothing.
thread_local std::unique_ptr<FetchState> spare_fetch_state;

}  // namespace

std::unique_ptr<FetchState> take_fetch_state() {
  if (spare_fetch_state) return std::move(spare_fetch_state);
  return std::make_unique<FetchState>();
}

void recycle_fetch_state(std::unique_ptr<FetchState> state) noexcept {
  state->leases.clear();  // gives the connections back first
  state->hits.clear();
  state->key_bytes.clear();
  state->failures.clear();
  state->engine.reset();
  if (!spare_fetch_state) spare_fetch_state = std::move(state);
}

}  // namespace detail

namespace {

using detail::Engine;
using detail::FetchState;
using detail::WireProtocol;

std::string with_server(const engine::Server& server, std::string_view text) {
  std::string message = server.name();
  message += ": ";
  message += text;
  return message;
}

Errc errc_for(net::ConnectionFailure failure) noexcept {
  switch (failure) {
    case net::ConnectionFailure::resolve_failed:
    case net::ConnectionFailure::connect_refused:
    case net::ConnectionFailure::connect_failed: return Errc::connect_failed;
    case net::ConnectionFailure::connect_timeout: return Errc::connect_timeout;
    case net::ConnectionFailure::timed_out:
    case net::ConnectionFailure::abandoned: return Errc::timed_out;
    case net::ConnectionFailure::closed_by_server:
    case net::ConnectionFailure::reset:
    case net::ConnectionFailure::io_error: return Errc::connection_closed;
    case net::ConnectionFailure::value_too_large: return Errc::value_too_large;
    case net::ConnectionFailure::tls_failed: return Errc::tls_failed;
    case net::ConnectionFailure::auth_failed: return Errc::auth_failed;
    case net::ConnectionFailure::none:
    case net::ConnectionFailure::malformed_reply:
    case net::ConnectionFailure::unexpected_reply:
    case net::ConnectionFailure::trailing_data: return Errc::protocol_error;
  }
  return Errc::protocol_error;
}

Error connection_error(const engine::Server& server, const net::Connection& connection) {
  std::string text(net::name_of(connection.failure()));
  text += ": ";
  text += connection.failure_detail();
  return Error{errc_for(connection.failure()), server.name(), with_server(server, text)};
}

// Why a call does not go to `server`: paused after a failure
// (pause_after_failure), or down.
Error unavailable_server_error(const engine::Server& server) {
  if (server.health().is_paused(engine::ServerHealth::Clock::now())) {
    return Error{
        Errc::server_paused, server.name(),
        with_server(server, "server_paused: failed just now; left alone until retry_timeout")};
  }
  return Error{Errc::server_down, server.name(),
               with_server(server,
                           "server_down: marked down after repeated failures; retried "
                           "after retry_timeout")};
}

// Counts a connection's outcome toward its server's health. Refused
// credentials and certificates are configuration errors, not a server
// failing: they are reported as themselves, never as server_down. An
// exchange that read nothing (fire and forget) proves nothing: a stopped
// server's kernel still takes the bytes, and counting that as a success
// would keep resetting the failures that should take the server down.
void record_outcome(engine::Server& server, const net::Connection& connection) {
  if (connection.failure() == net::ConnectionFailure::none) {
    if (connection.received_any()) server.health().record_success();
  } else if (connection.failure() != net::ConnectionFailure::abandoned &&
             connection.failure() != net::ConnectionFailure::tls_failed &&
             connection.failure() != net::ConnectionFailure::auth_failed) {
    server.health().record_failure(engine::ServerHealth::Clock::now());
  }
}

// True iff the error means the server could not be used, as opposed to the
// server's own answer (a SERVER_ERROR, a bad key): a read may then be a miss.
bool is_server_failure(const Error& error) noexcept {
  switch (error.code) {
    case Errc::connect_failed:
    case Errc::connect_timeout:
    case Errc::timed_out:
    case Errc::connection_closed:
    case Errc::protocol_error:
    case Errc::server_down:
    case Errc::server_paused: return true;
    default: return false;
  }
}

Error pool_timeout_error(const engine::Server& server) {
  return Error{Errc::timed_out, server.name(),
               with_server(server, "timed_out: no free connection before the deadline")};
}

// An ERROR, CLIENT_ERROR or SERVER_ERROR reply. The connection stays in
// sync: each is exactly one line answering its own request.
Error reply_error(const engine::Server& server, const protocol::Reply& reply) {
  std::string text;
  Errc code = Errc::client_error;
  switch (reply.status) {
    case ReplyStatus::server_error:
      // memcached's wording for an item above its -I limit (binary: "Too large.").
      code = reply.data.find("too large") != std::string_view::npos ||
                     reply.data.find("Too large") != std::string_view::npos
                 ? Errc::value_too_large
                 : Errc::server_error;
      text = "SERVER_ERROR ";
      break;
    case ReplyStatus::client_error: text = "CLIENT_ERROR "; break;
    case ReplyStatus::error:
      // A bare ERROR is an unknown command; memcached also says "ERROR Too
      // many open connections" on a connection it accepted past its -c limit
      // and then closes: the server's refusal, not the request's fault.
      if (reply.data.empty()) {
        text = "ERROR (the server does not know the command)";
      } else {
        if (reply.data.starts_with("Too many open connections")) code = Errc::server_error;
        text = "ERROR ";
      }
      break;
    default:
      text = "unexpected reply ";
      text += protocol::name_of(reply.status);
      break;
  }
  text += protocol::printable_excerpt(reply.data, 200);
  return Error{code, server.name(), with_server(server, text)};
}

// A well-formed reply that does not answer the request: the stream can no
// longer be trusted, so the connection is closed before the error returns.
Error unexpected_reply(const engine::Server& server, net::Connection& connection,
                       const protocol::Reply& reply) {
  connection.fail(net::ConnectionFailure::unexpected_reply,
                  std::string(protocol::name_of(reply.status)) + " reply for key \"" +
                      protocol::printable_excerpt(reply.key) + "\" that was not asked for");
  return connection_error(server, connection);
}

Error invalid_key_error(std::string_view key, const protocol::KeyCheck& check) {
  std::string text = "invalid key \"" + protocol::printable_excerpt(key) + "\": ";
  text += protocol::describe(check.problem);
  if (check.problem == protocol::KeyProblem::forbidden_byte ||
      check.problem == protocol::KeyProblem::non_ascii) {
    text += " at byte " + std::to_string(check.position);
  }
  return Error{Errc::invalid_key, {}, std::move(text)};
}

// A key as it goes out: as given (a text key), as raw bytes that meta sends
// base64-encoded with `b` (a binary key), or replaced by its digest
// (digest_long_keys). `key` is what is routed and sent.
struct WireKey {
  std::string_view key;
  bool binary = false;
};

// Decides how `key` goes out, or why it cannot: behind ClientOptions::
// key_prefix, then as a text key, a binary key or its digest (or, with the
// binary protocol, any bytes). `digest` holds the key sent when it is not
// the caller's (prefixed or digested), and must outlive the WireKey.
std::optional<Error> prepare_key(const Engine& engine, std::string_view key, WireKey& wire,
                                 std::string& digest) {
  const ClientOptions& options = engine.options();
  if (!options.key_prefix.empty()) {
    // The key as memcached sees it: the prefix counts toward every limit.
    // (The routing leaves the prefix out unless hash_key_prefix.)
    digest.assign(options.key_prefix).append(key);
    key = digest;
  }
  if (engine.is_binary()) {
    wire = {key, false};
    return binary_commands::check_key(key);
  }
  const protocol::KeyCheck check = protocol::check_text_key(key, options.allow_non_ascii_keys);
  if (check) {
    wire = {key, false};
    return std::nullopt;
  }
  if (options.digest_long_keys && key.size() > protocol::kMaxKeySize) {
    std::string digested;
    detail::digest_key(key, digested);
    digest = std::move(digested);
    wire = {digest, false};
    return std::nullopt;
  }
  const bool meta = engine.protocol() == WireProtocol::meta;
  if (meta && protocol::check_binary_key(key)) {
    wire = {key, true};
    return std::nullopt;
  }
  if (meta && check.problem != protocol::KeyProblem::empty &&
      check.problem != protocol::KeyProblem::too_long) {
    return Error{Errc::invalid_key,
                 {},
                 "invalid key \"" + protocol::printable_excerpt(key) +
                     "\": not a text key, and longer than the 186 bytes a binary key may have"};
  }
  return invalid_key_error(key, check);
}

Error needs_meta_error(const engine::Server& server, std::string_view what) {
  std::string text(what);
  text += " needs the meta protocol, and ";
  text += "the server does not speak it (or the client's protocol is \"text\")";
  return Error{Errc::invalid_argument, server.name(), with_server(server, text)};
}

Error binary_key_error(const engine::Server& server, std::string_view key) {
  return Error{Errc::invalid_key, server.name(),
               with_server(server, "invalid key \"" + protocol::printable_excerpt(key) +
                                       "\": not a text key, and the server does not speak the "
                                       "meta protocol that could send it base64-encoded")};
}

// The keys of a multi-key call as they go out. Views the caller's keys
// unless some were digested; copies nothing when every key is a text key.
class WireKeys {
 public:
  template <class KeyOf>
  std::optional<Error> prepare(const Engine& engine, std::size_t count, KeyOf&& key_of) {
    count_ = count;
    WireKey wire;
    std::string digest;
    for (std::size_t i = 0; i < count; ++i) {
      const std::string_view key = key_of(i);
      if (auto error = prepare_key(engine, key, wire, digest)) return error;
      if (wire.binary) {
        if (binary_.empty()) binary_.resize(count);
        binary_[i] = true;
      }
      if (wire.key.data() != key.data()) {
        if (keys_.empty()) {
          keys_.reserve(count);
          for (std::size_t j = 0; j < i; ++j) keys_.push_back(key_of(j));
        }
        digests_.push_back(std::move(digest));
        keys_.push_back(digests_.back());
      } else if (!keys_.empty()) {
        keys_.push_back(key);
      }
    }
    return std::nullopt;
  }
  // Whether the key at `index` goes out as it was given; otherwise it was digested.
  [[nodiscard]] bool as_given(std::size_t index, std::string_view given) const noexcept {
    return keys_.empty() || keys_[index].data() == given.data();
  }
  template <class KeyOf>
  [[nodiscard]] std::string_view key(std::size_t index, KeyOf&& key_of) const {
    return keys_.empty() ? key_of(index) : keys_[index];
  }
  [[nodiscard]] bool binary(std::size_t index) const noexcept {
    return !binary_.empty() && binary_[index];
  }
  [[nodiscard]] bool any_binary() const noexcept { return !binary_.empty(); }
  [[nodiscard]] bool any_digested() const noexcept { return !keys_.empty(); }
  // Requires any_digested().
  [[nodiscard]] std::span<const std::string_view> digested_keys() const noexcept { return keys_; }
  [[nodiscard]] std::size_t size() const noexcept { return count_; }

 private:
  std::size_t count_ = 0;
  std::vector<std::string_view> keys_;  // filled iff a key was digested
  std::vector<bool> binary_;            // filled iff a key is binary
  // Stable addresses for keys_; a list, as an empty one allocates nothing.
  std::list<std::string> digests_;
};

std::optional<Error> check_ttl(std::int64_t ttl) {
  if (ttl >= std::numeric_limits<std::int32_t>::min() &&
      ttl <= std::numeric_limits<std::int32_t>::max()) {
    return std::nullopt;
  }
  return Error{Errc::invalid_argument,
               {},
               "ttl " + std::to_string(ttl) + " is outside memcached's 32-bit range"};
}

std::optional<Error> check_value(const Engine& engine, std::string_view value) {
  if (value.size() <= engine.options().max_value_size) return std::nullopt;
  return Error{Errc::value_too_large,
               {},
               "value of " + std::to_string(value.size()) + " bytes is above max_value_size (" +
                   std::to_string(engine.options().max_value_size) + ")"};
}

// Failures after which a request on a reused connection may be sent again:
// the server closed the idle connection (restart, idle_timeout) before it
// could have acted on the request.
bool is_stale_connection(const net::Connection& connection) noexcept {
  return connection.exchanges_served() > 0 && !connection.received_any() &&
         (connection.failure() == net::ConnectionFailure::closed_by_server ||
          connection.failure() == net::ConnectionFailure::reset);
}

// Runs one exchange on a connection to `server`: `prepare` appends the
// requests, `interpret` turns the replies into the result. A request marked
// idempotent is sent once more on a fresh connection when a reused one turns
// out to be stale, so the first call after a server restart does not fail.
struct IgnoreFailure {
  void operator()(const net::Connection&) const noexcept {}
};

template <class Prepare, class Interpret, class OnFailure = IgnoreFailure>
auto exchange_with(engine::Server& server, net::Deadline deadline, bool idempotent,
                   Prepare&& prepare, Interpret&& interpret, OnFailure&& on_failure = {})
    -> decltype(interpret(std::declval<Lease&>())) {
  Lease lease = server.pool().lease(deadline);
  if (!lease) return pool_timeout_error(server);
  for (int attempt = 0;; ++attempt) {
    net::Connection& connection = *lease;
    if (!connection.ensure_open(deadline)) {
      record_outcome(server, connection);
      return connection_error(server, connection);
    }
    connection.begin_exchange();
    prepare(connection);
    if (connection.run(deadline)) {
      record_outcome(server, connection);
      return interpret(lease);
    }
    if (!(idempotent && attempt == 0 && is_stale_connection(connection))) {
      record_outcome(server, connection);
      on_failure(connection);
      return connection_error(server, connection);
    }
  }
}

// Whether `server` speaks meta, asking it once with `mn` (memcached before
// 1.6 answers ERROR). Meta must never be sent blind: an old server would
// read a value's bytes as commands.
Result<bool> probe_meta(engine::Server& server, net::Deadline deadline) {
  using Support = engine::Server::MetaSupport;
  switch (server.meta_support()) {
    case Support::yes: return true;
    case Support::no: return false;
    case Support::unknown: break;
  }
  bool closed_on_probe = false;
  Result<bool> known = exchange_with(
      server, deadline, true,
      [](net::Connection& connection) {
        protocol::append_meta_noop_request(connection.requests());
        connection.expect_meta();
      },
      [](Lease& lease) -> Result<bool> { return lease->reply(0).status == ReplyStatus::noop; },
      [&](const net::Connection& connection) {
        // twemproxy closes the connection on a command it does not know
        // rather than answering ERROR: a server that accepted the connection
        // and dropped it at `mn` does not speak meta.
        closed_on_probe = connection.failure() == net::ConnectionFailure::closed_by_server ||
                          connection.failure() == net::ConnectionFailure::reset;
      });
  if (!known && closed_on_probe) {
    // Only if the server is alive: a text request on a fresh connection must
    // get its answer, or the server crashed and the probe proved nothing.
    Result<bool> alive = exchange_with(
        server, deadline, true,
        [](net::Connection& connection) {
          protocol::append_version_request(connection.requests());
          connection.expect(TextReplyKind::version);
        },
        [](Lease&) -> Result<bool> { return false; });
    if (!alive) return std::move(alive.error());
    known = false;
  }
  if (known) server.set_meta_support(*known ? Support::yes : Support::no);
  return known;
}

// Whether calls to `server` use meta commands.
Result<bool> speaks_meta(const Engine& engine, engine::Server& server, net::Deadline deadline) {
  if (engine.protocol() != WireProtocol::meta) return false;
  return probe_meta(server, deadline);
}

// Whether set_many's quiet pipeline and the noreply fence (ms q, mn) may be
// sent to `server` (see Engine::pipelines_with_meta).
Result<bool> pipelines_with_meta(const Engine& engine, engine::Server& server,
                                 net::Deadline deadline) {
  if (!engine.pipelines_with_meta()) return false;
  return probe_meta(server, deadline);
}

// Whether a noreply request to `server` goes fire and forget: sent quiet,
// then fenced (a binary noop, or an `mn` where the server speaks meta).
// `meta`: calls to the server already use meta.
Result<bool> fences_quiet_requests(const Engine& engine, engine::Server& server, bool meta,
                                   net::Deadline deadline) {
  if (meta || engine.is_binary()) return true;
  return pipelines_with_meta(engine, server, deadline);
}

// How a connection of `engine` fences off its fire-and-forget requests.
net::Connection::Fence quiet_fence(const Engine& engine) noexcept {
  return engine.is_binary() ? net::Connection::Fence::binary : net::Connection::Fence::meta;
}

protocol::RetrievalCommand retrieval_command(const FetchOptions& options) noexcept {
  if (options.touch) {
    return options.with_cas ? protocol::RetrievalCommand::gats : protocol::RetrievalCommand::gat;
  }
  return options.with_cas ? protocol::RetrievalCommand::gets : protocol::RetrievalCommand::get;
}

// One server's part of a call that runs on several servers at once.
struct ServerCall {
  std::size_t server;  // index in the engine
  Lease lease;
  std::optional<Error> error;  // set iff the server failed: no connection, or the exchange
};

// Leases a connection to each of `servers`, lets `prepare(call)` append its
// requests, then runs every exchange at once under `deadline`: all requests
// are written before any reply is awaited. Returns each server's outcome in
// the order given; a failure on one does not stop the others.
template <class Prepare>
std::vector<ServerCall> run_on_servers(const Engine& engine, std::span<const std::size_t> servers,
                                       net::Deadline deadline, bool idempotent, Prepare&& prepare) {
  std::vector<ServerCall> calls;
  calls.reserve(servers.size());
  for (const std::size_t index : servers) calls.push_back(ServerCall{index, {}, std::nullopt});
  std::vector<net::Connection*> connections;
  connections.reserve(servers.size());
  // A second round re-sends an idempotent request on a fresh connection for
  // each server whose pooled connection turned out stale (see exchange_with).
  for (int attempt = 0; attempt < 2; ++attempt) {
    connections.clear();
    for (ServerCall& call : calls) {
      if (attempt > 0 && !(idempotent && call.error && is_stale_connection(*call.lease))) continue;
      engine::Server& server = engine.server(call.server);
      call.error.reset();
      if (!call.lease) call.lease = server.pool().lease(deadline);
      if (!call.lease) {
        call.error = pool_timeout_error(server);
      } else if (!call.lease->ensure_open(deadline)) {
        record_outcome(server, *call.lease);
        call.error = connection_error(server, *call.lease);
      } else {
        call.lease->begin_exchange();
        prepare(call);
        connections.push_back(call.lease.get());
      }
    }
    if (connections.empty()) break;
    engine::run_exchanges(connections, deadline);
    for (ServerCall& call : calls) {
      if (call.error || std::find(connections.begin(), connections.end(), call.lease.get()) ==
                            connections.end()) {
        continue;
      }
      if (attempt == 0 && idempotent && is_stale_connection(*call.lease)) {
        call.error = connection_error(engine.server(call.server), *call.lease);
        continue;  // counted when the retry settles it
      }
      record_outcome(engine.server(call.server), *call.lease);
      if (call.lease->failure() != net::ConnectionFailure::none) {
        call.error = connection_error(engine.server(call.server), *call.lease);
      }
    }
  }
  return calls;
}

// The servers that get at least one item, each one's items (indexes into
// the caller's list, in order), and the items no server takes now (their
// server is down and the policy sends them nowhere).
struct ItemsByServer {
  std::vector<std::size_t> servers;
  std::vector<std::vector<std::size_t>> items;  // indexed by server
  std::vector<std::size_t> unroutable;
  std::vector<std::size_t> unroutable_servers;  // the home server of each, for its error
};

template <class KeyOf>
ItemsByServer group_by_server(const Engine& engine, std::size_t item_count, KeyOf&& key_of) {
  // Routed once, counted, then grouped: each server's list is allocated
  // once at its final size instead of growing key by key.
  constexpr std::size_t kUnroutable = std::numeric_limits<std::size_t>::max();
  ItemsByServer groups;
  groups.items.resize(engine.server_count());
  std::vector<std::size_t> server_of(item_count);
  std::vector<std::size_t> counts(engine.server_count());
  const auto now = engine::ServerHealth::Clock::now();
  for (std::size_t i = 0; i < item_count; ++i) {
    const std::string_view key = key_of(i);
    if (const std::optional<std::size_t> server = engine.route(key, now)) {
      server_of[i] = *server;
      ++counts[*server];
    } else {
      server_of[i] = kUnroutable;
      groups.unroutable.push_back(i);
      groups.unroutable_servers.push_back(engine.server_index_for(key));
    }
  }
  for (std::size_t server = 0; server < groups.items.size(); ++server) {
    if (counts[server] == 0) continue;
    groups.items[server].reserve(counts[server]);
    groups.servers.push_back(server);
  }
  for (std::size_t i = 0; i < item_count; ++i) {
    if (server_of[i] != kUnroutable) groups.items[server_of[i]].push_back(i);
  }
  return groups;
}

// memcached 1.6 answers a get line of any length, but drops gat and gats
// lines longer than about 16 KiB without a reply, so those are split.
constexpr std::size_t kMaxTouchLineKeyBytes = std::size_t{8} * 1024;

// The caller's ValueStorage, and the key of a fetch of one key: its meta
// reply does not name it (no `k`, which would cost every reply its bytes).
struct SinkTarget {
  ValueStorage* storage;
  std::string_view only_key;
};

// Routes large values to the caller's ValueStorage, if any. `target` must
// outlive the exchange.
net::ValueSink value_sink(const FetchOptions& options, SinkTarget& target) {
  if (options.storage == nullptr) return {};
  return net::ValueSink{
      .allocate =
          [](void* context, std::string_view key, std::size_t size) {
            const auto* sink = static_cast<const SinkTarget*>(context);
            return sink->storage->allocate(key.empty() ? sink->only_key : key, size);
          },
      .context = &target,
      .min_size = options.storage_min_size,
  };
}

// Appends the retrieval requests for `keys` with their expected replies.
void append_retrievals(const Engine& engine, net::Connection& connection,
                       protocol::RetrievalCommand command, std::int64_t ttl,
                       std::span<const std::string_view> keys) {
  if (engine.is_binary()) {
    binary_commands::append_retrievals(connection, command, ttl, keys);
    return;
  }
  const bool touches =
      command == protocol::RetrievalCommand::gat || command == protocol::RetrievalCommand::gats;
  std::size_t first = 0;
  while (first < keys.size()) {
    std::size_t last = keys.size();
    if (touches) {
      std::size_t line_bytes = 0;
      last = first;
      while (last < keys.size() &&
             (last == first || line_bytes + keys[last].size() + 1 <= kMaxTouchLineKeyBytes)) {
        line_bytes += keys[last].size() + 1;
        ++last;
      }
    }
    protocol::append_retrieval_request(connection.requests(), command, ttl,
                                       keys.subspan(first, last - first));
    connection.expect(TextReplyKind::retrieval);
    first = last;
  }
}

// Makes the last hit report `key` (the caller's) as its key.
void record_given_key(FetchState& state, std::string_view key) {
  FetchState::Hit& hit = state.hits.back();
  hit.key_offset = static_cast<std::uint32_t>(state.key_bytes.size());
  hit.key_size = static_cast<std::uint32_t>(key.size());
  state.key_bytes.append(key);
}

// Records the hits of one retrieval exchange into `state`. VALUE replies
// come in request order, so each must match a requested key at or after the
// previous match: anything else means the stream is out of step.
// `key_indexes[i]` is where keys[i] stands in the caller's keys; empty when
// they are the caller's keys.
// `given_key(key_index)` is the caller's key; it is recorded for the hit
// when `report_given` (the keys sent were digests).
template <class GivenKey>
std::optional<Error> collect_hits(engine::Server& server, Lease& lease,
                                  std::span<const std::string_view> keys,
                                  std::span<const std::size_t> key_indexes, FetchState& state,
                                  bool report_given, GivenKey&& given_key) {
  net::Connection& connection = *lease;
  std::size_t cursor = 0;
  for (std::size_t i = 0; i < connection.reply_count(); ++i) {
    const protocol::Reply reply = connection.reply(i);
    // END ends a text retrieval; the noop's reply a binary batch.
    if (reply.status == ReplyStatus::end || reply.status == ReplyStatus::noop) continue;
    if (reply.status != ReplyStatus::value) return reply_error(server, reply);
    while (cursor < keys.size() && keys[cursor] != reply.key) ++cursor;
    if (cursor == keys.size()) return unexpected_reply(server, connection, reply);
    const std::size_t key_index = key_indexes.empty() ? cursor : key_indexes[cursor];
    ++cursor;
    state.hits.push_back({ItemView{reply.key, reply.data, reply.flags, reply.cas, key_index}});
    if (report_given) record_given_key(state, given_key(key_index));
  }
  state.leases.push_back(std::move(lease));
  return std::nullopt;
}

// Appends the meta retrievals of `count` keys: one `mg` alone, or several
// quiet ones (misses unanswered), each tagged with its position as the
// opaque, closed by `mn`. `key_at(position)` is the WireKey to send.
template <class KeyAt>
void append_meta_retrievals(net::Connection& connection, std::size_t count, KeyAt&& key_at,
                            const FetchOptions& options) {
  // k only for a caller's ValueStorage, which is told the key (the key of
  // one alone is known without it).
  protocol::MetaGetOptions get{
      .return_value = true,
      .return_flags = true,
      .return_cas = options.with_cas,
      .return_key = options.storage != nullptr && count > 1,
      .quiet = count > 1,
  };
  if (options.touch) get.update_ttl = options.ttl;
  std::array<char, protocol::kMaxDecimalSize> opaque;
  for (std::size_t position = 0; position < count; ++position) {
    const WireKey key = key_at(position);
    get.binary_key = key.binary;
    if (count > 1) {
      get.opaque =
          std::string_view(opaque.data(), protocol::format_decimal(position, opaque.data()));
    }
    protocol::append_meta_get_request(connection.requests(), key.key, get);
  }
  if (count > 1) {
    protocol::append_meta_noop_request(connection.requests());
    connection.expect_meta_pipeline();
  } else {
    connection.expect_meta();
  }
}

// Records the hits of the meta retrievals append_meta_retrievals sent for
// `count` keys. Each VA is matched by its opaque (its position), so a hit
// can never be taken for another key's; `key_index_at(position)` is where
// the key stands in the caller's keys, `given_key(key_index)` the key itself.
template <class KeyIndexAt, class GivenKey>
std::optional<Error> collect_meta_hits(engine::Server& server, Lease& lease, std::size_t count,
                                       KeyIndexAt&& key_index_at, GivenKey&& given_key,
                                       FetchState& state) {
  net::Connection& connection = *lease;
  for (std::size_t i = 0; i < connection.reply_count(); ++i) {
    const protocol::Reply reply = connection.reply(i);
    if (reply.status == ReplyStatus::noop || reply.status == ReplyStatus::miss) continue;
    if (protocol::is_error(reply.status)) return reply_error(server, reply);
    std::uint64_t position = 0;
    if (reply.status != ReplyStatus::value ||
        (count > 1 && (!protocol::parse_decimal(reply.opaque, position) || position >= count))) {
      connection.fail(net::ConnectionFailure::unexpected_reply,
                      std::string(protocol::name_of(reply.status)) + " reply with opaque \"" +
                          protocol::printable_excerpt(reply.opaque) + "\" that no mg carried");
      return connection_error(server, connection);
    }
    const std::size_t key_index = key_index_at(static_cast<std::size_t>(position));
    state.hits.push_back({ItemView{{}, reply.data, reply.flags, reply.cas, key_index}});
    record_given_key(state, given_key(key_index));
  }
  state.leases.push_back(std::move(lease));
  return std::nullopt;
}

}  // namespace

// FetchedItems ---------------------------------------------------------------

FetchedItems::FetchedItems() = default;
FetchedItems::FetchedItems(FetchedItems&&) noexcept = default;
FetchedItems& FetchedItems::operator=(FetchedItems&& other) noexcept {
  if (this != &other) {
    if (state_) detail::recycle_fetch_state(std::move(state_));
    state_ = std::move(other.state_);
  }
  return *this;
}
FetchedItems::~FetchedItems() {
  if (state_) detail::recycle_fetch_state(std::move(state_));
}

std::size_t FetchedItems::size() const noexcept { return state_ ? state_->hits.size() : 0; }

std::span<const Error> FetchedItems::failures() const noexcept {
  if (!state_) return {};
  return state_->failures;
}

ItemView FetchedItems::operator[](std::size_t index) const noexcept {
  const FetchState::Hit& hit = state_->hits[index];
  ItemView item = hit.item;
  if (hit.key_size != FetchState::kReplyKey) {
    item.key = std::string_view(state_->key_bytes).substr(hit.key_offset, hit.key_size);
  }
  return item;
}

// Client ---------------------------------------------------------------------

Client::Client(ClientOptions options)
    : state_(std::make_unique<detail::ClientState>(std::move(options))) {}
Client::Client(Client&&) noexcept = default;
Client& Client::operator=(Client&&) noexcept = default;
Client::~Client() = default;

std::vector<std::string> Client::servers() const {
  const std::shared_ptr<const Engine> engine = state_->engine();
  std::vector<std::string> names;
  for (std::size_t i = 0; i < engine->server_count(); ++i) {
    names.push_back(engine->server(i).name());
  }
  return names;
}

void Client::set_servers(const std::vector<std::string>& servers) { state_->set_servers(servers); }

std::optional<std::uint64_t> Client::discovered_config_version() const {
  const engine::ClusterDiscovery* discovery = state_->discovery();
  return discovery ? discovery->version() : std::nullopt;
}

std::uint64_t Client::discovery_failure_count() const {
  const engine::ClusterDiscovery* discovery = state_->discovery();
  return discovery ? discovery->failure_count() : 0;
}

std::string Client::discovery_last_error() const {
  const engine::ClusterDiscovery* discovery = state_->discovery();
  return discovery ? discovery->last_error() : std::string();
}

Result<std::string> Client::server_for_key(std::string_view key) const {
  const std::shared_ptr<const Engine> engine = state_->engine();
  WireKey wire;
  std::string digest;
  if (auto error = prepare_key(*engine, key, wire, digest)) return std::move(*error);
  return engine->server(engine->server_index_for(wire.key)).name();
}

Result<std::optional<std::string>> Client::live_server_for_key(std::string_view key) const {
  const std::shared_ptr<const Engine> engine = state_->engine();
  WireKey wire;
  std::string digest;
  if (auto error = prepare_key(*engine, key, wire, digest)) return std::move(*error);
  const std::optional<std::size_t> index =
      engine->route(wire.key, engine::ServerHealth::Clock::now());
  if (!index) return std::optional<std::string>();
  return std::optional<std::string>(engine->server(*index).name());
}

std::optional<std::string> Client::server_for_routing_key(std::string_view routing_key,
                                                          bool live) const {
  const std::shared_ptr<const Engine> engine = state_->engine();
  // As a wire key: the router takes the prefix off again unless hash_key_prefix.
  const std::string wire_key = engine->options().key_prefix + std::string(routing_key);
  if (!live) return engine->server(engine->server_index_for(wire_key)).name();
  const std::optional<std::size_t> index =
      engine->route(wire_key, engine::ServerHealth::Clock::now());
  if (!index) return std::nullopt;
  return engine->server(*index).name();
}

bool Client::record_server_outcome(std::string_view server, bool succeeded) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  for (std::size_t index = 0; index < engine->server_count(); ++index) {
    engine::Server& candidate = engine->server(index);
    if (candidate.name() != server) continue;
    if (succeeded) {
      candidate.health().record_success();
    } else {
      candidate.health().record_failure(engine::ServerHealth::Clock::now());
    }
    return true;
  }
  return false;
}

void Client::close() {
  const std::shared_ptr<const Engine> engine = state_->engine();
  for (std::size_t i = 0; i < engine->server_count(); ++i) engine->server(i).pool().close_idle();
}

Result<FetchedItems> Client::fetch(std::string_view key, FetchOptions options) {
  return fetch(std::span<const std::string_view>(&key, 1), options);
}

Result<FetchedItems> Client::fetch(std::span<const std::string_view> keys, FetchOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const auto given_key = [&](std::size_t i) { return keys[i]; };
  WireKeys wire;
  if (auto error = wire.prepare(*engine, keys.size(), given_key)) return std::move(*error);
  if (options.touch) {
    if (auto error = check_ttl(options.ttl)) return std::move(*error);
  }
  FetchedItems items;
  if (keys.empty()) return items;
  items.state_ = detail::take_fetch_state();
  FetchState& state = *items.state_;
  state.engine = engine;
  const protocol::RetrievalCommand command = retrieval_command(options);
  const net::Deadline deadline = engine->new_deadline();
  const bool miss_on_error = engine->options().miss_on_error;
  const std::span<const std::string_view> wire_keys =
      wire.any_digested() ? wire.digested_keys() : keys;
  const auto wire_key = [&](std::size_t i) { return WireKey{wire_keys[i], wire.binary(i)}; };
  const bool report_given = wire.any_digested();

  // Where the server speaks meta, a single key goes out as mg; several go
  // out as one text get (gets, gat, gats) unless one is a binary key, which
  // only meta can send: measured with bench/compare_protocols.py, memcached
  // answers one get of 100 keys about twice as fast as 100 quiet mg, and a
  // multi-key get cannot shift replies (each VALUE names its key). Binary
  // keys go out as quiet mg matched by opaque, closed by mn.
  //
  // One server involved (a single key, or a one-server client): no
  // grouping, and a stale pooled connection is retried as for any read.
  if (engine->server_count() == 1 || keys.size() == 1) {
    const auto now = engine::ServerHealth::Clock::now();
    const std::optional<std::size_t> index = engine->server_count() == 1
                                                 ? std::optional<std::size_t>(0)
                                                 : engine->route(wire_keys[0], now);
    engine::Server& server =
        engine->server(index ? *index : engine->server_index_for(wire_keys[0]));
    std::optional<Error> failure;
    Result<bool> meta = false;
    if (!index || !server.health().admits(now)) {
      failure = unavailable_server_error(server);
    } else if (meta = speaks_meta(*engine, server, deadline); !meta) {
      failure = std::move(meta.error());
    } else if (!*meta && wire.any_binary()) {
      return binary_key_error(server, keys[0]);
    } else {
      const bool use_meta = *meta && (keys.size() == 1 || wire.any_binary());
      SinkTarget single_target{options.storage, keys.size() == 1 ? keys[0] : ""};
      const auto identity = [](std::size_t i) { return i; };
      failure = exchange_with(
          server, deadline, true,
          [&](net::Connection& connection) {
            if (use_meta) {
              append_meta_retrievals(connection, keys.size(), wire_key, options);
            } else {
              append_retrievals(*engine, connection, command, options.ttl, wire_keys);
            }
            connection.set_value_sink(value_sink(options, single_target));
          },
          [&](Lease& lease) -> std::optional<Error> {
            if (use_meta) {
              return collect_meta_hits(server, lease, keys.size(), identity, given_key, state);
            }
            return collect_hits(server, lease, wire_keys, {}, state, report_given, given_key);
          });
    }
    if (!failure) return items;
    if (!(miss_on_error && is_server_failure(*failure))) return std::move(*failure);
    state.failures.push_back(std::move(*failure));
    return items;
  }

  // Several servers: group the keys, start every server's exchange, then
  // read all replies together. A server that fails costs only its own keys
  // (they are misses, and the failure is in failures()); the call fails only
  // when no server answered.
  const ItemsByServer groups =
      group_by_server(*engine, keys.size(), [&](std::size_t i) { return wire_keys[i]; });
  for (const std::size_t server : groups.unroutable_servers) {
    state.failures.push_back(unavailable_server_error(engine->server(server)));
  }
  std::vector<std::size_t> servers;
  std::vector<bool> meta_servers(engine->server_count());
  std::vector<std::vector<std::string_view>> keys_by_server(engine->server_count());
  for (const std::size_t server : groups.servers) {
    Result<bool> meta = speaks_meta(*engine, engine->server(server), deadline);
    if (!meta) {
      state.failures.push_back(std::move(meta.error()));
      continue;
    }
    if (!*meta && wire.any_binary()) {
      for (const std::size_t i : groups.items[server]) {
        if (wire.binary(i)) return binary_key_error(engine->server(server), keys[i]);
      }
    }
    const std::vector<std::size_t>& server_items = groups.items[server];
    meta_servers[server] = *meta && (server_items.size() == 1 ||
                                     std::any_of(server_items.begin(), server_items.end(),
                                                 [&](std::size_t i) { return wire.binary(i); }));
    servers.push_back(server);
    if (meta_servers[server]) continue;
    keys_by_server[server].reserve(server_items.size());
    for (const std::size_t i : server_items) keys_by_server[server].push_back(wire_keys[i]);
  }
  SinkTarget many_target{options.storage, {}};
  std::vector<ServerCall> calls =
      run_on_servers(*engine, servers, deadline, true, [&](ServerCall& call) {
        const std::vector<std::size_t>& server_items = groups.items[call.server];
        if (meta_servers[call.server]) {
          append_meta_retrievals(
              *call.lease, server_items.size(),
              [&](std::size_t position) { return wire_key(server_items[position]); }, options);
        } else {
          append_retrievals(*engine, *call.lease, command, options.ttl,
                            keys_by_server[call.server]);
        }
        call.lease->set_value_sink(value_sink(options, many_target));
      });
  std::size_t answered = 0;
  for (ServerCall& call : calls) {
    const std::vector<std::size_t>& server_items = groups.items[call.server];
    engine::Server& server = engine->server(call.server);
    if (!call.error && meta_servers[call.server]) {
      call.error = collect_meta_hits(
          server, call.lease, server_items.size(),
          [&](std::size_t position) { return server_items[position]; }, given_key, state);
    } else if (!call.error) {
      call.error = collect_hits(server, call.lease, keys_by_server[call.server], server_items,
                                state, report_given, given_key);
    }
    if (call.error) {
      state.failures.push_back(std::move(*call.error));
    } else {
      ++answered;
    }
  }
  if (answered == 0 && !miss_on_error) return std::move(state.failures.front());
  return items;
}

namespace {

Result<std::optional<Item>> first_item(Result<FetchedItems> fetched) {
  if (!fetched) return std::move(fetched.error());
  if (fetched->empty()) return std::optional<Item>();
  const ItemView view = (*fetched)[0];
  return std::optional<Item>(Item{std::string(view.value), view.flags, view.cas});
}

Result<std::unordered_map<std::string, Item>> owned_items(Result<FetchedItems> fetched) {
  if (!fetched) return std::move(fetched.error());
  std::unordered_map<std::string, Item> items;
  items.reserve(fetched->size());
  for (std::size_t i = 0; i < fetched->size(); ++i) {
    const ItemView view = (*fetched)[i];
    items.insert_or_assign(std::string(view.key),
                           Item{std::string(view.value), view.flags, view.cas});
  }
  return items;
}

}  // namespace

Result<std::optional<Item>> Client::get(std::string_view key) { return first_item(fetch(key)); }
Result<std::optional<Item>> Client::gets(std::string_view key) {
  return first_item(fetch(key, {.with_cas = true}));
}
Result<std::optional<Item>> Client::gat(std::string_view key, std::int64_t ttl) {
  return first_item(fetch(key, {.touch = true, .ttl = ttl}));
}
Result<std::optional<Item>> Client::gats(std::string_view key, std::int64_t ttl) {
  return first_item(fetch(key, {.with_cas = true, .touch = true, .ttl = ttl}));
}
Result<std::unordered_map<std::string, Item>> Client::get_many(
    std::span<const std::string_view> keys) {
  return owned_items(fetch(keys));
}
Result<std::unordered_map<std::string, Item>> Client::gets_many(
    std::span<const std::string_view> keys) {
  return owned_items(fetch(keys, {.with_cas = true}));
}

// Single-key calls --------------------------------------------------------

namespace {

// Sends one request for `key` to its server and maps its reply through
// `interpret(reply, meta)`, which sees only non-error replies.
// `prepare(connection, wire_key, meta, quiet)` appends the request with its
// expectation, in meta when the server speaks it. A call that only meta can
// make passes its name as `meta_only`: it then fails with nothing sent when
// the server does not speak meta.
//
// A `noreply` call is answered as if the server had said HD
// (interpret(done, true)) unless the server cannot be reached. Where a
// fence may follow the request (the binary protocol's noop, or an `mn`
// where pipelines_with_meta), it is fire and forget: `prepare` is called
// with `quiet` and appends the request quiet (binary quiet opcode, meta q,
// or text noreply) with no expectation, and the call returns once it is
// written (Connection::send_quietly). A command with no quiet form there
// (binary touch) appends its request answered instead, and that answer is
// awaited and dropped, as it is elsewhere ("text", a server without meta):
// a text noreply request would leave nothing to wait for, and its errors
// would surface later.
template <class Prepare, class Interpret>
auto keyed_call(const Engine& engine, std::string_view key, std::string_view meta_only,
                bool idempotent, bool noreply, Prepare&& prepare, Interpret&& interpret)
    -> decltype(interpret(std::declval<const protocol::Reply&>(), true)) {
  using Out = decltype(interpret(std::declval<const protocol::Reply&>(), true));
  const auto noreply_answer = [&]() -> Out {
    protocol::Reply done;
    done.status = ReplyStatus::done;
    return interpret(done, true);
  };
  WireKey wire;
  std::string digest;
  if (auto error = prepare_key(engine, key, wire, digest)) return std::move(*error);
  const std::optional<std::size_t> index =
      engine.route(wire.key, engine::ServerHealth::Clock::now());
  if (!index) return unavailable_server_error(engine.server(engine.server_index_for(wire.key)));
  engine::Server& server = engine.server(*index);
  const net::Deadline deadline = engine.new_deadline();
  Result<bool> meta = speaks_meta(engine, server, deadline);
  if (!meta) return std::move(meta.error());
  if (!*meta && !meta_only.empty()) return needs_meta_error(server, meta_only);
  if (!*meta && wire.binary) return binary_key_error(server, key);
  if (noreply) {
    Result<bool> fenced = fences_quiet_requests(engine, server, *meta, deadline);
    if (!fenced) return std::move(fenced.error());
    if (*fenced) {
      return exchange_with(
          server, deadline, idempotent,
          [&](net::Connection& connection) {
            prepare(connection, wire, *meta, true);
            if (!connection.expects_replies()) {
              connection.send_quietly(1, quiet_fence(engine));
            }
          },
          [&](Lease&) -> Out { return noreply_answer(); });
    }
  }
  return exchange_with(
      server, deadline, idempotent,
      [&](net::Connection& connection) { prepare(connection, wire, *meta, false); },
      [&](Lease& lease) -> Out {
        const protocol::Reply reply = lease->reply(0);
        if (protocol::is_error(reply.status)) {
          Error error = reply_error(server, reply);
          // After refusing a meta request memcached may have misread what
          // followed it (docs/protocol.md, "Meta"): the connection is not
          // trusted again.
          if (*meta) lease->fail(net::ConnectionFailure::unexpected_reply, error.message);
          if (noreply) return noreply_answer();
          return error;
        }
        if (noreply) return noreply_answer();
        return interpret(reply, *meta);
      });
}

std::optional<Error> check_opaque(std::string_view opaque) {
  if (opaque.empty() || protocol::is_valid_opaque(opaque)) return std::nullopt;
  return Error{Errc::invalid_argument,
               {},
               "invalid opaque \"" + protocol::printable_excerpt(opaque) +
                   "\": 1 to 31 printable ASCII bytes without spaces"};
}

template <class... Ttls>
std::optional<Error> check_ttls(const Ttls&... ttls) {
  std::optional<Error> error;
  const auto check = [&](const std::optional<std::int64_t>& ttl) {
    if (!error && ttl) error = check_ttl(*ttl);
  };
  (check(std::optional<std::int64_t>(ttls)), ...);
  return error;
}

protocol::MetaSetMode meta_mode(protocol::StorageCommand command) noexcept {
  switch (command) {
    case protocol::StorageCommand::add: return protocol::MetaSetMode::add;
    case protocol::StorageCommand::replace: return protocol::MetaSetMode::replace;
    case protocol::StorageCommand::append: return protocol::MetaSetMode::append;
    case protocol::StorageCommand::prepend: return protocol::MetaSetMode::prepend;
    default: return protocol::MetaSetMode::set;
  }
}

protocol::MetaSetMode meta_mode(StoreMode mode) noexcept {
  switch (mode) {
    case StoreMode::set: return protocol::MetaSetMode::set;
    case StoreMode::add: return protocol::MetaSetMode::add;
    case StoreMode::replace: return protocol::MetaSetMode::replace;
    case StoreMode::append: return protocol::MetaSetMode::append;
    case StoreMode::prepend: return protocol::MetaSetMode::prepend;
  }
  return protocol::MetaSetMode::set;
}

Result<bool> store_command(const Engine& engine, protocol::StorageCommand command,
                           std::string_view key, std::string_view value,
                           const StoreOptions& options) {
  if (auto error = check_ttl(options.ttl)) return std::move(*error);
  if (auto error = check_value(engine, value)) return std::move(*error);
  // A set can be repeated harmlessly; add, append and prepend cannot.
  const bool idempotent = command == protocol::StorageCommand::set;
  return keyed_call(
      engine, key, {}, idempotent, options.noreply,
      [&](net::Connection& connection, const WireKey& wire, bool meta, bool quiet) {
        if (engine.is_binary()) {
          binary_commands::append_storage(connection, command, wire.key, options.flags, options.ttl,
                                          value, 0, quiet);
        } else if (meta) {
          protocol::append_meta_set_request(connection.requests(), wire.key, value,
                                            {.mode = meta_mode(command),
                                             .flags = options.flags,
                                             .ttl = options.ttl,
                                             .quiet = quiet,
                                             .binary_key = wire.binary});
          if (!quiet) connection.expect_meta();
        } else {
          protocol::append_storage_request(connection.requests(), command, wire.key, options.flags,
                                           options.ttl, value, 0, quiet);
          if (!quiet) connection.expect(TextReplyKind::storage);
        }
      },
      [](const protocol::Reply& reply, bool meta) -> Result<bool> {
        return reply.status == (meta ? ReplyStatus::done : ReplyStatus::stored);
      });
}

Result<std::uint64_t> decimal_value(const protocol::Reply& reply) {
  std::uint64_t number = 0;
  if (!protocol::parse_decimal(reply.data, number)) {
    return Error{Errc::protocol_error,
                 {},
                 "arithmetic reply \"" + protocol::printable_excerpt(reply.data) +
                     "\" is not a decimal number"};
  }
  return number;
}

Result<std::optional<std::uint64_t>> incr_or_decr(const Engine& engine, bool decrement,
                                                  std::string_view key, std::uint64_t delta,
                                                  const WriteOptions& write) {
  return keyed_call(
      engine, key, {}, false, write.noreply,
      [&](net::Connection& connection, const WireKey& wire, bool meta, bool quiet) {
        if (engine.is_binary()) {
          binary_commands::append_arithmetic(
              connection,
              decrement ? protocol::ArithmeticCommand::decr : protocol::ArithmeticCommand::incr,
              wire.key, delta, quiet);
        } else if (meta) {
          protocol::append_meta_arithmetic_request(
              connection.requests(), wire.key,
              {.mode = decrement ? protocol::MetaArithmeticMode::decr
                                 : protocol::MetaArithmeticMode::incr,
               .delta = delta,
               .return_value = !quiet,
               .quiet = quiet,
               .binary_key = wire.binary});
          if (!quiet) connection.expect_meta();
        } else {
          protocol::append_arithmetic_request(
              connection.requests(),
              decrement ? protocol::ArithmeticCommand::decr : protocol::ArithmeticCommand::incr,
              wire.key, delta, quiet);
          if (!quiet) connection.expect(TextReplyKind::arithmetic);
        }
      },
      [](const protocol::Reply& reply, bool) -> Result<std::optional<std::uint64_t>> {
        if (reply.status == ReplyStatus::number) return std::optional<std::uint64_t>(reply.number);
        if (reply.status != ReplyStatus::value) return std::optional<std::uint64_t>();
        Result<std::uint64_t> number = decimal_value(reply);
        if (!number) return std::move(number.error());
        return std::optional<std::uint64_t>(*number);
      });
}

MetaItem meta_item(const protocol::Reply& reply) {
  MetaItem item{
      .value = std::string(reply.data),
      .flags = reply.flags,
      .cas = reply.cas,
      .ttl = reply.has_flag('t') ? reply.ttl : -1,
      .stale = reply.has_flag('X'),
      .won = reply.has_flag('W'),
      .already_won = reply.has_flag('Z'),
      .opaque = std::string(reply.opaque),
  };
  if (reply.has_flag('l')) item.last_access = reply.last_access;
  if (reply.has_flag('h')) item.hit_before = reply.hit_before;
  return item;
}

}  // namespace

Result<bool> Client::set(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store_command(*engine, protocol::StorageCommand::set, key, value, options);
}
Result<bool> Client::add(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store_command(*engine, protocol::StorageCommand::add, key, value, options);
}
Result<bool> Client::replace(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store_command(*engine, protocol::StorageCommand::replace, key, value, options);
}
Result<bool> Client::append(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store_command(*engine, protocol::StorageCommand::append, key, value, options);
}
Result<bool> Client::prepend(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store_command(*engine, protocol::StorageCommand::prepend, key, value, options);
}

Result<CasOutcome> Client::cas(std::string_view key, std::string_view value, std::uint64_t cas,
                               StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  if (auto error = check_ttl(options.ttl)) return std::move(*error);
  if (auto error = check_value(*engine, value)) return std::move(*error);
  return keyed_call(
      *engine, key, {}, false, options.noreply,
      [&](net::Connection& connection, const WireKey& wire, bool meta, bool quiet) {
        if (engine->is_binary()) {
          binary_commands::append_storage(connection, protocol::StorageCommand::cas, wire.key,
                                          options.flags, options.ttl, value, cas, quiet);
        } else if (meta) {
          protocol::append_meta_set_request(connection.requests(), wire.key, value,
                                            {.flags = options.flags,
                                             .ttl = options.ttl,
                                             .compare_cas = cas,
                                             .quiet = quiet,
                                             .binary_key = wire.binary});
          if (!quiet) connection.expect_meta();
        } else {
          protocol::append_storage_request(connection.requests(), protocol::StorageCommand::cas,
                                           wire.key, options.flags, options.ttl, value, cas, quiet);
          if (!quiet) connection.expect(TextReplyKind::storage);
        }
      },
      [](const protocol::Reply& reply, bool) -> Result<CasOutcome> {
        switch (reply.status) {
          case ReplyStatus::stored:
          case ReplyStatus::done: return CasOutcome::stored;
          case ReplyStatus::exists: return CasOutcome::exists;
          default: return CasOutcome::not_found;
        }
      });
}

Result<bool> Client::remove(std::string_view key, WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return keyed_call(
      *engine, key, {}, false, write.noreply,
      [&](net::Connection& connection, const WireKey& wire, bool meta, bool quiet) {
        if (engine->is_binary()) {
          binary_commands::append_delete(connection, wire.key, 0, quiet);
        } else if (meta) {
          protocol::append_meta_delete_request(connection.requests(), wire.key,
                                               {.quiet = quiet, .binary_key = wire.binary});
          if (!quiet) connection.expect_meta();
        } else {
          protocol::append_delete_request(connection.requests(), wire.key, quiet);
          if (!quiet) connection.expect(TextReplyKind::deletion);
        }
      },
      [](const protocol::Reply& reply, bool) -> Result<bool> {
        return reply.status == ReplyStatus::deleted || reply.status == ReplyStatus::done;
      });
}

Result<std::optional<std::uint64_t>> Client::incr(std::string_view key, std::uint64_t delta,
                                                  WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return incr_or_decr(*engine, false, key, delta, write);
}
Result<std::optional<std::uint64_t>> Client::decr(std::string_view key, std::uint64_t delta,
                                                  WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return incr_or_decr(*engine, true, key, delta, write);
}

Result<bool> Client::touch(std::string_view key, std::int64_t ttl, WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  if (auto error = check_ttl(ttl)) return std::move(*error);
  return keyed_call(
      *engine, key, {}, true, write.noreply,
      [&](net::Connection& connection, const WireKey& wire, bool meta, bool quiet) {
        if (engine->is_binary()) {
          // No quiet touch in binary: answered even with noreply (keyed_call).
          binary_commands::append_touch(connection, wire.key, ttl);
        } else if (meta) {
          // Quiet, a hit still answers HD: dropped with the owed replies.
          protocol::append_meta_get_request(
              connection.requests(), wire.key,
              {.quiet = quiet, .binary_key = wire.binary, .update_ttl = ttl});
          if (!quiet) connection.expect_meta();
        } else {
          protocol::append_touch_request(connection.requests(), wire.key, ttl, quiet);
          if (!quiet) connection.expect(TextReplyKind::touch);
        }
      },
      [](const protocol::Reply& reply, bool) -> Result<bool> {
        return reply.status == ReplyStatus::touched || reply.status == ReplyStatus::done;
      });
}

// Meta-only calls -------------------------------------------------------------

Result<std::optional<MetaItem>> Client::get_item(std::string_view key, ReadOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  if (auto error = check_ttls(options.touch_ttl, options.vivify_ttl, options.recache_ttl)) {
    return std::move(*error);
  }
  if (auto error = check_opaque(options.opaque)) return std::move(*error);
  // Touching or creating the item makes the call unsafe to repeat.
  const bool idempotent = !options.touch_ttl && !options.vivify_ttl && !options.recache_ttl;
  return keyed_call(
      *engine, key, "get_item", idempotent, false,
      [&](net::Connection& connection, const WireKey& wire, bool, bool) {
        protocol::append_meta_get_request(connection.requests(), wire.key,
                                          {.return_value = true,
                                           .return_flags = true,
                                           .return_cas = true,
                                           .return_ttl = true,
                                           .return_hit_before = options.with_hit_before,
                                           .return_last_access = options.with_last_access,
                                           .binary_key = wire.binary,
                                           .opaque = options.opaque,
                                           .update_ttl = options.touch_ttl,
                                           .vivify_ttl = options.vivify_ttl,
                                           .recache_ttl = options.recache_ttl});
        connection.expect_meta();
      },
      [](const protocol::Reply& reply, bool) -> Result<std::optional<MetaItem>> {
        if (reply.status != ReplyStatus::value) return std::optional<MetaItem>();
        return std::optional<MetaItem>(meta_item(reply));
      });
}

Result<LeaseResult> Client::get_or_lease(std::string_view key, std::int64_t lease_ttl,
                                         std::int64_t recache_ttl) {
  std::optional<std::int64_t> recache;
  if (recache_ttl != 0) recache = recache_ttl;
  Result<std::optional<MetaItem>> read =
      get_item(key, {.vivify_ttl = lease_ttl, .recache_ttl = recache});
  if (!read) return std::move(read.error());
  LeaseResult result;
  if (!*read) return result;  // not created: memcached answers a hit to N
  MetaItem& item = **read;
  result.must_recompute = item.won;
  // The empty item N created holds the lease's place: it is no value. (A
  // stored empty value carries no W or Z once stored, so is told apart.)
  const bool placeholder = (item.won || item.already_won) && !item.stale && item.value.empty();
  if (!placeholder) result.item = std::move(item);
  return result;
}

Result<StoreResult> Client::store(std::string_view key, std::string_view value,
                                  StoreRequest request) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  if (auto error = check_ttl(request.ttl)) return std::move(*error);
  if (auto error = check_value(*engine, value)) return std::move(*error);
  if (auto error = check_opaque(request.opaque)) return std::move(*error);
  const bool idempotent = request.mode == StoreMode::set && !request.compare_cas;
  return keyed_call(
      *engine, key, "store", idempotent, false,
      [&](net::Connection& connection, const WireKey& wire, bool, bool) {
        protocol::append_meta_set_request(connection.requests(), wire.key, value,
                                          {.mode = meta_mode(request.mode),
                                           .flags = request.flags,
                                           .ttl = request.ttl,
                                           .compare_cas = request.compare_cas,
                                           .invalidate = request.invalidate,
                                           .return_cas = true,
                                           .binary_key = wire.binary,
                                           .opaque = request.opaque});
        connection.expect_meta();
      },
      [](const protocol::Reply& reply, bool) -> Result<StoreResult> {
        StoreResult result{
            .status = StoreStatus::stored, .cas = 0, .opaque = std::string(reply.opaque)};
        switch (reply.status) {
          case ReplyStatus::done: result.cas = reply.cas; break;
          case ReplyStatus::not_stored: result.status = StoreStatus::not_stored; break;
          case ReplyStatus::exists: result.status = StoreStatus::exists; break;
          case ReplyStatus::not_found: result.status = StoreStatus::not_found; break;
          default:
            return Error{
                Errc::protocol_error,
                {},
                "unexpected reply " + std::string(protocol::name_of(reply.status)) + " to ms"};
        }
        return result;
      });
}

Result<bool> Client::invalidate(std::string_view key, std::int64_t stale_ttl) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  if (auto error = check_ttl(stale_ttl)) return std::move(*error);
  std::optional<std::int64_t> ttl;
  if (stale_ttl != 0) ttl = stale_ttl;
  return keyed_call(
      *engine, key, "invalidate", true, false,
      [&](net::Connection& connection, const WireKey& wire, bool, bool) {
        protocol::append_meta_delete_request(
            connection.requests(), wire.key,
            {.invalidate = true, .update_ttl = ttl, .binary_key = wire.binary});
        connection.expect_meta();
      },
      [](const protocol::Reply& reply, bool) -> Result<bool> {
        return reply.status == ReplyStatus::done;
      });
}

Result<std::optional<Counter>> Client::arithmetic(std::string_view key, ArithmeticOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  if (auto error = check_ttl(options.ttl)) return std::move(*error);
  if (auto error = check_opaque(options.opaque)) return std::move(*error);
  std::optional<std::int64_t> vivify;
  if (options.initial) vivify = options.ttl;
  return keyed_call(
      *engine, key, "arithmetic", false, false,
      [&](net::Connection& connection, const WireKey& wire, bool, bool) {
        protocol::append_meta_arithmetic_request(
            connection.requests(), wire.key,
            {.mode = options.decrement ? protocol::MetaArithmeticMode::decr
                                       : protocol::MetaArithmeticMode::incr,
             .delta = options.delta,
             .vivify_ttl = vivify,
             .initial = options.initial.value_or(0),
             .compare_cas = options.compare_cas,
             .return_value = true,
             .return_ttl = true,
             .return_cas = true,
             .binary_key = wire.binary,
             .opaque = options.opaque});
        connection.expect_meta();
      },
      [](const protocol::Reply& reply, bool) -> Result<std::optional<Counter>> {
        if (reply.status != ReplyStatus::value) return std::optional<Counter>();
        Result<std::uint64_t> number = decimal_value(reply);
        if (!number) return std::move(number.error());
        return std::optional<Counter>(Counter{.value = *number,
                                              .cas = reply.cas,
                                              .ttl = reply.has_flag('t') ? reply.ttl : -1,
                                              .opaque = std::string(reply.opaque)});
      });
}

// Pipelined multi-key writes --------------------------------------------------

Result<std::vector<std::size_t>> Client::set_many(std::span<const Entry> entries,
                                                  WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const auto given_key = [&](std::size_t i) { return entries[i].key; };
  WireKeys wire;
  if (auto error = wire.prepare(*engine, entries.size(), given_key)) return std::move(*error);
  for (const Entry& entry : entries) {
    if (auto error = check_ttl(entry.options.ttl)) return std::move(*error);
    if (auto error = check_value(*engine, entry.value)) return std::move(*error);
  }
  const auto wire_key = [&](std::size_t i) { return wire.key(i, given_key); };
  std::vector<std::size_t> failed;
  if (entries.empty()) return failed;
  const net::Deadline deadline = engine->new_deadline();
  const ItemsByServer groups = group_by_server(*engine, entries.size(), wire_key);
  // A server that fails costs only its own entries, which are reported as
  // not stored; the call fails only when no server answered.
  failed = groups.unroutable;
  std::optional<Error> first_failure;
  if (!groups.unroutable.empty()) {
    first_failure = unavailable_server_error(engine->server(groups.unroutable_servers.front()));
  }
  std::size_t answered = 0;
  const auto server_failed = [&](Error error, const std::vector<std::size_t>& items) {
    failed.insert(failed.end(), items.begin(), items.end());
    if (!first_failure) first_failure = std::move(error);
  };

  // Servers that speak meta get one quiet pipeline: each ms answers only if
  // it fails, tagged with its position as the opaque, and a closing mn says
  // the rest were stored. It halves the server's work against text sets. The others, and a
  // meta server whose pipeline met an error line, get sets answered each.
  ItemsByServer meta;
  ItemsByServer answered_each;
  meta.items.resize(engine->server_count());
  answered_each.items.resize(engine->server_count());
  for (const std::size_t server : groups.servers) {
    Result<bool> uses_meta = pipelines_with_meta(*engine, engine->server(server), deadline);
    if (!uses_meta) {
      server_failed(std::move(uses_meta.error()), groups.items[server]);
      continue;
    }
    if (!*uses_meta && wire.any_binary()) {
      for (const std::size_t i : groups.items[server]) {
        if (wire.binary(i)) return binary_key_error(engine->server(server), entries[i].key);
      }
    }
    ItemsByServer& side = *uses_meta ? meta : answered_each;
    side.servers.push_back(server);
    side.items[server] = groups.items[server];
  }
  std::vector<ServerCall> calls =
      run_on_servers(*engine, meta.servers, deadline, true, [&](ServerCall& call) {
        const std::vector<std::size_t>& items = meta.items[call.server];
        std::array<char, protocol::kMaxDecimalSize> opaque;
        for (std::size_t position = 0; position < items.size(); ++position) {
          const std::size_t i = items[position];
          const Entry& entry = entries[i];
          const std::size_t size = protocol::format_decimal(position, opaque.data());
          protocol::append_meta_set_request(call.lease->requests(), wire_key(i), entry.value,
                                            {.flags = entry.options.flags,
                                             .ttl = entry.options.ttl,
                                             .quiet = true,
                                             .binary_key = wire.binary(i),
                                             .opaque = std::string_view(opaque.data(), size)});
        }
        if (write.noreply) {
          call.lease->send_quietly(items.size(), net::Connection::Fence::meta);
          return;
        }
        protocol::append_meta_noop_request(call.lease->requests());
        call.lease->expect_meta_pipeline();
      });
  for (ServerCall& call : calls) {
    const std::vector<std::size_t>& items = meta.items[call.server];
    if (call.error) {
      server_failed(std::move(*call.error), items);
      continue;
    }
    if (write.noreply) {  // written; nothing to read
      ++answered;
      continue;
    }
    if (call.lease->pipeline_had_error()) {
      // An error line names no request, so which entry failed is unknown:
      // store this server's entries again with sets that are each answered
      // (meta without q), in order. A set may safely be repeated.
      answered_each.servers.push_back(call.server);
      answered_each.items[call.server] = items;
      continue;
    }
    const std::size_t failed_before = failed.size();
    bool out_of_step = false;
    for (std::size_t r = 0; r < call.lease->reply_count() && !out_of_step; ++r) {
      const protocol::Reply reply = call.lease->reply(r);
      if (reply.status == ReplyStatus::noop) continue;
      std::uint64_t position = 0;
      out_of_step = !protocol::parse_decimal(reply.opaque, position) || position >= items.size();
      if (!out_of_step) failed.push_back(items[position]);
    }
    if (out_of_step) {
      failed.resize(failed_before);
      call.lease->fail(net::ConnectionFailure::unexpected_reply,
                       "meta reply with an opaque no request carried");
      server_failed(connection_error(engine->server(call.server), *call.lease), items);
      continue;
    }
    ++answered;
  }
  calls.clear();  // gives the connections back before the second pass leases again

  // Binary servers take this pass, as one quiet batch of setq and a noop:
  // only failures answer, each naming its entry by opaque. With noreply the
  // setqs go alone, fire and forget, fenced by a noop later (send_quietly).
  std::vector<Entry> wire_entries;
  if (engine->is_binary() && wire.any_digested()) {
    wire_entries.assign(entries.begin(), entries.end());
    for (std::size_t i = 0; i < wire_entries.size(); ++i) wire_entries[i].key = wire_key(i);
  }
  const std::span<const Entry> binary_entries =
      wire_entries.empty() ? entries : std::span<const Entry>(wire_entries);
  std::vector<ServerCall> each_calls =
      run_on_servers(*engine, answered_each.servers, deadline, true, [&](ServerCall& call) {
        if (engine->is_binary()) {
          const std::vector<std::size_t>& items = answered_each.items[call.server];
          binary_commands::append_set_batch(*call.lease, binary_entries, items, write.noreply);
          if (write.noreply) call.lease->send_quietly(items.size(), net::Connection::Fence::binary);
          return;
        }
        for (const std::size_t i : answered_each.items[call.server]) {
          const Entry& entry = entries[i];
          if (meta.items[call.server].empty()) {
            protocol::append_storage_request(call.lease->requests(), protocol::StorageCommand::set,
                                             wire_key(i), entry.options.flags, entry.options.ttl,
                                             entry.value, 0, false);
            call.lease->expect(TextReplyKind::storage);
          } else {
            protocol::append_meta_set_request(call.lease->requests(), wire_key(i), entry.value,
                                              {.flags = entry.options.flags,
                                               .ttl = entry.options.ttl,
                                               .binary_key = wire.binary(i)});
            call.lease->expect_meta();
          }
        }
      });
  for (ServerCall& call : each_calls) {
    const std::vector<std::size_t>& items = answered_each.items[call.server];
    if (call.error) {
      server_failed(std::move(*call.error), items);
      continue;
    }
    ++answered;
    // Binary: written, nothing to read; text: answered, the answers dropped.
    if (write.noreply) continue;
    for (std::size_t r = 0; r < call.lease->reply_count(); ++r) {
      const ReplyStatus status = call.lease->reply(r).status;
      if (engine->is_binary()) {
        if (status != ReplyStatus::noop) failed.push_back(items[call.lease->reply_opaque(r)]);
        continue;
      }
      if (status != ReplyStatus::stored && status != ReplyStatus::done) {
        failed.push_back(items[call.lease->reply_request(r)]);
      }
    }
  }
  if (answered == 0 && first_failure) return std::move(*first_failure);
  std::sort(failed.begin(), failed.end());
  return failed;
}

Result<std::size_t> Client::remove_many(std::span<const std::string_view> keys,
                                        WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const auto given_key = [&](std::size_t i) { return keys[i]; };
  WireKeys wire;
  if (auto error = wire.prepare(*engine, keys.size(), given_key)) return std::move(*error);
  const auto wire_key = [&](std::size_t i) { return wire.key(i, given_key); };
  std::size_t deleted = 0;
  if (keys.empty()) return deleted;
  const ItemsByServer groups = group_by_server(*engine, keys.size(), wire_key);
  // A delete that did not happen leaves stale data behind: any server that
  // fails fails the call (the count could not say which keys remain).
  if (!groups.unroutable_servers.empty()) {
    return unavailable_server_error(engine->server(groups.unroutable_servers.front()));
  }
  const net::Deadline deadline = engine->new_deadline();
  std::vector<bool> meta_servers(engine->server_count());
  std::vector<bool> quiet_servers(engine->server_count());
  for (const std::size_t server : groups.servers) {
    Result<bool> meta = speaks_meta(*engine, engine->server(server), deadline);
    if (!meta) return std::move(meta.error());
    meta_servers[server] = *meta;
    if (write.noreply) {
      Result<bool> fenced = fences_quiet_requests(*engine, engine->server(server), *meta, deadline);
      if (!fenced) return std::move(fenced.error());
      quiet_servers[server] = *fenced;
    }
    if (*meta || !wire.any_binary()) continue;
    for (const std::size_t i : groups.items[server]) {
      if (wire.binary(i)) return binary_key_error(engine->server(server), keys[i]);
    }
  }
  // One answered delete per key, md or delete: not quiet md, whose NF
  // newer memcached versions leave out too (docs/protocol.md, "Quiet
  // mode"), so counting NFs would not say how many keys were deleted.
  // With noreply, where a fence may follow them, the deletes go quiet
  // (deleteq, md q, delete noreply), fire and forget as in keyed_call.
  std::vector<ServerCall> calls =
      run_on_servers(*engine, groups.servers, deadline, false, [&](ServerCall& call) {
        protocol::RequestBuffer& out = call.lease->requests();
        const std::vector<std::size_t>& items = groups.items[call.server];
        const bool quiet = quiet_servers[call.server];
        for (std::size_t position = 0; position < items.size(); ++position) {
          const std::size_t i = items[position];
          if (engine->is_binary()) {
            binary_commands::append_delete(*call.lease, wire_key(i),
                                           static_cast<std::uint32_t>(position), quiet);
          } else if (meta_servers[call.server]) {
            protocol::append_meta_delete_request(out, wire_key(i),
                                                 {.quiet = quiet, .binary_key = wire.binary(i)});
            if (!quiet) call.lease->expect_meta();
          } else {
            protocol::append_delete_request(out, wire_key(i), quiet);
            if (!quiet) call.lease->expect(TextReplyKind::deletion);
          }
        }
        if (quiet) call.lease->send_quietly(items.size(), quiet_fence(*engine));
      });
  std::optional<Error> first_error;
  for (ServerCall& call : calls) {
    if (call.error) return std::move(*call.error);
    // Answered as if every key had existed; the answers, if any, dropped.
    if (write.noreply) continue;
    engine::Server& server = engine->server(call.server);
    for (std::size_t r = 0; r < call.lease->reply_count(); ++r) {
      const protocol::Reply reply = call.lease->reply(r);
      if (reply.status == ReplyStatus::deleted || reply.status == ReplyStatus::done) ++deleted;
      if (protocol::is_error(reply.status) && !first_error)
        first_error = reply_error(server, reply);
    }
  }
  if (write.noreply) return keys.size();
  if (first_error) return std::move(*first_error);
  return deleted;
}

// Calls to every server -------------------------------------------------------

namespace {

// Runs the same request on every server at once; `on_server(server, lease,
// error)` sees each server's outcome in server order.
template <class Prepare, class OnServer>
void each_server(const Engine& engine, Prepare&& prepare, OnServer&& on_server) {
  std::vector<std::size_t> servers(engine.server_count());
  for (std::size_t i = 0; i < servers.size(); ++i) servers[i] = i;
  std::vector<ServerCall> calls = run_on_servers(engine, servers, engine.new_deadline(), true,
                                                 [&](ServerCall& call) { prepare(*call.lease); });
  for (ServerCall& call : calls) on_server(engine.server(call.server), call.lease, call.error);
}

}  // namespace

Result<Done> Client::flush_all(std::uint32_t delay_seconds, WriteOptions write) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const net::Deadline deadline = engine->new_deadline();
  // Each server's failure, in server order; with noreply, a flush where a
  // fence may follow it goes quiet (flushq, flush_all noreply), fire and
  // forget as in keyed_call, and elsewhere its answer is awaited and dropped.
  std::vector<std::optional<Error>> errors(engine->server_count());
  std::vector<bool> quiet_servers(engine->server_count());
  std::vector<std::size_t> servers;
  for (std::size_t server = 0; server < engine->server_count(); ++server) {
    if (write.noreply) {
      Result<bool> fenced = fences_quiet_requests(*engine, engine->server(server), false, deadline);
      if (!fenced) {
        errors[server] = std::move(fenced.error());
        continue;
      }
      quiet_servers[server] = *fenced;
    }
    servers.push_back(server);
  }
  std::vector<ServerCall> calls =
      run_on_servers(*engine, servers, deadline, true, [&](ServerCall& call) {
        net::Connection& connection = *call.lease;
        const bool quiet = quiet_servers[call.server];
        if (engine->is_binary()) {
          binary_commands::append_flush_all(connection, delay_seconds, quiet);
        } else {
          protocol::append_flush_all_request(connection.requests(), delay_seconds, quiet);
          if (!quiet) connection.expect(TextReplyKind::ok);
        }
        if (quiet) connection.send_quietly(1, quiet_fence(*engine));
      });
  for (ServerCall& call : calls) {
    if (!call.error && !write.noreply && protocol::is_error(call.lease->reply(0).status)) {
      call.error = reply_error(engine->server(call.server), call.lease->reply(0));
    }
    errors[call.server] = std::move(call.error);
  }
  for (std::optional<Error>& error : errors) {
    if (error) return std::move(*error);
  }
  return Done{};
}

std::vector<ServerReply<Stats>> Client::stats(std::span<const std::string_view> arguments) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  std::vector<ServerReply<Stats>> replies;
  std::optional<Error> bad_argument;
  for (const std::string_view argument : arguments) {
    if (!protocol::check_text_key(argument, false)) {
      bad_argument = Error{Errc::invalid_argument,
                           {},
                           "invalid stats argument \"" + protocol::printable_excerpt(argument) +
                               "\": must be a single printable ASCII word"};
    }
  }
  if (bad_argument) {
    for (const std::string& name : servers()) replies.push_back({name, *bad_argument});
    return replies;
  }
  each_server(
      *engine,
      [&](net::Connection& connection) {
        if (engine->is_binary()) return binary_commands::append_stats(connection, arguments);
        protocol::append_stats_request(connection.requests(), arguments);
        connection.expect(TextReplyKind::stats);
      },
      [&](engine::Server& server, Lease& lease, std::optional<Error>& error) {
        if (error) {
          replies.push_back({server.name(), std::move(*error)});
          return;
        }
        Stats stats;
        for (std::size_t i = 0; i < lease->reply_count(); ++i) {
          const protocol::Reply reply = lease->reply(i);
          if (protocol::is_error(reply.status)) {
            replies.push_back({server.name(), reply_error(server, reply)});
            return;
          }
          if (reply.status == ReplyStatus::stat) stats.emplace_back(reply.key, reply.data);
        }
        replies.push_back({server.name(), std::move(stats)});
      });
  return replies;
}

std::vector<ServerReply<std::string>> Client::version() {
  const std::shared_ptr<const Engine> engine = state_->engine();
  std::vector<ServerReply<std::string>> replies;
  each_server(
      *engine,
      [&](net::Connection& connection) {
        if (engine->is_binary()) return binary_commands::append_version(connection);
        protocol::append_version_request(connection.requests());
        connection.expect(TextReplyKind::version);
      },
      [&](engine::Server& server, Lease& lease, std::optional<Error>& error) {
        if (error) {
          replies.push_back({server.name(), std::move(*error)});
          return;
        }
        const protocol::Reply reply = lease->reply(0);
        if (protocol::is_error(reply.status)) {
          replies.push_back({server.name(), reply_error(server, reply)});
        } else {
          replies.push_back({server.name(), std::string(reply.data)});
        }
      });
  return replies;
}

}  // namespace fastmc
