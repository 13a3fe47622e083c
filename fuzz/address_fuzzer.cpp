// SPDX-License-Identifier: MIT
// Fuzzes parse_address, the parser of user-written server strings: it must
// never crash, must explain every refusal, and what it accepts must be a
// fixed point: the address written back in canonical form parses to the same
// address. That rules out, e.g., a port or weight silently read from garbage
// or an alias swallowing part of the host.
#include "net/address.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

namespace {

void require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

// Every byte as %XX: percent-decoding gives it back, whatever it is.
std::string percent_encoded(std::string_view text) {
  constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    out += '%';
    out += kHex[byte >> 4];
    out += kHex[byte & 0x0f];
  }
  return out;
}

// The address as a server string in the forms parse_address documents.
std::string canonical(const fastmc::net::Address& address) {
  using Transport = fastmc::net::Address::Transport;
  std::string text;
  if (address.transport != Transport::client_default) {
    text = address.transport == Transport::tls ? "tls://" : "tcp://";
    if (!address.username.empty() || !address.password.empty()) {
      text += percent_encoded(address.username) + ":" + percent_encoded(address.password) + "@";
    }
  }
  if (address.kind == fastmc::net::Address::Kind::unix_socket) {
    text += address.path;
  } else {
    // Brackets for IPv6 (with its zone's '%'), and for a host named
    // "unix", which "unix:port" would turn into a socket path.
    const bool bracket =
        address.host.find_first_of(":%") != std::string::npos || address.host == "unix";
    text += bracket ? "[" + address.host + "]" : address.host;
    text += ":" + std::to_string(address.port);
    if (address.weight != 1) text += ":" + std::to_string(address.weight);
  }
  if (!address.alias.empty()) text += " " + address.alias;
  return text;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(bytes), size);
  std::string problem;
  const std::optional<fastmc::net::Address> address = fastmc::net::parse_address(text, problem);
  if (!address) {
    require(!problem.empty());
    return 0;
  }
  require(!address->name().empty());
  if (address->kind == fastmc::net::Address::Kind::tcp) {
    require(!address->host.empty());
    require(address->port != 0);
  } else {
    require(address->path.size() >= 2 && address->path.front() == '/');
  }
  // Unix paths keep their weight-less, port-less form; only TCP addresses
  // carry a weight, so a unix path's canonical form is the path itself.
  std::string again_problem;
  const std::optional<fastmc::net::Address> again =
      fastmc::net::parse_address(canonical(*address), again_problem);
  require(again.has_value());
  require(*again == *address);
  return 0;
}
