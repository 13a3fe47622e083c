// SPDX-License-Identifier: MIT
// Benchmark of fastmc::Client against libmemcached's C API and a raw socket,
// on one memcached, with the workloads of bench/compare_peers.py: set, get
// hit, get miss, incr, delete (100-byte values), get_many and set_many of 100
// keys, set+get of 100 KiB and of 900 KiB.
//
// Clients run in short interleaved rounds (round r runs every client once,
// order rotated); the report gives the median µs per operation, each client's
// throughput relative to the raw socket, and fastmc against the fastest
// libmemcached configuration. Every value read is compared with the value
// stored; a mismatch or an error stops the run with exit status 1.
//
//   fastmc_bench_client_vs_libmemcached                 # starts memcached, pinned to CPU 1
//   fastmc_bench_client_vs_libmemcached --quick         # smoke run
//   fastmc_bench_client_vs_libmemcached --server 127.0.0.1:11211 --report out.md
//
// Single-threaded; see bench/README.md for how to read the figures.

#include <algorithm>
#include <arpa/inet.h>
#include <array>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <random>
#include <sched.h>
#include <set>
#include <span>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <utility>
#include <vector>

#include <libmemcached/memcached.h>

#include <fastmc/client.hpp>

namespace {

using Clock = std::chrono::steady_clock;
using Nanoseconds = std::chrono::nanoseconds;

constexpr std::size_t kValueSize = 100;
constexpr std::size_t kKeyCount = 100;   // keys a single-key workload cycles through per chunk
constexpr std::size_t kBatchSize = 100;  // keys per get_many / set_many call
constexpr std::size_t kMultiCallsPerChunk = 10;
// memcached's default item limit (1 MiB, item header included) would take
// 900 KiB, but -I 2m leaves no doubt; compare_peers.py uses the same.
constexpr std::size_t kMaxItemSize = std::size_t{2} * 1024 * 1024;
constexpr const char* kMemcached = "/usr/bin/memcached";
constexpr std::string_view kStored = "STORED\r\n";
constexpr std::size_t kMaxPieces = 4;  // iovecs in one raw request

// ---------------------------------------------------------------------------
// Failures

// A client returned something other than what was stored, or an error.
class VerificationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Printable and short: values are up to 900 KiB of random bytes.
std::string show(std::string_view bytes) {
  std::string out = "\"";
  for (char c : bytes.substr(0, 60)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f && c != '"' && c != '\\') {
      out += c;
    } else {
      std::array<char, 8> escaped{};
      std::snprintf(escaped.data(), escaped.size(), "\\x%02x", byte);
      out += escaped.data();
    }
  }
  out += '"';
  if (bytes.size() > 60) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

[[noreturn]] void fail(const std::string& message) { throw VerificationError(message); }

[[noreturn]] void fail_value(std::string_view what, std::string_view key, std::string_view expected,
                             std::string_view got) {
  const auto mismatch = std::mismatch(expected.begin(), expected.end(), got.begin(), got.end());
  fail(std::string(what) + " " + show(key) + ": expected " + std::to_string(expected.size()) +
       " bytes, got " + std::to_string(got.size()) + ", first difference at byte " +
       std::to_string(mismatch.first - expected.begin()) + ": " + show(got));
}

// ---------------------------------------------------------------------------
// Sockets: the raw baseline and the untimed admin connection

class Socket {
 public:
  Socket(const std::string& host, std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    if (::inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
      ::close(fd_);
      throw std::runtime_error("not an IPv4 address: " + host);
    }
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
      const int error = errno;
      ::close(fd_);
      throw std::runtime_error("connect " + host + ":" + std::to_string(port) + ": " +
                               std::strerror(error));
    }
    const int on = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    // Blocking reads (no poll per call), but a reply shorter than expected
    // makes the read fail after 5 s instead of hanging the run.
    const timeval limit{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { ::close(fd_); }

  // Requires: pieces.size() <= kMaxPieces.
  void write_all(std::span<const std::string_view> pieces) {
    std::array<iovec, kMaxPieces> vectors{};
    std::size_t count = 0;
    for (std::string_view piece : pieces) {
      // writev's iovec is not const-correct; nothing writes through it.
      // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast)
      vectors.at(count++) = {const_cast<char*>(piece.data()), piece.size()};
    }
    std::size_t first = 0;
    while (first < count) {
      const ssize_t written = ::writev(fd_, &vectors[first], static_cast<int>(count - first));
      if (written < 0) {
        if (errno == EINTR) continue;
        fail("write: " + std::string(std::strerror(errno)));
      }
      auto remaining = static_cast<std::size_t>(written);
      while (first < count && remaining >= vectors[first].iov_len) {
        remaining -= vectors[first].iov_len;
        ++first;
      }
      if (first < count) {
        vectors[first].iov_base = static_cast<char*>(vectors[first].iov_base) + remaining;
        vectors[first].iov_len -= remaining;
      }
    }
  }

  void write_all(std::string_view bytes) {
    write_all(std::span<const std::string_view>(&bytes, 1));
  }

  // One recv into [data, data + capacity): how many bytes arrived. Fails on
  // timeout or close, naming what had arrived before (`before`).
  std::size_t read_some(char* data, std::size_t capacity, std::string_view before) {
    for (;;) {
      const ssize_t count = ::recv(fd_, data, capacity, 0);
      if (count > 0) return static_cast<std::size_t>(count);
      if (count < 0 && errno == EINTR) continue;
      const std::string why = count == 0 ? "memcached closed the connection" : std::strerror(errno);
      fail("read: " + why + " after " + show(before));
    }
  }

 private:
  int fd_ = -1;
};

// A minimal text-protocol client: formats the request into a reused buffer,
// writes it with one writev, reads until the reply is as long as the expected
// one, compares. The floor for a round trip: no parsing, no allocation, no
// value object.
class RawConnection {
 public:
  RawConnection(const std::string& host, std::uint16_t port)
      : socket_(host, port), reply_(kReplyCapacity) {}

  // Writes the pieces, then reads exactly `size` bytes (more is an error).
  std::string_view roundtrip(std::span<const std::string_view> request, std::size_t size) {
    if (size > kReplyCapacity)
      fail("raw: a reply of " + std::to_string(size) + " bytes is too large");
    socket_.write_all(request);
    std::size_t received = 0;
    while (received < size) {
      received += socket_.read_some(reply_.data() + received, kReplyCapacity - received,
                                    std::string_view(reply_.data(), received));
    }
    const std::string_view reply(reply_.data(), received);
    if (received != size) fail("raw: a reply longer than expected: " + show(reply));
    return reply;
  }
  std::string_view roundtrip(std::string_view request, std::size_t size) {
    return roundtrip(std::span<const std::string_view>(&request, 1), size);
  }

 private:
  static constexpr std::size_t kReplyCapacity = kMaxItemSize + 4096;

  Socket socket_;
  std::vector<char> reply_;  // sized once: resizing a std::string per read would zero-fill it
};

// Untimed: preloads keys and checks what the clients stored, parsing replies
// so it does not depend on flags or order.
class Admin {
 public:
  Admin(const std::string& host, std::uint16_t port) : socket_(host, port) {}

  std::string version() {
    socket_.write_all("version\r\n");
    std::string line = read_line();
    return line.starts_with("VERSION ") ? line.substr(8) : line;
  }

  void store(const std::vector<std::string>& keys, const std::vector<std::string>& values) {
    std::string request;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      request += "set " + keys[i] + " 0 0 " + std::to_string(values[i].size()) + "\r\n";
      request += values[i];
      request += "\r\n";
    }
    socket_.write_all(request);
    for (const std::string& key : keys) {
      const std::string line = read_line();
      if (line != "STORED") fail("admin set " + key + ": " + show(line));
    }
  }

