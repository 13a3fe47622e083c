// SPDX-License-Identifier: MIT
#include "protocol/reply.hpp"

#include <cstdint>
#include <set>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

// Every enumerator, in declaration order; a new one must be added here.
constexpr ReplyStatus kEveryStatus[] = {
    ReplyStatus::value,      ReplyStatus::end,          ReplyStatus::stored,
    ReplyStatus::not_stored, ReplyStatus::exists,       ReplyStatus::not_found,
    ReplyStatus::deleted,    ReplyStatus::touched,      ReplyStatus::ok,
    ReplyStatus::number,     ReplyStatus::stat,         ReplyStatus::version,
    ReplyStatus::error,      ReplyStatus::client_error, ReplyStatus::server_error,
    ReplyStatus::done,       ReplyStatus::miss,         ReplyStatus::noop,
    ReplyStatus::debug,
};

TEST(ReplyTest, EnumeratorListIsComplete) {
  // The enumerators are consecutive from 0, so the last one's value + 1 is
  // their count; a new enumerator not added above fails here.
  EXPECT_EQ(static_cast<std::size_t>(ReplyStatus::debug) + 1, std::size(kEveryStatus));
  for (std::size_t i = 0; i < std::size(kEveryStatus); ++i) {
    EXPECT_EQ(static_cast<std::size_t>(kEveryStatus[i]), i);
  }
}

TEST(ReplyTest, EveryStatusHasADistinctName) {
  std::set<std::string_view> names;
  for (const ReplyStatus status : kEveryStatus) {
    const std::string_view name = name_of(status);
    EXPECT_NE(name, "unknown") << static_cast<int>(status);
    EXPECT_TRUE(names.insert(name).second) << name;
  }
}

TEST(ReplyTest, NamesAreTheEnumeratorNames) {
  EXPECT_EQ(name_of(ReplyStatus::value), "value");
  EXPECT_EQ(name_of(ReplyStatus::not_stored), "not_stored");
  EXPECT_EQ(name_of(ReplyStatus::server_error), "server_error");
  EXPECT_EQ(name_of(ReplyStatus::done), "done");
  EXPECT_EQ(name_of(ReplyStatus::miss), "miss");
  EXPECT_EQ(name_of(ReplyStatus::noop), "noop");
  EXPECT_EQ(name_of(ReplyStatus::debug), "debug");
}

TEST(ReplyTest, OutOfRangeStatusIsUnknown) {
  EXPECT_EQ(name_of(static_cast<ReplyStatus>(200)), "unknown");
}

TEST(ReplyTest, OnlyTheThreeErrorLinesAreErrors) {
  for (const ReplyStatus status : kEveryStatus) {
    const bool expected = status == ReplyStatus::error || status == ReplyStatus::client_error ||
                          status == ReplyStatus::server_error;
    EXPECT_EQ(is_error(status), expected) << name_of(status);
  }
}

// mcmc's layout: bit (letter - 'A').
TEST(ReplyTest, MetaFlagBitsFollowTheLetter) {
  EXPECT_EQ(meta_flag_bit('A'), std::uint64_t{1});
  EXPECT_EQ(meta_flag_bit('Z'), std::uint64_t{1} << 25);
  EXPECT_EQ(meta_flag_bit('a'), std::uint64_t{1} << 32);
  EXPECT_EQ(meta_flag_bit('z'), std::uint64_t{1} << 57);
  EXPECT_EQ(meta_flag_bit('O'), std::uint64_t{1} << 14);
}

TEST(ReplyTest, NonLettersHaveNoMetaFlagBit) {
  for (const char c : {'\0', ' ', '0', '9', '@', '[', '_', '`', '{', '~', '\x7f', '\x80'}) {
    EXPECT_EQ(meta_flag_bit(c), 0u) << static_cast<int>(c);
  }
}

TEST(ReplyTest, EveryLetterHasItsOwnBit) {
  std::uint64_t seen = 0;
  for (char letter = 'A'; letter <= 'z'; ++letter) {
    const std::uint64_t bit = meta_flag_bit(letter);
    if (letter > 'Z' && letter < 'a') {
      EXPECT_EQ(bit, 0u);
      continue;
    }
    EXPECT_EQ(bit & seen, 0u) << letter;
    seen |= bit;
  }
}

TEST(ReplyTest, HasFlagTestsTheMask) {
  Reply reply;
  EXPECT_FALSE(reply.has_flag('W'));
  reply.meta_flags = meta_flag_bit('W') | meta_flag_bit('b');
  EXPECT_TRUE(reply.has_flag('W'));
  EXPECT_TRUE(reply.has_flag('b'));
  EXPECT_FALSE(reply.has_flag('B'));
  EXPECT_FALSE(reply.has_flag('X'));
  EXPECT_FALSE(reply.has_flag(' '));
}

}  // namespace
}  // namespace fastmc::protocol
