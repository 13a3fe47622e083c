// SPDX-License-Identifier: MIT
// TlsStream: one TLS session over a connected socket (net layer), with the
// same calling conventions as the plain socket calls in socket.hpp, so
// Connection treats both alike.
//
// OpenSSL reads and writes through a BIO of ours over the descriptor, so the
// plain path's rules hold: a read blocks (up to SO_RCVTIMEO) only when the
// caller says it may, and then only for its first receive; writes never
// block and never raise SIGPIPE. Read-ahead is on, so a record may sit
// decrypted or half-read in OpenSSL's buffer while the descriptor is not
// readable: callers must read until has_pending() is false before polling.
//
// Closing never sends close_notify (no SSL_shutdown): memcached needs none,
// and a child after fork() must not write into its parent's session.
//
// Thread-safety: one owner at a time, like the socket it runs over.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "net/connection_failure.hpp"
#include "net/deadline.hpp"
#include "net/tls_context.hpp"
#include "protocol/request_buffer.hpp"

using SSL = struct ssl_st;

namespace fastmc::net {

class TlsStream {
 public:
  // What read() and write() return for a TLS-level error (error() says which).
  static constexpr ssize_t kTlsError = -1'000'000;

  // A session from `context` over the connected descriptor `fd`, for a
  // server called `host` (a name or IP literal; empty for a unix socket).
  TlsStream(const TlsContext& context, int fd, const std::string& host);
  TlsStream(const TlsStream&) = delete;
  TlsStream& operator=(const TlsStream&) = delete;
  ~TlsStream();

  // The client handshake, before `deadline`: none, or connect_timeout, or
  // tls_failed with error() naming the cause (verification result, host name
  // mismatch, a peer that does not speak TLS, ...).
  ConnectionFailure handshake(Deadline deadline);

  // As net::receive: bytes read, 0 at EOF, -EAGAIN when nothing is ready,
  // -errno, or kTlsError.
  ssize_t read(char* buffer, std::size_t size, bool may_block) noexcept;
  // Sends one TLS record of `requests` from `offset`, cut so that memcached
  // never leaves part of it unread in its TLS buffer (see the .cpp). As
  // net::send_segments: bytes sent, -EAGAIN, -errno or kTlsError. After
  // -EAGAIN the same call must be made again (the same offset gives the same
  // record, as OpenSSL requires).
  ssize_t write(const protocol::RequestBuffer& requests, std::size_t offset) noexcept;
  // True iff OpenSSL holds received bytes not yet returned by read().
  [[nodiscard]] bool has_pending() const noexcept;

  [[nodiscard]] const std::string& error() const noexcept { return error_; }

  // What our BIO knows of the descriptor; public for the BIO callbacks only.
  struct Transport {
    int fd = -1;
    bool may_block = false;  // the next receive may block (then cleared)
    int last_errno = 0;
    std::size_t received = 0;               // bytes received over the session's life
    std::array<char, 24> first_bytes = {};  // the start of what the server sent, for errors
  };

 private:
  ssize_t failed(int ssl_result) noexcept;
  std::string describe_handshake_failure(int ssl_error);

  SSL* ssl_ = nullptr;
  Transport transport_;
  std::string host_;
  std::string error_;
  std::string coalesced_;  // the segments of one record, when it spans several
};

}  // namespace fastmc::net
