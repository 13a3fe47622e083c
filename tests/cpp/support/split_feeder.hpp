// SPDX-License-Identifier: MIT
// Split feeder: runs a reply parser case the way a connection would see it,
// on every way the input can arrive, and checks the parser gives the same
// answer every time (the model is mcrouter's McAsciiParserTest).
//
// A feeding simulates an incremental reader: it keeps a growing buffer,
// appends one piece of the input at a time, calls the parser until it asks
// for more, and drops the `consumed` bytes of each complete unit. The input
// is fed whole, byte by byte, in every 2-piece and 3-piece split (sampled
// for long inputs), and in pieces of every size up to kMaxPieceSize; every
// feeding must give the same replies (as owned copies), the same total
// consumed count and the same final status, `needed` and problem.
//
// Used by the parser tests; one Session type per parser (TextReplySession,
// MetaReplySession and BinaryReplySession here). Thread-safety: test code, one thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/binary_reply_parser.hpp"
#include "protocol/meta_reply_parser.hpp"
#include "protocol/parse_result.hpp"
#include "protocol/reply.hpp"
#include "protocol/text_reply_parser.hpp"

// GoogleTest prints these by name in failure messages (found by ADL).
namespace fastmc::protocol {

inline std::ostream& operator<<(std::ostream& os, ParseStatus status) {
  switch (status) {
    case ParseStatus::complete: return os << "complete";
    case ParseStatus::need_more: return os << "need_more";
    case ParseStatus::malformed: return os << "malformed";
  }
  return os << "unknown";
}

inline std::ostream& operator<<(std::ostream& os, ReplyStatus status) {
  return os << name_of(status);
}

}  // namespace fastmc::protocol

namespace fastmc::test {

// A Reply whose views are copied out, so it outlives the parse buffer. The
// meta fields stay at their defaults for text replies.
struct OwnedReply {
  protocol::ReplyStatus status = protocol::ReplyStatus::end;
  std::string key;
  std::string data;
  std::uint32_t flags = 0;
  std::uint64_t cas = 0;
  bool has_cas = false;
  std::uint64_t number = 0;
  std::uint64_t meta_flags = 0;
  std::string opaque;
  std::int64_t ttl = 0;
  std::uint64_t size = 0;
  std::uint64_t last_access = 0;
  bool hit_before = false;
  std::uint32_t binary_opaque = 0;
  std::uint16_t binary_status = 0;
  std::uint8_t binary_opcode = 0;

  friend bool operator==(const OwnedReply&, const OwnedReply&) = default;
};

inline OwnedReply own(const protocol::Reply& reply) {
  OwnedReply owned;
  owned.status = reply.status;
  owned.key = std::string(reply.key);
  owned.data = std::string(reply.data);
  owned.flags = reply.flags;
  owned.cas = reply.cas;
  owned.has_cas = reply.has_cas;
  owned.number = reply.number;
  owned.meta_flags = reply.meta_flags;
  owned.opaque = std::string(reply.opaque);
  owned.ttl = reply.ttl;
  owned.size = reply.size;
  owned.last_access = reply.last_access;
  owned.hit_before = reply.hit_before;
  owned.binary_opaque = reply.binary_opaque;
  owned.binary_status = reply.binary_status;
  owned.binary_opcode = reply.binary_opcode;
  return owned;
}

// What one feeding produced.
struct FeedOutcome {
  std::vector<OwnedReply> replies;
  std::size_t consumed = 0;  // bytes consumed by the complete units, in total
  // complete: the session expected no more replies; need_more: the input ran
  // out first; malformed: the parser refused the input (feeding stops there).
  protocol::ParseStatus status = protocol::ParseStatus::need_more;
  std::size_t needed = 0;  // of the last parser call
  std::string problem;     // of the last parser call

  friend bool operator==(const FeedOutcome&, const FeedOutcome&) = default;
};

// A Session tells the feeder what to parse next, like the queue of requests
// in flight in a connection: parse(buffer, reply) parses one unit, accept(reply)
// is called after each complete unit, finished() says no more replies are
// expected. The feeder copies it fresh for every feeding.
//
// TextReplySession parses a sequence of text replies, one per expected kind in
// order; a kind is done when its reply ends (ends_reply), e.g. after END for
// retrieval.
class TextReplySession {
 public:
  explicit TextReplySession(std::vector<protocol::TextReplyKind> kinds,
                            std::size_t max_value_size = std::size_t{1} << 20)
      : kinds_(std::move(kinds)), max_value_size_(max_value_size) {}

