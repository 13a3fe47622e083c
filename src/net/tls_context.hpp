// SPDX-License-Identifier: MIT
// TlsContext: the OpenSSL client context (SSL_CTX) every TLS connection of a
// client is made from, with what the handshake must check (net layer).
//
// Built once from TlsSettings (CA file or directory or the system store,
// client certificate and key for mutual TLS, minimum version, ciphers), or
// shared with a caller that built its own SSL_CTX (Python's ssl.SSLContext):
// the context takes its own reference, so the caller may drop theirs.
// Verification is on unless turned off explicitly.
//
// Thread-safety: immutable after construction; OpenSSL allows SSL objects to
// be made from one SSL_CTX by many threads at once. Shared by shared_ptr
// between every connection of a client.
#pragma once

#include <memory>
#include <string>
#include <utility>

using SSL_CTX = struct ssl_ctx_st;  // NOLINT(readability-identifier-naming): OpenSSL's name

namespace fastmc::net {

// What a context is built from: fastmc::TlsOptions without `enabled` and
// `ssl_context` (include/fastmc/options.hpp documents each field; the net
// layer does not include the public API).
struct TlsSettings {
  std::string ca_file = {};  // both CA fields empty: the system's store
  std::string ca_path = {};
  std::string cert_file = {};    // mutual TLS
  std::string key_file = {};     // empty: the key is in cert_file
  bool verify = true;            // chain and host name
  std::string server_name = {};  // checked and sent as SNI instead of the host
  std::string min_version = "1.2";
  std::string ciphers = {};
};

class TlsContext {
 public:
  // Throws std::invalid_argument naming the setting and OpenSSL's reason
  // when a file cannot be loaded or a setting is not understood.
  static std::shared_ptr<const TlsContext> create(const TlsSettings& settings);
  // Shares `context` (taking a reference of its own). Its verify mode decides
  // whether the chain is checked; `verify_hostname` whether the certificate
  // must name the server, which OpenSSL leaves to each connection.
  static std::shared_ptr<const TlsContext> share(SSL_CTX* context, bool verify_hostname,
                                                 std::string server_name);

  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  ~TlsContext();

  [[nodiscard]] SSL_CTX* native() const noexcept { return context_; }
  [[nodiscard]] bool verify_hostname() const noexcept { return verify_hostname_; }
  [[nodiscard]] const std::string& server_name() const noexcept { return server_name_; }

 private:
  TlsContext(SSL_CTX* context, bool verify_hostname, std::string server_name) noexcept
      : context_(context),
        verify_hostname_(verify_hostname),
        server_name_(std::move(server_name)) {}

  SSL_CTX* context_;
  bool verify_hostname_;
  std::string server_name_;
};

// The reason of the most recent OpenSSL error on this thread ("certificate
// verify failed", ...), or `fallback` when the queue is empty. Clears the queue.
std::string take_tls_error(const char* fallback);

}  // namespace fastmc::net
