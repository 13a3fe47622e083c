// SPDX-License-Identifier: MIT
// Every case goes through the split feeder (tests/cpp/support), which runs it
// on every way the input could be split across reads. Replies marked "from
// memcached 1.6.18" were captured from the Debian binary over a socket.
#include "protocol/meta_reply_parser.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/key.hpp"
#include "support/split_feeder.hpp"

namespace fastmc::protocol {
namespace {

using test::feed_meta_pipeline;
using test::feed_meta_reply;
using test::FeedOutcome;
using test::OwnedReply;
using Replies = std::vector<OwnedReply>;

// Builds an expected reply flag by flag, in the reply's own vocabulary.
class Expected {
 public:
  explicit Expected(ReplyStatus status) { reply_.status = status; }

  Expected flag(char letter) const {
    Expected copy = *this;
    copy.reply_.meta_flags |= meta_flag_bit(letter);
    return copy;
  }
  Expected cas(std::uint64_t cas) const {
    Expected copy = flag('c');
    copy.reply_.cas = cas;
    copy.reply_.has_cas = true;
    return copy;
  }
  Expected flags(std::uint32_t flags) const {
    Expected copy = flag('f');
    copy.reply_.flags = flags;
    return copy;
  }
  Expected ttl(std::int64_t ttl) const {
    Expected copy = flag('t');
    copy.reply_.ttl = ttl;
    return copy;
  }
  Expected size(std::uint64_t size) const {
    Expected copy = flag('s');
    copy.reply_.size = size;
    return copy;
  }
  Expected key(std::string key) const {
    Expected copy = flag('k');
    copy.reply_.key = std::move(key);
    return copy;
  }
  Expected opaque(std::string opaque) const {
    Expected copy = flag('O');
    copy.reply_.opaque = std::move(opaque);
    return copy;
  }
  Expected hit_before(bool hit) const {
    Expected copy = flag('h');
    copy.reply_.hit_before = hit;
    return copy;
  }
  Expected last_access(std::uint64_t seconds) const {
    Expected copy = flag('l');
    copy.reply_.last_access = seconds;
    return copy;
  }
  Expected data(std::string data) const {
    Expected copy = *this;
    copy.reply_.data = std::move(data);
    return copy;
  }
  // For ME: the key is a field of the line, not a k flag.
  Expected debug_key(std::string key) const {
    Expected copy = *this;
    copy.reply_.key = std::move(key);
    return copy;
  }

  operator OwnedReply() const {
    return reply_;
  }  // NOLINT(google-explicit-constructor): reads as a value

