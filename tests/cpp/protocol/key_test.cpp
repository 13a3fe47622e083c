// SPDX-License-Identifier: MIT
#include "protocol/key.hpp"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

TEST(KeyTest, AcceptsPrintableAsciiKey) {
  const KeyCheck check = check_text_key("user:42/profile");
  EXPECT_TRUE(check);
  EXPECT_EQ(check.problem, KeyProblem::none);
}

TEST(KeyTest, AcceptsSingleByteKey) { EXPECT_TRUE(check_text_key("k")); }

TEST(KeyTest, Accepts250ByteKey) { EXPECT_TRUE(check_text_key(std::string(250, 'k'))); }

TEST(KeyTest, Refuses251ByteKeyAsTooLong) {
  const KeyCheck check = check_text_key(std::string(251, 'k'));
  EXPECT_FALSE(check);
  EXPECT_EQ(check.problem, KeyProblem::too_long);
}

TEST(KeyTest, RefusesEmptyKey) {
  const KeyCheck check = check_text_key("");
  EXPECT_FALSE(check);
  EXPECT_EQ(check.problem, KeyProblem::empty);
}

TEST(KeyTest, RefusesSpaceAndSaysWhere) {
  const KeyCheck check = check_text_key("ab c");
  EXPECT_EQ(check.problem, KeyProblem::forbidden_byte);
  EXPECT_EQ(check.position, 2u);
}

TEST(KeyTest, RefusesTab) {
  const KeyCheck check = check_text_key("a\tb");
  EXPECT_EQ(check.problem, KeyProblem::forbidden_byte);
  EXPECT_EQ(check.position, 1u);
}

TEST(KeyTest, RefusesCarriageReturn) {
  EXPECT_EQ(check_text_key("a\r").problem, KeyProblem::forbidden_byte);
}

// A bare LF ends a memcached command line, so it would inject a command.
TEST(KeyTest, RefusesLineFeed) {
  const KeyCheck check = check_text_key("a\nflush_all");
  EXPECT_EQ(check.problem, KeyProblem::forbidden_byte);
  EXPECT_EQ(check.position, 1u);
}

TEST(KeyTest, RefusesNul) {
  const KeyCheck check = check_text_key(std::string_view("ab\0", 3));
  EXPECT_EQ(check.problem, KeyProblem::forbidden_byte);
  EXPECT_EQ(check.position, 2u);
}

TEST(KeyTest, RefusesDel) {
  EXPECT_EQ(check_text_key("a\x7f").problem, KeyProblem::forbidden_byte);
}

TEST(KeyTest, RefusesEveryControlByte) {
  for (int byte = 0; byte <= 0x20; ++byte) {
    std::string key = "key";
    key.push_back(static_cast<char>(byte));
    const KeyCheck check = check_text_key(key);
    EXPECT_EQ(check.problem, KeyProblem::forbidden_byte) << "byte " << byte;
    EXPECT_EQ(check.position, 3u) << "byte " << byte;
  }
}

TEST(KeyTest, AcceptsEveryPrintableAsciiByte) {
  for (int byte = 0x21; byte < 0x7f; ++byte) {
    EXPECT_TRUE(check_text_key(std::string(1, static_cast<char>(byte)))) << "byte " << byte;
  }
}

TEST(KeyTest, AcceptsNonAsciiByDefault) {
  EXPECT_TRUE(check_text_key("caf\xc3\xa9"));
  EXPECT_TRUE(check_text_key("\x80\xff"));
}

TEST(KeyTest, RefusesNonAsciiWhenNotAllowedAndSaysWhere) {
  const KeyCheck check = check_text_key("caf\xc3\xa9", /*allow_non_ascii=*/false);
  EXPECT_EQ(check.problem, KeyProblem::non_ascii);
  EXPECT_EQ(check.position, 3u);
}

TEST(KeyTest, RefusesEveryHighByteWhenNonAsciiIsNotAllowed) {
  for (int byte = 0x80; byte <= 0xff; ++byte) {
    const KeyCheck check =
        check_text_key(std::string(1, static_cast<char>(byte)), /*allow_non_ascii=*/false);
    EXPECT_EQ(check.problem, KeyProblem::non_ascii) << "byte " << byte;
  }
}

TEST(KeyTest, ReportsTheFirstOffendingByte) {
  const KeyCheck check = check_text_key("ab\xc3 d", /*allow_non_ascii=*/false);
  EXPECT_EQ(check.problem, KeyProblem::non_ascii);
  EXPECT_EQ(check.position, 2u);
}

TEST(KeyTest, LengthIsCheckedBeforeBytes) {
  EXPECT_EQ(check_text_key(std::string(251, ' ')).problem, KeyProblem::too_long);
}

TEST(KeyTest, CountsLengthInBytesNotCharacters) {
  std::string key;
  for (int i = 0; i < 125; ++i) {
    key += "\xc3\xa9";
  }
  EXPECT_TRUE(check_text_key(key));
  key += "\xc3\xa9";
  EXPECT_EQ(check_text_key(key).problem, KeyProblem::too_long);
}

TEST(KeyTest, DescribesEveryProblem) {
  for (const KeyProblem problem : {KeyProblem::none, KeyProblem::empty, KeyProblem::too_long,
                                   KeyProblem::forbidden_byte, KeyProblem::non_ascii}) {
    EXPECT_FALSE(describe(problem).empty());
  }
  EXPECT_NE(describe(KeyProblem::empty), describe(KeyProblem::too_long));
}

}  // namespace
}  // namespace fastmc::protocol
