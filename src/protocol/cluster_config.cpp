// SPDX-License-Identifier: MIT
// The payload format is AWS ElastiCache's (docs "Auto Discovery": the reply to
// `config get cluster`); pymemcache's aws_ec_client.py and pylibmc's
// autoconf.py read the same two lines. Parsed strictly: a payload we cannot
// read exactly is not applied, so a garbled reply never replaces a good list.
#include "protocol/cluster_config.hpp"

#include "protocol/decimal.hpp"

namespace fastmc::protocol {
namespace {

constexpr std::uint32_t kMaxPort = 65535;

std::optional<ClusterConfig> fail(std::string_view* problem, std::string_view why) {
  if (problem != nullptr) *problem = why;
  return std::nullopt;
}

bool is_clean_field(std::string_view field) noexcept {
  return field.find_first_of(" \r\n\t") == std::string_view::npos;
}

}  // namespace

std::optional<ClusterConfig> parse_cluster_config(std::string_view payload,
                                                  std::string_view* problem) {
  const std::size_t first_end = payload.find('\n');
  if (first_end == std::string_view::npos) {
    return fail(problem, "cluster configuration has no line feed after its version");
  }
  ClusterConfig config;
  if (!parse_decimal(payload.substr(0, first_end), config.version)) {
    return fail(problem, "cluster configuration version is not a decimal number below 2^64");
  }
  std::string_view nodes = payload.substr(first_end + 1);
  if (nodes.empty() || nodes.back() != '\n') {
    return fail(problem, "cluster configuration node list does not end with a line feed");
  }
  nodes.remove_suffix(1);
  if (nodes.find('\n') != std::string_view::npos) {
    return fail(problem, "cluster configuration has more than two lines");
  }
  if (nodes.empty()) return fail(problem, "cluster configuration lists no node");
  while (true) {
    const std::size_t space = nodes.find(' ');
    const std::string_view node = nodes.substr(0, space);
    const std::size_t first_bar = node.find('|');
    const std::size_t second_bar =
        first_bar == std::string_view::npos ? first_bar : node.find('|', first_bar + 1);
    if (second_bar == std::string_view::npos ||
        node.find('|', second_bar + 1) != std::string_view::npos) {
      return fail(problem, "cluster configuration node is not \"<host>|<ip>|<port>\"");
    }
    const std::string_view host = node.substr(0, first_bar);
    const std::string_view ip = node.substr(first_bar + 1, second_bar - first_bar - 1);
    std::uint32_t port = 0;
    if (host.empty() || !is_clean_field(host) || !is_clean_field(ip)) {
      return fail(problem, "cluster configuration node has an empty or invalid host or ip");
    }
    if (!parse_decimal(node.substr(second_bar + 1), port) || port == 0 || port > kMaxPort) {
      return fail(problem, "cluster configuration node port is not a number from 1 to 65535");
    }
    config.nodes.push_back(
        ClusterNode{std::string(host), std::string(ip), static_cast<std::uint16_t>(port)});
    if (space == std::string_view::npos) break;
    nodes.remove_prefix(space + 1);
  }
  return config;
}

}  // namespace fastmc::protocol
