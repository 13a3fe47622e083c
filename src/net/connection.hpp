// SPDX-License-Identifier: MIT
// Connection: one socket to one server with its request and read buffers and
// the replies it expects (net layer). It is the only place that feeds bytes
// to the reply parsers.
//
// Opening a connection is: connect, then the TLS handshake when the options
// carry a TLS context, then authentication when they carry credentials
// (memcached's ASCII auth now; SASL belongs there too), all within the
// connect deadline. Only then is the connection open: a caller's first
// request never races the setup, and a setup failure is a connect failure.
//
// An exchange is: begin_exchange(), append requests to requests() with one
// expectation per request (expect, expect_meta, expect_binary, ...), then
// either run() alone or step() under a driver that polls many connections,
// then read the replies. Any failure (see ConnectionFailure) closes the
// socket at once, so a late reply can never be
// taken for the answer to a later request; the next exchange reconnects.
//
// Fire and forget (noreply), on a server that speaks meta or binary: an
// exchange may instead append quiet requests (meta q, text noreply, or the
// binary quiet opcodes: setq, deleteq, incrq, flushq, ...), which answer
// nothing when they succeed, and declare send_quietly(); run() only writes
// them. Their failures, if any, still come, at a time nobody knows, so they
// must be fenced off from the next replies read on the connection by an
// `mn` (binary: a noop), whose MN (the noop's reply) comes after them. The
// fence is sent as late as possible, so that a burst of fire-and-forget
// requests shares one: ahead of the requests of the next exchange that
// expects replies (its first write starts with the fence), or after every
// kFenceEvery quiet requests. The connection then owes that MN (binary: a
// noop reply with the fence's opaque): the exchange reading next on it, whoever
// runs it, first consumes every reply up to it (the quiet requests'
// answers: dropped, see owed_error_seen()), then reads its own. A quiet
// exchange finding more than kMaxOwedFences owed waits until enough have
// come, so the backlog stays small. A server that never answers a fence
// costs the next exchange its deadline and the connection (closed on the
// timeout, as any). Closing forgets it all: a new socket owes nothing.
//
// Thread-safety: one owner at a time (the engine leases it to one call).
// Lifetime: reply views point into the read buffer and are valid until the
// next begin_exchange() or close.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "net/address.hpp"
#include "net/connection_failure.hpp"
#include "net/deadline.hpp"
#include "net/read_buffer.hpp"
#include "net/socket.hpp"
#include "net/tls_context.hpp"
#include "net/tls_stream.hpp"
#include "net/value_sink.hpp"
#include "protocol/binary_header.hpp"
#include "protocol/reply.hpp"
#include "protocol/request_buffer.hpp"
#include "protocol/text_reply_parser.hpp"

namespace fastmc::net {

struct ConnectionOptions {
  // Time allowed to connect; zero means only the call's deadline limits it.
  std::chrono::nanoseconds connect_timeout{0};
  // The client's call timeout; zero means no limit. A lone exchange first
  // waits in one blocking recv() (SO_RCVTIMEO, a share of this timeout that
  // ends before the deadline), then polls to the deadline exactly.
  std::chrono::nanoseconds call_timeout{0};
  std::size_t max_value_size = std::size_t{64} * 1024 * 1024;
  bool tcp_nodelay = true;
  // TLS on this connection iff set (shared by every connection of a client).
  std::shared_ptr<const TlsContext> tls = {};
  // How the connection proves who it is once connected: not at all, or
  // memcached's ASCII authentication (-Y: a set whose data is "username
  // password", answered STORED). Each scheme is a value here
  // and another branch of Connection::authenticate; or SASL over the binary
  // protocol (PLAIN or CRAM-MD5, by Cyrus SASL).
  enum class Authentication : std::uint8_t { none, ascii, sasl };
  Authentication authentication = Authentication::none;
  std::string username = {};
  std::string password = {};
};

class Connection {
 public:
  enum class Progress : std::uint8_t { in_progress, done, failed };

  Connection(Address address, ConnectionOptions options);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] const Address& address() const noexcept { return address_; }
  [[nodiscard]] bool is_open() const noexcept { return socket_.is_open(); }
  [[nodiscard]] int fd() const noexcept { return socket_.fd(); }
  [[nodiscard]] bool uses_tls() const noexcept { return options_.tls != nullptr; }

