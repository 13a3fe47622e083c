// SPDX-License-Identifier: MIT
#include "engine/batch.hpp"

#include <chrono>
#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/text_request.hpp"
#include "support/memcached_process.hpp"

namespace fastmc::engine {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<net::Connection> open_connection(const testing::MemcachedProcess& server) {
  std::string problem;
  auto connection = std::make_unique<net::Connection>(
      net::parse_address(server.address(), problem).value(),
      net::ConnectionOptions{.connect_timeout = 1s, .call_timeout = 1s});
  EXPECT_TRUE(connection->ensure_open(net::Deadline::after(1s)));
  return connection;
}

void prepare_version(net::Connection& connection) {
  connection.begin_exchange();
  protocol::append_version_request(connection.requests());
  connection.expect(protocol::TextReplyKind::version);
}

TEST(BatchTest, EveryConnectionCompletes) {
  testing::MemcachedProcess first;
  testing::MemcachedProcess second({.tcp = true});
  auto a = open_connection(first);
  auto b = open_connection(second);
  prepare_version(*a);
  prepare_version(*b);
  net::Connection* connections[] = {a.get(), b.get()};
  run_exchanges(connections, net::Deadline::after(1s));
  for (net::Connection* connection : connections) {
    EXPECT_EQ(connection->failure(), net::ConnectionFailure::none);
    ASSERT_EQ(connection->reply_count(), 1u);
    EXPECT_EQ(connection->reply(0).status, protocol::ReplyStatus::version);
  }
}

TEST(BatchTest, AStoppedServerTimesOutAtTheDeadlineWhileTheOthersComplete) {
  testing::MemcachedProcess healthy;
  testing::MemcachedProcess stopped;
  auto a = open_connection(healthy);
  auto b = open_connection(stopped);
  stopped.pause();
  prepare_version(*a);
  prepare_version(*b);
  net::Connection* connections[] = {a.get(), b.get()};
  const auto started = std::chrono::steady_clock::now();
  run_exchanges(connections, net::Deadline::after(150ms));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  stopped.resume();
  EXPECT_EQ(a->failure(), net::ConnectionFailure::none);
  EXPECT_EQ(a->reply(0).status, protocol::ReplyStatus::version);
  EXPECT_EQ(b->failure(), net::ConnectionFailure::timed_out);
  EXPECT_FALSE(b->is_open());
  EXPECT_GE(elapsed, 150ms);
  EXPECT_LT(elapsed, 210ms);
}

TEST(BatchTest, RepliesThatArrivedCountEvenAfterAnEarlierStalledServerUsedTheDeadline) {
  testing::MemcachedProcess stopped;
  testing::MemcachedProcess healthy;
  auto a = open_connection(stopped);
  auto b = open_connection(healthy);
  stopped.pause();
  prepare_version(*a);
  prepare_version(*b);
  net::Connection* connections[] = {a.get(), b.get()};  // the stalled one first
  const auto started = std::chrono::steady_clock::now();
  run_exchanges(connections, net::Deadline::after(150ms));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  stopped.resume();
  EXPECT_EQ(a->failure(), net::ConnectionFailure::timed_out);
  EXPECT_EQ(b->failure(), net::ConnectionFailure::none);
  ASSERT_EQ(b->reply_count(), 1u);
  EXPECT_EQ(b->reply(0).status, protocol::ReplyStatus::version);
  EXPECT_LT(elapsed, 210ms);
}

}  // namespace
}  // namespace fastmc::engine
