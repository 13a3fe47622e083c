// SPDX-License-Identifier: MIT
// net::Connection's binary side against a real memcached (-B binary): the
// encoders' bytes are accepted and answered as docs/protocol.md ("Binary")
// says, quiet batches end at their noop, replies are checked against the
// opcode and opaque of their request, fire-and-forget quiet requests are
// fenced by a noop, and SASL runs after connect.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>

#include <gtest/gtest.h>

#include "net/connection.hpp"
#include "protocol/binary_request.hpp"
#include "support/memcached_process.hpp"

namespace fastmc::net {
namespace {

using namespace std::chrono_literals;
using protocol::BinaryOpcode;
using protocol::ReplyStatus;

Address address_of(const testing::MemcachedProcess& server) {
  std::string problem;
  return parse_address(server.address(), problem).value();
}

testing::MemcachedProcess::Options binary_only() {
  return {.tcp = false, .extra_args = {"-B", "binary"}};
}

class BinaryConnectionTest : public ::testing::Test {
 protected:
  BinaryConnectionTest()
      : server_(binary_only()),
        connection_(address_of(server_), {.connect_timeout = 1s, .call_timeout = 500ms}) {}

  void SetUp() override { ASSERT_TRUE(connection_.ensure_open(Deadline::after(1s))); }

  void run() {
    ASSERT_TRUE(connection_.run(Deadline::after(1s)))
        << name_of(connection_.failure()) << ": " << connection_.failure_detail();
  }

  void set(std::string_view key, std::string_view value, std::uint32_t flags = 0) {
    connection_.begin_exchange();
    protocol::append_binary_storage_request(connection_.requests(), protocol::StorageCommand::set,
                                            key, flags, 0, value, 0, {.opaque = 1});
    connection_.expect_binary(BinaryOpcode::set, 1);
    run();
    ASSERT_EQ(connection_.reply(0).status, ReplyStatus::stored);
  }

