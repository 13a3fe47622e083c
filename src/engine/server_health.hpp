// SPDX-License-Identifier: MIT
// ServerHealth: whether a server is worth sending to (engine layer).
//
// Consecutive failures (a refused or timed-out connect, a timeout, a reset;
// never a miss or a server's error reply) are counted; at failure_limit the
// server is down until retry_timeout has passed (dead_timeout when set, as
// libmemcached separates them). Calls meanwhile fail fast or go elsewhere,
// by the client's policy, instead of each waiting out a timeout. After that
// time calls are let through as probes: success brings the server back,
// failure puts it down again.
//
// With pause_after_failure (libmemcached's model, for pylibmc) every failure
// below failure_limit also pauses the server for retry_timeout: its calls
// fail fast meanwhile, but it stays in the placement, so its keys do not
// move; only reaching failure_limit takes it down (and out, under
// auto_eject).
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace fastmc::engine {

struct HealthOptions {
  // Consecutive failures that take a server down; zero never does.
  std::uint32_t failure_limit = 2;
  // How long a down server is left alone before one call probes it.
  std::chrono::milliseconds retry_timeout{1000};
  // When non-zero, how long a server that reached failure_limit stays down
  // instead of retry_timeout (libmemcached's dead_timeout).
  std::chrono::milliseconds dead_timeout{0};
  // Pause the server for retry_timeout after each failure below failure_limit.
  bool pause_after_failure = false;
};

class ServerHealth {
 public:
  using Clock = std::chrono::steady_clock;

  explicit ServerHealth(HealthOptions options) noexcept : options_(options) {}

  // True iff calls should go to the server now: it is up, or it is down and
  // its retry time has come (the calls made then are the probes: the first
  // failure puts it down again, a success brings it back).
  [[nodiscard]] bool admits(Clock::time_point now) const noexcept {
    return !is_down(now) && !is_paused(now);
  }
  // True iff the server is down and its retry time has not come: it is out
  // of the placement (a paused server is not).
  [[nodiscard]] bool is_down(Clock::time_point now) const noexcept {
    const std::int64_t until = down_until_.load(std::memory_order_relaxed);
    return until != 0 && ticks(now) < until;
  }
  // True iff the server is paused after a failure (pause_after_failure): its
  // calls fail fast now, but it is not down and keeps its place.
  [[nodiscard]] bool is_paused(Clock::time_point now) const noexcept {
    const std::int64_t until = paused_until_.load(std::memory_order_relaxed);
    return until != 0 && ticks(now) < until;
  }
  // True iff the server is up (failures below the limit), without claiming a probe.
  [[nodiscard]] bool is_up() const noexcept {
    return down_until_.load(std::memory_order_relaxed) == 0;
  }

  void record_success() noexcept;
  // Returns true iff this failure took the server down.
  bool record_failure(Clock::time_point now) noexcept;

  // Bumped whenever the server goes down or comes back, so routers built
  // over the live servers know to rebuild.
  [[nodiscard]] std::uint64_t generation() const noexcept {
    return generation_.load(std::memory_order_acquire);
  }

 private:
  static std::int64_t ticks(Clock::time_point time) noexcept {
    return time.time_since_epoch().count();
  }

  const HealthOptions options_;
  std::atomic<std::uint32_t> consecutive_failures_{0};
  std::atomic<std::int64_t> down_until_{0};    // Clock ticks; 0 while up
  std::atomic<std::int64_t> paused_until_{0};  // Clock ticks; 0 unless paused
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace fastmc::engine
