// SPDX-License-Identifier: MIT
// RequestBuffer: the bytes of requests waiting to be written to one server,
// in order (protocol layer).
//
// Encoders append to it. Small values are copied in; a value of at least
// kBorrowThreshold bytes is borrowed (referenced, not copied) so that large
// values go to the socket straight from the caller's memory.
//
// Thread-safety: none; owned by one connection at a time.
// Lifetime: a borrowed value must stay alive and unchanged until clear().
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fastmc::protocol {

class RequestBuffer {
 public:
  // Values this large or larger are borrowed instead of copied.
  static constexpr std::size_t kBorrowThreshold = std::size_t{16} * 1024;

  void append(std::string_view bytes) { owned_.append(bytes); }
  void append(char byte) { owned_.push_back(byte); }
  void append_decimal(std::uint64_t value);
  void append_signed_decimal(std::int64_t value);
  // Appends a value, copying it if small and borrowing it otherwise.
  void append_value(std::string_view value);

  [[nodiscard]] bool empty() const noexcept { return owned_.empty() && borrowed_.empty(); }
  // Total bytes, copied and borrowed.
  [[nodiscard]] std::size_t size() const noexcept { return owned_.size() + borrowed_size_; }

  // Fills `segments` with the pieces that hold the bytes from `offset` to the
  // end, in order, at most `max_segments` of them; returns how many. The views
  // are valid until the buffer is next changed.
  std::size_t segments_from(std::size_t offset, std::string_view* segments,
                            std::size_t max_segments) const noexcept;

  // Where each value appended lies in the buffer, in order: its first byte
  // and one past its last (the CRLF after it not included). A transport
  // that cuts the stream into records (TLS) needs them: memcached reads a
  // value's remaining bytes with a read of exactly their size, so a record
  // that runs on past a value's CRLF would leave the rest unread in the
  // server's TLS buffer (docs/security.md, "memcached's TLS reads").
  struct Span {
    std::size_t begin;
    std::size_t end;
  };
  [[nodiscard]] const std::vector<Span>& value_spans() const noexcept { return value_spans_; }

  // Puts `bytes` before everything appended so far (a connection's fence
  // for earlier quiet requests, ahead of an exchange's own).
  void prepend(std::string_view bytes);

  void clear() noexcept;
  // Drops memory above `retained_size` so one huge request does not pin it.
  void shrink(std::size_t retained_size);

 private:
  struct Borrowed {
    std::size_t at;  // offset in owned_ before which the borrowed bytes go
    std::string_view bytes;
  };

  std::string owned_;
  std::vector<Borrowed> borrowed_;
  std::size_t borrowed_size_ = 0;
  std::vector<Span> value_spans_;
};

}  // namespace fastmc::protocol
