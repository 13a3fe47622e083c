// SPDX-License-Identifier: MIT
#include "net/connection.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <utility>

#include "protocol/meta_reply_parser.hpp"
#include "protocol/printable.hpp"

namespace fastmc::net {
namespace {

constexpr std::size_t kMaxSegmentsPerWrite = 64;
constexpr std::size_t kReadChunk = 16 * 1024;
constexpr std::size_t kRetainedRequestCapacity = 1024 * 1024;
// A blocking recv() may end this much after the deadline; beyond it the
// connection polls with the exact time left instead.
constexpr auto kBlockingSlack = std::chrono::milliseconds(2);

ConnectionFailure failure_for_errno(int error) {
  switch (error) {
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
    case ENOTCONN: return ConnectionFailure::reset;
    default: return ConnectionFailure::io_error;
  }
}

// Where `view` starts in the buffer at `base`; an empty view may point
// nowhere, so it is recorded at the start.
std::size_t offset_in(const char* base, std::string_view view) {
  return view.empty() ? 0 : static_cast<std::size_t>(view.data() - base);
}

}  // namespace

Connection::Connection(Address address, ConnectionOptions options)
    : address_(std::move(address)), options_(options) {}

bool Connection::ensure_open(Deadline deadline) {
  if (socket_.is_open()) return true;
  const Deadline connect_deadline =
      options_.connect_timeout.count() > 0
          ? Deadline::earlier(deadline, Deadline::after(options_.connect_timeout))
          : deadline;
  ConnectOutcome outcome = connect_socket(
      address_, connect_deadline,
      SocketOptions{.tcp_nodelay = options_.tcp_nodelay, .receive_timeout = options_.call_timeout});
  if (outcome.failure != ConnectionFailure::none) {
    failure_ = outcome.failure;
    failure_detail_ = std::move(outcome.detail);
    return false;
  }
  socket_ = std::move(outcome.socket);
  exchanges_served_ = 0;
  return true;
}

void Connection::begin_exchange() {
  requests_.clear();
  requests_.shrink(kRetainedRequestCapacity);
  expected_.clear();
  records_.clear();
  read_buffer_.reset();
  written_ = 0;
  next_expected_ = 0;
  bytes_wanted_ = 0;
  received_any_ = false;
  trailing_ = false;
  pipeline_error_ = false;
  sink_ = ValueSink{};
  direct_ = DirectValue{};
  failure_ = ConnectionFailure::none;
  failure_detail_.clear();
}

bool Connection::run(Deadline deadline) {
  if (failure_ != ConnectionFailure::none) return false;
  // Replies are read while writing, so a large batch can never deadlock with
  // both sides blocked on full socket buffers.
  while (!all_written()) {
    if (!write_some()) return false;
    if (all_written()) break;
    const short events = static_cast<short>(POLLOUT | (all_replied() ? 0 : POLLIN));
    const int ready = wait_ready(socket_.fd(), events, deadline);
    if (ready == 0) {
      fail(ConnectionFailure::timed_out, "request not written before the deadline");
      return false;
    }
    if (ready < 0) {
      fail(ConnectionFailure::io_error, std::strerror(-ready));
      return false;
    }
    if ((ready & (POLLIN | POLLHUP | POLLERR)) != 0 && !read_some(false)) return false;
  }
  while (!all_replied()) {
    const bool may_block =
        options_.call_timeout.count() == 0
            ? deadline.is_never()
            : Deadline::Clock::now() + options_.call_timeout <= deadline.at() + kBlockingSlack;
    if (may_block) {
      if (!read_some(true)) return false;
      continue;
    }
    // Take what has already arrived before waiting: a batch finishing its
    // servers one by one finds most replies waiting, and those count even
    // when an earlier, stalled server used up the deadline.
    const std::uint64_t received_before = bytes_received_;
    if (!read_some(false)) return false;
    if (bytes_received_ != received_before) continue;
    const int ready = wait_ready(socket_.fd(), POLLIN, deadline);
    if (ready == 0) {
      fail(ConnectionFailure::timed_out, "no complete reply before the deadline");
      return false;
    }
    if (ready < 0) {
      fail(ConnectionFailure::io_error, std::strerror(-ready));
      return false;
    }
    if (!read_some(false)) return false;
  }
  finish_exchange();
  return true;
}

short Connection::wanted_events() const noexcept {
  if (failure_ != ConnectionFailure::none) return 0;
  short events = 0;
  if (!all_written()) events |= POLLOUT;
  if (!all_replied()) events |= POLLIN;
  return events;
}

Connection::Progress Connection::step(short revents) {
  if (failure_ != ConnectionFailure::none) return Progress::failed;
  if ((revents & POLLOUT) != 0 && !all_written() && !write_some()) return Progress::failed;
  if ((revents & (POLLIN | POLLHUP | POLLERR)) != 0 && !all_replied() && !read_some(false)) {
    return Progress::failed;
  }
  if (all_written() && all_replied()) {
    finish_exchange();
    return Progress::done;
  }
  return Progress::in_progress;
}

void Connection::fail(ConnectionFailure failure, std::string detail) {
  if (failure_ != ConnectionFailure::none) return;
  failure_ = failure;
  failure_detail_ = std::move(detail);
  socket_.close();
}

protocol::Reply Connection::reply(std::size_t index) const noexcept {
  const Record& record = records_[index];
  const char* base = read_buffer_.base();
  protocol::Reply reply;
  reply.status = record.status;
  reply.key = {base + record.key_offset, record.key_size};
  reply.data = record.sink_data != nullptr
                   ? std::string_view(record.sink_data, record.data_size)
                   : std::string_view(base + record.data_offset, record.data_size);
  reply.opaque = {base + record.opaque_offset, record.opaque_size};
  reply.flags = record.flags;
  reply.cas = record.cas;
  reply.number = record.number;
  reply.has_cas = record.has_cas;
  reply.meta_flags = record.meta_flags;
  reply.ttl = record.ttl;
  reply.last_access = record.last_access;
  reply.hit_before = record.hit_before;
  return reply;
}

bool Connection::write_some() {
  std::string_view segments[kMaxSegmentsPerWrite];
  const std::size_t count = requests_.segments_from(written_, segments, kMaxSegmentsPerWrite);
  const ssize_t sent = send_segments(socket_.fd(), segments, count);
  if (sent == -EAGAIN) return true;
  if (sent < 0) {
    fail(failure_for_errno(static_cast<int>(-sent)), std::strerror(static_cast<int>(-sent)));
    return false;
  }
  written_ += static_cast<std::size_t>(sent);
  return true;
}

bool Connection::read_some(bool may_block) {
  if (direct_.active) return receive_direct_value(may_block);
  const std::size_t pending = read_buffer_.unparsed().size();
  const std::size_t min_free = bytes_wanted_ > pending ? bytes_wanted_ - pending : kReadChunk;
  const std::span<char> space = read_buffer_.free_space(min_free);
  const ssize_t received = receive(socket_.fd(), space.data(), space.size(), may_block);
  if (received == 0) {
    fail(ConnectionFailure::closed_by_server, "the server closed the connection");
    return false;
  }
  if (received == -EAGAIN) return true;  // nothing yet; the caller checks its deadline
  if (received < 0) {
    fail(failure_for_errno(static_cast<int>(-received)),
         std::strerror(static_cast<int>(-received)));
    return false;
  }
  read_buffer_.commit(static_cast<std::size_t>(received));
  bytes_received_ += static_cast<std::size_t>(received);
  received_any_ = true;
  return parse_available();
}

bool Connection::parse_available() {
  while (!all_replied()) {
    const std::string_view input = read_buffer_.unparsed();
    if (direct_.awaiting_end) {
      // The value went to the sink; its CRLF comes through the read buffer.
      if (input.size() < 2) break;
      if (input.substr(0, 2) != "\r\n") {
        fail(ConnectionFailure::malformed_reply, "VALUE data block is not followed by CRLF");
        return false;
      }
      read_buffer_.consume(2);
      records_.push_back(direct_.record);
      direct_.awaiting_end = false;
      // A meta VA is a whole reply; a text VALUE is followed by more units.
      if (expected_[next_expected_].shape == Shape::meta) ++next_expected_;
      continue;
    }
    if (input.empty()) break;
    const Expectation expected = expected_[next_expected_];
    protocol::Reply reply;
    const protocol::ParseResult result =
        expected.shape == Shape::text
            ? protocol::parse_text_reply(input, expected.kind, options_.max_value_size, reply)
            : protocol::parse_meta_reply(input, options_.max_value_size, reply);
    if (result.status == protocol::ParseStatus::need_more) {
      if (result.needed > 0 && sink_ && start_direct_value(input, reply, result.needed)) {
        if (direct_.active) return true;
        continue;
      }
      bytes_wanted_ = result.needed;
      return true;
    }
    if (result.status == protocol::ParseStatus::malformed) {
      fail(ConnectionFailure::malformed_reply, std::string(result.problem) + " in reply \"" +
                                                   protocol::printable_excerpt(input) + "\"");
      return false;
    }
    records_.push_back(record_of(reply, static_cast<std::uint32_t>(next_expected_)));
    read_buffer_.consume(result.consumed);
    bytes_wanted_ = 0;
    switch (expected.shape) {
      case Shape::text:
        if (protocol::ends_reply(expected.kind, reply.status)) ++next_expected_;
        break;
      case Shape::meta: ++next_expected_; break;
      case Shape::meta_pipeline:
        if (reply.status == protocol::ReplyStatus::noop) {
          ++next_expected_;
        } else if (protocol::is_error(reply.status)) {
          pipeline_error_ = true;
        }
        break;
    }
  }
  if (all_replied() && !read_buffer_.unparsed().empty()) {
    // Every reply is in, yet more bytes came: the stream can no longer be
    // trusted. The replies already parsed answer their requests; the
    // connection is dropped after this exchange.
    trailing_ = true;
  }
  return true;
}

Connection::Record Connection::record_of(const protocol::Reply& reply,
                                         std::uint32_t request) const noexcept {
  const char* base = read_buffer_.base();
  return Record{
      .request = request,
      .status = reply.status,
      .has_cas = reply.has_cas,
      .flags = reply.flags,
      .key_size = static_cast<std::uint32_t>(reply.key.size()),
      .key_offset = offset_in(base, reply.key),
      .data_offset = offset_in(base, reply.data),
      .data_size = reply.data.size(),
      .cas = reply.cas,
      .number = reply.number,
      .sink_data = nullptr,
      .opaque_offset = offset_in(base, reply.opaque),
      .opaque_size = static_cast<std::uint8_t>(reply.opaque.size()),
      .hit_before = reply.hit_before,
      .meta_flags = reply.meta_flags,
      .ttl = reply.ttl,
      .last_access = reply.last_access,
  };
}

bool Connection::start_direct_value(std::string_view input, const protocol::Reply& header,
                                    std::size_t unit_size) {
  const std::size_t header_size = input.find('\n') + 1;
  const std::size_t value_size = unit_size - header_size - 2;
  if (value_size < sink_.min_size) return false;
  const std::span<char> storage = sink_.allocate(sink_.context, header.key, value_size);
  if (storage.size() < value_size) return false;
  direct_.record = record_of(header, static_cast<std::uint32_t>(next_expected_));
  direct_.record.status = protocol::ReplyStatus::value;
  direct_.record.data_offset = 0;
  direct_.record.data_size = value_size;
  direct_.record.sink_data = storage.data();
  // The value bytes already received move once; the rest never touch the
  // read buffer. The header stays there (consumed, not moved), so the key
  // and opaque offsets hold.
  const std::size_t ready = std::min(input.size() - header_size, value_size);
  std::memcpy(storage.data(), input.data() + header_size, ready);
  read_buffer_.consume(header_size + ready);
  direct_.storage = storage.data();
  direct_.received = ready;
  direct_.active = ready < value_size;
  direct_.awaiting_end = !direct_.active;
  bytes_wanted_ = 0;
  return true;
}

bool Connection::receive_direct_value(bool may_block) {
  const std::size_t left = direct_.record.data_size - direct_.received;
  const ssize_t received =
      receive(socket_.fd(), direct_.storage + direct_.received, left, may_block);
  if (received == 0) {
    fail(ConnectionFailure::closed_by_server, "the server closed the connection");
    return false;
  }
  if (received == -EAGAIN) return true;
  if (received < 0) {
    fail(failure_for_errno(static_cast<int>(-received)),
         std::strerror(static_cast<int>(-received)));
    return false;
  }
  received_any_ = true;
  bytes_received_ += static_cast<std::size_t>(received);
  direct_.received += static_cast<std::size_t>(received);
  if (direct_.received < direct_.record.data_size) return true;
  direct_.active = false;
  direct_.awaiting_end = true;
  return parse_available();
}

void Connection::finish_exchange() {
  ++exchanges_served_;
  if (pipeline_error_) {
    socket_.close();
    return;
  }
  if (trailing_) {
    trailing_ = false;
    failure_detail_ = "unexpected bytes after the last reply: \"" +
                      protocol::printable_excerpt(read_buffer_.unparsed()) + "\"";
    socket_.close();
  }
}

}  // namespace fastmc::net
