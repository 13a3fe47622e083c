// SPDX-License-Identifier: MIT
// Running prepared exchanges on several connections at once (engine layer).
//
// Every connection's requests are written first, then the replies are read
// connection by connection, under one deadline for the whole batch (libmc's
// batch shape, without its fresh timeout per poll): with all servers
// answering in parallel, the later connections find their replies waiting.
//
// Thread-safety: the connections must be leased by the calling thread.
#pragma once

#include <span>

#include "net/connection.hpp"
#include "net/deadline.hpp"

namespace fastmc::engine {

// Runs every connection's exchange until it is done or has failed; a failure
// on one does not stop the others. Afterwards each connection's failure()
// says how it ended. Requires: each connection is open with an exchange
// begun and its requests appended.
void run_exchanges(std::span<net::Connection* const> connections, net::Deadline deadline);

}  // namespace fastmc::engine
