// SPDX-License-Identifier: MIT
// Every case goes through the split feeder (tests/cpp/support), which runs it
// on every way the input could be split across reads. Packets marked "from
// memcached 1.6.18" carry the bodies the Debian binary sent over a socket.
#include "protocol/binary_reply_parser.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/binary_header.hpp"
#include "support/split_feeder.hpp"

namespace fastmc::protocol {
namespace {

using test::feed_binary_batch;
using test::feed_binary_reply;
using test::FeedOutcome;
using test::OwnedReply;
using Replies = std::vector<OwnedReply>;

std::string be(std::uint64_t value, int size) {
  std::string bytes;
  for (int i = size - 1; i >= 0; --i) bytes += static_cast<char>((value >> (8 * i)) & 0xff);
  return bytes;
}

// A reply packet, field by field.
struct Packet {
  std::uint8_t opcode = 0;
  std::uint16_t status = 0;
  std::string extras = {};
  std::string key = {};
  std::string value = {};
  std::uint32_t opaque = 0;
  std::uint64_t cas = 0;
  std::uint8_t magic = 0x81;
  std::uint8_t data_type = 0;

  std::string bytes() const {
    std::string out;
    out += static_cast<char>(magic);
    out += static_cast<char>(opcode);
    out += be(key.size(), 2);
    out += static_cast<char>(extras.size());
    out += static_cast<char>(data_type);
    out += be(status, 2);
    out += be(extras.size() + key.size() + value.size(), 4);
    out += be(opaque, 4);
    out += be(cas, 8);
    return out + extras + key + value;
  }
};

OwnedReply expected(ReplyStatus status, const Packet& packet) {
  OwnedReply reply;
  reply.status = status;
  reply.binary_opcode = packet.opcode;
  reply.binary_status = packet.status;
  reply.binary_opaque = packet.opaque;
  return reply;
}

void expect_complete(const FeedOutcome& outcome, std::string_view input, const Replies& replies) {
  EXPECT_EQ(outcome.status, ParseStatus::complete) << outcome.problem;
  EXPECT_EQ(outcome.replies, replies);
  EXPECT_EQ(outcome.consumed, input.size());
}

void expect_one(const Packet& packet, const OwnedReply& reply) {
  const std::string input = packet.bytes();
  expect_complete(feed_binary_reply(input), input, {reply});
}

void expect_malformed(const std::string& input, std::string_view problem,
                      std::size_t max_value_size = std::size_t{1} << 20) {
  const FeedOutcome outcome = feed_binary_reply(input, 1, max_value_size);
  EXPECT_EQ(outcome.status, ParseStatus::malformed);
  EXPECT_EQ(outcome.problem, problem);
  EXPECT_TRUE(outcome.replies.empty());
}

TEST(BinaryReplyParserTest, GetHitCarriesFlagsCasAndValue) {
  const Packet packet{.opcode = 0x00, .extras = be(5, 4), .value = "abc", .opaque = 3, .cas = 9};
  OwnedReply reply = expected(ReplyStatus::value, packet);
  reply.flags = 5;
  reply.cas = 9;
  reply.has_cas = true;
  reply.data = "abc";
  expect_one(packet, reply);
}

TEST(BinaryReplyParserTest, GetKeyHitCarriesTheKeyEvenWithNulBytes) {
  // from memcached 1.6.18: getk of the key "a\0b" stored with flags 5
  const Packet packet{
      .opcode = 0x0c, .extras = be(5, 4), .key = std::string("a\0b", 3), .value = "nul", .cas = 2};
  OwnedReply reply = expected(ReplyStatus::value, packet);
  reply.flags = 5;
  reply.key = std::string("a\0b", 3);
  reply.cas = 2;
  reply.has_cas = true;
  reply.data = "nul";
  expect_one(packet, reply);
}

TEST(BinaryReplyParserTest, GatkAndQuietFormsAreHitsToo) {
  for (const int code : {0x09, 0x0d, 0x1d, 0x1e, 0x23, 0x24}) {
    const auto opcode = static_cast<std::uint8_t>(code);
    const bool keyed = opcode == 0x0d || opcode == 0x23 || opcode == 0x24;
    const Packet packet{.opcode = opcode,
                        .extras = be(0xffffffff, 4),
                        .key = keyed ? "k" : "",
                        .value = "",
                        .opaque = 1,
                        .cas = 1};
    OwnedReply reply = expected(ReplyStatus::value, packet);
    reply.flags = 0xffffffff;
    reply.key = packet.key;
    reply.cas = 1;
    reply.has_cas = true;
    expect_one(packet, reply);
  }
}

TEST(BinaryReplyParserTest, GetMissIsAMissWithTheServersMessage) {
  // from memcached 1.6.18
  const Packet packet{.opcode = 0x00, .status = 0x0001, .value = "Not found"};
  OwnedReply reply = expected(ReplyStatus::miss, packet);
  reply.data = "Not found";
  expect_one(packet, reply);
}

TEST(BinaryReplyParserTest, GetKeyMissCarriesTheKeyAndNoMessage) {
  // from memcached 1.6.18: getk of a missing key
  const Packet packet{.opcode = 0x0c, .status = 0x0001, .key = "missing", .opaque = 1};
  OwnedReply reply = expected(ReplyStatus::miss, packet);
  reply.key = "missing";
  expect_one(packet, reply);
}

TEST(BinaryReplyParserTest, StorageOutcomesMapOntoTextStatuses) {
  const Packet stored{.opcode = 0x01, .cas = 77};
  OwnedReply stored_reply = expected(ReplyStatus::stored, stored);
  stored_reply.cas = 77;
  stored_reply.has_cas = true;
  expect_one(stored, stored_reply);

  // from memcached 1.6.18: add of an existing key, cas mismatch, replace of a
  // missing key, append to a missing key
  struct Case {
    std::uint8_t opcode;
    std::uint16_t status;
    const char* message;
    ReplyStatus mapped;
  };
  for (const Case& c : {Case{0x02, 0x0002, "Data exists for key.", ReplyStatus::exists},
                        Case{0x01, 0x0002, "Data exists for key.", ReplyStatus::exists},
                        Case{0x03, 0x0001, "Not found", ReplyStatus::not_found},
                        Case{0x0e, 0x0005, "Not stored.", ReplyStatus::not_stored},
                        Case{0x01, 0x0003, "Too large.", ReplyStatus::server_error},
                        Case{0x01, 0x0004, "Invalid arguments", ReplyStatus::client_error},
                        Case{0x01, 0x0082, "Out of memory", ReplyStatus::server_error}}) {
    const Packet packet{.opcode = c.opcode, .status = c.status, .value = c.message};
    OwnedReply reply = expected(c.mapped, packet);
    reply.data = c.message;
    expect_one(packet, reply);
  }
}

TEST(BinaryReplyParserTest, DeleteTouchFlushVerbosityQuit) {
  expect_one({.opcode = 0x04}, expected(ReplyStatus::deleted, {.opcode = 0x04}));
  expect_one({.opcode = 0x1c}, expected(ReplyStatus::touched, {.opcode = 0x1c}));
  expect_one({.opcode = 0x08}, expected(ReplyStatus::ok, {.opcode = 0x08}));
  expect_one({.opcode = 0x1b}, expected(ReplyStatus::ok, {.opcode = 0x1b}));
  expect_one({.opcode = 0x07}, expected(ReplyStatus::ok, {.opcode = 0x07}));
  const Packet missing{.opcode = 0x1c, .status = 0x0001, .value = "Not found"};
  OwnedReply reply = expected(ReplyStatus::not_found, missing);
  reply.data = "Not found";
  expect_one(missing, reply);
}

TEST(BinaryReplyParserTest, TouchMayCarryTheItemsFlags) {
  // from memcached 1.6.18: touch of an item stored with flags 0 answers with
  // 4 bytes of extras and its cas, which the reply does not report.
  const Packet packet{.opcode = 0x1c, .extras = be(0, 4), .cas = 2};
  expect_one(packet, expected(ReplyStatus::touched, packet));
  expect_malformed(Packet{.opcode = 0x1c, .extras = be(0, 4), .value = "v"}.bytes(),
                   "binary touch reply with a key, a value or extras other than flags");
  expect_malformed(Packet{.opcode = 0x1c, .extras = be(0, 2)}.bytes(),
                   "binary touch reply with a key, a value or extras other than flags");
}

TEST(BinaryReplyParserTest, OnlyAStoreReportsTheCasItsHeaderCarries) {
  // Found by the fuzzer: a touch reply with a cas had cas set but not has_cas.
  expect_one({.opcode = 0x1c, .cas = 1}, expected(ReplyStatus::touched, {.opcode = 0x1c}));
  expect_one({.opcode = 0x04, .cas = 1}, expected(ReplyStatus::deleted, {.opcode = 0x04}));
}

TEST(BinaryReplyParserTest, ArithmeticResultIsAnEightByteNumber) {
  const Packet packet{.opcode = 0x05, .value = be(0xfffffffffffffffe, 8), .cas = 4};
  OwnedReply reply = expected(ReplyStatus::number, packet);
  reply.number = 0xfffffffffffffffe;
  reply.data = packet.value;
  expect_one(packet, reply);
  // from memcached 1.6.18: incr of a string
  const Packet bad{
      .opcode = 0x05, .status = 0x0006, .value = "Non-numeric server-side value for incr or decr"};
  OwnedReply bad_reply = expected(ReplyStatus::client_error, bad);
  bad_reply.data = bad.value;
  expect_one(bad, bad_reply);
}

TEST(BinaryReplyParserTest, VersionAndSaslCarryText) {
  const Packet version{.opcode = 0x0b, .value = "1.6.18"};
  OwnedReply version_reply = expected(ReplyStatus::version, version);
  version_reply.data = "1.6.18";
  expect_one(version, version_reply);
  // from memcached 1.6.18 started with -S
  const Packet list{.opcode = 0x20, .value = "PLAIN CRAM-MD5"};
  OwnedReply list_reply = expected(ReplyStatus::ok, list);
  list_reply.data = "PLAIN CRAM-MD5";
  expect_one(list, list_reply);
  const Packet refused{.opcode = 0x21, .status = 0x0020, .value = "Auth failure."};
  OwnedReply refused_reply = expected(ReplyStatus::auth_error, refused);
  refused_reply.data = "Auth failure.";
  expect_one(refused, refused_reply);
  const Packet challenge{.opcode = 0x21, .status = 0x0021, .value = "<1.2@host>"};
  OwnedReply challenge_reply = expected(ReplyStatus::auth_continue, challenge);
  challenge_reply.data = "<1.2@host>";
  expect_one(challenge, challenge_reply);
}

TEST(BinaryReplyParserTest, UnknownCommandIsAnErrorAndUnknownStatusAServerError) {
  const Packet unknown{.opcode = 0x1b, .status = 0x0081, .value = "Unknown command"};
  OwnedReply unknown_reply = expected(ReplyStatus::error, unknown);
  unknown_reply.data = "Unknown command";
  expect_one(unknown, unknown_reply);
  const Packet future{.opcode = 0x00, .status = 0x00ee, .value = "new"};
  OwnedReply future_reply = expected(ReplyStatus::server_error, future);
  future_reply.data = "new";
  expect_one(future, future_reply);
}

TEST(BinaryReplyParserTest, StatsEndWithAnEmptyStat) {
  const Packet pid{.opcode = 0x10, .key = "pid", .value = "1234", .opaque = 1};
  const Packet version{.opcode = 0x10, .key = "version", .value = "1.6.18", .opaque = 1};
  const Packet end{.opcode = 0x10, .opaque = 1};
  const std::string input = pid.bytes() + version.bytes() + end.bytes();
  OwnedReply first = expected(ReplyStatus::stat, pid);
  first.key = "pid";
  first.data = "1234";
  OwnedReply second = expected(ReplyStatus::stat, version);
  second.key = "version";
  second.data = "1.6.18";
  expect_complete(feed_binary_reply(input, 3), input,
                  {first, second, expected(ReplyStatus::end, end)});
}

TEST(BinaryReplyParserTest, QuietBatchEndsWithTheNoop) {
  const Packet hit{
      .opcode = 0x0d, .extras = be(0, 4), .key = "b", .value = "2", .opaque = 1, .cas = 5};
  const Packet failed{.opcode = 0x11, .status = 0x0005, .value = "Not stored.", .opaque = 2};
  const Packet noop{.opcode = 0x0a, .opaque = 3};
  const std::string input = hit.bytes() + failed.bytes() + noop.bytes();
  OwnedReply hit_reply = expected(ReplyStatus::value, hit);
  hit_reply.key = "b";
  hit_reply.data = "2";
  hit_reply.cas = 5;
  hit_reply.has_cas = true;
  OwnedReply failed_reply = expected(ReplyStatus::not_stored, failed);
  failed_reply.data = "Not stored.";
  expect_complete(feed_binary_batch(input), input,
                  {hit_reply, failed_reply, expected(ReplyStatus::noop, noop)});
}

TEST(BinaryReplyParserTest, NeedMoreSaysTheWholePacketSizeOnceTheHeaderIsIn) {
  const Packet packet{.opcode = 0x00, .extras = be(1, 4), .value = std::string(100, 'v')};
  const std::string input = packet.bytes();
  Reply reply;
  EXPECT_EQ(parse_binary_reply(std::string_view(input).substr(0, 23), 1000, reply).needed, 0u);
  const ParseResult header_only =
      parse_binary_reply(std::string_view(input).substr(0, 24), 1000, reply);
  EXPECT_EQ(header_only.status, ParseStatus::need_more);
  EXPECT_EQ(header_only.needed, input.size());
  // Once the flags are in, the reply holds everything but the value, so a
  // caller can receive the value elsewhere.
  const ParseResult partial =
      parse_binary_reply(std::string_view(input).substr(0, 40), 1000, reply);
  EXPECT_EQ(partial.status, ParseStatus::need_more);
  EXPECT_EQ(partial.needed, input.size());
  EXPECT_EQ(reply.status, ReplyStatus::value);
  EXPECT_EQ(reply.flags, 1u);
  EXPECT_TRUE(reply.data.empty());
}

TEST(BinaryReplyParserTest, MalformedHeaders) {
  Packet request_magic{.opcode = 0x0a, .magic = 0x80};
  expect_malformed(request_magic.bytes(), "binary reply does not start with magic 0x81");
  expect_malformed("HD\r\n", "binary reply does not start with magic 0x81");
  expect_malformed(Packet{.opcode = 0x1f}.bytes(), "binary reply opcode unknown");
  expect_malformed(Packet{.opcode = 0x0a, .data_type = 1}.bytes(),
                   "binary reply data type is not raw");
  std::string short_body = Packet{.opcode = 0x0c, .extras = be(0, 4), .key = "k"}.bytes();
  short_body[11] = 3;  // body size 3 < extras 4 + key 1
  expect_malformed(short_body, "binary reply extras and key longer than its body");
  expect_malformed(Packet{.opcode = 0x0c, .extras = be(0, 4), .key = std::string(251, 'k')}.bytes(),
                   "binary reply key too long");
}

TEST(BinaryReplyParserTest, ValueAboveTheLimitIsMalformedBeforeItArrives) {
  const Packet packet{.opcode = 0x00, .extras = be(0, 4), .value = std::string(17, 'v')};
  const std::string header = packet.bytes().substr(0, 24);
  expect_malformed(header, "binary reply value above max_value_size", 16);
  Reply reply;
  EXPECT_EQ(parse_binary_reply(packet.bytes(), 17, reply).status, ParseStatus::complete);
}

TEST(BinaryReplyParserTest, ShapesThatDoNotFitTheOpcode) {
  expect_malformed(Packet{.opcode = 0x00, .value = "v"}.bytes(),
                   "binary get reply without 4 bytes of flags");
  expect_malformed(Packet{.opcode = 0x00, .extras = be(0, 4), .key = "k"}.bytes(),
                   "binary get reply with a key");
  expect_malformed(Packet{.opcode = 0x0c, .extras = be(0, 4)}.bytes(),
                   "binary getk reply without a key");
  expect_malformed(Packet{.opcode = 0x01, .value = "x"}.bytes(),
                   "binary reply with an unexpected body");
  expect_malformed(Packet{.opcode = 0x0a, .key = "k"}.bytes(),
                   "binary reply with an unexpected body");
  expect_malformed(Packet{.opcode = 0x05, .value = be(1, 4)}.bytes(),
                   "binary incr/decr reply whose value is not 8 bytes");
  expect_malformed(Packet{.opcode = 0x0b, .extras = be(0, 4)}.bytes(),
                   "binary reply with unexpected extras or key");
  expect_malformed(Packet{.opcode = 0x10, .extras = be(0, 4)}.bytes(),
                   "binary stat reply with extras");
  expect_malformed(Packet{.opcode = 0x10, .value = "orphan"}.bytes(),
                   "binary stat reply without a name");
  expect_malformed(Packet{.opcode = 0x00, .status = 1, .extras = be(0, 4)}.bytes(),
                   "binary error reply with extras");
}

TEST(BinaryReplyParserTest, ValuesMayHoldAnyBytes) {
  const std::string value("\x80\x81\0\r\n", 5);
  const Packet packet{.opcode = 0x00, .extras = be(0, 4), .value = value};
  OwnedReply reply = expected(ReplyStatus::value, packet);
  reply.has_cas = true;
  reply.data = value;
  expect_one(packet, reply);
}

}  // namespace
}  // namespace fastmc::protocol
