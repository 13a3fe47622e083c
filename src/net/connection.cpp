// SPDX-License-Identifier: MIT
#include "net/connection.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <utility>

#include "net/sasl_client.hpp"
#include "protocol/binary_reply_parser.hpp"
#include "protocol/binary_request.hpp"
#include "protocol/meta_reply_parser.hpp"
#include "protocol/meta_request.hpp"
#include "protocol/printable.hpp"
#include "protocol/text_request.hpp"

namespace fastmc::net {
namespace {

constexpr std::size_t kMaxSegmentsPerWrite = 64;
constexpr std::size_t kReadChunk = std::size_t{16} * 1024;
constexpr std::size_t kRetainedRequestCapacity = std::size_t{1024} * 1024;
// A call that started this long ago may still wait for its reply in one
// blocking recv(); later it polls with the exact time left instead.
constexpr auto kBlockingSlack = std::chrono::milliseconds(2);

// SO_RCVTIMEO for a call timeout. The kernel keeps it on its timer wheel,
// which fires up to an eighth of the timeout and a jiffy late (measured:
// 34 ms late at 250 ms, 16 to 34 ms at 1 s), where poll()'s hrtimer is
// exact. So a blocking recv() gets three quarters of the call timeout less
// 10 ms, and ends before the deadline however late the wheel fires it; a
// reply still missing then is waited for with poll(), to the deadline. Zero
// (no blocking recv at all) for timeouts too short to leave a share.
std::chrono::nanoseconds blocking_receive_timeout(std::chrono::nanoseconds call_timeout) {
  const std::chrono::nanoseconds share = call_timeout * 3 / 4 - std::chrono::milliseconds(10);
  return std::max(share, std::chrono::nanoseconds(0));
}
// The key of memcached's ASCII authentication request. A server in -Y mode
// ignores it; a server without -Y stores the item, so the request also
// carries a negative ttl: the credentials are stored already expired.
constexpr std::string_view kAsciiAuthKey = "fastmc:ascii-auth";
// How memcached -Y answers a client that has not authenticated: any command
// but set, or a set, taken as the credentials, that are not "user password"
// or not right.
bool asks_for_authentication(const protocol::Reply& reply) noexcept {
  return reply.status == protocol::ReplyStatus::client_error &&
         (reply.data == "unauthenticated" || reply.data == "bad authentication token format" ||
          reply.data == "authentication failure");
}

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
    : address_(std::move(address)), options_(std::move(options)) {}

bool Connection::ensure_open(Deadline deadline) {
  if (socket_.is_open()) return true;
  const Deadline connect_deadline =
      options_.connect_timeout.count() > 0
          ? Deadline::earlier(deadline, Deadline::after(options_.connect_timeout))
          : deadline;
  ConnectOutcome outcome = connect_socket(
      address_, connect_deadline,
      SocketOptions{.tcp_nodelay = options_.tcp_nodelay,
                    .receive_timeout = blocking_receive_timeout(options_.call_timeout)});
  if (outcome.failure != ConnectionFailure::none) {
    failure_ = outcome.failure;
    failure_detail_ = std::move(outcome.detail);
    return false;
  }
  socket_ = std::move(outcome.socket);
  if (options_.tls) {
    tls_ = std::make_unique<TlsStream>(*options_.tls, socket_.fd(),
                                       address_.kind == Address::Kind::tcp ? address_.host : "");
    const ConnectionFailure handshake = tls_->handshake(connect_deadline);
    if (handshake != ConnectionFailure::none) {
      failure_ = handshake;
      failure_detail_ = tls_->error();
      close_transport();
      return false;
    }
  }
  // After connect, before the first request.
  if (!authenticate(connect_deadline)) return false;
  exchanges_served_ = 0;
  return true;
}

bool Connection::authenticate(Deadline deadline) {
  switch (options_.authentication) {
    case ConnectionOptions::Authentication::none: return true;
    case ConnectionOptions::Authentication::ascii: return authenticate_ascii(deadline);
    case ConnectionOptions::Authentication::sasl: return authenticate_sasl(deadline);
  }
  return true;
}

bool Connection::authenticate_ascii(Deadline deadline) {
  begin_exchange();
  protocol::append_storage_request(requests_, protocol::StorageCommand::set, kAsciiAuthKey, 0, -1,
                                   options_.username + ' ' + options_.password, 0, false);
  expect(protocol::TextReplyKind::storage);
  if (!run(deadline)) {
    if (failure_ == ConnectionFailure::timed_out) {
      failure_ = ConnectionFailure::connect_timeout;
      failure_detail_ = "no answer to the authentication request before the connect deadline";
    }
    return false;
  }
  const protocol::Reply answer = reply(0);
  if (answer.status != protocol::ReplyStatus::stored) {
    fail(ConnectionFailure::auth_failed,
         answer.status == protocol::ReplyStatus::client_error
             ? "the server refused the credentials of user \"" +
                   protocol::printable_excerpt(options_.username) + "\" (CLIENT_ERROR " +
                   protocol::printable_excerpt(answer.data) + ")"
             : "the server answered " + std::string(protocol::name_of(answer.status)) +
                   " to ASCII authentication (is it memcached started with -Y?)");
    return false;
  }
  if (!socket_.is_open()) {  // bytes after STORED: closed by finish_exchange
    fail(ConnectionFailure::trailing_data, failure_detail_);
    return false;
  }
  return true;
}

void Connection::close_transport(bool reset) noexcept {
  tls_.reset();
  if (reset) {
    socket_.reset();
  } else {
    socket_.close();
  }
  // What the old socket owed never comes on a new one.
  owed_fences_ = 0;
  unfenced_ = 0;
}

void Connection::drop_if_not_quiet(std::chrono::steady_clock::time_point now) noexcept {
  if (!socket_.is_open() || tls_ != nullptr || now - idle_since_ < kQuietCheckAfter) return;
  if (owed_fences_ > 0) take_arrived_fences();
  if (owed_fences_ == 0 && unfenced_ == 0) {
    if (!is_quiet(socket_.fd())) close_transport();
    return;
  }
  char byte;
  if (read_buffer_.unparsed().empty() && peek(socket_.fd(), &byte, 1) == 0) close_transport();
}

void Connection::send_quietly(std::size_t count, Fence fence) {
  fence_ = fence;
  unfenced_ += count;
  if (unfenced_ < kFenceEvery) return;
  requests_.append(fence_request());
  ++owed_fences_;
  unfenced_ = 0;
}

std::string_view Connection::fence_request() const noexcept {
  return fence_ == Fence::binary ? protocol::kBinaryFenceRequest : protocol::kMetaNoopRequest;
}

void Connection::fence_quiet_requests() {
  if (unfenced_ == 0 || expected_.empty() || written_ > 0) return;
  requests_.prepend(fence_request());
  ++owed_fences_;
  unfenced_ = 0;
}

void Connection::take_arrived_fences() noexcept {
  // Bytes left unparsed by the last exchange come before anything on the
  // socket: the next exchange settles them.
  if (!read_buffer_.unparsed().empty()) return;
  const std::string_view fence =
      fence_ == Fence::binary ? protocol::kBinaryFenceReply : std::string_view("MN\r\n");
  constexpr std::size_t kMaxTaken = 64;
  std::array<char, kMaxTaken * protocol::kBinaryFenceReply.size()> bytes;
  const std::size_t wanted = std::min(owed_fences_, kMaxTaken) * fence.size();
  const ssize_t peeked = peek(socket_.fd(), bytes.data(), wanted);
  if (peeked <= 0) return;  // nothing yet, or closed: the quiet check is for later
  std::size_t fences = 0;
  while ((fences + 1) * fence.size() <= static_cast<std::size_t>(peeked) &&
         std::string_view(bytes.data() + fences * fence.size(), fence.size()) == fence) {
    ++fences;
  }
  if (fences == 0) return;
  const ssize_t taken = receive(socket_.fd(), bytes.data(), fences * fence.size(), false);
  // recv takes at least what the peek saw; anything short of that leaves the
  // stream at an unknown place, so the connection is not used again.
  if (taken != static_cast<ssize_t>(fences * fence.size())) {
    close_transport();
    return;
  }
  bytes_received_ += static_cast<std::size_t>(taken);
  owed_fences_ -= fences;
}

void Connection::begin_exchange() {
  requests_.clear();
  requests_.shrink(kRetainedRequestCapacity);
  expected_.clear();
  records_.clear();
  // Owed replies, or answers of quiet requests not yet fenced, may have come
  // with the last exchange's bytes: they are the next exchange's to settle.
  if (owed_fences_ > 0 || unfenced_ > 0) {
    read_buffer_.keep_unparsed();
  } else {
    read_buffer_.reset();
  }
  written_ = 0;
  next_expected_ = 0;
  bytes_wanted_ = 0;
  received_any_ = false;
  trailing_ = false;
  pipeline_error_ = false;
  owed_error_ = false;
  batch_last_opaque_ = -1;
  sink_ = ValueSink{};
  direct_ = DirectValue{};
  failure_ = ConnectionFailure::none;
  failure_detail_.clear();
}

bool Connection::run(Deadline deadline) {
  if (failure_ != ConnectionFailure::none) return false;
  fence_quiet_requests();
  // Replies are read while writing, so a large batch can never deadlock with
  // both sides blocked on full socket buffers.
  while (!all_written()) {
    if (!write_some()) return false;
    if (all_written()) break;
    const auto events = static_cast<short>(POLLOUT | (all_replied() ? 0 : POLLIN));
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
    // Without a call timeout SO_RCVTIMEO is unset: a recv() may block only
    // when the call may wait forever.
    const bool may_block =
        options_.call_timeout.count() == 0
            ? deadline.is_never()
            : blocking_receive_timeout(options_.call_timeout).count() > 0 &&
                  Deadline::Clock::now() + options_.call_timeout <= deadline.at() + kBlockingSlack;
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
  fence_quiet_requests();
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
  close_transport(true);
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
  reply.binary_opaque = record.binary_opaque;
  reply.binary_status = record.binary_status;
  reply.binary_opcode = record.binary_opcode;
  reply.meta_flags = record.meta_flags;
  reply.ttl = record.ttl;
  reply.last_access = record.last_access;
  reply.hit_before = record.hit_before;
  return reply;
}

bool Connection::write_some() {
  if (tls_) {
    // One record per call (see TlsStream::write): keep going until the
    // socket is full rather than poll between records.
    while (!all_written()) {
      const ssize_t sent = tls_->write(requests_, written_);
      if (sent == -EAGAIN) return true;
      if (sent < 0) return fail_transfer(sent);
      written_ += static_cast<std::size_t>(sent);
    }
    return true;
  }
  std::array<std::string_view, kMaxSegmentsPerWrite> segments;
  const std::size_t count = requests_.segments_from(written_, segments.data(), segments.size());
  const ssize_t sent = send_segments(socket_.fd(), segments.data(), count);
  if (sent == -EAGAIN) return true;
  if (sent < 0) return fail_transfer(sent);
  written_ += static_cast<std::size_t>(sent);
  return true;
}

ssize_t Connection::receive_bytes(char* buffer, std::size_t size, bool may_block) noexcept {
  return tls_ ? tls_->read(buffer, size, may_block)
              : receive(socket_.fd(), buffer, size, may_block);
}

bool Connection::fail_transfer(ssize_t result) {
  if (result == TlsStream::kTlsError) {
    fail(ConnectionFailure::tls_failed, tls_->error());
    return false;
  }
  const ConnectionFailure failure = result == 0 ? ConnectionFailure::closed_by_server
                                                : failure_for_errno(static_cast<int>(-result));
  std::string detail =
      result == 0 ? "the server closed the connection" : std::strerror(static_cast<int>(-result));
  if (exchanges_served_ == 0 && !received_any_ && failure != ConnectionFailure::io_error) {
    if (tls_) {
      // TLS 1.3 finishes the client's handshake before the server has
      // checked the client's certificate: a refusal comes as an alert on the
      // first read, or, when our request crossed it, as this.
      fail(ConnectionFailure::tls_failed,
           "the server ended the TLS session before answering the first request (" + detail +
               "); memcached does this when it requires a client certificate and none or "
               "an unknown one was given (tls_cert_file)");
      return false;
    }
    detail +=
        " before answering the first request (a TLS-only server, memcached -Z, does this "
        "to a plaintext client)";
  }
  fail(failure, std::move(detail));
  return false;
}

bool Connection::read_some(bool may_block) {
  if (!read_once(may_block)) return false;
  // With TLS, OpenSSL may already hold whole records taken off the socket;
  // a poll on the descriptor would not see them, so they are read now.
  while (tls_ && tls_->has_pending()) {
    const std::uint64_t received_before = bytes_received_;
    if (!read_once(false)) return false;
    if (bytes_received_ == received_before) break;  // only part of a record
  }
  return true;
}

bool Connection::read_once(bool may_block) {
  if (direct_.active) return receive_direct_value(may_block);
  const std::size_t pending = read_buffer_.unparsed().size();
  const std::size_t min_free = bytes_wanted_ > pending ? bytes_wanted_ - pending : kReadChunk;
  const std::span<char> space = read_buffer_.free_space(min_free);
  const ssize_t received = receive_bytes(space.data(), space.size(), may_block);
  if (received == -EAGAIN) return true;  // nothing yet; the caller checks its deadline
  if (received <= 0) return fail_transfer(received);
  read_buffer_.commit(static_cast<std::size_t>(received));
  bytes_received_ += static_cast<std::size_t>(received);
  // Owed replies answer earlier requests, not this exchange's.
  if (owed_fences_ == 0) received_any_ = true;
  return parse_available();
}

bool Connection::take_owed_replies() {
  while (owed_fences_ > 0) {
    const std::string_view input = read_buffer_.unparsed();
    if (input.empty()) return true;
    protocol::Reply reply;
    const bool binary = fence_ == Fence::binary;
    const protocol::ParseResult result =
        binary ? protocol::parse_binary_reply(input, options_.max_value_size, reply)
               : protocol::parse_meta_reply(input, options_.max_value_size, reply);
    if (result.status == protocol::ParseStatus::need_more) {
      bytes_wanted_ = result.needed;
      return true;
    }
    if (result.status == protocol::ParseStatus::malformed) {
      fail(ConnectionFailure::malformed_reply, std::string(result.problem) +
                                                   " in a reply owed by a noreply request \"" +
                                                   protocol::printable_excerpt(input) + "\"");
      return false;
    }
    read_buffer_.consume(result.consumed);
    bytes_wanted_ = 0;
    if (reply.status == protocol::ReplyStatus::noop) {
      // Only the fence's noop is owed: any other would be a reply out of step.
      if (binary && reply.binary_opaque != protocol::kBinaryFenceOpaque) {
        fail(ConnectionFailure::unexpected_reply,
             "noop reply with opaque " + std::to_string(reply.binary_opaque) +
                 " where the fence of noreply requests (opaque " +
                 std::to_string(protocol::kBinaryFenceOpaque) + ") was owed");
        return false;
      }
      --owed_fences_;
      continue;
    }
    // The answer of a fire-and-forget request: nobody waits for it.
    ++dropped_replies_;
    if (protocol::is_error(reply.status)) owed_error_ = true;
  }
  if (!read_buffer_.unparsed().empty()) received_any_ = true;
  return true;
}

bool Connection::parse_available() {
  // Replies owed by fire-and-forget requests come before this exchange's.
  if (owed_fences_ > 0 && (!take_owed_replies() || owed_fences_ > 0)) {
    return failure_ == ConnectionFailure::none;
  }
  // In a quiet exchange, bytes after the last owed MN answer quiet requests
  // not fenced yet: the next exchange's fence covers them.
  if (expected_.empty() && unfenced_ > 0) return true;
  while (!all_replied()) {
    const std::string_view input = read_buffer_.unparsed();
    if (direct_.awaiting_end && direct_.binary) {
      // A binary packet ends with its value: nothing follows to check.
      direct_.awaiting_end = false;
      records_.push_back(direct_.record);
      if (!accept_binary_reply(reply(records_.size() - 1))) return false;
      continue;
    }
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
    const bool binary = expected.shape == Shape::binary || expected.shape == Shape::binary_batch;
    protocol::ParseResult result;
    if (expected.shape == Shape::text) {
      result = protocol::parse_text_reply(input, expected.kind, options_.max_value_size, reply);
    } else if (binary) {
      result = protocol::parse_binary_reply(input, options_.max_value_size, reply);
    } else {
      result = protocol::parse_meta_reply(input, options_.max_value_size, reply);
    }
    if (result.status == protocol::ParseStatus::need_more) {
      // The text and meta parsers' need_more after a VALUE or VA header, and
      // the binary one's after a hit's flags and key, leave the header in
      // `reply`.
      const bool has_header = !binary || (reply.status == protocol::ReplyStatus::value &&
                                          input.size() >= protocol::kBinaryHeaderSize);
      if (result.needed > 0 && sink_ && has_header &&
          start_direct_value(input, reply, result.needed, binary)) {
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
    if (asks_for_authentication(reply) &&
        options_.authentication == ConnectionOptions::Authentication::none) {
      fail(ConnectionFailure::auth_failed,
           "the server requires authentication (memcached -Y) and answered \"CLIENT_ERROR " +
               protocol::printable_excerpt(reply.data) + "\": give a username and password");
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
      case Shape::binary:
      case Shape::binary_batch:
        if (!accept_binary_reply(reply)) return false;
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
      .binary_opaque = reply.binary_opaque,
      .binary_status = reply.binary_status,
      .binary_opcode = reply.binary_opcode,
  };
}

bool Connection::start_direct_value(std::string_view input, const protocol::Reply& header,
                                    std::size_t unit_size, bool binary) {
  // A text VALUE's data follows its header line and ends with CRLF; a
  // binary value follows the header, extras and key and ends the packet.
  std::size_t header_size = input.find('\n') + 1;
  if (binary) {
    const protocol::BinaryHeader packet = protocol::decode_binary_header(input);
    header_size = protocol::kBinaryHeaderSize + packet.extras_size + packet.key_size;
  }
  const std::size_t value_size = unit_size - header_size - (binary ? 0 : 2);
  if (value_size < sink_.min_size) return false;
  const std::span<char> storage = sink_.allocate(sink_.context, header.key, value_size);
  if (storage.size() < value_size) return false;
  direct_.record = record_of(header, static_cast<std::uint32_t>(next_expected_));
  direct_.record.status = protocol::ReplyStatus::value;
  direct_.record.data_offset = 0;
  direct_.record.data_size = value_size;
  direct_.record.sink_data = storage.data();
  direct_.binary = binary;
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
  const ssize_t received = receive_bytes(direct_.storage + direct_.received, left, may_block);
  if (received == -EAGAIN) return true;
  if (received <= 0) return fail_transfer(received);
  received_any_ = true;
  bytes_received_ += static_cast<std::size_t>(received);
  direct_.received += static_cast<std::size_t>(received);
  if (direct_.received < direct_.record.data_size) return true;
  direct_.active = false;
  direct_.awaiting_end = true;
  return parse_available();
}

bool Connection::accept_binary_reply(const protocol::Reply& reply) {
  const Expectation& expected = expected_[next_expected_];
  if (reply.status == protocol::ReplyStatus::auth_error) {
    // memcached closes the connection after refusing an unauthenticated
    // request; a refused SASL exchange ends the same way here.
    fail(ConnectionFailure::auth_failed, "the server refused the request (\"" +
                                             protocol::printable_excerpt(reply.data) +
                                             "\"): SASL credentials wrong or missing");
    return false;
  }
  const auto opcode_of = [](std::uint8_t opcode) { return std::to_string(opcode); };
  if (expected.shape == Shape::binary) {
    if (reply.binary_opcode != static_cast<std::uint8_t>(expected.opcode) ||
        reply.binary_opaque != expected.opaque) {
      fail(ConnectionFailure::unexpected_reply,
           "binary reply to opcode " + opcode_of(reply.binary_opcode) + " with opaque " +
               std::to_string(reply.binary_opaque) + " where opcode " +
               opcode_of(static_cast<std::uint8_t>(expected.opcode)) + " with opaque " +
               std::to_string(expected.opaque) + " was expected");
      return false;
    }
    if (reply.status != protocol::ReplyStatus::stat) ++next_expected_;
    return true;
  }
  if (reply.binary_opcode == static_cast<std::uint8_t>(protocol::BinaryOpcode::noop)) {
    if (reply.binary_opaque != expected.opaque) {
      fail(ConnectionFailure::unexpected_reply,
           "noop reply with opaque " + std::to_string(reply.binary_opaque) +
               " where the batch's noop carried " + std::to_string(expected.opaque));
      return false;
    }
    ++next_expected_;
    batch_last_opaque_ = -1;
    return true;
  }
  // Replies keep request order, so each names a later request of the batch.
  if (reply.binary_opcode != static_cast<std::uint8_t>(expected.opcode) ||
      reply.binary_opaque >= expected.opaque ||
      static_cast<std::int64_t>(reply.binary_opaque) <= batch_last_opaque_) {
    fail(ConnectionFailure::unexpected_reply,
         "binary reply to opcode " + opcode_of(reply.binary_opcode) + " with opaque " +
             std::to_string(reply.binary_opaque) + " that no pending request of the batch carried");
    return false;
  }
  batch_last_opaque_ = reply.binary_opaque;
  return true;
}

bool Connection::authenticate_sasl(Deadline deadline) {
  // Each step is an exchange of its own; none counts as one served.
  const auto run_step = [&]() {
    const bool done = run(deadline);
    exchanges_served_ = 0;
    return done;
  };
  begin_exchange();
  protocol::append_binary_sasl_list_request(requests_);
  expect_binary(protocol::BinaryOpcode::sasl_list_mechanisms, 0);
  if (!run_step()) return false;
  const protocol::Reply listed = reply(0);
  if (listed.status != protocol::ReplyStatus::ok) {
    fail(ConnectionFailure::auth_failed, "the server does not offer SASL (\"" +
                                             protocol::printable_excerpt(listed.data) +
                                             "\"); is it started with -S?");
    return false;
  }
  SaslClient sasl(options_.username, options_.password, address_.host);
  if (!sasl.start(listed.data)) {
    fail(ConnectionFailure::auth_failed, sasl.problem());
    return false;
  }
  const std::string mechanism(sasl.mechanism());
  std::string message(sasl.message());
  auto opcode = protocol::BinaryOpcode::sasl_auth;
  // PLAIN takes one round, CRAM-MD5 two; a server still challenging after
  // this many is not following any mechanism Cyrus offers.
  constexpr int kMaxRounds = 8;
  for (int round = 0; round < kMaxRounds; ++round) {
    begin_exchange();
    if (opcode == protocol::BinaryOpcode::sasl_auth) {
      protocol::append_binary_sasl_auth_request(requests_, mechanism, message);
    } else {
      protocol::append_binary_sasl_step_request(requests_, mechanism, message);
    }
    expect_binary(opcode, 0);
    if (!run_step()) return false;  // a refusal fails with auth_failed
    const protocol::Reply answer = reply(0);
    if (answer.status == protocol::ReplyStatus::ok) {
      begin_exchange();
      return true;
    }
    if (answer.status != protocol::ReplyStatus::auth_continue) {
      fail(ConnectionFailure::auth_failed, std::string("SASL ") +
                                               std::string(protocol::name_of(answer.status)) +
                                               ": " + protocol::printable_excerpt(answer.data));
      return false;
    }
    if (!sasl.step(answer.data)) {
      fail(ConnectionFailure::auth_failed, sasl.problem());
      return false;
    }
    message = std::string(sasl.message());
    opcode = protocol::BinaryOpcode::sasl_step;
  }
  fail(ConnectionFailure::auth_failed,
       "SASL did not finish in " + std::to_string(kMaxRounds) + " rounds");
  return false;
}

void Connection::finish_exchange() {
  ++exchanges_served_;
  if (pipeline_error_ || owed_error_) {
    close_transport();
    return;
  }
  if (trailing_) {
    trailing_ = false;
    failure_detail_ = "unexpected bytes after the last reply: \"" +
                      protocol::printable_excerpt(read_buffer_.unparsed()) + "\"";
    close_transport();
  }
}

}  // namespace fastmc::net
