// SPDX-License-Identifier: MIT
// Key hashes: the functions the peer clients use to turn a key into 32 bits
// before a distribution picks a server (routing layer). No I/O.
//
// Every function here reproduces one peer's function bit for bit, including
// its quirks; docs/routing.md lists them with the peer source each comes from,
// and tests/data/routing/key_hashes.csv holds the values the peers themselves
// produce. Where two peers share a function it is listed once:
//   libmc MC_HASH_MD5                      == KeyHash::md5
//   python-memcached cmemcache_hash        == KeyHash::crc
//   libmc MC_HASH_CRC_32 and python-memcached's binascii.crc32
//   (useOldServerHashFunction)            == KeyHash::crc32
//
// Pure functions; safe from any thread. MD5 comes from OpenSSL's EVP API.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fastmc::routing {

enum class KeyHash : std::uint8_t {
  // libmemcached's libhashkit (MEMCACHED_HASH_*). The byte-wise ones read the
  // key as `char`, which is signed on x86 and x86-64: bytes >= 0x80 are
  // sign-extended, as libmemcached does there (fnv1_32 and fnv1a_32 thus differ
  // from textbook FNV on non-ASCII keys).
  one_at_a_time,  // Bob Jenkins' one-at-a-time; MEMCACHED_HASH_DEFAULT
  md5,            // the first 4 MD5 digest bytes, little-endian (also libmc's MD5)
  crc,            // bits 16..30 of CRC-32: 15 bits (also python-memcached's cmemcache_hash)
  fnv1_64,        // FNV-1 64-bit, truncated to the low 32 bits
  fnv1a_64,       // libhashkit's "FNV-1a 64": FNV-1a with the 64-bit constants cut to 32 bits
  fnv1_32,        // FNV-1 32-bit over sign-extended bytes
  fnv1a_32,       // FNV-1a 32-bit over sign-extended bytes
  hsieh,          // Paul Hsieh's SuperFastHash as libhashkit has it (a build option there)
  murmur,         // MurmurHash2 with seed 0xdeadbeef * length
  jenkins,        // Bob Jenkins' lookup3 hashlittle with initval 13
  murmur3,        // MurmurHash3_x86_32 with seed 0xdeadbeef * length (libmemcached only)
  // Other peers.
  crc32,           // the full 32-bit CRC-32 (zlib's): libmc MC_HASH_CRC_32, binascii.crc32
  libmc_fnv1_32,   // libmc's FNV-1 32-bit over unsigned bytes (textbook FNV-1)
  libmc_fnv1a_32,  // libmc's FNV-1a 32-bit over unsigned bytes (textbook FNV-1a)
  murmur3_32,      // MurmurHash3_x86_32 with seed 0: pymemcache's murmur3_32
};

// The hash of `key` under `hash`.
std::uint32_t hash_key(KeyHash hash, std::string_view key) noexcept;

// A stable lower-case name ("one_at_a_time", "md5", "libmc_fnv1_32", ...), the
// enumerator's own spelling; used in logs and in the golden vector files.
std::string_view key_hash_name(KeyHash hash) noexcept;

// The KeyHash whose key_hash_name is `name`, or nullopt.
std::optional<KeyHash> key_hash_from_name(std::string_view name) noexcept;

// The individual algorithms, for the distributions that hash their own point
// strings. Each is what hash_key gives for the matching KeyHash.
std::uint32_t one_at_a_time_hash(std::string_view key) noexcept;
std::uint32_t md5_hash(std::string_view key) noexcept;
std::uint32_t crc32_hash(std::string_view key) noexcept;
std::uint32_t murmur3_x86_32(std::string_view key, std::uint32_t seed) noexcept;
// MurmurHash3_x86_32 of the concatenation of `parts`, without building it.
std::uint32_t murmur3_x86_32(std::span<const std::string_view> parts, std::uint32_t seed) noexcept;

// The 16-byte MD5 digest of `data`. Requires: md5_available() (otherwise the
// digest is all zeros).
std::array<std::uint8_t, 16> md5_digest(std::string_view data) noexcept;

// True iff OpenSSL can compute MD5 here (a FIPS-only configuration may refuse
// it). Routers that need MD5 check this when they are built.
bool md5_available() noexcept;

}  // namespace fastmc::routing
