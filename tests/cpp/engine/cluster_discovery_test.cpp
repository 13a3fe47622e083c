// SPDX-License-Identifier: MIT
// ClusterDiscovery against a tiny in-process configuration endpoint that
// answers each request line with the reply currently set for that request.
#include "engine/cluster_discovery.hpp"

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

namespace fastmc::engine {
namespace {

using namespace std::chrono_literals;

// Serves one connection at a time; a request line without a reply set gets
// ERROR. Test code: blocking sockets, stopped by shutting the listener down.
class FakeEndpoint {
 public:
  FakeEndpoint() {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 8) != 0) {
      throw std::runtime_error("cannot listen");
    }
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeEndpoint() {
    stopping_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    {
      std::lock_guard lock(mutex_);
      if (client_ >= 0) ::shutdown(client_, SHUT_RDWR);
    }
    thread_.join();
    ::close(listener_);
  }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void answer(const std::string& request, const std::string& reply) {
    std::lock_guard lock(mutex_);
    replies_[request] = reply;
  }
  int requests() const { return requests_; }

 private:
  void serve() {
    while (!stopping_) {
      const int client = ::accept(listener_, nullptr, nullptr);
      if (client < 0) return;
      {
        std::lock_guard lock(mutex_);
        client_ = client;
      }
      std::string pending;
      char bytes[4096];
      while (true) {
        const ssize_t received = ::recv(client, bytes, sizeof bytes, 0);
        if (received <= 0) break;
        pending.append(bytes, static_cast<std::size_t>(received));
        std::size_t end = 0;
        while ((end = pending.find("\r\n")) != std::string::npos) {
          const std::string line = pending.substr(0, end);
          pending.erase(0, end + 2);
          std::string reply = "ERROR\r\n";
          {
            std::lock_guard lock(mutex_);
            if (auto found = replies_.find(line); found != replies_.end()) reply = found->second;
          }
          ++requests_;
          (void)::send(client, reply.data(), reply.size(), MSG_NOSIGNAL);
        }
      }
      std::lock_guard lock(mutex_);
      ::close(client);
      client_ = -1;
    }
  }

  int listener_ = -1;
  int client_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mutex_;
  std::map<std::string, std::string> replies_;
  std::thread thread_;
};

std::string config_reply(const std::string& keyword, const std::string& key,
                         const std::string& payload) {
  return keyword + " " + key + " 0 " + std::to_string(payload.size()) + "\r\n" + payload +
         "\r\nEND\r\n";
}

std::string config_get(const std::string& payload) {
  return config_reply("CONFIG", "cluster", payload);
}

DiscoveryOptions options(std::chrono::milliseconds interval = 0ms) {
  DiscoveryOptions result;
  result.interval = interval;
  result.timeout = 1000ms;
  result.connection.connect_timeout = 1000ms;
  result.connection.call_timeout = 1000ms;
  return result;
}

struct Applied {
  std::mutex mutex;
  std::vector<std::vector<std::string>> lists;

