// SPDX-License-Identifier: MIT
#include "value/compression.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include <zlib.h>

namespace fastmc::value {
namespace {

bool is_due(const CompressionOptions& options, std::size_t size) noexcept {
  if (options.threshold == 0) return false;
  switch (options.rule) {
    case CompressionRule::never: return false;
    case CompressionRule::at_threshold_if_smaller: return size >= options.threshold;
    case CompressionRule::above_threshold_if_smaller:
    case CompressionRule::above_threshold_unless_larger:
    case CompressionRule::above_threshold_always: return size > options.threshold;
  }
  return false;
}

bool is_kept(CompressionRule rule, std::size_t original, std::size_t compressed) noexcept {
  switch (rule) {
    case CompressionRule::above_threshold_if_smaller:
    case CompressionRule::at_threshold_if_smaller: return compressed < original;
    case CompressionRule::above_threshold_unless_larger: return !(original < compressed);
    case CompressionRule::above_threshold_always: return true;
    case CompressionRule::never: return false;
  }
  return false;
}

}  // namespace

std::optional<std::string> compress_value(std::string_view value,
                                          const CompressionOptions& options) {
  if (!is_due(options, value.size())) return std::nullopt;
  if (value.size() > std::numeric_limits<uLong>::max()) return std::nullopt;
  const auto source_size = static_cast<uLong>(value.size());
  uLongf compressed_size = compressBound(source_size);
  std::string compressed(compressed_size, '\0');
  const int status = compress2(reinterpret_cast<Bytef*>(compressed.data()), &compressed_size,
                               reinterpret_cast<const Bytef*>(value.data()), source_size,
                               std::clamp(options.level, -1, 9));
  if (status != Z_OK) return std::nullopt;
  compressed.resize(compressed_size);
  if (!is_kept(options.rule, value.size(), compressed.size())) return std::nullopt;
  return compressed;
}

std::string_view inflate_error_name(InflateError error) noexcept {
  switch (error) {
    case InflateError::none: return "none";
    case InflateError::corrupt: return "corrupt_compressed_value";
    case InflateError::too_large: return "inflated_value_too_large";
  }
  return "unknown";
}

InflateResult inflate_value(std::string_view stored, std::size_t max_size) {
  InflateResult result;
  z_stream stream{};
  if (inflateInit(&stream) != Z_OK) {
    result.error = InflateError::corrupt;
    return result;
  }
  // Grow the output geometrically up to max_size rather than trusting any
  // size the server or the stream claims.
  std::string output;
  std::size_t produced = 0;
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(stored.data()));
  std::size_t input_left = stored.size();
  int status = Z_OK;
  while (true) {
    if (produced == output.size()) {
      if (output.size() == max_size + 1) break;
      const std::size_t grown = std::max<std::size_t>(output.size() * 2, 4096);
      output.resize(std::min(grown, max_size + 1));
    }
    const std::size_t input_chunk = std::min<std::size_t>(input_left, 1U << 30);
    const std::size_t output_chunk = std::min<std::size_t>(output.size() - produced, 1U << 30);
    stream.avail_in = static_cast<uInt>(input_chunk);
    stream.next_out = reinterpret_cast<Bytef*>(output.data() + produced);
    stream.avail_out = static_cast<uInt>(output_chunk);
    status = inflate(&stream, Z_NO_FLUSH);
    input_left -= input_chunk - stream.avail_in;
    produced += output_chunk - stream.avail_out;
    if (status == Z_STREAM_END) break;
    if (status != Z_OK && status != Z_BUF_ERROR) break;
    if (status == Z_BUF_ERROR && input_left == 0 && stream.avail_out != 0) break;
    if (produced > max_size) break;
  }
  inflateEnd(&stream);
  if (produced > max_size) {
    result.error = InflateError::too_large;
  } else if (status != Z_STREAM_END || input_left != 0) {
    result.error = InflateError::corrupt;
  } else {
    output.resize(produced);
    result.value = std::move(output);
  }
  return result;
}

}  // namespace fastmc::value
