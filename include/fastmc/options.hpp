// SPDX-License-Identifier: MIT
// Options for fastmc::Client and its calls: plain structs with defaulted
// fields, meant for designated initialisers:
//
//   fastmc::Client mc({.servers = {"127.0.0.1:11211"}, .timeout = 250ms});
//   mc.set("k", "v", {.ttl = 300});
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace fastmc {

struct ClientOptions {
  // "host", "host:port", "[v6addr]:port", "/unix/path" or "unix:/unix/path";
  // port 11211 when none is given. A weight as pylibmc writes it,
  // "host:port:weight", and libmc's alias, "host:port alias", are accepted.
  // May be empty when configuration_endpoint is set.
  std::vector<std::string> servers = {};
  // AWS ElastiCache autodiscovery: "host:port" of the cluster's configuration
  // endpoint, asked for the server list at construction and then every
  // discovery_interval (docs/protocol.md, "ElastiCache cluster
  // configuration"); the list found replaces `servers`. Empty means off.
  std::string configuration_endpoint = {};
  // Time between two polls of the configuration endpoint; zero means it is
  // asked only at construction.
  std::chrono::milliseconds discovery_interval{60000};
  // Name discovered servers by their IP (true) or by their host name; the
  // host name is used whenever the endpoint gives no IP.
  bool discovery_use_ip = true;
  // Which server holds a key, as one peer client decides it, so that keys
  // stay where that client put them (docs/routing.md): "modula"
  // (libmemcached's default), "ketama", "ketama_weighted", "ketama_spy",
  // "libmc", "rendezvous" (pymemcache's HashClient), "python_memcached".
  std::string distribution = "modula";
  // The key hash; empty means the distribution's peer default (one_at_a_time
  // for modula and ketama, md5 for weighted ketama and libmc, murmur3_32 for
  // rendezvous, crc for python_memcached). Names: docs/routing.md.
  std::string hash = {};
  // Time allowed to establish a connection (DNS, TCP); zero means no limit.
  std::chrono::milliseconds connect_timeout{1000};
  // Time allowed for a whole call, however many servers and bytes it
  // involves; zero means no limit.
  std::chrono::milliseconds timeout{1000};
  // Largest value accepted from a server or sent to one, in bytes; a larger
  // VALUE reply is a protocol error, so a server cannot make the client
  // allocate without bound.
  std::size_t max_value_size = 64 * 1024 * 1024;
  // Most connections open to one server at once; zero means no limit. A call
  // that finds every connection leased waits for one within its deadline.
  std::size_t max_connections_per_server = 0;
  // Connections kept open per server when idle.
  std::size_t max_idle_connections_per_server = 8;
  // Disable Nagle's algorithm: requests are small and latency-bound.
  bool tcp_nodelay = true;
  // Accept key bytes >= 0x80 (UTF-8) in the text protocol.
  bool allow_non_ascii_keys = true;
  // Consecutive failures (a refused or timed-out connect, a timeout, a
  // reset; never a miss or an error reply) that take a server down; zero
  // never does. Calls to a down server fail fast or go elsewhere (see
  // dead_server_policy) instead of each waiting out the timeout.
  std::uint32_t failure_limit = 2;
  // How long a down server is left alone before calls probe it again.
  std::chrono::milliseconds retry_timeout{1000};
  // When non-zero, how long a server that reached failure_limit stays down
  // instead of retry_timeout (libmemcached's dead_timeout).
  std::chrono::milliseconds dead_timeout{0};
  // Where a key whose server is down goes: "error" (the call fails fast with
  // Errc::server_down), "failover" (to the next live server by the
  // distribution's own rule: libmc's continuum walk, pymemcache's best live
  // score, python-memcached's rehash; modula has none and fails), or
  // "auto_eject" (libmemcached: the placement is rebuilt without the down
  // servers, so their keys move, and move back when they return).
  std::string dead_server_policy = "error";
  // Reads answer a miss instead of an error when the key's server fails or
  // is down (pymemcache's ignore_exc). Writes still report their failure.
  bool miss_on_error = false;
  // The wire protocol: "meta" (memcached 1.6's meta commands wherever the
  // server speaks them, asked once per server with `mn`, text otherwise;
  // needed by binary keys and the meta calls: docs/protocol.md, "How the
  // client uses meta"),
  // "text" (the classic commands only) or "binary" (memcached's binary
  // protocol, which SASL needs).
  std::string protocol = "meta";
  // Replace every key longer than 250 bytes (memcached's limit) by
  // "sha256:" followed by the 64 lowercase hex digits of the SHA-256 of its
  // bytes, for routing and on the wire, instead of refusing it as
  // invalid_key. The digest depends on the key's bytes alone, so it is the
  // same across runs, machines and platforms, and any client applying the
  // same rule finds the item. Off by default: two keys could then share an
  // item only by a SHA-256 collision, but the original key is not stored.
  bool digest_long_keys = false;
  // Credentials: SASL PLAIN with the binary protocol, memcached's ASCII
  // authentication (-Y) with text and meta. Empty username means none.
  std::string username = {};
  std::string password = {};
};

// Per-call options for storage commands.
struct StoreOptions {
  // Seconds to live; zero means never expire; above 30 days it is an absolute
  // Unix time (memcached's rule); negative means already expired.
  std::int64_t ttl = 0;
  // The client flags stored with the item (how the value is encoded).
  std::uint32_t flags = 0;
};

}  // namespace fastmc