  ClusterDiscovery::ApplyServers callback() {
    return [this](std::vector<std::string> servers) {
      std::lock_guard lock(mutex);
      lists.push_back(std::move(servers));
    };
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return lists.size();
  }
};

TEST(ClusterDiscoveryTest, DiscoverReturnsTheNodesByIpOrHost) {
  FakeEndpoint endpoint;
  endpoint.answer("config get cluster",
                  config_get("7\na.example|10.0.0.1|11211 b.example||11212\n"));
  Applied applied;
  {
    // The endpoint serves one connection at a time: this one closes first.
    ClusterDiscovery by_ip(endpoint.address(), options(), applied.callback());
    EXPECT_EQ(by_ip.discover(), (std::vector<std::string>{"10.0.0.1:11211", "b.example:11212"}));
    EXPECT_EQ(by_ip.version(), 7u);
  }
  DiscoveryOptions by_host_options = options();
  by_host_options.use_ip = false;
  ClusterDiscovery by_host(endpoint.address(), by_host_options, applied.callback());
  EXPECT_EQ(by_host.discover(), (std::vector<std::string>{"a.example:11211", "b.example:11212"}));
  EXPECT_EQ(applied.count(), 0u);
}

TEST(ClusterDiscoveryTest, Ipv6AddressesAreBracketed) {
  protocol::ClusterConfig config{1, {{"h", "fd00::1", 11211}}};
  EXPECT_EQ(server_list_for(config, true), std::vector<std::string>{"[fd00::1]:11211"});
}

TEST(ClusterDiscoveryTest, PollAppliesOnlyANewVersion) {
  FakeEndpoint endpoint;
  endpoint.answer("config get cluster", config_get("1\na|10.0.0.1|11211\n"));
  Applied applied;
  ClusterDiscovery discovery(endpoint.address(), options(), applied.callback());
  ASSERT_EQ(discovery.discover().size(), 1u);
  EXPECT_TRUE(discovery.poll_once());
  EXPECT_EQ(applied.count(), 0u);
  // The same version with another list is not applied: the version decides.
  endpoint.answer("config get cluster", config_get("1\nb|10.0.0.2|11211\n"));
  EXPECT_TRUE(discovery.poll_once());
  EXPECT_EQ(applied.count(), 0u);
  endpoint.answer("config get cluster", config_get("2\nb|10.0.0.2|11211 c|10.0.0.3|11211\n"));
  EXPECT_TRUE(discovery.poll_once());
  ASSERT_EQ(applied.count(), 1u);
  EXPECT_EQ(applied.lists[0], (std::vector<std::string>{"10.0.0.2:11211", "10.0.0.3:11211"}));
  EXPECT_EQ(discovery.version(), 2u);
  EXPECT_EQ(discovery.failure_count(), 0u);
}

TEST(ClusterDiscoveryTest, OldEnginesAreAskedWithTheLegacyGet) {
  FakeEndpoint endpoint;
  endpoint.answer("get AmazonElastiCache:cluster",
                  config_reply("VALUE", "AmazonElastiCache:cluster", "3\na|10.0.0.1|11211\n"));
  Applied applied;
  ClusterDiscovery discovery(endpoint.address(), options(), applied.callback());
  EXPECT_EQ(discovery.discover(), std::vector<std::string>{"10.0.0.1:11211"});
  EXPECT_EQ(endpoint.requests(), 2);
  // From then on only the legacy get is sent.
  EXPECT_TRUE(discovery.poll_once());
  EXPECT_EQ(endpoint.requests(), 3);
}

TEST(ClusterDiscoveryTest, MalformedPayloadThrowsThenCountsAsAFailedPoll) {
  FakeEndpoint endpoint;
  endpoint.answer("config get cluster", config_get("1\na|10.0.0.1|0\n"));
  Applied applied;
  ClusterDiscovery discovery(endpoint.address(), options(), applied.callback());
  try {
    discovery.discover();
    ADD_FAILURE() << "discover() accepted a port of 0";
  } catch (const std::runtime_error& error) {
    EXPECT_NE(std::string(error.what()).find(endpoint.address()), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("port"), std::string::npos);
  }
  EXPECT_FALSE(discovery.poll_once());
  EXPECT_EQ(discovery.failure_count(), 2u);
  EXPECT_NE(discovery.last_error().find("port"), std::string::npos);
  EXPECT_EQ(applied.count(), 0u);
}

TEST(ClusterDiscoveryTest, EndpointDownThrowsNamingIt) {
  std::string address;
  {
    FakeEndpoint endpoint;
    address = endpoint.address();
  }
  Applied applied;
  ClusterDiscovery discovery(address, options(), applied.callback());
  EXPECT_THROW(discovery.discover(), std::runtime_error);
}

TEST(ClusterDiscoveryTest, BadEndpointIsAnInvalidArgument) {
  Applied applied;
  EXPECT_THROW(ClusterDiscovery("host:notaport", options(), applied.callback()),
               std::invalid_argument);
}

TEST(ClusterDiscoveryTest, ThreadPicksUpAChangeAndStopsPromptly) {
  FakeEndpoint endpoint;
  endpoint.answer("config get cluster", config_get("1\na|10.0.0.1|11211\n"));
  Applied applied;
  auto discovery =
      std::make_unique<ClusterDiscovery>(endpoint.address(), options(20ms), applied.callback());
  discovery->discover();
  discovery->start();
  endpoint.answer("config get cluster", config_get("2\nb|10.0.0.2|11211\n"));
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (applied.count() == 0 && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(applied.count(), 1u);
  EXPECT_EQ(discovery->version(), 2u);
  // A long interval must not delay the stop.
  auto slow =
      std::make_unique<ClusterDiscovery>(endpoint.address(), options(60s), applied.callback());
  slow->start();
  const auto before = std::chrono::steady_clock::now();
  slow.reset();
  discovery.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
}

}  // namespace
}  // namespace fastmc::engine
