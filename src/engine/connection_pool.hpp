// SPDX-License-Identifier: MIT
// ConnectionPool: the connections to one server, leased to one call at a
// time (engine layer).
//
// A lease hands out an idle connection, or a new one when none is idle and
// the pool is below its maximum, or waits (within the caller's deadline) for
// one to come back. A connection comes back only if it is still open and did
// not fail; anything else is closed, never reused. After fork() the child
// never touches the parent's connections: they are closed (not shut down)
// at the child's first lease.
//
// Thread-safety: lease() and close_idle() may be called from any thread; the
// mutex is held only to take or return a connection, never across I/O.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "net/address.hpp"
#include "net/connection.hpp"
#include "net/deadline.hpp"

namespace fastmc::engine {

struct PoolOptions {
  // Most connections open at once; zero means no limit.
  std::size_t max_connections = 0;
  // Most idle connections kept open.
  std::size_t max_idle = 8;
};

class ConnectionPool {
 public:
  // Gives its connection back to the pool when it goes out of scope.
  class Lease {
   public:
    Lease() noexcept = default;
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), connection_(std::move(other.connection_)) {}
    Lease& operator=(Lease&& other) noexcept;
    ~Lease() { give_back(); }

    explicit operator bool() const noexcept { return connection_ != nullptr; }
    net::Connection& operator*() const noexcept { return *connection_; }
    net::Connection* operator->() const noexcept { return connection_.get(); }
    [[nodiscard]] net::Connection* get() const noexcept { return connection_.get(); }

   private:
    friend class ConnectionPool;
    Lease(ConnectionPool* pool, std::unique_ptr<net::Connection> connection) noexcept
        : pool_(pool), connection_(std::move(connection)) {}
    void give_back() noexcept;

    ConnectionPool* pool_ = nullptr;
    std::unique_ptr<net::Connection> connection_;
  };

  ConnectionPool(net::Address address, net::ConnectionOptions connection_options,
                 PoolOptions pool_options);
  ConnectionPool(const ConnectionPool&) = delete;
  ConnectionPool& operator=(const ConnectionPool&) = delete;

  // A connection, possibly not yet connected; empty iff the pool stayed at
  // its maximum until `deadline`.
  Lease lease(net::Deadline deadline);
  // Closes every idle connection; leased ones close when they come back
  // after a failure, or stay if healthy.
  void close_idle();

  [[nodiscard]] const net::Address& address() const noexcept { return address_; }

 private:
  void give_back(std::unique_ptr<net::Connection> connection) noexcept;
  void forget_connections_of_parent();

  const net::Address address_;
  const net::ConnectionOptions connection_options_;
  const PoolOptions pool_options_;
  std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<net::Connection>> idle_;
  std::size_t open_count_ = 0;  // leased + idle
  std::uint64_t fork_generation_ = 0;
};

// Incremented in the child after every fork(); pools compare it to theirs.
std::uint64_t current_fork_generation() noexcept;

}  // namespace fastmc::engine
