// SPDX-License-Identifier: MIT
// parse_cluster_config takes a whole payload (the data block of a complete
// CONFIG or VALUE unit, so it never sees a split input); the split cases of
// the reply around it are in text_reply_parser_test.cpp.
#include "protocol/cluster_config.hpp"

#include <string>
#include <string_view>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

void expect_malformed(std::string_view payload) {
  SCOPED_TRACE(std::string(payload));
  std::string_view problem;
  EXPECT_FALSE(parse_cluster_config(payload, &problem).has_value());
  EXPECT_FALSE(problem.empty());
}

// The AWS ElastiCache docs' example ("Auto Discovery").
TEST(ClusterConfigTest, DocumentationExample) {
  const auto config = parse_cluster_config(
      "12\nmyCluster.pc4ldq.0001.use1.cache.amazonaws.com|10.82.235.120|11211 "
      "myCluster.pc4ldq.0002.use1.cache.amazonaws.com|10.80.249.27|11211\n");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->version, 12u);
  ASSERT_EQ(config->nodes.size(), 2u);
  EXPECT_EQ(config->nodes[0].host, "myCluster.pc4ldq.0001.use1.cache.amazonaws.com");
  EXPECT_EQ(config->nodes[0].ip, "10.82.235.120");
  EXPECT_EQ(config->nodes[0].port, 11211);
  EXPECT_EQ(config->nodes[1].host, "myCluster.pc4ldq.0002.use1.cache.amazonaws.com");
  EXPECT_EQ(config->nodes[1].ip, "10.80.249.27");
}

TEST(ClusterConfigTest, OneNodeWithAnEmptyIp) {
  const auto config = parse_cluster_config("0\nnode.example||1\n");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->version, 0u);
  ASSERT_EQ(config->nodes.size(), 1u);
  EXPECT_EQ(config->nodes[0].ip, "");
  EXPECT_EQ(config->nodes[0].port, 1);
}

TEST(ClusterConfigTest, LargestVersionAndPort) {
  const auto config = parse_cluster_config("18446744073709551615\nh|10.0.0.1|65535\n");
  ASSERT_TRUE(config.has_value());
  EXPECT_EQ(config->version, 18446744073709551615u);
  EXPECT_EQ(config->nodes[0].port, 65535);
}

TEST(ClusterConfigTest, BadVersionIsMalformed) {
  expect_malformed("\nh|1.2.3.4|11211\n");
  expect_malformed("x1\nh|1.2.3.4|11211\n");
  expect_malformed("-1\nh|1.2.3.4|11211\n");
  expect_malformed(" 1\nh|1.2.3.4|11211\n");
  expect_malformed("18446744073709551616\nh|1.2.3.4|11211\n");
}

TEST(ClusterConfigTest, BadLinesAreMalformed) {
  expect_malformed("");
  expect_malformed("1");
  expect_malformed("1\n");
  expect_malformed("1\n\n");
  expect_malformed("1\nh|1.2.3.4|11211");
  expect_malformed("1\r\nh|1.2.3.4|11211\r\n");
  expect_malformed("1\nh|1.2.3.4|11211\n\n");
  expect_malformed("1\nh|1.2.3.4|11211\nextra\n");
}

TEST(ClusterConfigTest, BadNodesAreMalformed) {
  expect_malformed("1\nh|1.2.3.4\n");
  expect_malformed("1\nh|1.2.3.4|11211|x\n");
  expect_malformed("1\n|1.2.3.4|11211\n");
  expect_malformed("1\nh|1.2.3.4|11211  h2|1.2.3.5|11211\n");
  expect_malformed("1\nh|1.2.3.4|11211 \n");
  expect_malformed("1\n h|1.2.3.4|11211\n");
  expect_malformed("1\nh\t|1.2.3.4|11211\n");
}

TEST(ClusterConfigTest, BadPortsAreMalformed) {
  expect_malformed("1\nh|1.2.3.4|0\n");
  expect_malformed("1\nh|1.2.3.4|65536\n");
  expect_malformed("1\nh|1.2.3.4|\n");
  expect_malformed("1\nh|1.2.3.4|+1\n");
  expect_malformed("1\nh|1.2.3.4|99999999999\n");
}

}  // namespace
}  // namespace fastmc::protocol
