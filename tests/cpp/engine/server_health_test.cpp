// SPDX-License-Identifier: MIT
#include "engine/server_health.hpp"

#include <gtest/gtest.h>

namespace fastmc::engine {
namespace {

using namespace std::chrono_literals;
using Clock = ServerHealth::Clock;

TEST(ServerHealthTest, FailuresBelowTheLimitKeepTheServerUp) {
  ServerHealth health({.failure_limit = 3, .retry_timeout = 1s});
  const auto now = Clock::now();
  EXPECT_FALSE(health.record_failure(now));
  EXPECT_FALSE(health.record_failure(now));
  EXPECT_TRUE(health.is_up());
  EXPECT_TRUE(health.admits(now));
}

TEST(ServerHealthTest, ASuccessResetsTheCount) {
  ServerHealth health({.failure_limit = 2, .retry_timeout = 1s});
  const auto now = Clock::now();
  health.record_failure(now);
  health.record_success();
  EXPECT_FALSE(health.record_failure(now));
  EXPECT_TRUE(health.is_up());
}

TEST(ServerHealthTest, TheLimitTakesItDownUntilTheRetryTime) {
  ServerHealth health({.failure_limit = 2, .retry_timeout = 1s});
  const auto now = Clock::now();
  const auto generation = health.generation();
  health.record_failure(now);
  EXPECT_TRUE(health.record_failure(now));
  EXPECT_FALSE(health.is_up());
  EXPECT_GT(health.generation(), generation);
  EXPECT_FALSE(health.admits(now + 999ms));
  EXPECT_TRUE(health.admits(now + 1s));  // the probe
}

TEST(ServerHealthTest, AFailedProbePutsItDownAgainAndASuccessfulOneBringsItBack) {
  ServerHealth health({.failure_limit = 1, .retry_timeout = 1s});
  const auto now = Clock::now();
  health.record_failure(now);
  EXPECT_FALSE(health.record_failure(now + 1s));  // already down: not a new transition
  EXPECT_FALSE(health.admits(now + 1500ms));
  EXPECT_TRUE(health.admits(now + 2s));
  const auto generation = health.generation();
  health.record_success();
  EXPECT_TRUE(health.is_up());
  EXPECT_GT(health.generation(), generation);
}

TEST(ServerHealthTest, PauseAfterFailurePausesEachFailureBelowTheLimitWithoutTakingItDown) {
  ServerHealth health({.failure_limit = 3, .retry_timeout = 1s, .pause_after_failure = true});
  const auto now = Clock::now();
  const auto generation = health.generation();
  EXPECT_FALSE(health.record_failure(now));
  EXPECT_TRUE(health.is_up());  // still placed: only paused
  EXPECT_TRUE(health.is_paused(now));
  EXPECT_FALSE(health.admits(now + 999ms));
  EXPECT_TRUE(health.admits(now + 1s));  // the probe
  EXPECT_FALSE(health.is_paused(now + 1s));
  EXPECT_EQ(health.generation(), generation);

  EXPECT_FALSE(health.record_failure(now + 1s));  // the probe failed: paused again
  EXPECT_TRUE(health.is_paused(now + 1500ms));
  EXPECT_TRUE(health.record_failure(now + 2s));  // the limit: down, no longer paused
  EXPECT_FALSE(health.is_up());
  EXPECT_FALSE(health.is_paused(now + 2s));
  EXPECT_GT(health.generation(), generation);
}

TEST(ServerHealthTest, ASuccessEndsAPause) {
  ServerHealth health({.failure_limit = 3, .retry_timeout = 1s, .pause_after_failure = true});
  const auto now = Clock::now();
  health.record_failure(now);
  health.record_success();
  EXPECT_FALSE(health.is_paused(now));
  EXPECT_TRUE(health.admits(now));
}

TEST(ServerHealthTest, WithoutPauseAfterFailureNothingPauses) {
  ServerHealth health({.failure_limit = 3, .retry_timeout = 1s});
  const auto now = Clock::now();
  health.record_failure(now);
  EXPECT_FALSE(health.is_paused(now));
  EXPECT_TRUE(health.admits(now));
}

TEST(ServerHealthTest, DeadTimeoutReplacesTheRetryTimeoutAtTheLimit) {
  ServerHealth health({.failure_limit = 1, .retry_timeout = 1s, .dead_timeout = 5s});
  const auto now = Clock::now();
  health.record_failure(now);
  EXPECT_FALSE(health.admits(now + 4s));
  EXPECT_TRUE(health.admits(now + 5s));
}

TEST(ServerHealthTest, ALimitOfZeroNeverTakesItDown) {
  ServerHealth health({.failure_limit = 0});
  for (int i = 0; i < 10; ++i) health.record_failure(Clock::now());
  EXPECT_TRUE(health.is_up());
}

}  // namespace
}  // namespace fastmc::engine
