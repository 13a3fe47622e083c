// SPDX-License-Identifier: MIT
#include "value/compression.hpp"

#include <string>

#include <gtest/gtest.h>

#include "support/value_vectors.hpp"

namespace fastmc::value {
namespace {

// Bytes zlib cannot shrink (a linear congruential sequence).
std::string incompressible(std::size_t size) {
  std::string value;
  std::uint32_t state = 12345;
  for (std::size_t index = 0; index < size; ++index) {
    state = state * 1103515245u + 12345u;
    value.push_back(static_cast<char>(state >> 24));
  }
  return value;
}

TEST(CompressionTest, PeersCompressedValuesInflateToTheOriginal) {
  std::vector<test::WrittenValue> written;
  std::vector<test::ReadOutcome> reads;
  test::read_encodings(written, reads);
  const std::string original([] {
    std::string text;
    for (int index = 0; index < 40; ++index) text += "fastmc compresses this ";
    return text;
  }());
  int checked = 0;
  for (const auto& value : written) {
    if (value.name != "compressed_str" && value.name != "compressed_bytes") continue;
    if (value.writer == "pymemcache_default") continue;  // never compresses
    SCOPED_TRACE(value.writer + "," + value.name);
    const InflateResult inflated = inflate_value(value.stored, 1U << 20);
    ASSERT_EQ(inflated.error, InflateError::none);
    if (value.writer == "libmc" && value.name == "compressed_str") {
      // libmc marshals a str before compressing it: type 'u', 4-byte size.
      EXPECT_EQ(inflated.value.substr(5), original);
    } else {
      EXPECT_EQ(inflated.value, original);
    }
    ++checked;
  }
  EXPECT_EQ(checked, 8);
}

TEST(CompressionTest, RoundTripsAtEveryLevel) {
  const std::string value(10000, 'x');
  for (const int level : {-1, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {  // 0 stores: larger, not kept
    const auto compressed = compress_value(
        value,
        {.rule = CompressionRule::above_threshold_if_smaller, .threshold = 1, .level = level});
    ASSERT_TRUE(compressed.has_value()) << level;
    EXPECT_EQ(inflate_value(*compressed, value.size()).value, value);
  }
}

TEST(CompressionTest, LevelZeroIsNeverKeptWhenOnlySmallerIs) {
  EXPECT_FALSE(compress_value(std::string(1000, 'x'), {.threshold = 1, .level = 0}).has_value());
}

TEST(CompressionTest, ThresholdsFollowEachPeersRule) {
  const std::string hundred(100, 'a');
  const std::string more(101, 'a');
  auto compresses = [](CompressionRule rule, const std::string& value) {
    return compress_value(value, {.rule = rule, .threshold = 100}).has_value();
  };
  EXPECT_FALSE(compresses(CompressionRule::above_threshold_if_smaller, hundred));
  EXPECT_TRUE(compresses(CompressionRule::above_threshold_if_smaller, more));
  EXPECT_TRUE(compresses(CompressionRule::at_threshold_if_smaller, hundred));  // pylibmc: >=
  EXPECT_FALSE(compresses(CompressionRule::above_threshold_always, hundred));
  EXPECT_TRUE(compresses(CompressionRule::above_threshold_always, more));
  EXPECT_FALSE(compresses(CompressionRule::never, more));
  EXPECT_FALSE(compress_value(more, {.threshold = 0}).has_value());
}

TEST(CompressionTest, IncompressibleValuesAreKeptExceptByLibmc) {
  const std::string value = incompressible(200);
  auto compresses = [&](CompressionRule rule) {
    return compress_value(value, {.rule = rule, .threshold = 100}).has_value();
  };
  EXPECT_FALSE(compresses(CompressionRule::above_threshold_if_smaller));
  EXPECT_FALSE(compresses(CompressionRule::at_threshold_if_smaller));
  EXPECT_FALSE(compresses(CompressionRule::above_threshold_unless_larger));
  // libmc stored 211 compressed bytes for 200 random ones.
  const auto always =
      compress_value(value, {.rule = CompressionRule::above_threshold_always, .threshold = 100});
  ASSERT_TRUE(always.has_value());
  EXPECT_GT(always->size(), value.size());
}

TEST(CompressionTest, InflateStopsAtTheCallersMaximum) {
  const std::string value(100000, 'z');
  const auto compressed = compress_value(value, {.threshold = 1});
  ASSERT_TRUE(compressed.has_value());
  EXPECT_EQ(inflate_value(*compressed, value.size()).error, InflateError::none);
  const InflateResult capped = inflate_value(*compressed, value.size() - 1);
  EXPECT_EQ(capped.error, InflateError::too_large);
  EXPECT_TRUE(capped.value.empty());
  EXPECT_EQ(inflate_value(*compressed, 0).error, InflateError::too_large);
}

TEST(CompressionTest, CorruptDataIsAnError) {
  const auto compressed = compress_value(std::string(5000, 'q'), {.threshold = 1});
  ASSERT_TRUE(compressed.has_value());
  EXPECT_EQ(inflate_value("1", 100).error, InflateError::corrupt);  // a libmc bool
  EXPECT_EQ(inflate_value("", 100).error, InflateError::corrupt);
  EXPECT_EQ(inflate_value(compressed->substr(0, compressed->size() - 3), 10000).error,
            InflateError::corrupt);  // truncated
  std::string flipped = *compressed;
  flipped[flipped.size() - 1] = static_cast<char>(flipped.back() ^ 1);  // Adler-32
  EXPECT_EQ(inflate_value(flipped, 10000).error, InflateError::corrupt);
  EXPECT_EQ(inflate_value(*compressed + "x", 10000).error, InflateError::corrupt);
  EXPECT_EQ(inflate_error_name(InflateError::corrupt), "corrupt_compressed_value");
}

}  // namespace
}  // namespace fastmc::value
