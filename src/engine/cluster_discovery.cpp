// SPDX-License-Identifier: MIT
// The exchange follows the AWS ElastiCache docs ("Auto Discovery", "adding
// Auto Discovery to your client library"): `config get cluster` on engines
// 1.4.14 and later, `get AmazonElastiCache:cluster` before that; pymemcache's
// aws_ec_client.py and pylibmc's autoconf.py make the same two requests.
#include "engine/cluster_discovery.hpp"

#include <stdexcept>
#include <string_view>
#include <utility>

#include "net/address.hpp"
#include "net/connection_failure.hpp"
#include "net/deadline.hpp"
#include "protocol/text_request.hpp"

namespace fastmc::engine {
namespace {

constexpr std::string_view kConfigKey = "cluster";
constexpr std::string_view kLegacyKey = "AmazonElastiCache:cluster";

net::Address parse_endpoint(const std::string& endpoint) {
  std::string problem;
  std::optional<net::Address> address = net::parse_address(endpoint, problem);
  if (!address) {
    throw std::invalid_argument("fastmc::Client: configuration_endpoint: " + problem);
  }
  return std::move(*address);
}

std::string describe_failure(const net::Connection& connection) {
  std::string text(net::name_of(connection.failure()));
  if (!connection.failure_detail().empty()) text += ": " + connection.failure_detail();
  return text;
}

}  // namespace

std::vector<std::string> server_list_for(const protocol::ClusterConfig& config, bool use_ip) {
  std::vector<std::string> servers;
  servers.reserve(config.nodes.size());
  for (const protocol::ClusterNode& node : config.nodes) {
    const std::string& name = use_ip && !node.ip.empty() ? node.ip : node.host;
    // An IPv6 address needs its brackets before the port.
    const bool bracket = name.find(':') != std::string::npos;
    servers.push_back((bracket ? "[" + name + "]" : name) + ":" + std::to_string(node.port));
  }
  return servers;
}

ClusterDiscovery::ClusterDiscovery(const std::string& endpoint, const DiscoveryOptions& options,
                                   ApplyServers apply)
    : endpoint_(endpoint),
      options_(options),
      apply_(std::move(apply)),
      connection_(parse_endpoint(endpoint), options.connection) {}

ClusterDiscovery::~ClusterDiscovery() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<std::string> ClusterDiscovery::discover() {
  std::string error;
  std::optional<protocol::ClusterConfig> config = fetch(error);
  if (!config) {
    {
      std::lock_guard lock(mutex_);
      ++failure_count_;
      last_error_ = error;
    }
    throw std::runtime_error("fastmc::Client: autodiscovery from configuration endpoint " +
                             endpoint_ + " failed: " + error);
  }
  std::lock_guard lock(mutex_);
  version_ = config->version;
  return server_list_for(*config, options_.use_ip);
}

bool ClusterDiscovery::poll_once() {
  std::string error;
  std::optional<protocol::ClusterConfig> config = fetch(error);
  if (config) {
    {
      std::lock_guard lock(mutex_);
      if (version_ == config->version) return true;
    }
    try {
      apply_(server_list_for(*config, options_.use_ip));
      std::lock_guard lock(mutex_);
      version_ = config->version;
      return true;
    } catch (const std::exception& exception) {
      // A node the client cannot use (an unparsable name): keep the list it
      // has and try again at the next poll.
      error = std::string("the configuration was not applied: ") + exception.what();
    }
  }
  std::lock_guard lock(mutex_);
  ++failure_count_;
  last_error_ = std::move(error);
  return false;
}

void ClusterDiscovery::start() {
  if (options_.interval.count() <= 0) return;
  thread_ = std::thread([this] { run(); });
}

std::optional<std::uint64_t> ClusterDiscovery::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::uint64_t ClusterDiscovery::failure_count() const {
  std::lock_guard lock(mutex_);
  return failure_count_;
}

std::string ClusterDiscovery::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

void ClusterDiscovery::run() {
  std::unique_lock lock(mutex_);
  while (!wake_.wait_for(lock, options_.interval, [this] { return stopping_; })) {
    lock.unlock();
    poll_once();
    lock.lock();
  }
}

std::optional<protocol::ClusterConfig> ClusterDiscovery::fetch(std::string& error) {
  // A connection kept since the last poll may have been closed by the
  // endpoint meanwhile; a failure before any reply byte on it is retried once
  // on a fresh connection, as the request changes nothing on the server.
  const bool reused = connection_.is_open();
  std::optional<protocol::ClusterConfig> config = fetch_on_open_connection(error);
  if (!config && reused && !connection_.is_open() && !connection_.received_any()) {
    config = fetch_on_open_connection(error);
  }
  return config;
}

std::optional<protocol::ClusterConfig> ClusterDiscovery::fetch_on_open_connection(
    std::string& error) {
  if (!connection_.ensure_open(net::Deadline::never())) {
    error = describe_failure(connection_);
    return std::nullopt;
  }
  const net::Deadline deadline = net::Deadline::after(options_.timeout);
  for (int attempt = 0; attempt < 2; ++attempt) {
    connection_.begin_exchange();
    if (legacy_) {
      protocol::append_retrieval_request(connection_.requests(), protocol::RetrievalCommand::get, 0,
                                         kLegacyKey);
      connection_.expect(protocol::TextReplyKind::retrieval);
    } else {
      protocol::append_config_get_request(connection_.requests(), kConfigKey);
      connection_.expect(protocol::TextReplyKind::config);
    }
    if (!connection_.run(deadline)) {
      error = describe_failure(connection_);
      return std::nullopt;
    }
    // One unit (ERROR, END alone) or two (the value, then END).
    const protocol::Reply first = connection_.reply(0);
    if (first.status == protocol::ReplyStatus::error && !legacy_) {
      // ERROR is how an engine before 1.4.14 answers an unknown command; it
      // keeps the connection usable, so the legacy get follows on it.
      legacy_ = true;
      continue;
    }
    if (protocol::is_error(first.status)) {
      error = std::string("the endpoint answered ") + std::string(protocol::name_of(first.status)) +
              (first.data.empty() ? "" : " " + std::string(first.data));
      return std::nullopt;
    }
    if (first.status != protocol::ReplyStatus::value) {
      error = "the endpoint has no cluster configuration (" +
              std::string(legacy_ ? kLegacyKey : "config get cluster") + " found nothing)";
      return std::nullopt;
    }
    std::string_view problem;
    std::optional<protocol::ClusterConfig> config =
        protocol::parse_cluster_config(first.data, &problem);
    if (!config) error = std::string(problem);
    return config;
  }
  error =
      "the endpoint answered ERROR to both config get cluster and get " + std::string(kLegacyKey);
  return std::nullopt;
}

}  // namespace fastmc::engine
