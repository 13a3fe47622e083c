// SPDX-License-Identifier: MIT
#include "routing/libmc_continuum.hpp"

namespace fastmc::routing {
namespace {

std::vector<ContinuumPoint> build_points(const std::vector<RoutingServer>& servers) {
  std::vector<ContinuumPoint> points;
  points.reserve(servers.size() * kLibmcPointsPerServer);
  for (std::size_t index = 0; index < servers.size(); ++index) {
    for (std::uint32_t point = 0; point < kLibmcPointsPerServer; ++point) {
      points.push_back({md5_hash(LibmcContinuum::point_name(servers[index], point)),
                        static_cast<std::uint32_t>(index)});
    }
  }
  return points;
}

}  // namespace

std::string LibmcContinuum::point_name(const RoutingServer& server, std::uint32_t index) {
  std::string name;
  if (!server.alias.empty()) {
    name = server.alias;
  } else if (!server.path.empty()) {
    name = server.path;
  } else if (server.port == 11211) {
    name = server.host;
  } else {
    name = server.host + ":" + std::to_string(server.port);
  }
  name += '-';
  name += std::to_string(index);
  return name;
}

LibmcContinuum::LibmcContinuum(const std::vector<RoutingServer>& servers, KeyHash hash)
    : HashDistribution(hash), server_count_(servers.size()), continuum_(build_points(servers)) {}

std::string libmc_prefixed_key(std::string_view prefix, std::string_view key) {
  std::string prefixed;
  prefixed.reserve(prefix.size() + key.size());
  if (!prefix.empty() && !key.empty() && key.front() == '?') {
    prefixed += '?';
    key.remove_prefix(1);
  }
  prefixed += prefix;
  prefixed += key;
  return prefixed;
}

}  // namespace fastmc::routing
