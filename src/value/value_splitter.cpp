// SPDX-License-Identifier: MIT
#include "value/value_splitter.hpp"

#include <string>

namespace fastmc::value {

std::string chunk_key(std::string_view key, std::size_t index) {
  std::string result = "~";
  result += std::to_string(key.size());
  result += key;
  result += '/';
  result += std::to_string(index);
  return result;
}

bool is_split(std::string_view key, std::size_t value_size) noexcept {
  return value_size > kChunkSize && value_size <= kChunkSize * kMaxChunkCount &&
         key.size() <= kMaxSplitKeySize;
}

std::optional<SplitPlan> plan_split(std::string_view key, std::size_t value_size,
                                    std::uint32_t flags) {
  if (!is_split(key, value_size)) return std::nullopt;
  SplitPlan plan;
  for (std::size_t offset = 0; offset < value_size; offset += kChunkSize) {
    const std::size_t size = value_size - offset < kChunkSize ? value_size - offset : kChunkSize;
    plan.chunks.push_back({chunk_key(key, plan.chunks.size()), offset, size});
  }
  plan.index_value = std::to_string(plan.chunks.size());
  plan.index_flags = flags | kChunkedFlag;
  return plan;
}

std::optional<std::size_t> parse_chunk_count(std::string_view index_value) noexcept {
  if (index_value.empty() || index_value.size() > 2) return std::nullopt;
  std::size_t count = 0;
  for (const char digit : index_value) {
    if (digit < '0' || digit > '9') return std::nullopt;
    count = count * 10 + static_cast<std::size_t>(digit - '0');
  }
  if (count == 0 || count > kMaxChunkCount) return std::nullopt;
  return count;
}

std::string_view reassemble_error_name(ReassembleError error) noexcept {
  switch (error) {
    case ReassembleError::none: return "none";
    case ReassembleError::bad_count: return "bad_chunk_count";
    case ReassembleError::missing_chunk: return "missing_chunk";
    case ReassembleError::bad_chunk_size: return "bad_chunk_size";
    case ReassembleError::too_large: return "split_value_too_large";
  }
  return "unknown";
}

ReassembleResult reassemble(std::string_view index_value,
                            const std::vector<std::optional<std::string>>& chunks) {
  ReassembleResult result;
  const std::optional<std::size_t> count = parse_chunk_count(index_value);
  if (!count || chunks.size() != *count) {
    result.error = ReassembleError::bad_count;
    return result;
  }
  std::size_t total = 0;
  for (std::size_t index = 0; index < chunks.size(); ++index) {
    if (!chunks[index]) {
      result.error = ReassembleError::missing_chunk;
      return result;
    }
    const std::size_t size = chunks[index]->size();
    const bool is_last = index + 1 == chunks.size();
    // The writer fills every chunk but the last; the last is never empty.
    if (is_last ? (size == 0 || size > kChunkSize) : size != kChunkSize) {
      result.error = ReassembleError::bad_chunk_size;
      return result;
    }
    total += size;
  }
  if (total > kChunkSize * kMaxChunkCount) {
    result.error = ReassembleError::too_large;
    return result;
  }
  result.value.reserve(total);
  for (const std::optional<std::string>& chunk : chunks) result.value += *chunk;
  return result;
}

}  // namespace fastmc::value
