// SPDX-License-Identifier: MIT
#include "protocol/text_request.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace fastmc::protocol {
namespace {

std::string bytes_of(const RequestBuffer& buffer) {
  std::array<std::string_view, 16> segments;
  const std::size_t count = buffer.segments_from(0, segments.data(), segments.size());
  std::string bytes;
  for (std::size_t i = 0; i < count; ++i) {
    bytes.append(segments[i]);
  }
  EXPECT_EQ(bytes.size(), buffer.size());
  return bytes;
}

template <class Append>
std::string encoded(Append append) {
  RequestBuffer buffer;
  append(buffer);
  return bytes_of(buffer);
}

using Keys = std::vector<std::string_view>;

TEST(TextRequestTest, GetOneKey) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::get, 0, "foo");
            }),
            "get foo\r\n");
}

TEST(TextRequestTest, GetManyKeys) {
  const Keys keys = {"a", "b", "user:3"};
  EXPECT_EQ(encoded([&](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::get, 0, keys);
            }),
            "get a b user:3\r\n");
}

TEST(TextRequestTest, GetsManyKeys) {
  const Keys keys = {"a", "b"};
  EXPECT_EQ(encoded([&](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::gets, 0, keys);
            }),
            "gets a b\r\n");
}

TEST(TextRequestTest, GetAndGetsLeaveTheTtlOut) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::get, 300, "k");
              append_retrieval_request(out, RetrievalCommand::gets, 300, "k");
            }),
            "get k\r\ngets k\r\n");
}

TEST(TextRequestTest, GatPutsTheTtlBeforeTheKeys) {
  const Keys keys = {"a", "b"};
  EXPECT_EQ(encoded([&](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::gat, 300, keys);
            }),
            "gat 300 a b\r\n");
}

TEST(TextRequestTest, GatsOneKey) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::gats, 60, "k");
            }),
            "gats 60 k\r\n");
}

TEST(TextRequestTest, GatWithZeroAndNegativeTtl) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_retrieval_request(out, RetrievalCommand::gat, 0, "k");
              append_retrieval_request(out, RetrievalCommand::gats, -1, "k");
            }),
            "gat 0 k\r\ngats -1 k\r\n");
}

TEST(TextRequestTest, SetWithFlagsAndTtl) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k", 5, 300, "abc", 0, false);
            }),
            "set k 5 300 3\r\nabc\r\n");
}

TEST(TextRequestTest, SetNoreplyGoesLastOnTheLine) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k", 0, 0, "abc", 0, true);
            }),
            "set k 0 0 3 noreply\r\nabc\r\n");
}

TEST(TextRequestTest, EveryStorageCommandName) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::add, "k", 1, 2, "v", 0, false);
              append_storage_request(out, StorageCommand::replace, "k", 1, 2, "v", 0, false);
              append_storage_request(out, StorageCommand::append, "k", 1, 2, "v", 0, false);
              append_storage_request(out, StorageCommand::prepend, "k", 1, 2, "v", 0, false);
            }),
            "add k 1 2 1\r\nv\r\n"
            "replace k 1 2 1\r\nv\r\n"
            "append k 1 2 1\r\nv\r\n"
            "prepend k 1 2 1\r\nv\r\n");
}

TEST(TextRequestTest, CasPutsTheCasAfterTheSize) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::cas, "k", 1, 2, "abc", 99, false);
            }),
            "cas k 1 2 3 99\r\nabc\r\n");
}

TEST(TextRequestTest, CasNoreplyAndMaxCas) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::cas, "k", 0, 0, "v",
                                     std::numeric_limits<std::uint64_t>::max(), true);
            }),
            "cas k 0 0 1 18446744073709551615 noreply\r\nv\r\n");
}

TEST(TextRequestTest, CasOfZeroIsStillWritten) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::cas, "k", 0, 0, "v", 0, false);
            }),
            "cas k 0 0 1 0\r\nv\r\n");
}

TEST(TextRequestTest, OtherStorageCommandsIgnoreTheCas) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k", 0, 0, "v", 99, false);
            }),
            "set k 0 0 1\r\nv\r\n");
}

TEST(TextRequestTest, SetWithNegativeTtl) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k", 0, -1, "v", 0, false);
            }),
            "set k 0 -1 1\r\nv\r\n");
}

