// SPDX-License-Identifier: MIT
#include "engine/batch.hpp"

#include <poll.h>

namespace fastmc::engine {

void run_exchanges(std::span<net::Connection* const> connections, net::Deadline deadline) {
  if (connections.size() == 1) {
    connections.front()->run(deadline);
    return;
  }
  // Start every exchange before waiting on any, so their round trips overlap.
  for (net::Connection* connection : connections) connection->step(POLLOUT);
  // Then finish them one by one, each under the same deadline. By the time
  // the first has answered the others' replies are mostly waiting, so this
  // costs fewer wake-ups than polling for every server's first byte, and a
  // connection that finds its reply waiting takes it even after a stalled
  // server used up the deadline (Connection::run reads before it waits).
  for (net::Connection* connection : connections) {
    if (connection->wanted_events() != 0) connection->run(deadline);
  }
}

}  // namespace fastmc::engine
