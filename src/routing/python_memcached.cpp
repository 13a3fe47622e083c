// SPDX-License-Identifier: MIT
#include "routing/python_memcached.hpp"

#include <string>

namespace fastmc::routing {

PythonMemcached::PythonMemcached(const std::vector<std::uint32_t>& weights, KeyHash hash)
    : HashDistribution(hash), server_count_(weights.size()) {
  for (std::size_t index = 0; index < weights.size(); ++index) {
    buckets_.insert(buckets_.end(), weights[index], static_cast<std::uint32_t>(index));
  }
}

std::size_t PythonMemcached::server_for_hash_value(std::uint64_t hash) const noexcept {
  return buckets_[hash % buckets_.size()];
}

std::optional<std::size_t> PythonMemcached::live_server_for_hash_value(std::uint64_t hash,
                                                                       LiveServers is_live) const {
  for (int attempt = 0; attempt < kPythonMemcachedServerRetries; ++attempt) {
    const std::size_t server = server_for_hash_value(hash);
    if (is_live(server)) return server;
    // memcache.py: serverhash = serverHashFunction(str(serverhash) + str(i)),
    // each round starting from the previous round's hash.
    const std::string rehash_key = std::to_string(hash) + std::to_string(attempt);
    hash = hash_key(key_hash(), rehash_key);
  }
  return std::nullopt;
}

}  // namespace fastmc::routing
