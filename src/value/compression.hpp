// SPDX-License-Identifier: MIT
// zlib compression of values (value layer): compress a value above a size
// threshold by the rule of the peer being reproduced, and inflate a stored
// value with a caller-given bound on the output, so a server can never make
// the client allocate without limit. Uses zlib (RFC 1950 streams, what every
// peer writes). Pure; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace fastmc::value {

// When a value is compressed, and when the compressed form is kept.
enum class CompressionRule : std::uint8_t {
  never,
  // size > threshold, kept iff strictly smaller (python-memcached 1.62
  // _val_to_store_info; fastmc's native rule).
  above_threshold_if_smaller,
  // size >= threshold, kept iff strictly smaller (pylibmc 1.6
  // min_compress_len, observed against the peer: 100 bytes with threshold
  // 100 are compressed, incompressible data is stored as is).
  at_threshold_if_smaller,
  // size > threshold, the original kept iff it is strictly smaller
  // (pymemcache 4.0 CompressedSerde: a tie keeps the compressed form).
  above_threshold_unless_larger,
  // size > threshold, always kept, even when larger (libmc comp_threshold).
  above_threshold_always,
};

struct CompressionOptions {
  CompressionRule rule = CompressionRule::above_threshold_if_smaller;
  // Size in bytes the rule compares with; 0 turns compression off, as in
  // every peer.
  std::size_t threshold = 0;
  // zlib level, 0 to 9; -1 is zlib's default (6), which every peer uses.
  int level = -1;
};

// The compressed form of `value`, or nullopt when the rule says to store the
// value as is (below the threshold, not smaller, rule never, or zlib
// refused). The caller then sets the scheme's compressed bit.
std::optional<std::string> compress_value(std::string_view value,
                                          const CompressionOptions& options);

enum class InflateError : std::uint8_t {
  none,
  corrupt,    // not a complete zlib stream (bad header, bad data, truncated, checksum)
  too_large,  // the output would exceed the caller's maximum
};

// A stable short name for logs and errors.
std::string_view inflate_error_name(InflateError error) noexcept;

struct InflateResult {
  std::string value;  // the inflated bytes; empty on error
  InflateError error = InflateError::none;
};

// Inflates the zlib stream `stored`, producing at most `max_size` bytes.
// Requires: max_size < SIZE_MAX.
// Bytes after the end of the stream are corrupt data (zlib.decompress
// refuses them too).
InflateResult inflate_value(std::string_view stored, std::size_t max_size);

}  // namespace fastmc::value
