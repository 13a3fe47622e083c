// SPDX-License-Identifier: MIT
#include "engine/batch.hpp"

#include <cerrno>
#include <cstring>
#include <poll.h>
#include <vector>

namespace fastmc::engine {

void run_exchanges(std::span<net::Connection* const> connections, net::Deadline deadline) {
  if (connections.size() == 1) {
    connections.front()->run(deadline);
    return;
  }
  // Start every exchange before waiting on any, so their round trips overlap.
  std::size_t active = 0;
  for (net::Connection* connection : connections) {
    if (connection->step(POLLOUT) == net::Connection::Progress::in_progress) ++active;
  }
  std::vector<pollfd> entries;
  std::vector<net::Connection*> polled;
  entries.reserve(connections.size());
  polled.reserve(connections.size());
  while (active > 0) {
    entries.clear();
    polled.clear();
    for (net::Connection* connection : connections) {
      const short events = connection->wanted_events();
      if (events != 0) {
        entries.push_back(pollfd{connection->fd(), events, 0});
        polled.push_back(connection);
      }
    }
    int ready;
    if (deadline.is_never()) {
      ready = ::ppoll(entries.data(), entries.size(), nullptr, nullptr);
    } else {
      const timespec left = deadline.remaining_timespec();
      ready = ::ppoll(entries.data(), entries.size(), &left, nullptr);
    }
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      const bool timed_out = ready == 0;
      const std::string detail =
          timed_out ? "no complete reply before the deadline" : std::strerror(errno);
      for (net::Connection* connection : polled) {
        connection->fail(
            timed_out ? net::ConnectionFailure::timed_out : net::ConnectionFailure::io_error,
            detail);
      }
      return;
    }
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].revents == 0) continue;
      if (polled[i]->step(entries[i].revents) != net::Connection::Progress::in_progress) --active;
    }
  }
}

}  // namespace fastmc::engine
