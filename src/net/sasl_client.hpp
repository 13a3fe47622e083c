// SPDX-License-Identifier: MIT
// SaslClient: the client side of one SASL (RFC 4422) authentication, done
// by Cyrus SASL (net layer). It turns credentials and the server's
// challenges into the messages to send; it does no I/O. Connection carries
// the messages over the binary protocol (SASL list, auth and step requests;
// docs/protocol.md, "Binary", "SASL").
//
// The mechanism is the best one Cyrus and the server both offer: memcached
// lists what its sasl configuration allows (mech_list), Cyrus what its
// installed plugins provide (Debian's libsasl2-modules: PLAIN, LOGIN,
// CRAM-MD5, DIGEST-MD5, ...). PLAIN sends the password in the clear, so
// over an untrusted network it belongs under TLS.
//
// Thread-safety: one SaslClient per authentication, used by one thread;
// Cyrus is initialised once per process, with locking, on first use.
// Lifetime: message() and mechanism() are valid until the next call.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace fastmc::net {

class SaslClient {
 public:
  // `server_host` names the server for mechanisms that use it (DIGEST-MD5);
  // the service name is "memcached".
  SaslClient(std::string username, std::string password, std::string server_host);
  ~SaslClient();
  SaslClient(const SaslClient&) = delete;
  SaslClient& operator=(const SaslClient&) = delete;

  // Picks a mechanism from `server_mechanisms` (space-separated, as the SASL
  // list reply gives them) and makes the first message. false iff no
  // mechanism is shared or Cyrus failed; problem() says why.
  bool start(std::string_view server_mechanisms);
  // Makes the answer to the server's `challenge` (after auth_continue).
  // false iff Cyrus refused the challenge; problem() says why.
  bool step(std::string_view challenge);

  [[nodiscard]] std::string_view mechanism() const noexcept { return mechanism_; }
  // The message to send next (may be empty).
  [[nodiscard]] std::string_view message() const noexcept { return message_; }
  [[nodiscard]] const std::string& problem() const noexcept { return problem_; }

 private:
  struct Session;  // Cyrus's connection and the callbacks' context

  std::unique_ptr<Session> session_;
  std::string mechanism_;
  std::string_view message_;
  std::string problem_;
};

}  // namespace fastmc::net
