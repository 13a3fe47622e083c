// SPDX-License-Identifier: MIT
#include "protocol/request_buffer.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

constexpr std::size_t kThreshold = RequestBuffer::kBorrowThreshold;

std::vector<std::string_view> segments_of(const RequestBuffer& buffer, std::size_t offset = 0,
                                          std::size_t max_segments = 64) {
  std::vector<std::string_view> segments(max_segments);
  segments.resize(buffer.segments_from(offset, segments.data(), max_segments));
  return segments;
}

std::string joined(const std::vector<std::string_view>& segments) {
  std::string bytes;
  for (const std::string_view segment : segments) {
    bytes.append(segment);
  }
  return bytes;
}

bool points_into(std::string_view segment, const std::string& memory) {
  return segment.data() >= memory.data() &&
         segment.data() + segment.size() <= memory.data() + memory.size();
}

// A value of `size` bytes that differ from their neighbours, so a piece that
// is misplaced or shifted by one shows in a comparison.
std::string patterned_value(std::size_t size, char first) {
  std::string value(size, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    value[i] = static_cast<char>(first + static_cast<int>(i % 23));
  }
  return value;
}

TEST(RequestBufferTest, StartsEmpty) {
  const RequestBuffer buffer;
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.size(), 0u);
  EXPECT_TRUE(segments_of(buffer).empty());
}

TEST(RequestBufferTest, AppendsBytesCharsAndDecimals) {
  RequestBuffer buffer;
  buffer.append("get");
  buffer.append(' ');
  buffer.append_decimal(std::numeric_limits<std::uint64_t>::max());
  buffer.append(' ');
  buffer.append_signed_decimal(-1);
  buffer.append(' ');
  buffer.append_signed_decimal(std::numeric_limits<std::int64_t>::min());
  EXPECT_EQ(joined(segments_of(buffer)), "get 18446744073709551615 -1 -9223372036854775808");
  EXPECT_EQ(buffer.size(), 48u);
}

TEST(RequestBufferTest, CopiesValuesBelowTheThreshold) {
  const std::string value = patterned_value(kThreshold - 1, 'a');
  RequestBuffer buffer;
  buffer.append("x");
  buffer.append_value(value);
  buffer.append("y");
  const auto segments = segments_of(buffer);
  ASSERT_EQ(segments.size(), 1u);
  EXPECT_FALSE(points_into(segments[0], value));
  EXPECT_EQ(segments[0], "x" + value + "y");
}

TEST(RequestBufferTest, BorrowsValuesAtTheThreshold) {
  const std::string value = patterned_value(kThreshold, 'a');
  RequestBuffer buffer;
  buffer.append("head\r\n");
  buffer.append_value(value);
  buffer.append("\r\n");
  const auto segments = segments_of(buffer);
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(segments[0], "head\r\n");
  EXPECT_EQ(segments[1].data(), value.data());
  EXPECT_EQ(segments[1].size(), value.size());
  EXPECT_EQ(segments[2], "\r\n");
  EXPECT_EQ(buffer.size(), 6 + kThreshold + 2);
}

TEST(RequestBufferTest, BorrowedValueIsReadFromTheCallersMemoryAtWriteTime) {
  std::string value = patterned_value(kThreshold + 5, 'a');
  RequestBuffer buffer;
  buffer.append_value(value);
  value[0] = 'Z';  // visible through the buffer: nothing was copied
  EXPECT_EQ(segments_of(buffer)[0][0], 'Z');
}

TEST(RequestBufferTest, EmptyValueAddsNothing) {
  RequestBuffer buffer;
  buffer.append_value("");
  EXPECT_TRUE(buffer.empty());
  EXPECT_TRUE(segments_of(buffer).empty());
}

TEST(RequestBufferTest, BufferHoldingOnlyABorrowedValueIsNotEmpty) {
  const std::string value = patterned_value(kThreshold, 'a');
  RequestBuffer buffer;
  buffer.append_value(value);
  EXPECT_FALSE(buffer.empty());
  EXPECT_EQ(buffer.size(), kThreshold);
  ASSERT_EQ(segments_of(buffer).size(), 1u);
}

TEST(RequestBufferTest, AdjacentBorrowedValuesLeaveNoEmptySegment) {
  const std::string first = patterned_value(kThreshold, 'a');
  const std::string second = patterned_value(kThreshold + 1, 'A');
  RequestBuffer buffer;
  buffer.append_value(first);
  buffer.append_value(second);
  const auto segments = segments_of(buffer);
  ASSERT_EQ(segments.size(), 2u);
  EXPECT_EQ(segments[0].data(), first.data());
  EXPECT_EQ(segments[1].data(), second.data());
}

// Layout: owned, borrowed, owned, borrowed, borrowed, owned.
struct MixedBuffer {
  std::string first = patterned_value(kThreshold, 'a');
  std::string second = patterned_value(kThreshold + 3, 'A');
  std::string third = patterned_value(kThreshold + 7, '0');
  std::string expected;
  RequestBuffer buffer;