  protocol::ParseResult parse(std::string_view input, protocol::Reply& reply) const {
    return protocol::parse_text_reply(input, kinds_[index_], max_value_size_, reply);
  }
  void accept(const protocol::Reply& reply) {
    if (protocol::ends_reply(kinds_[index_], reply.status)) {
      ++index_;
    }
  }
  bool finished() const { return index_ == kinds_.size(); }

 private:
  std::vector<protocol::TextReplyKind> kinds_;
  std::size_t max_value_size_;
  std::size_t index_ = 0;
};

// MetaReplySession parses meta replies: a given number of them, or, for a
// quiet pipeline, every reply up to and including the MN that ends it.
class MetaReplySession {
 public:
  static MetaReplySession replies(std::size_t count,
                                  std::size_t max_value_size = std::size_t{1} << 20) {
    return MetaReplySession(count, max_value_size);
  }
  static MetaReplySession until_noop(std::size_t max_value_size = std::size_t{1} << 20) {
    return MetaReplySession(kUntilNoop, max_value_size);
  }

  protocol::ParseResult parse(std::string_view input, protocol::Reply& reply) const {
    return protocol::parse_meta_reply(input, max_value_size_, reply);
  }
  void accept(const protocol::Reply& reply) {
    ++parsed_;
    noop_seen_ = noop_seen_ || reply.status == protocol::ReplyStatus::noop;
  }
  bool finished() const { return count_ == kUntilNoop ? noop_seen_ : parsed_ == count_; }

 private:
  static constexpr std::size_t kUntilNoop = static_cast<std::size_t>(-1);

  MetaReplySession(std::size_t count, std::size_t max_value_size)
      : count_(count), max_value_size_(max_value_size) {}

  std::size_t count_;
  std::size_t max_value_size_;
  std::size_t parsed_ = 0;
  bool noop_seen_ = false;
};

// BinaryReplySession parses binary reply packets: a given number of them,
// or, for a quiet batch, every packet up to and including the noop reply
// that ends it.
class BinaryReplySession {
 public:
  static BinaryReplySession replies(std::size_t count,
                                    std::size_t max_value_size = std::size_t{1} << 20) {
    return BinaryReplySession(count, max_value_size);
  }
  static BinaryReplySession until_noop(std::size_t max_value_size = std::size_t{1} << 20) {
    return BinaryReplySession(kUntilNoop, max_value_size);
  }

  protocol::ParseResult parse(std::string_view input, protocol::Reply& reply) const {
    return protocol::parse_binary_reply(input, max_value_size_, reply);
  }
  void accept(const protocol::Reply& reply) {
    ++parsed_;
    noop_seen_ = noop_seen_ || reply.status == protocol::ReplyStatus::noop;
  }
  bool finished() const { return count_ == kUntilNoop ? noop_seen_ : parsed_ == count_; }

 private:
  static constexpr std::size_t kUntilNoop = static_cast<std::size_t>(-1);

  BinaryReplySession(std::size_t count, std::size_t max_value_size)
      : count_(count), max_value_size_(max_value_size) {}

  std::size_t count_;
  std::size_t max_value_size_;
  std::size_t parsed_ = 0;
  bool noop_seen_ = false;
};

namespace detail {

inline void print_escaped(std::string_view bytes, std::ostream& os) {
  static constexpr char kHex[] = "0123456789abcdef";
  os << '"';
  for (const char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '\r') {
      os << "\\r";
    } else if (c == '\n') {
      os << "\\n";
    } else if (c == '"' || c == '\\') {
      os << '\\' << c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      os << "\\x" << kHex[byte >> 4] << kHex[byte & 0xf];
    } else {
      os << c;
    }
  }
  os << '"';
}

inline bool is_inside(std::string_view view, std::string_view buffer) {
  if (view.empty()) {
    return true;
  }
  const auto* begin = buffer.data();
  const auto* end = buffer.data() + buffer.size();
  return std::less_equal<>()(begin, view.data()) &&
         std::less_equal<>()(view.data() + view.size(), end);
}

}  // namespace detail