  std::map<std::string, std::string> fetch(const std::vector<std::string>& keys) {
    std::string request = "get";
    for (const std::string& key : keys) request += " " + key;
    request += "\r\n";
    socket_.write_all(request);
    std::map<std::string, std::string> found;
    for (std::string line = read_line(); line != "END"; line = read_line()) {
      std::istringstream fields(line);
      std::string word, key;
      std::uint32_t flags = 0;
      std::size_t size = 0;
      if (!(fields >> word >> key >> flags >> size) || word != "VALUE") {
        fail("admin get: unexpected " + show(line));
      }
      std::string value = read_exact(size + 2);
      value.resize(size);
      found.emplace(std::move(key), std::move(value));
    }
    return found;
  }

  void expect(std::string_view what, const std::vector<std::string>& keys,
              const std::vector<std::string>& values) {
    const auto found = fetch(keys);
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto it = found.find(keys[i]);
      if (it == found.end()) fail(std::string(what) + ": the server lacks " + keys[i]);
      if (it->second != values[i])
        fail_value(std::string(what) + ": the server holds", keys[i], values[i], it->second);
    }
  }

  void expect_missing(std::string_view what, const std::vector<std::string>& keys) {
    const auto found = fetch(keys);
    if (!found.empty()) fail(std::string(what) + ": still on the server: " + found.begin()->first);
  }

 private:
  std::string read_line() {
    for (;;) {
      const std::size_t end = pending_.find("\r\n");
      if (end != std::string::npos) {
        std::string line = pending_.substr(0, end);
        pending_.erase(0, end + 2);
        return line;
      }
      read_more();
    }
  }

  std::string read_exact(std::size_t size) {
    while (pending_.size() < size) read_more();
    std::string data = pending_.substr(0, size);
    pending_.erase(0, size);
    return data;
  }

  void read_more() {
    std::array<char, 1 << 16> chunk{};
    pending_.append(chunk.data(), socket_.read_some(chunk.data(), chunk.size(), pending_));
  }

  Socket socket_;
  std::string pending_;
};

// ---------------------------------------------------------------------------
// Clients

// The keys and values of one get_many or set_many measurement, in every shape
// a client wants them, built before the timed part; and the check that a
// multi-get returned exactly these items, once each, whatever the order.
class Batch {
 public:
  Batch(std::vector<std::string> keys, std::vector<std::string> values)
      : keys_(std::move(keys)), values_(std::move(values)), seen_(keys_.size()) {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
      key_views_.emplace_back(keys_[i]);
      key_pointers_.push_back(keys_[i].data());
      key_sizes_.push_back(keys_[i].size());
      entries_.push_back({.key = keys_[i], .value = values_[i], .options = {}});
      index_.emplace(keys_[i], i);
    }
  }

  const std::vector<std::string>& keys() const { return keys_; }
  const std::vector<std::string>& values() const { return values_; }
  std::span<const std::string_view> key_views() const { return key_views_; }
  const std::vector<const char*>& key_pointers() const { return key_pointers_; }
  const std::vector<std::size_t>& key_sizes() const { return key_sizes_; }
  std::span<const fastmc::Entry> entries() const { return entries_; }

  void begin_check() {
    std::fill(seen_.begin(), seen_.end(), false);
    found_ = 0;
  }
  void check(std::string_view key, std::string_view value) {
    const auto it = index_.find(key);
    if (it == index_.end()) fail("get_many: a key that was not asked for: " + show(key));
    if (seen_[it->second]) fail("get_many: key returned twice: " + show(key));
    seen_[it->second] = true;
    ++found_;
    if (value != values_[it->second]) fail_value("get_many", key, values_[it->second], value);
  }
  void end_check() const {
    if (found_ != keys_.size()) {
      fail("get_many: " + std::to_string(found_) + " of " + std::to_string(keys_.size()) + " keys");
    }
  }

 private:
  std::vector<std::string> keys_;
  std::vector<std::string> values_;
  std::vector<std::string_view> key_views_;
  std::vector<const char*> key_pointers_;
  std::vector<std::size_t> key_sizes_;
  std::vector<fastmc::Entry> entries_;
  std::unordered_map<std::string_view, std::size_t> index_;
  std::vector<bool> seen_;
  std::size_t found_ = 0;
};

// One operation of each workload, checked: a wrong value, a miss where a hit
// was due, or an error throws VerificationError.
class BenchClient {
 public:
  BenchClient() = default;
  BenchClient(const BenchClient&) = delete;
  BenchClient& operator=(const BenchClient&) = delete;
  virtual ~BenchClient() = default;

  virtual void set(std::string_view key, std::string_view value) = 0;
  virtual void get_hit(std::string_view key, std::string_view expected) = 0;
  virtual void get_miss(std::string_view key) = 0;
  virtual void incr(std::string_view key, std::uint64_t expected) = 0;
  virtual void remove(std::string_view key) = 0;
  virtual void get_many(Batch& batch) = 0;
  virtual void set_many(Batch& batch) = 0;
};

class FastmcClient final : public BenchClient {
 public:
  explicit FastmcClient(const std::string& server) : client_({.servers = {server}}) {}

  void set(std::string_view key, std::string_view value) override {
    const auto stored = client_.set(key, value);
    if (!stored) fail("set " + show(key) + ": " + stored.error().message);
    if (!*stored) fail("set " + show(key) + ": not stored");
  }
  void get_hit(std::string_view key, std::string_view expected) override {
    const auto item = client_.get(key);
    if (!item) fail("get " + show(key) + ": " + item.error().message);
    if (!*item) fail("get " + show(key) + ": a miss");
    if ((*item)->value != expected) fail_value("get", key, expected, (*item)->value);
  }
  void get_miss(std::string_view key) override {
    const auto item = client_.get(key);
    if (!item) fail("get " + show(key) + ": " + item.error().message);
    if (*item) fail("get " + show(key) + ": a hit where a miss was due");
  }
  void incr(std::string_view key, std::uint64_t expected) override {
    const auto value = client_.incr(key, 1);
    if (!value) fail("incr " + show(key) + ": " + value.error().message);
    if (!*value || **value != expected)
      fail("incr " + show(key) + ": not " + std::to_string(expected));
  }
  void remove(std::string_view key) override {
    const auto existed = client_.remove(key);
    if (!existed) fail("delete " + show(key) + ": " + existed.error().message);
    if (!*existed) fail("delete " + show(key) + ": not found");
  }
  // fetch, not get_many: it hands out views into the read buffer, as
  // memcached_fetch_result hands out its reused result; get_many would add a
  // std::unordered_map of owned copies that libmemcached does not build.
  void get_many(Batch& batch) override {
    const auto items = client_.fetch(batch.key_views());
    if (!items) fail("get_many: " + items.error().message);
    batch.begin_check();
    for (std::size_t i = 0; i < items->size(); ++i) {
      const fastmc::ItemView item = (*items)[i];
      batch.check(item.key, item.value);
    }
    batch.end_check();
  }
  void set_many(Batch& batch) override {
    const auto failed = client_.set_many(batch.entries());
    if (!failed) fail("set_many: " + failed.error().message);
    if (!failed->empty()) fail("set_many: " + std::to_string(failed->size()) + " keys not stored");
  }

 private:
  fastmc::Client client_;
};

// libmemcached configured as its users would: text protocol, one server.
class LibmemcachedClient final : public BenchClient {
 public:
  enum class Mode : std::uint8_t {
    defaults,     // libmemcached's default behaviors (Nagle on)
    tcp_nodelay,  // MEMCACHED_BEHAVIOR_TCP_NODELAY
    // MEMCACHED_BEHAVIOR_BUFFER_REQUESTS (+ TCP_NODELAY), set_many only: the
    // sets are written together and their replies are read later, or
    // discarded, without being looked at, so a failed set goes unseen. Shown
    // for information; never counted as the fastest peer.
    buffered,
  };

