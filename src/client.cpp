// SPDX-License-Identifier: MIT
// fastmc::Client over the engine: key checks, routing, leasing, encoding,
// running exchanges and turning replies into results.
#include <algorithm>
#include <limits>
#include <stdexcept>

#include <fastmc/client.hpp>

#include "client/binary_commands.hpp"
#include "engine/batch.hpp"
#include "engine/cluster_discovery.hpp"
#include "engine/connection_pool.hpp"
#include "engine/server.hpp"
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

// One set of servers with its placement: immutable, so a call keeps a
// consistent view (its server indexes and router agree) while the server
// list is replaced under it. Servers are shared between successive sets, so
// a server kept across a change keeps its pool and health.
class Engine {
 public:
  Engine(const ClientOptions& options, const std::vector<std::string>& servers,
         const Engine* previous)
      : options_(options), router_(build_router(options, servers)) {
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
  bool is_binary() const noexcept { return options_.protocol == "binary"; }
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
    if (servers_[home]->health().admits(now)) return home;
    const auto is_live = [&](std::size_t index) { return servers_[index]->health().admits(now); };
    switch (policy_) {
      case DeadServerPolicy::error: return std::nullopt;
      case DeadServerPolicy::failover: return router_.live_server_for_key(key, is_live);
      case DeadServerPolicy::auto_eject: {
        const std::shared_ptr<const routing::Router> live = live_router(is_live);
        if (!live) return std::nullopt;
        return live->server_for_key(key);
      }
    }
    return std::nullopt;
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
    return routing::Router(routing::routing_servers(parse_addresses(servers)), router_options);
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
      base.authentication = options_.protocol == "binary"
                                ? net::ConnectionOptions::Authentication::sasl
                                : net::ConnectionOptions::Authentication::ascii;
      base.username = username;
      base.password = own ? address.password : options_.password;
    }
    return base;
  }

  const ClientOptions& options_;
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
    if (options_.protocol != "meta" && options_.protocol != "text" &&
        options_.protocol != "binary") {
      throw std::invalid_argument("fastmc::Client: unknown protocol \"" + options_.protocol +
                                  "\" (meta, text, binary)");
    }
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

// The leases behind a FetchedItems and where each hit is.
class FetchState {
 public:
  struct Hit {
    std::uint32_t lease;
    std::uint32_t reply;
    std::size_t key_index;
  };
  std::vector<Lease> leases;
  std::vector<Hit> hits;
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
  state->failures.clear();
  state->engine.reset();
  if (!spare_fetch_state) spare_fetch_state = std::move(state);
}

}  // namespace detail

