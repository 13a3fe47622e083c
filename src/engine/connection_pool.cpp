// SPDX-License-Identifier: MIT
#include "engine/connection_pool.hpp"

#include <atomic>
#include <chrono>
#include <pthread.h>
#include <utility>

namespace fastmc::engine {
namespace {

std::atomic<std::uint64_t> fork_generation{0};

void on_fork_child() noexcept { fork_generation.fetch_add(1, std::memory_order_relaxed); }

// Registered once per process, before the first pool exists.
const bool kForkHandlerRegistered = [] {
  ::pthread_atfork(nullptr, nullptr, &on_fork_child);
  return true;
}();

}  // namespace

std::uint64_t current_fork_generation() noexcept {
  return fork_generation.load(std::memory_order_relaxed);
}

ConnectionPool::Lease& ConnectionPool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    give_back();
    pool_ = std::exchange(other.pool_, nullptr);
    connection_ = std::move(other.connection_);
  }
  return *this;
}

void ConnectionPool::Lease::give_back() noexcept {
  if (pool_ != nullptr && connection_ != nullptr) pool_->give_back(std::move(connection_));
  pool_ = nullptr;
}

ConnectionPool::ConnectionPool(net::Address address, net::ConnectionOptions connection_options,
                               PoolOptions pool_options)
    : address_(std::move(address)),
      connection_options_(std::move(connection_options)),
      pool_options_(pool_options),
      fork_generation_(current_fork_generation()) {
  (void)kForkHandlerRegistered;
}

ConnectionPool::Lease ConnectionPool::lease(net::Deadline deadline) {
  std::unique_lock lock(mutex_);
  if (fork_generation_ != current_fork_generation()) forget_connections_of_parent();
  for (;;) {
    if (!idle_.empty()) {
      std::unique_ptr<net::Connection> connection = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      // A syscall when it peeks: not under the pool's lock.
      connection->drop_if_not_quiet(std::chrono::steady_clock::now());
      return {this, std::move(connection)};
    }
    if (pool_options_.max_connections == 0 || open_count_ < pool_options_.max_connections) {
      ++open_count_;
      lock.unlock();
      return {this, std::make_unique<net::Connection>(address_, connection_options_)};
    }
    if (deadline.is_never()) {
      returned_.wait(lock);
    } else if (returned_.wait_until(lock, deadline.at()) == std::cv_status::timeout) {
      return {};
    }
  }
}

void ConnectionPool::give_back(std::unique_ptr<net::Connection> connection) noexcept {
  const bool reusable =
      connection->is_open() && connection->failure() == net::ConnectionFailure::none;
  if (reusable) connection->mark_idle(std::chrono::steady_clock::now());
  {
    std::lock_guard lock(mutex_);
    if (reusable && idle_.size() < pool_options_.max_idle) {
      idle_.push_back(std::move(connection));
    } else {
      --open_count_;
    }
  }
  returned_.notify_one();
  // A connection not kept is destroyed here, outside the lock: close() is a syscall.
}

void ConnectionPool::close_idle() {
  std::vector<std::unique_ptr<net::Connection>> closing;
  {
    std::lock_guard lock(mutex_);
    closing.swap(idle_);
    open_count_ -= closing.size();
  }
  returned_.notify_all();
}

void ConnectionPool::forget_connections_of_parent() {
  // The idle sockets belong to the parent's conversations: close our copies
  // of the descriptors (close, unlike shutdown, leaves the parent's
  // connection intact) and start counting afresh.
  idle_.clear();
  open_count_ = 0;
  fork_generation_ = current_fork_generation();
}

}  // namespace fastmc::engine
