// SPDX-License-Identifier: MIT
#include "value/flags_scheme.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/value_vectors.hpp"
#include "value/compression.hpp"

namespace fastmc::value {
namespace {

TEST(FlagsSchemeTest, NativeKindsRoundTripThroughTheirFlags) {
  for (const ValueKind kind :
       {ValueKind::bytes, ValueKind::text, ValueKind::integer, ValueKind::boolean}) {
    EXPECT_EQ(native_kind_of(native_flags_for(kind)), kind);
  }
}

TEST(FlagsSchemeTest, TheFamilysFlagsAreTheOnesWritten) {
  // python-memcached, pylibmc and pymemcache read 0 as bytes, 16 as text and
  // 2 or 4 as an integer; fastmc must write exactly those.
  EXPECT_EQ(native_flags_for(ValueKind::bytes), 0u);
  EXPECT_EQ(native_flags_for(ValueKind::text), 16u);
  EXPECT_EQ(native_flags_for(ValueKind::integer), 4u);
  EXPECT_EQ(native_flags_for(ValueKind::boolean) & 2u, 2u);
}

TEST(FlagsSchemeTest, IntegersWrittenByPymemcacheReadAsIntegers) {
  EXPECT_EQ(native_kind_of(2), ValueKind::integer);
}

TEST(FlagsSchemeTest, ForeignFlagsAreNotGuessed) {
  EXPECT_FALSE(native_kind_of(1).has_value());   // pickle: only a serde may read it
  EXPECT_FALSE(native_kind_of(8).has_value());   // zlib in the family, bool in libmc
  EXPECT_FALSE(native_kind_of(32).has_value());  // libmc marshal
}

const std::map<std::string, Peer>& peers_by_name() {
  static const std::map<std::string, Peer> peers = {
      {"pylibmc", Peer::pylibmc},       {"python_memcached", Peer::python_memcached},
      {"pymemcache", Peer::pymemcache}, {"pymemcache_default", Peer::pymemcache_default},
      {"libmc", Peer::libmc},
  };
  return peers;
}

PythonType python_type_of_case(const std::string& name) {
  static const std::map<std::string, PythonType> types = {
      {"bytes", PythonType::bytes},
      {"empty_bytes", PythonType::bytes},
      {"str", PythonType::str},
      {"int", PythonType::integer},
      {"negative_int", PythonType::integer},
      {"large_int", PythonType::integer},
      {"true", PythonType::boolean},
      {"false", PythonType::boolean},
      {"float", PythonType::floating_point},
      {"list", PythonType::other},
      {"dict", PythonType::other},
      {"compressed_str", PythonType::str},
      {"compressed_bytes", PythonType::bytes},
  };
  return types.at(name);
}

bool is_decimal(const std::string& text) {
  if (text.empty()) return false;
  for (std::size_t index = 0; index < text.size(); ++index) {
    const char digit = text[index];
    if (!(digit >= '0' && digit <= '9') && !(index == 0 && digit == '-')) return false;
  }
  return true;
}

class PeerVectorsTest : public testing::Test {
 protected:
  void SetUp() override { test::read_encodings(written_, reads_); }

  const test::WrittenValue& written(const std::string& writer, const std::string& name) const {
    for (const auto& value : written_) {
      if (value.writer == writer && value.name == name) return value;
    }
    throw std::runtime_error("no vector " + writer + "," + name);
  }