  // Connects, shakes hands and authenticates unless open, before the earlier
  // of `deadline` and the connect timeout. false iff it failed; failure()
  // says why.
  bool ensure_open(Deadline deadline);

  // Marks the moment the connection went idle (back into its pool).
  void mark_idle(std::chrono::steady_clock::time_point now) noexcept { idle_since_ = now; }
  // For a connection coming back into use: closes it (quietly: the next
  // exchange reconnects) if the server sent bytes or closed it while it sat
  // idle. Bytes nobody asked for would otherwise be read as the next
  // request's reply (faults.md P13), and a request sent on a closed
  // connection would be lost. One non-blocking peek, made only after at
  // least kQuietCheckAfter idle: back-to-back calls skip the syscall (a
  // server sends nothing unasked between them). A TLS connection is left as
  // it is, since a TLS 1.3 server may send session tickets at any time.
  // Owed MNs (see fire and forget above) are asked-for bytes: those that
  // have arrived, and nothing else before them, are taken in first (one more
  // recv); the check then applies once nothing is owed. While quiet
  // requests may still answer (unfenced, or before a fence still owed) only
  // a close by the server with nothing left to read drops the connection;
  // anything else is for its next exchange to settle.
  static constexpr std::chrono::microseconds kQuietCheckAfter{1000};
  void drop_if_not_quiet(std::chrono::steady_clock::time_point now) noexcept;

  // Clears the last exchange's requests, replies and failure (keeping any
  // part of an owed reply already received: see fire and forget).
  void begin_exchange();
  protocol::RequestBuffer& requests() noexcept { return requests_; }
  // Declares the reply of the next request appended, in order: a text reply
  // of `kind`, one meta reply, or a quiet meta pipeline, whose requests
  // answer only when they fail and which ends with the MN of its closing mn.
  void expect(protocol::TextReplyKind kind) { expected_.push_back({kind, Shape::text}); }
  void expect_meta() { expected_.push_back({{}, Shape::meta}); }
  void expect_meta_pipeline() { expected_.push_back({{}, Shape::meta_pipeline}); }
  // A binary request of `opcode` sent with `opaque`: its one reply packet
  // (for stat, every statistic up to the empty one that ends the list) must
  // answer that opcode and carry that opaque.
  void expect_binary(protocol::BinaryOpcode opcode, std::uint32_t opaque) {
    expected_.push_back({{}, Shape::binary, opcode, opaque});
  }
  // A quiet binary batch: `count` quiet requests of `opcode` sent with
  // opaques 0 to count - 1 in order, then a noop sent with opaque `count`.
  // The replies that come (hits, or failures) must carry increasing opaques
  // of the batch; the noop's reply ends it. reply_opaque() says which
  // request each reply answers.
  void expect_binary_batch(protocol::BinaryOpcode opcode, std::uint32_t count) {
    expected_.push_back({{}, Shape::binary_batch, opcode, count});
  }
  // How quiet requests are fenced: by `mn` (meta q or text noreply requests,
  // to a server that speaks meta) or by a binary noop (binary quiet
  // requests), whose reply is protocol::kBinaryFenceReply.
  enum class Fence : std::uint8_t { meta, binary };
  // Fire and forget: the `count` requests appended are quiet requests that
  // `fence` fences off; nothing is awaited (see above). Requires: nothing
  // expected in this exchange, and the same `fence` for every quiet request
  // of the connection's life (a client speaks one protocol).
  void send_quietly(std::size_t count, Fence fence);
  static constexpr std::size_t kFenceEvery = 64;
  static constexpr std::size_t kMaxOwedFences = 16;
  // Quiet requests sent with no `mn` after them yet.
  [[nodiscard]] std::size_t unfenced_requests() const noexcept { return unfenced_; }
  // The MNs owed to the next exchange that reads, not yet consumed.
  [[nodiscard]] std::size_t owed_fences() const noexcept { return owed_fences_; }
  // True iff any request appended to this exchange expects a reply.
  [[nodiscard]] bool expects_replies() const noexcept { return !expected_.empty(); }
  // True iff this exchange consumed an error (ERROR, CLIENT_ERROR,
  // SERVER_ERROR, or the binary statuses that map to them) owed by a
  // fire-and-forget request. The exchange's own
  // replies are right (they came after the fence); the connection is closed
  // after the exchange, as after an error in a quiet pipeline.
  [[nodiscard]] bool owed_error_seen() const noexcept { return owed_error_; }
  // Replies owed by fire-and-forget requests and dropped (failures, and the
  // answers quiet mode still gives, e.g. NF, or binary "Not found"), over
  // the connection's life.
  [[nodiscard]] std::uint64_t dropped_replies() const noexcept { return dropped_replies_; }
  // True iff an error line (ERROR, CLIENT_ERROR, SERVER_ERROR) came inside a
  // quiet meta pipeline of this exchange. It carries no opaque, so which
  // request failed is unknown; the connection is closed after the exchange,
  // since memcached may also have misread what followed the failed request.
  [[nodiscard]] bool pipeline_had_error() const noexcept { return pipeline_error_; }
  // Large values of this exchange go to `sink` (see ValueSink); cleared by
  // begin_exchange().
  void set_value_sink(const ValueSink& sink) noexcept { sink_ = sink; }