namespace {

using detail::Engine;
using detail::FetchState;

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

Error server_down_error(const engine::Server& server) {
  return Error{Errc::server_down, server.name(),
               with_server(server,
                           "server_down: marked down after repeated failures; retried "
                           "after retry_timeout")};
}

// Counts a connection's outcome toward its server's health. Refused
// credentials and certificates are configuration errors, not a server
// failing: they are reported as themselves, never as server_down.
void record_outcome(engine::Server& server, const net::Connection& connection) {
  if (connection.failure() == net::ConnectionFailure::none) {
    server.health().record_success();
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
    case Errc::server_down: return true;
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

std::optional<Error> check_key(const Engine& engine, std::string_view key) {
  if (engine.is_binary()) return binary_commands::check_key(key);
  const protocol::KeyCheck check =
      protocol::check_text_key(key, engine.options().allow_non_ascii_keys);
  if (check) return std::nullopt;
  std::string text = "invalid key \"" + protocol::printable_excerpt(key) + "\": ";
  text += protocol::describe(check.problem);
  if (check.problem == protocol::KeyProblem::forbidden_byte ||
      check.problem == protocol::KeyProblem::non_ascii) {
    text += " at byte " + std::to_string(check.position);
  }
  return Error{Errc::invalid_key, {}, std::move(text)};
}

// A key as memcached sees it: ClientOptions::key_prefix, then the caller's
// key. Without a prefix it is the caller's view, at no cost.
class WireKey {
 public:
  WireKey(const Engine& engine, std::string_view key) : view_(key) {
    const std::string& prefix = engine.options().key_prefix;
    if (prefix.empty()) return;
    storage_.reserve(prefix.size() + key.size());
    storage_.append(prefix).append(key);
    view_ = storage_;
  }
  WireKey(const WireKey&) = delete;
  WireKey& operator=(const WireKey&) = delete;
  std::string_view view() const noexcept { return view_; }

 private:
  std::string storage_;
  std::string_view view_;
};

// The keys of a multi-key call as memcached sees them (see WireKey).
class WireKeys {
 public:
  WireKeys(const Engine& engine, std::span<const std::string_view> keys) : views_(keys) {
    const std::string& prefix = engine.options().key_prefix;
    if (prefix.empty()) return;
    storage_.reserve(keys.size());
    for (const std::string_view key : keys) storage_.push_back(prefix + std::string(key));
    prefixed_.assign(storage_.begin(), storage_.end());
    views_ = prefixed_;
  }
  WireKeys(const WireKeys&) = delete;
  WireKeys& operator=(const WireKeys&) = delete;
  std::span<const std::string_view> views() const noexcept { return views_; }

 private:
  std::vector<std::string> storage_;
  std::vector<std::string_view> prefixed_;
  std::span<const std::string_view> views_;
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
  ItemsByServer groups;
  groups.items.resize(engine.server_count());
  const auto now = engine::ServerHealth::Clock::now();
  for (std::size_t i = 0; i < item_count; ++i) {
    const std::string_view key = key_of(i);
    if (const std::optional<std::size_t> server = engine.route(key, now)) {
      groups.items[*server].push_back(i);
    } else {
      groups.unroutable.push_back(i);
      groups.unroutable_servers.push_back(engine.server_index_for(key));
    }
  }
  for (std::size_t server = 0; server < groups.items.size(); ++server) {
    if (!groups.items[server].empty()) groups.servers.push_back(server);
  }
  return groups;
}

// memcached 1.6 answers a get line of any length, but drops gat and gats
// lines longer than about 16 KiB without a reply, so those are split.
constexpr std::size_t kMaxTouchLineKeyBytes = 8 * 1024;

// Routes large values to the caller's ValueStorage, if any.
net::ValueSink value_sink(const FetchOptions& options) {
  if (options.storage == nullptr) return {};
  return net::ValueSink{
      .allocate =
          [](void* context, std::string_view key, std::size_t size) {
            return static_cast<ValueStorage*>(context)->allocate(key, size);
          },
      .context = options.storage,
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

// Records the hits of one retrieval exchange into `state`. VALUE replies
// come in request order, so each must match a requested key at or after the
// previous match: anything else means the stream is out of step.
// `key_indexes[i]` is where keys[i] stands in the caller's keys; empty when
// they are the caller's keys.
std::optional<Error> collect_hits(engine::Server& server, Lease& lease,
                                  std::span<const std::string_view> keys,
                                  std::span<const std::size_t> key_indexes, FetchState& state) {
  net::Connection& connection = *lease;
  const auto lease_index = static_cast<std::uint32_t>(state.leases.size());
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
    state.hits.push_back({lease_index, static_cast<std::uint32_t>(i), key_index});
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
  const FetchState::Hit hit = state_->hits[index];
  const protocol::Reply reply = state_->leases[hit.lease]->reply(hit.reply);
  // Keys are handed back as the caller gave them, without the prefix.
  const std::size_t prefix = state_->engine->options().key_prefix.size();
  return ItemView{reply.key.substr(std::min(prefix, reply.key.size())), reply.data, reply.flags,
                  reply.cas, hit.key_index};
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
  const WireKey wire(*engine, key);
  key = wire.view();
  if (auto error = check_key(*engine, key)) return std::move(*error);
  return engine->server(engine->server_index_for(key)).name();
}

Result<std::optional<std::string>> Client::live_server_for_key(std::string_view key) const {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const WireKey wire(*engine, key);
  key = wire.view();
  if (auto error = check_key(*engine, key)) return std::move(*error);
  const std::optional<std::size_t> index = engine->route(key, engine::ServerHealth::Clock::now());
  if (!index) return std::optional<std::string>();
  return std::optional<std::string>(engine->server(*index).name());
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
  const WireKeys wire(*engine, keys);
  keys = wire.views();
  for (const std::string_view key : keys) {
    if (auto error = check_key(*engine, key)) return std::move(*error);
  }
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

  // One server involved (a single key, or a one-server client): no
  // grouping, and a stale pooled connection is retried as for any read.
  if (engine->server_count() == 1 || keys.size() == 1) {
    const auto now = engine::ServerHealth::Clock::now();
    const std::optional<std::size_t> index =
        engine->server_count() == 1 ? std::optional<std::size_t>(0) : engine->route(keys[0], now);
    engine::Server& server = engine->server(index ? *index : engine->server_index_for(keys[0]));
    std::optional<Error> failure;
    if (!index || !server.health().admits(now)) {
      failure = server_down_error(server);
    } else {
      failure = exchange_with(
          server, deadline, true,
          [&](net::Connection& connection) {
            append_retrievals(*engine, connection, command, options.ttl, keys);
            connection.set_value_sink(value_sink(options));
          },
          [&](Lease& lease) -> std::optional<Error> {
            return collect_hits(server, lease, keys, {}, state);
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
      group_by_server(*engine, keys.size(), [&](std::size_t i) { return keys[i]; });
  for (const std::size_t server : groups.unroutable_servers) {
    state.failures.push_back(server_down_error(engine->server(server)));
  }
  std::vector<std::vector<std::string_view>> keys_by_server(engine->server_count());
  for (const std::size_t server : groups.servers) {
    for (const std::size_t i : groups.items[server]) keys_by_server[server].push_back(keys[i]);
  }
  std::vector<ServerCall> calls =
      run_on_servers(*engine, groups.servers, deadline, true, [&](ServerCall& call) {
        append_retrievals(*engine, *call.lease, command, options.ttl, keys_by_server[call.server]);
        call.lease->set_value_sink(value_sink(options));
      });
  std::size_t answered = 0;
  for (ServerCall& call : calls) {
    if (!call.error) {
      call.error = collect_hits(engine->server(call.server), call.lease,
                                keys_by_server[call.server], groups.items[call.server], state);
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

// Storage --------------------------------------------------------------------

namespace {

// Sends one single-line-reply request for `key` and maps its reply through
// `interpret`, which sees only non-error replies. `prepare` appends the text
// request; `prepare_binary` appends the binary one, with its expectation.
template <class Prepare, class PrepareBinary, class Interpret>
auto single_key_call(const Engine& engine, std::string_view key, TextReplyKind kind,
                     bool idempotent, Prepare&& prepare, PrepareBinary&& prepare_binary,
                     Interpret&& interpret)
    -> decltype(interpret(std::declval<const protocol::Reply&>())) {
  if (auto error = check_key(engine, key)) return std::move(*error);
  const std::optional<std::size_t> index = engine.route(key, engine::ServerHealth::Clock::now());
  if (!index) return server_down_error(engine.server(engine.server_index_for(key)));
  engine::Server& server = engine.server(*index);
  return exchange_with(
      server, engine.new_deadline(), idempotent,
      [&](net::Connection& connection) {
        if (engine.is_binary()) {
          prepare_binary(connection);
          return;
        }
        prepare(connection.requests());
        connection.expect(kind);
      },
      [&](Lease& lease) -> decltype(interpret(std::declval<const protocol::Reply&>())) {
        const protocol::Reply reply = lease->reply(0);
        if (protocol::is_error(reply.status)) return reply_error(server, reply);
        return interpret(reply);
      });
}

Result<bool> store(const Engine& engine, protocol::StorageCommand command, std::string_view key,
                   std::string_view value, const StoreOptions& options) {
  const WireKey wire(engine, key);
  key = wire.view();
  if (auto error = check_ttl(options.ttl)) return std::move(*error);
  if (auto error = check_value(engine, value)) return std::move(*error);
  // A set can be repeated harmlessly; add, append and prepend cannot.
  const bool idempotent = command == protocol::StorageCommand::set;
  return single_key_call(
      engine, key, TextReplyKind::storage, idempotent,
      [&](protocol::RequestBuffer& out) {
        protocol::append_storage_request(out, command, key, options.flags, options.ttl, value, 0,
                                         false);
      },
      [&](net::Connection& connection) {
        binary_commands::append_storage(connection, command, key, options.flags, options.ttl, value,
                                        0);
      },
      [](const protocol::Reply& reply) -> Result<bool> {
        return reply.status == ReplyStatus::stored;
      });
}

}  // namespace

Result<bool> Client::set(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store(*engine, protocol::StorageCommand::set, key, value, options);
}
Result<bool> Client::add(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store(*engine, protocol::StorageCommand::add, key, value, options);
}
Result<bool> Client::replace(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store(*engine, protocol::StorageCommand::replace, key, value, options);
}
Result<bool> Client::append(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store(*engine, protocol::StorageCommand::append, key, value, options);
}
Result<bool> Client::prepend(std::string_view key, std::string_view value, StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return store(*engine, protocol::StorageCommand::prepend, key, value, options);
}

Result<CasOutcome> Client::cas(std::string_view key, std::string_view value, std::uint64_t cas,
                               StoreOptions options) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const WireKey wire(*engine, key);
  key = wire.view();
  if (auto error = check_ttl(options.ttl)) return std::move(*error);
  if (auto error = check_value(*engine, value)) return std::move(*error);
  return single_key_call(
      *engine, key, TextReplyKind::storage, false,
      [&](protocol::RequestBuffer& out) {
        protocol::append_storage_request(out, protocol::StorageCommand::cas, key, options.flags,
                                         options.ttl, value, cas, false);
      },
      [&](net::Connection& connection) {
        binary_commands::append_storage(connection, protocol::StorageCommand::cas, key,
                                        options.flags, options.ttl, value, cas);
      },
      [](const protocol::Reply& reply) -> Result<CasOutcome> {
        switch (reply.status) {
          case ReplyStatus::stored: return CasOutcome::stored;
          case ReplyStatus::exists: return CasOutcome::exists;
          default: return CasOutcome::not_found;
        }
      });
}

Result<bool> Client::remove(std::string_view key) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const WireKey wire(*engine, key);
  key = wire.view();
  return single_key_call(
      *engine, key, TextReplyKind::deletion, false,
      [&](protocol::RequestBuffer& out) { protocol::append_delete_request(out, key, false); },
      [&](net::Connection& connection) { binary_commands::append_delete(connection, key); },
      [](const protocol::Reply& reply) -> Result<bool> {
        return reply.status == ReplyStatus::deleted;
      });
}

namespace {

Result<std::optional<std::uint64_t>> arithmetic(const Engine& engine,
                                                protocol::ArithmeticCommand command,
                                                std::string_view key, std::uint64_t delta) {
  const WireKey wire(engine, key);
  key = wire.view();
  return single_key_call(
      engine, key, TextReplyKind::arithmetic, false,
      [&](protocol::RequestBuffer& out) {
        protocol::append_arithmetic_request(out, command, key, delta, false);
      },
      [&](net::Connection& connection) {
        binary_commands::append_arithmetic(connection, command, key, delta);
      },
      [](const protocol::Reply& reply) -> Result<std::optional<std::uint64_t>> {
        if (reply.status == ReplyStatus::number) return std::optional<std::uint64_t>(reply.number);
        return std::optional<std::uint64_t>();
      });
}

}  // namespace

Result<std::optional<std::uint64_t>> Client::incr(std::string_view key, std::uint64_t delta) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return arithmetic(*engine, protocol::ArithmeticCommand::incr, key, delta);
}
Result<std::optional<std::uint64_t>> Client::decr(std::string_view key, std::uint64_t delta) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  return arithmetic(*engine, protocol::ArithmeticCommand::decr, key, delta);
}

Result<bool> Client::touch(std::string_view key, std::int64_t ttl) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const WireKey wire(*engine, key);
  key = wire.view();
  if (auto error = check_ttl(ttl)) return std::move(*error);
  return single_key_call(
      *engine, key, TextReplyKind::touch, true,
      [&](protocol::RequestBuffer& out) { protocol::append_touch_request(out, key, ttl, false); },
      [&](net::Connection& connection) { binary_commands::append_touch(connection, key, ttl); },
      [](const protocol::Reply& reply) -> Result<bool> {
        return reply.status == ReplyStatus::touched;
      });
}

// Pipelined multi-key writes --------------------------------------------------

namespace {

// Appends one request per item to its server's connection, runs all servers
// together, and calls `on_reply(server, item_index, reply)` for each reply in
// item order per server. `append(out, item_index)` encodes one item;
// `append_binary(connection, item_index, position)` encodes it over binary,
// with its expectation, the item's position on its server as the opaque.
template <class Append, class AppendBinary, class OnReply>
std::optional<Error> pipeline(const Engine& engine, const ItemsByServer& groups,
                              net::Deadline deadline, TextReplyKind kind, bool idempotent,
                              Append&& append, AppendBinary&& append_binary, OnReply&& on_reply) {
  std::vector<ServerCall> calls =
      run_on_servers(engine, groups.servers, deadline, idempotent, [&](ServerCall& call) {
        const std::vector<std::size_t>& items = groups.items[call.server];
        for (std::size_t position = 0; position < items.size(); ++position) {
          if (engine.is_binary()) {
            append_binary(*call.lease, items[position], static_cast<std::uint32_t>(position));
            continue;
          }
          append(call.lease->requests(), items[position]);
          call.lease->expect(kind);
        }
      });
  for (ServerCall& call : calls) {
    if (call.error) return std::move(*call.error);
    engine::Server& server = engine.server(call.server);
    const std::vector<std::size_t>& items = groups.items[call.server];
    for (std::size_t r = 0; r < call.lease->reply_count(); ++r) {
      on_reply(server, items[call.lease->reply_request(r)], call.lease->reply(r));
    }
  }
  return std::nullopt;
}

// Whether `server` speaks meta, asking it once with `mn` (memcached before
// 1.6 answers ERROR). Meta must never be sent blind: an old server would
// read a value's bytes as commands.
Result<bool> speaks_meta(const Engine& engine, engine::Server& server, net::Deadline deadline) {
  using Support = engine::Server::MetaSupport;
  if (engine.options().protocol != "meta") return false;
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

}  // namespace

Result<std::vector<std::size_t>> Client::set_many(std::span<const Entry> entries) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  std::vector<Entry> prefixed;
  std::vector<std::string> prefixed_keys;
  if (!engine->options().key_prefix.empty()) {
    prefixed_keys.reserve(entries.size());
    prefixed.reserve(entries.size());
    for (const Entry& entry : entries) {
      prefixed_keys.push_back(engine->options().key_prefix + std::string(entry.key));
      prefixed.push_back(Entry{prefixed_keys.back(), entry.value, entry.options});
    }
    entries = prefixed;
  }
  for (const Entry& entry : entries) {
    if (auto error = check_key(*engine, entry.key)) return std::move(*error);
    if (auto error = check_ttl(entry.options.ttl)) return std::move(*error);
    if (auto error = check_value(*engine, entry.value)) return std::move(*error);
  }
  std::vector<std::size_t> failed;
  if (entries.empty()) return failed;
  const net::Deadline deadline = engine->new_deadline();
  const ItemsByServer groups =
      group_by_server(*engine, entries.size(), [&](std::size_t i) { return entries[i].key; });
  // A server that fails costs only its own entries, which are reported as
  // not stored; the call fails only when no server answered.
  failed = groups.unroutable;
  std::optional<Error> first_failure;
  if (!groups.unroutable.empty()) {
    first_failure = server_down_error(engine->server(groups.unroutable_servers.front()));
  }
  std::size_t answered = 0;
  const auto server_failed = [&](Error error, const std::vector<std::size_t>& items) {
    failed.insert(failed.end(), items.begin(), items.end());
    if (!first_failure) first_failure = std::move(error);
  };

  // Servers that speak meta get one quiet pipeline: each ms answers only if
  // it fails, tagged with its position as the opaque, and a closing mn says
  // the rest were stored. It halves the server's work against text sets.
  ItemsByServer meta;
  ItemsByServer text;
  meta.items.resize(engine->server_count());
  text.items.resize(engine->server_count());
  for (const std::size_t server : groups.servers) {
    Result<bool> uses_meta = speaks_meta(*engine, engine->server(server), deadline);
    if (!uses_meta) {
      server_failed(std::move(uses_meta.error()), groups.items[server]);
      continue;
    }
    ItemsByServer& side = *uses_meta ? meta : text;
    side.servers.push_back(server);
    side.items[server] = groups.items[server];
  }
  std::vector<ServerCall> calls =
      run_on_servers(*engine, meta.servers, deadline, true, [&](ServerCall& call) {
        const std::vector<std::size_t>& items = meta.items[call.server];
        char opaque[protocol::kMaxDecimalSize];
        for (std::size_t position = 0; position < items.size(); ++position) {
          const Entry& entry = entries[items[position]];
          const std::size_t size = protocol::format_decimal(position, opaque);
          protocol::append_meta_set_request(call.lease->requests(), entry.key, entry.value,
                                            {.flags = entry.options.flags,
                                             .ttl = entry.options.ttl,
                                             .quiet = true,
                                             .opaque = std::string_view(opaque, size)});
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
    if (call.lease->pipeline_had_error()) {
      // An error line names no request, so which entry failed is unknown:
      // store this server's entries again as text sets, whose replies are
      // one per entry. A set may safely be repeated.
      text.servers.push_back(call.server);
      text.items[call.server] = items;
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
  calls.clear();  // gives the connections back before the text pass leases again

  // Binary servers take this pass too, as one quiet batch of setq and a
  // noop: only failures answer, each naming its entry by opaque.
  std::vector<ServerCall> text_calls =
      run_on_servers(*engine, text.servers, deadline, true, [&](ServerCall& call) {
        if (engine->is_binary()) {
          binary_commands::append_set_batch(*call.lease, entries, text.items[call.server]);
          return;
        }
        for (const std::size_t i : text.items[call.server]) {
          const Entry& entry = entries[i];
          protocol::append_storage_request(call.lease->requests(), protocol::StorageCommand::set,
                                           entry.key, entry.options.flags, entry.options.ttl,
                                           entry.value, 0, false);
          call.lease->expect(TextReplyKind::storage);
        }
      });
  for (ServerCall& call : text_calls) {
    const std::vector<std::size_t>& items = text.items[call.server];
    if (call.error) {
      server_failed(std::move(*call.error), items);
      continue;
    }
    ++answered;
    for (std::size_t r = 0; r < call.lease->reply_count(); ++r) {
      if (engine->is_binary()) {
        if (call.lease->reply(r).status != ReplyStatus::noop) {
          failed.push_back(items[call.lease->reply_opaque(r)]);
        }
        continue;
      }
      if (call.lease->reply(r).status != ReplyStatus::stored) {
        failed.push_back(items[call.lease->reply_request(r)]);
      }
    }
  }
  if (answered == 0 && first_failure) return std::move(*first_failure);
  std::sort(failed.begin(), failed.end());
  return failed;
}

Result<std::size_t> Client::remove_many(std::span<const std::string_view> keys) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  const WireKeys wire(*engine, keys);
  keys = wire.views();
  for (const std::string_view key : keys) {
    if (auto error = check_key(*engine, key)) return std::move(*error);
  }
  std::size_t deleted = 0;
  if (keys.empty()) return deleted;
  std::optional<Error> first_error;
  const ItemsByServer groups =
      group_by_server(*engine, keys.size(), [&](std::size_t i) { return keys[i]; });
  // A delete that did not happen leaves stale data behind: any server that
  // fails fails the call (the count could not say which keys remain).
  if (!groups.unroutable_servers.empty()) {
    return server_down_error(engine->server(groups.unroutable_servers.front()));
  }
  std::optional<Error> error = pipeline(
      *engine, groups, engine->new_deadline(), TextReplyKind::deletion, false,
      [&](protocol::RequestBuffer& out, std::size_t i) {
        protocol::append_delete_request(out, keys[i], false);
      },
      [&](net::Connection& connection, std::size_t i, std::uint32_t position) {
        binary_commands::append_delete(connection, keys[i], position);
      },
      [&](engine::Server& server, std::size_t, const protocol::Reply& reply) {
        if (reply.status == ReplyStatus::deleted) ++deleted;
        if (protocol::is_error(reply.status) && !first_error) {
          first_error = reply_error(server, reply);
        }
      });
  if (error) return std::move(*error);
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

Result<Done> Client::flush_all(std::uint32_t delay_seconds) {
  const std::shared_ptr<const Engine> engine = state_->engine();
  std::optional<Error> first_error;
  each_server(
      *engine,
      [&](net::Connection& connection) {
        if (engine->is_binary())
          return binary_commands::append_flush_all(connection, delay_seconds);
        protocol::append_flush_all_request(connection.requests(), delay_seconds, false);
        connection.expect(TextReplyKind::ok);
      },
      [&](engine::Server& server, Lease& lease, std::optional<Error>& error) {
        if (!error && protocol::is_error(lease->reply(0).status)) {
          error = reply_error(server, lease->reply(0));
        }
        if (error && !first_error) first_error = std::move(error);
      });
  if (first_error) return std::move(*first_error);
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
