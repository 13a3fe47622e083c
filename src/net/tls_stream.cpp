// SPDX-License-Identifier: MIT
#include "net/tls_stream.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/socket.hpp"
#include "protocol/printable.hpp"

namespace fastmc::net {
namespace {

// The most plaintext one TLS record carries, and the size of memcached's
// line buffer (READ_BUFFER_SIZE).
constexpr std::size_t kRecordLimit = std::size_t{16} * 1024;
// Segments of RequestBuffer in one record: values of 16 KiB and more are
// segments of their own, so a record spans very few.
constexpr std::size_t kMaxRecordSegments = 8;

TlsStream::Transport& transport_of(BIO* bio) {
  return *static_cast<TlsStream::Transport*>(BIO_get_data(bio));
}

int read_from_socket(BIO* bio, char* buffer, int size) {
  TlsStream::Transport& transport = transport_of(bio);
  BIO_clear_retry_flags(bio);
  const bool may_block = transport.may_block;
  transport.may_block = false;  // later receives of the same call never block
  const ssize_t received = receive(transport.fd, buffer, static_cast<std::size_t>(size), may_block);
  if (received > 0) {
    if (transport.received < transport.first_bytes.size()) {
      const std::size_t copied = std::min(transport.first_bytes.size() - transport.received,
                                          static_cast<std::size_t>(received));
      std::memcpy(transport.first_bytes.data() + transport.received, buffer, copied);
    }
    transport.received += static_cast<std::size_t>(received);
    return static_cast<int>(received);
  }
  if (received == 0) return 0;
  transport.last_errno = static_cast<int>(-received);
  if (received == -EAGAIN) BIO_set_retry_read(bio);
  return -1;
}

int write_to_socket(BIO* bio, const char* data, int size) {
  TlsStream::Transport& transport = transport_of(bio);
  BIO_clear_retry_flags(bio);
  const std::string_view segment(data, static_cast<std::size_t>(size));
  const ssize_t sent = send_segments(transport.fd, &segment, 1);
  if (sent >= 0) return static_cast<int>(sent);
  transport.last_errno = static_cast<int>(-sent);
  if (sent == -EAGAIN) BIO_set_retry_write(bio);
  return -1;
}

long control(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

// Created once; OpenSSL keeps method tables for the process's life.
BIO_METHOD* socket_method() {
  static BIO_METHOD* const kMethod = [] {
    BIO_METHOD* created = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "fastmc socket");
    BIO_meth_set_read(created, &read_from_socket);
    BIO_meth_set_write(created, &write_to_socket);
    BIO_meth_set_ctrl(created, &control);
    return created;
  }();
  return kMethod;
}

bool is_ip_literal(const std::string& host) {
  std::array<unsigned char, sizeof(in6_addr)> address;
  return ::inet_pton(AF_INET, host.c_str(), address.data()) == 1 ||
         ::inet_pton(AF_INET6, host.c_str(), address.data()) == 1;
}

// A TLS record starts with its content type: change_cipher_spec (20), alert
// (21), handshake (22) or application data (23).
bool starts_like_tls(unsigned char first) { return first >= 20 && first <= 23; }

// SSL_get_error needs an empty error queue before each call; clearing an
// empty queue costs OpenSSL 3 hundreds of instructions, peeking a few.
void clear_tls_errors() noexcept {
  if (ERR_peek_error() != 0) ERR_clear_error();
}

}  // namespace

TlsStream::TlsStream(const TlsContext& context, int fd, const std::string& host)
    : host_(context.server_name().empty() ? host : context.server_name()) {
  transport_.fd = fd;
  ERR_clear_error();
  ssl_ = SSL_new(context.native());
  BIO* bio = ssl_ != nullptr ? BIO_new(socket_method()) : nullptr;
  if (bio == nullptr) {
    error_ = "cannot create a TLS session: " + take_tls_error("out of memory");
    return;
  }
  BIO_set_data(bio, &transport_);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl_, bio, bio);
  SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_read_ahead(ssl_, 1);
  // memcached closes without close_notify; replies are framed, so an EOF
  // cannot truncate one unnoticed.
  SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (host_.empty()) return;
  const bool ip = is_ip_literal(host_);
  if (context.verify_hostname()) {
    if (ip) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host_.c_str());
    } else {
      SSL_set1_host(ssl_, host_.c_str());
    }
  }
  // RFC 6066: SNI carries host names only, never literal addresses.
  // (SSL_set_tlsext_host_name, without the macro's C cast.)
  if (!ip) {
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(host_.c_str()));
  }
}

TlsStream::~TlsStream() {
  // No SSL_shutdown: see the header.
  SSL_free(ssl_);
}

