// SPDX-License-Identifier: MIT
// Exact bytes of every binary request; tests/cpp/net/binary_wire_test.cpp
// checks that memcached accepts them and answers as documented.
#include "protocol/binary_request.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

std::string bytes_of(const RequestBuffer& buffer) {
  std::array<std::string_view, 16> segments;
  const std::size_t count = buffer.segments_from(0, segments.data(), segments.size());
  std::string bytes;
  for (std::size_t i = 0; i < count; ++i) bytes.append(segments[i]);
  EXPECT_EQ(bytes.size(), buffer.size());
  return bytes;
}

template <class Append>
std::string encoded(Append append) {
  RequestBuffer buffer;
  append(buffer);
  return bytes_of(buffer);
}

// A request header written out field by field, as protocol-binary.txt lays it out.
std::string header(std::uint8_t opcode, std::uint16_t key_size, std::uint8_t extras_size,
                   std::uint32_t body_size, std::uint32_t opaque = 0, std::uint64_t cas = 0) {
  std::string bytes;
  bytes += '\x80';
  bytes += static_cast<char>(opcode);
  bytes += static_cast<char>(key_size >> 8);
  bytes += static_cast<char>(key_size & 0xff);
  bytes += static_cast<char>(extras_size);
  bytes += '\0';                  // data type
  bytes += std::string(2, '\0');  // vbucket
  for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(body_size >> shift);
  for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(opaque >> shift);
  for (int shift = 56; shift >= 0; shift -= 8) bytes += static_cast<char>(cas >> shift);
  return bytes;
}

std::string be32(std::uint32_t value) {
  std::string bytes;
  for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(value >> shift);
  return bytes;
}

std::string be64(std::uint64_t value) {
  return be32(static_cast<std::uint32_t>(value >> 32)) + be32(static_cast<std::uint32_t>(value));
}

TEST(BinaryRequestTest, GetFamilyPicksTheOpcodeFromKeyAndQuiet) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_get_request(out, "foo", false); }),
            header(0x00, 3, 0, 3) + "foo");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_get_request(out, "foo", false, {.opaque = 7, .quiet = true});
            }),
            header(0x09, 3, 0, 3, 7) + "foo");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_get_request(out, "foo", true); }),
            header(0x0c, 3, 0, 3) + "foo");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_get_request(out, "foo", true, {.opaque = 0x01020304, .quiet = true});
            }),
            header(0x0d, 3, 0, 3, 0x01020304) + "foo");
}

TEST(BinaryRequestTest, GatCarriesTheTtlAsExtras) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_gat_request(out, "k", 300, false); }),
            header(0x1d, 1, 4, 5) + be32(300) + "k");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_gat_request(out, "k", 300, true, {.opaque = 2, .quiet = true});
            }),
            header(0x24, 1, 4, 5, 2) + be32(300) + "k");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_gat_request(out, "k", 1, true); }),
            header(0x23, 1, 4, 5) + be32(1) + "k");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_gat_request(out, "k", 1, false, {.quiet = true});
            }),
            header(0x1e, 1, 4, 5) + be32(1) + "k");
}

TEST(BinaryRequestTest, NegativeTtlIsSentAsATimeLongPast) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_touch_request(out, "k", -1); }),
            header(0x1c, 1, 4, 5) + be32(2592001) + "k");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::set, "k", 0, -100, "v", 0);
            }),
            header(0x01, 1, 8, 10) + be32(0) + be32(2592001) + "k" + "v");
}

TEST(BinaryRequestTest, SetAddReplaceCarryFlagsAndTtl) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::set, "key", 0xdeadbeef, 60,
                                            "value", 0);
            }),
            header(0x01, 3, 8, 16) + be32(0xdeadbeef) + be32(60) + "key" + "value");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::add, "k", 1, 0, "", 0,
                                            {.opaque = 9, .quiet = true});
            }),
            header(0x12, 1, 8, 9, 9) + be32(1) + be32(0) + "k");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::replace, "k", 0, 0, "v", 0);
            }),
            header(0x03, 1, 8, 10) + be32(0) + be32(0) + "k" + "v");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::set, "k", 0, 0, "v", 0,
                                            {.quiet = true});
            }),
            header(0x11, 1, 8, 10) + be32(0) + be32(0) + "k" + "v");
}

TEST(BinaryRequestTest, CasIsASetCarryingTheCasInTheHeader) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::cas, "k", 2, 3, "v",
                                            0x0102030405060708);
            }),
            header(0x01, 1, 8, 10, 0, 0x0102030405060708) + be32(2) + be32(3) + "k" + "v");
}

TEST(BinaryRequestTest, AppendAndPrependHaveNoExtras) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::append, "k", 5, 6, "tail", 0);
            }),
            header(0x0e, 1, 0, 5) + "k" + "tail");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_storage_request(out, StorageCommand::prepend, "k", 5, 6, "head", 0,
                                            {.quiet = true});
            }),
            header(0x1a, 1, 0, 5) + "k" + "head");
}

