// SPDX-License-Identifier: MIT
#include "engine/connection_pool.hpp"

#include <chrono>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "support/memcached_process.hpp"

namespace fastmc::engine {
namespace {

using namespace std::chrono_literals;

net::Address address_of(const testing::MemcachedProcess& server) {
  std::string problem;
  return net::parse_address(server.address(), problem).value();
}

net::ConnectionOptions connection_options() { return {.connect_timeout = 1s, .call_timeout = 1s}; }

TEST(ConnectionPoolTest, AHealthyConnectionIsReused) {
  testing::MemcachedProcess server;
  ConnectionPool pool(address_of(server), connection_options(), {});
  const net::Connection* first = nullptr;
  {
    ConnectionPool::Lease lease = pool.lease(net::Deadline::after(1s));
    ASSERT_TRUE(lease);
    ASSERT_TRUE(lease->ensure_open(net::Deadline::after(1s)));
    first = lease.get();
  }
  ConnectionPool::Lease again = pool.lease(net::Deadline::after(1s));
  EXPECT_EQ(again.get(), first);
  EXPECT_TRUE(again->is_open());
}

TEST(ConnectionPoolTest, AFailedConnectionIsNeverReused) {
  testing::MemcachedProcess server;
  ConnectionPool pool(address_of(server), connection_options(), {});
  {
    ConnectionPool::Lease lease = pool.lease(net::Deadline::after(1s));
    ASSERT_TRUE(lease->ensure_open(net::Deadline::after(1s)));
    lease->fail(net::ConnectionFailure::timed_out, "test");
  }
  ConnectionPool::Lease again = pool.lease(net::Deadline::after(1s));
  EXPECT_FALSE(again->is_open());
  EXPECT_EQ(again->failure(), net::ConnectionFailure::none);
}

TEST(ConnectionPoolTest, AtItsMaximumALeaseWaitsUntilTheDeadline) {
  testing::MemcachedProcess server;
  ConnectionPool pool(address_of(server), connection_options(), {.max_connections = 1});
  ConnectionPool::Lease held = pool.lease(net::Deadline::after(1s));
  ASSERT_TRUE(held);
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(pool.lease(net::Deadline::after(50ms)));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 50ms);
}

TEST(ConnectionPoolTest, AtItsMaximumALeaseGetsAReturnedConnection) {
  testing::MemcachedProcess server;
  ConnectionPool pool(address_of(server), connection_options(), {.max_connections = 1});
  ConnectionPool::Lease held = pool.lease(net::Deadline::after(1s));
  std::thread releaser([&] {
    std::this_thread::sleep_for(20ms);
    held = ConnectionPool::Lease();
  });
  EXPECT_TRUE(pool.lease(net::Deadline::after(2s)));
  releaser.join();
}

TEST(ConnectionPoolTest, AForkedChildNeverUsesItsParentsConnections) {
  testing::MemcachedProcess server;
  ConnectionPool pool(address_of(server), connection_options(), {});
  const net::Connection* parent_connection = nullptr;
  {
    ConnectionPool::Lease lease = pool.lease(net::Deadline::after(1s));
    ASSERT_TRUE(lease->ensure_open(net::Deadline::after(1s)));
    parent_connection = lease.get();
  }
  const pid_t child = ::fork();
  if (child == 0) {
    // A fresh, unconnected connection: the parent's socket was dropped. (Its
    // address may be reused by the allocator, so the pointer proves nothing.)
    ConnectionPool::Lease lease = pool.lease(net::Deadline::after(1s));
    ::_exit(!lease->is_open() && lease->exchanges_served() == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ConnectionPool::Lease lease = pool.lease(net::Deadline::after(1s));
  EXPECT_EQ(lease.get(), parent_connection);  // the parent keeps its own
}

}  // namespace
}  // namespace fastmc::engine
