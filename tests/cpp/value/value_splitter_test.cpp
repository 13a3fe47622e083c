// SPDX-License-Identifier: MIT
#include "value/value_splitter.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <zlib.h>

#include "support/value_vectors.hpp"

namespace fastmc::value {
namespace {

std::uint32_t crc32_of(std::string_view bytes) {
  return static_cast<std::uint32_t>(
      crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size())));
}

TEST(ValueSplitterTest, PlanMatchesWhatLibmcStored) {
  const auto rows = test::read_value_vectors("chunks.csv");
  ASSERT_EQ(rows.at(0).at(0), "value");
  const std::string key = rows[0].at(1);
  const std::size_t size = std::stoul(rows[0].at(2));
  std::string value(size, '\0');
  for (std::size_t index = 0; index < size; ++index) value[index] = static_cast<char>(index % 251);

  const auto plan = plan_split(key, value.size(), 0);
  ASSERT_TRUE(plan.has_value());
  ASSERT_EQ(rows.size(), plan->chunks.size() + 2);
  const auto& index_row = rows[1];
  EXPECT_EQ(test::bytes_of_hex(index_row.at(1)), key);
  EXPECT_EQ(std::stoul(index_row.at(2)), plan->index_flags);
  EXPECT_EQ(std::stoul(index_row.at(3)), plan->index_value.size());
  EXPECT_EQ(std::stoul(index_row.at(4)), crc32_of(plan->index_value));
  std::vector<std::optional<std::string>> chunks;
  for (std::size_t index = 0; index < plan->chunks.size(); ++index) {
    const ChunkPlan& chunk = plan->chunks[index];
    const auto& row = rows[index + 2];
    EXPECT_EQ(test::bytes_of_hex(row.at(1)), chunk.key);
    EXPECT_EQ(std::stoul(row.at(2)), 0u);
    EXPECT_EQ(std::stoul(row.at(3)), chunk.size);
    const std::string bytes = value.substr(chunk.offset, chunk.size);
    EXPECT_EQ(std::stoul(row.at(4)), crc32_of(bytes));
    chunks.emplace_back(bytes);
  }
  const ReassembleResult joined = reassemble(plan->index_value, chunks);
  ASSERT_EQ(joined.error, ReassembleError::none);
  EXPECT_EQ(joined.value, value);
}

TEST(ValueSplitterTest, ChunkKeysFollowLibmc) {
  EXPECT_EQ(chunk_key("k", 0), "~1k/0");
  EXPECT_EQ(chunk_key("large_value", 9), "~11large_value/9");
}

TEST(ValueSplitterTest, OnlyValuesBetweenOneAndTenChunksAreSplit) {
  EXPECT_FALSE(plan_split("k", kChunkSize, 0).has_value());
  EXPECT_EQ(plan_split("k", kChunkSize + 1, 0)->chunks.size(), 2u);
  EXPECT_EQ(plan_split("k", kChunkSize * kMaxChunkCount, 0)->chunks.size(), 10u);
  EXPECT_FALSE(plan_split("k", kChunkSize * kMaxChunkCount + 1, 0).has_value());
  EXPECT_FALSE(plan_split(std::string(kMaxSplitKeySize + 1, 'k'), kChunkSize + 1, 0).has_value());
  EXPECT_EQ(plan_split("k", kChunkSize + 1, 16 | 32)->index_flags, 16u | 32u | kChunkedFlag);
}

TEST(ValueSplitterTest, ReassembleValidatesTheChunks) {
  const std::string full(kChunkSize, 'a');
  const std::vector<std::optional<std::string>> good = {full, std::string("tail")};
  EXPECT_EQ(reassemble("2", good).value.size(), kChunkSize + 4);
  EXPECT_EQ(reassemble("3", good).error, ReassembleError::bad_count);
  EXPECT_EQ(reassemble("0", {}).error, ReassembleError::bad_count);
  EXPECT_EQ(reassemble("x", good).error, ReassembleError::bad_count);
  EXPECT_EQ(reassemble("11", good).error, ReassembleError::bad_count);
  EXPECT_EQ(reassemble("2", {full, std::nullopt}).error, ReassembleError::missing_chunk);
  EXPECT_EQ(reassemble("2", {std::string("short"), std::string("tail")}).error,
            ReassembleError::bad_chunk_size);
  EXPECT_EQ(reassemble("2", {full, std::string()}).error, ReassembleError::bad_chunk_size);
  EXPECT_EQ(reassemble("2", {full, full + "x"}).error, ReassembleError::bad_chunk_size);
  EXPECT_EQ(reassemble_error_name(ReassembleError::missing_chunk), "missing_chunk");
}

TEST(ValueSplitterTest, ParseChunkCountAcceptsOnlyOneToTen) {
  EXPECT_EQ(parse_chunk_count("1"), 1u);
  EXPECT_EQ(parse_chunk_count("10"), 10u);
  EXPECT_FALSE(parse_chunk_count("").has_value());
  EXPECT_FALSE(parse_chunk_count("-1").has_value());
  EXPECT_FALSE(parse_chunk_count("100").has_value());
}

}  // namespace
}  // namespace fastmc::value