  LibmemcachedClient(const std::string& host, std::uint16_t port, Mode mode)
      : memcached_(memcached_create(nullptr)), mode_(mode) {
    if (memcached_ == nullptr) throw std::runtime_error("memcached_create failed");
    expect_success("memcached_server_add", memcached_server_add(memcached_, host.c_str(), port));
    expect_success("binary protocol off",
                   memcached_behavior_set(memcached_, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 0));
    if (mode != Mode::defaults) {
      expect_success("tcp_nodelay",
                     memcached_behavior_set(memcached_, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1));
    }
    if (mode == Mode::buffered) {
      expect_success("buffer_requests",
                     memcached_behavior_set(memcached_, MEMCACHED_BEHAVIOR_BUFFER_REQUESTS, 1));
    }
    // Reused by every get_many, as an application doing many would.
    if (memcached_result_create(memcached_, &result_) == nullptr) {
      throw std::runtime_error("memcached_result_create failed");
    }
  }
  ~LibmemcachedClient() override {
    memcached_result_free(&result_);
    memcached_free(memcached_);
  }

  void set(std::string_view key, std::string_view value) override {
    expect_success("set " + show(key), memcached_set(memcached_, key.data(), key.size(),
                                                     value.data(), value.size(), 0, 0));
  }
  // memcached_get, the call for one key: it returns a malloc'd copy, as
  // fastmc's get returns an owned std::string.
  void get_hit(std::string_view key, std::string_view expected) override {
    std::size_t size = 0;
    std::uint32_t flags = 0;
    memcached_return_t status = MEMCACHED_SUCCESS;
    const std::unique_ptr<char, decltype(&std::free)> value(
        memcached_get(memcached_, key.data(), key.size(), &size, &flags, &status), &std::free);
    if (value == nullptr) fail("get " + show(key) + ": " + memcached_strerror(memcached_, status));
    const std::string_view got(value.get(), size);
    if (got != expected) fail_value("get", key, expected, got);
  }
  void get_miss(std::string_view key) override {
    std::size_t size = 0;
    std::uint32_t flags = 0;
    memcached_return_t status = MEMCACHED_SUCCESS;
    const std::unique_ptr<char, decltype(&std::free)> value(
        memcached_get(memcached_, key.data(), key.size(), &size, &flags, &status), &std::free);
    if (value != nullptr) fail("get " + show(key) + ": a hit where a miss was due");
    if (status != MEMCACHED_NOTFOUND)
      fail("get " + show(key) + ": " + memcached_strerror(memcached_, status));
  }
  void incr(std::string_view key, std::uint64_t expected) override {
    std::uint64_t value = 0;
    expect_success("incr " + show(key),
                   memcached_increment(memcached_, key.data(), key.size(), 1, &value));
    if (value != expected)
      fail("incr " + show(key) + ": " + std::to_string(value) + ", not " +
           std::to_string(expected));
  }
  void remove(std::string_view key) override {
    expect_success("delete " + show(key), memcached_delete(memcached_, key.data(), key.size(), 0));
  }
  void get_many(Batch& batch) override {
    expect_success("mget", memcached_mget(memcached_, batch.key_pointers().data(),
                                          batch.key_sizes().data(), batch.key_pointers().size()));
    batch.begin_check();
    memcached_return_t status = MEMCACHED_SUCCESS;
    while (memcached_fetch_result(memcached_, &result_, &status) != nullptr) {
      batch.check(
          std::string_view(memcached_result_key_value(&result_),
                           memcached_result_key_length(&result_)),
          std::string_view(memcached_result_value(&result_), memcached_result_length(&result_)));
    }
    if (status != MEMCACHED_END)
      fail(std::string("get_many: ") + memcached_strerror(memcached_, status));
    batch.end_check();
  }
  // libmemcached has no multi-set: one memcached_set, one round trip, per key
  // (what pylibmc's set_multi does too). Buffered mode writes them together.
  void set_many(Batch& batch) override {
    const auto& keys = batch.keys();
    const auto& values = batch.values();
    const memcached_return_t each_ok =
        mode_ == Mode::buffered ? MEMCACHED_BUFFERED : MEMCACHED_SUCCESS;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const memcached_return_t status = memcached_set(memcached_, keys[i].data(), keys[i].size(),
                                                      values[i].data(), values[i].size(), 0, 0);
      if (status != each_ok) fail("set " + keys[i] + ": " + memcached_strerror(memcached_, status));
    }
    if (mode_ == Mode::buffered)
      expect_success("flush_buffers", memcached_flush_buffers(memcached_));
  }

 private:
  void expect_success(const std::string& what, memcached_return_t status) {
    if (status != MEMCACHED_SUCCESS) fail(what + ": " + memcached_strerror(memcached_, status));
  }

  memcached_st* memcached_;
  memcached_result_st result_{};
  Mode mode_;
};

void append_number(std::string& out, std::uint64_t number) {
  std::array<char, 24> digits{};
  const auto end = std::to_chars(digits.data(), digits.data() + digits.size(), number).ptr;
  out.append(digits.data(), end);
}

class RawClient final : public BenchClient {
 public:
  RawClient(const std::string& host, std::uint16_t port) : connection_(host, port) {}

  void set(std::string_view key, std::string_view value) override {
    request_.assign("set ").append(key).append(" 0 0 ");
    append_number(request_, value.size());
    request_.append("\r\n");
    const std::array<std::string_view, 3> pieces = {request_, value, "\r\n"};
    expect_reply("set", key, pieces, kStored);
  }
  void get_hit(std::string_view key, std::string_view expected) override {
    request_.assign("get ").append(key).append("\r\n");
    header_.assign("VALUE ").append(key).append(" 0 ");
    append_number(header_, expected.size());
    header_.append("\r\n");
    const std::string_view reply =
        connection_.roundtrip(request_, header_.size() + expected.size() + 7);
    if (!reply.starts_with(header_) || !reply.ends_with("\r\nEND\r\n"))
      fail("raw get " + show(key) + ": " + show(reply));
    const std::string_view got = reply.substr(header_.size(), expected.size());
    if (got != expected) fail_value("raw get", key, expected, got);
  }
  void get_miss(std::string_view key) override {
    request_.assign("get ").append(key).append("\r\n");
    expect_reply("get", key, request_, "END\r\n");
  }
  void incr(std::string_view key, std::uint64_t expected) override {
    request_.assign("incr ").append(key).append(" 1\r\n");
    header_.clear();
    append_number(header_, expected);
    header_.append("\r\n");
    expect_reply("incr", key, request_, header_);
  }
  void remove(std::string_view key) override {
    request_.assign("delete ").append(key).append("\r\n");
    expect_reply("delete", key, request_, "DELETED\r\n");
  }
  // One pipelined multi-get; memcached answers in request order.
  void get_many(Batch& batch) override {
    request_.assign("get");
    std::size_t size = 5;  // END\r\n
    const auto& keys = batch.keys();
    const auto& values = batch.values();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      request_.append(" ").append(keys[i]);
      size += 6 + keys[i].size() + 3 + decimal_size(values[i].size()) + 2 + values[i].size() + 2;
    }
    request_.append("\r\n");
    const std::string_view reply = connection_.roundtrip(request_, size);
    std::size_t at = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      header_.assign("VALUE ").append(keys[i]).append(" 0 ");
      append_number(header_, values[i].size());
      header_.append("\r\n");
      if (reply.substr(at, header_.size()) != header_)
        fail("raw get_many: " + show(reply.substr(at)));
      at += header_.size();
      const std::string_view got = reply.substr(at, values[i].size());
      if (got != values[i]) fail_value("raw get_many", keys[i], values[i], got);
      at += values[i].size() + 2;
    }
    if (reply.substr(at) != "END\r\n") fail("raw get_many: " + show(reply.substr(at)));
  }
  // Every set in one write, every reply in as few reads as the kernel gives.
  void set_many(Batch& batch) override {
    request_.clear();
    const auto& keys = batch.keys();
    const auto& values = batch.values();
    for (std::size_t i = 0; i < keys.size(); ++i) {
      request_.append("set ").append(keys[i]).append(" 0 0 ");
      append_number(request_, values[i].size());
      request_.append("\r\n").append(values[i]).append("\r\n");
    }
    const std::string_view reply = connection_.roundtrip(request_, kStored.size() * keys.size());
    for (std::size_t at = 0; at < reply.size(); at += kStored.size()) {
      if (reply.substr(at, kStored.size()) != kStored)
        fail("raw set_many: " + show(reply.substr(at)));
    }
  }

 private:
  static std::size_t decimal_size(std::size_t number) {
    std::size_t digits = 1;
    for (; number >= 10; number /= 10) ++digits;
    return digits;
  }

  void expect_reply(std::string_view what, std::string_view key,
                    std::span<const std::string_view> request, std::string_view expected) {
    const std::string_view reply = connection_.roundtrip(request, expected.size());
    if (reply != expected) fail("raw " + std::string(what) + " " + show(key) + ": " + show(reply));
  }
  void expect_reply(std::string_view what, std::string_view key, std::string_view request,
                    std::string_view expected) {
    expect_reply(what, key, std::span<const std::string_view>(&request, 1), expected);
  }

  RawConnection connection_;
  std::string request_;
  std::string header_;
};

