// SPDX-License-Identifier: MIT
#include "value/flags_scheme.hpp"

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

}  // namespace fastmc::value
