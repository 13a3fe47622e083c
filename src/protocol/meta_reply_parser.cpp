// SPDX-License-Identifier: MIT
// The grammar parsed here is in docs/protocol.md, section "Meta"; the source
// is memcached's doc/protocol.txt, checked against memcached 1.6.18.
//
// Every decision is taken only once all the bytes it depends on are present
// (the line up to its LF, or the whole VA reply), so the result cannot depend
// on how the input was split across reads.
#include "protocol/meta_reply_parser.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include "protocol/decimal.hpp"
#include "protocol/key.hpp"
#include "protocol/reply_line.hpp"

namespace fastmc::protocol {
namespace {

constexpr std::string_view kLineEnd = "\r\n";

// protocol.txt allows opaque tokens "up to 32 bytes"; memcached refuses 32
// (it counts the O), so an echoed one is at most 31, and 32 is the bound that
// holds whichever way a server counts.
constexpr std::size_t kMaxEchoedOpaqueSize = 32;

// Takes the next field from `fields`, which is empty or starts with the one
// space before the field. False if there is none or it is empty (a doubled
// or trailing space): memcached separates reply fields with exactly one.
bool next_field(std::string_view& fields, std::string_view& field) noexcept {
  if (fields.size() < 2 || fields.front() != ' ') {
    return false;
  }
  fields.remove_prefix(1);
  const std::size_t end = fields.find(' ');
  field = fields.substr(0, end);
  fields.remove_prefix(field.size());
  return !field.empty();
}

// "t" is the remaining ttl, -1 for an item that never expires. memcached
// 1.6.18 prints other values above 2^31 for an item touched with a negative
// ttl (T-1 gives t4294966480), so any non-negative 64-bit value is taken.
bool parse_ttl(std::string_view text, std::int64_t& ttl) noexcept {
  if (text == "-1") {
    ttl = -1;
    return true;
  }
  std::uint64_t value = 0;
  if (!parse_decimal(text, value) ||
      value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return false;
  }
  ttl = static_cast<std::int64_t>(value);
  return true;
}

// One return flag: a letter, then its token up to the next space. Returns
// the problem, or an empty view if the flag is valid.
std::string_view parse_flag(std::string_view field, Reply& reply) noexcept {
  const char letter = field.front();
  const std::uint64_t bit = meta_flag_bit(letter);
  if (bit == 0) {
    return "return flag does not start with an ASCII letter";
  }
  if ((reply.meta_flags & bit) != 0) {
    return "return flag appears twice";
  }
  reply.meta_flags |= bit;
  const std::string_view token = field.substr(1);
  switch (letter) {
    case 'b':  // the k token is base64
    case 'W':  // won the right to recache
    case 'X':  // stale
    case 'Z':  // another client already won
      return token.empty() ? std::string_view() : "b, W, X or Z return flag carries a token";
    case 'c':
      reply.has_cas = true;
      return parse_decimal(token, reply.cas) ? std::string_view()
                                             : "c (cas) is not a decimal number below 2^64";
    case 'f':
      return parse_decimal(token, reply.flags)
                 ? std::string_view()
                 : "f (client flags) is not a decimal number below 2^32";
    case 'h':
      if (token != "0" && token != "1") {
        return "h (hit before) is not 0 or 1";
      }
      reply.hit_before = token == "1";
      return {};
    case 'k':
      if (token.empty() || token.size() > kMaxKeySize) {
        return "k (key) is empty or longer than 250 bytes";
      }
      reply.key = token;
      return {};
    case 'l':
      return parse_decimal(token, reply.last_access)
                 ? std::string_view()
                 : "l (last access) is not a decimal number below 2^64";
    case 'O':
      if (token.size() > kMaxEchoedOpaqueSize) {
        return "O (opaque) is longer than 32 bytes";
      }
      reply.opaque = token;
      return {};
    case 's':
      return parse_decimal(token, reply.size) ? std::string_view()
                                              : "s (size) is not a decimal number below 2^64";
    case 't':
      return parse_ttl(token, reply.ttl) ? std::string_view()
                                         : "t (ttl) is not -1 or a decimal number below 2^63";
    default:
      // A flag this parser does not read: recorded, token ignored.
      return {};
  }
}

// The flags after a code (or after VA's size): zero or more " <flag>".
std::string_view parse_flags(std::string_view fields, Reply& reply) noexcept {
  std::string_view field;
  while (!fields.empty()) {
    if (!next_field(fields, field)) {
      return "reply fields are not separated by single spaces";
    }
    const std::string_view problem = parse_flag(field, reply);
    if (!problem.empty()) {
      return problem;
    }
  }
  return {};
}

// "VA <size> <flags>*" followed by the data block and CRLF. `fields` is the
// line after "VA"; `header_size` counts the line and its CRLF.
ParseResult parse_value(std::string_view input, std::string_view fields, std::size_t header_size,
                        std::size_t max_value_size, Reply& reply) noexcept {
  std::string_view size_field;
  if (!next_field(fields, size_field)) {
    return ParseResult::malformed("VA line has no size, or fields not separated by single spaces");
  }
  std::uint64_t size = 0;
  if (!parse_decimal(size_field, size)) {
    return ParseResult::malformed("VA size is not a decimal number below 2^64");
  }
  const std::string_view problem = parse_flags(fields, reply);
  if (!problem.empty()) {
    return ParseResult::malformed(problem);
  }
  // The second test keeps header + size + CRLF representable when the limit
  // is huge; a server never legitimately sends such a size.
  if (size > max_value_size ||
      size > std::numeric_limits<std::size_t>::max() - header_size - kLineEnd.size()) {
    return ParseResult::malformed("VA size is above the value size limit");
  }
  const auto data_size = static_cast<std::size_t>(size);
  const std::size_t unit_size = header_size + data_size + kLineEnd.size();
  reply.status = ReplyStatus::value;
  if (input.size() < unit_size) {
    return ParseResult::need_more(unit_size);
  }
  if (input.substr(header_size + data_size, kLineEnd.size()) != kLineEnd) {
    return ParseResult::malformed("VA data block is not followed by CRLF");
  }
  reply.data = input.substr(header_size, data_size);
  return ParseResult::complete(unit_size);
}

// "ME <key> <name>=<value>*": `fields` is the line after "ME". The pairs are
// left as text in `data` (memcached may add names); each must have a name.
ParseResult parse_debug(std::string_view fields, std::size_t header_size, Reply& reply) noexcept {
  std::string_view key;
  if (!next_field(fields, key) || key.size() > kMaxKeySize) {
    return ParseResult::malformed("ME line has no key, or one longer than 250 bytes");
  }
  reply.status = ReplyStatus::debug;
  reply.key = key;
  reply.data = fields.empty() ? fields : fields.substr(1);
  std::string_view pair;
  while (!fields.empty()) {
    if (!next_field(fields, pair)) {
      return ParseResult::malformed("reply fields are not separated by single spaces");
    }
    const std::size_t equals = pair.find('=');
    if (equals == 0 || equals == std::string_view::npos) {
      return ParseResult::malformed("ME field is not \"<name>=<value>\"");
    }
  }
  return ParseResult::complete(header_size);
}

struct Code {
  std::string_view text;
  ReplyStatus status;
};

// The codes that are followed by return flags only.
constexpr std::array<Code, 5> kFlagCodes = {{
    {"HD", ReplyStatus::done},
    {"EN", ReplyStatus::miss},
    {"NS", ReplyStatus::not_stored},
    {"EX", ReplyStatus::exists},
    {"NF", ReplyStatus::not_found},
}};

// Parses a reply that is one line (everything but VA).
ParseResult parse_line(std::string_view line, std::size_t header_size, Reply& reply) noexcept {
  if (match_error_line(line, reply)) {
    return ParseResult::complete(header_size);
  }
  const std::string_view code = line.substr(0, 2);
  const std::string_view fields = line.substr(code.size());
  if (code.size() < 2 || (!fields.empty() && fields.front() != ' ')) {
    return ParseResult::malformed("line is not a meta reply (unknown code)");
  }
  for (const Code& known : kFlagCodes) {
    if (code == known.text) {
      const std::string_view problem = parse_flags(fields, reply);
      if (!problem.empty()) {
        return ParseResult::malformed(problem);
      }
      reply.status = known.status;
      return ParseResult::complete(header_size);
    }
  }
  if (code == "MN") {
    // mn takes no flags, so its reply has none.
    if (!fields.empty()) {
      return ParseResult::malformed("MN line has fields");
    }
    reply.status = ReplyStatus::noop;
    return ParseResult::complete(header_size);
  }
  if (code == "ME") {
    return parse_debug(fields, header_size, reply);
  }
  return ParseResult::malformed("line is not a meta reply (unknown code)");
}

}  // namespace

ParseResult parse_meta_reply(std::string_view input, std::size_t max_value_size,
                             Reply& reply) noexcept {
  std::string_view line;
  const ParseResult found = find_reply_line(input, kMaxMetaReplyLineSize, line);
  if (found.status != ParseStatus::complete) return found;
  const std::size_t header_size = found.consumed;

  Reply parsed;
  ParseResult result;
  if (line.starts_with("VA") && (line.size() == 2 || line[2] == ' ')) {
    result = parse_value(input, line.substr(2), header_size, max_value_size, parsed);
  } else {
    result = parse_line(line, header_size, parsed);
  }
  // A VA header whose data is still to come is handed out too (needed > 0),
  // so the caller may receive the data elsewhere.
  if (result.status == ParseStatus::complete ||
      (result.status == ParseStatus::need_more && result.needed > 0)) {
    reply = parsed;
  }
  return result;
}

}  // namespace fastmc::protocol