  testing::MemcachedProcess server_;
  Connection connection_;
};

TEST_F(BinaryConnectionTest, EveryOpcodeIsAnsweredAsDocumented) {
  set("k", "v", 5);
  connection_.begin_exchange();
  auto& out = connection_.requests();
  protocol::append_binary_get_request(out, "k", false, {.opaque = 0});
  connection_.expect_binary(BinaryOpcode::get, 0);
  protocol::append_binary_get_request(out, "missing", true, {.opaque = 1});
  connection_.expect_binary(BinaryOpcode::get_key, 1);
  protocol::append_binary_touch_request(out, "k", 100, {.opaque = 2});
  connection_.expect_binary(BinaryOpcode::touch, 2);
  protocol::append_binary_gat_request(out, "k", 100, false, {.opaque = 3});
  connection_.expect_binary(BinaryOpcode::gat, 3);
  protocol::append_binary_arithmetic_request(out, protocol::ArithmeticCommand::incr, "n", 1, 40, 0,
                                             {.opaque = 4});
  connection_.expect_binary(BinaryOpcode::increment, 4);
  protocol::append_binary_arithmetic_request(out, protocol::ArithmeticCommand::decr, "n", 3, 0,
                                             protocol::kBinaryNoAutoCreate, {.opaque = 5});
  connection_.expect_binary(BinaryOpcode::decrement, 5);
  protocol::append_binary_arithmetic_request(out, protocol::ArithmeticCommand::incr, "none", 1, 0,
                                             protocol::kBinaryNoAutoCreate, {.opaque = 6});
  connection_.expect_binary(BinaryOpcode::increment, 6);
  protocol::append_binary_delete_request(out, "k", {.opaque = 7});
  connection_.expect_binary(BinaryOpcode::remove, 7);
  // No verbosity: memcached 1.6.18 answers it "Unknown command" and then
  // closes the connection (docs/protocol.md, "Binary").
  protocol::append_binary_version_request(out, 8);
  connection_.expect_binary(BinaryOpcode::version, 8);
  protocol::append_binary_flush_request(out, 0, {.opaque = 9});
  connection_.expect_binary(BinaryOpcode::flush, 9);
  protocol::append_binary_noop_request(out, 10);
  connection_.expect_binary(BinaryOpcode::noop, 10);
  run();
  ASSERT_EQ(connection_.reply_count(), 11u);
  EXPECT_EQ(connection_.reply(0).status, ReplyStatus::value);
  EXPECT_EQ(connection_.reply(0).data, "v");
  EXPECT_EQ(connection_.reply(0).flags, 5u);
  EXPECT_EQ(connection_.reply(1).status, ReplyStatus::miss);
  EXPECT_EQ(connection_.reply(2).status, ReplyStatus::touched);
  EXPECT_EQ(connection_.reply(3).status, ReplyStatus::value);
  EXPECT_EQ(connection_.reply(4).number, 40u) << "a missing key takes the initial value";
  EXPECT_EQ(connection_.reply(5).number, 37u);
  EXPECT_EQ(connection_.reply(6).status, ReplyStatus::not_found);
  EXPECT_EQ(connection_.reply(7).status, ReplyStatus::deleted);
  EXPECT_EQ(connection_.reply(8).status, ReplyStatus::version);
  EXPECT_FALSE(connection_.reply(8).data.empty());
  EXPECT_EQ(connection_.reply(9).status, ReplyStatus::ok);
  EXPECT_EQ(connection_.reply(10).status, ReplyStatus::noop);
}

TEST_F(BinaryConnectionTest, QuitIsAnsweredThenTheServerCloses) {
  connection_.begin_exchange();
  protocol::append_binary_quit_request(connection_.requests(), {.opaque = 3});
  connection_.expect_binary(BinaryOpcode::quit, 3);
  run();
  EXPECT_EQ(connection_.reply(0).status, ReplyStatus::ok);
}

TEST_F(BinaryConnectionTest, QuietBatchAnswersOnlyHitsAndFailuresThenTheNoop) {
  set("b", "2");
  connection_.begin_exchange();
  auto& out = connection_.requests();
  protocol::append_binary_get_request(out, "a", true, {.opaque = 0, .quiet = true});
  protocol::append_binary_get_request(out, "b", true, {.opaque = 1, .quiet = true});
  protocol::append_binary_get_request(out, "c", true, {.opaque = 2, .quiet = true});
  protocol::append_binary_noop_request(out, 3);
  connection_.expect_binary_batch(BinaryOpcode::get_key_quiet, 3);
  // A quiet append to a missing key fails, and says so with its opaque.
  protocol::append_binary_storage_request(out, protocol::StorageCommand::append, "none", 0, 0, "x",
                                          0, {.opaque = 0, .quiet = true});
  protocol::append_binary_storage_request(out, protocol::StorageCommand::append, "b", 0, 0, "x", 0,
                                          {.opaque = 1, .quiet = true});
  protocol::append_binary_noop_request(out, 2);
  connection_.expect_binary_batch(BinaryOpcode::append_quiet, 2);
  run();
  ASSERT_EQ(connection_.reply_count(), 4u);
  EXPECT_EQ(connection_.reply(0).key, "b");
  EXPECT_EQ(connection_.reply_opaque(0), 1u);
  EXPECT_EQ(connection_.reply(1).status, ReplyStatus::noop);
  EXPECT_EQ(connection_.reply(2).status, ReplyStatus::not_stored);
  EXPECT_EQ(connection_.reply_opaque(2), 0u);
  EXPECT_EQ(connection_.reply_request(2), 1u);
  EXPECT_EQ(connection_.reply(3).status, ReplyStatus::noop);
}

TEST_F(BinaryConnectionTest, StatsRunUntilTheEmptyStat) {
  connection_.begin_exchange();
  protocol::append_binary_stat_request(connection_.requests(), "", 4);
  connection_.expect_binary(BinaryOpcode::stat, 4);
  protocol::append_binary_noop_request(connection_.requests(), 5);
  connection_.expect_binary(BinaryOpcode::noop, 5);
  run();
  ASSERT_GT(connection_.reply_count(), 10u);
  EXPECT_EQ(connection_.reply(0).key, "pid");
  EXPECT_EQ(connection_.reply(connection_.reply_count() - 2).status, ReplyStatus::end);
  EXPECT_EQ(connection_.reply(connection_.reply_count() - 1).status, ReplyStatus::noop);
}

TEST_F(BinaryConnectionTest, AReplyWithAnotherOpaqueClosesTheConnection) {
  connection_.begin_exchange();
  protocol::append_binary_version_request(connection_.requests(), 7);
  connection_.expect_binary(BinaryOpcode::version, 8);
  EXPECT_FALSE(connection_.run(Deadline::after(1s)));
  EXPECT_EQ(connection_.failure(), ConnectionFailure::unexpected_reply);
  EXPECT_FALSE(connection_.is_open());
}

TEST_F(BinaryConnectionTest, AReplyToAnotherOpcodeClosesTheConnection) {
  connection_.begin_exchange();
  protocol::append_binary_version_request(connection_.requests(), 0);
  connection_.expect_binary(BinaryOpcode::noop, 0);
  EXPECT_FALSE(connection_.run(Deadline::after(1s)));
  EXPECT_EQ(connection_.failure(), ConnectionFailure::unexpected_reply);
}

TEST_F(BinaryConnectionTest, ABatchReplyOutsideTheBatchClosesTheConnection) {
  set("a", "1");
  connection_.begin_exchange();
  protocol::append_binary_get_request(connection_.requests(), "a", true,
                                      {.opaque = 5, .quiet = true});
  protocol::append_binary_noop_request(connection_.requests(), 1);
  connection_.expect_binary_batch(BinaryOpcode::get_key_quiet, 1);
  EXPECT_FALSE(connection_.run(Deadline::after(1s)));
  EXPECT_EQ(connection_.failure(), ConnectionFailure::unexpected_reply);
}

// Fire and forget (send_quietly with Fence::binary): quiet opcodes answer
// only when they fail; the next exchange that reads starts with the fence
// noop, drops every reply before the noop's, then reads its own.
class BinaryFireAndForgetTest : public BinaryConnectionTest {
 protected:
  // Appends `command` of `key` quiet, alone in an exchange that reads nothing.
  void send_quietly(protocol::StorageCommand command, std::string_view key,
                    std::string_view value) {
    connection_.begin_exchange();
    protocol::append_binary_storage_request(connection_.requests(), command, key, 0, 0, value, 0,
                                            {.opaque = 9, .quiet = true});
    connection_.send_quietly(1, Connection::Fence::binary);
    run();
    ASSERT_EQ(connection_.reply_count(), 0u);
  }