 private:
  OwnedReply reply_;
};

Expected done() { return Expected(ReplyStatus::done); }
Expected value(std::string data) { return Expected(ReplyStatus::value).data(std::move(data)); }
Expected miss() { return Expected(ReplyStatus::miss); }
Expected not_stored() { return Expected(ReplyStatus::not_stored); }
Expected exists() { return Expected(ReplyStatus::exists); }
Expected not_found() { return Expected(ReplyStatus::not_found); }
Expected noop() { return Expected(ReplyStatus::noop); }
Expected debug(std::string key, std::string pairs) {
  return Expected(ReplyStatus::debug).debug_key(std::move(key)).data(std::move(pairs));
}
Expected error_line(ReplyStatus status, std::string message) {
  return Expected(status).data(std::move(message));
}

// The whole input was parsed into exactly `replies`.
void expect_complete(const FeedOutcome& outcome, std::string_view input, const Replies& replies) {
  EXPECT_EQ(outcome.status, ParseStatus::complete) << outcome.problem;
  EXPECT_EQ(outcome.replies, replies);
  EXPECT_EQ(outcome.consumed, input.size());
}

void expect_complete(std::string_view input, const Replies& replies) {
  expect_complete(feed_meta_reply(input, replies.size()), input, replies);
}

void expect_reply(std::string_view input, const OwnedReply& reply) {
  expect_complete(input, Replies{reply});
}

// `replies_before` were parsed, then the parser refused the rest.
void expect_malformed(const FeedOutcome& outcome, const Replies& replies_before = {}) {
  EXPECT_EQ(outcome.status, ParseStatus::malformed);
  EXPECT_EQ(outcome.replies, replies_before);
  EXPECT_FALSE(outcome.problem.empty());
}

void expect_malformed(std::string_view input, const Replies& replies_before = {}) {
  expect_malformed(feed_meta_reply(input, replies_before.size() + 1), replies_before);
}

// ---- HD

TEST(MetaReplyParserTest, BareHd) { expect_reply("HD\r\n", done()); }

// From memcached 1.6.18: "ms a 1 c".
TEST(MetaReplyParserTest, HdWithCasAfterAStore) {
  expect_reply("HD c776856\r\n", done().cas(776856));
}

// From memcached 1.6.18: "mg h q k O1" on a hit without v.
TEST(MetaReplyParserTest, HdWithKeyAndOpaque) {
  expect_reply("HD kh O1\r\n", done().key("h").opaque("1"));
}

// From memcached 1.6.18: "mg h R1 N1 c" creating the item.
TEST(MetaReplyParserTest, HdWithWonFlag) {
  expect_reply("HD c777179 W\r\n", done().cas(777179).flag('W'));
  expect_reply("HD Z\r\n", done().flag('Z'));
}

// ---- VA

// From memcached 1.6.18: "mg foo v f c t s k O123 h l".
TEST(MetaReplyParserTest, ValueWithEveryReturnFlag) {
  expect_reply("VA 2 f5 c776855 t90 s2 kfoo O123 h0 l0\r\nhi\r\n", value("hi")
                                                                       .flags(5)
                                                                       .cas(776855)
                                                                       .ttl(90)
                                                                       .size(2)
                                                                       .key("foo")
                                                                       .opaque("123")
                                                                       .hit_before(false)
                                                                       .last_access(0));
}

TEST(MetaReplyParserTest, ValueWithoutFlags) { expect_reply("VA 3\r\nabc\r\n", value("abc")); }

TEST(MetaReplyParserTest, ZeroLengthValue) { expect_reply("VA 0\r\n\r\n", value("")); }

// From memcached 1.6.18: "ma cnt N0 J10 v".
TEST(MetaReplyParserTest, ArithmeticValueIsDecimalData) {
  expect_reply("VA 2\r\n10\r\n", value("10"));
  expect_reply("VA 1 t-1 c776866\r\n0\r\n", value("0").ttl(-1).cas(776866));
}

// From memcached 1.6.18: a binary key returned with k comes with b.
TEST(MetaReplyParserTest, Base64KeyIsMarkedWithB) {
  expect_reply("VA 2 kZm9vAA== b O1\r\nhi\r\n", value("hi").key("Zm9vAA==").flag('b').opaque("1"));
}

// From memcached 1.6.18: after "md a I T30", the first mg wins, later ones see Z.
TEST(MetaReplyParserTest, StaleValueFlags) {
  expect_reply("VA 3 c776860 X W\r\nabc\r\n", value("abc").cas(776860).flag('X').flag('W'));
  expect_reply("VA 3 c776860 Z X\r\nabc\r\n", value("abc").cas(776860).flag('Z').flag('X'));
}

// From memcached 1.6.18, the shapes the client's get_item and get_or_lease
// read: "mg k v f c t N30" on a miss creates an empty item and wins it; a
// later reader sees Z; "mg k v f c t l h" reports access.
TEST(MetaReplyParserTest, VivifiedAndAccessShapes) {
  expect_reply("VA 0 f0 c3 t30 W\r\n\r\n", value("").flags(0).cas(3).ttl(30).flag('W'));
  expect_reply("VA 0 f0 c3 t29 Z\r\n\r\n", value("").flags(0).cas(3).ttl(29).flag('Z'));
  expect_reply("VA 2 f0 c1 t100 l3 h1\r\nhi\r\n",
               value("hi").flags(0).cas(1).ttl(100).last_access(3).hit_before(true));
  expect_complete("VA 2 O17\r\n10\r\nVA 1 c7 t-1 O18\r\n8\r\nMN\r\n",
                  {value("10").opaque("17"), value("8").cas(7).ttl(-1).opaque("18"), noop()});
}

TEST(MetaReplyParserTest, ValueContainingReplyLinesIsReadByItsSize) {
  expect_reply("VA 12\r\nHD\r\nMN\r\nEN\r\n\r\n", value("HD\r\nMN\r\nEN\r\n"));
}

TEST(MetaReplyParserTest, ValueWithEveryByte) {
  std::string data;
  for (int byte = 0; byte < 256; ++byte) {
    data.push_back(static_cast<char>(byte));
  }
  expect_reply("VA 256 f1\r\n" + data + "\r\n", value(data).flags(1));
}

TEST(MetaReplyParserTest, ValueOfExactlyTheSizeLimit) {
  const std::string input = "VA 8\r\n12345678\r\n";
  expect_complete(feed_meta_reply(input, 1, 8), input, {value("12345678")});
}

TEST(MetaReplyParserTest, ValueAboveTheSizeLimitIsMalformedBeforeItsDataArrives) {
  expect_malformed(feed_meta_reply("VA 9\r\n", 1, 8));
  expect_malformed(feed_meta_reply("VA 9\r\n123456789\r\n", 1, 8));
}

TEST(MetaReplyParserTest, HugeSizeWithUnlimitedSizeIsMalformed) {
  expect_malformed(feed_meta_reply("VA 18446744073709551615\r\n", 1, static_cast<std::size_t>(-1)));
}

TEST(MetaReplyParserTest, DataBlockIsNotBoundByTheLineLimit) {
  const std::string data(3 * kMaxMetaReplyLineSize, 'd');
  expect_reply("VA 12288 s12288\r\n" + data + "\r\n", value(data).size(12288));
}

// ---- EN, NS, EX, NF

TEST(MetaReplyParserTest, BareStatusCodes) {
  expect_reply("EN\r\n", miss());
  expect_reply("NS\r\n", not_stored());
  expect_reply("EX\r\n", exists());
  expect_reply("NF\r\n", not_found());
}

// From memcached 1.6.18: misses and failures echo O and k, in its own order.
TEST(MetaReplyParserTest, StatusCodesCarryOpaqueAndKey) {
  expect_reply("EN O5 knope\r\n", miss().opaque("5").key("nope"));
  expect_reply("NS O7 kh\r\n", not_stored().opaque("7").key("h"));
  expect_reply("NF O8 knope\r\n", not_found().opaque("8").key("nope"));
  expect_reply("EX O11 kh\r\n", exists().opaque("11").key("h"));
  expect_reply("EN kZm9vAA==\r\n", miss().key("Zm9vAA=="));
}

// ---- MN and ME

TEST(MetaReplyParserTest, NoopReply) { expect_reply("MN\r\n", noop()); }

TEST(MetaReplyParserTest, NoopWithFieldsIsMalformed) {
  expect_malformed("MN O1\r\n");
  expect_malformed("MN \r\n");
}

// From memcached 1.6.18: "me <key> b".
TEST(MetaReplyParserTest, DebugReplyKeepsItsPairsAsText) {
  expect_reply("ME Zm9vAA== exp=-1 la=0 cas=776871 fetch=yes cls=1 size=65\r\n",
               debug("Zm9vAA==", "exp=-1 la=0 cas=776871 fetch=yes cls=1 size=65"));
  expect_reply("ME k\r\n", debug("k", ""));
  expect_reply("ME k empty=\r\n", debug("k", "empty="));
}

TEST(MetaReplyParserTest, DebugReplyWithoutKeyOrWithBadPairsIsMalformed) {
  expect_malformed("ME\r\n");
  expect_malformed("ME \r\n");
  expect_malformed("ME k exp\r\n");
  expect_malformed("ME k =1\r\n");
  expect_malformed("ME k exp=1 \r\n");
  expect_malformed("ME k exp=1  la=2\r\n");
  expect_malformed("ME " + std::string(251, 'k') + " exp=1\r\n");
}

// ---- errors

TEST(MetaReplyParserTest, ErrorLines) {
  expect_reply("ERROR\r\n", error_line(ReplyStatus::error, ""));
  expect_reply("CLIENT_ERROR bad command line format\r\n",
               error_line(ReplyStatus::client_error, "bad command line format"));
  expect_reply("SERVER_ERROR out of memory storing object\r\n",
               error_line(ReplyStatus::server_error, "out of memory storing object"));
  expect_reply("CLIENT_ERROR\r\n", error_line(ReplyStatus::client_error, ""));
}

TEST(MetaReplyParserTest, ErrorKeywordFollowedByLettersIsMalformed) {
  expect_malformed("ERRORS\r\n");
  expect_malformed("CLIENT_ERRORx\r\n");
}

// ---- the flag values the parser reads

TEST(MetaReplyParserTest, TtlIsMinusOneOrANonNegativeNumber) {
  expect_reply("HD t-1\r\n", done().ttl(-1));
  expect_reply("HD t0\r\n", done().ttl(0));
  // From memcached 1.6.18 after "mg h T-1 t": its negative-ttl arithmetic.
  expect_reply("HD t4294966480\r\n", done().ttl(4294966480));
  expect_reply("HD t9223372036854775807\r\n", done().ttl(9223372036854775807));
  expect_malformed("HD t9223372036854775808\r\n");
  expect_malformed("HD t-2\r\n");
  expect_malformed("HD t+1\r\n");
  expect_malformed("HD t\r\n");
  expect_malformed("HD t1s\r\n");
}

TEST(MetaReplyParserTest, NumbersMustFitTheirWidths) {
  expect_reply(
      "HD c18446744073709551615 f4294967295 s18446744073709551615 l18446744073709551615\r\n",
      done()
          .cas(18446744073709551615u)
          .flags(4294967295u)
          .size(18446744073709551615u)
          .last_access(18446744073709551615u));
  expect_malformed("HD c18446744073709551616\r\n");
  expect_malformed("HD f4294967296\r\n");
  expect_malformed("HD s18446744073709551616\r\n");
  expect_malformed("HD l18446744073709551616\r\n");
}

TEST(MetaReplyParserTest, NumbersAreDigitsOnly) {
  expect_malformed("HD c\r\n");
  expect_malformed("HD c-1\r\n");
  expect_malformed("HD c0x10\r\n");
  expect_malformed("HD f+1\r\n");
  expect_malformed("HD s1.5\r\n");
  expect_malformed("HD l\r\n");
}

TEST(MetaReplyParserTest, HitBeforeIsZeroOrOne) {
  expect_reply("HD h1\r\n", done().hit_before(true));
  expect_reply("HD h0\r\n", done().hit_before(false));
  expect_malformed("HD h2\r\n");
  expect_malformed("HD h\r\n");
  expect_malformed("HD h01\r\n");
}

TEST(MetaReplyParserTest, KeyIsOneTo250Bytes) {
  const std::string longest(kMaxKeySize, 'k');
  expect_reply("HD k" + longest + "\r\n", done().key(longest));
  expect_malformed("HD k" + longest + "k\r\n");
  expect_malformed("HD k\r\n");
}

// From memcached 1.6.18: "mg h O" echoes a bare O.
TEST(MetaReplyParserTest, OpaqueMayBeEmptyAndUpTo32Bytes) {
  expect_reply("HD O\r\n", done().opaque(""));
  const std::string longest(32, 'o');
  expect_reply("HD O" + longest + "\r\n", done().opaque(longest));
  expect_malformed("HD O" + longest + "o\r\n");
}

TEST(MetaReplyParserTest, BareFlagsCarryNoToken) {
  expect_malformed("HD W1\r\n");
  expect_malformed("HD Xx\r\n");
  expect_malformed("HD Z0\r\n");
  expect_malformed("HD kZm9v b64\r\n");
}

TEST(MetaReplyParserTest, UnknownLetterFlagsAreRecordedAndTheirTokensIgnored) {
  expect_reply("HD Q5 Y\r\n", done().flag('Q').flag('Y'));
  expect_reply("VA 1 A- z:x\r\nv\r\n", value("v").flag('A').flag('z'));
}

TEST(MetaReplyParserTest, RepeatedFlagIsMalformed) {
  expect_malformed("HD c1 c2\r\n");
  expect_malformed("HD W W\r\n");
  expect_malformed("EN Oa Ob\r\n");
}

TEST(MetaReplyParserTest, FlagNotStartingWithALetterIsMalformed) {
  expect_malformed("HD 5\r\n");
  expect_malformed("HD _x\r\n");
  expect_malformed("HD =1\r\n");
  expect_malformed("VA 1 \x80k\r\nv\r\n");
}

TEST(MetaReplyParserTest, AbsentFlagsLeaveTheirFieldsAtDefaults) {
  Reply reply;
  ASSERT_EQ(parse_meta_reply("HD\r\n", 1024, reply).status, ParseStatus::complete);
  EXPECT_EQ(reply.meta_flags, 0u);
  EXPECT_FALSE(reply.has_cas);
  EXPECT_TRUE(reply.key.empty());
  EXPECT_TRUE(reply.opaque.empty());
  EXPECT_EQ(reply.ttl, 0);
  EXPECT_FALSE(reply.has_flag('O'));
}

// ---- line structure

TEST(MetaReplyParserTest, SpacingMustBeSingle) {
  expect_malformed("HD \r\n");
  expect_malformed("HD  c1\r\n");
  expect_malformed("HD c1 \r\n");
  expect_malformed(" HD\r\n");
  expect_malformed("VA  1\r\nx\r\n");
  expect_malformed("VA 1  f1\r\nx\r\n");
  expect_malformed("VA 1 \r\nx\r\n");
}

TEST(MetaReplyParserTest, CodeMustBeFollowedBySpaceOrLineEnd) {
  expect_malformed("HDc1\r\n");
  expect_malformed("HDX\r\n");
  expect_malformed("ENX\r\n");
  expect_malformed("VA1\r\nx\r\n");
  expect_malformed("MNX\r\n");
}

TEST(MetaReplyParserTest, UnknownCodesAreMalformed) {
  expect_malformed("XX\r\n");
  expect_malformed("H\r\n");
  expect_malformed("hd\r\n");
  expect_malformed("va 1\r\nx\r\n");
  expect_malformed("mn\r\n");
  // Text replies are not meta replies.
  expect_malformed("STORED\r\n");
  expect_malformed("END\r\n");
  expect_malformed("VALUE k 0 1\r\nx\r\nEND\r\n");
  // AWS ElastiCache 1.6.6's dialect answers a store with OK; not accepted.
  expect_malformed("OK\r\n");
}

TEST(MetaReplyParserTest, VaSizeMustBeADecimalNumber) {
  expect_malformed("VA\r\n");
  expect_malformed("VA x\r\nx\r\n");
  expect_malformed("VA -1\r\n");
  expect_malformed("VA +1\r\nx\r\n");
  expect_malformed("VA f1\r\nx\r\n");
  expect_malformed("VA 18446744073709551616\r\n");
}

TEST(MetaReplyParserTest, BadFlagOnAValueLineIsMalformedBeforeItsData) {
  expect_malformed(feed_meta_reply("VA 5 c-\r\n"));
}

TEST(MetaReplyParserTest, MissingCrIsMalformed) {
  expect_malformed("HD\n");
  expect_malformed("VA 1\nx\r\n");
  expect_malformed("\n");
}

TEST(MetaReplyParserTest, CrInsideALineIsMalformed) {
  expect_malformed("H\rD\r\n");
  expect_malformed("HD\r\r\n");
  expect_malformed("HD kab\rc\r\n");
}

TEST(MetaReplyParserTest, EmptyLineIsMalformed) { expect_malformed("\r\n"); }

TEST(MetaReplyParserTest, BadDataTerminatorIsMalformed) {
  expect_malformed("VA 3\r\nabcX\r\n");
  expect_malformed("VA 3\r\nabc\nHD\r\n");
  expect_malformed("VA 2\r\nabc\r\n");
  expect_malformed("VA 5\r\nabc\r\nHD\r\n");
}

// ---- need more

TEST(MetaReplyParserTest, EmptyInputNeedsMore) {
  const FeedOutcome outcome = feed_meta_reply("");
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 0u);
}

TEST(MetaReplyParserTest, PartialLineNeedsMoreWithoutASize) {
  for (const std::string_view input : {"H", "HD", "HD\r", "VA 10 f1", "VA 10 f1\r"}) {
    const FeedOutcome outcome = feed_meta_reply(input);
    EXPECT_EQ(outcome.status, ParseStatus::need_more) << input;
    EXPECT_EQ(outcome.needed, 0u) << input;
  }
}

TEST(MetaReplyParserTest, ValueHeaderWithoutDataNeedsTheWholeReply) {
  // 10 bytes of header, 10 of data, 2 of CRLF.
  const FeedOutcome outcome = feed_meta_reply("VA 10 f1\r\nabc");
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 22u);
  EXPECT_TRUE(outcome.replies.empty());
}

