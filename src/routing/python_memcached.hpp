// SPDX-License-Identifier: MIT
// PythonMemcached: python-memcached's bucket placement with its rehash on a
// dead server, bit for bit (routing layer). No I/O.
//
// As linsomniac/python-memcached memcache.py does it (Client._init_buckets,
// Client._get_server):
//   - the bucket list holds each server `weight` times, in server order;
//   - a key's hash is cmemcache_hash (KeyHash::crc, 15 bits) or, after
//     useOldServerHashFunction(), binascii.crc32 (KeyHash::crc32);
//   - the server is buckets[hash % len(buckets)];
//   - if that server is dead, the hash becomes hash(str(hash) + str(i)) for
//     i = 0, 1, ... and the bucket is looked up again, for at most 10 lookups
//     in all (_SERVER_RETRIES); then the key has no server.
// With every weight 1 and no dead server this is libmemcached's modula with
// the crc hash.
//
// Thread-safety: immutable; const methods are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "routing/distribution.hpp"
#include "routing/key_hash.hpp"

namespace fastmc::routing {

// python-memcached Client._SERVER_RETRIES.
inline constexpr int kPythonMemcachedServerRetries = 10;

class PythonMemcached final : public HashDistribution {
 public:
  // One weight per server; `hash` is KeyHash::crc or KeyHash::crc32 for the
  // peer (any KeyHash works). Requires: weights is not empty and some weight
  // is > 0.
  PythonMemcached(const std::vector<std::uint32_t>& weights, KeyHash hash);

  [[nodiscard]] std::size_t server_count() const noexcept override { return server_count_; }
  [[nodiscard]] std::size_t server_for_hash(std::uint32_t hash) const noexcept override {
    return server_for_hash_value(hash);
  }
  // The rehash walk above; nullopt after 10 dead lookups.
  [[nodiscard]] std::optional<std::size_t> live_server_for_hash(
      std::uint32_t hash, LiveServers is_live) const override {
    return live_server_for_hash_value(hash, is_live);
  }

  // The same from any hash value the caller chose: python-memcached's
  // (hash, key) tuples skip hashing the key. Requires: the value Python
  // would hold is not negative.
  [[nodiscard]] std::size_t server_for_hash_value(std::uint64_t hash) const noexcept;
  [[nodiscard]] std::optional<std::size_t> live_server_for_hash_value(std::uint64_t hash,
                                                                      LiveServers is_live) const;

  [[nodiscard]] std::size_t bucket_count() const noexcept { return buckets_.size(); }

 private:
  std::size_t server_count_;
  std::vector<std::uint32_t> buckets_;  // server index per bucket
};

}  // namespace fastmc::routing