// ---------------------------------------------------------------------------
// Workloads: each builds, per client and measurement (untimed), a chunk that
// runs `ops_per_chunk` operations and returns the time of its timed part.

using Chunk = std::function<Nanoseconds()>;

struct Context {
  std::string tag;  // per-client key prefix: clients never see each other's items
  int round = 0;
  Admin* admin = nullptr;
};

std::vector<std::string> keys_for(const Context& context, std::string_view workload,
                                  std::size_t count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  std::array<char, 24> suffix{};
  for (std::size_t i = 0; i < count; ++i) {
    std::snprintf(suffix.data(), suffix.size(), "%03zu", i);
    keys.push_back("bench:" + context.tag + ":" + std::string(workload) + ":" + suffix.data());
  }
  return keys;
}

// A value of exactly `size` bytes that starts by naming its key and round.
std::string value_of(const std::string& text, std::size_t size) {
  std::string value = text.substr(0, size);
  value.resize(size, '.');
  return value;
}

std::vector<std::string> values_for(const Context& context, const std::vector<std::string>& keys) {
  std::vector<std::string> values;
  values.reserve(keys.size());
  for (const std::string& key : keys)
    values.push_back(value_of(std::to_string(context.round) + ":" + key + ":", kValueSize));
  return values;
}

template <class Body>
Nanoseconds timed(Body&& body) {
  const auto start = Clock::now();
  body();
  return Clock::now() - start;
}

struct Workload {
  std::string name;
  std::string description;
  std::size_t ops_per_chunk = kKeyCount;
  bool buffered_client_too = false;  // the only workload the buffered libmemcached runs
  std::function<Chunk(BenchClient&, const Context&)> make_chunk;
  std::function<void(const Context&)> check = [](const Context&) {};
};

std::vector<Workload> make_workloads() {
  std::vector<Workload> workloads;

  workloads.push_back({
      .name = "set",
      .description = "set of a 100-byte value; the server's copy is checked after each measurement",
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys = std::make_shared<std::vector<std::string>>(keys_for(context, "set", kKeyCount));
        auto values = std::make_shared<std::vector<std::string>>(values_for(context, *keys));
        return [&client, keys, values] {
          return timed([&] {
            for (std::size_t i = 0; i < keys->size(); ++i) client.set((*keys)[i], (*values)[i]);
          });
        };
      },
      .check =
          [](const Context& context) {
            const auto keys = keys_for(context, "set", kKeyCount);
            context.admin->expect("set", keys, values_for(context, keys));
          },
  });

  workloads.push_back({
      .name = "get_hit",
      .description = "get of a 100-byte value that is there; the value is compared",
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys =
            std::make_shared<std::vector<std::string>>(keys_for(context, "get_hit", kKeyCount));
        auto values = std::make_shared<std::vector<std::string>>(values_for(context, *keys));
        context.admin->store(*keys, *values);
        return [&client, keys, values] {
          return timed([&] {
            for (std::size_t i = 0; i < keys->size(); ++i) client.get_hit((*keys)[i], (*values)[i]);
          });
        };
      },
  });

  workloads.push_back({
      .name = "get_miss",
      .description = "get of a key that was never set; the client must report a miss",
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys =
            std::make_shared<std::vector<std::string>>(keys_for(context, "get_miss", kKeyCount));
        return [&client, keys] {
          return timed([&] {
            for (const std::string& key : *keys) client.get_miss(key);
          });
        };
      },
  });

  workloads.push_back({
      .name = "incr",
      .description = "incr by 1 of a counter; the new value is compared with the expected count",
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys =
            std::make_shared<std::vector<std::string>>(keys_for(context, "incr", kKeyCount));
        context.admin->store(*keys, std::vector<std::string>(keys->size(), "0"));
        auto passes =
            std::make_shared<std::uint64_t>(0);  // each pass increments every counter once
        return [&client, keys, passes] {
          const std::uint64_t expected = ++*passes;
          return timed([&] {
            for (const std::string& key : *keys) client.incr(key, expected);
          });
        };
      },
  });

  workloads.push_back({
      .name = "delete",
      .description =
          "delete of a key that exists: each chunk stores its 100 keys untimed, times the 100 "
          "deletes (each must report the key existed), then checks untimed that they are gone",
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys =
            std::make_shared<std::vector<std::string>>(keys_for(context, "delete", kKeyCount));
        auto values = std::make_shared<std::vector<std::string>>(values_for(context, *keys));
        Admin* admin = context.admin;
        return [&client, keys, values, admin] {
          admin->store(*keys, *values);
          const Nanoseconds elapsed = timed([&] {
            for (const std::string& key : *keys) client.remove(key);
          });
          admin->expect_missing("delete", *keys);
          return elapsed;
        };
      },
  });

  workloads.push_back({
      .name = "get_many",
      .description = "one multi-get of 100 keys, all hits; every item is checked, each key once",
      .ops_per_chunk = kMultiCallsPerChunk,
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys = keys_for(context, "get_many", kBatchSize);
        auto values = values_for(context, keys);
        context.admin->store(keys, values);
        auto batch = std::make_shared<Batch>(std::move(keys), std::move(values));
        return [&client, batch] {
          return timed([&] {
            for (std::size_t call = 0; call < kMultiCallsPerChunk; ++call) client.get_many(*batch);
          });
        };
      },
  });

  workloads.push_back({
      .name = "set_many",
      .description =
          "one multi-set of 100 keys of 100 bytes; the server's copies are checked after",
      .ops_per_chunk = kMultiCallsPerChunk,
      .buffered_client_too = true,
      .make_chunk = [](BenchClient& client, const Context& context) -> Chunk {
        auto keys = keys_for(context, "set_many", kBatchSize);
        auto values = values_for(context, keys);
        auto batch = std::make_shared<Batch>(std::move(keys), std::move(values));
        return [&client, batch] {
          return timed([&] {
            for (std::size_t call = 0; call < kMultiCallsPerChunk; ++call) client.set_many(*batch);
          });
        };
      },
      .check =
          [](const Context& context) {
            const auto keys = keys_for(context, "set_many", kBatchSize);
            context.admin->expect("set_many", keys, values_for(context, keys));
          },
  });

  struct Large {
    std::string name;
    std::size_t size;   // bytes
    std::size_t pairs;  // set+get pairs per chunk
  };
  for (const Large& large : {Large{"large_100k", std::size_t{100} * 1024, 10},
                             Large{"large_900k", std::size_t{900} * 1024, 2}}) {
    const std::string name = large.name;
    const std::size_t size = large.size;
    const std::size_t pairs = large.pairs;
    workloads.push_back({
        .name = name,
        .description = "set then get of one " + std::to_string(size / 1024) +
                       " KiB value (one op = the pair); the value read is compared",
        .ops_per_chunk = pairs,
        .make_chunk = [name, size, pairs](BenchClient& client, const Context& context) -> Chunk {
          auto key = std::make_shared<std::string>("bench:" + context.tag + ":" + name);
          // Random bytes, new each round: nothing compresses, nothing is stale.
          auto value = std::make_shared<std::string>(
              value_of(std::to_string(context.round) + ":" + *key + ":", 64));
          std::mt19937_64 random(std::random_device{}());
          while (value->size() < size) {
            const std::uint64_t word = random();
            value->append(
                reinterpret_cast<const char*>(&word),
                std::min<std::size_t>(
                    8,
                    size - value->size()));  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast):
                                             // bytes of a word
          }
          return [&client, key, value, pairs] {
            return timed([&] {
              for (std::size_t pair = 0; pair < pairs; ++pair) {
                client.set(*key, *value);
                client.get_hit(*key, *value);
              }
            });
          };
        },
    });
  }
  return workloads;
}

