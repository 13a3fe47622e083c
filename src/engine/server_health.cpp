// SPDX-License-Identifier: MIT
#include "engine/server_health.hpp"

namespace fastmc::engine {

void ServerHealth::record_success() noexcept {
  consecutive_failures_.store(0, std::memory_order_relaxed);
  paused_until_.store(0, std::memory_order_relaxed);
  if (down_until_.exchange(0, std::memory_order_relaxed) != 0) {
    generation_.fetch_add(1, std::memory_order_release);
  }
}

bool ServerHealth::record_failure(Clock::time_point now) noexcept {
  const std::uint32_t failures = consecutive_failures_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (options_.failure_limit == 0 || failures < options_.failure_limit) {
    if (options_.pause_after_failure) {
      const auto pause = std::chrono::duration_cast<Clock::duration>(options_.retry_timeout);
      paused_until_.store(ticks(now + pause), std::memory_order_relaxed);
    }
    return false;
  }
  paused_until_.store(0, std::memory_order_relaxed);
  const auto pause =
      options_.dead_timeout.count() > 0 ? options_.dead_timeout : options_.retry_timeout;
  const std::int64_t until = ticks(now + std::chrono::duration_cast<Clock::duration>(pause));
  const bool was_up = down_until_.exchange(until, std::memory_order_relaxed) == 0;
  if (was_up) generation_.fetch_add(1, std::memory_order_release);
  return was_up;
}

}  // namespace fastmc::engine
