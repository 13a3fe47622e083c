// SPDX-License-Identifier: MIT
#include "value/flags_scheme.hpp"

#include <cstddef>

namespace fastmc::value {

std::uint32_t native_flags_for(ValueKind kind) noexcept {
  switch (kind) {
    case ValueKind::bytes: return NativeFlags::kBytes;
    case ValueKind::text: return NativeFlags::kText;
    case ValueKind::integer: return NativeFlags::kInteger;
    case ValueKind::boolean: return NativeFlags::kBoolean;
  }
  return NativeFlags::kBytes;
}

std::optional<ValueKind> native_kind_of(std::uint32_t flags) noexcept {
  switch (flags) {
    case NativeFlags::kBytes: return ValueKind::bytes;
    case NativeFlags::kText: return ValueKind::text;
    case NativeFlags::kInteger:
    case NativeFlags::kLegacyInteger: return ValueKind::integer;
    case NativeFlags::kBoolean: return ValueKind::boolean;
    default: return std::nullopt;
  }
}

namespace {

using K = StoredKind;

// Writes are indexed by PythonType: bytes, str, integer, boolean,
// floating_point, other.

// fastmc: NativeFlags; pickle only through an opt-in serde, with the
// family's bit.
constexpr FlagsScheme kNative{
    .peer = Peer::native,
    .text = NativeFlags::kText,
    .integer = NativeFlags::kLegacyInteger,
    .long_integer = NativeFlags::kInteger,
    .boolean = NativeFlags::kBoolean,
    .pickle = 1,
    .writes = {K::bytes, K::text, K::long_integer, K::boolean, K::pickle, K::pickle},
    .rule = DecodeRule::native,
};

// pylibmc 1.6 (_pylibmcmodule.h/.c): NONE 0, PICKLE 1, INTEGER 2, LONG 4,
// ZLIB 8, TEXT 16. It writes int as LONG and bool as INTEGER ("1"/"0", read
// back as int). Reading, it inflates on ZLIB, then switches on
// flags & (1|2|4|16): any other combination (3, 5, 17) raises "unknown
// memcached key flags", and bits outside the mask (libmc's marshal 32,
// libmc's chunk index 4096) are ignored.
constexpr FlagsScheme kPylibmc{
    .peer = Peer::pylibmc,
    .text = 16,
    .integer = 2,
    .long_integer = 4,
    .pickle = 1,
    .compressed = 8,
    .writes = {K::bytes, K::text, K::long_integer, K::integer, K::pickle, K::pickle},
    .rule = DecodeRule::exact_type,
    .type_mask = 1 | 2 | 4 | 16,
};

// python-memcached 1.62 (memcache.py _val_to_store_info, _recv_value): bytes
// 0, str TEXT 16, int INTEGER 2 (bool is pickled: the type is checked
// exactly), others PICKLE 1, COMPRESSED 8. Reading, it strips COMPRESSED,
// then flags == 0 is bytes, then TEXT, INTEGER, LONG, PICKLE in that order;
// anything else raises ValueError("Unknown flags on get").
constexpr FlagsScheme kPythonMemcached{
    .peer = Peer::python_memcached,
    .text = 16,
    .integer = 2,
    .long_integer = 4,
    .pickle = 1,
    .compressed = 8,
    .writes = {K::bytes, K::text, K::integer, K::pickle, K::pickle, K::pickle},
    .rule = DecodeRule::first_match,
    .order = {K::text, K::integer, K::long_integer, K::pickle},
    .order_count = 4,
};

// pymemcache 4.0 serde.py python_memcache_serializer/deserializer (what
// pickle_serde uses), and CompressedSerde's FLAG_COMPRESSED 8. Same bits and
// order as python-memcached, but flags that match nothing give the bytes
// back instead of raising. CompressedSerde does not strip its bit before the
// inner deserializer, which is the same thing: 8 alone matches nothing.
constexpr FlagsScheme kPymemcache{
    .peer = Peer::pymemcache,
    .text = 16,
    .integer = 2,
    .long_integer = 4,
    .pickle = 1,
    .compressed = 8,
    .writes = {K::bytes, K::text, K::integer, K::pickle, K::pickle, K::pickle},
    .rule = DecodeRule::first_match,
    .order = {K::text, K::integer, K::long_integer, K::pickle},
    .order_count = 4,
    .unknown_is_bytes = true,
    .unpickle_failure_reads_none = true,
};

// pymemcache 4.0 Client without a serde: str(value).encode(encoding), flags
// 0, for every type; reads give bytes whatever the flags.
constexpr FlagsScheme kPymemcacheDefault{
    .peer = Peer::pymemcache_default,
    .writes = {K::bytes, K::bytes, K::bytes, K::bytes, K::bytes, K::bytes},
    .rule = DecodeRule::always_bytes,
};

// libmc 1.4 (_client.pyx): EMPTY 0, PICKLE 1, INTEGER 2 (read only), LONG 4,
// BOOL 8, COMPRESS 16, MARSHAL 32, DOUBAN_CHUNKED 4096. It writes bytes as
// is, bool as BOOL, int as LONG and everything else through marshal (pickle
// only when marshal refuses). Reading, COMPRESS is checked first (a failed
// inflate gives None), then BOOL, INTEGER, LONG, MARSHAL, PICKLE; other
// flags give the bytes back.
constexpr FlagsScheme kLibmc{
    .peer = Peer::libmc,
    .integer = 2,
    .long_integer = 4,
    .boolean = 8,
    .pickle = 1,
    .marshal = 32,
    .compressed = 16,
    .chunked = 4096,
    .writes = {K::bytes, K::marshal, K::long_integer, K::boolean, K::marshal, K::marshal},
    .rule = DecodeRule::first_match,
    .order = {K::boolean, K::integer, K::long_integer, K::marshal, K::pickle},
    .order_count = 5,
    .unknown_is_bytes = true,
    .inflate_failure_reads_none = true,
};

StoredKind stored_kind_of(ValueKind kind) noexcept {
  switch (kind) {
    case ValueKind::bytes: return StoredKind::bytes;
    case ValueKind::text: return StoredKind::text;
    case ValueKind::integer: return StoredKind::long_integer;
    case ValueKind::boolean: return StoredKind::boolean;
  }
  return StoredKind::bytes;
}

}  // namespace

const FlagsScheme& flags_scheme(Peer peer) noexcept {
  switch (peer) {
    case Peer::native: return kNative;
    case Peer::pylibmc: return kPylibmc;
    case Peer::python_memcached: return kPythonMemcached;
    case Peer::pymemcache: return kPymemcache;
    case Peer::pymemcache_default: return kPymemcacheDefault;
    case Peer::libmc: return kLibmc;
  }
  return kNative;
}

std::uint32_t flags_for(const FlagsScheme& scheme, StoredKind kind) noexcept {
  switch (kind) {
    case StoredKind::bytes: return 0;
    case StoredKind::text: return scheme.text;
    case StoredKind::integer: return scheme.integer;
    case StoredKind::long_integer: return scheme.long_integer;
    case StoredKind::boolean: return scheme.boolean;
    case StoredKind::pickle: return scheme.pickle;
    case StoredKind::marshal: return scheme.marshal;
  }
  return 0;
}

StoredKind kind_written(const FlagsScheme& scheme, PythonType type) noexcept {
  return scheme.writes[static_cast<std::size_t>(type)];
}

DecodedFlags decode_kind(const FlagsScheme& scheme, std::uint32_t flags) noexcept {
  DecodedFlags decoded;
  if (scheme.rule == DecodeRule::always_bytes) {
    decoded.kind = StoredKind::bytes;
    return decoded;
  }
  // libmc looks for its chunk index before decoding; the index carries the
  // whole value's flags plus this bit.
  if (scheme.chunked != 0 && (flags & scheme.chunked) != 0) {
    decoded.chunked = true;
    flags &= ~scheme.chunked;
  }
  if (scheme.compressed != 0 && (flags & scheme.compressed) != 0) {
    decoded.compressed = true;
    flags &= ~scheme.compressed;
  }
  switch (scheme.rule) {
    case DecodeRule::native: {
      const std::optional<ValueKind> kind = native_kind_of(flags);
      if (kind) decoded.kind = stored_kind_of(*kind);
      return decoded;
    }
    case DecodeRule::exact_type: {
      const std::uint32_t type_bits = flags & scheme.type_mask;
      if (type_bits == 0) {
        decoded.kind = StoredKind::bytes;
        return decoded;
      }
      for (const StoredKind kind :
           {K::text, K::integer, K::long_integer, K::boolean, K::pickle, K::marshal}) {
        if (flags_for(scheme, kind) == type_bits) {
          decoded.kind = kind;
          return decoded;
        }
      }
      return decoded;
    }
    case DecodeRule::first_match: {
      if (flags == 0) {
        decoded.kind = StoredKind::bytes;
        return decoded;
      }
      for (std::size_t index = 0; index < scheme.order_count; ++index) {
        const StoredKind kind = scheme.order[index];
        if ((flags & flags_for(scheme, kind)) != 0) {
          decoded.kind = kind;
          return decoded;
        }
      }
      if (scheme.unknown_is_bytes) decoded.kind = StoredKind::bytes;
      return decoded;
    }
    case DecodeRule::always_bytes: break;
  }
  decoded.kind = StoredKind::bytes;
  return decoded;
}

}  // namespace fastmc::value