// ---------------------------------------------------------------------------
// Measurement and the report

double measure(const Chunk& chunk, std::size_t ops_per_chunk,
               std::chrono::duration<double> budget) {
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(budget);
  Nanoseconds elapsed{0};
  std::size_t operations = 0;
  do {
    elapsed += chunk();
    operations += ops_per_chunk;
  } while (Clock::now() < deadline);
  return static_cast<double>(elapsed.count()) / 1000.0 / static_cast<double>(operations);
}

struct ClientSpec {
  std::string name;
  std::string config;
  bool is_peer = true;  // counts when choosing the fastest peer
  bool only_set_many = false;
  std::function<std::unique_ptr<BenchClient>(const std::string& host, std::uint16_t port)> make;
};

std::vector<ClientSpec> make_client_specs() {
  using Mode = LibmemcachedClient::Mode;
  return {
      {.name = "raw",
       .config = "hand-written text protocol on a blocking socket, TCP_NODELAY, writev",
       .is_peer = false,
       .make = [](const std::string& host, std::uint16_t port) -> std::unique_ptr<BenchClient> {
         return std::make_unique<RawClient>(host, port);
       }},
      {.name = "fastmc",
       .config =
           "fastmc::Client({.servers = {server}}) (defaults: tcp_nodelay on); get_many via fetch",
       .is_peer = false,
       .make = [](const std::string& host, std::uint16_t port) -> std::unique_ptr<BenchClient> {
         return std::make_unique<FastmcClient>(host + ":" + std::to_string(port));
       }},
      {.name = "libmemcached",
       .config = "memcached_create, default behaviors (text protocol, Nagle on)",
       .make = [](const std::string& host, std::uint16_t port) -> std::unique_ptr<BenchClient> {
         return std::make_unique<LibmemcachedClient>(host, port, Mode::defaults);
       }},
      {.name = "libmemcached-nodelay",
       .config = "text protocol, MEMCACHED_BEHAVIOR_TCP_NODELAY=1",
       .make = [](const std::string& host, std::uint16_t port) -> std::unique_ptr<BenchClient> {
         return std::make_unique<LibmemcachedClient>(host, port, Mode::tcp_nodelay);
       }},
      {.name = "libmemcached-buffered",
       .config =
           "TCP_NODELAY + BUFFER_REQUESTS, set_many only; replies never looked at, so failures "
           "go unseen: shown for information, not counted as a peer",
       .is_peer = false,
       .only_set_many = true,
       .make = [](const std::string& host, std::uint16_t port) -> std::unique_ptr<BenchClient> {
         return std::make_unique<LibmemcachedClient>(host, port, Mode::buffered);
       }},
  };
}

struct Summary {
  double median = 0;  // µs per op
  double spread = 0;  // interquartile range / median
};

double quantile(std::vector<double> sorted, double q) {
  std::sort(sorted.begin(), sorted.end());
  const double position = q * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const auto above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (sorted[above] - sorted[below]) * (position - static_cast<double>(below));
}

Summary summarise(const std::vector<double>& samples) {
  const double median = quantile(samples, 0.5);
  return {median, (quantile(samples, 0.75) - quantile(samples, 0.25)) / median};
}

std::string fixed(double number, int decimals) {
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%.*f", decimals, number);
  return text.data();
}

std::string first_line_of(const std::string& path, std::string_view prefix) {
  std::ifstream file(path);
  for (std::string line; std::getline(file, line);) {
    if (line.starts_with(prefix)) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line
                                        : line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

std::string table(const std::vector<std::string>& header,
                  const std::vector<std::vector<std::string>>& rows) {
  std::string out = "|";
  for (const auto& cell : header) out += " " + cell + " |";
  out += "\n|";
  for (std::size_t i = 0; i < header.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& row : rows) {
    out += "|";
    for (const auto& cell : row) out += " " + cell + " |";
    out += "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------
// memcached

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof address;
  // NOLINTBEGIN(cppcoreguidelines-pro-type-reinterpret-cast): the sockets API
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
    ::close(fd);
    throw std::runtime_error("no free port: " + std::string(std::strerror(errno)));
  }
  // NOLINTEND(cppcoreguidelines-pro-type-reinterpret-cast)
  ::close(fd);
  return ntohs(address.sin_port);
}

bool accepts_connections(const std::string& host, std::uint16_t port) {
  try {
    Socket probe(host, port);
    return true;
  } catch (const std::runtime_error&) {
    return false;
  }
}

// A memcached child process on a free loopback port, pinned to one CPU
// before exec so all of its threads inherit the mask; stopped on destruction.
class MemcachedProcess {
 public:
  explicit MemcachedProcess(std::optional<int> cpu) {
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) start(cpu);
    if (pid_ <= 0) throw std::runtime_error("memcached did not start: " + command_);
  }
  MemcachedProcess(const MemcachedProcess&) = delete;
  MemcachedProcess& operator=(const MemcachedProcess&) = delete;
  ~MemcachedProcess() { stop(); }

  [[nodiscard]] std::uint16_t port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& command() const { return command_; }

 private:
  void start(std::optional<int> cpu) {
    port_ = free_port();
    std::vector<std::string> arguments = {kMemcached, "-l", "127.0.0.1", "-p",
                                          std::to_string(port_)};
    // No UDP; 256 MiB of cache; items up to kMaxItemSize.
    arguments.insert(arguments.end(), {"-U", "0", "-m", "256", "-I", std::to_string(kMaxItemSize)});
    if (::geteuid() == 0) {
      arguments.insert(arguments.end(), {"-u", "root"});  // memcached refuses root without -u
    }
    command_.clear();
    for (const auto& argument : arguments) command_ += (command_.empty() ? "" : " ") + argument;
    std::vector<char*> argv;
    argv.reserve(arguments.size() + 1);
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    const pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork: " + std::string(std::strerror(errno)));
    if (pid == 0) {
      if (cpu) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<std::size_t>(*cpu), &set);
        ::sched_setaffinity(0, sizeof set, &set);
      }
      std::freopen("/dev/null", "w", stdout);
      ::execv(kMemcached, argv.data());
      std::_Exit(127);
    }
    pid_ = pid;
    for (int wait = 0; wait < 250; ++wait) {
      if (accepts_connections("127.0.0.1", port_)) return;
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) break;  // exited: port taken, retry
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    stop();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::string command_;
};

// ---------------------------------------------------------------------------
// Command line

struct Options {
  std::optional<std::string> server;
  std::optional<int> cpu = 1;
  int rounds = 7;
  double seconds_per_round = 0.25;
  std::vector<std::string> workloads;  // empty: all
  std::vector<std::string> clients;    // empty: all
  std::optional<std::string> report;
  bool check_targets = false;
  double max_foreign = 0.1;  // see CpuGuard
  int retries = 3;
};

