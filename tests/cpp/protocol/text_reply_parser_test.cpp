// SPDX-License-Identifier: MIT
// Every case goes through the split feeder (tests/cpp/support), which runs it
// on every way the input could be split across reads.
#include "protocol/text_reply_parser.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "support/split_feeder.hpp"

namespace fastmc::protocol {
namespace {

using test::feed_text_reply;
using test::FeedOutcome;
using test::OwnedReply;
using Kind = TextReplyKind;
using Replies = std::vector<OwnedReply>;

constexpr std::array<Kind, 9> kEveryKind = {Kind::retrieval,  Kind::storage, Kind::deletion,
                                            Kind::arithmetic, Kind::touch,   Kind::ok,
                                            Kind::stats,      Kind::version, Kind::config};

OwnedReply line(ReplyStatus status) {
  OwnedReply reply;
  reply.status = status;
  return reply;
}

OwnedReply with_text(ReplyStatus status, std::string text) {
  OwnedReply reply = line(status);
  reply.data = std::move(text);
  return reply;
}

OwnedReply value(std::string key, std::string data, std::uint32_t flags = 0) {
  OwnedReply reply = with_text(ReplyStatus::value, std::move(data));
  reply.key = std::move(key);
  reply.flags = flags;
  return reply;
}

OwnedReply value_with_cas(std::string key, std::string data, std::uint32_t flags,
                          std::uint64_t cas) {
  OwnedReply reply = value(std::move(key), std::move(data), flags);
  reply.cas = cas;
  reply.has_cas = true;
  return reply;
}

OwnedReply stat(std::string name, std::string text) {
  OwnedReply reply = with_text(ReplyStatus::stat, std::move(text));
  reply.key = std::move(name);
  return reply;
}

OwnedReply number(std::uint64_t result) {
  OwnedReply reply = line(ReplyStatus::number);
  reply.number = result;
  return reply;
}

// The whole input was parsed into exactly `replies`.
void expect_complete(const FeedOutcome& outcome, std::string_view input, const Replies& replies) {
  EXPECT_EQ(outcome.status, ParseStatus::complete) << outcome.problem;
  EXPECT_EQ(outcome.replies, replies);
  EXPECT_EQ(outcome.consumed, input.size());
}

// `replies_before` were parsed, then the parser refused the rest.
void expect_malformed(const FeedOutcome& outcome, const Replies& replies_before = {}) {
  EXPECT_EQ(outcome.status, ParseStatus::malformed);
  EXPECT_EQ(outcome.replies, replies_before);
  EXPECT_FALSE(outcome.problem.empty());
}

void expect_complete(std::string_view input, Kind kind, const Replies& replies) {
  expect_complete(feed_text_reply(input, {kind}), input, replies);
}

void expect_malformed(std::string_view input, Kind kind, const Replies& replies_before = {}) {
  expect_malformed(feed_text_reply(input, {kind}), replies_before);
}

// ---- retrieval

TEST(TextReplyParserTest, GetMissIsJustEnd) {
  expect_complete("END\r\n", Kind::retrieval, {line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, GetHitWithoutCas) {
  expect_complete("VALUE foo 5 3\r\nbar\r\nEND\r\n", Kind::retrieval,
                  {value("foo", "bar", 5), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, GetsHitCarriesCas) {
  expect_complete("VALUE foo 7 3 42\r\nbar\r\nEND\r\n", Kind::retrieval,
                  {value_with_cas("foo", "bar", 7, 42), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, CasOfZeroIsStillPresent) {
  expect_complete("VALUE k 0 1 0\r\nx\r\nEND\r\n", Kind::retrieval,
                  {value_with_cas("k", "x", 0, 0), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, MultiGetReturnsEveryItemThenEnd) {
  expect_complete(
      "VALUE a 0 1\r\n1\r\nVALUE bb 1 2\r\n22\r\nVALUE ccc 2 3\r\n333\r\nEND\r\n", Kind::retrieval,
      {value("a", "1", 0), value("bb", "22", 1), value("ccc", "333", 2), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, MultiGetsMixesNothingUp) {
  expect_complete(
      "VALUE a 0 1 10\r\n1\r\nVALUE b 0 1 11\r\n2\r\nEND\r\n", Kind::retrieval,
      {value_with_cas("a", "1", 0, 10), value_with_cas("b", "2", 0, 11), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ValueContainingTheEndMarkerIsReadByItsSize) {
  expect_complete("VALUE k 0 7\r\n\r\nEND\r\n\r\nEND\r\n", Kind::retrieval,
                  {value("k", "\r\nEND\r\n"), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ValueThatLooksLikeAnotherValueIsData) {
  const std::string data = "VALUE x 0 1\r\ny\r\nEND\r\n";
  const std::string input = "VALUE k 0 21\r\n" + data + "\r\nEND\r\n";
  expect_complete(input, Kind::retrieval, {value("k", data), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ZeroLengthValue) {
  expect_complete("VALUE k 0 0\r\n\r\nEND\r\n", Kind::retrieval,
                  {value("k", ""), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ZeroLengthValueWithCas) {
  expect_complete("VALUE k 3 0 9\r\n\r\nEND\r\n", Kind::retrieval,
                  {value_with_cas("k", "", 3, 9), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ValueWithEveryByte) {
  std::string data;
  for (int byte = 0; byte < 256; ++byte) {
    data.push_back(static_cast<char>(byte));
  }
  const std::string input = "VALUE k 0 256\r\n" + data + "\r\nEND\r\n";
  expect_complete(input, Kind::retrieval, {value("k", data), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, MaxFlagsAndMaxCas) {
  expect_complete(
      "VALUE k 4294967295 1 18446744073709551615\r\nx\r\nEND\r\n", Kind::retrieval,
      {value_with_cas("k", "x", 4294967295u, 18446744073709551615u), line(ReplyStatus::end)});
}

// memcached stores a key with TAB in it (it only splits on space), and sends
// it back as is; the reply is still well formed.
TEST(TextReplyParserTest, KeyWithTabAsMemcachedReturnsIt) {
  expect_complete("VALUE t\t 0 1\r\nx\r\nEND\r\n", Kind::retrieval,
                  {value("t\t", "x"), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, NonAsciiKey) {
  expect_complete("VALUE caf\xc3\xa9 0 1\r\nx\r\nEND\r\n", Kind::retrieval,
                  {value("caf\xc3\xa9", "x"), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ValueOfExactlyTheSizeLimit) {
  const std::string input = "VALUE k 0 8\r\n12345678\r\nEND\r\n";
  expect_complete(feed_text_reply(input, {Kind::retrieval}, 8), input,
                  {value("k", "12345678"), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ValueAboveTheSizeLimitIsMalformedBeforeItsDataArrives) {
  expect_malformed(feed_text_reply("VALUE k 0 9\r\n", {Kind::retrieval}, 8));
  expect_malformed(feed_text_reply("VALUE k 0 9\r\n123456789\r\nEND\r\n", {Kind::retrieval}, 8));
}

TEST(TextReplyParserTest, HugeSizeWithUnlimitedSizeIsMalformed) {
  expect_malformed(feed_text_reply("VALUE k 0 18446744073709551615\r\n", {Kind::retrieval},
                                   static_cast<std::size_t>(-1)));
}

// ---- need more

TEST(TextReplyParserTest, EmptyInputNeedsMore) {
  const FeedOutcome outcome = feed_text_reply("", {Kind::retrieval});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 0u);
  EXPECT_EQ(outcome.consumed, 0u);
}

TEST(TextReplyParserTest, PartialLineNeedsMoreWithoutASize) {
  const FeedOutcome outcome = feed_text_reply("VALUE k 0 10", {Kind::retrieval});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 0u);
}

TEST(TextReplyParserTest, LineWithoutItsLfNeedsMore) {
  const FeedOutcome outcome = feed_text_reply("STORED\r", {Kind::storage});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 0u);
}

TEST(TextReplyParserTest, ValueHeaderWithoutDataNeedsTheWholeUnit) {
  // 14 bytes of header, 10 of data, 2 of CRLF.
  const FeedOutcome outcome = feed_text_reply("VALUE k 0 10\r\nabc", {Kind::retrieval});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 26u);
  EXPECT_TRUE(outcome.replies.empty());
}

TEST(TextReplyParserTest, ValueMissingOnlyItsTerminatorNeedsTheWholeUnit) {
  const FeedOutcome outcome = feed_text_reply("VALUE k 0 3\r\nabc\r", {Kind::retrieval});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 13u + 3u + 2u);
}

TEST(TextReplyParserTest, SecondValueCountsFromItsOwnHeader) {
  const FeedOutcome outcome =
      feed_text_reply("VALUE a 0 1\r\n1\r\nVALUE b 0 100\r\nxyz", {Kind::retrieval});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.replies, Replies{value("a", "1")});
  EXPECT_EQ(outcome.consumed, 16u);
  EXPECT_EQ(outcome.needed, 15u + 100u + 2u);
}

TEST(TextReplyParserTest, RetrievalWithoutEndNeedsMore) {
  const FeedOutcome outcome = feed_text_reply("VALUE a 0 1\r\n1\r\n", {Kind::retrieval});
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.replies, Replies{value("a", "1")});
}

TEST(TextReplyParserTest, DirectCallReportsConsumedAndViewsIntoTheInput) {
  const std::string input = "VALUE key 1 4 2\r\ndata\r\nEND\r\n";
  Reply reply;
  const ParseResult result = parse_text_reply(input, Kind::retrieval, 1024, reply);
  ASSERT_EQ(result.status, ParseStatus::complete);
  EXPECT_EQ(result.consumed, 23u);
  EXPECT_EQ(reply.key.data(), input.data() + 6);
  EXPECT_EQ(reply.data.data(), input.data() + 17);
  EXPECT_EQ(reply.data, "data");
}

TEST(TextReplyParserTest, DirectCallLeavesReplyAloneOnMalformedOrPartialLine) {
  Reply reply;
  reply.flags = 99;
  EXPECT_EQ(parse_text_reply("VALUE k 1", Kind::retrieval, 1024, reply).status,
            ParseStatus::need_more);
  EXPECT_EQ(parse_text_reply("BOGUS\r\n", Kind::retrieval, 1024, reply).status,
            ParseStatus::malformed);
  EXPECT_EQ(reply.flags, 99u);
}

// A caller may receive a large value elsewhere once it knows the header.
TEST(TextReplyParserTest, NeedMoreAfterAValueHeaderGivesTheHeader) {
  Reply reply;
  const ParseResult result = parse_text_reply("VALUE k 1 4 77\r\nda", Kind::retrieval, 1024, reply);
  EXPECT_EQ(result.status, ParseStatus::need_more);
  EXPECT_EQ(result.needed, 22u);  // 16-byte header, 4 bytes, CRLF
  EXPECT_EQ(reply.status, ReplyStatus::value);
  EXPECT_EQ(reply.key, "k");
  EXPECT_EQ(reply.flags, 1u);
  EXPECT_EQ(reply.cas, 77u);
  EXPECT_TRUE(reply.has_cas);
}

// ---- the other kinds

TEST(TextReplyParserTest, StorageReplies) {
  expect_complete("STORED\r\n", Kind::storage, {line(ReplyStatus::stored)});
  expect_complete("NOT_STORED\r\n", Kind::storage, {line(ReplyStatus::not_stored)});
  expect_complete("EXISTS\r\n", Kind::storage, {line(ReplyStatus::exists)});
  expect_complete("NOT_FOUND\r\n", Kind::storage, {line(ReplyStatus::not_found)});
}

TEST(TextReplyParserTest, DeletionReplies) {
  expect_complete("DELETED\r\n", Kind::deletion, {line(ReplyStatus::deleted)});
  expect_complete("NOT_FOUND\r\n", Kind::deletion, {line(ReplyStatus::not_found)});
}

TEST(TextReplyParserTest, ArithmeticReplies) {
  expect_complete("15\r\n", Kind::arithmetic, {number(15)});
  expect_complete("0\r\n", Kind::arithmetic, {number(0)});
  expect_complete("18446744073709551615\r\n", Kind::arithmetic, {number(18446744073709551615u)});
  expect_complete("NOT_FOUND\r\n", Kind::arithmetic, {line(ReplyStatus::not_found)});
}

TEST(TextReplyParserTest, TouchReplies) {
  expect_complete("TOUCHED\r\n", Kind::touch, {line(ReplyStatus::touched)});
  expect_complete("NOT_FOUND\r\n", Kind::touch, {line(ReplyStatus::not_found)});
}

TEST(TextReplyParserTest, OkReply) { expect_complete("OK\r\n", Kind::ok, {line(ReplyStatus::ok)}); }

TEST(TextReplyParserTest, StatsRepliesUntilEnd) {
  expect_complete("STAT pid 4242\r\nSTAT version 1.6.18\r\nSTAT 1:chunk_size 96\r\nEND\r\n",
                  Kind::stats,
                  {stat("pid", "4242"), stat("version", "1.6.18"), stat("1:chunk_size", "96"),
                   line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, StatsWithNoStatisticIsJustEnd) {
  expect_complete("END\r\n", Kind::stats, {line(ReplyStatus::end)});
}

// protocol.txt: "STAT sizes_error [error_message]".
TEST(TextReplyParserTest, StatValueKeepsItsSpaces) {
  expect_complete("STAT sizes_error cas is disabled\r\nEND\r\n", Kind::stats,
                  {stat("sizes_error", "cas is disabled"), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, VersionReply) {
  expect_complete("VERSION 1.6.18\r\n", Kind::version, {with_text(ReplyStatus::version, "1.6.18")});
  expect_complete("VERSION 1.4.5 (Ubuntu)\r\n", Kind::version,
                  {with_text(ReplyStatus::version, "1.4.5 (Ubuntu)")});
}

// ---- config (AWS ElastiCache's config get cluster)

// The AWS ElastiCache docs' example reply ("Auto Discovery"), with its
// payload ending in LF before the data block's CRLF.
constexpr std::string_view kClusterPayload =
    "12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 "
    "myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n";

TEST(TextReplyParserTest, ConfigReplyIsAValueThenEnd) {
  const std::string input = "CONFIG cluster 0 " + std::to_string(kClusterPayload.size()) + "\r\n" +
                            std::string(kClusterPayload) + "\r\nEND\r\n";
  expect_complete(input, Kind::config,
                  {value("cluster", std::string(kClusterPayload)), line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ConfigErrorFromAnOldEngineEndsTheReply) {
  expect_complete("ERROR\r\n", Kind::config, {line(ReplyStatus::error)});
}

TEST(TextReplyParserTest, ConfigWithoutItemIsJustEnd) {
  expect_complete("END\r\n", Kind::config, {line(ReplyStatus::end)});
}

TEST(TextReplyParserTest, ConfigKeywordOnlyAnswersConfig) {
  expect_malformed("CONFIG cluster 0 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE cluster 0 1\r\nx\r\nEND\r\n", Kind::config);
  expect_malformed("config cluster 0 1\r\nx\r\nEND\r\n", Kind::config);
}

TEST(TextReplyParserTest, ConfigWithBadSizeOrShortDataIsMalformed) {
  expect_malformed("CONFIG cluster 0 x\r\n", Kind::config);
  expect_malformed("CONFIG cluster 0 2\r\nabc\r\nEND\r\n", Kind::config);
  expect_malformed("CONFIG cluster\r\n", Kind::config);
}

TEST(TextReplyParserTest, ConfigAboveTheSizeLimitIsMalformed) {
  const FeedOutcome outcome = feed_text_reply("CONFIG cluster 0 17\r\n", {Kind::config}, 16);
  expect_malformed(outcome);
}

// ---- errors

TEST(TextReplyParserTest, ErrorLinesAreValidForEveryKind) {
  for (const Kind kind : kEveryKind) {
    SCOPED_TRACE(static_cast<int>(kind));
    expect_complete("ERROR\r\n", kind, {line(ReplyStatus::error)});
    expect_complete("CLIENT_ERROR bad command line format\r\n", kind,
                    {with_text(ReplyStatus::client_error, "bad command line format")});
    expect_complete("SERVER_ERROR out of memory storing object\r\n", kind,
                    {with_text(ReplyStatus::server_error, "out of memory storing object")});
  }
}

// protocol.txt writes some error messages as optional ("ERROR [message]",
// "CLIENT_ERROR [message]").
TEST(TextReplyParserTest, ErrorMessagesAreOptional) {
  expect_complete("ERROR unknown command\r\n", Kind::storage,
                  {with_text(ReplyStatus::error, "unknown command")});
  expect_complete("CLIENT_ERROR\r\n", Kind::storage, {line(ReplyStatus::client_error)});
  expect_complete("SERVER_ERROR\r\n", Kind::deletion, {line(ReplyStatus::server_error)});
}

TEST(TextReplyParserTest, ErrorEndsARetrievalAfterSomeValues) {
  expect_complete("VALUE a 0 1\r\n1\r\nSERVER_ERROR out of memory writing get response\r\n",
                  Kind::retrieval,
                  {value("a", "1"),
                   with_text(ReplyStatus::server_error, "out of memory writing get response")});
}

TEST(TextReplyParserTest, ErrorEndsAStatsReply) {
  expect_complete("STAT pid 1\r\nSERVER_ERROR gone\r\n", Kind::stats,
                  {stat("pid", "1"), with_text(ReplyStatus::server_error, "gone")});
}

TEST(TextReplyParserTest, ErrorKeywordFollowedByLettersIsMalformed) {
  expect_malformed("ERRORS\r\n", Kind::storage);
  expect_malformed("SERVER_ERRORx\r\n", Kind::storage);
  expect_malformed("CLIENT_ERROR_\r\n", Kind::retrieval);
}

// ---- several replies in one input

TEST(TextReplyParserTest, PipelinedRepliesOfDifferentKinds) {
  const std::string input =
      "STORED\r\nVALUE k 0 2\r\nhi\r\nEND\r\nDELETED\r\n16\r\nSTAT pid 1\r\nEND\r\nVERSION "
      "1.6.18\r\n"
      "OK\r\nTOUCHED\r\n";
  const FeedOutcome outcome =
      feed_text_reply(input, {Kind::storage, Kind::retrieval, Kind::deletion, Kind::arithmetic,
                              Kind::stats, Kind::version, Kind::ok, Kind::touch});
  expect_complete(outcome, input,
                  {line(ReplyStatus::stored), value("k", "hi"), line(ReplyStatus::end),
                   line(ReplyStatus::deleted), number(16), stat("pid", "1"), line(ReplyStatus::end),
                   with_text(ReplyStatus::version, "1.6.18"), line(ReplyStatus::ok),
                   line(ReplyStatus::touched)});
}

TEST(TextReplyParserTest, RepliesBeyondTheExpectedOnesAreLeftUnconsumed) {
  const FeedOutcome outcome = feed_text_reply("STORED\r\nSTORED\r\n", {Kind::storage});
  EXPECT_EQ(outcome.status, ParseStatus::complete);
  EXPECT_EQ(outcome.replies, Replies{line(ReplyStatus::stored)});
  EXPECT_EQ(outcome.consumed, 8u);
}

// ---- malformed: numbers

TEST(TextReplyParserTest, LetterInANumberIsMalformed) {
  expect_malformed("VALUE k 0 1a\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0x 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 1 4x\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("1a\r\n", Kind::arithmetic);
}

TEST(TextReplyParserTest, NegativeSizeIsMalformed) {
  expect_malformed("VALUE k 0 -1\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, SignedNumbersAreMalformed) {
  expect_malformed("VALUE k +0 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("-1\r\n", Kind::arithmetic);
  expect_malformed("+1\r\n", Kind::arithmetic);
}

TEST(TextReplyParserTest, FlagsAboveUint32AreMalformed) {
  expect_malformed("VALUE k 4294967296 1\r\nx\r\nEND\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, SizeOrCasAboveUint64IsMalformed) {
  expect_malformed("VALUE k 0 18446744073709551616\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 1 18446744073709551616\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("18446744073709551616\r\n", Kind::arithmetic);
}

TEST(TextReplyParserTest, PaddedNumberIsMalformed) {
  expect_malformed("15 \r\n", Kind::arithmetic);
  expect_malformed(" 15\r\n", Kind::arithmetic);
}

// ---- malformed: line structure

TEST(TextReplyParserTest, LowerCaseKeywordsAreMalformed) {
  expect_malformed("end\r\n", Kind::retrieval);
  expect_malformed("value k 0 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("Value k 0 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("stored\r\n", Kind::storage);
  expect_malformed("error\r\n", Kind::storage);
  expect_malformed("stat pid 1\r\nEND\r\n", Kind::stats);
  expect_malformed("version 1.6.18\r\n", Kind::version);
  expect_malformed("ok\r\n", Kind::ok);
}

TEST(TextReplyParserTest, MissingCrIsMalformed) {
  expect_malformed("END\n", Kind::retrieval);
  expect_malformed("STORED\nSTORED\r\n", Kind::storage);
  expect_malformed("VALUE k 0 1\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("\n", Kind::ok);
}

TEST(TextReplyParserTest, CrInsideALineIsMalformed) {
  expect_malformed("STO\rRED\r\n", Kind::storage);
  expect_malformed("END\r\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, EmptyLineIsMalformed) {
  for (const Kind kind : kEveryKind) {
    expect_malformed("\r\n", kind);
  }
}

TEST(TextReplyParserTest, BadDataTerminatorIsMalformed) {
  expect_malformed("VALUE k 0 3\r\nabcX\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 3\r\nabc\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 3\r\nabc\r\rEND\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, DataLongerThanItsSizeIsMalformed) {
  expect_malformed("VALUE k 0 2\r\nabc\r\nEND\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, DataShorterThanItsSizeIsMalformedOnceTheSizeIsThere) {
  expect_malformed("VALUE k 0 5\r\nabc\r\nEND\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, MalformedValueAfterGoodOnesKeepsTheGoodOnes) {
  expect_malformed("VALUE a 0 1\r\n1\r\nVALUE b 0 x\r\n", Kind::retrieval, {value("a", "1")});
}

TEST(TextReplyParserTest, TrailingGarbageOnALineIsMalformed) {
  expect_malformed("END x\r\n", Kind::retrieval);
  expect_malformed("END \r\n", Kind::retrieval);
  expect_malformed("STORED \r\n", Kind::storage);
  expect_malformed("STOREDX\r\n", Kind::storage);
  expect_malformed("DELETED now\r\n", Kind::deletion);
  expect_malformed("OK!\r\n", Kind::ok);
  expect_malformed("TOUCHED 1\r\n", Kind::touch);
  expect_malformed("VALUE k 0 1 2 3\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 1 \r\nx\r\nEND\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, ValueWithMissingOrEmptyFieldsIsMalformed) {
  expect_malformed("VALUE\r\n", Kind::retrieval);
  expect_malformed("VALUE \r\n", Kind::retrieval);
  expect_malformed("VALUE k\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0\r\n", Kind::retrieval);
  expect_malformed("VALUE  k 0 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k  0 1\r\nx\r\nEND\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 1  5\r\nx\r\nEND\r\n", Kind::retrieval);
}

TEST(TextReplyParserTest, StatWithoutNameOrValueIsMalformed) {
  expect_malformed("STAT\r\nEND\r\n", Kind::stats);
  expect_malformed("STAT pid\r\nEND\r\n", Kind::stats);
  expect_malformed("STAT pid \r\nEND\r\n", Kind::stats);
  expect_malformed("STAT  1\r\nEND\r\n", Kind::stats);
}

TEST(TextReplyParserTest, VersionWithoutTextIsMalformed) {
  expect_malformed("VERSION\r\n", Kind::version);
  expect_malformed("VERSION \r\n", Kind::version);
}

TEST(TextReplyParserTest, UnknownLineIsMalformed) {
  for (const Kind kind : kEveryKind) {
    expect_malformed("HELLO\r\n", kind);
  }
}

// ---- malformed: a reply valid for another kind

TEST(TextReplyParserTest, ReplyOfAnotherKindIsMalformed) {
  expect_malformed("STORED\r\n", Kind::retrieval);
  expect_malformed("NOT_FOUND\r\n", Kind::retrieval);
  expect_malformed("STAT pid 1\r\nEND\r\n", Kind::retrieval);
  expect_malformed("15\r\n", Kind::retrieval);
  expect_malformed("VALUE k 0 1\r\nx\r\nEND\r\n", Kind::storage);
  expect_malformed("END\r\n", Kind::storage);
  expect_malformed("DELETED\r\n", Kind::storage);
  expect_malformed("15\r\n", Kind::storage);
  expect_malformed("STORED\r\n", Kind::deletion);
  expect_malformed("TOUCHED\r\n", Kind::deletion);
  expect_malformed("EXISTS\r\n", Kind::deletion);
  expect_malformed("STORED\r\n", Kind::arithmetic);
  expect_malformed("DELETED\r\n", Kind::touch);
  expect_malformed("OK\r\n", Kind::touch);
  expect_malformed("NOT_FOUND\r\n", Kind::ok);
  expect_malformed("VERSION 1.6.18\r\n", Kind::ok);
  expect_malformed("VALUE k 0 1\r\nx\r\nEND\r\n", Kind::stats);
  expect_malformed("STORED\r\n", Kind::stats);
  expect_malformed("END\r\n", Kind::version);
  expect_malformed("STAT version 1.6.18\r\n", Kind::version);
}

// "stats reset" answers RESET, "stats detail on" answers OK, each alone.
TEST(TextReplyParserTest, StatsResetAndDetailOnAreOneLineReplies) {
  expect_complete("RESET\r\n", Kind::stats, {line(ReplyStatus::ok)});
  expect_complete("OK\r\n", Kind::stats, {line(ReplyStatus::ok)});
}

// "stats detail dump" answers one PREFIX line per key prefix, then END.
TEST(TextReplyParserTest, StatsDetailDumpPrefixLinesAreStatistics) {
  expect_complete("PREFIX a get 1 hit 1 set 0 del 0\r\nEND\r\n", Kind::stats,
                  {stat("a", "get 1 hit 1 set 0 del 0"), line(ReplyStatus::end)});
  expect_malformed("PREFIX \r\n", Kind::stats);
}

// ---- the line size limit

TEST(TextReplyParserTest, LineOfExactlyTheLimitIsAccepted) {
  const std::string message(kMaxReplyLineSize - 15, 'm');  // "SERVER_ERROR " + CRLF
  const std::string input = "SERVER_ERROR " + message + "\r\n";
  ASSERT_EQ(input.size(), kMaxReplyLineSize);
  expect_complete(input, Kind::storage, {with_text(ReplyStatus::server_error, message)});
}

TEST(TextReplyParserTest, LineOneByteOverTheLimitIsMalformed) {
  const std::string input = "SERVER_ERROR " + std::string(kMaxReplyLineSize - 14, 'm') + "\r\n";
  expect_malformed(input, Kind::storage);
}

TEST(TextReplyParserTest, FiveThousandByteLineWithoutCrlfIsMalformed) {
  expect_malformed(std::string(5000, 'x'), Kind::retrieval);
}

TEST(TextReplyParserTest, LongLineIsMalformedOnceTheLimitIsReached) {
  const FeedOutcome short_of_limit =
      feed_text_reply(std::string(kMaxReplyLineSize - 1, 'x'), {Kind::storage});
  EXPECT_EQ(short_of_limit.status, ParseStatus::need_more);
  expect_malformed(std::string(kMaxReplyLineSize, 'x'), Kind::storage);
}

TEST(TextReplyParserTest, DataBlockIsNotBoundByTheLineLimit) {
  const std::string data(3 * kMaxReplyLineSize, 'd');
  const std::string input = "VALUE k 0 12288\r\n" + data + "\r\nEND\r\n";
  expect_complete(input, Kind::retrieval, {value("k", data), line(ReplyStatus::end)});
}

// ---- a real server's reply

// `stats` from memcached 1.6.18 (Debian), trimmed to a few lines.
TEST(TextReplyParserTest, StatsFromMemcached) {
  const std::string input =
      "STAT pid 12345\r\nSTAT uptime 7\r\nSTAT time 1700000000\r\nSTAT version 1.6.18\r\n"
      "STAT libevent 2.1.12-stable\r\nSTAT pointer_size 64\r\nSTAT rusage_user 0.001916\r\n"
      "STAT max_connections 1024\r\nSTAT evictions 0\r\nEND\r\n";
  const FeedOutcome outcome = feed_text_reply(input, {Kind::stats});
  EXPECT_EQ(outcome.status, ParseStatus::complete);
  EXPECT_EQ(outcome.consumed, input.size());
  ASSERT_EQ(outcome.replies.size(), 10u);
  EXPECT_EQ(outcome.replies[4], stat("libevent", "2.1.12-stable"));
  EXPECT_EQ(outcome.replies[9], line(ReplyStatus::end));
}

// ---- ends_reply

TEST(TextReplyParserTest, EndsReplyOnlyAtEndOrErrorForMultiUnitKinds) {
  EXPECT_FALSE(ends_reply(Kind::retrieval, ReplyStatus::value));
  EXPECT_TRUE(ends_reply(Kind::retrieval, ReplyStatus::end));
  EXPECT_TRUE(ends_reply(Kind::retrieval, ReplyStatus::client_error));
  EXPECT_FALSE(ends_reply(Kind::stats, ReplyStatus::stat));
  EXPECT_TRUE(ends_reply(Kind::stats, ReplyStatus::end));
  EXPECT_TRUE(ends_reply(Kind::stats, ReplyStatus::error));
  EXPECT_TRUE(ends_reply(Kind::storage, ReplyStatus::stored));
  EXPECT_TRUE(ends_reply(Kind::arithmetic, ReplyStatus::number));
}

}  // namespace
}  // namespace fastmc::protocol
