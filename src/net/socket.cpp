// SPDX-License-Identifier: MIT
#include "net/socket.hpp"

#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace fastmc::net {
namespace {

constexpr std::size_t kMaxSegmentsPerSend = 64;

std::string errno_text(int error) { return std::strerror(error); }

ConnectionFailure failure_for_connect_errno(int error) {
  return error == ECONNREFUSED || error == ENOENT ? ConnectionFailure::connect_refused
                                                  : ConnectionFailure::connect_failed;
}

// Starts a non-blocking connect and waits for it within the deadline; on
// success the socket is switched to blocking mode for the reads (see header).
ConnectOutcome connect_one(int family, const sockaddr* target, socklen_t target_size,
                           Deadline deadline, const SocketOptions& options) {
  ConnectOutcome outcome;
  Socket socket(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.is_open()) {
    outcome.failure = ConnectionFailure::connect_failed;
    outcome.detail = "socket(): " + errno_text(errno);
    return outcome;
  }
  if (family != AF_UNIX && options.tcp_nodelay) {
    const int on = 1;
    ::setsockopt(socket.fd(), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  }
  if (::connect(socket.fd(), target, target_size) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      outcome.failure = failure_for_connect_errno(errno);
      outcome.detail = errno_text(errno);
      return outcome;
    }
    const int ready = wait_ready(socket.fd(), POLLOUT, deadline);
    if (ready == 0) {
      outcome.failure = ConnectionFailure::connect_timeout;
      outcome.detail = "no connection before the connect deadline";
      return outcome;
    }
    int error = 0;
    socklen_t size = sizeof error;
    if (ready < 0) {
      error = -ready;
    } else if (::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &size) != 0) {
      error = errno;
    }
    if (error != 0) {
      outcome.failure = failure_for_connect_errno(error);
      outcome.detail = errno_text(error);
      return outcome;
    }
  }
  const int flags = ::fcntl(socket.fd(), F_GETFL);
  ::fcntl(socket.fd(), F_SETFL, flags & ~O_NONBLOCK);
  if (options.receive_timeout.count() > 0) {
    const auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(options.receive_timeout).count();
    timeval tv{static_cast<time_t>(micros / 1'000'000),
               static_cast<suseconds_t>(micros % 1'000'000)};
    ::setsockopt(socket.fd(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  outcome.socket = std::move(socket);
  return outcome;
}

ConnectOutcome connect_unix(const Address& address, Deadline deadline,
                            const SocketOptions& options) {
  sockaddr_un target{};
  target.sun_family = AF_UNIX;
  if (address.path.size() >= sizeof target.sun_path) {
    return {Socket(), ConnectionFailure::connect_failed, "unix socket path too long"};
  }
  std::memcpy(target.sun_path, address.path.data(), address.path.size());
  return connect_one(AF_UNIX, reinterpret_cast<const sockaddr*>(&target), sizeof target, deadline,
                     options);
}

ConnectOutcome connect_tcp(const Address& address, Deadline deadline,
                           const SocketOptions& options) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(address.port);
  const int status = ::getaddrinfo(address.host.c_str(), port.c_str(), &hints, &found);
  if (status != 0) {
    return {Socket(), ConnectionFailure::resolve_failed,
            std::string("cannot resolve host: ") + ::gai_strerror(status)};
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owned(found, &::freeaddrinfo);
  ConnectOutcome outcome{Socket(), ConnectionFailure::connect_failed, "no address to connect to"};
  for (const addrinfo* candidate = found; candidate != nullptr; candidate = candidate->ai_next) {
    outcome = connect_one(candidate->ai_family, candidate->ai_addr, candidate->ai_addrlen, deadline,
                          options);
    if (outcome.failure == ConnectionFailure::none ||
        outcome.failure == ConnectionFailure::connect_timeout) {
      break;
    }
  }
  return outcome;
}

}  // namespace

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = other.release();
  }
  return *this;
}

void Socket::close() noexcept {
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void Socket::reset() noexcept {
  if (fd_ < 0) return;
  const linger abortive{.l_onoff = 1, .l_linger = 0};
  // (On a unix socket it changes nothing: what was sent is already the
  // server's to read.)
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abortive, sizeof(abortive));
  close();
}

ConnectOutcome connect_socket(const Address& address, Deadline deadline,
                              const SocketOptions& options) {
  return address.kind == Address::Kind::unix_socket ? connect_unix(address, deadline, options)
                                                    : connect_tcp(address, deadline, options);
}

ssize_t send_segments(int fd, const std::string_view* segments, std::size_t count) noexcept {
  if (count == 1) {
    // The common small request: send() spares the kernel importing an iovec.
    for (;;) {
      const ssize_t sent =
          ::send(fd, segments[0].data(), segments[0].size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (sent >= 0) return sent;
      if (errno != EINTR) return -errno;
    }
  }
  std::array<iovec, kMaxSegmentsPerSend> vectors;
  const std::size_t used = count < kMaxSegmentsPerSend ? count : kMaxSegmentsPerSend;
  for (std::size_t i = 0; i < used; ++i) {
    // iovec wants a non-const pointer but sendmsg only reads through it.
    vectors[i].iov_base = const_cast<char*>(segments[i].data());
    vectors[i].iov_len = segments[i].size();
  }
  msghdr message{};
  message.msg_iov = vectors.data();
  message.msg_iovlen = used;
  for (;;) {
    const ssize_t sent = ::sendmsg(fd, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent >= 0) return sent;
    if (errno != EINTR) return -errno;
  }
}

ssize_t receive(int fd, char* buffer, std::size_t size, bool may_block) noexcept {
  for (;;) {
    const ssize_t received = ::recv(fd, buffer, size, may_block ? 0 : MSG_DONTWAIT);
    if (received >= 0) return received;
    // A blocking recv() restarted after a signal would wait its whole
    // SO_RCVTIMEO again, so a signal every few milliseconds (a profiler, an
    // alarm) would keep the call alive forever: say "nothing yet" and let the
    // caller look at its deadline.
    if (errno == EINTR && may_block) return -EAGAIN;
    if (errno != EINTR) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

bool is_quiet(int fd) noexcept {
  char byte;
  for (;;) {
    const ssize_t peeked = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (peeked < 0 && errno == EINTR) continue;
    return peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}

ssize_t peek(int fd, char* buffer, std::size_t size) noexcept {
  for (;;) {
    const ssize_t peeked = ::recv(fd, buffer, size, MSG_PEEK | MSG_DONTWAIT);
    if (peeked >= 0) return peeked;
    if (errno != EINTR) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

int wait_ready(int fd, short events, Deadline deadline) noexcept {
  pollfd entry{fd, events, 0};
  for (;;) {
    int ready;
    if (deadline.is_never()) {
      ready = ::ppoll(&entry, 1, nullptr, nullptr);
    } else {
      const timespec left = deadline.remaining_timespec();
      ready = ::ppoll(&entry, 1, &left, nullptr);
    }
    if (ready > 0) return entry.revents;
    if (ready == 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

}  // namespace fastmc::net