std::vector<std::string> split_commas(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const auto comma = text.find(',');
    if (comma != 0) parts.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

constexpr const char* kUsage =
    "usage: fastmc_bench_client_vs_libmemcached [options]\n"
    "  --server HOST:PORT        use this memcached (IPv4) instead of starting one\n"
    "  --cpu N                   pin this process and memcached to CPU N (default 1)\n"
    "  --no-pin                  do not pin\n"
    "  --rounds N                measured rounds (default 7)\n"
    "  --seconds-per-round S     time per client and workload in a round (default 0.25)\n"
    "  --workloads a,b           "
    "set,get_hit,get_miss,incr,delete,get_many,set_many,large_100k,large_900k\n"
    "  --clients a,b             "
    "raw,fastmc,libmemcached,libmemcached-nodelay,libmemcached-buffered\n"
    "  --quick                   smoke run: 3 rounds of 0.02 s\n"
    "  --report PATH             also write the Markdown report to PATH\n"
    "  --max-foreign F           repeat a measurement when other processes ran on the CPU\n"
    "                            for more than this fraction of it (default 0.1)\n"
    "  --retries N               most repeats of one measurement (default 3)\n"
    "  --check-targets           exit 2 if fastmc is slower than libmemcached on a row\n";

Options parse_options(int argc, char** argv) {
  Options options;
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= args.size()) throw std::invalid_argument(std::string(arg) + " needs a value");
      return std::string(args[++i]);
    };
    if (arg == "--server")
      options.server = next();
    else if (arg == "--cpu")
      options.cpu = std::stoi(next());
    else if (arg == "--no-pin")
      options.cpu.reset();
    else if (arg == "--rounds")
      options.rounds = std::stoi(next());
    else if (arg == "--seconds-per-round")
      options.seconds_per_round = std::stod(next());
    else if (arg == "--workloads")
      options.workloads = split_commas(next());
    else if (arg == "--clients")
      options.clients = split_commas(next());
    else if (arg == "--report")
      options.report = next();
    else if (arg == "--check-targets")
      options.check_targets = true;
    else if (arg == "--max-foreign")
      options.max_foreign = std::stod(next());
    else if (arg == "--retries")
      options.retries = std::stoi(next());
    else if (arg == "--quick") {
      options.rounds = 3;
      options.seconds_per_round = 0.02;
    } else if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option " + std::string(arg));
    }
  }
  if (options.retries < 0 || options.max_foreign <= 0 || options.max_foreign > 1) {
    throw std::invalid_argument("--retries must be >= 0 and --max-foreign in (0, 1]");
  }
  if (options.rounds < 1 || options.seconds_per_round <= 0) {
    throw std::invalid_argument("--rounds must be >= 1 and --seconds-per-round > 0");
  }
  return options;
}

bool selected(const std::vector<std::string>& chosen, const std::string& name) {
  return chosen.empty() || std::find(chosen.begin(), chosen.end(), name) != chosen.end();
}

std::string now_iso8601() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  std::array<char, 40> text{};
  std::strftime(text.data(), text.size(), "%Y-%m-%dT%H:%M:%S%z", &local);
  return text.data();
}

using Results =
    std::map<std::string, std::map<std::string, std::vector<double>>>;  // workload -> client -> µs

struct Run {
  Options options;
  std::string host;
  std::uint16_t port = 0;
  std::string server_how;
  std::string pinning;
  std::string memcached_version;
  std::vector<ClientSpec> specs;
  std::vector<Workload> workloads;
  Results results;
  double seconds_total = 0;
  std::string load_before;
  std::string guard;                                    // what the CPU guard did, for the report
  std::set<std::pair<std::string, std::string>> noisy;  // (workload, client) cells kept noisy
};

// The commit of the source tree the benchmark was built from, "+ local
// changes" when the tree differs from it.
std::string source_revision() {
  const std::string git = std::string("git -C '") + FASTMC_SOURCE_DIR + "' ";
  auto output_of = [](const std::string& command) {
    std::string output;
    if (FILE* pipe = ::popen(command.c_str(), "r")) {
      std::array<char, 256> chunk{};
      while (std::fgets(chunk.data(), static_cast<int>(chunk.size()), pipe) != nullptr) {
        output += chunk.data();
      }
      if (::pclose(pipe) != 0) return std::string();
    }
    return output;
  };
  std::string commit = output_of(git + "rev-parse --short HEAD 2>/dev/null");
  if (commit.empty()) return "unknown";
  commit.pop_back();  // the newline
  return output_of(git + "status --porcelain 2>/dev/null").empty() ? commit
                                                                   : commit + " + local changes";
}

// "1.00, 0.50, 0.20": the 1, 5 and 15 minute load averages.
std::string load_average() {
  std::array<double, 3> load{};
  if (::getloadavg(load.data(), 3) != 3) return "unknown";
  return fixed(load[0], 2) + ", " + fixed(load[1], 2) + ", " + fixed(load[2], 2);
}

// The least difference called a win: about the run-to-run spread of a quiet run.
constexpr double kTie = 0.03;

// One workload's comparison of two configurations.
struct Comparison {
  std::string workload;
  double speedup = 1;    // the first configuration's, over the second's
  double tolerance = 0;  // a difference under this is a tie: max(kTie, the spreads' mean)
};

// Which of two configurations is faster.
std::string compare_configurations(const std::string& first, const std::string& second,
                                   const std::vector<Comparison>& rows) {
  std::string wins;
  std::string losses;
  std::size_t ties = 0;
  double log_sum = 0;
  for (const Comparison& row : rows) {
    log_sum += std::log(row.speedup);
    if (row.speedup > 1 + row.tolerance) {
      wins += (wins.empty() ? "" : ", ") + row.workload + " (" + fixed(row.speedup, 2) + "x)";
    } else if (row.speedup < 1 - row.tolerance) {
      losses +=
          (losses.empty() ? "" : ", ") + row.workload + " (" + fixed(1 / row.speedup, 2) + "x)";
    } else {
      ++ties;
    }
  }
  std::string verdict;
  if (!wins.empty() && losses.empty()) {
    verdict = first + " is faster: never slower, and faster on " + wins;
  } else if (wins.empty() && !losses.empty()) {
    verdict = second + " is faster: never slower, and faster on " + losses;
  } else if (wins.empty()) {
    verdict = "they are as fast as each other";
  } else {
    verdict = "neither is faster everywhere: " + first + " wins on " + wins + "; " + second +
              " wins on " + losses;
  }
  return "Verdict: " + verdict + "; " + std::to_string(ties) + " of " +
         std::to_string(rows.size()) + " rows are ties (a difference under " +
         fixed(kTie * 100, 0) + "% or under the rows' spread). Geometric mean of the speedups: " +
         fixed(std::exp(log_sum / static_cast<double>(rows.size())), 2) + "x.";
}

