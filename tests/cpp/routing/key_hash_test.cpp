// SPDX-License-Identifier: MIT
#include "routing/key_hash.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "support/routing_vectors.hpp"

namespace fastmc::routing {
namespace {

using testing::KeyHashTable;
using testing::read_key_hashes;

TEST(KeyHashTest, EveryHashMatchesThePeersOnTheGoldenKeys) {
  const KeyHashTable table = read_key_hashes();
  ASSERT_EQ(table.columns.size(), 15u) << "one column per KeyHash";
  ASSERT_GT(table.keys.size(), 400u);
  for (std::size_t column = 0; column < table.columns.size(); ++column) {
    const std::optional<KeyHash> hash = key_hash_from_name(table.columns[column]);
    ASSERT_TRUE(hash) << table.columns[column];
    std::size_t mismatches = 0;
    for (std::size_t row = 0; row < table.keys.size(); ++row) {
      const std::uint32_t expected = table.values[row][column];
      const std::uint32_t actual = hash_key(*hash, table.keys[row]);
      if (actual != expected && ++mismatches <= 3) {
        ADD_FAILURE() << table.columns[column] << "(" << ::testing::PrintToString(table.keys[row])
                      << "): peer " << expected << ", fastmc " << actual;
      }
    }
    EXPECT_EQ(mismatches, 0u) << table.columns[column];
  }
}

TEST(KeyHashTest, NamesRoundTrip) {
  for (int value = 0; value <= static_cast<int>(KeyHash::murmur3_32); ++value) {
    const auto hash = static_cast<KeyHash>(value);
    EXPECT_EQ(key_hash_from_name(key_hash_name(hash)), hash) << value;
  }
  EXPECT_FALSE(key_hash_from_name("sha1"));
  EXPECT_FALSE(key_hash_from_name(""));
}

TEST(KeyHashTest, OneAtATimeOfTheEmptyKeyIsZero) { EXPECT_EQ(one_at_a_time_hash(""), 0u); }

TEST(KeyHashTest, Md5DigestIsOpenSslMd5) {
  ASSERT_TRUE(md5_available());
  const std::array<std::uint8_t, 16> digest = md5_digest("");
  const std::array<std::uint8_t, 16> expected = {0xd4, 0x1d, 0x8c, 0xd9, 0x8f, 0x00, 0xb2, 0x04,
                                                 0xe9, 0x80, 0x09, 0x98, 0xec, 0xf8, 0x42, 0x7e};
  EXPECT_EQ(digest, expected);
  // The hash is the first four digest bytes, little-endian.
  EXPECT_EQ(md5_hash(""), 0xd98c1dd4u);
}

TEST(KeyHashTest, CrcIsBitsSixteenToThirtyOfCrc32) {
  for (const std::string_view key : {"", "a", "foo", "user:1:profile", "\xff\xfe"}) {
    EXPECT_EQ(hash_key(KeyHash::crc, key), (crc32_hash(key) >> 16) & 0x7fffu) << key;
  }
  EXPECT_EQ(crc32_hash("123456789"), 0xcbf43926u);  // the CRC-32 check value
}

TEST(KeyHashTest, SignedAndUnsignedFnvAgreeOnAsciiOnly) {
  EXPECT_EQ(hash_key(KeyHash::fnv1_32, "ascii key"), hash_key(KeyHash::libmc_fnv1_32, "ascii key"));
  EXPECT_EQ(hash_key(KeyHash::fnv1a_32, "ascii key"),
            hash_key(KeyHash::libmc_fnv1a_32, "ascii key"));
  EXPECT_NE(hash_key(KeyHash::fnv1_32, "cl\xc3\xa9"),
            hash_key(KeyHash::libmc_fnv1_32, "cl\xc3\xa9"));
  EXPECT_NE(hash_key(KeyHash::fnv1a_32, "cl\xc3\xa9"),
            hash_key(KeyHash::libmc_fnv1a_32, "cl\xc3\xa9"));
}

TEST(KeyHashTest, Murmur3OverPartsEqualsMurmur3OverTheirConcatenation) {
  const std::string whole = "10.0.0.1:11211-user:42:profile";
  for (std::size_t first = 0; first <= whole.size(); ++first) {
    for (std::size_t second = first; second <= whole.size(); second += 3) {
      const std::string_view text = whole;
      const std::array<std::string_view, 3> parts = {
          text.substr(0, first), text.substr(first, second - first), text.substr(second)};
      ASSERT_EQ(murmur3_x86_32(parts, 7), murmur3_x86_32(text, 7)) << first << " " << second;
    }
  }
  EXPECT_EQ(hash_key(KeyHash::murmur3_32, whole), murmur3_x86_32(whole, 0));
}

TEST(KeyHashTest, LibmemcachedMurmur3SeedsWithTheLength) {
  const std::string_view key = "foo";
  EXPECT_EQ(hash_key(KeyHash::murmur3, key), murmur3_x86_32(key, 0xdeadbeefu * 3u));
}

}  // namespace
}  // namespace fastmc::routing
