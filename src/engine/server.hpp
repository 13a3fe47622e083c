// SPDX-License-Identifier: MIT
// Server: one configured memcached server, its name and its connection pool
// (engine layer). Health tracking (failure_limit, retry and dead timeouts)
// belongs here as the cluster work adds it.
//
// Thread-safety: as ConnectionPool; the address and name never change.
#pragma once

#include <string>

#include "engine/connection_pool.hpp"
#include "net/address.hpp"

namespace fastmc::engine {

class Server {
 public:
  Server(net::Address address, net::ConnectionOptions connection_options, PoolOptions pool_options)
      : name_(address.name()), pool_(std::move(address), connection_options, pool_options) {}

  // "host:port", "[v6]:port" or the unix path, as used in errors and results.
  const std::string& name() const noexcept { return name_; }
  const net::Address& address() const noexcept { return pool_.address(); }
  ConnectionPool& pool() noexcept { return pool_; }

 private:
  const std::string name_;
  ConnectionPool pool_;
};

}  // namespace fastmc::engine