TEST(BinaryRequestTest, LargeValuesAreBorrowedNotCopied) {
  const std::string value(RequestBuffer::kBorrowThreshold, 'x');
  RequestBuffer buffer;
  append_binary_storage_request(buffer, StorageCommand::set, "k", 0, 0, value, 0);
  std::array<std::string_view, 4> segments;
  const std::size_t count = buffer.segments_from(0, segments.data(), segments.size());
  ASSERT_EQ(count, 2u);
  EXPECT_EQ(segments[1].data(), value.data());
  EXPECT_EQ(bytes_of(buffer), header(0x01, 1, 8, static_cast<std::uint32_t>(9 + value.size())) +
                                  be32(0) + be32(0) + "k" + value);
}

TEST(BinaryRequestTest, DeleteIsTheKeyAlone) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_delete_request(out, "gone"); }),
            header(0x04, 4, 0, 4) + "gone");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_delete_request(out, "gone", {.opaque = 1, .quiet = true});
            }),
            header(0x14, 4, 0, 4, 1) + "gone");
}

TEST(BinaryRequestTest, ArithmeticCarriesDeltaInitialAndTtl) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_arithmetic_request(out, ArithmeticCommand::incr, "n",
                                               0xffffffffffffffff, 5, kBinaryNoAutoCreate);
            }),
            header(0x05, 1, 20, 21) + be64(0xffffffffffffffff) + be64(5) + be32(0xffffffff) + "n");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_arithmetic_request(out, ArithmeticCommand::decr, "n", 1, 0, 60,
                                               {.quiet = true});
            }),
            header(0x16, 1, 20, 21) + be64(1) + be64(0) + be32(60) + "n");
}

TEST(BinaryRequestTest, CommandsWithoutKeys) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_noop_request(out, 42); }),
            header(0x0a, 0, 0, 0, 42));
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_version_request(out); }),
            header(0x0b, 0, 0, 0));
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_flush_request(out, 0); }),
            header(0x08, 0, 4, 4) + be32(0));
  EXPECT_EQ(
      encoded([](RequestBuffer& out) { append_binary_flush_request(out, 30, {.quiet = true}); }),
      header(0x18, 0, 4, 4) + be32(30));
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_verbosity_request(out, 1); }),
            header(0x1b, 0, 4, 4) + be32(1));
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_quit_request(out); }),
            header(0x07, 0, 0, 0));
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_quit_request(out, {.quiet = true}); }),
            header(0x17, 0, 0, 0));
}

TEST(BinaryRequestTest, StatTakesAnOptionalGroupAsTheKey) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_stat_request(out, ""); }),
            header(0x10, 0, 0, 0));
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_stat_request(out, "settings", 3); }),
            header(0x10, 8, 0, 8, 3) + "settings");
}

TEST(BinaryRequestTest, SaslPutsTheMechanismInTheKeyAndTheMessageInTheValue) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_binary_sasl_list_request(out); }),
            header(0x20, 0, 0, 0));
  const std::string plain("\0user\0pw", 8);
  EXPECT_EQ(
      encoded([&](RequestBuffer& out) { append_binary_sasl_auth_request(out, "PLAIN", plain); }),
      header(0x21, 5, 0, 13) + "PLAIN" + plain);
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_binary_sasl_step_request(out, "CRAM-MD5", "user 0123");
            }),
            header(0x22, 8, 0, 17) + "CRAM-MD5" + "user 0123");
}

TEST(BinaryRequestTest, KeysMayHoldAnyByte) {
  const std::string key("a\0 \r\nb", 6);
  EXPECT_EQ(encoded([&](RequestBuffer& out) { append_binary_get_request(out, key, true); }),
            header(0x0c, 6, 0, 6) + key);
}

TEST(BinaryRequestTest, HeaderRoundTripsThroughTheDecoder) {
  const BinaryHeader written{.magic = kBinaryResponseMagic,
                             .opcode = 0x23,
                             .key_size = 0x1234,
                             .extras_size = 4,
                             .data_type = 0,
                             .status = 0x0086,
                             .body_size = 0x01020304,
                             .opaque = 0xfffffffe,
                             .cas = 0x8877665544332211};
  RequestBuffer buffer;
  append_binary_header(buffer, written);
  const std::string bytes = bytes_of(buffer);
  ASSERT_EQ(bytes.size(), kBinaryHeaderSize);
  const BinaryHeader read = decode_binary_header(bytes);
  EXPECT_EQ(read.magic, written.magic);
  EXPECT_EQ(read.opcode, written.opcode);
  EXPECT_EQ(read.key_size, written.key_size);
  EXPECT_EQ(read.extras_size, written.extras_size);
  EXPECT_EQ(read.status, written.status);
  EXPECT_EQ(read.body_size, written.body_size);
  EXPECT_EQ(read.opaque, written.opaque);
  EXPECT_EQ(read.cas, written.cas);
}

TEST(BinaryRequestTest, KnownOpcodesAreExactlyMemcachedsList) {
  int known = 0;
  for (int opcode = 0; opcode < 256; ++opcode) {
    if (is_known_opcode(static_cast<std::uint8_t>(opcode))) ++known;
  }
  EXPECT_EQ(known, 0x1c + 3 + 5);  // 0x00-0x1b, 0x1c-0x1e, 0x20-0x24
  EXPECT_FALSE(is_known_opcode(0x1f));
  EXPECT_FALSE(is_known_opcode(0x25));
  EXPECT_TRUE(is_known_opcode(0x24));
}

}  // namespace
}  // namespace fastmc::protocol