ConnectionFailure TlsStream::handshake(Deadline deadline) {
  if (ssl_ == nullptr) return ConnectionFailure::tls_failed;
  for (;;) {
    ERR_clear_error();
    transport_.last_errno = 0;
    const int result = SSL_connect(ssl_);
    if (result == 1) return ConnectionFailure::none;
    const int ssl_error = SSL_get_error(ssl_, result);
    short events = 0;
    if (ssl_error == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (ssl_error == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      error_ = describe_handshake_failure(ssl_error);
      return ConnectionFailure::tls_failed;
    }
    const int ready = wait_ready(transport_.fd, events, deadline);
    if (ready == 0) {
      error_ = transport_.received == 0
                   ? "no TLS handshake before the connect deadline: the server sent nothing"
                   : "no TLS handshake before the connect deadline: the server stopped answering";
      return ConnectionFailure::connect_timeout;
    }
    if (ready < 0) {
      error_ = std::strerror(-ready);
      return ConnectionFailure::io_error;
    }
  }
}

std::string TlsStream::describe_handshake_failure(int ssl_error) {
  unsigned long last = 0;
  while (const unsigned long code = ERR_get_error()) last = code;
  if (transport_.received > 0 &&
      !starts_like_tls(static_cast<unsigned char>(transport_.first_bytes[0]))) {
    const std::size_t shown = std::min(transport_.received, transport_.first_bytes.size());
    return "the server does not speak TLS (it answered \"" +
           protocol::printable_excerpt({transport_.first_bytes.data(), shown}) + "\")";
  }
  if (last != 0 && ERR_GET_LIB(last) == ERR_LIB_SSL &&
      ERR_GET_REASON(last) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
    const long result = SSL_get_verify_result(ssl_);
    std::string text = "certificate verification failed: ";
    text += X509_verify_cert_error_string(result);
    if (result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH) {
      text += " (the server's certificate does not name \"" + host_ + "\")";
    }
    return text;
  }
  if (last != 0) {
    const char* reason = ERR_reason_error_string(last);
    return std::string("TLS handshake failed: ") + (reason != nullptr ? reason : "unknown error");
  }
  if (ssl_error == SSL_ERROR_SYSCALL && transport_.last_errno != 0) {
    return std::string("TLS handshake failed: ") + std::strerror(transport_.last_errno);
  }
  return transport_.received == 0
             ? "the server closed the connection during the TLS handshake without answering"
             : "the server closed the connection during the TLS handshake";
}

ssize_t TlsStream::read(char* buffer, std::size_t size, bool may_block) noexcept {
  clear_tls_errors();
  transport_.last_errno = 0;
  transport_.may_block = may_block;
  std::size_t received = 0;
  const int result = SSL_read_ex(ssl_, buffer, size, &received);
  transport_.may_block = false;
  if (result == 1) return static_cast<ssize_t>(received);
  return failed(result);
}

ssize_t TlsStream::write(const protocol::RequestBuffer& requests, std::size_t offset) noexcept {
  const std::size_t total = requests.size();
  if (offset >= total) return 0;
  // memcached (1.6) never asks OpenSSL whether it holds unread bytes: what a
  // record holds beyond the server's read stays there until more bytes
  // arrive, and the last requests of a batch would never be answered. The
  // server reads either up to 16 KiB into its line buffer, or a value's
  // remaining bytes with a read of exactly their size. So a record is at
  // most 16 KiB, ends where a line ends, and one that starts inside a value
  // ends at the latest with the value's CRLF.
  const std::vector<protocol::RequestBuffer::Span>& values = requests.value_spans();
  const auto value = std::partition_point(
      values.begin(), values.end(),
      [offset](const protocol::RequestBuffer::Span& span) { return span.end + 2 <= offset; });
  const bool inside_value = value != values.end() && value->begin <= offset;
  std::size_t end = std::min(total, offset + kRecordLimit);
  if (inside_value) end = std::min(end, value->end + 2);
  std::array<std::string_view, kMaxRecordSegments> segments;
  const std::size_t count = requests.segments_from(offset, segments.data(), segments.size());
  std::string_view data = segments[0];
  if (data.size() >= end - offset) {
    data = data.substr(0, end - offset);
  } else {
    coalesced_.clear();
    for (std::size_t i = 0; i < count && coalesced_.size() < end - offset; ++i) {
      coalesced_.append(segments[i].substr(0, end - offset - coalesced_.size()));
    }
    data = coalesced_;
  }
  if (!inside_value && end < total) {
    // A line longer than a record (a huge multi-get) is cut anywhere:
    // memcached grows its buffer for those and reads on.
    const std::size_t line_end = data.rfind("\r\n");
    if (line_end != std::string_view::npos) data = data.substr(0, line_end + 2);
  }
  clear_tls_errors();
  transport_.last_errno = 0;
  std::size_t written = 0;
  const int result = SSL_write_ex(ssl_, data.data(), data.size(), &written);
  if (result == 1) return static_cast<ssize_t>(written);
  return failed(result);
}

bool TlsStream::has_pending() const noexcept { return SSL_has_pending(ssl_) == 1; }

ssize_t TlsStream::failed(int ssl_result) noexcept {
  switch (SSL_get_error(ssl_, ssl_result)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE: return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN: return 0;
    case SSL_ERROR_SYSCALL: return transport_.last_errno != 0 ? -transport_.last_errno : 0;
    default: break;
  }
  // The server's alert (a client certificate it wanted, ...) or a record
  // that does not decrypt.
  error_ = "TLS error: " + take_tls_error("unknown error");
  return kTlsError;
}

}  // namespace fastmc::net
