// SPDX-License-Identifier: MIT
// Exact bytes of every meta request; tests/cpp/net/meta_wire_test.cpp checks
// that memcached accepts them.
#include "protocol/meta_request.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

std::string bytes_of(const RequestBuffer& buffer) {
  std::array<std::string_view, 16> segments;
  const std::size_t count = buffer.segments_from(0, segments.data(), segments.size());
  std::string bytes;
  for (std::size_t i = 0; i < count; ++i) {
    bytes.append(segments[i]);
  }
  EXPECT_EQ(bytes.size(), buffer.size());
  return bytes;
}

template <class Append>
std::string encoded(Append append) {
  RequestBuffer buffer;
  append(buffer);
  return bytes_of(buffer);
}

std::string get(std::string_view key, const MetaGetOptions& options) {
  return encoded([&](RequestBuffer& out) { append_meta_get_request(out, key, options); });
}

std::string set(std::string_view key, std::string_view value, const MetaSetOptions& options) {
  return encoded([&](RequestBuffer& out) { append_meta_set_request(out, key, value, options); });
}

std::string remove(std::string_view key, const MetaDeleteOptions& options) {
  return encoded([&](RequestBuffer& out) { append_meta_delete_request(out, key, options); });
}

std::string arithmetic(std::string_view key, const MetaArithmeticOptions& options) {
  return encoded([&](RequestBuffer& out) { append_meta_arithmetic_request(out, key, options); });
}

// The flags of a request line: its tokens after the key (and after the size
// for ms). memcached 1.6.18 answers "options flags too long" above 17 on mg,
// md and ma, and above 16 on ms.
std::size_t flag_count(std::string_view request, std::size_t fixed_tokens) {
  const std::string_view line = request.substr(0, request.find("\r\n"));
  const auto spaces = static_cast<std::size_t>(std::count(line.begin(), line.end(), ' '));
  return spaces + 1 - fixed_tokens;
}

// ---- mg

TEST(MetaRequestTest, GetWithNoFlags) { EXPECT_EQ(get("foo", {}), "mg foo\r\n"); }

TEST(MetaRequestTest, GetValueAndFlagsLikeAPlainGet) {
  EXPECT_EQ(get("foo", {.return_value = true, .return_flags = true}), "mg foo v f\r\n");
}

TEST(MetaRequestTest, GetEveryReturnFlag) {
  EXPECT_EQ(get("k", {.return_value = true,
                      .return_flags = true,
                      .return_cas = true,
                      .return_ttl = true,
                      .return_size = true,
                      .return_key = true,
                      .return_hit_before = true,
                      .return_last_access = true}),
            "mg k v f c t s k h l\r\n");
}

// A return flag after a modifier reports the state after it (t after T
// returns the new ttl), so modifiers go first.
TEST(MetaRequestTest, ModifiersComeBeforeReturnFlags) {
  EXPECT_EQ(get("k", {.return_value = true, .return_ttl = true, .update_ttl = 60}),
            "mg k T60 v t\r\n");
  EXPECT_EQ(arithmetic("n", {.update_ttl = 60, .return_ttl = true}), "ma n T60 t\r\n");
  EXPECT_EQ(set("k", "v", {.ttl = 60, .return_cas = true}), "ms k 1 T60 c\r\nv\r\n");
}

TEST(MetaRequestTest, GetModifiers) {
  EXPECT_EQ(
      get("k",
          {.no_bump = true, .update_ttl = 300, .vivify_ttl = 30, .recache_ttl = 10, .new_cas = 99}),
      "mg k u T300 N30 R10 E99\r\n");
}

TEST(MetaRequestTest, GetZeroAndNegativeTtlsAreSent) {
  EXPECT_EQ(get("k", {.update_ttl = 0}), "mg k T0\r\n");
  EXPECT_EQ(get("k", {.update_ttl = -1}), "mg k T-1\r\n");
  EXPECT_EQ(get("k", {.vivify_ttl = 0}), "mg k N0\r\n");
}

