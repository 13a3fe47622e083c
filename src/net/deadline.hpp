// SPDX-License-Identifier: MIT
// Deadline: the absolute time by which an operation must finish (net layer).
//
// One deadline per call, computed once from the timeout, so a server that
// trickles a byte at a time cannot stretch the call: every wait asks how much
// time is left rather than starting a fresh timeout. Plain value; steady clock.
#pragma once

#include <algorithm>
#include <chrono>
#include <ctime>

namespace fastmc::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline never() noexcept { return Deadline(Clock::time_point::max()); }
  // A zero or negative timeout means no limit.
  static Deadline after(Clock::duration timeout) noexcept {
    return timeout > Clock::duration::zero() ? Deadline(Clock::now() + timeout) : never();
  }
  static Deadline earlier(Deadline a, Deadline b) noexcept {
    return Deadline(std::min(a.at_, b.at_));
  }

  [[nodiscard]] bool is_never() const noexcept { return at_ == Clock::time_point::max(); }
  [[nodiscard]] Clock::time_point at() const noexcept { return at_; }
  [[nodiscard]] bool expired() const noexcept { return !is_never() && Clock::now() >= at_; }
  // Time left, zero once expired; Clock::duration::max() when never.
  [[nodiscard]] Clock::duration remaining() const noexcept {
    if (is_never()) return Clock::duration::max();
    return std::max(at_ - Clock::now(), Clock::duration::zero());
  }
  // Time left as a timespec for ppoll(): nanosecond precision, unlike poll's
  // milliseconds, so a short deadline is neither overshot nor busy-waited.
  // Requires: !is_never().
  [[nodiscard]] timespec remaining_timespec() const noexcept {
    const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(remaining()).count();
    return timespec{static_cast<time_t>(left / 1'000'000'000),
                    static_cast<long>(left % 1'000'000'000)};
  }

 private:
  explicit Deadline(Clock::time_point at) noexcept : at_(at) {}
  Clock::time_point at_;
};

}  // namespace fastmc::net
