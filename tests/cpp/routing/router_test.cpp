// SPDX-License-Identifier: MIT
#include "routing/router.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fastmc::routing {
namespace {

TEST(RouterTest, OneServerTakesEveryKeyWithoutHashing) {
  const Router router(1);
  EXPECT_EQ(router.server_for_key("anything"), 0u);
  EXPECT_EQ(router.server_for_key(""), 0u);
}

TEST(RouterTest, ModulaSpreadsKeysOverEveryServerAndIsStable) {
  const Router router(5);
  std::vector<int> counts(5);
  for (int i = 0; i < 5000; ++i) {
    const std::string key = "key:" + std::to_string(i);
    const std::size_t server = router.server_for_key(key);
    ASSERT_LT(server, 5u);
    EXPECT_EQ(server, router.server_for_key(key));
    ++counts[server];
  }
  for (const int count : counts) EXPECT_GT(count, 800);
}

TEST(RouterTest, OneAtATimeOfTheEmptyKeyIsZero) { EXPECT_EQ(one_at_a_time_hash(""), 0u); }

}  // namespace
}  // namespace fastmc::routing
