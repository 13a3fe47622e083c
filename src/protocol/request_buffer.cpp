// SPDX-License-Identifier: MIT
#include "protocol/request_buffer.hpp"

#include <algorithm>
#include <array>

#include "protocol/decimal.hpp"

namespace fastmc::protocol {

void RequestBuffer::append_decimal(std::uint64_t value) {
  std::array<char, kMaxDecimalSize> digits;
  owned_.append(digits.data(), format_decimal(value, digits.data()));
}

void RequestBuffer::append_signed_decimal(std::int64_t value) {
  std::array<char, kMaxDecimalSize> digits;
  owned_.append(digits.data(), format_signed_decimal(value, digits.data()));
}

void RequestBuffer::append_value(std::string_view value) {
  value_spans_.push_back({size(), size() + value.size()});
  if (value.size() < kBorrowThreshold) {
    owned_.append(value);
    return;
  }
  // Only the position is recorded: the owned bytes around the value keep
  // growing in owned_, and segments_from() splices the value back in.
  borrowed_.push_back({owned_.size(), value});
  borrowed_size_ += value.size();
}

std::size_t RequestBuffer::segments_from(std::size_t offset, std::string_view* segments,
                                         std::size_t max_segments) const noexcept {
  const std::string_view owned = owned_;
  std::size_t count = 0;
  std::size_t position = 0;  // offset, in the whole request stream, of the next piece

  // Pieces that end at or before `offset`, and empty owned runs between two
  // borrowed values, produce no segment.
  const auto emit = [&](std::string_view piece) {
    const std::size_t start = position;
    position += piece.size();
    if (piece.empty() || position <= offset) {
      return;
    }
    if (offset > start) {
      piece.remove_prefix(offset - start);
    }
    segments[count++] = piece;
  };

  std::size_t owned_start = 0;
  for (const Borrowed& borrowed : borrowed_) {
    if (count == max_segments) {
      return count;
    }
    emit(owned.substr(owned_start, borrowed.at - owned_start));
    owned_start = borrowed.at;
    if (count == max_segments) {
      return count;
    }
    emit(borrowed.bytes);
  }
  if (count < max_segments) {
    emit(owned.substr(owned_start));
  }
  return count;
}

void RequestBuffer::prepend(std::string_view bytes) {
  owned_.insert(0, bytes);
  for (Borrowed& borrowed : borrowed_) borrowed.at += bytes.size();
  for (Span& span : value_spans_) {
    span.begin += bytes.size();
    span.end += bytes.size();
  }
}

void RequestBuffer::clear() noexcept {
  owned_.clear();
  borrowed_.clear();
  borrowed_size_ = 0;
  value_spans_.clear();
}

void RequestBuffer::shrink(std::size_t retained_size) {
  if (owned_.capacity() > std::max(retained_size, owned_.size())) {
    std::string smaller;
    smaller.reserve(std::max(retained_size, owned_.size()));
    smaller.append(owned_);
    owned_.swap(smaller);
  }
  if (borrowed_.capacity() * sizeof(Borrowed) > retained_size) {
    borrowed_.shrink_to_fit();
  }
  if (value_spans_.capacity() * sizeof(Span) > retained_size) {
    value_spans_.shrink_to_fit();
  }
}

}  // namespace fastmc::protocol
