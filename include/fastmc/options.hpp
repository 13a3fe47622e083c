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

// TLS to memcached (1.6 built with TLS, started with -Z). docs/security.md.
struct TlsOptions {
  // TLS to every server whose string has no scheme; "tls://host:port" turns
  // it on for one server and "tcp://host:port" off, whatever this says.
  bool enabled = false;
  // Trusted CAs: a PEM bundle and/or an OpenSSL hashed directory; both empty
  // means the system's default store.
  std::string ca_file = {};
  std::string ca_path = {};
  // The client's certificate chain (PEM) and key, for servers that require
  // client certificates (mutual TLS); empty key_file: the key is in cert_file.
  std::string cert_file = {};
  std::string key_file = {};
  // Check the server's certificate chain and that it names the server (its
  // host name or IP as given, or server_name). Turn off only knowingly: the
  // connection is then encrypted but anyone in the middle can read it.
  bool verify = true;
  // The name the server's certificate must carry and that is sent as SNI,
  // instead of each server's host (e.g. connecting by IP to a server
  // certified by name). Empty means each server's own host.
  std::string server_name = {};
  // Lowest TLS version accepted: "1.2" or "1.3".
  std::string min_version = "1.2";
  // OpenSSL cipher list for TLS 1.2; empty means OpenSSL's default.
  std::string ciphers = {};
  // An OpenSSL SSL_CTX* to use instead of building one from the fields
  // above (ca_*, cert_file, key_file, min_version, ciphers and verify are
  // then ignored; the context's own verify mode applies). The client takes
  // its own reference (SSL_CTX_up_ref); the context must not be changed
  // while the client lives. `verify` then says only whether the host name is
  // checked, which OpenSSL leaves to each connection.
  void* ssl_context = nullptr;
};

struct ClientOptions {
  // "host", "host:port", "[v6addr]:port", "/unix/path" or "unix:/unix/path";
  // port 11211 when none is given. A weight as pylibmc writes it,
  // "host:port:weight", and libmc's alias, "host:port alias", are accepted.
  // Any of these may carry a scheme, "tls://" or "tcp://", to turn TLS on or
  // off for that server, and credentials for that server only:
  // "tls://user:password@host:port" (percent-encoded; docs/security.md).
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
  std::size_t max_value_size = std::size_t{64} * 1024 * 1024;
  // Most connections open to one server at once; zero means no limit. A call
  // that finds every connection leased waits for one within its deadline.
  std::size_t max_connections_per_server = 0;
  // Connections kept open per server when idle.
  std::size_t max_idle_connections_per_server = 8;
  // Disable Nagle's algorithm: requests are small and latency-bound.
  bool tcp_nodelay = true;
  // Accept key bytes >= 0x80 (UTF-8) in the text protocol.
  bool allow_non_ascii_keys = true;
  // Put in front of every key on the wire (a namespace); it counts toward
  // memcached's 250-byte key limit. Keys handed back (ItemView::key, the
  // maps of get_many) are without it.
  std::string key_prefix = {};
  // Whether the prefix is part of what the distribution hashes: libmc hashes
  // it; libmemcached (pylibmc) and pymemcache's HashClient do not.
  bool hash_key_prefix = false;
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
  // libmemcached's model (pylibmc): each failure below failure_limit also
  // pauses the server for retry_timeout, its calls failing fast with
  // Errc::server_paused while its keys stay where they are; failure_limit
  // failures then take it down as above (out of the placement under
  // auto_eject). Off: below failure_limit every call tries the server.
  bool pause_after_failure = false;
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
  // "text" (the classic commands only), "text_pipelined" (the classic
  // commands, except that where the server speaks meta, asked as for
  // "meta", set_many is one quiet `ms` pipeline closed by `mn` and a
  // noreply call is fenced by `mn`: what callers see, keys and replies and
  // errors included, is "text"'s; the compat modules use it) or "binary"
  // (memcached's binary protocol, which SASL needs).
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
  // authentication (-Y) with text and meta. Empty username means none. They
  // go to every server without credentials of its own in its string; a
  // server without -Y would store ASCII auth's request as an item (already
  // expired), so give credentials only to servers that check them.
  std::string username = {};
  std::string password = {};
  // TLS; off unless enabled here or by a server's "tls://" scheme.
  TlsOptions tls = {};
};

// Per-call options for storage commands.
struct StoreOptions {
  // Seconds to live; zero means never expire; above 30 days it is an absolute
  // Unix time (memcached's rule); negative means already expired.
  std::int64_t ttl = 0;
  // The client flags stored with the item (how the value is encoded).
  std::uint32_t flags = 0;
  // Fire and forget (memcached's noreply): the call returns as if the
  // server had accepted the request (true, CasOutcome::stored), without
  // waiting for its answer; only a failure to reach the server, or a
  // request refused before sending (bad key, ttl, size), is reported.
  // With protocol "binary", and where the server speaks meta (protocol
  // "meta" or "text_pipelined"), the request goes quiet (a binary quiet
  // opcode, meta q, or text noreply) followed later by a fence (a binary
  // noop, or `mn`), and the call returns once it is written: the next call
  // on that connection reads up to the fence's reply first and drops what
  // came before it, so nothing arrives out of step. Otherwise ("text", a
  // server without meta, and binary touch, which has no quiet form) the
  // answer is awaited and dropped. Ignored by set_many's entries (see
  // WriteOptions).
  bool noreply = false;
};

// Per-call options for the writes without StoreOptions: remove, incr,
// decr, touch, set_many, remove_many, flush_all.
struct WriteOptions {
  // As StoreOptions::noreply. incr and decr then answer an empty optional
  // (the new value is unknown), remove and touch true, set_many only the
  // entries of servers it could not reach, remove_many the number of keys.
  bool noreply = false;
};

}  // namespace fastmc
