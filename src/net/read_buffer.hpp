// SPDX-License-Identifier: MIT
// ReadBuffer: bytes received from one server, lent to the reply parsers
// (net layer).
//
// Within one exchange the buffer only grows: parsed replies are recorded as
// offsets from its start, so they stay valid when it is reallocated, and
// nothing is moved until the exchange is over (reset). Memory is allocated
// uninitialised and kept between exchanges up to kRetainedCapacity.
//
// Thread-safety: one owner at a time.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>

namespace fastmc::net {

class ReadBuffer {
 public:
  static constexpr std::size_t kInitialCapacity = std::size_t{16} * 1024;
  // Kept after an exchange; a buffer grown larger for a big value is freed.
  static constexpr std::size_t kRetainedCapacity = std::size_t{4} * 1024 * 1024;

  // Bytes received but not yet parsed.
  [[nodiscard]] std::string_view unparsed() const noexcept {
    return {data_.get() + parsed_, filled_ - parsed_};
  }
  [[nodiscard]] std::size_t parsed_offset() const noexcept { return parsed_; }
  [[nodiscard]] const char* base() const noexcept { return data_.get(); }
  void consume(std::size_t size) noexcept { parsed_ += size; }

  // Room for at least `min_free` more bytes after the filled part; grows (and
  // may move the bytes) when needed.
  std::span<char> free_space(std::size_t min_free);
  void commit(std::size_t size) noexcept { filled_ += size; }

  // Forgets every byte. Requires: the caller is done with all views.
  void reset() noexcept;
  // Forgets the parsed bytes and moves the unparsed ones to the start (a
  // reply begun in one exchange and finished in the next). Requires: the
  // caller is done with all views.
  void keep_unparsed() noexcept;

 private:
  // Not std::vector: its bytes would be zeroed before recv writes them.
  std::unique_ptr<char[]> data_;  // NOLINT(modernize-avoid-c-arrays)
  std::size_t capacity_ = 0;
  std::size_t filled_ = 0;
  std::size_t parsed_ = 0;
};

}  // namespace fastmc::net
