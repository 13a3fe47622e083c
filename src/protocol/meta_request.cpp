// SPDX-License-Identifier: MIT
// Request grammar, flag meanings and the memcached behaviour behind each
// choice: docs/protocol.md, section "Meta".
//
// Flags go out in one fixed order per command: the key flag b, the
// modifiers, the return flags, then q and O. memcached acts on the flags in
// request order, so a return flag after a modifier reports the state after
// it: "mg k T100 t" returns t100, "mg k t T100" the ttl before the touch.
// It returns the requested values in request order too (not a strict
// promise, so the parser never relies on it).
#include "protocol/meta_request.hpp"

#include <array>
#include <cassert>

#include "protocol/base64.hpp"

namespace fastmc::protocol {
namespace {

constexpr std::string_view kLineEnd = "\r\n";

// The key token: as given, or base64-encoded for a binary key (whose `b`
// flag the caller appends among the flags: ms puts the size first).
void append_key(RequestBuffer& out, std::string_view key, bool binary_key) {
  out.append(' ');
  if (!binary_key) {
    assert(check_text_key(key));
    out.append(key);
    return;
  }
  assert(check_binary_key(key));
  std::array<char, base64_encoded_size(kMaxBinaryKeySize)> encoded;
  out.append(std::string_view(encoded.data(), encode_base64(key, encoded.data())));
}

// A flag without a token, sent iff `present`.
void append_bare_flag(RequestBuffer& out, char flag, bool present) {
  if (present) {
    out.append(' ');
    out.append(flag);
  }
}

void append_flag(RequestBuffer& out, char flag, std::uint64_t token) {
  out.append(' ');
  out.append(flag);
  out.append_decimal(token);
}

void append_flag(RequestBuffer& out, char flag, std::int64_t token) {
  out.append(' ');
  out.append(flag);
  out.append_signed_decimal(token);
}

template <class Number>
void append_flag(RequestBuffer& out, char flag, const std::optional<Number>& token) {
  if (token) {
    append_flag(out, flag, *token);
  }
}

// q and O close every line: the two flags the engine sets for a pipeline.
void end_line(RequestBuffer& out, bool quiet, std::string_view opaque) {
  append_bare_flag(out, 'q', quiet);
  if (!opaque.empty()) {
    assert(is_valid_opaque(opaque));
    out.append(" O");
    out.append(opaque);
  }
  out.append(kLineEnd);
}

char mode_token(MetaSetMode mode) noexcept {
  switch (mode) {
    case MetaSetMode::set: return 'S';
    case MetaSetMode::add: return 'E';
    case MetaSetMode::replace: return 'R';
    case MetaSetMode::append: return 'A';
    case MetaSetMode::prepend: return 'P';
  }
  return 'S';
}

}  // namespace

KeyCheck check_binary_key(std::string_view key) noexcept {
  if (key.empty()) {
    return {KeyProblem::empty, 0};
  }
  if (key.size() > kMaxBinaryKeySize) {
    return {KeyProblem::too_long, 0};
  }
  return {};
}

bool is_valid_opaque(std::string_view opaque) noexcept {
  if (opaque.empty() || opaque.size() > kMaxOpaqueSize) {
    return false;
  }
  for (const char c : opaque) {
    if (c < 0x21 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

void append_meta_get_request(RequestBuffer& out, std::string_view key,
                             const MetaGetOptions& options) {
  out.append("mg");
  append_key(out, key, options.binary_key);
  append_bare_flag(out, 'b', options.binary_key);
  append_bare_flag(out, 'u', options.no_bump);
  append_flag(out, 'T', options.update_ttl);
  append_flag(out, 'N', options.vivify_ttl);
  append_flag(out, 'R', options.recache_ttl);
  append_flag(out, 'E', options.new_cas);
  append_bare_flag(out, 'v', options.return_value);
  append_bare_flag(out, 'f', options.return_flags);
  append_bare_flag(out, 'c', options.return_cas);
  append_bare_flag(out, 't', options.return_ttl);
  append_bare_flag(out, 's', options.return_size);
  append_bare_flag(out, 'k', options.return_key);
  append_bare_flag(out, 'h', options.return_hit_before);
  append_bare_flag(out, 'l', options.return_last_access);
  end_line(out, options.quiet, options.opaque);
}

void append_meta_set_request(RequestBuffer& out, std::string_view key, std::string_view value,
                             const MetaSetOptions& options) {
  out.append("ms");
  append_key(out, key, options.binary_key);
  out.append(' ');
  out.append_decimal(value.size());
  append_bare_flag(out, 'b', options.binary_key);
  // The server's defaults (set mode, flags 0, ttl 0) cost no bytes.
  if (options.mode != MetaSetMode::set) {
    out.append(" M");
    out.append(mode_token(options.mode));
  }
  if (options.flags != 0) {
    append_flag(out, 'F', std::uint64_t{options.flags});
  }
  if (options.ttl != 0) {
    append_flag(out, 'T', options.ttl);
  }
  append_flag(out, 'C', options.compare_cas);
  append_bare_flag(out, 'I', options.invalidate);
  append_flag(out, 'E', options.new_cas);
  append_flag(out, 'N', options.vivify_ttl);
  append_bare_flag(out, 'c', options.return_cas);
  append_bare_flag(out, 'k', options.return_key);
  append_bare_flag(out, 's', options.return_size);
  end_line(out, options.quiet, options.opaque);
  out.append_value(value);
  out.append(kLineEnd);
}

void append_meta_delete_request(RequestBuffer& out, std::string_view key,
                                const MetaDeleteOptions& options) {
  out.append("md");
  append_key(out, key, options.binary_key);
  append_bare_flag(out, 'b', options.binary_key);
  append_flag(out, 'C', options.compare_cas);
  append_bare_flag(out, 'I', options.invalidate);
  append_flag(out, 'T', options.update_ttl);
  append_bare_flag(out, 'x', options.remove_value);
  append_flag(out, 'E', options.new_cas);
  append_bare_flag(out, 'k', options.return_key);
  end_line(out, options.quiet, options.opaque);
}

void append_meta_arithmetic_request(RequestBuffer& out, std::string_view key,
                                    const MetaArithmeticOptions& options) {
  out.append("ma");
  append_key(out, key, options.binary_key);
  append_bare_flag(out, 'b', options.binary_key);
  if (options.mode == MetaArithmeticMode::decr) {
    out.append(" MD");
  }
  if (options.delta != 1) {
    append_flag(out, 'D', options.delta);
  }
  append_flag(out, 'N', options.vivify_ttl);
  if (options.vivify_ttl && options.initial != 0) {
    append_flag(out, 'J', options.initial);
  }
  append_flag(out, 'T', options.update_ttl);
  append_flag(out, 'C', options.compare_cas);
  append_flag(out, 'E', options.new_cas);
  append_bare_flag(out, 'v', options.return_value);
  append_bare_flag(out, 't', options.return_ttl);
  append_bare_flag(out, 'c', options.return_cas);
  append_bare_flag(out, 'k', options.return_key);
  end_line(out, options.quiet, options.opaque);
}

void append_meta_noop_request(RequestBuffer& out) { out.append(kMetaNoopRequest); }

void append_meta_debug_request(RequestBuffer& out, std::string_view key, bool binary_key) {
  out.append("me");
  append_key(out, key, binary_key);
  append_bare_flag(out, 'b', binary_key);
  out.append(kLineEnd);
}

}  // namespace fastmc::protocol
