// SPDX-License-Identifier: MIT
// The stable digest that stands in for a key too long to send, when
// ClientOptions::digest_long_keys is on (client layer).
//
// "sha256:" followed by the 64 lowercase hex digits of SHA-256(key): 71
// bytes, a valid text key, and a function of the key's bytes alone, so it is
// the same in every run, on every machine and platform, and for any client
// that applies the same rule. SHA-256 comes from OpenSSL's EVP interface.
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace fastmc::detail {

inline constexpr std::size_t kKeyDigestSize = 71;

// Writes the digest of `key` into `out` (replacing its contents).
void digest_key(std::string_view key, std::string& out);

}  // namespace fastmc::detail