TEST(MetaReplyParserTest, ValueMissingOnlyItsTerminatorNeedsTheWholeReply) {
  const FeedOutcome outcome = feed_meta_reply("VA 3\r\nabc\r");
  EXPECT_EQ(outcome.status, ParseStatus::need_more);
  EXPECT_EQ(outcome.needed, 6u + 3u + 2u);
}

TEST(MetaReplyParserTest, DirectCallReportsConsumedAndViewsIntoTheInput) {
  const std::string input = "VA 4 kkey O42\r\ndata\r\nHD\r\n";
  Reply reply;
  const ParseResult result = parse_meta_reply(input, 1024, reply);
  ASSERT_EQ(result.status, ParseStatus::complete);
  EXPECT_EQ(result.consumed, 21u);
  EXPECT_EQ(reply.key.data(), input.data() + 6);
  EXPECT_EQ(reply.opaque.data(), input.data() + 11);
  EXPECT_EQ(reply.data.data(), input.data() + 15);
  EXPECT_EQ(reply.data, "data");
}

TEST(MetaReplyParserTest, DirectCallLeavesReplyAloneWhenMalformedOrShortOfAHeader) {
  Reply reply;
  reply.flags = 99;
  reply.meta_flags = 7;
  EXPECT_EQ(parse_meta_reply("VA 4 f1", 1024, reply).status, ParseStatus::need_more);
  EXPECT_EQ(parse_meta_reply("HD c1 c1\r\n", 1024, reply).status, ParseStatus::malformed);
  EXPECT_EQ(reply.flags, 99u);
  EXPECT_EQ(reply.meta_flags, 7u);
}