TEST(MetaRequestTest, QuietAndOpaqueEndTheLine) {
  EXPECT_EQ(get("k", {.return_value = true, .quiet = true, .opaque = "17"}), "mg k v q O17\r\n");
  EXPECT_EQ(get("k", {.opaque = "abc"}), "mg k Oabc\r\n");
  EXPECT_EQ(get("k", {.quiet = true}), "mg k q\r\n");
}

TEST(MetaRequestTest, GetWithEveryOptionStaysUnderMemcachedsFlagLimit) {
  const std::string request = get("k", {.return_value = true,
                                        .return_flags = true,
                                        .return_cas = true,
                                        .return_ttl = true,
                                        .return_size = true,
                                        .return_key = true,
                                        .return_hit_before = true,
                                        .return_last_access = true,
                                        .no_bump = true,
                                        .quiet = true,
                                        .binary_key = true,
                                        .opaque = "1",
                                        .update_ttl = 1,
                                        .vivify_ttl = 1,
                                        .recache_ttl = 1,
                                        .new_cas = 1});
  EXPECT_EQ(flag_count(request, 2), 16u);
  EXPECT_LE(flag_count(request, 2), 17u);
}

// ---- binary keys

TEST(MetaRequestTest, BinaryKeyIsSentBase64WithB) {
  EXPECT_EQ(get(std::string_view("foo\0", 4), {.return_value = true, .binary_key = true}),
            "mg Zm9vAA== b v\r\n");
  EXPECT_EQ(get(std::string_view("\xfb\xff\xbf\x00 \r\n", 7), {.binary_key = true}),
            "mg +/+/ACANCg== b\r\n");
}

TEST(MetaRequestTest, LongestBinaryKeyFitsTheKeyToken) {
  const std::string key(kMaxBinaryKeySize, '\x01');
  const std::string request = get(key, {.binary_key = true});
  const std::string_view token = std::string_view(request).substr(3, request.find(" b") - 3);
  EXPECT_EQ(token.size(), 248u);
  EXPECT_LE(token.size(), kMaxKeySize);
}

TEST(MetaRequestTest, BinaryKeyFlagComesAfterTheSizeInASet) {
  EXPECT_EQ(set(std::string_view("\x00\x01", 2), "hi", {.binary_key = true}),
            "ms AAE= 2 b\r\nhi\r\n");
}

TEST(MetaRequestTest, BinaryKeyInEveryCommand) {
  EXPECT_EQ(remove("\xff", {.binary_key = true}), "md /w== b\r\n");
  EXPECT_EQ(arithmetic("\xff", {.binary_key = true}), "ma /w== b\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_meta_debug_request(out, "\xff", true); }),
            "me /w== b\r\n");
}

TEST(MetaRequestTest, CheckBinaryKey) {
  EXPECT_TRUE(check_binary_key(std::string_view("\0", 1)));
  EXPECT_TRUE(check_binary_key(std::string(kMaxBinaryKeySize, ' ')));
  EXPECT_EQ(check_binary_key("").problem, KeyProblem::empty);
  EXPECT_EQ(check_binary_key(std::string(kMaxBinaryKeySize + 1, 'k')).problem,
            KeyProblem::too_long);
}

// ---- opaque

TEST(MetaRequestTest, OpaqueIsOneTo31PrintableBytes) {
  EXPECT_TRUE(is_valid_opaque("1"));
  EXPECT_TRUE(is_valid_opaque("!~azAZ09"));
  EXPECT_TRUE(is_valid_opaque(std::string(kMaxOpaqueSize, 'o')));
  EXPECT_FALSE(is_valid_opaque(std::string(kMaxOpaqueSize + 1, 'o')));
  EXPECT_FALSE(is_valid_opaque(""));
  const std::string_view bad_opaques[] = {
      "a b", "a\r\nmn", "a\n", "\t", "\x7f", "caf\xc3\xa9", std::string_view("a\0", 2)};
  for (const std::string_view bad : bad_opaques) {
    EXPECT_FALSE(is_valid_opaque(bad)) << bad;
  }
}

