// SPDX-License-Identifier: MIT
// ClusterConfig: the node list of an AWS ElastiCache cluster, parsed from the
// payload of a `config get cluster` reply (protocol layer). Grammar:
// docs/protocol.md, section "ElastiCache cluster configuration".
//
// Pure function; the result owns its strings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fastmc::protocol {

struct ClusterNode {
  std::string host;  // the node's DNS name
  std::string ip;    // its address; empty when the cluster has not resolved it
  std::uint16_t port = 0;
};

struct ClusterConfig {
  // Grows each time the cluster's node list changes.
  std::uint64_t version = 0;
  std::vector<ClusterNode> nodes;  // at least one, in the order given
};

// The configuration in `payload` ("<version>\n<host>|<ip>|<port> ...\n"), or
// nullopt iff it is malformed: a version that is not a decimal number below
// 2^64, a missing or extra line feed, no node, a node without exactly three
// '|'-separated fields, an empty host, a field holding a space or CR, or a
// port that is not a decimal number from 1 to 65535. `problem`, when given,
// is then set to a short static description.
std::optional<ClusterConfig> parse_cluster_config(std::string_view payload,
                                                  std::string_view* problem = nullptr);

}  // namespace fastmc::protocol