// The caller may receive a large value's data elsewhere (net::ValueSink), so
// a complete VA header is handed out before its data.
TEST(MetaReplyParserTest, DirectCallHandsOutAValueHeaderBeforeItsData) {
  Reply reply;
  const ParseResult result = parse_meta_reply("VA 4 f3 c9 t-1 W X kkey\r\nda", 1024, reply);
  ASSERT_EQ(result.status, ParseStatus::need_more);
  EXPECT_EQ(result.needed, 31u);
  EXPECT_EQ(reply.status, ReplyStatus::value);
  EXPECT_EQ(reply.flags, 3u);
  EXPECT_EQ(reply.cas, 9u);
  EXPECT_EQ(reply.ttl, -1);
  EXPECT_EQ(reply.key, "key");
  EXPECT_TRUE(reply.has_flag('W'));
  EXPECT_TRUE(reply.has_flag('X'));
  EXPECT_TRUE(reply.data.empty());
}

// ---- the line size limit

TEST(MetaReplyParserTest, LineOfExactlyTheLimitIsAccepted) {
  const std::string message(kMaxMetaReplyLineSize - 15, 'm');  // "SERVER_ERROR " + CRLF
  const std::string input = "SERVER_ERROR " + message + "\r\n";
  ASSERT_EQ(input.size(), kMaxMetaReplyLineSize);
  expect_reply(input, error_line(ReplyStatus::server_error, message));
}