inline std::ostream& operator<<(std::ostream& os, const OwnedReply& reply) {
  os << "{" << protocol::name_of(reply.status) << " key=";
  detail::print_escaped(reply.key, os);
  os << " data=";
  detail::print_escaped(reply.data, os);
  os << " flags=" << reply.flags << " cas=" << reply.cas << (reply.has_cas ? "" : "(absent)")
     << " number=" << reply.number;
  if (reply.meta_flags != 0) {
    os << " meta_flags=";
    for (char letter = 'A'; letter <= 'z'; ++letter) {
      if ((reply.meta_flags & protocol::meta_flag_bit(letter)) != 0) os << letter;
    }
    os << " opaque=";
    detail::print_escaped(reply.opaque, os);
    os << " ttl=" << reply.ttl << " size=" << reply.size << " last_access=" << reply.last_access
       << " hit_before=" << reply.hit_before;
  }
  if (reply.binary_opcode != 0 || reply.binary_status != 0 || reply.binary_opaque != 0) {
    os << " binary opcode=" << int{reply.binary_opcode} << " status=" << reply.binary_status
       << " opaque=" << reply.binary_opaque;
  }
  return os << "}";
}

inline std::ostream& operator<<(std::ostream& os, const FeedOutcome& outcome) {
  os << "{status=" << outcome.status << " consumed=" << outcome.consumed
     << " needed=" << outcome.needed << " problem=\"" << outcome.problem << "\" replies=[";
  for (const OwnedReply& reply : outcome.replies) {
    os << "\n  " << reply;
  }
  return os << "]}";
}

// Feeds `input` in pieces that start at each of `cuts` (increasing offsets
// strictly inside the input; none means one piece) and returns what the
// session produced. Checks the parser's own invariants on every call.
template <class Session>
FeedOutcome feed_in_pieces(Session session, std::string_view input,
                           const std::vector<std::size_t>& cuts) {
  FeedOutcome outcome;
  std::string buffer;
  std::size_t piece_start = 0;
  for (std::size_t piece = 0; piece <= cuts.size(); ++piece) {
    const std::size_t piece_end = piece < cuts.size() ? cuts[piece] : input.size();
    buffer.append(input.substr(piece_start, piece_end - piece_start));
    piece_start = piece_end;
    while (!session.finished()) {
      protocol::Reply reply;
      const protocol::ParseResult result = session.parse(buffer, reply);
      outcome.status = result.status;
      outcome.needed = result.needed;
      outcome.problem = std::string(result.problem);
      if (result.status == protocol::ParseStatus::malformed) {
        EXPECT_FALSE(result.problem.empty()) << "a malformed result must say why";
        return outcome;
      }
      if (result.status == protocol::ParseStatus::need_more) {
        EXPECT_TRUE(result.needed == 0 || result.needed > buffer.size())
            << "needed=" << result.needed << " with " << buffer.size() << " bytes present";
        break;
      }
      if (result.consumed == 0 || result.consumed > buffer.size()) {
        ADD_FAILURE() << "complete with consumed=" << result.consumed << " of " << buffer.size()
                      << " bytes present";
        return outcome;
      }
      EXPECT_TRUE(
          detail::is_inside(reply.key, std::string_view(buffer).substr(0, result.consumed)));
      EXPECT_TRUE(
          detail::is_inside(reply.data, std::string_view(buffer).substr(0, result.consumed)));
      EXPECT_TRUE(
          detail::is_inside(reply.opaque, std::string_view(buffer).substr(0, result.consumed)));
      outcome.replies.push_back(own(reply));
      session.accept(reply);
      buffer.erase(0, result.consumed);
      outcome.consumed += result.consumed;
    }
    if (session.finished()) {
      outcome.status = protocol::ParseStatus::complete;
      outcome.needed = 0;
      outcome.problem.clear();
      return outcome;
    }
  }
  return outcome;
}

// Above this size the 3-piece splits are sampled instead of exhaustive.
inline constexpr std::size_t kExhaustiveSplitSize = 200;
// Fixed-size chunkings are tried for every piece size from 1 to this.
inline constexpr std::size_t kMaxPieceSize = 16;

