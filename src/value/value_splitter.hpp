// SPDX-License-Identifier: MIT
// libmc's format for values too big for one item (do_split, value layer):
// a value of more than kChunkSize bytes and at most kMaxChunkCount chunks is
// stored as chunks under the keys `~{len(key)}{key}/{i}` (i = 0..n-1, with
// the value's flags), then the main key stores the ASCII chunk count with
// flags | kChunkedFlag (libmc/_client.pyx; checked against libmc 1.4.17 in
// tests/data/values/chunks.csv). Pure; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fastmc::value {

inline constexpr std::size_t kChunkSize = 1'000'000;
inline constexpr std::size_t kMaxChunkCount = 10;
inline constexpr std::uint32_t kChunkedFlag = 4096;
// libmc splits only keys of at most this many bytes.
inline constexpr std::size_t kMaxSplitKeySize = 200;

// One chunk: its key and the [offset, offset + size) bytes of the value.
struct ChunkPlan {
  std::string key;
  std::size_t offset = 0;
  std::size_t size = 0;
};

struct SplitPlan {
  std::vector<ChunkPlan> chunks;
  std::string index_value;        // the ASCII chunk count stored under the main key
  std::uint32_t index_flags = 0;  // the value's flags | kChunkedFlag
};

// The key of chunk `index` of `key`.
std::string chunk_key(std::string_view key, std::size_t index);

// Whether libmc splits a value of `value_size` bytes under `key`: iff
// value_size > kChunkSize, value_size <= kChunkSize * kMaxChunkCount and the
// key has at most kMaxSplitKeySize bytes.
bool is_split(std::string_view key, std::size_t value_size) noexcept;

// The chunks of a value, or nullopt when is_split is false (the value is
// stored whole, or is too big for libmc).
std::optional<SplitPlan> plan_split(std::string_view key, std::size_t value_size,
                                    std::uint32_t flags);

// The chunk count an index item holds: its value must be ASCII decimal
// between 1 and kMaxChunkCount. nullopt otherwise.
std::optional<std::size_t> parse_chunk_count(std::string_view index_value) noexcept;

enum class ReassembleError : std::uint8_t {
  none,
  bad_count,       // the index is not a count in 1..kMaxChunkCount
  missing_chunk,   // a chunk is absent (evicted, expired, or not yet written)
  bad_chunk_size,  // a chunk other than the last is not kChunkSize bytes, or one is empty or too
                   // big
  too_large,       // the total exceeds kChunkSize * kMaxChunkCount
};

std::string_view reassemble_error_name(ReassembleError error) noexcept;

struct ReassembleResult {
  std::string value;
  ReassembleError error = ReassembleError::none;
};

// Joins the chunks read for an index holding `index_value`; `chunks[i]` is
// chunk i, nullopt when it was a miss. libmc itself only concatenates; the
// size checks reject what its writer never produces.
ReassembleResult reassemble(std::string_view index_value,
                            const std::vector<std::optional<std::string>>& chunks);

}  // namespace fastmc::value
