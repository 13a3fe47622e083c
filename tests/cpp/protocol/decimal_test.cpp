// SPDX-License-Identifier: MIT
#include "protocol/decimal.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

std::string formatted(std::uint64_t value) {
  std::array<char, kMaxDecimalSize> out;
  return {out.data(), format_decimal(value, out.data())};
}

std::string formatted_signed(std::int64_t value) {
  std::array<char, kMaxDecimalSize> out;
  return {out.data(), format_signed_decimal(value, out.data())};
}

// Parses into a value preset to a sentinel, to show failures leave it alone.
constexpr std::uint64_t kSentinel64 = 777;
constexpr std::uint32_t kSentinel32 = 777;

struct Parsed64 {
  bool ok;
  std::uint64_t value;
};
Parsed64 parse64(std::string_view text) {
  std::uint64_t value = kSentinel64;
  const bool ok = parse_decimal(text, value);
  return {ok, value};
}

struct Parsed32 {
  bool ok;
  std::uint32_t value;
};
Parsed32 parse32(std::string_view text) {
  std::uint32_t value = kSentinel32;
  const bool ok = parse_decimal(text, value);
  return {ok, value};
}

TEST(DecimalTest, FormatsZero) { EXPECT_EQ(formatted(0), "0"); }

TEST(DecimalTest, FormatsSmallAndLargeValues) {
  EXPECT_EQ(formatted(7), "7");
  EXPECT_EQ(formatted(1234567890), "1234567890");
  EXPECT_EQ(formatted(std::numeric_limits<std::uint64_t>::max()), "18446744073709551615");
}

TEST(DecimalTest, FormatsSignedValuesWithAMinusOnlyWhenNegative) {
  EXPECT_EQ(formatted_signed(0), "0");
  EXPECT_EQ(formatted_signed(300), "300");
  EXPECT_EQ(formatted_signed(-1), "-1");
  EXPECT_EQ(formatted_signed(std::numeric_limits<std::int64_t>::max()), "9223372036854775807");
  EXPECT_EQ(formatted_signed(std::numeric_limits<std::int64_t>::min()), "-9223372036854775808");
}

TEST(DecimalTest, LongestValuesFitMaxDecimalSize) {
  EXPECT_LE(formatted(std::numeric_limits<std::uint64_t>::max()).size(), kMaxDecimalSize);
  EXPECT_LE(formatted_signed(std::numeric_limits<std::int64_t>::min()).size(), kMaxDecimalSize);
}

TEST(DecimalTest, ParsesZero) {
  const Parsed64 parsed = parse64("0");
  EXPECT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.value, 0u);
}

TEST(DecimalTest, ParsesMaxUint64) {
  const Parsed64 parsed = parse64("18446744073709551615");
  EXPECT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.value, std::numeric_limits<std::uint64_t>::max());
}

TEST(DecimalTest, RejectsUint64OverflowByOne) {
  EXPECT_FALSE(parse64("18446744073709551616").ok);
  EXPECT_EQ(parse64("18446744073709551616").value, kSentinel64);
}

TEST(DecimalTest, RejectsUint64OverflowByADigit) {
  EXPECT_FALSE(parse64("184467440737095516150").ok);
  EXPECT_FALSE(parse64("99999999999999999999").ok);
  EXPECT_FALSE(parse64("100000000000000000000").ok);
}

TEST(DecimalTest, AcceptsLeadingZeros) {
  const Parsed64 parsed = parse64("000000000000000000000000042");
  EXPECT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.value, 42u);
}

TEST(DecimalTest, RejectsSigns) {
  EXPECT_FALSE(parse64("+1").ok);
  EXPECT_FALSE(parse64("-1").ok);
  EXPECT_FALSE(parse64("-0").ok);
  EXPECT_FALSE(parse32("+1").ok);
  EXPECT_FALSE(parse32("-1").ok);
}

TEST(DecimalTest, RejectsSpacesAnywhere) {
  EXPECT_FALSE(parse64(" 1").ok);
  EXPECT_FALSE(parse64("1 ").ok);
  EXPECT_FALSE(parse64("1 2").ok);
  EXPECT_FALSE(parse64(" ").ok);
  EXPECT_FALSE(parse64("1\t").ok);
  EXPECT_FALSE(parse64("1\r\n").ok);
}

TEST(DecimalTest, RejectsEmptyText) {
  EXPECT_FALSE(parse64("").ok);
  EXPECT_FALSE(parse32("").ok);
  EXPECT_EQ(parse64("").value, kSentinel64);
}

TEST(DecimalTest, RejectsNonDigits) {
  EXPECT_FALSE(parse64("12a").ok);
  EXPECT_FALSE(parse64("a12").ok);
  EXPECT_FALSE(parse64("0x10").ok);
  EXPECT_FALSE(parse64("1.5").ok);
  EXPECT_FALSE(parse64("1e3").ok);
  EXPECT_FALSE(parse64(std::string_view("1\0"
                                        "2",
                                        3))
                   .ok);
  // The bytes just outside '0'..'9'.
  EXPECT_FALSE(parse64("/").ok);
  EXPECT_FALSE(parse64(":").ok);
}

TEST(DecimalTest, ParsesMaxUint32) {
  const Parsed32 parsed = parse32("4294967295");
  EXPECT_TRUE(parsed.ok);
  EXPECT_EQ(parsed.value, std::numeric_limits<std::uint32_t>::max());
}

TEST(DecimalTest, RejectsUint32OverflowByOne) {
  const Parsed32 parsed = parse32("4294967296");
  EXPECT_FALSE(parsed.ok);
  EXPECT_EQ(parsed.value, kSentinel32);
}

TEST(DecimalTest, RejectsUint32ValuesThatOnlyFitUint64) {
  EXPECT_FALSE(parse32("18446744073709551615").ok);
  EXPECT_FALSE(parse32("42949672950").ok);
}

TEST(DecimalTest, RoundTripsValuesAroundPowersOfTen) {
  for (std::uint64_t power = 1; power <= 1000000000000000000u; power *= 10) {
    for (const std::uint64_t value : {power - 1, power, power + 1}) {
      const Parsed64 parsed = parse64(formatted(value));
      EXPECT_TRUE(parsed.ok) << value;
      EXPECT_EQ(parsed.value, value);
    }
  }
}

}  // namespace
}  // namespace fastmc::protocol
