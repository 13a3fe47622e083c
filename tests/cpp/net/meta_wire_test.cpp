// SPDX-License-Identifier: MIT
// The meta codec against a real memcached: each encoder's bytes go out on a
// plain unix socket (no fastmc connection: it speaks the text kinds only),
// and the replies come back through parse_meta_reply. What is checked is that
// the server accepts every request as encoded and that its replies parse
// into the fields the docs promise (docs/protocol.md, "Meta").
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <string>
#include <string_view>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/base64.hpp"
#include "protocol/meta_reply_parser.hpp"
#include "protocol/meta_request.hpp"
#include "support/memcached_process.hpp"
#include "support/split_feeder.hpp"

namespace fastmc::protocol {
namespace {

using test::OwnedReply;
using Replies = std::vector<OwnedReply>;

constexpr int kReplyTimeoutMs = 2000;

// A blocking unix-socket client: sends a RequestBuffer, reads replies.
class RawClient {
 public:
  explicit RawClient(const testing::MemcachedProcess& server) {
    const std::string& address = server.address();
    const std::string path = address.substr(address.find(':') + 1);
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un unix_address{};
    unix_address.sun_family = AF_UNIX;
    std::strncpy(unix_address.sun_path, path.c_str(), sizeof unix_address.sun_path - 1);
    connected_ =
        ::connect(fd_, reinterpret_cast<sockaddr*>(&unix_address), sizeof unix_address) == 0;
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  ~RawClient() { ::close(fd_); }

  bool connected() const { return connected_; }

  // Sends the buffer's bytes and clears it.
  void send(RequestBuffer& requests) {
    std::string_view segments[64];
    std::size_t offset = 0;
    while (offset < requests.size()) {
      const std::size_t count = requests.segments_from(offset, segments, std::size(segments));
      for (std::size_t i = 0; i < count; ++i) {
        std::string_view piece = segments[i];
        while (!piece.empty()) {
          const ssize_t written = ::send(fd_, piece.data(), piece.size(), MSG_NOSIGNAL);
          ASSERT_GT(written, 0) << "send failed";
          piece.remove_prefix(static_cast<std::size_t>(written));
          offset += static_cast<std::size_t>(written);
        }
      }
    }
    requests.clear();
  }

  // Reads until `count` replies have been parsed.
  Replies receive(std::size_t count) {
    return receive_while([&](const Replies& replies) { return replies.size() < count; });
  }

  // Reads until an MN has been parsed (the end of a quiet pipeline).
  Replies receive_until_noop() {
    return receive_while([](const Replies& replies) {
      return replies.empty() || replies.back().status != ReplyStatus::noop;
    });
  }

  // Bytes received but not parsed: after a complete exchange, none.
  std::size_t unparsed() const { return buffer_.size(); }

 private:
  template <class More>
  Replies receive_while(More more) {
    Replies replies;
    while (more(replies)) {
      Reply reply;
      const ParseResult result = parse_meta_reply(buffer_, std::size_t{1} << 24, reply);
      if (result.status == ParseStatus::complete) {
        replies.push_back(test::own(reply));
        buffer_.erase(0, result.consumed);
        continue;
      }
      if (result.status == ParseStatus::malformed) {
        ADD_FAILURE() << "malformed reply (" << result.problem << "): " << buffer_;
        return replies;
      }
      if (!read_some()) {
        ADD_FAILURE() << "no reply within " << kReplyTimeoutMs << " ms after " << replies.size()
                      << " replies; unparsed: " << buffer_;
        return replies;
      }
    }
    return replies;
  }

  bool read_some() {
    pollfd ready{fd_, POLLIN, 0};
    if (::poll(&ready, 1, kReplyTimeoutMs) != 1) {
      return false;
    }
    char chunk[65536];
    const ssize_t received = ::recv(fd_, chunk, sizeof chunk, 0);
    if (received <= 0) {
      return false;
    }
    buffer_.append(chunk, static_cast<std::size_t>(received));
    return true;
  }

  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

class MetaWireTest : public ::testing::Test {
 protected:
  // One request, one reply.
  OwnedReply exchange_one() {
    client_.send(requests_);
    const Replies replies = client_.receive(1);
    EXPECT_EQ(replies.size(), 1u);
    return replies.empty() ? OwnedReply{} : replies.front();
  }

  OwnedReply get(std::string_view key, const MetaGetOptions& options) {
    append_meta_get_request(requests_, key, options);
    return exchange_one();
  }
  OwnedReply set(std::string_view key, std::string_view value, const MetaSetOptions& options) {
    append_meta_set_request(requests_, key, value, options);
    return exchange_one();
  }
  OwnedReply remove(std::string_view key, const MetaDeleteOptions& options) {
    append_meta_delete_request(requests_, key, options);
    return exchange_one();
  }
  OwnedReply arithmetic(std::string_view key, const MetaArithmeticOptions& options) {
    append_meta_arithmetic_request(requests_, key, options);
    return exchange_one();
  }

  void TearDown() override { EXPECT_EQ(client_.unparsed(), 0u) << "bytes left after the test"; }

  testing::MemcachedProcess server_;
  RawClient client_{server_};
  RequestBuffer requests_;
};

bool has(const OwnedReply& reply, char letter) {
  return (reply.meta_flags & meta_flag_bit(letter)) != 0;
}

TEST_F(MetaWireTest, Connects) { ASSERT_TRUE(client_.connected()); }

TEST_F(MetaWireTest, GetReturnsEveryRequestedFlag) {
  EXPECT_EQ(set("foo", "hi", {.flags = 5, .ttl = 90}).status, ReplyStatus::done);
  const OwnedReply reply = get("foo", {.return_value = true,
                                       .return_flags = true,
                                       .return_cas = true,
                                       .return_ttl = true,
                                       .return_size = true,
                                       .return_key = true,
                                       .return_hit_before = true,
                                       .return_last_access = true,
                                       .opaque = "123"});
  EXPECT_EQ(reply.status, ReplyStatus::value);
  EXPECT_EQ(reply.data, "hi");
  EXPECT_EQ(reply.flags, 5u);
  EXPECT_TRUE(reply.has_cas);
  EXPECT_NE(reply.cas, 0u);
  EXPECT_GT(reply.ttl, 85);
  EXPECT_LE(reply.ttl, 90);
  EXPECT_EQ(reply.size, 2u);
  EXPECT_EQ(reply.key, "foo");
  EXPECT_EQ(reply.opaque, "123");
  EXPECT_FALSE(reply.hit_before);
  EXPECT_LE(reply.last_access, 2u);
  for (const char letter : {'f', 'c', 't', 's', 'k', 'O', 'h', 'l'}) {
    EXPECT_TRUE(has(reply, letter)) << letter;
  }
  EXPECT_TRUE(get("foo", {.return_hit_before = true}).hit_before);
}

TEST_F(MetaWireTest, GetWithoutValueAnswersHdAndMissAnswersEn) {
  set("k", "v", {});
  EXPECT_EQ(get("k", {.return_flags = true}).status, ReplyStatus::done);
  const OwnedReply miss = get("absent", {.return_value = true, .return_key = true, .opaque = "7"});
  EXPECT_EQ(miss.status, ReplyStatus::miss);
  EXPECT_EQ(miss.opaque, "7");
  EXPECT_EQ(miss.key, "absent");
}

TEST_F(MetaWireTest, SetDefaultsAreNoFlagsAndNoExpiry) {
  set("k", "v", {.flags = 3, .ttl = 100});
  set("k", "w", {});
  const OwnedReply reply =
      get("k", {.return_value = true, .return_flags = true, .return_ttl = true});
  EXPECT_EQ(reply.data, "w");
  EXPECT_EQ(reply.flags, 0u);
  EXPECT_EQ(reply.ttl, -1);
}

TEST_F(MetaWireTest, GetTouchesAndVivifies) {
  set("k", "v", {});
  get("k", {.update_ttl = 500});
  EXPECT_GT(get("k", {.return_ttl = true}).ttl, 490);

  const OwnedReply first = get("new", {.return_value = true, .vivify_ttl = 30});
  EXPECT_EQ(first.status, ReplyStatus::value);
  EXPECT_EQ(first.data, "");
  EXPECT_TRUE(has(first, 'W'));
  const OwnedReply second = get("new", {.return_value = true, .vivify_ttl = 30});
  EXPECT_TRUE(has(second, 'Z'));
  EXPECT_FALSE(has(second, 'W'));
}

TEST_F(MetaWireTest, SetModes) {
  EXPECT_EQ(set("k", "b", {.mode = MetaSetMode::add}).status, ReplyStatus::done);
  EXPECT_EQ(set("k", "x", {.mode = MetaSetMode::add}).status, ReplyStatus::not_stored);
  EXPECT_EQ(set("absent", "x", {.mode = MetaSetMode::replace}).status, ReplyStatus::not_stored);
  EXPECT_EQ(set("absent", "x", {.mode = MetaSetMode::append}).status, ReplyStatus::not_stored);
  EXPECT_EQ(set("k", "c", {.mode = MetaSetMode::append}).status, ReplyStatus::done);
  EXPECT_EQ(set("k", "a", {.mode = MetaSetMode::prepend}).status, ReplyStatus::done);
  EXPECT_EQ(get("k", {.return_value = true}).data, "abc");
  EXPECT_EQ(set("k", "r", {.mode = MetaSetMode::replace}).status, ReplyStatus::done);
  EXPECT_EQ(set("k", "s", {.mode = MetaSetMode::set}).status, ReplyStatus::done);
  EXPECT_EQ(get("k", {.return_value = true}).data, "s");
}

TEST_F(MetaWireTest, SetCompareAndSwap) {
  const OwnedReply stored = set("k", "1", {.return_cas = true});
  ASSERT_TRUE(stored.has_cas);
  EXPECT_EQ(set("k", "2", {.compare_cas = stored.cas + 1}).status, ReplyStatus::exists);
  EXPECT_EQ(set("absent", "2", {.compare_cas = 1}).status, ReplyStatus::not_found);
  const OwnedReply swapped = set("k", "2", {.compare_cas = stored.cas, .return_cas = true});
  EXPECT_EQ(swapped.status, ReplyStatus::done);
  EXPECT_NE(swapped.cas, stored.cas);
  // I: an older cas is accepted, and the item is marked stale.
  EXPECT_EQ(set("k", "3", {.compare_cas = stored.cas, .invalidate = true}).status,
            ReplyStatus::done);
  const OwnedReply stale = get("k", {.return_value = true});
  EXPECT_EQ(stale.data, "3");
  EXPECT_TRUE(has(stale, 'X'));
  EXPECT_TRUE(has(stale, 'W'));
}

TEST_F(MetaWireTest, Delete) {
  set("k", "v", {});
  EXPECT_EQ(remove("k", {.return_key = true}).status, ReplyStatus::done);
  EXPECT_EQ(remove("k", {}).status, ReplyStatus::not_found);
  const OwnedReply stored = set("k", "v", {.return_cas = true});
  EXPECT_EQ(remove("k", {.compare_cas = stored.cas + 1}).status, ReplyStatus::exists);
  EXPECT_EQ(remove("k", {.compare_cas = stored.cas}).status, ReplyStatus::done);
}

TEST_F(MetaWireTest, DeleteInvalidateMarksStale) {
  set("k", "abc", {});
  EXPECT_EQ(remove("k", {.invalidate = true, .update_ttl = 30}).status, ReplyStatus::done);
  const OwnedReply first = get("k", {.return_value = true, .return_ttl = true});
  EXPECT_EQ(first.data, "abc");
  EXPECT_TRUE(has(first, 'X'));
  EXPECT_TRUE(has(first, 'W'));
  EXPECT_LE(first.ttl, 30);
  const OwnedReply second = get("k", {.return_value = true});
  EXPECT_TRUE(has(second, 'X'));
  EXPECT_TRUE(has(second, 'Z'));
}

TEST_F(MetaWireTest, ArithmeticIncrDecrAndAutoCreate) {
  EXPECT_EQ(arithmetic("n", {}).status, ReplyStatus::not_found);
  const OwnedReply created =
      arithmetic("n", {.vivify_ttl = 0, .initial = 10, .return_value = true});
  EXPECT_EQ(created.status, ReplyStatus::value);
  EXPECT_EQ(created.data, "10");
  EXPECT_EQ(arithmetic("n", {.return_value = true}).data, "11");
  EXPECT_EQ(arithmetic("n", {.delta = 4}).status, ReplyStatus::done);
  EXPECT_EQ(arithmetic("n", {.mode = MetaArithmeticMode::decr, .return_value = true}).data, "14");
  // decr stops at 0; incr wraps at 2^64.
  EXPECT_EQ(
      arithmetic("n", {.mode = MetaArithmeticMode::decr, .delta = 100, .return_value = true}).data,
      "0");
  arithmetic("n", {.delta = 3});
  EXPECT_EQ(arithmetic("n", {.delta = 18446744073709551615u, .return_value = true}).data, "2");
  // memcached 1.6.18 ignores ma's T when the previous request on the
  // connection was an mg; here it was an ma.
  const OwnedReply with_flags = arithmetic("n", {.update_ttl = 60,
                                                 .return_value = true,
                                                 .return_ttl = true,
                                                 .return_cas = true,
                                                 .return_key = true,
                                                 .opaque = "a1"});
  EXPECT_EQ(with_flags.data, "3");
  EXPECT_EQ(with_flags.ttl, 60);
  EXPECT_TRUE(with_flags.has_cas);
  EXPECT_EQ(with_flags.key, "n");
  EXPECT_EQ(with_flags.opaque, "a1");
  EXPECT_EQ(arithmetic("n", {.compare_cas = with_flags.cas + 1}).status, ReplyStatus::exists);
  set("text", "abc", {});
  EXPECT_EQ(arithmetic("text", {}).status, ReplyStatus::client_error);
}

TEST_F(MetaWireTest, BinaryKeysRoundTrip) {
  const std::string keys[] = {
      std::string("\0", 1),
      std::string("\xfb\xff\xbf\x00 \r\n", 7),
      std::string("key with spaces\r\nmn\r\n"),
      std::string(kMaxBinaryKeySize, '\xff'),
  };
  for (const std::string& key : keys) {
    SCOPED_TRACE(key.size());
    ASSERT_TRUE(check_binary_key(key));
    EXPECT_EQ(set(key, "bin", {.binary_key = true}).status, ReplyStatus::done);
    const OwnedReply reply =
        get(key, {.return_value = true, .return_key = true, .binary_key = true});
    EXPECT_EQ(reply.status, ReplyStatus::value);
    EXPECT_EQ(reply.data, "bin");
    EXPECT_TRUE(has(reply, 'b'));
    std::string decoded(reply.key.size() / 4 * 3, '?');
    std::size_t size = 0;
    ASSERT_TRUE(decode_base64(reply.key, decoded.data(), size));
    decoded.resize(size);
    EXPECT_EQ(decoded, key);
    EXPECT_EQ(arithmetic(key, {.binary_key = true}).status, ReplyStatus::client_error);
    append_meta_debug_request(requests_, key, true);
    EXPECT_EQ(exchange_one().status, ReplyStatus::debug);
    EXPECT_EQ(remove(key, {.binary_key = true}).status, ReplyStatus::done);
  }
}

// `b` only says how the key is written on the wire: the binary key "foo" is
// the text key "foo". The reply's k is base64 (marked b) iff the item was
// stored with a binary key, whatever the request used.
TEST_F(MetaWireTest, BinaryAndTextKeysShareOneKeySpace) {
  set("foo", "text", {});
  const OwnedReply as_binary =
      get("foo", {.return_value = true, .return_key = true, .binary_key = true});
  EXPECT_EQ(as_binary.data, "text");
  EXPECT_EQ(as_binary.key, "foo");
  EXPECT_FALSE(has(as_binary, 'b'));

  set("bar", "binary", {.binary_key = true});
  const OwnedReply as_text = get("bar", {.return_value = true, .return_key = true});
  EXPECT_EQ(as_text.data, "binary");
  EXPECT_EQ(as_text.key, "YmFy");
  EXPECT_TRUE(has(as_text, 'b'));
}

// Return flags are answered in request order, so t after T (the encoders'
// order) reports the ttl this request set.
TEST_F(MetaWireTest, TtlReturnedAfterTheRequestsOwnUpdate) {
  set("k", "v", {.ttl = 100});
  EXPECT_EQ(get("k", {.return_ttl = true, .update_ttl = 200}).ttl, 200);
}

// q suppresses the nominal replies only: an NS still comes back, and the
// opaque says which request it answers. The MN ends the pipeline.
TEST_F(MetaWireTest, QuietPipelineEndsWithNoopAndFailuresAreMatchedByOpaque) {
  append_meta_set_request(requests_, "a", "1", {.quiet = true, .opaque = "0"});
  append_meta_set_request(requests_, "b", "2", {.quiet = true, .opaque = "1"});
  append_meta_set_request(requests_, "a", "3",
                          {.mode = MetaSetMode::add, .quiet = true, .opaque = "2"});
  append_meta_set_request(requests_, "c", "4", {.quiet = true, .opaque = "3"});
  append_meta_get_request(requests_, "absent",
                          {.return_value = true, .quiet = true, .opaque = "4"});
  append_meta_get_request(requests_, "b", {.return_value = true, .quiet = true, .opaque = "5"});
  append_meta_delete_request(requests_, "c", {.quiet = true, .opaque = "6"});
  append_meta_noop_request(requests_);
  client_.send(requests_);
  const Replies replies = client_.receive_until_noop();
  ASSERT_EQ(replies.size(), 3u);
  EXPECT_EQ(replies[0].status, ReplyStatus::not_stored);
  EXPECT_EQ(replies[0].opaque, "2");
  EXPECT_EQ(replies[1].status, ReplyStatus::value);
  EXPECT_EQ(replies[1].opaque, "5");
  EXPECT_EQ(replies[1].data, "2");
  EXPECT_EQ(replies[2].status, ReplyStatus::noop);
  EXPECT_EQ(get("c", {}).status, ReplyStatus::miss);
}

// In a quiet pipeline an NF still comes back, with its opaque; memcached
// 1.6.18 also leaves out ma's VA on success, despite v.
TEST_F(MetaWireTest, QuietArithmeticReportsOnlyFailures) {
  arithmetic("n", {.vivify_ttl = 0});
  append_meta_arithmetic_request(requests_, "n",
                                 {.return_value = true, .quiet = true, .opaque = "1"});
  append_meta_arithmetic_request(requests_, "absent", {.quiet = true, .opaque = "2"});
  append_meta_noop_request(requests_);
  client_.send(requests_);
  Replies replies = client_.receive_until_noop();
  if (replies.size() == 3) {  // a server that sends the VA despite q
    EXPECT_EQ(replies[0].opaque, "1");
    replies.erase(replies.begin());
  }
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].status, ReplyStatus::not_found);
  EXPECT_EQ(replies[0].opaque, "2");
  EXPECT_EQ(replies[1].status, ReplyStatus::noop);
  EXPECT_EQ(arithmetic("n", {.return_value = true}).data, "2");
}

TEST_F(MetaWireTest, DebugReply) {
  set("k", "v", {});
  append_meta_debug_request(requests_, "k", false);
  const OwnedReply reply = exchange_one();
  EXPECT_EQ(reply.status, ReplyStatus::debug);
  EXPECT_EQ(reply.key, "k");
  EXPECT_TRUE(reply.data.starts_with("exp=-1 ")) << reply.data;
  append_meta_debug_request(requests_, "absent", false);
  EXPECT_EQ(exchange_one().status, ReplyStatus::miss);
}

TEST_F(MetaWireTest, LargeValueIsBorrowedAndRoundTrips) {
  std::string value(300'000, '\0');
  for (std::size_t i = 0; i < value.size(); ++i) {
    value[i] = static_cast<char>(i * 7);
  }
  EXPECT_EQ(set("big", value, {}).status, ReplyStatus::done);
  EXPECT_EQ(get("big", {.return_value = true}).data, value);
}

TEST_F(MetaWireTest, LongestOpaqueIsAccepted) {
  const std::string opaque(kMaxOpaqueSize, 'o');
  EXPECT_EQ(get("absent", {.opaque = opaque}).opaque, opaque);
}

// E (explicit new cas) is newer than memcached 1.6.18, which refuses it;
// a newer server applies it. Either way the reply parses and nothing is left
// on the connection.
TEST_F(MetaWireTest, NewCasIsRefusedByOldServersAndAppliedByNewOnes) {
  const OwnedReply reply = set("k", "v", {.new_cas = 12345, .return_cas = true});
  if (reply.status == ReplyStatus::client_error) {
    EXPECT_EQ(reply.data, "invalid flag");
  } else {
    EXPECT_EQ(reply.status, ReplyStatus::done);
    EXPECT_EQ(reply.cas, 12345u);
  }
  append_meta_noop_request(requests_);
  EXPECT_EQ(exchange_one().status, ReplyStatus::noop);
}

}  // namespace
}  // namespace fastmc::protocol
