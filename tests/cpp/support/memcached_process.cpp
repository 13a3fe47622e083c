// SPDX-License-Identifier: MIT
#include "support/memcached_process.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <stdexcept>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fastmc::testing {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

std::string memcached_binary() {
  const char* configured = std::getenv("FASTMC_MEMCACHED");
  return configured != nullptr ? configured : "memcached";
}

}  // namespace

MemcachedProcess::MemcachedProcess(Options options) : options_(std::move(options)) {
  char pattern[] = "/tmp/fastmc-test-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  if (options_.tcp) {
    port_ = free_loopback_port();
    address_ = "127.0.0.1:" + std::to_string(port_);
  } else {
    socket_path_ = directory_ + "/memcached.sock";
    address_ = "unix:" + socket_path_;
  }
  start();
}

MemcachedProcess::~MemcachedProcess() {
  kill();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void MemcachedProcess::write_sasl_database() const {
  const std::string database = directory_ + "/sasldb";
  std::filesystem::remove(database);
  for (const auto& [user, password] : options_.sasl_users) {
    // Test-chosen names only: quoting covers the path, users hold no quote.
    const std::string command =
        "saslpasswd2 -p -a memcached -c -f '" + database + "' '" + user + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "w");
    if (pipe == nullptr) throw std::runtime_error("cannot run saslpasswd2");
    std::fputs(password.c_str(), pipe);
    if (::pclose(pipe) != 0) {
      throw std::runtime_error("saslpasswd2 failed (is it installed? apt-get install sasl2-bin)");
    }
  }
  std::ofstream conf(directory_ + "/memcached.conf");
  conf << "mech_list: " << options_.sasl_mechanisms << "\nsasldb_path: " << database << "\n";
}

void MemcachedProcess::start() {
  std::vector<std::string> args = {memcached_binary(), "-U", "0", "-t", "2", "-m", "64"};
  if (!options_.sasl_users.empty()) {
    write_sasl_database();
    args.emplace_back("-S");
  }
  if (::geteuid() == 0) args.insert(args.end(), {"-u", "root"});
  if (options_.tcp) {
    args.insert(args.end(), {"-l", "127.0.0.1", "-p", std::to_string(port_)});
  } else {
    args.insert(args.end(), {"-s", socket_path_});
  }
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ == 0) {
    // Dies with the test, and keeps off the test's output: a memcached left
    // holding ctest's pipe would stall ctest after a crashed test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, STDOUT_FILENO);
    ::dup2(null, STDERR_FILENO);
    if (!options_.sasl_users.empty()) ::setenv("SASL_CONF_PATH", directory_.c_str(), 1);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  const auto give_up = std::chrono::steady_clock::now() + kStartTimeout;
  while (!accepts_connections()) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error(
          "memcached exited at start (is it installed? apt-get install memcached)");
    }
    if (std::chrono::steady_clock::now() > give_up) {
      throw std::runtime_error("memcached did not accept connections within 10 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

bool MemcachedProcess::accepts_connections() const {
  int fd;
  int status;
  if (options_.tcp) {
    fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    status = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  } else {
    fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, socket_path_.c_str(), sizeof address.sun_path - 1);
    status = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  }
  // One answered request, so that the server has taken this connection in
  // before start() returns: memcached counts a connection when a worker
  // thread picks it up, which may otherwise come after a test's first
  // reading of total_connections.
  bool answered = false;
  if (status == 0) {
    const timeval limit{.tv_sec = 2, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    // A binary noop: every mode answers it (auto, binary, SASL with an
    // auth error) or closes (ASCII only, ASCII auth, TLS).
    constexpr unsigned char kNoop[24] = {0x80, 0x0a};
    if (::send(fd, kNoop, sizeof kNoop, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof kNoop)) {
      // A reply, a close or a reset all say that a worker took it in.
      char reply[256];
      answered = ::recv(fd, reply, sizeof reply, 0) >= 0 || errno == ECONNRESET;
    }
  }
  ::close(fd);
  return answered;
}

void MemcachedProcess::pause() const {
  ::kill(pid_, SIGSTOP);
  // Every thread must be stopped, not just the main one: the workers serve requests.
  const std::string tasks = "/proc/" + std::to_string(pid_) + "/task";
  for (int attempt = 0; attempt < 1000; ++attempt) {
    bool all_stopped = true;
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream stat(task.path() / "stat");
      std::string pid_field, command, state;
      stat >> pid_field >> command >> state;  // memcached's thread names have no spaces
      all_stopped = all_stopped && (state == "T" || state == "t");
    }
    if (all_stopped) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  throw std::runtime_error("memcached did not stop after SIGSTOP");
}

void MemcachedProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
  if (!socket_path_.empty()) ::unlink(socket_path_.c_str());
}

void MemcachedProcess::restart() {
  kill();
  start();
}

}  // namespace fastmc::testing
