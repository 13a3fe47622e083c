// SPDX-License-Identifier: MIT
#include "protocol/binary_reply_parser.hpp"

#include "protocol/binary_header.hpp"
#include "protocol/key.hpp"

namespace fastmc::protocol {
namespace {

// What a successful reply to each opcode looks like.
enum class Shape : std::uint8_t {
  item,        // get, gat: 4 bytes of flags, no key, the value
  keyed_item,  // getk, gatk: 4 bytes of flags, the key, the value
  empty,       // nothing after the header
  touch,       // touch: nothing, or (memcached 1.6.18) the item's 4 bytes of flags
  number,      // incr, decr: an 8-byte value
  text,        // version, SASL: a value only
  statistic,   // stat: a key and a value, or neither (the end)
};

struct Outcome {
  Shape shape;
  ReplyStatus status;
};

// The successful reply of `opcode`. Requires: is_known_opcode(opcode).
Outcome success_of(BinaryOpcode opcode) noexcept {
  switch (opcode) {
    case BinaryOpcode::get:
    case BinaryOpcode::get_quiet:
    case BinaryOpcode::gat:
    case BinaryOpcode::gat_quiet: return {Shape::item, ReplyStatus::value};
    case BinaryOpcode::get_key:
    case BinaryOpcode::get_key_quiet:
    case BinaryOpcode::gat_key:
    case BinaryOpcode::gat_key_quiet: return {Shape::keyed_item, ReplyStatus::value};
    case BinaryOpcode::set:
    case BinaryOpcode::add:
    case BinaryOpcode::replace:
    case BinaryOpcode::append:
    case BinaryOpcode::prepend:
    case BinaryOpcode::set_quiet:
    case BinaryOpcode::add_quiet:
    case BinaryOpcode::replace_quiet:
    case BinaryOpcode::append_quiet:
    case BinaryOpcode::prepend_quiet: return {Shape::empty, ReplyStatus::stored};
    case BinaryOpcode::remove:
    case BinaryOpcode::remove_quiet: return {Shape::empty, ReplyStatus::deleted};
    case BinaryOpcode::increment:
    case BinaryOpcode::decrement:
    case BinaryOpcode::increment_quiet:
    case BinaryOpcode::decrement_quiet: return {Shape::number, ReplyStatus::number};
    case BinaryOpcode::touch: return {Shape::touch, ReplyStatus::touched};
    case BinaryOpcode::quit:
    case BinaryOpcode::quit_quiet:
    case BinaryOpcode::flush:
    case BinaryOpcode::flush_quiet:
    case BinaryOpcode::verbosity: return {Shape::empty, ReplyStatus::ok};
    case BinaryOpcode::noop: return {Shape::empty, ReplyStatus::noop};
    case BinaryOpcode::version: return {Shape::text, ReplyStatus::version};
    case BinaryOpcode::stat: return {Shape::statistic, ReplyStatus::stat};
    case BinaryOpcode::sasl_list_mechanisms:
    case BinaryOpcode::sasl_auth:
    case BinaryOpcode::sasl_step: return {Shape::text, ReplyStatus::ok};
  }
  return {Shape::empty, ReplyStatus::ok};
}

bool is_get_family(Shape shape) noexcept {
  return shape == Shape::item || shape == Shape::keyed_item;
}

ReplyStatus failure_status(BinaryStatus status, bool get_family) noexcept {
  switch (status) {
    case BinaryStatus::key_not_found:
      return get_family ? ReplyStatus::miss : ReplyStatus::not_found;
    case BinaryStatus::key_exists: return ReplyStatus::exists;
    case BinaryStatus::item_not_stored: return ReplyStatus::not_stored;
    case BinaryStatus::invalid_arguments:
    case BinaryStatus::non_numeric_value: return ReplyStatus::client_error;
    case BinaryStatus::unknown_command:
    case BinaryStatus::not_supported: return ReplyStatus::error;
    case BinaryStatus::auth_error: return ReplyStatus::auth_error;
    case BinaryStatus::auth_continue: return ReplyStatus::auth_continue;
    default: return ReplyStatus::server_error;
  }
}

// The problem with a successful reply's sizes for `shape`, or empty.
std::string_view shape_problem(Shape shape, const BinaryHeader& header,
                               std::size_t value_size) noexcept {
  switch (shape) {
    case Shape::item:
      if (header.extras_size != 4) return "binary get reply without 4 bytes of flags";
      if (header.key_size != 0) return "binary get reply with a key";
      return {};
    case Shape::keyed_item:
      if (header.extras_size != 4) return "binary get reply without 4 bytes of flags";
      if (header.key_size == 0) return "binary getk reply without a key";
      return {};
    case Shape::empty:
      if (header.body_size != 0) return "binary reply with an unexpected body";
      return {};
    case Shape::touch:
      if ((header.extras_size != 0 && header.extras_size != 4) || header.key_size != 0 ||
          value_size != 0) {
        return "binary touch reply with a key, a value or extras other than flags";
      }
      return {};
    case Shape::number:
      if (header.extras_size != 0 || header.key_size != 0 || value_size != 8) {
        return "binary incr/decr reply whose value is not 8 bytes";
      }
      return {};
    case Shape::text:
      if (header.extras_size != 0 || header.key_size != 0) {
        return "binary reply with unexpected extras or key";
      }
      return {};
    case Shape::statistic:
      if (header.extras_size != 0) return "binary stat reply with extras";
      if (header.key_size == 0 && value_size != 0) return "binary stat reply without a name";
      return {};
  }
  return {};
}

}  // namespace

ParseResult parse_binary_reply(std::string_view input, std::size_t max_value_size,
                               Reply& reply) noexcept {
  if (input.size() < kBinaryHeaderSize) {
    // A wrong magic is known from the first byte.
    if (!input.empty() && static_cast<std::uint8_t>(input[0]) != kBinaryResponseMagic) {
      return ParseResult::malformed("binary reply does not start with magic 0x81");
    }
    return ParseResult::need_more();
  }
  const BinaryHeader header = decode_binary_header(input);
  if (header.magic != kBinaryResponseMagic) {
    return ParseResult::malformed("binary reply does not start with magic 0x81");
  }
  if (!is_known_opcode(header.opcode)) return ParseResult::malformed("binary reply opcode unknown");
  if (header.data_type != 0) return ParseResult::malformed("binary reply data type is not raw");
  const std::size_t fixed_size = std::size_t{header.extras_size} + header.key_size;
  if (fixed_size > header.body_size) {
    return ParseResult::malformed("binary reply extras and key longer than its body");
  }
  if (header.key_size > kMaxKeySize) return ParseResult::malformed("binary reply key too long");
  const std::size_t value_size = header.body_size - fixed_size;
  if (value_size > max_value_size) {
    return ParseResult::malformed("binary reply value above max_value_size");
  }
  const auto opcode = static_cast<BinaryOpcode>(header.opcode);
  const auto status = static_cast<BinaryStatus>(header.status);
  const Outcome success = success_of(opcode);
  if (status == BinaryStatus::no_error) {
    const std::string_view problem = shape_problem(success.shape, header, value_size);
    if (!problem.empty()) return ParseResult::malformed(problem);
  } else if (header.extras_size != 0) {
    return ParseResult::malformed("binary error reply with extras");
  }

  const std::size_t total = kBinaryHeaderSize + header.body_size;
  const std::size_t value_at = kBinaryHeaderSize + fixed_size;
  const bool complete = input.size() >= total;
  if (!complete && !(status == BinaryStatus::no_error && is_get_family(success.shape) &&
                     input.size() >= value_at)) {
    return ParseResult::need_more(total);
  }
  reply = Reply{};
  reply.binary_opcode = header.opcode;
  reply.binary_status = header.status;
  reply.binary_opaque = header.opaque;
  const std::string_view key =
      input.substr(kBinaryHeaderSize + header.extras_size, header.key_size);
  if (status != BinaryStatus::no_error) {
    // memcached 1.6.18 answers a getk or gatk miss with the key and no message.
    reply.status = failure_status(status, is_get_family(success.shape));
    reply.key = key;
    reply.data = input.substr(value_at, value_size);
    return ParseResult::complete(total);
  }
  reply.status = success.status;
  switch (success.shape) {
    case Shape::item:
    case Shape::keyed_item:
      reply.flags = static_cast<std::uint32_t>(read_big_endian(input.substr(kBinaryHeaderSize), 4));
      reply.key = key;
      reply.cas = header.cas;
      reply.has_cas = true;
      if (!complete) return ParseResult::need_more(total);
      break;
    case Shape::empty:
      // A store's reply carries the item's new cas; other replies' cas
      // fields mean nothing to the caller.
      if (reply.status == ReplyStatus::stored) {
        reply.cas = header.cas;
        reply.has_cas = true;
      }
      break;
    case Shape::touch: break;  // the flags are not part of touch's result
    case Shape::number: reply.number = read_big_endian(input.substr(value_at), 8); break;
    case Shape::text: break;
    case Shape::statistic:
      if (key.empty()) reply.status = ReplyStatus::end;
      reply.key = key;
      break;
  }
  reply.data = input.substr(value_at, value_size);
  return ParseResult::complete(total);
}

}  // namespace fastmc::protocol
