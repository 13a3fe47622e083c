// SPDX-License-Identifier: MIT
// LibmcContinuum: douban/libmc's consistent hashing, bit for bit (routing
// layer). No I/O.
//
// As libmc src/HashkitKetama.cpp (KetamaSelector::addServers) builds it:
//   - 100 points per server; the point string is "{alias}-{i}" when the
//     server has an alias, else "{host}-{i}" when its port is 11211, else
//     "{host}:{port}-{i}" (i = 0..99). libmc parses "host[:port] [alias]"
//     itself, so a unix socket path is its host, with the default port.
//   - points are always MD5 (first 4 digest bytes, little-endian), whatever
//     the key hash; keys are hashed with the client's hash_fn (MD5 by
//     default), prefix included (router.hpp).
//   - a key goes to the first point >= its hash, wrapping to the first point.
//   - failover (libmc's `failover=True`) walks the ring to the next point of
//     another server that is live.
// Weights do not exist in libmc and are ignored.
//
// Thread-safety: immutable; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "routing/continuum.hpp"
#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"

namespace fastmc::routing {

// libmc KetamaSelector::s_pointerPerServer.
inline constexpr std::uint32_t kLibmcPointsPerServer = 100;

class LibmcContinuum final : public HashDistribution {
 public:
  // Requires: servers is not empty; MD5 available.
  LibmcContinuum(const std::vector<RoutingServer>& servers, KeyHash hash);

  [[nodiscard]] std::size_t server_count() const noexcept override { return server_count_; }
  [[nodiscard]] std::size_t server_for_hash(std::uint32_t hash) const noexcept override {
    return continuum_.server_for_hash(hash);
  }
  // libmc's failover walk (Continuum::live_server_for_hash).
  [[nodiscard]] std::optional<std::size_t> live_server_for_hash(
      std::uint32_t hash, LiveServers is_live) const override {
    return continuum_.live_server_for_hash(hash, is_live);
  }

  [[nodiscard]] const Continuum& continuum() const noexcept { return continuum_; }

  // The point string of `server` for point `index`.
  static std::string point_name(const RoutingServer& server, std::uint32_t index);

 private:
  std::size_t server_count_;
  Continuum continuum_;
};

// libmc's key with its prefix (libmc/_client.pyx normalize_key): the prefix
// goes first, or after a leading '?' (libmc's marker for keys read through a
// different path), which stays in front. An empty prefix leaves the key as is.
std::string libmc_prefixed_key(std::string_view prefix, std::string_view key);

}  // namespace fastmc::routing