namespace detail {

// Cut points tried for 3-piece splits of a long input: every offset near
// both ends (where headers and terminators are) and an even spread between.
inline std::vector<std::size_t> sampled_cut_points(std::size_t size) {
  std::vector<std::size_t> points;
  constexpr std::size_t kEdge = 40;
  constexpr std::size_t kSpread = 40;
  for (std::size_t offset = 1; offset < size; ++offset) {
    if (offset <= kEdge || offset + kEdge >= size || offset % (size / kSpread) == 0) {
      points.push_back(offset);
    }
  }
  return points;
}

}  // namespace detail

// Feeds `input` whole and in every chunking described above, expects every
// feeding to match the whole one, and returns the whole one for the caller
// to check against the expected replies. Reports only the first mismatch.
template <class Session>
FeedOutcome feed_every_split(const Session& session, std::string_view input) {
  const FeedOutcome whole = feed_in_pieces(session, input, {});
  const std::size_t size = input.size();
  const auto matches = [&](const std::vector<std::size_t>& cuts) {
    const FeedOutcome split = feed_in_pieces(session, input, cuts);
    if (split == whole) {
      return true;
    }
    // More than two cuts only come from the fixed-size chunkings.
    std::string how =
        cuts.size() > 2 ? "in pieces of " + std::to_string(cuts[0]) + " bytes" : "in pieces cut at";
    for (std::size_t i = 0; cuts.size() <= 2 && i < cuts.size(); ++i) {
      how += " " + std::to_string(cuts[i]);
    }
    ADD_FAILURE() << "feeding " << how << " differs from feeding whole\n whole: " << whole
                  << "\n split: " << split;
    return false;
  };

  for (std::size_t piece_size = 1; piece_size <= kMaxPieceSize; ++piece_size) {
    std::vector<std::size_t> cuts;
    for (std::size_t cut = piece_size; cut < size; cut += piece_size) {
      cuts.push_back(cut);
    }
    if (!matches(cuts)) {
      return whole;
    }
  }
  for (std::size_t first = 1; first < size; ++first) {
    if (!matches({first})) {
      return whole;
    }
  }
  std::vector<std::size_t> points;
  if (size <= kExhaustiveSplitSize) {
    for (std::size_t offset = 1; offset < size; ++offset) {
      points.push_back(offset);
    }
  } else {
    points = detail::sampled_cut_points(size);
  }
  for (std::size_t i = 0; i < points.size(); ++i) {
    for (std::size_t j = i + 1; j < points.size(); ++j) {
      if (!matches({points[i], points[j]})) {
        return whole;
      }
    }
  }
  return whole;
}

// The text parser through every split, one expected kind per reply.
inline FeedOutcome feed_text_reply(std::string_view input,
                                   std::vector<protocol::TextReplyKind> kinds,
                                   std::size_t max_value_size = std::size_t{1} << 20) {
  return feed_every_split(TextReplySession(std::move(kinds), max_value_size), input);
}

// The meta parser through every split: `count` replies are expected.
inline FeedOutcome feed_meta_reply(std::string_view input, std::size_t count = 1,
                                   std::size_t max_value_size = std::size_t{1} << 20) {
  return feed_every_split(MetaReplySession::replies(count, max_value_size), input);
}

// The meta parser through every split, up to and including an MN.
inline FeedOutcome feed_meta_pipeline(std::string_view input,
                                      std::size_t max_value_size = std::size_t{1} << 20) {
  return feed_every_split(MetaReplySession::until_noop(max_value_size), input);
}

// The binary parser through every split: `count` packets are expected.
inline FeedOutcome feed_binary_reply(std::string_view input, std::size_t count = 1,
                                     std::size_t max_value_size = std::size_t{1} << 20) {
  return feed_every_split(BinaryReplySession::replies(count, max_value_size), input);
}

// The binary parser through every split, up to and including a noop reply.
inline FeedOutcome feed_binary_batch(std::string_view input,
                                     std::size_t max_value_size = std::size_t{1} << 20) {
  return feed_every_split(BinaryReplySession::until_noop(max_value_size), input);
}

}  // namespace fastmc::test
