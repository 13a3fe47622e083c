// SPDX-License-Identifier: MIT
#include "routing/modula.hpp"

namespace fastmc::routing {

std::optional<std::size_t> Modula::live_server_for_hash(std::uint32_t hash,
                                                        LiveServers is_live) const {
  const std::size_t server = server_for_hash(hash);
  if (is_live(server)) return server;
  return std::nullopt;
}

}  // namespace fastmc::routing