// The encoders do not validate (the caller checks once, before appending),
// but a debug build catches a caller that skipped the check.
TEST(MetaRequestTest, UncheckedKeyOrOpaqueIsCaughtInDebugBuilds) {
  RequestBuffer out;
  EXPECT_DEBUG_DEATH(append_meta_get_request(out, "a b", {}), "check_text_key");
  EXPECT_DEBUG_DEATH(append_meta_get_request(out, "k", {.opaque = "1\r\nmn"}), "is_valid_opaque");
  EXPECT_DEBUG_DEATH(
      append_meta_get_request(out, std::string(kMaxBinaryKeySize + 1, 'k'), {.binary_key = true}),
      "check_binary_key");
}

// ---- ms

TEST(MetaRequestTest, SetWithDefaultsSendsOnlyTheSize) {
  EXPECT_EQ(set("foo", "hi", {}), "ms foo 2\r\nhi\r\n");
}

TEST(MetaRequestTest, SetFlagsAndTtl) {
  EXPECT_EQ(set("foo", "hi", {.flags = 5, .ttl = 90}), "ms foo 2 F5 T90\r\nhi\r\n");
  EXPECT_EQ(set("foo", "hi", {.flags = 4294967295u, .ttl = -1}),
            "ms foo 2 F4294967295 T-1\r\nhi\r\n");
}

TEST(MetaRequestTest, SetEveryMode) {
  EXPECT_EQ(set("k", "v", {.mode = MetaSetMode::set}), "ms k 1\r\nv\r\n");
  EXPECT_EQ(set("k", "v", {.mode = MetaSetMode::add}), "ms k 1 ME\r\nv\r\n");
  EXPECT_EQ(set("k", "v", {.mode = MetaSetMode::replace}), "ms k 1 MR\r\nv\r\n");
  EXPECT_EQ(set("k", "v", {.mode = MetaSetMode::append}), "ms k 1 MA\r\nv\r\n");
  EXPECT_EQ(set("k", "v", {.mode = MetaSetMode::prepend}), "ms k 1 MP\r\nv\r\n");
}

TEST(MetaRequestTest, SetCompareAndSwapAndInvalidate) {
  EXPECT_EQ(set("k", "v", {.compare_cas = 42}), "ms k 1 C42\r\nv\r\n");
  EXPECT_EQ(set("k", "v", {.compare_cas = 0}), "ms k 1 C0\r\nv\r\n");
  EXPECT_EQ(set("k", "v", {.compare_cas = 42, .invalidate = true, .new_cas = 43}),
            "ms k 1 C42 I E43\r\nv\r\n");
}

TEST(MetaRequestTest, SetReturnFlagsQuietAndOpaque) {
  EXPECT_EQ(set("k", "v",
                {.mode = MetaSetMode::append,
                 .vivify_ttl = 60,
                 .return_cas = true,
                 .return_key = true,
                 .return_size = true,
                 .quiet = true,
                 .opaque = "9"}),
            "ms k 1 MA N60 c k s q O9\r\nv\r\n");
}

TEST(MetaRequestTest, SetEmptyValue) { EXPECT_EQ(set("k", "", {}), "ms k 0\r\n\r\n"); }

TEST(MetaRequestTest, SetValueWithCrlfInside) {
  EXPECT_EQ(set("k", "a\r\nHD\r\n", {}), "ms k 7\r\na\r\nHD\r\n\r\n");
}

TEST(MetaRequestTest, LargeValueIsBorrowedNotCopied) {
  const std::string value(RequestBuffer::kBorrowThreshold, 'v');
  RequestBuffer buffer;
  append_meta_set_request(buffer, "k", value, {.ttl = 5});
  std::array<std::string_view, 4> segments;
  ASSERT_EQ(buffer.segments_from(0, segments.data(), segments.size()), 3u);
  EXPECT_EQ(segments[0], "ms k 16384 T5\r\n");
  EXPECT_EQ(segments[1].data(), value.data());
  EXPECT_EQ(segments[2], "\r\n");
}

