// SPDX-License-Identifier: MIT
// ClusterDiscovery: AWS ElastiCache autodiscovery (engine layer). It asks a
// cluster's configuration endpoint for its node list (`config get cluster`,
// or `get AmazonElastiCache:cluster` on engines older than 1.4.14) and hands
// each new list to a callback, from a background thread that polls on an
// interval. The list is applied only when the configuration version changes.
//
// It knows nothing of the client: the callback decides what a new list
// means (the client swaps its server set). Poll failures never reach the
// callers of the client: they are counted, and the last one is kept.
//
// Thread-safety: discover(), poll_once() and start() are for the owner's
// thread; the accessors may be called from any thread. The callback runs on
// the polling thread (or in poll_once()'s caller), one call at a time.
// Lifetime: the destructor stops the thread, waiting at most for the poll in
// progress (bounded by the connect and call timeouts); the callback is never
// called after it returns.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "net/connection.hpp"
#include "protocol/cluster_config.hpp"

namespace fastmc::engine {

struct DiscoveryOptions {
  // Time between two polls; zero means no polling thread (discover() only).
  std::chrono::milliseconds interval{60000};
  // Time allowed for one poll's exchanges, after connecting; zero means no limit.
  std::chrono::milliseconds timeout{1000};
  // Name servers by their IP (true) or host name; the host name is used
  // whenever the IP is empty.
  bool use_ip = true;
  // Connect timeout, value size limit, TCP_NODELAY of the endpoint connection.
  net::ConnectionOptions connection = {};
};

// The server strings ("ip:port", "host:port", "[v6]:port") for a configuration.
std::vector<std::string> server_list_for(const protocol::ClusterConfig& config, bool use_ip);

class ClusterDiscovery {
 public:
  using ApplyServers = std::function<void(std::vector<std::string>)>;

  // `endpoint` is "host:port" (the forms of ClientOptions::servers). Throws
  // std::invalid_argument naming it if it cannot be parsed. No I/O.
  ClusterDiscovery(const std::string& endpoint, const DiscoveryOptions& options,
                   ApplyServers apply);
  ClusterDiscovery(const ClusterDiscovery&) = delete;
  ClusterDiscovery& operator=(const ClusterDiscovery&) = delete;
  ~ClusterDiscovery();

  // Asks the endpoint once and returns the server list, recording its
  // version; the callback is not called. Throws std::runtime_error naming
  // the endpoint and the cause when the endpoint cannot be reached, does not
  // answer in time, or answers something that is not a valid configuration.
  std::vector<std::string> discover();

  // Asks the endpoint once; calls the callback iff the answer is valid and
  // its version differs from the last one recorded. true iff it asked
  // successfully (whether or not the version changed); a failure is counted.
  bool poll_once();

  // Starts the polling thread, unless the interval is zero. Requires: not
  // started yet.
  void start();

  // The version of the configuration last applied (or discovered), if any.
  std::optional<std::uint64_t> version() const;
  // Polls that failed since construction, and the cause of the last one.
  std::uint64_t failure_count() const;
  std::string last_error() const;

 private:
  std::optional<protocol::ClusterConfig> fetch(std::string& error);
  std::optional<protocol::ClusterConfig> fetch_on_open_connection(std::string& error);
  void run();

  const std::string endpoint_;
  const DiscoveryOptions options_;
  const ApplyServers apply_;
  net::Connection connection_;  // used by one poll at a time (owner or thread)
  // Set once the endpoint answered ERROR to `config get cluster`: an engine
  // older than 1.4.14, asked with the legacy get from then on.
  bool legacy_ = false;

  mutable std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::optional<std::uint64_t> version_;
  std::uint64_t failure_count_ = 0;
  std::string last_error_;

  std::thread thread_;  // last: started after everything else is ready
};

}  // namespace fastmc::engine