  std::vector<test::WrittenValue> written_;
  std::vector<test::ReadOutcome> reads_;
};

TEST_F(PeerVectorsTest, EveryPeerWritesTheFlagsOfItsScheme) {
  ASSERT_GE(written_.size(), 60u);
  for (const auto& value : written_) {
    SCOPED_TRACE(value.writer + "," + value.name);
    const FlagsScheme& scheme = flags_scheme(peers_by_name().at(value.writer));
    std::uint32_t expected =
        flags_for(scheme, kind_written(scheme, python_type_of_case(value.name)));
    if (value.name.rfind("compressed_", 0) == 0) expected |= scheme.compressed;
    EXPECT_EQ(value.flags, expected);
  }
}

TEST_F(PeerVectorsTest, EveryPeerReadsEveryVectorAsDecodeKindSays) {
  ASSERT_GE(reads_.size(), 300u);
  const std::set<StoredKind> serialized = {StoredKind::pickle, StoredKind::marshal};
  for (const auto& read : reads_) {
    SCOPED_TRACE(read.writer + "," + read.name + " read by " + read.reader + ": " + read.outcome);
    const test::WrittenValue& value = written(read.writer, read.name);
    const DecodedFlags decoded =
        decode_kind(flags_scheme(peers_by_name().at(read.reader)), value.flags);
    std::string payload = value.stored;
    bool inflate_failed = false;
    if (decoded.compressed) {
      InflateResult inflated = inflate_value(value.stored, 1U << 20);
      inflate_failed = inflated.error != InflateError::none;
      payload = inflated.value;
    }
    const std::string& outcome = read.outcome;
    if (outcome == "error:Error" || outcome == "error:error" ||
        (outcome == "NoneType" && read.reader == "libmc")) {
      // pylibmc "Failed to decompress value", zlib.error, libmc's None.
      EXPECT_TRUE(decoded.compressed && inflate_failed);
      continue;
    }
    ASSERT_FALSE(inflate_failed);
    ASSERT_FALSE(decoded.chunked);
    if (outcome == "error:ValueError") {
      // python-memcached's unknown flags, or int() of what is not a number.
      const bool is_number_kind = decoded.kind == StoredKind::boolean ||
                                  decoded.kind == StoredKind::integer ||
                                  decoded.kind == StoredKind::long_integer;
      EXPECT_TRUE(!decoded.kind || (is_number_kind && !is_decimal(payload)));
      continue;
    }
    ASSERT_TRUE(decoded.kind.has_value());
    const StoredKind kind = *decoded.kind;
    if (outcome == "error:UnicodeDecodeError") {
      EXPECT_EQ(kind, StoredKind::text);
    } else if (outcome == "bytes") {
      EXPECT_EQ(kind, StoredKind::bytes);
    } else if (outcome == "str") {
      EXPECT_TRUE(kind == StoredKind::text || serialized.count(kind) == 1);
    } else if (outcome == "int") {
      EXPECT_TRUE(kind == StoredKind::integer || kind == StoredKind::long_integer ||
                  serialized.count(kind) == 1);
      if (serialized.count(kind) == 0) {
        EXPECT_TRUE(is_decimal(payload));
      }
    } else if (outcome == "bool") {
      EXPECT_TRUE(kind == StoredKind::boolean || serialized.count(kind) == 1);
    } else {
      EXPECT_TRUE(outcome == "float" || outcome == "list" || outcome == "dict");
      EXPECT_EQ(serialized.count(kind), 1u);
    }
  }
}

TEST(FlagsSchemeTest, PylibmcRejectsMixedTypeBits) {
  const FlagsScheme& pylibmc = flags_scheme(Peer::pylibmc);
  for (const std::uint32_t flags : {3u, 5u, 17u, 1u | 2u | 4u}) {
    EXPECT_FALSE(decode_kind(pylibmc, flags).kind.has_value()) << flags;
  }
  EXPECT_EQ(decode_kind(pylibmc, 64).kind, StoredKind::bytes);  // outside its mask
  EXPECT_EQ(decode_kind(pylibmc, 2).kind, StoredKind::integer);
  const DecodedFlags libmc_bool = decode_kind(pylibmc, 8);
  EXPECT_TRUE(libmc_bool.compressed);
  EXPECT_EQ(libmc_bool.kind, StoredKind::bytes);
}

TEST(FlagsSchemeTest, FirstMatchPeersTakeTheirOrder) {
  // Observed against the peers with raw flags 3: both read an integer.
  EXPECT_EQ(decode_kind(flags_scheme(Peer::python_memcached), 3).kind, StoredKind::integer);
  EXPECT_EQ(decode_kind(flags_scheme(Peer::libmc), 3).kind, StoredKind::integer);
  EXPECT_EQ(decode_kind(flags_scheme(Peer::libmc), 10).kind, StoredKind::boolean);
  EXPECT_EQ(decode_kind(flags_scheme(Peer::python_memcached), 17).kind, StoredKind::text);
}

TEST(FlagsSchemeTest, UnknownBitsAreErrorsOnlyWherePeersRaise) {
  EXPECT_FALSE(decode_kind(flags_scheme(Peer::python_memcached), 64).kind.has_value());
  EXPECT_EQ(decode_kind(flags_scheme(Peer::pymemcache), 64).kind, StoredKind::bytes);
  EXPECT_EQ(decode_kind(flags_scheme(Peer::libmc), 64).kind, StoredKind::bytes);
  EXPECT_EQ(decode_kind(flags_scheme(Peer::pymemcache_default), 1).kind, StoredKind::bytes);
  EXPECT_FALSE(decode_kind(flags_scheme(Peer::native), 1).kind.has_value());
}

TEST(FlagsSchemeTest, LibmcChunkIndexKeepsTheValuesFlags) {
  const DecodedFlags decoded = decode_kind(flags_scheme(Peer::libmc), 4096 | 16 | 32);
  EXPECT_TRUE(decoded.chunked);
  EXPECT_TRUE(decoded.compressed);
  EXPECT_EQ(decoded.kind, StoredKind::marshal);
}

TEST(FlagsSchemeTest, NativeSchemeAgreesWithNativeKindOf) {
  const FlagsScheme& native = flags_scheme(Peer::native);
  EXPECT_EQ(decode_kind(native, 0).kind, StoredKind::bytes);
  EXPECT_EQ(decode_kind(native, 16).kind, StoredKind::text);
  EXPECT_EQ(decode_kind(native, 4).kind, StoredKind::long_integer);
  EXPECT_EQ(decode_kind(native, 2 | 256).kind, StoredKind::boolean);
  EXPECT_EQ(flags_for(native, kind_written(native, PythonType::boolean)), 2u | 256u);
}

}  // namespace
}  // namespace fastmc::value
