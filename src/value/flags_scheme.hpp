// SPDX-License-Identifier: MIT
// How a value's type is recorded in the item's client flags (value layer).
//
// The native scheme uses the bits of the python-memcached / pylibmc /
// pymemcache family (0 bytes, 16 UTF-8 text, 4 integer, and 2 read as an
// integer), so those clients read what fastmc writes. A bool is written as
// 2 | 256: the family reads it as the integer 0 or 1 (pylibmc writes bools
// with flag 2 itself), and the 256 bit, unused by every peer, lets fastmc give
// back a bool. The peers' own schemes are added beside this one for the
// compat modules. Pure; safe from any thread.
#pragma once

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

}  // namespace fastmc::value