TEST(MetaReplyParserTest, LineOneByteOverTheLimitIsMalformed) {
  expect_malformed("SERVER_ERROR " + std::string(kMaxMetaReplyLineSize - 14, 'm') + "\r\n");
}

TEST(MetaReplyParserTest, LongLineIsMalformedOnceTheLimitIsReached) {
  const FeedOutcome short_of_limit = feed_meta_reply(std::string(kMaxMetaReplyLineSize - 1, 'x'));
  EXPECT_EQ(short_of_limit.status, ParseStatus::need_more);
  expect_malformed(std::string(kMaxMetaReplyLineSize, 'x'));
}

// ---- several replies

TEST(MetaReplyParserTest, PipelinedRepliesInOrder) {
  const std::string input =
      "HD\r\nVA 2 f5\r\nhi\r\nEN\r\nNS\r\nEX\r\nNF\r\nME k exp=-1\r\nCLIENT_ERROR bad\r\nMN\r\n";
  expect_complete(input,
                  {done(), value("hi").flags(5), miss(), not_stored(), exists(), not_found(),
                   debug("k", "exp=-1"), error_line(ReplyStatus::client_error, "bad"), noop()});
}

// From memcached 1.6.18: "ms d 1 MP q O1", "ms d 1 ME q O2", "mg d v q O3",
// "mg zz v q O4", "mn". The prepend's HD and the miss's EN are suppressed;
// the NS of the add is not, and the opaques say which request each answers.
TEST(MetaReplyParserTest, QuietPipelineEndsWithNoop) {
  const std::string input = "NS O2\r\nVA 2 O3\r\nPy\r\nMN\r\n";
  const FeedOutcome outcome = feed_meta_pipeline(input);
  expect_complete(outcome, input, {not_stored().opaque("2"), value("Py").opaque("3"), noop()});
}

TEST(MetaReplyParserTest, RepliesAfterTheNoopAreLeftUnconsumed) {
  const FeedOutcome outcome = feed_meta_pipeline("HD\r\nMN\r\nHD\r\n");
  EXPECT_EQ(outcome.status, ParseStatus::complete);
  EXPECT_EQ(outcome.replies, (Replies{done(), noop()}));
  EXPECT_EQ(outcome.consumed, 8u);
}

TEST(MetaReplyParserTest, MalformedReplyAfterGoodOnesKeepsTheGoodOnes) {
  expect_malformed(feed_meta_pipeline("HD O1\r\nVA 1 O2\r\nx\r\nHD O3 O3\r\nMN\r\n"),
                   {done().opaque("1"), value("x").opaque("2")});
}

}  // namespace
}  // namespace fastmc::protocol