  // An answered get of `key`, with opaque 3: its value, or "<miss>".
  std::string get(std::string_view key) {
    connection_.begin_exchange();
    protocol::append_binary_get_request(connection_.requests(), key, false, {.opaque = 3});
    connection_.expect_binary(BinaryOpcode::get, 3);
    if (!connection_.run(Deadline::after(1s))) {
      ADD_FAILURE() << name_of(connection_.failure()) << ": " << connection_.failure_detail();
      return "<failed>";
    }
    EXPECT_EQ(connection_.reply_count(), 1u);
    EXPECT_EQ(connection_.reply_opaque(0), 3u);
    const protocol::Reply reply = connection_.reply(0);
    return reply.status == ReplyStatus::value ? std::string(reply.data) : "<miss>";
  }
};

TEST_F(BinaryFireAndForgetTest, QuietRequestsAreFencedByANoopAndTheirFailuresDropped) {
  send_quietly(protocol::StorageCommand::set, "a", "1");
  send_quietly(protocol::StorageCommand::add, "a", "2");  // exists: answered, dropped
  connection_.begin_exchange();
  protocol::append_binary_delete_request(connection_.requests(), "missing",
                                         {.opaque = 9, .quiet = true});  // not found: dropped
  protocol::append_binary_arithmetic_request(connection_.requests(),
                                             protocol::ArithmeticCommand::incr, "counter", 5, 10, 0,
                                             {.opaque = 9, .quiet = true});  // created: silent
  connection_.send_quietly(2, Connection::Fence::binary);
  run();
  EXPECT_EQ(connection_.reply_count(), 0u);
  EXPECT_EQ(connection_.unfenced_requests(), 4u);
  EXPECT_EQ(connection_.owed_fences(), 0u);
  EXPECT_EQ(connection_.dropped_replies(), 0u);  // nothing read yet

  EXPECT_EQ(get("a"), "1");
  EXPECT_EQ(connection_.dropped_replies(), 2u);
  EXPECT_FALSE(connection_.owed_error_seen());
  EXPECT_TRUE(connection_.is_open());  // a refused condition is no error
  EXPECT_EQ(connection_.unfenced_requests(), 0u);
  EXPECT_EQ(connection_.owed_fences(), 0u);
  EXPECT_EQ(get("counter"), "10");
  EXPECT_EQ(connection_.dropped_replies(), 2u);
}

TEST_F(BinaryFireAndForgetTest, AnErrorOwedByAQuietRequestClosesTheConnectionAfterTheExchange) {
  set("word", "not a number");
  connection_.begin_exchange();
  protocol::append_binary_arithmetic_request(
      connection_.requests(), protocol::ArithmeticCommand::incr, "word", 1, 0,
      protocol::kBinaryNoAutoCreate, {.opaque = 9, .quiet = true});  // non-numeric: an error
  connection_.send_quietly(1, Connection::Fence::binary);
  run();
  EXPECT_EQ(get("word"), "not a number");  // its own reply, after the fence
  EXPECT_TRUE(connection_.owed_error_seen());
  EXPECT_EQ(connection_.dropped_replies(), 1u);
  EXPECT_FALSE(connection_.is_open());
}

TEST_F(BinaryFireAndForgetTest, ABurstOfQuietRequestsCarriesANoopEveryKFenceEvery) {
  for (std::size_t i = 0; i < Connection::kFenceEvery * (Connection::kMaxOwedFences + 3); ++i) {
    send_quietly(protocol::StorageCommand::set, "k", std::to_string(i));
    ASSERT_LE(connection_.owed_fences(), Connection::kMaxOwedFences);
    ASSERT_LT(connection_.unfenced_requests(), Connection::kFenceEvery);
  }
  EXPECT_EQ(connection_.unfenced_requests(), 0u);
  std::this_thread::sleep_for(5ms);
  // The noop replies that came while idle are taken in; the connection stays.
  connection_.drop_if_not_quiet(std::chrono::steady_clock::now() + 1s);
  EXPECT_TRUE(connection_.is_open());
  EXPECT_EQ(connection_.owed_fences(), 0u);
  EXPECT_EQ(get("k"),
            std::to_string(Connection::kFenceEvery * (Connection::kMaxOwedFences + 3) - 1));
  EXPECT_EQ(connection_.dropped_replies(), 0u);
}

TEST_F(BinaryFireAndForgetTest, ANoopBeforeTheFenceThatIsNotTheFenceClosesTheConnection) {
  // A noop reply owed with another opaque than the fence's is out of step.
  connection_.begin_exchange();
  protocol::append_binary_noop_request(connection_.requests(), 5);
  connection_.send_quietly(1, Connection::Fence::binary);
  run();
  connection_.begin_exchange();
  protocol::append_binary_version_request(connection_.requests(), 1);
  connection_.expect_binary(BinaryOpcode::version, 1);
  EXPECT_FALSE(connection_.run(Deadline::after(1s)));
  EXPECT_EQ(connection_.failure(), ConnectionFailure::unexpected_reply);
  EXPECT_NE(connection_.failure_detail().find("opaque 5"), std::string::npos)
      << connection_.failure_detail();
  EXPECT_FALSE(connection_.is_open());
}

TEST_F(BinaryConnectionTest, SaslListOnAServerWithoutSaslIsAnError) {
  connection_.begin_exchange();
  protocol::append_binary_sasl_list_request(connection_.requests(), 0);
  connection_.expect_binary(BinaryOpcode::sasl_list_mechanisms, 0);
  run();
  EXPECT_TRUE(protocol::is_error(connection_.reply(0).status))
      << protocol::name_of(connection_.reply(0).status);
}

// SASL ------------------------------------------------------------------------

ConnectionOptions with_credentials(std::string username, std::string password) {
  return {.connect_timeout = 1s,
          .call_timeout = 500ms,
          .authentication = ConnectionOptions::Authentication::sasl,
          .username = std::move(username),
          .password = std::move(password)};
}

class SaslConnectionTest : public ::testing::TestWithParam<const char*> {};

TEST_P(SaslConnectionTest, AuthenticatesBeforeTheFirstRequest) {
  testing::MemcachedProcess server(
      {.sasl_users = {{"alice", "wonderland"}}, .sasl_mechanisms = GetParam()});
  Connection connection(address_of(server), with_credentials("alice", "wonderland"));
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)))
      << name_of(connection.failure()) << ": " << connection.failure_detail();
  EXPECT_EQ(connection.exchanges_served(), 0u);
  connection.begin_exchange();
  protocol::append_binary_version_request(connection.requests(), 1);
  connection.expect_binary(BinaryOpcode::version, 1);
  protocol::append_binary_get_request(connection.requests(), "k", false, {.opaque = 2});
  connection.expect_binary(BinaryOpcode::get, 2);
  ASSERT_TRUE(connection.run(Deadline::after(1s))) << connection.failure_detail();
  EXPECT_EQ(connection.reply(1).status, ReplyStatus::miss);
}

