// SPDX-License-Identifier: MIT
// Socket: an owned stream socket, and the few system calls fastmc makes on
// one (net layer). Nothing here knows the memcached protocol.
//
// After connect the socket is left in blocking mode with SO_RCVTIMEO set, and
// every call says per call whether it may block (MSG_DONTWAIT otherwise): a
// lone request can then wait for its reply in one recv() instead of poll()
// plus recv(), while batches over many servers poll as usual. Sends never
// block and never raise SIGPIPE (MSG_NOSIGNAL).
//
// Thread-safety: one owner at a time. Not copyable; moving transfers the fd.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <sys/types.h>

#include "net/address.hpp"
#include "net/connection_failure.hpp"
#include "net/deadline.hpp"

namespace fastmc::net {

struct SocketOptions {
  bool tcp_nodelay = true;
  // SO_RCVTIMEO for blocking receives; zero means a blocking receive may wait forever.
  std::chrono::nanoseconds receive_timeout{0};
};

class Socket {
 public:
  Socket() noexcept = default;
  explicit Socket(int fd) noexcept : fd_(fd) {}
  Socket(Socket&& other) noexcept : fd_(other.release()) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { close(); }

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool is_open() const noexcept { return fd_ >= 0; }
  void close() noexcept;
  // Closes with a reset (SO_LINGER 0): what the kernel still holds unsent is
  // discarded instead of delivered after the close, so a request cut off by
  // a failure never reaches the server whole later.
  void reset() noexcept;
  int release() noexcept {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

struct ConnectOutcome {
  Socket socket;  // open iff failure == none
  ConnectionFailure failure = ConnectionFailure::none;
  std::string detail;  // strerror text or resolver message
};

// Resolves (once) and connects to `address`, trying each resolved address in
// turn, all before `deadline`.
ConnectOutcome connect_socket(const Address& address, Deadline deadline,
                              const SocketOptions& options);

// sendmsg() of up to `count` segments without blocking. Returns bytes sent,
// or -errno (-EAGAIN when the socket buffer is full).
ssize_t send_segments(int fd, const std::string_view* segments, std::size_t count) noexcept;

// recv() into `buffer`; blocks up to SO_RCVTIMEO iff `may_block`. Returns
// bytes received (0 at EOF), or -errno (-EAGAIN when nothing arrived, or
// when a signal interrupted the blocking wait: never restarted, so the
// caller's deadline holds).
ssize_t receive(int fd, char* buffer, std::size_t size, bool may_block) noexcept;

// Whether a connection that should be silent is: nothing to read and not
// closed by the peer. Peeks one byte without blocking (MSG_PEEK), so nothing
// is consumed.
bool is_quiet(int fd) noexcept;

// The bytes that have arrived, up to `size`, copied into `buffer` without
// being consumed (MSG_PEEK, never blocking). Returns their count, 0 when the
// peer closed with nothing left to read, or -errno (-EAGAIN when nothing
// arrived).
ssize_t peek(int fd, char* buffer, std::size_t size) noexcept;

// Waits until `fd` has one of `events` (POLLIN/POLLOUT) or the deadline
// passes. Returns the revents, 0 on timeout, or -errno.
int wait_ready(int fd, short events, Deadline deadline) noexcept;

}  // namespace fastmc::net
