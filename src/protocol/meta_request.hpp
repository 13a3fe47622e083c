// SPDX-License-Identifier: MIT
// Meta-protocol request encoders (protocol layer): each appends one complete
// request to a RequestBuffer. Grammar, flags and limits: docs/protocol.md,
// section "Meta".
//
// A request is described by an options struct whose fields name the meta
// flags to send; a field left at its default sends nothing. (Every field has
// an initialiser so designated initialisers may name any subset of them.) Keys are either
// text keys, sent as given, or binary keys (`binary_key`), which the encoder
// sends base64-encoded with the `b` flag.
//
// Requires, for every function: a text key passed check_text_key, a binary
// key passed check_binary_key, and a non-empty opaque passed
// is_valid_opaque. The encoders never validate (debug builds assert); the
// checks run once, before anything is appended, so a bad key or opaque never
// leaves half a batch in the buffer and never reaches the wire.
// Pure functions; thread-safety is the buffer's. Values of
// RequestBuffer::kBorrowThreshold bytes or more are borrowed, not copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "protocol/key.hpp"
#include "protocol/request_buffer.hpp"

namespace fastmc::protocol {

// The longest binary key: its base64 form (4 characters per 3 bytes) must
// fit memcached's 250-byte key token, and 186 bytes encode to 248.
inline constexpr std::size_t kMaxBinaryKeySize = 186;

// The longest opaque token. protocol.txt says "up to 32 bytes", but memcached
// (1.6.18 and its newer parser alike) counts the `O` in the 32 and answers
// "CLIENT_ERROR opaque token too long" to a 32-byte opaque.
inline constexpr std::size_t kMaxOpaqueSize = 31;

// Valid iff 1 to kMaxBinaryKeySize bytes; any byte may appear. Reports
// KeyProblem::empty or KeyProblem::too_long (whose describe() text names the
// text limit of 250 bytes; the binary limit is kMaxBinaryKeySize).
KeyCheck check_binary_key(std::string_view key) noexcept;

// True iff 1 to kMaxOpaqueSize bytes, each printable ASCII (0x21 to 0x7e):
// the opaque is a token on the request line, so it must not hold a space or
// control byte, and it is echoed back verbatim.
bool is_valid_opaque(std::string_view opaque) noexcept;

// mg: the generic retrieval (get, gets, touch, gat, gats in one).
struct MetaGetOptions {
  bool return_value = false;        // v: a hit answers VA with the value; otherwise HD
  bool return_flags = false;        // f: the client flags
  bool return_cas = false;          // c: the cas
  bool return_ttl = false;          // t: seconds until expiry, -1 for never
  bool return_size = false;         // s: the value's size in bytes
  bool return_key = false;          // k: the key (base64 with `b` for a binary key)
  bool return_hit_before = false;   // h: fetched before this request, 0 or 1
  bool return_last_access = false;  // l: seconds since the last access before this request
  bool no_bump = false;             // u: leave the LRU position, hit and access time alone
  bool quiet = false;               // q: no EN on a miss (a hit is still answered)
  bool binary_key = false;          // b: the key is raw bytes, sent base64-encoded
  std::string_view opaque = {};     // O: echoed in the reply; empty sends none
  std::optional<std::int64_t> update_ttl = {};  // T: on a hit, the new ttl (touch, gat)
  // N: on a miss, create an empty item with this ttl; the reply then carries
  // W (this client won the right to fill it), later ones Z.
  std::optional<std::int64_t> vivify_ttl = {};
  // R: if the item's remaining ttl is below this, win the recache (W).
  std::optional<std::int64_t> recache_ttl = {};
  // E: the cas to give the item if the request modifies it. Not accepted by
  // memcached 1.6.18 ("CLIENT_ERROR invalid flag").
  std::optional<std::uint64_t> new_cas = {};
};

// The M token of ms. Sent as S, E, R, A, P; `set` is the default and is not sent.
enum class MetaSetMode : std::uint8_t { set, add, replace, append, prepend };

// ms: the generic store (set, add, replace, append, prepend, cas in one).
struct MetaSetOptions {
  MetaSetMode mode = MetaSetMode::set;  // M
  std::uint32_t flags = 0;              // F: client flags; 0 (the server's default) is not sent
  std::int64_t ttl = 0;                 // T: 0 = never expires (the default, not sent)
  std::optional<std::uint64_t> compare_cas = {};  // C: store only if the item's cas is this one
  // I: with compare_cas, a cas older than the item's is accepted too, and the
  // item is stored marked stale (mg then returns X).
  bool invalidate = false;
  // E: the cas to give the stored item. Not accepted by memcached 1.6.18.
  std::optional<std::uint64_t> new_cas = {};
  // N: in append or prepend mode, create a missing item with this ttl.
  // memcached 1.6.18 ignores it (the append answers NS).
  std::optional<std::int64_t> vivify_ttl = {};
  bool return_cas = false;       // c: the stored item's cas
  bool return_key = false;       // k
  bool return_size = false;      // s: the stored size (newer servers; 1.6.18 ignores it)
  bool quiet = false;            // q: no HD on success; NS, EX, NF and errors still come
  bool binary_key = false;       // b
  std::string_view opaque = {};  // O
};

// md: delete, or mark stale.
struct MetaDeleteOptions {
  std::optional<std::uint64_t> compare_cas = {};  // C: act only if the item's cas is this one
  bool invalidate = false;  // I: instead of removing, mark stale and give a new cas
  std::optional<std::int64_t> update_ttl = {};  // T: with invalidate only, the stale item's ttl
  // x: drop the value but keep the item. Not accepted by memcached 1.6.18.
  bool remove_value = false;
  // E: the cas to give the item if invalidated. Not accepted by memcached 1.6.18.
  std::optional<std::uint64_t> new_cas = {};
  bool return_key = false;       // k
  bool quiet = false;            // q: no HD on success; NF, EX and errors still come (1.6.18)
  bool binary_key = false;       // b
  std::string_view opaque = {};  // O
};

// The M token of ma. Sent as D for decr; `incr` is the default and is not sent.
enum class MetaArithmeticMode : std::uint8_t { incr, decr };

// ma: incr and decr on a decimal value, with auto-create.
struct MetaArithmeticOptions {
  MetaArithmeticMode mode = MetaArithmeticMode::incr;  // M
  std::uint64_t delta = 1;                             // D; 1 (the server's default) is not sent
  std::optional<std::int64_t> vivify_ttl = {};         // N: create a missing item with this ttl
  // J: the created item's value; sent only with vivify_ttl and when non-zero
  // (0 is the server's default).
  std::uint64_t initial = 0;
  std::optional<std::int64_t> update_ttl = {};    // T: on success, the new ttl
  std::optional<std::uint64_t> compare_cas = {};  // C
  std::optional<std::uint64_t> new_cas = {};      // E: not accepted by memcached 1.6.18
  bool return_value = false;  // v: answer VA with the new value in decimal; otherwise HD
  bool return_ttl = false;    // t
  bool return_cas = false;    // c
  bool return_key = false;    // k
  bool quiet = false;  // q: no HD, nor VA, on success; NF, NS, EX and errors still come (1.6.18)
  bool binary_key = false;       // b
  std::string_view opaque = {};  // O
};

// "mg <key> <flags>*"
void append_meta_get_request(RequestBuffer& out, std::string_view key,
                             const MetaGetOptions& options);
// "ms <key> <size> <flags>*\r\n<value>\r\n"; the size is the value's own.
void append_meta_set_request(RequestBuffer& out, std::string_view key, std::string_view value,
                             const MetaSetOptions& options);
// "md <key> <flags>*"
void append_meta_delete_request(RequestBuffer& out, std::string_view key,
                                const MetaDeleteOptions& options);
// "ma <key> <flags>*"
void append_meta_arithmetic_request(RequestBuffer& out, std::string_view key,
                                    const MetaArithmeticOptions& options);
// "mn": answered by MN once every earlier request on the connection has been
// answered; it ends a quiet pipeline.
void append_meta_noop_request(RequestBuffer& out);
// Its bytes, for a connection that puts them ahead of requests already appended.
inline constexpr std::string_view kMetaNoopRequest = "mn\r\n";
// "me <key> [b]": the item's metadata as "ME <key> <name>=<value>*", or EN.
void append_meta_debug_request(RequestBuffer& out, std::string_view key, bool binary_key);

}  // namespace fastmc::protocol