  MixedBuffer() {
    const std::array<std::string_view, 6> pieces = {
        "set a 0 0 16384\r\n", first, "\r\nset b 0 0 16387\r\n", second, third, "\r\n"};
    buffer.append(pieces[0]);
    buffer.append_value(first);
    buffer.append(pieces[2]);
    buffer.append_value(second);
    buffer.append_value(third);
    buffer.append(pieces[5]);
    for (const std::string_view piece : pieces) {
      expected.append(piece);
    }
  }
};

TEST(RequestBufferTest, SegmentsFromZeroReconstructTheExactBytes) {
  const MixedBuffer mixed;
  const auto segments = segments_of(mixed.buffer);
  EXPECT_EQ(segments.size(), 6u);
  EXPECT_EQ(joined(segments), mixed.expected);
  EXPECT_EQ(mixed.buffer.size(), mixed.expected.size());
}

TEST(RequestBufferTest, SegmentsFromEveryOffsetReconstructTheExactBytes) {
  const MixedBuffer mixed;
  const std::string_view expected = mixed.expected;
  std::vector<std::string_view> segments(16);
  for (std::size_t offset = 0; offset <= expected.size(); ++offset) {
    const std::size_t count = mixed.buffer.segments_from(offset, segments.data(), segments.size());
    // Compared piece by piece, without joining, to keep this linear per offset.
    std::size_t position = offset;
    for (std::size_t i = 0; i < count; ++i) {
      ASSERT_FALSE(segments[i].empty()) << "offset " << offset;
      ASSERT_EQ(segments[i], expected.substr(position, segments[i].size())) << "offset " << offset;
      position += segments[i].size();
    }
    ASSERT_EQ(position, expected.size()) << "offset " << offset;
  }
}

TEST(RequestBufferTest, SegmentsFromAnOffsetStillBorrow) {
  const MixedBuffer mixed;
  const auto segments = segments_of(mixed.buffer, 17 + 100);
  ASSERT_EQ(segments.size(), 5u);
  EXPECT_EQ(segments[0].data(), mixed.first.data() + 100);
  EXPECT_EQ(segments[2].data(), mixed.second.data());
  EXPECT_EQ(segments[3].data(), mixed.third.data());
}

TEST(RequestBufferTest, SegmentsFromTheEndAreNone) {
  const MixedBuffer mixed;
  EXPECT_TRUE(segments_of(mixed.buffer, mixed.buffer.size()).empty());
}

TEST(RequestBufferTest, RespectsMaxSegments) {
  const MixedBuffer mixed;
  const auto all = segments_of(mixed.buffer);
  ASSERT_EQ(all.size(), 6u);
  for (std::size_t max_segments = 0; max_segments <= all.size() + 1; ++max_segments) {
    std::vector<std::string_view> segments(max_segments + 1, "untouched");
    const std::size_t count = mixed.buffer.segments_from(0, segments.data(), max_segments);
    ASSERT_EQ(count, std::min(max_segments, all.size()));
    for (std::size_t i = 0; i < count; ++i) {
      EXPECT_EQ(segments[i].data(), all[i].data());
      EXPECT_EQ(segments[i].size(), all[i].size());
    }
    EXPECT_EQ(segments[max_segments], "untouched") << "wrote past max_segments";
  }
}

TEST(RequestBufferTest, ClearForgetsOwnedAndBorrowedBytes) {
  MixedBuffer mixed;
  mixed.buffer.clear();
  EXPECT_TRUE(mixed.buffer.empty());
  EXPECT_EQ(mixed.buffer.size(), 0u);
  EXPECT_TRUE(segments_of(mixed.buffer).empty());
  mixed.buffer.append("version\r\n");
  EXPECT_EQ(joined(segments_of(mixed.buffer)), "version\r\n");
}

TEST(RequestBufferTest, ShrinkKeepsTheBytes) {
  MixedBuffer mixed;
  mixed.buffer.shrink(0);
  EXPECT_EQ(joined(segments_of(mixed.buffer)), mixed.expected);
}

TEST(RequestBufferTest, ShrinkAfterAHugeRequestLeavesAUsableBuffer) {
  RequestBuffer buffer;
  buffer.append(std::string(4 * kThreshold, 'x'));
  buffer.clear();
  buffer.shrink(1024);
  EXPECT_TRUE(buffer.empty());
  buffer.append("get k\r\n");
  EXPECT_EQ(joined(segments_of(buffer)), "get k\r\n");
}

TEST(RequestBufferTest, PrependPutsBytesAheadOfCopiedAndBorrowedValues) {
  RequestBuffer buffer;
  const std::string large(kThreshold, 'L');
  buffer.append("set a\r\n");
  buffer.append_value(large);
  buffer.append("\r\nend");
  buffer.prepend("mn\r\n");
  EXPECT_EQ(joined(segments_of(buffer)), "mn\r\nset a\r\n" + large + "\r\nend");
  ASSERT_EQ(buffer.value_spans().size(), 1u);
  EXPECT_EQ(buffer.value_spans()[0].begin, 11u);
  EXPECT_EQ(buffer.value_spans()[0].end, 11u + large.size());
}

}  // namespace
}  // namespace fastmc::protocol
