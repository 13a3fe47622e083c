// SPDX-License-Identifier: MIT
#include "routing/rendezvous.hpp"

#include <array>
#include <utility>

namespace fastmc::routing {

Rendezvous::Rendezvous(std::vector<std::string> node_ids, KeyHash hash)
    : node_ids_(std::move(node_ids)), hash_(hash) {}

std::uint32_t Rendezvous::score(std::size_t index, std::string_view key) const noexcept {
  const std::array<std::string_view, 3> parts = {node_ids_[index], "-", key};
  if (hash_ == KeyHash::murmur3_32) return murmur3_x86_32(parts, 0);
  std::string joined;
  joined.reserve(node_ids_[index].size() + 1 + key.size());
  joined.append(node_ids_[index]).append("-").append(key);
  return hash_key(hash_, joined);
}

template <class Eligible>
std::optional<std::size_t> Rendezvous::best_server(std::string_view key,
                                                   const Eligible& eligible) const {
  std::optional<std::size_t> winner;
  std::uint32_t high_score = 0;
  for (std::size_t index = 0; index < node_ids_.size(); ++index) {
    if (!eligible(index)) continue;
    const std::uint32_t candidate = score(index, key);
    // pymemcache keeps the first strictly higher score and settles a tie with
    // max(str(node), str(winner)), whatever order the nodes come in.
    if (!winner || candidate > high_score ||
        (candidate == high_score && node_ids_[index] > node_ids_[*winner])) {
      winner = index;
      high_score = candidate;
    }
  }
  return winner;
}

std::size_t Rendezvous::server_for_key(std::string_view key) const noexcept {
  return *best_server(key, [](std::size_t) { return true; });
}

std::optional<std::size_t> Rendezvous::live_server_for_key(std::string_view key,
                                                           LiveServers is_live) const {
  return best_server(key, is_live);
}

std::string pymemcache_node_id(const RoutingServer& server) {
  if (!server.path.empty()) return server.path;
  return server.host + ":" + std::to_string(server.port);
}

std::string pymemcache_bytes_key(std::string_view key) {
  // CPython Objects/bytesobject.c PyBytes_Repr: single quotes unless the
  // bytes hold a single quote and no double quote.
  const bool has_single = key.find('\'') != std::string_view::npos;
  const bool has_double = key.find('"') != std::string_view::npos;
  const char quote = (has_single && !has_double) ? '"' : '\'';
  constexpr std::string_view kHexDigits = "0123456789abcdef";
  std::string repr = "b";
  repr += quote;
  for (const char c : key) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      repr += '\\';
      repr += c;
    } else if (c == '\t') {
      repr += "\\t";
    } else if (c == '\n') {
      repr += "\\n";
    } else if (c == '\r') {
      repr += "\\r";
    } else if (byte < 0x20 || byte >= 0x7f) {
      repr += "\\x";
      repr += kHexDigits[byte >> 4];
      repr += kHexDigits[byte & 0x0f];
    } else {
      repr += c;
    }
  }
  repr += quote;
  return repr;
}

std::string pymemcache_str_key(std::string_view utf8_key) {
  std::string key;
  key.reserve(utf8_key.size());
  std::size_t position = 0;
  while (position < utf8_key.size()) {
    const auto lead = static_cast<unsigned char>(utf8_key[position]);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if ((lead & 0xe0) == 0xc0) {
      length = 2;
      code_point = lead & 0x1fu;
    } else if ((lead & 0xf0) == 0xe0) {
      length = 3;
      code_point = lead & 0x0fu;
    } else if ((lead & 0xf8) == 0xf0) {
      length = 4;
      code_point = lead & 0x07u;
    }
    bool valid = length != 0 && position + length <= utf8_key.size();
    for (std::size_t offset = 1; valid && offset < length; ++offset) {
      const auto next = static_cast<unsigned char>(utf8_key[position + offset]);
      valid = (next & 0xc0) == 0x80;
      code_point = (code_point << 6) | (next & 0x3fu);
    }
    if (!valid) {
      key += static_cast<char>(lead);
      ++position;
      continue;
    }
    key += static_cast<char>(static_cast<unsigned char>(code_point & 0xffu));
    position += length;
  }
  return key;
}

}  // namespace fastmc::routing
