// SPDX-License-Identifier: MIT
// Router: which server a key goes to, the same server the peer client it is
// configured after would pick (routing layer). No I/O.
//
// A Router is a key hash (key_hash.hpp) composed with one peer's distribution
// (distribution.hpp), plus the prefix rule and the live-server view:
//
//   routing::Router router(servers, {.kind = routing::DistributionKind::ketama});
//   std::size_t index = router.server_for_key("user:1");      // into `servers`
//
// Server indexes are always positions in the list the router was built from.
// When servers fail, the engine follows the peer it mimics:
//   - libmemcached auto_eject (ketama): rebuild without the ejected servers,
//     `live_subset`, and route with the result until the set changes;
//   - libmc failover, pymemcache, python-memcached: `live_server_for_key`,
//     which applies the peer's own fallback for one key (continuum walk,
//     highest live score, rehash).
// docs/routing.md says which options reproduce which client.
//
// Thread-safety: a Router is immutable after construction; its const methods
// may be called from any number of threads. Copies are cheap (they share the
// built continuum) and independent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.hpp"
#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"

namespace fastmc::routing {

enum class DistributionKind : std::uint8_t {
  modula,  // libmemcached MEMCACHED_DISTRIBUTION_MODULA (its default; modula.hpp)
  // libmemcached CONSISTENT / CONSISTENT_KETAMA (ketama.hpp); weighted as soon
  // as a server has weight > 1, as libmemcached does (the key hash stays).
  ketama,
  ketama_weighted,      // libmemcached CONSISTENT_WEIGHTED, the `ketama_weighted` behavior
  ketama_spy,           // libmemcached CONSISTENT_KETAMA_SPY; weighted as ketama is
  ketama_spy_weighted,  // libmemcached CONSISTENT_KETAMA_SPY with a server weight > 1
  libmc,                // douban/libmc's continuum (libmc_continuum.hpp)
  rendezvous,           // pymemcache HashClient (rendezvous.hpp)
  python_memcached,     // python-memcached's weighted buckets (python_memcached.hpp)
};

// The key hash each peer uses unless told otherwise: one_at_a_time for
// modula and unweighted ketama (libmemcached's default), md5 for weighted
// ketama (the `ketama_weighted` behavior sets it) and libmc, murmur3_32 for
// rendezvous, crc for python_memcached.
KeyHash default_key_hash(DistributionKind kind) noexcept;

// A stable lower-case name: the enumerator's spelling ("ketama_weighted").
std::string_view distribution_kind_name(DistributionKind kind) noexcept;
std::optional<DistributionKind> distribution_kind_from_name(std::string_view name) noexcept;

struct RouterOptions {
  // Which peer's placement rule.
  DistributionKind kind = DistributionKind::modula;
  // The key hash; nullopt: default_key_hash(kind).
  std::optional<KeyHash> hash = std::nullopt;
  // The prefix (namespace) the engine puts before every key on the wire;
  // empty: none. Routing sees it only when hash_with_prefix is set.
  std::string prefix = {};
  // Route on prefix + key rather than key alone: libmemcached's
  // HASH_WITH_PREFIX_KEY (off by default there); libmc and python-memcached's
  // key_prefix always do; pymemcache never does. For kind libmc a key
  // starting with '?' keeps it in front of the prefix (libmc_prefixed_key).
  bool hash_with_prefix = false;
};

// The routing view of a parsed server address.
RoutingServer routing_server(const net::Address& address);
std::vector<RoutingServer> routing_servers(const std::vector<net::Address>& addresses);

class Router {
 public:
  // libmemcached's defaults over `server_count` unnamed servers: modula with
  // one_at_a_time. Throws std::invalid_argument if server_count is 0.
  explicit Router(std::size_t server_count);

  // Builds the placement for `servers` in their order. Throws
  // std::invalid_argument if servers is empty (or, for python_memcached, if
  // every weight is 0), and std::runtime_error if the placement needs MD5
  // and OpenSSL cannot provide it.
  Router(std::vector<RoutingServer> servers, RouterOptions options);

  // How many servers the router was built from; indexes are below this.
  [[nodiscard]] std::size_t server_count() const noexcept;
  // How many of them receive keys: server_count(), or fewer for a live_subset.
  [[nodiscard]] std::size_t routed_server_count() const noexcept;

  // The index of the server that holds `key` (the key without its prefix).
  // With one routed server nothing is hashed, as libmemcached and libmc do.
  [[nodiscard]] std::size_t server_for_key(std::string_view key) const noexcept;

  // The server for `key` given which servers are live (is_live is asked
  // about indexes into the full list), by the peer's failover rule: the
  // key's server when live; otherwise ketama and libmc walk the continuum to
  // the next live server, rendezvous takes the best live score,
  // python_memcached rehashes up to 10 times, and modula gives up. nullopt
  // when the peer would find no server.
  [[nodiscard]] std::optional<std::size_t> live_server_for_key(std::string_view key,
                                                               LiveServers is_live) const;

  // A router over the servers of the full list that is_live accepts, built
  // as the peer builds it from those servers alone, and still answering with
  // indexes into the full list: libmemcached's auto_eject rebuild of the
  // continuum (total weight and server count are those of the live
  // servers), pymemcache's hasher without its dead nodes. nullopt if no
  // server is live (for python_memcached: none with a weight). Costs a
  // rebuild: make it when the set of live servers changes, not per key.
  [[nodiscard]] std::optional<Router> live_subset(LiveServers is_live) const;

  // The key the distribution hashes for `key`: the key, or the prefixed key
  // when hash_with_prefix is set.
  [[nodiscard]] std::string routing_key(std::string_view key) const;

  [[nodiscard]] const RouterOptions& options() const noexcept;
  // The key hash in use (options().hash or the kind's default).
  [[nodiscard]] KeyHash key_hash() const noexcept;
  // The placement in use: options().kind, except that ketama and ketama_spy
  // become their weighted forms when a server has weight > 1, as in
  // libmemcached.
  [[nodiscard]] DistributionKind kind() const noexcept;
  // The full server list.
  [[nodiscard]] const std::vector<RoutingServer>& servers() const noexcept;

 private:
  struct Configuration;
  struct Placement;

  Router(std::shared_ptr<const Configuration> configuration,
         std::shared_ptr<const Placement> placement) noexcept;

  std::shared_ptr<const Configuration> configuration_;
  std::shared_ptr<const Placement> placement_;
};

}  // namespace fastmc::routing
