// SPDX-License-Identifier: MIT
#include "net/read_buffer.hpp"

#include <algorithm>
#include <cstring>

namespace fastmc::net {

std::span<char> ReadBuffer::free_space(std::size_t min_free) {
  if (capacity_ - filled_ < min_free) {
    const std::size_t wanted = std::max({filled_ + min_free, capacity_ * 2, kInitialCapacity});
    // new char[] leaves the bytes uninitialised: a multi-megabyte value is
    // written once, by recv, not zeroed first.
    std::unique_ptr<char[]> grown(new char[wanted]);  // NOLINT(modernize-avoid-c-arrays)
    if (filled_ > 0) std::memcpy(grown.get(), data_.get(), filled_);
    data_ = std::move(grown);
    capacity_ = wanted;
  }
  return {data_.get() + filled_, capacity_ - filled_};
}

void ReadBuffer::reset() noexcept {
  filled_ = 0;
  parsed_ = 0;
  if (capacity_ > kRetainedCapacity) {
    data_.reset();
    capacity_ = 0;
  }
}

void ReadBuffer::keep_unparsed() noexcept {
  const std::size_t left = filled_ - parsed_;
  if (left == 0) {
    reset();
    return;
  }
  std::memmove(data_.get(), data_.get() + parsed_, left);
  filled_ = left;
  parsed_ = 0;
}

}  // namespace fastmc::net
