// SPDX-License-Identifier: MIT
// Base64 for binary keys in the meta protocol (protocol layer).
//
// A key sent with the meta `b` flag is base64-encoded on the wire; memcached
// decodes it before the lookup and sends such a key back encoded (the `k`
// return flag, marked with `b`). RFC 4648 section 4: the standard alphabet
// ("+/"), padded with "=" to a multiple of 4 characters, which is what
// memcached 1.6.18 accepts (it refuses an unpadded key). Pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace fastmc::protocol {

// The encoded size of `size` bytes: 4 characters per started 3 bytes.
constexpr std::size_t base64_encoded_size(std::size_t size) noexcept { return (size + 2) / 3 * 4; }

// Writes the encoding of `bytes` at `out`, which has room for
// base64_encoded_size(bytes.size()) characters; returns how many were written.
std::size_t encode_base64(std::string_view bytes, char* out) noexcept;

// Decodes `text` into `out`, which has room for text.size() / 4 * 3 bytes,
// and sets `size` to the decoded size. True iff `text` is canonical base64:
// a multiple of 4 characters of the standard alphabet, "=" only as one or
// two final padding characters, and the unused bits before the padding zero
// (so each byte string has exactly one accepted encoding, the one
// encode_base64 writes). On false, `out` and `size` are unspecified.
bool decode_base64(std::string_view text, char* out, std::size_t& size) noexcept;

}  // namespace fastmc::protocol
