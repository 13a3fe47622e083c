// SPDX-License-Identifier: MIT
#include "protocol/base64.hpp"

#include <cstddef>
#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

std::string encoded(std::string_view bytes) {
  std::string text(base64_encoded_size(bytes.size()), '?');
  text.resize(encode_base64(bytes, text.data()));
  return text;
}

// The decoded bytes, or "<invalid>".
std::string decoded(std::string_view text) {
  std::string bytes(text.size() / 4 * 3, '?');
  std::size_t size = 0;
  if (!decode_base64(text, bytes.data(), size)) {
    return "<invalid>";
  }
  bytes.resize(size);
  return bytes;
}

// RFC 4648 section 10.
TEST(Base64Test, RfcVectors) {
  const std::pair<std::string_view, std::string_view> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [bytes, text] : vectors) {
    EXPECT_EQ(encoded(bytes), text);
    EXPECT_EQ(decoded(text), bytes);
  }
}

// The key memcached 1.6.18 echoed in the wire checks: both of "+/" appear.
TEST(Base64Test, StandardAlphabetNotUrlSafe) {
  const std::string bytes("\xfb\xff\xbf\x00 \r\n", 7);
  EXPECT_EQ(encoded(bytes), "+/+/ACANCg==");
  EXPECT_EQ(decoded("+/+/ACANCg=="), bytes);
  EXPECT_EQ(decoded("-_-_ACANCg=="), "<invalid>");
}

TEST(Base64Test, EncodedSizeIsFourPerStartedThree) {
  EXPECT_EQ(base64_encoded_size(0), 0u);
  EXPECT_EQ(base64_encoded_size(1), 4u);
  EXPECT_EQ(base64_encoded_size(3), 4u);
  EXPECT_EQ(base64_encoded_size(4), 8u);
  EXPECT_EQ(base64_encoded_size(186), 248u);
  EXPECT_EQ(base64_encoded_size(187), 252u);
}

TEST(Base64Test, EveryLengthAndByteRoundTrips) {
  std::mt19937 random(20240601);
  std::uniform_int_distribution<int> byte(0, 255);
  for (std::size_t size = 0; size <= 300; ++size) {
    std::string bytes;
    for (std::size_t i = 0; i < size; ++i) {
      bytes.push_back(static_cast<char>(byte(random)));
    }
    const std::string text = encoded(bytes);
    ASSERT_EQ(text.size(), base64_encoded_size(size));
    ASSERT_EQ(decoded(text), bytes) << size;
  }
}

TEST(Base64Test, EveryByteValueRoundTripsInEachPosition) {
  for (int value = 0; value < 256; ++value) {
    for (std::size_t position = 0; position < 3; ++position) {
      std::string bytes(3, 'a');
      bytes[position] = static_cast<char>(value);
      ASSERT_EQ(decoded(encoded(bytes)), bytes);
      ASSERT_EQ(decoded(encoded(bytes.substr(0, position + 1))), bytes.substr(0, position + 1));
    }
  }
}

// memcached 1.6.18 refuses "Zm9vAA" ("error decoding key"); so do we.
TEST(Base64Test, MissingPaddingIsInvalid) {
  EXPECT_EQ(decoded("Zm9vAA"), "<invalid>");
  EXPECT_EQ(decoded("Zg"), "<invalid>");
  EXPECT_EQ(decoded("Zm8"), "<invalid>");
}

TEST(Base64Test, PaddingOnlyAtTheEnd) {
  EXPECT_EQ(decoded("Zg==Zm9v"), "<invalid>");
  EXPECT_EQ(decoded("Z==="), "<invalid>");
  EXPECT_EQ(decoded("===="), "<invalid>");
  EXPECT_EQ(decoded("Zm=v"), "<invalid>");
  EXPECT_EQ(decoded("=m9v"), "<invalid>");
}

// "Zh==" and "Zg==" would both decode to "f" if the spare bits were ignored.
TEST(Base64Test, NonZeroSpareBitsAreInvalid) {
  EXPECT_EQ(decoded("Zh=="), "<invalid>");
  EXPECT_EQ(decoded("Zm9="), "<invalid>");
  EXPECT_EQ(decoded("Zm8="), "fo");
}

TEST(Base64Test, ForeignBytesAreInvalid) {
  const std::string_view texts[] = {"Zm9v\n",     "Zm 9", "Zm9\x80", std::string_view("Zm\0v", 4),
                                    "Zm9v\r\n==", "Zm.v"};
  for (const std::string_view text : texts) {
    EXPECT_EQ(decoded(text), "<invalid>") << text;
  }
}

TEST(Base64Test, LengthNotAMultipleOfFourIsInvalid) {
  EXPECT_EQ(decoded("Z"), "<invalid>");
  EXPECT_EQ(decoded("Zm9vY"), "<invalid>");
}

}  // namespace
}  // namespace fastmc::protocol
