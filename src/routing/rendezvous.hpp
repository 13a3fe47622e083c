// SPDX-License-Identifier: MIT
// Rendezvous: pymemcache HashClient's highest-random-weight placement, bit for
// bit (routing layer). No I/O.
//
// As pymemcache/client/rendezvous.py (RendezvousHash.get_node) does it: each
// server has a node id, "host:port" or the unix socket path
// (pymemcache/client/hash.py _make_client_key); a key scores
// murmur3_32("{node}-{key}", seed 0) on every server, the highest score wins,
// and a tie goes to the larger node id. pymemcache computes all this on a
// Python str (pymemcache/client/murmur3.py takes ord(c) & 0xff of each
// character, and the length in characters), and its key is the caller's key
// formatted into that str: a bytes key appears as its repr, b'foo' as
// "b'foo'", so "foo" and b"foo" route differently. The router is given the
// key already in that form: see pymemcache_bytes_key and pymemcache_str_key.
// pymemcache's key_prefix is not part of it.
//
// pymemcache takes a dead server out of the hasher, so the live placement is
// the highest score among the live servers.
//
// Thread-safety: immutable; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"

namespace fastmc::routing {

class Rendezvous final : public Distribution {
 public:
  // `hash` scores "{node}-{key}"; pymemcache's default is KeyHash::murmur3_32.
  // Requires: node_ids is not empty.
  Rendezvous(std::vector<std::string> node_ids, KeyHash hash);

  [[nodiscard]] std::size_t server_count() const noexcept override { return node_ids_.size(); }
  [[nodiscard]] std::size_t server_for_key(std::string_view key) const noexcept override;
  // The highest-scoring live server, or nullopt if none is live.
  [[nodiscard]] std::optional<std::size_t> live_server_for_key(std::string_view key,
                                                               LiveServers is_live) const override;

  // The score of server `index` for `key`.
  [[nodiscard]] std::uint32_t score(std::size_t index, std::string_view key) const noexcept;

 private:
  template <class Eligible>
  std::optional<std::size_t> best_server(std::string_view key, const Eligible& eligible) const;

  std::vector<std::string> node_ids_;
  KeyHash hash_;
};

// pymemcache's node id for a server: the unix socket path, or "host:port"
// with an IPv6 host bare ("::1:11211"): pymemcache's normalize_server_spec
// strips the brackets of "[::1]:11211".
std::string pymemcache_node_id(const RoutingServer& server);

// The routing key pymemcache uses for a bytes key: Python's repr of it,
// b'...' (b"..." when it holds a ' and no "), with \\, \t, \n, \r, the quote
// escaped and other bytes outside 0x20..0x7e as \xNN.
std::string pymemcache_bytes_key(std::string_view key);

// The routing key pymemcache uses for a str key given here as UTF-8: one byte
// per character, its code point & 0xff, as pymemcache's murmur3 reads a str.
// ASCII keys are unchanged. A byte that is not valid UTF-8 is kept as is.
std::string pymemcache_str_key(std::string_view utf8_key);

}  // namespace fastmc::routing