TEST(MetaRequestTest, SetWithEveryOptionStaysUnderMemcachedsFlagLimit) {
  const std::string request = set("k", "v",
                                  {.mode = MetaSetMode::append,
                                   .flags = 1,
                                   .ttl = 1,
                                   .compare_cas = 1,
                                   .invalidate = true,
                                   .new_cas = 1,
                                   .vivify_ttl = 1,
                                   .return_cas = true,
                                   .return_key = true,
                                   .return_size = true,
                                   .quiet = true,
                                   .binary_key = true,
                                   .opaque = "1"});
  EXPECT_EQ(flag_count(request, 3), 13u);
  EXPECT_LE(flag_count(request, 3), 16u);
}

// ---- md

TEST(MetaRequestTest, DeletePlain) { EXPECT_EQ(remove("foo", {}), "md foo\r\n"); }

TEST(MetaRequestTest, DeleteEveryFlag) {
  EXPECT_EQ(remove("k", {.compare_cas = 7,
                         .invalidate = true,
                         .update_ttl = 30,
                         .remove_value = true,
                         .new_cas = 8,
                         .return_key = true,
                         .quiet = true,
                         .opaque = "x1"}),
            "md k C7 I T30 x E8 k q Ox1\r\n");
}

// ---- ma

TEST(MetaRequestTest, ArithmeticDefaultsToIncrementByOne) {
  EXPECT_EQ(arithmetic("n", {}), "ma n\r\n");
  EXPECT_EQ(arithmetic("n", {.delta = 1}), "ma n\r\n");
}

TEST(MetaRequestTest, ArithmeticDecrementAndDelta) {
  EXPECT_EQ(arithmetic("n", {.mode = MetaArithmeticMode::decr, .delta = 5}), "ma n MD D5\r\n");
  EXPECT_EQ(arithmetic("n", {.delta = 0}), "ma n D0\r\n");
  EXPECT_EQ(arithmetic("n", {.delta = std::numeric_limits<std::uint64_t>::max()}),
            "ma n D18446744073709551615\r\n");
}

TEST(MetaRequestTest, ArithmeticAutoCreate) {
  EXPECT_EQ(arithmetic("n", {.vivify_ttl = 0, .initial = 10, .return_value = true}),
            "ma n N0 J10 v\r\n");
  // J0 is the server's default; J without N means nothing.
  EXPECT_EQ(arithmetic("n", {.vivify_ttl = 60}), "ma n N60\r\n");
  EXPECT_EQ(arithmetic("n", {.initial = 10}), "ma n\r\n");
}

TEST(MetaRequestTest, ArithmeticEveryFlag) {
  const std::string request = arithmetic("n", {.mode = MetaArithmeticMode::decr,
                                               .delta = 2,
                                               .vivify_ttl = 3,
                                               .initial = 4,
                                               .update_ttl = 5,
                                               .compare_cas = 6,
                                               .new_cas = 7,
                                               .return_value = true,
                                               .return_ttl = true,
                                               .return_cas = true,
                                               .return_key = true,
                                               .quiet = true,
                                               .binary_key = true,
                                               .opaque = "8"});
  EXPECT_EQ(request, "ma bg== b MD D2 N3 J4 T5 C6 E7 v t c k q O8\r\n");
  EXPECT_LE(flag_count(request, 2), 17u);
}

// ---- mn, me, pipelines

TEST(MetaRequestTest, Noop) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_meta_noop_request(out); }), "mn\r\n");
}

TEST(MetaRequestTest, Debug) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_meta_debug_request(out, "foo", false); }),
            "me foo\r\n");
}

TEST(MetaRequestTest, QuietPipelineEndsWithNoop) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_meta_set_request(out, "a", "1", {.quiet = true, .opaque = "0"});
              append_meta_set_request(out, "b", "2",
                                      {.mode = MetaSetMode::add, .quiet = true, .opaque = "1"});
              append_meta_noop_request(out);
            }),
            "ms a 1 q O0\r\n1\r\nms b 1 ME q O1\r\n2\r\nmn\r\n");
}

}  // namespace
}  // namespace fastmc::protocol
