// SPDX-License-Identifier: MIT
// Server: one configured memcached server: its name, its connection pool,
// its health, and what it is known to support (engine layer).
//
// Thread-safety: as ConnectionPool; the address and name never change.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "engine/connection_pool.hpp"
#include "engine/server_health.hpp"
#include "net/address.hpp"

namespace fastmc::engine {

class Server {
 public:
  Server(net::Address address, net::ConnectionOptions connection_options, PoolOptions pool_options,
         HealthOptions health_options)
      : name_(address.name()),
        pool_(std::move(address), std::move(connection_options), pool_options),
        health_(health_options) {}

  // "host:port", "[v6]:port" or the unix path, as used in errors and results.
  [[nodiscard]] const std::string& name() const noexcept { return name_; }
  [[nodiscard]] const net::Address& address() const noexcept { return pool_.address(); }
  ConnectionPool& pool() noexcept { return pool_; }
  ServerHealth& health() noexcept { return health_; }
  [[nodiscard]] const ServerHealth& health() const noexcept { return health_; }

  // Whether the server answers meta commands (memcached 1.6+), once known.
  enum class MetaSupport : std::uint8_t { unknown, yes, no };
  [[nodiscard]] MetaSupport meta_support() const noexcept {
    return meta_support_.load(std::memory_order_relaxed);
  }
  void set_meta_support(MetaSupport support) noexcept {
    meta_support_.store(support, std::memory_order_relaxed);
  }

 private:
  const std::string name_;
  ConnectionPool pool_;
  ServerHealth health_;
  std::atomic<MetaSupport> meta_support_{MetaSupport::unknown};
};

}  // namespace fastmc::engine
