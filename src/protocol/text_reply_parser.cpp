// SPDX-License-Identifier: MIT
// The grammar parsed here is in docs/protocol.md, section "Text"; the source
// is memcached's doc/protocol.txt.
//
// Every decision is taken only once all the bytes it depends on are present
// (the line up to its LF, or the whole VALUE unit), so the result cannot
// depend on how the input was split across reads.
#include "protocol/text_reply_parser.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <optional>

#include "protocol/decimal.hpp"
#include "protocol/key.hpp"
#include "protocol/reply_line.hpp"

namespace fastmc::protocol {
namespace {

constexpr std::string_view kLineEnd = "\r\n";

// Longest token list in a reply line: VALUE <key> <flags> <size> <cas>.
constexpr std::size_t kMaxValueTokens = 4;

// Splits `text` at single spaces into `tokens`; false if a token is empty
// (a leading, trailing or doubled space) or there are more than tokens.size().
// memcached always separates reply tokens with exactly one space.
bool split_tokens(std::string_view text, std::array<std::string_view, kMaxValueTokens>& tokens,
                  std::size_t& count) noexcept {
  count = 0;
  while (true) {
    const std::size_t space = text.find(' ');
    const std::string_view token = text.substr(0, space);
    if (token.empty() || count == tokens.size()) {
      return false;
    }
    tokens[count++] = token;
    if (space == std::string_view::npos) {
      return true;
    }
    text.remove_prefix(space + 1);
  }
}

// A line that is a whole keyword, e.g. "STORED". Compared exactly: keywords
// are upper case and a lower-case or padded one is not a reply.
struct Keyword {
  std::string_view text;
  ReplyStatus status;
};

bool match_keyword(std::string_view line, std::initializer_list<Keyword> keywords,
                   Reply& reply) noexcept {
  for (const Keyword& keyword : keywords) {
    if (line == keyword.text) {
      reply.status = keyword.status;
      return true;
    }
  }
  return false;
}

constexpr std::string_view kUnexpectedLine = "line is not a valid reply to the request in flight";

// "VALUE <key> <flags> <size> [<cas>]" followed by the data block and CRLF.
// `header_size` counts the line and its CRLF.
ParseResult parse_value(std::string_view input, std::string_view arguments, std::size_t header_size,
                        std::size_t max_value_size, Reply& reply) noexcept {
  std::array<std::string_view, kMaxValueTokens> tokens;
  std::size_t count = 0;
  if (!split_tokens(arguments, tokens, count) || count < 3) {
    return ParseResult::malformed("VALUE line does not have 3 or 4 single-space separated fields");
  }
  std::uint32_t flags = 0;
  if (!parse_decimal(tokens[1], flags)) {
    return ParseResult::malformed("VALUE flags are not a decimal number below 2^32");
  }
  std::uint64_t size = 0;
  if (!parse_decimal(tokens[2], size)) {
    return ParseResult::malformed("VALUE size is not a decimal number below 2^64");
  }
  std::uint64_t cas = 0;
  if (count == 4 && !parse_decimal(tokens[3], cas)) {
    return ParseResult::malformed("VALUE cas is not a decimal number below 2^64");
  }
  // The second test keeps header + size + CRLF representable when the limit
  // is huge; a server never legitimately sends such a size.
  if (size > max_value_size ||
      size > std::numeric_limits<std::size_t>::max() - header_size - kLineEnd.size()) {
    return ParseResult::malformed("VALUE size is above the value size limit");
  }
  const auto data_size = static_cast<std::size_t>(size);
  const std::size_t unit_size = header_size + data_size + kLineEnd.size();
  reply.status = ReplyStatus::value;
  reply.key = tokens[0];
  reply.flags = flags;
  reply.cas = cas;
  reply.has_cas = count == 4;
  if (input.size() < unit_size) {
    return ParseResult::need_more(unit_size);
  }
  if (input.substr(header_size + data_size, kLineEnd.size()) != kLineEnd) {
    return ParseResult::malformed("VALUE data block is not followed by CRLF");
  }
  reply.data = input.substr(header_size, data_size);
  return ParseResult::complete(unit_size);
}

// "STAT <name> <value>": the name is one token, the value the rest of the
// line. memcached's values are single tokens, but some ("sizes_error") carry
// a message, so spaces in the value are kept.
bool match_stat(std::string_view arguments, Reply& reply) noexcept {
  const std::size_t space = arguments.find(' ');
  if (space == 0 || space == std::string_view::npos || space + 1 == arguments.size()) {
    return false;
  }
  reply.status = ReplyStatus::stat;
  reply.key = arguments.substr(0, space);
  reply.data = arguments.substr(space + 1);
  return true;
}

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Parses a unit that is one line (everything but VALUE) for the expected kind.
ParseResult parse_line(std::string_view line, std::size_t header_size, TextReplyKind expected,
                       Reply& reply) noexcept {
  if (match_error_line(line, reply)) {
    return ParseResult::complete(header_size);
  }
  bool matched = false;
  switch (expected) {
    case TextReplyKind::retrieval:
    case TextReplyKind::config:
      matched = match_keyword(line, {{"END", ReplyStatus::end}}, reply);
      break;
    case TextReplyKind::storage:
      matched = match_keyword(line,
                              {{"STORED", ReplyStatus::stored},
                               {"NOT_STORED", ReplyStatus::not_stored},
                               {"EXISTS", ReplyStatus::exists},
                               {"NOT_FOUND", ReplyStatus::not_found}},
                              reply);
      break;
    case TextReplyKind::deletion:
      matched = match_keyword(
          line, {{"DELETED", ReplyStatus::deleted}, {"NOT_FOUND", ReplyStatus::not_found}}, reply);
      break;
    case TextReplyKind::arithmetic:
      if (!line.empty() && is_digit(line.front())) {
        if (!parse_decimal(line, reply.number)) {
          return ParseResult::malformed("arithmetic result is not a decimal number below 2^64");
        }
        reply.status = ReplyStatus::number;
        matched = true;
      } else {
        matched = match_keyword(line, {{"NOT_FOUND", ReplyStatus::not_found}}, reply);
      }
      break;
    case TextReplyKind::touch:
      matched = match_keyword(
          line, {{"TOUCHED", ReplyStatus::touched}, {"NOT_FOUND", ReplyStatus::not_found}}, reply);
      break;
    case TextReplyKind::ok: matched = match_keyword(line, {{"OK", ReplyStatus::ok}}, reply); break;
    case TextReplyKind::stats:
      if (line.starts_with("STAT ")) {
        if (!match_stat(line.substr(5), reply)) {
          return ParseResult::malformed("STAT line is not \"STAT <name> <value>\"");
        }
        matched = true;
      } else if (line.starts_with("PREFIX ")) {
        // "stats detail dump": one "PREFIX <prefix> get <n> hit <n> ..." line
        // per key prefix, read as a statistic named after the prefix.
        if (!match_stat(line.substr(7), reply)) {
          return ParseResult::malformed("PREFIX line is not \"PREFIX <prefix> <counters>\"");
        }
        matched = true;
      } else {
        // END closes a listing; "stats reset" answers RESET and "stats
        // detail on|off" answers OK, each alone.
        matched = match_keyword(
            line, {{"END", ReplyStatus::end}, {"RESET", ReplyStatus::ok}, {"OK", ReplyStatus::ok}},
            reply);
      }
      break;
    case TextReplyKind::version:
      if (line.starts_with("VERSION ") && line.size() > 8) {
        reply.status = ReplyStatus::version;
        reply.data = line.substr(8);
        matched = true;
      }
      break;
  }
  return matched ? ParseResult::complete(header_size) : ParseResult::malformed(kUnexpectedLine);
}

// Reads the decimal digits at `position` and stops on the first other byte;
// false on no digit, on more than 19 digits, or on a value above `limit`.
// Up to 19 digits cannot overflow 64 bits, so nothing is checked per digit;
// a longer number (legal up to 2^64-1) is left to the general path.
bool scan_number(const char*& position, const char* end, std::uint64_t limit,
                 std::uint64_t& value) noexcept {
  constexpr std::ptrdiff_t kSafeDigits = 19;
  const char* const start = position;
  const char* const stop = end - start > kSafeDigits ? start + kSafeDigits + 1 : end;
  value = 0;
  while (position < stop && is_digit(*position)) {
    value = value * 10 + static_cast<std::uint64_t>(*position - '0');
    ++position;
  }
  return position != start && position - start <= kSafeDigits && value <= limit;
}

// The key of a VALUE line: the bytes from `key_start` up to the next space,
// which must come before `end` and before any CR or LF (a line end inside
// the key is a malformed or cut line, left to the general path).
std::optional<std::string_view> scan_value_key(const char* key_start, const char* end) noexcept {
  const auto window = static_cast<std::size_t>(end - key_start);
  const void* space = std::memchr(key_start, ' ', window);
  if (space == nullptr) return std::nullopt;
  const std::string_view key(key_start,
                             static_cast<std::size_t>(static_cast<const char*>(space) - key_start));
  if (key.empty()) return std::nullopt;
  // Nearly every key is a text key, which settles it a word at a time; only
  // another one is searched for a line end.
  if (!check_text_key(key, true) && (std::memchr(key.data(), '\n', key.size()) != nullptr ||
                                     std::memchr(key.data(), '\r', key.size()) != nullptr)) {
    return std::nullopt;
  }
  return key;
}

// The common VALUE unit in one pass, for multi-key gets: a well-formed
// header is read without searching for the line end first. Anything unusual
// (a partial header, odd bytes, an overflow) returns nullopt with `reply`
// untouched, and the general path decides, so results and errors are the
// same either way.
std::optional<ParseResult> parse_value_fast(std::string_view input, std::size_t max_value_size,
                                            Reply& reply) noexcept {
  const char* const begin = input.data();
  const char* const end = begin + std::min(input.size(), kMaxReplyLineSize);
  const std::optional<std::string_view> key = scan_value_key(begin + 6, end);  // after "VALUE "
  if (!key) return std::nullopt;
  const char* position = key->data() + key->size() + 1;
  std::uint64_t flags = 0;
  std::uint64_t size = 0;
  std::uint64_t cas = 0;
  if (!scan_number(position, end, std::numeric_limits<std::uint32_t>::max(), flags) ||
      position == end || *position != ' ') {
    return std::nullopt;
  }
  ++position;
  if (!scan_number(position, end, std::numeric_limits<std::uint64_t>::max(), size) ||
      position == end) {
    return std::nullopt;
  }
  const bool has_cas = *position == ' ';
  if (has_cas) {
    ++position;
    if (!scan_number(position, end, std::numeric_limits<std::uint64_t>::max(), cas) ||
        position == end) {
      return std::nullopt;
    }
  }
  if (*position != '\r' || position + 1 >= end || position[1] != '\n') return std::nullopt;
  const auto header_size = static_cast<std::size_t>(position + 2 - begin);
  if (size > max_value_size ||
      size > std::numeric_limits<std::size_t>::max() - header_size - kLineEnd.size()) {
    return std::nullopt;
  }
  const auto data_size = static_cast<std::size_t>(size);
  const std::size_t unit_size = header_size + data_size + kLineEnd.size();
  if (input.size() >= unit_size && (input[unit_size - 2] != '\r' || input[unit_size - 1] != '\n')) {
    return std::nullopt;
  }
  reply.status = ReplyStatus::value;
  reply.key = *key;
  reply.flags = static_cast<std::uint32_t>(flags);
  reply.cas = cas;
  reply.has_cas = has_cas;
  if (input.size() < unit_size) return ParseResult::need_more(unit_size);
  reply.data = std::string_view(begin + header_size, data_size);
  return ParseResult::complete(unit_size);
}

}  // namespace

ParseResult parse_text_reply(std::string_view input, TextReplyKind expected,
                             std::size_t max_value_size, Reply& reply) noexcept {
  if (expected == TextReplyKind::retrieval && input.starts_with("VALUE ")) {
    if (const std::optional<ParseResult> result = parse_value_fast(input, max_value_size, reply)) {
      return *result;
    }
  }
  std::string_view line;
  const ParseResult found = find_reply_line(input, kMaxReplyLineSize, line);
  if (found.status != ParseStatus::complete) return found;
  const std::size_t header_size = found.consumed;

  Reply parsed;
  ParseResult result;
  if (expected == TextReplyKind::retrieval && line.starts_with("VALUE ")) {
    result = parse_value(input, line.substr(6), header_size, max_value_size, parsed);
  } else if (expected == TextReplyKind::config && line.starts_with("CONFIG ")) {
    // ElastiCache's "CONFIG cluster 0 <size>" has VALUE's fields and data
    // block (AWS ElastiCache docs, "Auto Discovery": config get cluster).
    result = parse_value(input, line.substr(7), header_size, max_value_size, parsed);
  } else {
    result = parse_line(line, header_size, expected, parsed);
  }
  if (result.status == ParseStatus::complete ||
      (result.status == ParseStatus::need_more && result.needed > 0)) {
    reply = parsed;
  }
  return result;
}

}  // namespace fastmc::protocol
