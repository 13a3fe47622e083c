// SPDX-License-Identifier: MIT
#include "net/connection.hpp"

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "protocol/meta_request.hpp"
#include "protocol/text_request.hpp"
#include "support/memcached_process.hpp"

namespace fastmc::net {
namespace {

using namespace std::chrono_literals;
using protocol::ReplyStatus;
using protocol::TextReplyKind;

Address address_of(const testing::MemcachedProcess& server) {
  std::string problem;
  return parse_address(server.address(), problem).value();
}

ConnectionOptions options() {
  return ConnectionOptions{.connect_timeout = 1s, .call_timeout = 500ms};
}

void append_set(Connection& connection, std::string_view key, std::string_view value) {
  protocol::append_storage_request(connection.requests(), protocol::StorageCommand::set, key, 0, 0,
                                   value, 0, false);
  connection.expect(TextReplyKind::storage);
}

TEST(ConnectionTest, PipelinedRequestsGetTheirRepliesInOrder) {
  testing::MemcachedProcess server;
  Connection connection(address_of(server), options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  const std::string large(100'000, 'b');  // borrowed, not copied: must outlive the exchange
  connection.begin_exchange();
  append_set(connection, "a", "1");
  append_set(connection, "b", large);
  const std::string_view keys[] = {"a", "missing", "b"};
  protocol::append_retrieval_request(connection.requests(), protocol::RetrievalCommand::get, 0,
                                     keys);
  connection.expect(TextReplyKind::retrieval);
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();

  ASSERT_EQ(connection.reply_count(), 5u);  // STORED, STORED, VALUE a, VALUE b, END
  EXPECT_EQ(connection.reply(0).status, ReplyStatus::stored);
  EXPECT_EQ(connection.reply(1).status, ReplyStatus::stored);
  EXPECT_EQ(connection.reply(2).key, "a");
  EXPECT_EQ(connection.reply(2).data, "1");
  EXPECT_EQ(connection.reply(3).key, "b");
  EXPECT_EQ(connection.reply(3).data, large);
  EXPECT_EQ(connection.reply(4).status, ReplyStatus::end);
  EXPECT_EQ(connection.reply_request(4), 2u);
  EXPECT_EQ(connection.exchanges_served(), 1u);
}

TEST(ConnectionTest, StoppedServerTimesOutWithinTheDeadlineAndCloses) {
  testing::MemcachedProcess server;
  Connection connection(address_of(server), options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  server.pause();
  connection.begin_exchange();
  append_set(connection, "a", "1");
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(connection.run(Deadline::after(200ms)));
  const auto elapsed = std::chrono::steady_clock::now() - started;
  server.resume();
  EXPECT_EQ(connection.failure(), ConnectionFailure::timed_out);
  EXPECT_FALSE(connection.is_open());
  EXPECT_GE(elapsed, 200ms);
  EXPECT_LT(elapsed, 260ms);
}

TEST(ConnectionTest, ClosedByServerIsReportedAndNothingReceived) {
  testing::MemcachedProcess server;
  Connection connection(address_of(server), options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  server.kill();
  connection.begin_exchange();
  append_set(connection, "a", "1");
  EXPECT_FALSE(connection.run(Deadline::after(1s)));
  EXPECT_TRUE(connection.failure() == ConnectionFailure::closed_by_server ||
              connection.failure() == ConnectionFailure::reset)
      << name_of(connection.failure());
  EXPECT_FALSE(connection.received_any());
}

TEST(ConnectionTest, ConnectToNothingIsRefused) {
  testing::MemcachedProcess server;
  const Address address = address_of(server);
  server.kill();
  Connection connection(address, options());
  EXPECT_FALSE(connection.ensure_open(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::connect_refused);
}

TEST(ConnectionTest, TcpAndUnixSocketsBothWork) {
  for (const bool tcp : {false, true}) {
    testing::MemcachedProcess server({.tcp = tcp});
    Connection connection(address_of(server), options());
    ASSERT_TRUE(connection.ensure_open(Deadline::after(1s))) << connection.failure_detail();
    connection.begin_exchange();
    protocol::append_version_request(connection.requests());
    connection.expect(TextReplyKind::version);
    ASSERT_TRUE(connection.run(Deadline::after(1s)));
    EXPECT_EQ(connection.reply(0).status, ReplyStatus::version);
    EXPECT_FALSE(connection.reply(0).data.empty());
  }
}

// Fire and forget (send_quietly): nothing is read; the next exchange that
// expects replies starts with the `mn` that fences the quiet requests off,
// consumes up to its MN, and reads only its own replies.
void append_quiet_set(Connection& connection, std::string_view key, std::string_view value) {
  protocol::append_meta_set_request(connection.requests(), key, value, {.quiet = true});
  connection.send_quietly(1, Connection::Fence::meta);
}

TEST(ConnectionTest, QuietRequestsAreFencedAheadOfTheNextExchangeThatReads) {
  testing::MemcachedProcess server({.extra_args = {"-I", "1m"}});
  Connection connection(address_of(server), options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  const std::string too_large(2 * 1024 * 1024, 'x');
  connection.begin_exchange();
  append_quiet_set(connection, "a", "1");
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  EXPECT_EQ(connection.reply_count(), 0u);
  connection.begin_exchange();
  append_quiet_set(connection, "big", too_large);  // refused: SERVER_ERROR, dropped
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  EXPECT_EQ(connection.unfenced_requests(), 2u);
  EXPECT_EQ(connection.owed_fences(), 0u);
  connection.begin_exchange();
  const std::string_view keys[] = {"a", "big"};
  protocol::append_retrieval_request(connection.requests(), protocol::RetrievalCommand::get, 0,
                                     keys);
  connection.expect(TextReplyKind::retrieval);
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  ASSERT_EQ(connection.reply_count(), 2u);  // VALUE a, END: the error and MN were not its own
  EXPECT_EQ(connection.reply(0).data, "1");
  EXPECT_EQ(connection.reply(1).status, ReplyStatus::end);
  EXPECT_TRUE(connection.owed_error_seen());
  EXPECT_EQ(connection.dropped_replies(), 1u);
  EXPECT_FALSE(connection.is_open());  // an error line before the fence: not trusted again
}

TEST(ConnectionTest, ABurstOfQuietRequestsCarriesAFenceEveryKFenceEvery) {
  testing::MemcachedProcess server;
  Connection connection(address_of(server), options());
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  for (std::size_t i = 0; i < Connection::kFenceEvery * (Connection::kMaxOwedFences + 3); ++i) {
    connection.begin_exchange();
    append_quiet_set(connection, "k", std::to_string(i));
    ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
    ASSERT_LE(connection.owed_fences(), Connection::kMaxOwedFences);
    ASSERT_LT(connection.unfenced_requests(), Connection::kFenceEvery);
  }
  EXPECT_EQ(connection.unfenced_requests(), 0u);
  std::this_thread::sleep_for(5ms);
  // The MNs that came while idle are taken in; the connection stays.
  connection.drop_if_not_quiet(std::chrono::steady_clock::now() + 1s);
  EXPECT_TRUE(connection.is_open());
  EXPECT_EQ(connection.owed_fences(), 0u);
  connection.begin_exchange();
  const std::string_view keys[] = {"k"};
  protocol::append_retrieval_request(connection.requests(), protocol::RetrievalCommand::get, 0,
                                     keys);
  connection.expect(TextReplyKind::retrieval);
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  ASSERT_EQ(connection.reply_count(), 2u);
  EXPECT_EQ(connection.reply(0).data,
            std::to_string(Connection::kFenceEvery * (Connection::kMaxOwedFences + 3) - 1));
  EXPECT_TRUE(connection.is_open());
}

}  // namespace
}  // namespace fastmc::net
