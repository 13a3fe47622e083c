// SPDX-License-Identifier: MIT
// How a value's type is recorded in the item's client flags (value layer).
//
// The native scheme uses the bits of the python-memcached / pylibmc /
// pymemcache family (0 bytes, 16 UTF-8 text, 4 integer, and 2 read as an
// integer), so those clients read what fastmc writes. A bool is written as
// 2 | 256: the family reads it as the integer 0 or 1 (pylibmc writes bools
// with flag 2 itself), and the 256 bit, unused by every peer, lets fastmc give
// back a bool. The peers' own schemes are data beside this one (FlagsScheme,
// one per Peer) for the compat modules, with decode_kind deciding a kind from
// flags exactly as each peer does (peers.md 2.1; checked against the peers'
// own golden vectors in tests/data/values). Pure; safe from any thread; the
// schemes are constants with static storage.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace fastmc::value {

enum class ValueKind : std::uint8_t {
  bytes,    // stored as is
  text,     // UTF-8
  integer,  // ASCII decimal, possibly negative
  boolean,  // "1" or "0"
};

struct NativeFlags {
  static constexpr std::uint32_t kBytes = 0;
  static constexpr std::uint32_t kInteger = 4;  // pylibmc's LONG; python-memcached reads it too
  static constexpr std::uint32_t kLegacyInteger =
      2;  // pymemcache and python-memcached write ints so
  static constexpr std::uint32_t kText = 16;
  static constexpr std::uint32_t kBoolean = 2 | 256;
};

// The flags the native scheme writes for a kind.
std::uint32_t native_flags_for(ValueKind kind) noexcept;

// The kind the native scheme reads from `flags`; nullopt when the flags are
// not one of its kinds (a serde's, or another client's), which the caller
// hands to its serde or reports.
std::optional<ValueKind> native_kind_of(std::uint32_t flags) noexcept;

// The clients whose flags layouts fastmc reproduces.
enum class Peer : std::uint8_t {
  native,              // fastmc's own scheme (NativeFlags)
  pylibmc,             // pylibmc 1.6 (src/_pylibmcmodule.h)
  python_memcached,    // python-memcached 1.62 (memcache.py)
  pymemcache,          // pymemcache 4.0 with serde.pickle_serde (python_memcache_serializer)
  pymemcache_default,  // pymemcache 4.0 without a serde: str(value) encoded, flags always 0
  libmc,               // libmc 1.4 (libmc/_client.pyx)
};

// What the bytes of a stored value hold, across every peer's scheme.
enum class StoredKind : std::uint8_t {
  bytes,         // as is
  text,          // UTF-8
  integer,       // ASCII decimal (the family's INTEGER bit, 2)
  long_integer,  // ASCII decimal (the LONG bit, 4)
  boolean,       // "1" or "0"
  pickle,        // a Python pickle
  marshal,       // a Python marshal dump (libmc only)
};

// The Python types a peer tells apart when it writes.
enum class PythonType : std::uint8_t {
  bytes,
  str,
  integer,  // int, however large
  boolean,
  floating_point,
  other,  // list, dict, any other object
};

// How a reader turns flags into a kind once the compressed bit is removed.
enum class DecodeRule : std::uint8_t {
  native,        // native_kind_of
  exact_type,    // flags & type_mask must equal one kind's bit; else unknown (pylibmc's switch)
  first_match,   // the first kind in `order` whose bit is set wins (python-memcached, pymemcache,
                 // libmc)
  always_bytes,  // every value is bytes (pymemcache without a serde)
};

// A peer's flags layout as data. A bit of 0 means the peer has no such kind;
// bytes is always "no bits".
struct FlagsScheme {
  Peer peer = Peer::native;
  std::uint32_t text = 0;
  std::uint32_t integer = 0;
  std::uint32_t long_integer = 0;
  std::uint32_t boolean = 0;
  std::uint32_t pickle = 0;
  std::uint32_t marshal = 0;
  std::uint32_t compressed = 0;  // zlib; removed before the kind is decided
  std::uint32_t chunked = 0;     // libmc's index of a split value (value_splitter.hpp)
  // The kind written for each PythonType, indexed by it.
  std::array<StoredKind, 6> writes{};
  DecodeRule rule = DecodeRule::native;
  // Bits the reader looks at; the others are ignored (pylibmc masks 1|2|4|16).
  std::uint32_t type_mask = 0xFFFFFFFFu;
  // Kinds in the order first_match tries them; `order_count` of them are used.
  std::array<StoredKind, 6> order{};
  std::size_t order_count = 0;
  // With first_match: flags that match no kind are bytes (pymemcache, libmc)
  // rather than unknown (python-memcached raises ValueError).
  bool unknown_is_bytes = false;
  // A compressed value that does not inflate reads as None (libmc) rather
  // than as an error (the others).
  bool inflate_failure_reads_none = false;
  // A pickle that does not load reads as None (pymemcache's
  // python_memcache_deserializer) rather than raising.
  bool unpickle_failure_reads_none = false;
};

// The scheme of `peer`.
const FlagsScheme& flags_scheme(Peer peer) noexcept;

// The flags `scheme` writes for `kind`, without the compressed bit; 0 for
// bytes and for a kind the peer never writes.
std::uint32_t flags_for(const FlagsScheme& scheme, StoredKind kind) noexcept;

// The kind `scheme`'s peer writes for a value of Python type `type`.
StoredKind kind_written(const FlagsScheme& scheme, PythonType type) noexcept;

// What a reader decides from an item's flags.
struct DecodedFlags {
  std::optional<StoredKind> kind;  // nullopt: unknown flags, the peer raises
  bool compressed = false;         // inflate the value before reading it as `kind`
  bool chunked = false;            // the value is a chunk count (libmc do_split)
};

// How `scheme`'s peer reads an item with `flags`: the compressed bit first
// (and libmc's chunked bit before it), then the kind by the scheme's rule.
// Unknown flags are, e.g., pylibmc's mixed type bits (3: "unknown memcached
// key flags") or python-memcached's bits it has no kind for (32).
DecodedFlags decode_kind(const FlagsScheme& scheme, std::uint32_t flags) noexcept;

}  // namespace fastmc::value
