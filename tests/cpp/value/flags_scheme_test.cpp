// SPDX-License-Identifier: MIT
#include "value/flags_scheme.hpp"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace fastmc::value
