// SPDX-License-Identifier: MIT
#include "net/address.hpp"

#include <gtest/gtest.h>

namespace fastmc::net {
namespace {

Address parse_ok(std::string_view text) {
  std::string problem;
  std::optional<Address> address = parse_address(text, problem);
  EXPECT_TRUE(address.has_value()) << text << ": " << problem;
  return address.value_or(Address{});
}

std::string parse_problem(std::string_view text) {
  std::string problem;
  EXPECT_FALSE(parse_address(text, problem).has_value()) << text;
  return problem;
}

TEST(AddressTest, HostAloneGetsTheDefaultPort) {
  const Address address = parse_ok("cache1");
  EXPECT_EQ(address.kind, Address::Kind::tcp);
  EXPECT_EQ(address.host, "cache1");
  EXPECT_EQ(address.port, 11211);
  EXPECT_EQ(address.name(), "cache1:11211");
}

TEST(AddressTest, HostAndPort) {
  const Address address = parse_ok("10.0.0.1:22122");
  EXPECT_EQ(address.host, "10.0.0.1");
  EXPECT_EQ(address.port, 22122);
}

TEST(AddressTest, BracketedIpv6WithAndWithoutPort) {
  EXPECT_EQ(parse_ok("[::1]:11311").host, "::1");
  EXPECT_EQ(parse_ok("[::1]:11311").port, 11311);
  EXPECT_EQ(parse_ok("[::1]").port, 11211);
  EXPECT_EQ(parse_ok("[::1]:11311").name(), "[::1]:11311");
}

TEST(AddressTest, BareIpv6LiteralHasNoPort) {
  const Address address = parse_ok("fe80::1");
  EXPECT_EQ(address.host, "fe80::1");
  EXPECT_EQ(address.port, 11211);
}

TEST(AddressTest, UnixPathsWithAndWithoutPrefix) {
  EXPECT_EQ(parse_ok("/run/memcached.sock").kind, Address::Kind::unix_socket);
  EXPECT_EQ(parse_ok("/run/memcached.sock").path, "/run/memcached.sock");
  EXPECT_EQ(parse_ok("unix:/run/mc.sock").path, "/run/mc.sock");
  EXPECT_EQ(parse_ok("unix:/run/mc.sock").name(), "/run/mc.sock");
}

TEST(AddressTest, PylibmcWeights) {
  const Address address = parse_ok("cache1:11311:3");
  EXPECT_EQ(address.host, "cache1");
  EXPECT_EQ(address.port, 11311);
  EXPECT_EQ(address.weight, 3u);
  EXPECT_EQ(parse_ok("[::1]:11311:2").weight, 2u);
  EXPECT_EQ(parse_ok("[::1]:11311:2").port, 11311);
  EXPECT_EQ(parse_ok("cache1:11311").weight, 1u);
}

TEST(AddressTest, TwoColonIpv6LiteralsAreNotWeights) {
  EXPECT_EQ(parse_ok("fe80::1").host, "fe80::1");
  EXPECT_EQ(parse_ok("::1").host, "::1");
  EXPECT_EQ(parse_ok("::1").weight, 1u);
}

TEST(AddressTest, LibmcAliasesFollowASpace) {
  const Address address = parse_ok("10.0.0.1:11212 cache-a");
  EXPECT_EQ(address.host, "10.0.0.1");
  EXPECT_EQ(address.port, 11212);
  EXPECT_EQ(address.alias, "cache-a");
  EXPECT_EQ(parse_ok("cache1 alias").port, 11211);
  EXPECT_NE(parse_problem("cache1 two words").find("alias"), std::string::npos);
  EXPECT_NE(parse_problem("cache1 ").find("alias"), std::string::npos);
}

TEST(AddressTest, BadFormsNameTheProblem) {
  EXPECT_NE(parse_problem("").find("empty"), std::string::npos);
  EXPECT_NE(parse_problem("host:0").find("port"), std::string::npos);
  EXPECT_NE(parse_problem("host:65536").find("port"), std::string::npos);
  EXPECT_NE(parse_problem("host:12ab").find("port"), std::string::npos);
  EXPECT_NE(parse_problem(":11211").find("missing host"), std::string::npos);
  EXPECT_NE(parse_problem("[::1").find("IPv6"), std::string::npos);
  EXPECT_NE(parse_problem("[::1]x").find("port"), std::string::npos);
  EXPECT_NE(parse_problem("bad\thost").find("space"), std::string::npos);
  EXPECT_NE(parse_problem("host:11211:x").find("server"), std::string::npos);
  EXPECT_NE(parse_problem("unix:").find("server"), std::string::npos);
}

// Found by fuzz/address_fuzzer: "unix:11211" was read as the host "11211".
TEST(AddressTest, UnixPrefixAlwaysNamesASocketPath) {
  EXPECT_NE(parse_problem("unix:11211").find("absolute socket path"), std::string::npos);
  EXPECT_EQ(parse_ok("[unix]:11211").host, "unix");
  EXPECT_EQ(parse_ok("unix").host, "unix");
}

// Found by fuzz/address_fuzzer: "[[]" was the host "[".
TEST(AddressTest, HostsHoldOnlyHostCharacters) {
  EXPECT_NE(parse_problem("[[]").find("IPv6"), std::string::npos);
  EXPECT_NE(parse_problem("ho[st:1").find("host name"), std::string::npos);
  EXPECT_NE(parse_problem("a/b:1:2").find("server"), std::string::npos);
  EXPECT_EQ(parse_ok("[fe80::1%eth0]:11211").host, "fe80::1%eth0");
  EXPECT_EQ(parse_ok("cache_1.example-a.com:1").host, "cache_1.example-a.com");
}

}  // namespace
TEST(AddressTest, SchemesChooseTlsPerServer) {
  EXPECT_EQ(parse_ok("cache:11211").transport, Address::Transport::client_default);
  const Address tls = parse_ok("tls://cache.example.com:11212");
  EXPECT_EQ(tls.transport, Address::Transport::tls);
  EXPECT_EQ(tls.host, "cache.example.com");
  EXPECT_EQ(tls.port, 11212);
  EXPECT_EQ(tls.name(), "cache.example.com:11212");
  const Address plain = parse_ok("tcp://[::1]:5:3 alias");
  EXPECT_EQ(plain.transport, Address::Transport::plain);
  EXPECT_EQ(plain.host, "::1");
  EXPECT_EQ(plain.weight, 3u);
  EXPECT_EQ(plain.alias, "alias");
  EXPECT_EQ(parse_ok("tls:///run/mc.sock").kind, Address::Kind::unix_socket);
  // A host called "tls" is still a host.
  EXPECT_EQ(parse_ok("tls:11211").host, "tls");
}

TEST(AddressTest, CredentialsArePercentDecodedAndNeverNamed) {
  const Address address = parse_ok("tls://al%69ce:p%40ss%3Aw%20rd@cache:1");
  EXPECT_EQ(address.username, "alice");
  EXPECT_EQ(address.password, "p@ss:w rd");
  EXPECT_EQ(address.name(), "cache:1");
  EXPECT_NE(address, parse_ok("tls://cache:1"));
  EXPECT_EQ(parse_ok("tcp://u:p@ss@cache").password, "p@ss");  // the last @ ends them
}

TEST(AddressTest, SchemeErrorsHideTheCredentials) {
  EXPECT_NE(parse_problem("http://cache:1").find("unknown scheme"), std::string::npos);
  EXPECT_NE(parse_problem("tls://tls://cache").find("more than one scheme"), std::string::npos);
  for (const char* text : {"tls://alice@cache:1", "tls://:secret@cache:1",
                           "tls://alice:bad%zzsecret@cache:1", "tls://al%20ice:secret@cache:1"}) {
    const std::string problem = parse_problem(text);
    EXPECT_NE(problem.find("credentials must be user:password"), std::string::npos) << text;
    EXPECT_EQ(problem.find("secret"), std::string::npos) << problem;
  }
  const std::string problem = parse_problem("tls://alice:secret@cache:notaport alias extra");
  EXPECT_EQ(problem.find("secret"), std::string::npos) << problem;
}

}  // namespace fastmc::net