TEST(TextRequestTest, SetWithMaxFlags) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k",
                                     std::numeric_limits<std::uint32_t>::max(), 0, "v", 0, false);
            }),
            "set k 4294967295 0 1\r\nv\r\n");
}

TEST(TextRequestTest, SetEmptyValue) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k", 0, 0, "", 0, false);
            }),
            "set k 0 0 0\r\n\r\n");
}

TEST(TextRequestTest, SetValueWithLineEndsAndNulIsSentAsIs) {
  const std::string_view value("a\r\nEND\r\n\0b", 10);
  EXPECT_EQ(encoded([&](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "k", 0, 0, value, 0, false);
            }),
            "set k 0 0 10\r\n" + std::string(value) + "\r\n");
}

TEST(TextRequestTest, LargeValueIsBorrowedBetweenHeaderAndTerminator) {
  const std::string value(RequestBuffer::kBorrowThreshold, 'v');
  RequestBuffer out;
  append_storage_request(out, StorageCommand::set, "k", 0, 0, value, 0, true);
  std::array<std::string_view, 4> segments;
  ASSERT_EQ(out.segments_from(0, segments.data(), segments.size()), 3u);
  EXPECT_EQ(segments[0], "set k 0 0 16384 noreply\r\n");
  EXPECT_EQ(segments[1].data(), value.data());
  EXPECT_EQ(segments[1].size(), value.size());
  EXPECT_EQ(segments[2], "\r\n");
}

TEST(TextRequestTest, Delete) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_delete_request(out, "k", false); }),
            "delete k\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_delete_request(out, "k", true); }),
            "delete k noreply\r\n");
}

TEST(TextRequestTest, IncrAndDecr) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_arithmetic_request(out, ArithmeticCommand::incr, "n", 1, false);
            }),
            "incr n 1\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_arithmetic_request(out, ArithmeticCommand::decr, "n",
                                        std::numeric_limits<std::uint64_t>::max(), true);
            }),
            "decr n 18446744073709551615 noreply\r\n");
}

TEST(TextRequestTest, Touch) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_touch_request(out, "k", 60, false); }),
            "touch k 60\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_touch_request(out, "k", -1, true); }),
            "touch k -1 noreply\r\n");
}

TEST(TextRequestTest, FlushAllWithoutDelayLeavesItOut) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_flush_all_request(out, 0, false); }),
            "flush_all\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_flush_all_request(out, 0, true); }),
            "flush_all noreply\r\n");
}

TEST(TextRequestTest, FlushAllWithDelay) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_flush_all_request(out, 10, false); }),
            "flush_all 10\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_flush_all_request(out, 10, true); }),
            "flush_all 10 noreply\r\n");
}

TEST(TextRequestTest, StatsWithoutArguments) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_stats_request(out, {}); }), "stats\r\n");
}

TEST(TextRequestTest, StatsWithArguments) {
  const Keys one = {"slabs"};
  const Keys two = {"detail", "dump"};
  EXPECT_EQ(encoded([&](RequestBuffer& out) { append_stats_request(out, one); }),
            "stats slabs\r\n");
  EXPECT_EQ(encoded([&](RequestBuffer& out) { append_stats_request(out, two); }),
            "stats detail dump\r\n");
}

TEST(TextRequestTest, Version) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_version_request(out); }), "version\r\n");
}

TEST(TextRequestTest, ConfigGet) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_config_get_request(out, "cluster"); }),
            "config get cluster\r\n");
}

TEST(TextRequestTest, Verbosity) {
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_verbosity_request(out, 1, false); }),
            "verbosity 1\r\n");
  EXPECT_EQ(encoded([](RequestBuffer& out) { append_verbosity_request(out, 0, true); }),
            "verbosity 0 noreply\r\n");
}

TEST(TextRequestTest, RequestsAppendAfterWhatIsAlreadyThere) {
  EXPECT_EQ(encoded([](RequestBuffer& out) {
              append_storage_request(out, StorageCommand::set, "a", 0, 0, "1", 0, true);
              append_storage_request(out, StorageCommand::set, "b", 0, 0, "2", 0, true);
              append_retrieval_request(out, RetrievalCommand::get, 0, "a");
            }),
            "set a 0 0 1 noreply\r\n1\r\nset b 0 0 1 noreply\r\n2\r\nget a\r\n");
}

}  // namespace
}  // namespace fastmc::protocol
