// SPDX-License-Identifier: MIT
#include "routing/router.hpp"

#include <array>
#include <cstring>
#include <stdexcept>
#include <utility>

#include "routing/ketama.hpp"
#include "routing/libmc_continuum.hpp"
#include "routing/modula.hpp"
#include "routing/python_memcached.hpp"
#include "routing/rendezvous.hpp"

namespace fastmc::routing {

struct Router::Configuration {
  std::vector<RoutingServer> servers;
  RouterOptions options;
  KeyHash hash;
  DistributionKind kind;  // options.kind, weighted when the servers' weights ask for it
};

// The distribution over the routed servers, and where each routed server is
// in the full list.
struct Router::Placement {
  std::unique_ptr<const Distribution> distribution;
  std::vector<std::size_t> full_index;  // empty: routed index == full index
  // The distribution again when it places keys by hash alone, else null.
  const HashDistribution* hashed = nullptr;

  Placement(std::unique_ptr<const Distribution> built, std::vector<std::size_t> index)
      : distribution(std::move(built)),
        full_index(std::move(index)),
        hashed(dynamic_cast<const HashDistribution*>(distribution.get())) {}

  [[nodiscard]] std::size_t routed_count() const noexcept { return distribution->server_count(); }
  [[nodiscard]] std::size_t to_full(std::size_t routed) const noexcept {
    return full_index.empty() ? routed : full_index[routed];
  }
};

namespace {

struct DistributionKindName {
  DistributionKind kind;
  std::string_view name;
};

constexpr std::array<DistributionKindName, 8> kDistributionKindNames = {{
    {DistributionKind::modula, "modula"},
    {DistributionKind::ketama, "ketama"},
    {DistributionKind::ketama_weighted, "ketama_weighted"},
    {DistributionKind::ketama_spy, "ketama_spy"},
    {DistributionKind::ketama_spy_weighted, "ketama_spy_weighted"},
    {DistributionKind::libmc, "libmc"},
    {DistributionKind::rendezvous, "rendezvous"},
    {DistributionKind::python_memcached, "python_memcached"},
}};

// libmemcached weighs the continuum as soon as a server of weight > 1 joins
// a consistent distribution (hosts.cc server_add and memcached_server_push);
// pylibmc sets its behaviors before adding the servers, so `ketama: True`
// with weights gives the weighted continuum, keys still hashed with the
// configured hash.
DistributionKind effective_kind(DistributionKind kind, const std::vector<RoutingServer>& servers) {
  bool weighted = false;
  for (const RoutingServer& server : servers) weighted = weighted || server.weight > 1;
  if (!weighted) return kind;
  if (kind == DistributionKind::ketama) return DistributionKind::ketama_weighted;
  if (kind == DistributionKind::ketama_spy) return DistributionKind::ketama_spy_weighted;
  return kind;
}

// libmemcached hash.cc _generate_hash_wrapper: with HASH_WITH_PREFIX_KEY, a
// namespace + key longer than MEMCACHED_MAX_KEY - 1 (250) bytes is not hashed:
// its hash is 0. Such a key is refused before it is sent anyway, but the
// placement is reproduced as the peer computes it.
constexpr std::size_t kLibmemcachedMaxHashedKeySize = 250;

bool hashes_overlong_keys_to_zero(const RouterOptions& options, DistributionKind kind,
                                  std::string_view key) noexcept {
  if (!options.hash_with_prefix) return false;
  if (options.prefix.size() + key.size() <= kLibmemcachedMaxHashedKeySize) return false;
  return kind == DistributionKind::modula || kind == DistributionKind::ketama ||
         kind == DistributionKind::ketama_weighted || kind == DistributionKind::ketama_spy ||
         kind == DistributionKind::ketama_spy_weighted;
}

bool needs_md5(DistributionKind kind, KeyHash hash) noexcept {
  return hash == KeyHash::md5 || kind == DistributionKind::ketama_weighted ||
         kind == DistributionKind::ketama_spy_weighted || kind == DistributionKind::libmc;
}

std::unique_ptr<const Distribution> make_distribution(const std::vector<RoutingServer>& servers,
                                                      DistributionKind kind, KeyHash hash) {
  switch (kind) {
    case DistributionKind::modula: return std::make_unique<Modula>(servers.size(), hash);
    case DistributionKind::ketama:
      return std::make_unique<KetamaContinuum>(servers, hash, KetamaOptions{});
    case DistributionKind::ketama_weighted:
      return std::make_unique<KetamaContinuum>(servers, hash, KetamaOptions{.weighted = true});
    case DistributionKind::ketama_spy:
      return std::make_unique<KetamaContinuum>(servers, hash, KetamaOptions{.spy = true});
    case DistributionKind::ketama_spy_weighted:
      return std::make_unique<KetamaContinuum>(servers, hash,
                                               KetamaOptions{.weighted = true, .spy = true});
    case DistributionKind::libmc: return std::make_unique<LibmcContinuum>(servers, hash);
    case DistributionKind::rendezvous: {
      std::vector<std::string> node_ids;
      node_ids.reserve(servers.size());
      for (const RoutingServer& server : servers) node_ids.push_back(pymemcache_node_id(server));
      return std::make_unique<Rendezvous>(std::move(node_ids), hash);
    }
    case DistributionKind::python_memcached: {
      std::vector<std::uint32_t> weights;
      weights.reserve(servers.size());
      for (const RoutingServer& server : servers) weights.push_back(server.weight);
      return std::make_unique<PythonMemcached>(weights, hash);
    }
  }
  throw std::invalid_argument("fastmc routing: unknown distribution kind");
}

void check_servers(const std::vector<RoutingServer>& servers, DistributionKind kind) {
  if (servers.empty()) throw std::invalid_argument("fastmc routing: no servers to route to");
  if (kind == DistributionKind::python_memcached) {
    bool weighted = false;
    for (const RoutingServer& server : servers) weighted = weighted || server.weight > 0;
    if (!weighted) {
      throw std::invalid_argument("fastmc routing: every server has weight 0 (no bucket)");
    }
  }
}

// Calls `route` with the routing key for `key`, built on the stack when it
// fits: routing runs once per key and should not allocate.
template <class Route>
std::size_t with_routing_key(const RouterOptions& options, std::string_view key,
                             const Route& route) {
  if (!options.hash_with_prefix || options.prefix.empty()) return route(key);
  const std::string_view prefix = options.prefix;
  std::array<char, 512> buffer;
  std::string heap;
  char* out = buffer.data();
  const std::size_t size = prefix.size() + key.size();
  if (size > buffer.size()) {
    heap.resize(size);
    out = heap.data();
  }
  std::size_t position = 0;
  if (options.kind == DistributionKind::libmc && !key.empty() && key.front() == '?') {
    out[position++] = '?';
    key.remove_prefix(1);
  }
  std::memcpy(out + position, prefix.data(), prefix.size());
  position += prefix.size();
  if (!key.empty()) std::memcpy(out + position, key.data(), key.size());
  return route(std::string_view(out, size));
}

}  // namespace

KeyHash default_key_hash(DistributionKind kind) noexcept {
  switch (kind) {
    case DistributionKind::modula:
    case DistributionKind::ketama:
    case DistributionKind::ketama_spy: return KeyHash::one_at_a_time;
    case DistributionKind::ketama_weighted:
    case DistributionKind::ketama_spy_weighted:
    case DistributionKind::libmc: return KeyHash::md5;
    case DistributionKind::rendezvous: return KeyHash::murmur3_32;
    case DistributionKind::python_memcached: return KeyHash::crc;
  }
  return KeyHash::one_at_a_time;
}

std::string_view distribution_kind_name(DistributionKind kind) noexcept {
  for (const auto& entry : kDistributionKindNames) {
    if (entry.kind == kind) return entry.name;
  }
  return "unknown";
}

std::optional<DistributionKind> distribution_kind_from_name(std::string_view name) noexcept {
  for (const auto& entry : kDistributionKindNames) {
    if (entry.name == name) return entry.kind;
  }
  return std::nullopt;
}

RoutingServer routing_server(const net::Address& address) {
  RoutingServer server;
  if (address.kind == net::Address::Kind::unix_socket) {
    server.path = address.path;
  } else {
    server.host = address.host;
    server.port = address.port;
  }
  server.weight = address.weight;
  server.alias = address.alias;
  return server;
}

std::vector<RoutingServer> routing_servers(const std::vector<net::Address>& addresses) {
  std::vector<RoutingServer> servers;
  servers.reserve(addresses.size());
  for (const net::Address& address : addresses) servers.push_back(routing_server(address));
  return servers;
}

Router::Router(std::size_t server_count)
    : Router(std::vector<RoutingServer>(server_count), RouterOptions{}) {}

Router::Router(std::vector<RoutingServer> servers, RouterOptions options) {
  check_servers(servers, options.kind);
  const KeyHash hash = options.hash.value_or(default_key_hash(options.kind));
  const DistributionKind kind = effective_kind(options.kind, servers);
  if (needs_md5(kind, hash) && !md5_available()) {
    throw std::runtime_error(
        "fastmc routing: this placement needs MD5, which OpenSSL refuses here");
  }
  auto distribution = make_distribution(servers, kind, hash);
  configuration_ = std::make_shared<const Configuration>(
      Configuration{std::move(servers), std::move(options), hash, kind});
  placement_ =
      std::make_shared<const Placement>(std::move(distribution), std::vector<std::size_t>{});
}

Router::Router(std::shared_ptr<const Configuration> configuration,
               std::shared_ptr<const Placement> placement) noexcept
    : configuration_(std::move(configuration)), placement_(std::move(placement)) {}

std::size_t Router::server_count() const noexcept { return configuration_->servers.size(); }

std::size_t Router::routed_server_count() const noexcept { return placement_->routed_count(); }

std::size_t Router::server_for_key(std::string_view key) const noexcept {
  const Placement& placement = *placement_;
  if (placement.routed_count() == 1) return placement.to_full(0);
  const Configuration& configuration = *configuration_;
  if (placement.hashed != nullptr &&
      hashes_overlong_keys_to_zero(configuration.options, configuration.kind, key)) {
    return placement.to_full(placement.hashed->server_for_hash(0));
  }
  return with_routing_key(configuration.options, key, [&](std::string_view routing_key) {
    return placement.to_full(placement.distribution->server_for_key(routing_key));
  });
}

std::optional<std::size_t> Router::live_server_for_key(std::string_view key,
                                                       LiveServers is_live) const {
  const Placement& placement = *placement_;
  auto routed_is_live = [&](std::size_t routed) { return is_live(placement.to_full(routed)); };
  if (placement.routed_count() == 1) {
    if (routed_is_live(0)) return placement.to_full(0);
    return std::nullopt;
  }
  const Configuration& configuration = *configuration_;
  std::optional<std::size_t> found;
  if (placement.hashed != nullptr &&
      hashes_overlong_keys_to_zero(configuration.options, configuration.kind, key)) {
    found = placement.hashed->live_server_for_hash(0, routed_is_live);
  } else {
    with_routing_key(configuration.options, key, [&](std::string_view routing_key) {
      found = placement.distribution->live_server_for_key(routing_key, routed_is_live);
      return std::size_t{0};
    });
  }
  if (!found) return std::nullopt;
  return placement.to_full(*found);
}

std::optional<Router> Router::live_subset(LiveServers is_live) const {
  const Configuration& configuration = *configuration_;
  std::vector<RoutingServer> live_servers;
  std::vector<std::size_t> full_index;
  for (std::size_t index = 0; index < configuration.servers.size(); ++index) {
    if (!is_live(index)) continue;
    live_servers.push_back(configuration.servers[index]);
    full_index.push_back(index);
  }
  if (live_servers.empty()) return std::nullopt;
  if (configuration.options.kind == DistributionKind::python_memcached) {
    bool weighted = false;
    for (const RoutingServer& server : live_servers) weighted = weighted || server.weight > 0;
    if (!weighted) return std::nullopt;
  }
  if (full_index.size() == configuration.servers.size()) full_index.clear();
  auto placement = std::make_shared<const Placement>(
      make_distribution(live_servers, configuration.kind, configuration.hash),
      std::move(full_index));
  return Router(configuration_, std::move(placement));
}

std::string Router::routing_key(std::string_view key) const {
  std::string result;
  with_routing_key(configuration_->options, key, [&](std::string_view routing_key) {
    result.assign(routing_key);
    return std::size_t{0};
  });
  return result;
}

const RouterOptions& Router::options() const noexcept { return configuration_->options; }

KeyHash Router::key_hash() const noexcept { return configuration_->hash; }

DistributionKind Router::kind() const noexcept { return configuration_->kind; }

const std::vector<RoutingServer>& Router::servers() const noexcept {
  return configuration_->servers;
}

}  // namespace fastmc::routing
