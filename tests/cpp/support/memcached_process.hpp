// SPDX-License-Identifier: MIT
// MemcachedProcess: a real memcached started for one test (test support).
//
// By default it listens on a unix socket in a private temporary directory,
// so tests never race for ports; `tcp = true` picks a free loopback port
// instead. The process is always killed and reaped, and the directory
// removed, when the object goes away. The binary is $FASTMC_MEMCACHED or
// `memcached` on PATH.
//
// With `sasl_users`, memcached runs with -S (binary protocol only) over a
// SASL database written to the private directory with saslpasswd2 (Debian:
// sasl2-bin), found through a memcached.conf there (SASL_CONF_PATH;
// mech_list: `sasl_mechanisms`).
#pragma once

#include <signal.h>
#include <string>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace fastmc::testing {

class MemcachedProcess {
 public:
  struct Options {
    bool tcp = false;
    std::vector<std::string> extra_args = {};  // e.g. {"-I", "1m"}, {"-B", "binary"}
    std::vector<std::pair<std::string, std::string>> sasl_users = {};  // user, password
    std::string sasl_mechanisms = "plain cram-md5";                    // memcached.conf's mech_list
  };

  MemcachedProcess() : MemcachedProcess(Options{}) {}
  explicit MemcachedProcess(Options options);
  MemcachedProcess(const MemcachedProcess&) = delete;
  MemcachedProcess& operator=(const MemcachedProcess&) = delete;
  ~MemcachedProcess();

  // "unix:/tmp/.../memcached.sock" or "127.0.0.1:<port>".
  const std::string& address() const { return address_; }
  pid_t pid() const { return pid_; }

  // SIGSTOP, and waits until the kernel reports the process stopped: the
  // signal is delivered asynchronously, and a test must not race it.
  void pause() const;
  void resume() const { ::kill(pid_, SIGCONT); }
  // SIGKILL and reap.
  void kill();
  // Starts it again on the same socket or port; waits until it accepts.
  void restart();

 private:
  void start();
  void write_sasl_database() const;
  bool accepts_connections() const;

  Options options_;
  std::string directory_;
  std::string socket_path_;
  int port_ = 0;
  std::string address_;
  pid_t pid_ = -1;
};

}  // namespace fastmc::testing
