// SPDX-License-Identifier: MIT
#include "routing/ketama.hpp"

#include <cmath>
#include <utility>

namespace fastmc::routing {
namespace {

std::uint32_t little_endian_word(const std::array<std::uint8_t, 16>& digest,
                                 std::size_t offset) noexcept {
  return static_cast<std::uint32_t>(digest[offset]) |
         (static_cast<std::uint32_t>(digest[offset + 1]) << 8) |
         (static_cast<std::uint32_t>(digest[offset + 2]) << 16) |
         (static_cast<std::uint32_t>(digest[offset + 3]) << 24);
}

std::vector<ContinuumPoint> build_points(const std::vector<RoutingServer>& servers, KeyHash hash,
                                         KetamaOptions options) {
  std::vector<ContinuumPoint> points;
  std::uint64_t total_weight = 0;
  for (const RoutingServer& server : servers) total_weight += server.weight;
  // A list weighing nothing at all would divide by zero in libmemcached;
  // count every server once instead.
  const bool all_weightless = total_weight == 0;
  if (all_weightless) total_weight = servers.size();

  for (std::size_t index = 0; index < servers.size(); ++index) {
    const RoutingServer& server = servers[index];
    const auto server_index = static_cast<std::uint32_t>(index);
    if (!options.weighted) {
      for (std::uint32_t point = 0; point < kKetamaPointsPerServer; ++point) {
        const std::string name = KetamaContinuum::point_name(server, point, options.spy);
        points.push_back({hash_key(hash, name), server_index});
      }
      continue;
    }
    const std::uint32_t weight = all_weightless ? 1 : server.weight;
    const std::uint32_t point_count =
        KetamaContinuum::weighted_point_count(weight, total_weight, servers.size());
    for (std::uint32_t point = 0; point < point_count / 4; ++point) {
      const std::string name = KetamaContinuum::point_name(server, point, options.spy);
      const std::array<std::uint8_t, 16> digest = md5_digest(name);
      for (std::size_t word = 0; word < 4; ++word) {
        points.push_back({little_endian_word(digest, word * 4), server_index});
      }
    }
  }
  return points;
}

}  // namespace

std::string KetamaContinuum::point_name(const RoutingServer& server, std::uint32_t index,
                                        bool spy) {
  // libmemcached names a unix socket server by its path, with port 0.
  const bool unix_socket = !server.path.empty();
  const std::string& host = unix_socket ? server.path : server.host;
  const std::uint32_t port = unix_socket ? 0 : server.port;
  std::string name;
  if (spy) {
    name = "/" + host + ":" + std::to_string(port);
  } else if (port == 11211) {
    name = host;
  } else {
    name = host + ":" + std::to_string(port);
  }
  name += '-';
  name += std::to_string(index);
  return name;
}

std::uint32_t KetamaContinuum::weighted_point_count(std::uint32_t weight,
                                                    std::uint64_t total_weight,
                                                    std::size_t server_count) noexcept {
  // hosts.cc computes this in float, left to right, and floors it: near an
  // integer, double arithmetic could round the other way and cost a server
  // a digest (4 points). libmemcached adds 1e-10f before the floor, which
  // cannot move a float of this size across an integer.
  const float share = static_cast<float>(weight) / static_cast<float>(total_weight);
  const float per_server = share * static_cast<float>(kKetamaWeightedPointsPerServer);
  const float digests = per_server / 4.0f * static_cast<float>(server_count);
  return static_cast<std::uint32_t>(std::floor(digests)) * 4;
}

KetamaContinuum::KetamaContinuum(const std::vector<RoutingServer>& servers, KeyHash hash,
                                 KetamaOptions options)
    : HashDistribution(hash),
      server_count_(servers.size()),
      continuum_(build_points(servers, hash, options)) {}

}  // namespace fastmc::routing