std::string render_report(const Run& run, int argc, char** argv) {
  std::map<std::string, std::map<std::string, Summary>> summary;
  for (const auto& [workload, row] : run.results) {
    for (const auto& [client, samples] : row) {
      if (!samples.empty()) summary[workload][client] = summarise(samples);
    }
  }
  std::vector<std::string> names;
  for (const auto& spec : run.specs) names.push_back(spec.name);
  const bool has_fastmc = std::find(names.begin(), names.end(), "fastmc") != names.end();
  auto is_peer = [&](const std::string& name) {
    for (const auto& spec : run.specs) {
      if (spec.name == name) return spec.is_peer;
    }
    return false;
  };

  std::string out = "# fastmc::Client vs libmemcached's C API, " + now_iso8601().substr(0, 10) +
                    "\n\n## Setup\n\n";
  utsname machine{};
  ::uname(&machine);
  std::string command;
  for (int i = 0; i < argc; ++i)
    command +=
        (i ? " " : "") + std::string(i == 0 ? "fastmc_bench_client_vs_libmemcached" : argv[i]);
  out += "- Date: " + now_iso8601() + "\n";
  out += "- Command: `" + command + "`\n";
  out += "- Machine: " + first_line_of("/proc/cpuinfo", "model name") + ", " +
         std::to_string(std::thread::hardware_concurrency()) + " CPUs; kernel " + machine.release +
         "\n";
#ifdef __clang__
  out += "- Compiler: clang " + std::string(__clang_version__) + "\n";
#else
  out += "- Compiler: GCC " + std::string(__VERSION__) + "\n";
#endif
  out += "- fastmc " + std::string(FASTMC_VERSION) + " (source tree at " + source_revision() +
         "); libmemcached " + memcached_lib_version() + "\n";
  out += "- memcached " + run.memcached_version + " at " + run.host + ":" +
         std::to_string(run.port) + ", started as `" + run.server_how + "`\n";
  out += "- Pinning: " + run.pinning + "\n";
  out += "- CPU guard: " + run.guard + "\n";
  out += "- Load average (1, 5, 15 min) before the run: " + run.load_before +
         "; after: " + load_average() + " (anything else running on the CPUs shows up as noise)\n";
  out += "- Rounds: " + std::to_string(run.options.rounds) + " of " +
         fixed(run.options.seconds_per_round, 2) +
         " s per client and workload, after one warm-up round; client order rotated each round; "
         "whole run " +
         fixed(run.seconds_total, 0) + " s\n\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& spec : run.specs) rows.push_back({spec.name, spec.config});
  out += table({"client", "configuration"}, rows) + "\n";
  out +=
      "Every value read is compared with the value stored, and every write is checked on the "
      "server "
      "after each measurement; a mismatch or an error stops the run.\n\n## Workloads\n\n";
  for (const auto& workload : run.workloads)
    out += "- `" + workload.name + "`: " + workload.description + "\n";
  out +=
      "\n`raw` formats each request into a reused buffer, writes it with one writev, reads until "
      "it has "
      "as many bytes as the expected reply and compares: the floor for the round trip. For "
      "get_many it "
      "is one pipelined multi-get, for set_many 100 pipelined sets in one write.\n\n";

  out += "## Results: µs per operation (median of the rounds; ± is the interquartile range)\n\n";
  if (!run.noisy.empty()) {
    out +=
        "A cell marked * kept a measurement during which another process ran on the CPU (see "
        "CPU guard above): read it with care.\n\n";
  }
  rows.clear();
  for (const auto& workload : run.workloads) {
    std::vector<std::string> row = {workload.name};
    for (const auto& name : names) {
      const auto& cells = summary[workload.name];
      const auto it = cells.find(name);
      const std::string mark = run.noisy.contains({workload.name, name}) ? "*" : "";
      row.push_back(it == cells.end() ? "-"
                                      : fixed(it->second.median, 2) + " ±" +
                                            fixed(it->second.spread * 100, 0) + "%" + mark);
    }
    rows.push_back(std::move(row));
  }
  std::vector<std::string> header = {"workload"};
  header.insert(header.end(), names.begin(), names.end());
  out += table(header, rows) + "\n";

  out += "## Throughput relative to the raw socket (raw µs / client µs)\n\n";
  rows.clear();
  header = {"workload"};
  for (const auto& name : names) {
    if (name != "raw") header.push_back(name);
  }
  for (const auto& workload : run.workloads) {
    const auto& cells = summary[workload.name];
    const auto raw = cells.find("raw");
    std::vector<std::string> row = {workload.name};
    for (const auto& name : names) {
      if (name == "raw") continue;
      const auto it = cells.find(name);
      row.push_back(it == cells.end() || raw == cells.end()
                        ? "-"
                        : fixed(raw->second.median / it->second.median, 2));
    }
    rows.push_back(std::move(row));
  }
  out += table(header, rows) + "\n";

  out +=
      "## fastmc against the fastest libmemcached configuration (throughput ratio; target >= "
      "1.0x)\n\n";
  rows.clear();
  int met = 0;
  int judged = 0;
  for (const auto& workload : run.workloads) {
    const auto& cells = summary[workload.name];
    std::string best;
    for (const auto& [name, cell] : cells) {
      if (is_peer(name) && (best.empty() || cell.median < cells.at(best).median)) best = name;
    }
    const auto fast = cells.find("fastmc");
    std::string ratio = "-";
    std::string verdict = "not measured";
    if (!best.empty() && fast != cells.end()) {
      const double value = cells.at(best).median / fast->second.median;
      ratio = fixed(value, 2) + "x";
      ++judged;
      verdict = value >= 1.0 ? "met" : "NOT MET";
      if (value >= 1.0) ++met;
    }
    const auto raw = cells.find("raw");
    rows.push_back({workload.name, best.empty() ? "-" : best,
                    best.empty() ? "-" : fixed(cells.at(best).median, 2),
                    best.empty() || raw == cells.end()
                        ? "-"
                        : fixed(raw->second.median / cells.at(best).median, 2),
                    fast == cells.end() ? "-" : fixed(fast->second.median, 2), ratio, verdict});
  }
  out += table({"workload", "fastest libmemcached", "its µs", "its / raw", "fastmc µs",
                "fastmc / it", "verdict"},
               rows) +
         "\n";
  if (has_fastmc)
    out += "Targets met: " + std::to_string(met) + " of " + std::to_string(judged) + ".\n\n";
  else
    out += "fastmc was not measured; the verdicts are open.\n\n";

  if (std::find(names.begin(), names.end(), "libmemcached") != names.end() &&
      std::find(names.begin(), names.end(), "libmemcached-nodelay") != names.end()) {
    out += "## libmemcached: default behaviors vs TCP_NODELAY\n\n";
    rows.clear();
    std::vector<Comparison> speedups;
    for (const auto& workload : run.workloads) {
      const auto& cells = summary[workload.name];
      const auto plain = cells.find("libmemcached");
      const auto nodelay = cells.find("libmemcached-nodelay");
      if (plain == cells.end() || nodelay == cells.end()) continue;
      const double value = plain->second.median / nodelay->second.median;
      speedups.push_back(
          {.workload = workload.name,
           .speedup = value,
           .tolerance = std::max(kTie, (plain->second.spread + nodelay->second.spread) / 2)});
      rows.push_back({workload.name, fixed(plain->second.median, 2),
                      fixed(nodelay->second.median, 2), fixed(value, 2) + "x"});
    }
    out += table({"workload", "default µs", "TCP_NODELAY µs", "TCP_NODELAY speedup"}, rows) + "\n";
    if (!speedups.empty()) {
      out += compare_configurations("TCP_NODELAY", "default", speedups) + "\n\n";
    }
  }
  return out;
}

// How much of a measurement's wall time other processes took on the benchmark's
// CPU. Pinning puts the client and memcached on one CPU, but nothing keeps
// other processes off it, and whatever runs there lands in the figures. Before
// and after a measurement this reads the CPU time of every thread of this
// process and of memcached (/proc/<pid>/task/*/schedstat, ns) and the CPU's idle
// time (/proc/stat); the wall time neither accounts for is time another process
// ran. Idle time is counted in clock ticks (10 ms), so the guard is meant for
// measurements of 0.1 s or more.
class CpuGuard {
 public:
  struct Sample {
    Clock::time_point wall;
    std::int64_t busy_ns = 0;  // CPU time of our threads and memcached's
    std::int64_t idle_ns = 0;  // the CPU's idle + iowait time
  };

