// SPDX-License-Identifier: MIT
#include "net/tls_context.hpp"

#include <stdexcept>
#include <utility>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace fastmc::net {
namespace {

[[noreturn]] void refuse(SSL_CTX* context, const std::string& what) {
  const std::string reason = take_tls_error("not accepted by OpenSSL");
  SSL_CTX_free(context);
  throw std::invalid_argument("fastmc::Client: tls " + what + ": " + reason);
}

}  // namespace

std::string take_tls_error(const char* fallback) {
  unsigned long last = 0;
  while (const unsigned long code = ERR_get_error()) last = code;
  if (last == 0) return fallback;
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : fallback;
}

std::shared_ptr<const TlsContext> TlsContext::create(const TlsSettings& settings) {
  ERR_clear_error();
  SSL_CTX* context = SSL_CTX_new(TLS_client_method());
  if (context == nullptr) refuse(nullptr, "context");
  int min_version = 0;
  if (settings.min_version == "1.2" || settings.min_version.empty()) {
    min_version = TLS1_2_VERSION;
  } else if (settings.min_version == "1.3") {
    min_version = TLS1_3_VERSION;
  } else {
    SSL_CTX_free(context);
    throw std::invalid_argument("fastmc::Client: tls min_version \"" + settings.min_version +
                                R"(" is not "1.2" or "1.3")");
  }
  SSL_CTX_set_min_proto_version(context, min_version);
  if (!settings.ciphers.empty() &&
      SSL_CTX_set_cipher_list(context, settings.ciphers.c_str()) != 1) {
    refuse(context, "ciphers \"" + settings.ciphers + "\"");
  }
  if (settings.verify) {
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nullptr);
    if (settings.ca_file.empty() && settings.ca_path.empty()) {
      if (SSL_CTX_set_default_verify_paths(context) != 1) refuse(context, "system CA store");
    } else if (SSL_CTX_load_verify_locations(
                   context, settings.ca_file.empty() ? nullptr : settings.ca_file.c_str(),
                   settings.ca_path.empty() ? nullptr : settings.ca_path.c_str()) != 1) {
      refuse(context,
             "ca_file \"" + settings.ca_file + "\" / ca_path \"" + settings.ca_path + "\"");
    }
  } else {
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nullptr);
  }
  if (!settings.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(context, settings.cert_file.c_str()) != 1) {
      refuse(context, "cert_file \"" + settings.cert_file + "\"");
    }
    const std::string& key_file =
        settings.key_file.empty() ? settings.cert_file : settings.key_file;
    if (SSL_CTX_use_PrivateKey_file(context, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      refuse(context, "key_file \"" + key_file + "\"");
    }
    if (SSL_CTX_check_private_key(context) != 1) {
      refuse(context, "key_file \"" + key_file + "\" does not match cert_file");
    }
  } else if (!settings.key_file.empty()) {
    SSL_CTX_free(context);
    throw std::invalid_argument("fastmc::Client: tls key_file given without cert_file");
  }
  return std::shared_ptr<const TlsContext>(
      new TlsContext(context, settings.verify, settings.server_name));
}

std::shared_ptr<const TlsContext> TlsContext::share(SSL_CTX* context, bool verify_hostname,
                                                    std::string server_name) {
  SSL_CTX_up_ref(context);
  return std::shared_ptr<const TlsContext>(
      new TlsContext(context, verify_hostname, std::move(server_name)));
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

}  // namespace fastmc::net