  // Runs the exchange alone until every expected reply has arrived. false iff
  // it failed (the connection is then closed).
  bool run(Deadline deadline);

  // For a driver polling many connections: the poll events this connection
  // waits for (0 when done), and one non-blocking step after poll reported
  // `revents` for it. A step reads until TLS holds no buffered bytes, so
  // polling the descriptor never misses a record OpenSSL already took in.
  [[nodiscard]] short wanted_events() const noexcept;
  Progress step(short revents);

  // Closes the connection with `failure` as the cause, unless it already failed.
  void fail(ConnectionFailure failure, std::string detail);

  [[nodiscard]] ConnectionFailure failure() const noexcept { return failure_; }
  [[nodiscard]] const std::string& failure_detail() const noexcept { return failure_detail_; }
  // True iff any reply byte arrived during this exchange: a failure before
  // that on a reused connection means the server never saw or never answered
  // the request, so an idempotent request may be sent again.
  [[nodiscard]] bool received_any() const noexcept { return received_any_; }

  [[nodiscard]] std::size_t reply_count() const noexcept { return records_.size(); }
  // Requires: index < reply_count().
  [[nodiscard]] protocol::Reply reply(std::size_t index) const noexcept;
  // The 0-based request that reply `index` answers.
  [[nodiscard]] std::uint32_t reply_request(std::size_t index) const noexcept {
    return records_[index].request;
  }
  // The opaque a binary reply carried (its position in a binary batch).
  [[nodiscard]] std::uint32_t reply_opaque(std::size_t index) const noexcept {
    return records_[index].binary_opaque;
  }

  // Connections served exchanges before this one (0 for a fresh connection).
  [[nodiscard]] std::uint64_t exchanges_served() const noexcept { return exchanges_served_; }

 private:
  enum class Shape : std::uint8_t { text, meta, meta_pipeline, binary, binary_batch };
  struct Expectation {
    protocol::TextReplyKind kind;  // for Shape::text
    Shape shape;
    protocol::BinaryOpcode opcode = protocol::BinaryOpcode::noop;  // binary shapes
    std::uint32_t opaque = 0;  // binary: the request's; binary_batch: the request count
  };

  // A parsed reply, as offsets into the read buffer so it survives growth;
  // a value received through the sink points to the sink's storage instead.
  struct Record {
    std::uint32_t request;
    protocol::ReplyStatus status;
    bool has_cas;
    std::uint32_t flags;
    std::uint32_t key_size;
    std::size_t key_offset;
    std::size_t data_offset;
    std::size_t data_size;
    std::uint64_t cas;
    std::uint64_t number;
    const char* sink_data;      // null unless the value went to the sink
    std::size_t opaque_offset;  // meta O token
    std::uint8_t opaque_size;
    bool hit_before;            // meta h
    std::uint64_t meta_flags;   // meta return flags, as Reply::meta_flags
    std::int64_t ttl;           // meta t
    std::uint64_t last_access;  // meta l
    std::uint32_t binary_opaque;
    std::uint16_t binary_status;
    std::uint8_t binary_opcode;
  };