  CpuGuard(int cpu, std::vector<pid_t> pids)
      : cpu_label_("cpu" + std::to_string(cpu) + " "),
        pids_(std::move(pids)),
        tick_ns_(1'000'000'000 / ::sysconf(_SC_CLK_TCK)) {}

  [[nodiscard]] Sample sample() const {
    Sample sample;
    for (const pid_t pid : pids_) {
      std::error_code error;
      const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
      for (const auto& task : std::filesystem::directory_iterator(tasks, error)) {
        std::ifstream schedstat(task.path() / "schedstat");
        std::int64_t run_ns = 0;
        if (schedstat >> run_ns) sample.busy_ns += run_ns;  // a thread that just ended: skipped
      }
    }
    std::ifstream stat("/proc/stat");
    for (std::string line; std::getline(stat, line);) {
      if (!line.starts_with(cpu_label_)) continue;
      std::istringstream fields(line);
      std::string label;
      std::int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0;
      fields >> label >> user >> nice >> system >> idle >> iowait;
      sample.idle_ns = (idle + iowait) * tick_ns_;
      break;
    }
    sample.wall = Clock::now();
    return sample;
  }

  // The fraction of the wall time between two samples that other processes ran.
  static double foreign(const Sample& before, const Sample& after) {
    const auto wall = std::chrono::duration_cast<Nanoseconds>(after.wall - before.wall).count();
    if (wall <= 0) return 0;
    const auto others = wall - (after.busy_ns - before.busy_ns) - (after.idle_ns - before.idle_ns);
    return std::max(0.0, static_cast<double>(others) / static_cast<double>(wall));
  }

 private:
  std::string cpu_label_;
  std::vector<pid_t> pids_;
  std::int64_t tick_ns_;
};

Results run_rounds(Run& run, std::vector<std::unique_ptr<BenchClient>>& clients, Admin& admin,
                   const std::optional<CpuGuard>& guard) {
  Results results;
  const auto started = Clock::now();
  const std::size_t count = clients.size();
  std::size_t measured = 0;    // measurements recorded
  std::size_t repeated = 0;    // attempts thrown away because another process ran
  std::size_t kept_noisy = 0;  // measurements still over the limit after every retry, kept
  // Per-client key prefixes. (snprintf rather than "c" + std::to_string: GCC
  // 12 at -O3 reports a false -Wrestrict on the latter.)
  std::vector<std::string> tags;
  for (std::size_t index = 0; index < count; ++index) {
    std::array<char, 24> tag{};
    std::snprintf(tag.data(), tag.size(), "c%zu", index);
    tags.emplace_back(tag.data());
  }
  // Round -1 warms every client and connection up and is not recorded.
  for (int round = -1; round < run.options.rounds; ++round) {
    const std::size_t shift = static_cast<std::size_t>(round + 1) % count;
    const double budget =
        round < 0 ? run.options.seconds_per_round / 4 : run.options.seconds_per_round;
    for (const Workload& workload : run.workloads) {
      for (std::size_t k = 0; k < count; ++k) {
        const std::size_t index = (k + shift) % count;
        const ClientSpec& spec = run.specs[index];
        if (spec.only_set_many && !workload.buffered_client_too) continue;
        const Context context{.tag = tags[index], .round = round, .admin = &admin};
        const bool warm_up = round < 0;
        const int attempts = warm_up || !guard ? 1 : 1 + run.options.retries;
        double best_foreign = 2;  // of the cleanest attempt so far
        double best_us = 0;
        try {
          for (int attempt = 0; attempt < attempts; ++attempt) {
            const Chunk chunk = workload.make_chunk(*clients[index], context);
            const auto before = guard ? guard->sample() : CpuGuard::Sample{};
            const double us =
                measure(chunk, workload.ops_per_chunk, std::chrono::duration<double>(budget));
            const double foreign = guard ? CpuGuard::foreign(before, guard->sample()) : 0;
            workload.check(context);
            if (foreign < best_foreign) {
              best_foreign = foreign;
              best_us = us;
            }
            if (foreign <= run.options.max_foreign) break;
            if (!warm_up && attempt + 1 < attempts) {
              ++repeated;
              // Let a short burst of other work (a compile, a test) pass.
              std::this_thread::sleep_for(std::chrono::milliseconds(250 * (attempt + 1)));
            }
          }
        } catch (const VerificationError& error) {
          throw VerificationError(spec.name + " / " + workload.name + " (round " +
                                  std::to_string(round) + "): " + error.what());
        }
        if (warm_up) continue;
        results[workload.name][spec.name].push_back(best_us);
        ++measured;
        if (best_foreign > run.options.max_foreign) {
          ++kept_noisy;
          run.noisy.emplace(workload.name, spec.name);
        }
      }
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - started).count();
    std::cerr << (round < 0 ? std::string("warm-up")
                            : "round " + std::to_string(round + 1) + "/" +
                                  std::to_string(run.options.rounds))
              << " done (" << fixed(elapsed, 1) << " s; " << repeated
              << " measurements repeated so far because another process ran on the CPU)\n";
  }
  if (guard) {
    run.guard = "a measurement during which other processes ran on CPU " +
                std::to_string(*run.options.cpu) + " for more than " +
                fixed(run.options.max_foreign * 100, 0) + "% of its time was repeated, up to " +
                std::to_string(run.options.retries) +
                " times, keeping the cleanest attempt: " + std::to_string(repeated) +
                " attempts repeated for " + std::to_string(measured) + " measurements kept; " +
                std::to_string(kept_noisy) +
                " kept still over the limit (their cells are marked *)";
  } else {
    run.guard = "off (it needs pinning, a memcached started here, and rounds of 0.1 s or more)";
  }
  return results;
}

std::string allowed_cpus(pid_t pid) {
  return first_line_of("/proc/" + std::to_string(pid) + "/status", "Cpus_allowed_list");
}

int run_benchmark(int argc, char** argv) {
  Run run;
  run.options = parse_options(argc, argv);
  const auto started = Clock::now();
  run.load_before = load_average();

  for (const auto& workload : make_workloads()) {
    if (selected(run.options.workloads, workload.name)) run.workloads.push_back(workload);
  }
  for (const auto& spec : make_client_specs()) {
    if (selected(run.options.clients, spec.name)) run.specs.push_back(spec);
  }
  if (run.workloads.empty() || run.specs.empty())
    throw std::invalid_argument("no workload or no client selected");

  if (run.options.cpu) {
    // Before memcached or any client exists, so every child and thread inherits it.
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<std::size_t>(*run.options.cpu), &set);
    if (::sched_setaffinity(0, sizeof set, &set) != 0) {
      throw std::invalid_argument("--cpu " + std::to_string(*run.options.cpu) + ": " +
                                  std::strerror(errno));
    }
  }
  std::unique_ptr<MemcachedProcess> memcached;
  if (run.options.server) {
    const auto colon = run.options.server->rfind(':');
    if (colon == std::string::npos) throw std::invalid_argument("--server wants HOST:PORT");
    run.host = run.options.server->substr(0, colon);
    run.port = static_cast<std::uint16_t>(std::stoi(run.options.server->substr(colon + 1)));
    run.server_how = "external (--server); not started here";
  } else {
    memcached = std::make_unique<MemcachedProcess>(run.options.cpu);
    run.host = "127.0.0.1";
    run.port = memcached->port();
    run.server_how = memcached->command();
  }
  if (!run.options.cpu) {
    run.pinning = "none (--no-pin)";
  } else {
    run.pinning = "this process on CPU " + std::to_string(*run.options.cpu) +
                  " (sched_setaffinity), " +
                  (memcached ? "memcached on CPUs " + allowed_cpus(memcached->pid()) +
                                   " (sched_setaffinity before exec)"
                             : std::string("memcached is external (--server): not pinned here"));
  }
  std::cerr << "memcached at " << run.host << ":" << run.port << "; pinning: " << run.pinning
            << "\n";

  Admin admin(run.host, run.port);
  run.memcached_version = admin.version();
  std::vector<std::unique_ptr<BenchClient>> clients;
  for (const auto& spec : run.specs) clients.push_back(spec.make(run.host, run.port));
  std::optional<CpuGuard> guard;
  if (run.options.cpu && memcached && run.options.seconds_per_round >= 0.1) {
    guard.emplace(*run.options.cpu, std::vector<pid_t>{::getpid(), memcached->pid()});
  }
  run.results = run_rounds(run, clients, admin, guard);
  clients.clear();
  run.seconds_total = std::chrono::duration<double>(Clock::now() - started).count();

  const std::string report = render_report(run, argc, argv);
  std::cout << report;
  if (run.options.report) {
    std::ofstream file(*run.options.report);
    file << report;
    if (!file) throw std::runtime_error("cannot write " + *run.options.report);
    std::cerr << "report written to " << *run.options.report << "\n";
  }
  if (run.options.check_targets && report.find("NOT MET") != std::string::npos) return 2;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A closed socket must fail the write, not kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    return run_benchmark(argc, argv);
  } catch (const VerificationError& error) {
    std::cerr << "VERIFICATION FAILED: " << error.what() << "\n";
    return 1;
  } catch (const std::invalid_argument& error) {
    std::cerr << error.what() << "\n" << kUsage;
    return 64;
  } catch (const std::exception& error) {
    std::cerr << "error: " << error.what() << "\n";
    return 1;
  }
}
