// SPDX-License-Identifier: MIT
// Distribution: the interface every placement rule implements, key -> server
// index among the servers it was built over (routing layer). No I/O.
//
// Each peer's rule is one small class behind this interface: Modula
// (modula.hpp), KetamaContinuum (ketama.hpp), LibmcContinuum
// (libmc_continuum.hpp) and PythonMemcached (python_memcached.hpp), which
// place a key by its hash (HashDistribution), and Rendezvous
// (rendezvous.hpp), which scores the key against every server. Router (router.hpp) composes one
// with the key prefix rule and the live-server view; the engine uses Router, not these.
//
// Thread-safety: a Distribution is immutable once built; its const methods
// may be called from any number of threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "routing/key_hash.hpp"

namespace fastmc::routing {

// One server as the placement rules see it: the names the peers hash into
// their point strings, and the weight. net::Address converts to it
// (router.hpp).
struct RoutingServer {
  std::string host = {};  // tcp: the name or literal as configured, IPv6 without brackets
  std::uint16_t port = 11211;
  std::string path = {};     // unix socket path; non-empty means a unix socket
  std::uint32_t weight = 1;  // relative share; 0 keeps a server out of weighted placements
  std::string alias = {};    // libmc's stable name for the continuum; empty: none

  friend bool operator==(const RoutingServer&, const RoutingServer&) = default;
};

// A non-owning view of "is server `index` live?", over the indexes of the
// servers a distribution was built over. Built from any callable
// `bool(std::size_t)`; it refers to that callable, so it is valid only for the
// call it is passed to.
class LiveServers {
 public:
  template <class Predicate>
  requires(std::is_invocable_r_v<bool, const Predicate&, std::size_t> &&
           !std::is_same_v<std::remove_cvref_t<Predicate>, LiveServers>)
      // Implicit on purpose, like std::function_ref: callers pass a lambda.
      LiveServers(const Predicate& predicate)
  noexcept  // NOLINT(google-explicit-constructor)
      : object_(&predicate), call_(&call<Predicate>) {}

  bool operator()(std::size_t index) const { return call_(object_, index); }

 private:
  template <class Predicate>
  static bool call(const void* object, std::size_t index) {
    return static_cast<bool>((*static_cast<const Predicate*>(object))(index));
  }

  const void* object_;
  bool (*call_)(const void*, std::size_t);
};

class Distribution {
 public:
  virtual ~Distribution() = default;

  // How many servers the distribution was built over (at least 1).
  [[nodiscard]] virtual std::size_t server_count() const noexcept = 0;

  // The index of the server that holds `key`, in [0, server_count()). The
  // key is the routing key: what the peer hashes (router.hpp adds the prefix
  // when the peer does).
  [[nodiscard]] virtual std::size_t server_for_key(std::string_view key) const noexcept = 0;

  // The server for `key` when some servers are down, by the peer's own
  // failover rule: the key's server if is_live accepts it, otherwise the one
  // the peer falls back to (each class says which), or nullopt if the peer
  // gives up.
  [[nodiscard]] virtual std::optional<std::size_t> live_server_for_key(
      std::string_view key, LiveServers is_live) const = 0;

 protected:
  Distribution() = default;
  Distribution(const Distribution&) = default;
  Distribution& operator=(const Distribution&) = default;
};

// A distribution that places a key by its hash alone: the key hash is
// computed once, then a rule maps it to a server (modula, the continua,
// python-memcached's buckets). Rendezvous is not one: it hashes the key with
// each server's name.
class HashDistribution : public Distribution {
 public:
  [[nodiscard]] KeyHash key_hash() const noexcept { return hash_; }

  [[nodiscard]] std::size_t server_for_key(std::string_view key) const noexcept final {
    return server_for_hash(hash_key(hash_, key));
  }
  [[nodiscard]] std::optional<std::size_t> live_server_for_key(std::string_view key,
                                                               LiveServers is_live) const final {
    return live_server_for_hash(hash_key(hash_, key), is_live);
  }

  // The same for a key whose hash is `hash`.
  [[nodiscard]] virtual std::size_t server_for_hash(std::uint32_t hash) const noexcept = 0;
  [[nodiscard]] virtual std::optional<std::size_t> live_server_for_hash(
      std::uint32_t hash, LiveServers is_live) const = 0;

 protected:
  explicit HashDistribution(KeyHash hash) noexcept : hash_(hash) {}

 private:
  KeyHash hash_;
};

}  // namespace fastmc::routing