  // A VALUE unit whose data is being received straight into sink storage.
  struct DirectValue {
    Record record{};
    char* storage = nullptr;
    std::size_t received = 0;   // bytes of the value already in storage
    bool active = false;        // value bytes still to come
    bool awaiting_end = false;  // value complete; its CRLF still to check
    bool binary = false;        // a binary packet: no CRLF follows the value
  };

  [[nodiscard]] bool all_written() const noexcept { return written_ == requests_.size(); }
  // Every expected reply is in; an exchange expecting nothing (fire and
  // forget) also waits until at most kMaxOwedFences are owed.
  [[nodiscard]] bool all_replied() const noexcept {
    return next_expected_ == expected_.size() &&
           (!expected_.empty() || owed_fences_ <= kMaxOwedFences);
  }
  // The setup steps of ensure_open after the TCP connect.
  bool authenticate(Deadline deadline);
  bool authenticate_ascii(Deadline deadline);
  // Closes the socket (and drops the TLS session without a word to the server);
  // a failed connection is reset, so nothing it still holds unsent reaches
  // the server after the call that failed (a set cut off mid-value by its
  // timeout must not be completed by the kernel later).
  void close_transport(bool reset = false) noexcept;
  ssize_t receive_bytes(char* buffer, std::size_t size, bool may_block) noexcept;
  // Turns a failed receive or send (0 or negative, see net::receive) into the
  // connection's failure; returns false. -EAGAIN is not a failure.
  bool fail_transfer(ssize_t result);
  bool write_some();
  bool read_some(bool may_block);
  bool read_once(bool may_block);
  bool parse_available();
  // Consumes the owed replies that have arrived, up to the last owed MN;
  // false iff the connection failed.
  bool take_owed_replies();
  // Takes in, without blocking, the owed MNs that have arrived while idle,
  // as long as nothing else comes before them.
  void take_arrived_fences() noexcept;
  // Before an exchange that expects replies first writes: puts the fence
  // (`mn` or binary noop) of earlier quiet requests ahead of its requests.
  void fence_quiet_requests();
  // The bytes of the fence of this connection's quiet requests.
  [[nodiscard]] std::string_view fence_request() const noexcept;
  // `reply`, parsed from the read buffer, as a Record answering `request`.
  [[nodiscard]] Record record_of(const protocol::Reply& reply,
                                 std::uint32_t request) const noexcept;
  // Starts receiving the value whose header starts `input` into the sink;
  // false iff the sink declined or the value is too small.
  bool start_direct_value(std::string_view input, const protocol::Reply& header,
                          std::size_t unit_size, bool binary);
  // Checks a binary reply against what its expectation allows and moves to
  // the next expectation when it ends one; false iff the connection failed.
  bool accept_binary_reply(const protocol::Reply& reply);
  // SASL over the binary protocol on a connection just opened; false iff
  // it failed (the connection is then closed).
  bool authenticate_sasl(Deadline deadline);
  bool receive_direct_value(bool may_block);
  void finish_exchange();

  Address address_;
  ConnectionOptions options_;
  Socket socket_;
  std::unique_ptr<TlsStream> tls_;  // set iff open with TLS
  protocol::RequestBuffer requests_;
  ReadBuffer read_buffer_;
  std::vector<Expectation> expected_;
  std::vector<Record> records_;
  ValueSink sink_;
  DirectValue direct_;
  std::size_t written_ = 0;
  std::size_t next_expected_ = 0;
  std::size_t bytes_wanted_ = 0;  // a pending unit's size when the parser knows it
  bool received_any_ = false;
  std::uint64_t bytes_received_ = 0;  // over the connection's life
  bool trailing_ = false;             // bytes arrived after the last expected reply
  bool pipeline_error_ = false;
  bool owed_error_ = false;
  Fence fence_ = Fence::meta;    // how this connection's quiet requests are fenced
  std::size_t owed_fences_ = 0;  // MNs (binary: noop replies) owed by fire-and-forget requests
  std::size_t unfenced_ = 0;     // quiet requests sent, no `mn` after them yet
  std::uint64_t dropped_replies_ = 0;
  std::int64_t batch_last_opaque_ = -1;  // the last opaque seen in the current binary batch
  ConnectionFailure failure_ = ConnectionFailure::none;
  std::string failure_detail_;
  std::uint64_t exchanges_served_ = 0;
  std::chrono::steady_clock::time_point idle_since_{};
};

}  // namespace fastmc::net