TEST_P(SaslConnectionTest, AWrongPasswordFailsTheConnectWithAuthFailed) {
  testing::MemcachedProcess server(
      {.sasl_users = {{"alice", "wonderland"}}, .sasl_mechanisms = GetParam()});
  Connection connection(address_of(server), with_credentials("alice", "nope"));
  EXPECT_FALSE(connection.ensure_open(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::auth_failed);
  EXPECT_FALSE(connection.is_open());
}

INSTANTIATE_TEST_SUITE_P(Mechanisms, SaslConnectionTest,
                         ::testing::Values("plain", "cram-md5", "plain cram-md5"));

TEST(SaslConnectionNoCredentialsTest, AnUnauthenticatedRequestFailsWithAuthFailed) {
  testing::MemcachedProcess server({.sasl_users = {{"alice", "wonderland"}}});
  Connection connection(address_of(server), {.connect_timeout = 1s, .call_timeout = 500ms});
  ASSERT_TRUE(connection.ensure_open(Deadline::after(1s)));
  connection.begin_exchange();
  protocol::append_binary_get_request(connection.requests(), "k", false, {.opaque = 0});
  connection.expect_binary(BinaryOpcode::get, 0);
  EXPECT_FALSE(connection.run(Deadline::after(1s)));
  EXPECT_EQ(connection.failure(), ConnectionFailure::auth_failed);
}

}  // namespace
}  // namespace fastmc::net
