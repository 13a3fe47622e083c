// SPDX-License-Identifier: MIT
#include "routing/key_hash.hpp"

#include <cstddef>
#include <cstring>

#include <openssl/evp.h>
#include <zlib.h>

namespace fastmc::routing {
namespace {

// libhashkit reads keys through `const char*` and converts each char straight
// to an unsigned integer; where char is signed (x86, x86-64) that sign-extends
// bytes >= 0x80. The functions that do so call this instead of reading the
// byte as unsigned.
constexpr std::uint32_t sign_extended(char c) noexcept {
  return static_cast<std::uint32_t>(static_cast<std::int32_t>(static_cast<signed char>(c)));
}

constexpr std::uint32_t unsigned_byte(char c) noexcept {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(c));
}

constexpr std::uint32_t rotate_left(std::uint32_t value, int bits) noexcept {
  return (value << bits) | (value >> (32 - bits));
}

// Little-endian 32-bit load, as the peers do on the little-endian machines
// they are deployed on.
std::uint32_t load_little_endian(const char* bytes) noexcept {
  return unsigned_byte(bytes[0]) | (unsigned_byte(bytes[1]) << 8) |
         (unsigned_byte(bytes[2]) << 16) | (unsigned_byte(bytes[3]) << 24);
}

constexpr std::uint32_t kFnv32Offset = 2166136261u;
constexpr std::uint32_t kFnv32Prime = 16777619u;
constexpr std::uint64_t kFnv64Offset = 0xcbf29ce484222325u;
constexpr std::uint64_t kFnv64Prime = 0x100000001b3u;

// libhashkit fnv_32.cc: FNV over sign-extended chars.
std::uint32_t fnv1_32_signed(std::string_view key) noexcept {
  std::uint32_t hash = kFnv32Offset;
  for (const char c : key) {
    hash *= kFnv32Prime;
    hash ^= sign_extended(c);
  }
  return hash;
}

std::uint32_t fnv1a_32_signed(std::string_view key) noexcept {
  std::uint32_t hash = kFnv32Offset;
  for (const char c : key) {
    hash ^= sign_extended(c);
    hash *= kFnv32Prime;
  }
  return hash;
}

// libmc HashkitFnv.cpp: the same over unsigned bytes.
std::uint32_t fnv1_32_unsigned(std::string_view key) noexcept {
  std::uint32_t hash = kFnv32Offset;
  for (const char c : key) {
    hash *= kFnv32Prime;
    hash ^= unsigned_byte(c);
  }
  return hash;
}

std::uint32_t fnv1a_32_unsigned(std::string_view key) noexcept {
  std::uint32_t hash = kFnv32Offset;
  for (const char c : key) {
    hash ^= unsigned_byte(c);
    hash *= kFnv32Prime;
  }
  return hash;
}

// libhashkit fnv_64.cc: a true 64-bit FNV-1 whose result is truncated.
std::uint32_t fnv1_64(std::string_view key) noexcept {
  std::uint64_t hash = kFnv64Offset;
  for (const char c : key) {
    hash *= kFnv64Prime;
    hash ^= static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<signed char>(c)));
  }
  return static_cast<std::uint32_t>(hash);
}

// libhashkit's "fnv1a_64" keeps a 32-bit state and truncates both 64-bit
// constants to 32 bits (offset 0x84222325, prime 0x1b3): it is neither FNV-1a
// 64 nor FNV-1a 32, and must be reproduced as written.
std::uint32_t fnv1a_64(std::string_view key) noexcept {
  auto hash = static_cast<std::uint32_t>(kFnv64Offset);
  for (const char c : key) {
    hash ^= sign_extended(c);
    hash *= static_cast<std::uint32_t>(kFnv64Prime);
  }
  return hash;
}

// libhashkit crc32.cc: bits 16..30 of the CRC-32, as cmemcache did. Sign
// extension does not matter here: the table index keeps the low byte only.
std::uint32_t crc15(std::string_view key) noexcept { return (crc32_hash(key) >> 16) & 0x7fffu; }

// libhashkit hsieh.cc (SuperFastHash). Note the 3-byte tail: its third byte
// is read as a sign-extended char, unlike every other byte.
std::uint32_t hsieh(std::string_view key) noexcept {
  if (key.empty()) return 0;
  auto get16 = [](const char* bytes) noexcept {
    return unsigned_byte(bytes[0]) | (unsigned_byte(bytes[1]) << 8);
  };
  const char* data = key.data();
  std::uint32_t hash = 0;
  const std::size_t remainder = key.size() & 3;
  for (std::size_t blocks = key.size() >> 2; blocks > 0; --blocks) {
    hash += get16(data);
    const std::uint32_t mixed = (get16(data + 2) << 11) ^ hash;
    hash = (hash << 16) ^ mixed;
    data += 4;
    hash += hash >> 11;
  }
  switch (remainder) {
    case 3:
      hash += get16(data);
      hash ^= hash << 16;
      hash ^= sign_extended(data[2]) << 18;
      hash += hash >> 11;
      break;
    case 2:
      hash += get16(data);
      hash ^= hash << 11;
      hash += hash >> 17;
      break;
    case 1:
      hash += unsigned_byte(data[0]);
      hash ^= hash << 10;
      hash += hash >> 1;
      break;
    default: break;
  }
  hash ^= hash << 3;
  hash += hash >> 5;
  hash ^= hash << 4;
  hash += hash >> 17;
  hash ^= hash << 25;
  hash += hash >> 6;
  return hash;
}

// libhashkit murmur.cc: MurmurHash2 seeded with 0xdeadbeef * length.
std::uint32_t murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t kMultiplier = 0x5bd1e995u;
  constexpr int kShift = 24;
  const auto length = static_cast<std::uint32_t>(key.size());
  std::uint32_t hash = (0xdeadbeefu * length) ^ length;
  const char* data = key.data();
  std::size_t left = key.size();
  for (; left >= 4; left -= 4, data += 4) {
    std::uint32_t block = load_little_endian(data);
    block *= kMultiplier;
    block ^= block >> kShift;
    block *= kMultiplier;
    hash *= kMultiplier;
    hash ^= block;
  }
  switch (left) {
    case 3: hash ^= unsigned_byte(data[2]) << 16; [[fallthrough]];
    case 2: hash ^= unsigned_byte(data[1]) << 8; [[fallthrough]];
    case 1:
      hash ^= unsigned_byte(data[0]);
      hash *= kMultiplier;
      break;
    default: break;
  }
  hash ^= hash >> 13;
  hash *= kMultiplier;
  hash ^= hash >> 15;
  return hash;
}

// libhashkit jenkins.cc: lookup3's hashlittle with initval 13. libhashkit
// reads aligned keys a word at a time, which gives the same value as this
// byte-wise form.
std::uint32_t jenkins(std::string_view key) noexcept {
  std::uint32_t a = 0xdeadbeefu + static_cast<std::uint32_t>(key.size()) + 13u;
  std::uint32_t b = a;
  std::uint32_t c = a;
  auto mix = [&]() noexcept {
    a -= c;
    a ^= rotate_left(c, 4);
    c += b;
    b -= a;
    b ^= rotate_left(a, 6);
    a += c;
    c -= b;
    c ^= rotate_left(b, 8);
    b += a;
    a -= c;
    a ^= rotate_left(c, 16);
    c += b;
    b -= a;
    b ^= rotate_left(a, 19);
    a += c;
    c -= b;
    c ^= rotate_left(b, 4);
    b += a;
  };
  const char* data = key.data();
  std::size_t left = key.size();
  for (; left > 12; left -= 12, data += 12) {
    a += load_little_endian(data);
    b += load_little_endian(data + 4);
    c += load_little_endian(data + 8);
    mix();
  }
  if (left == 0) return c;
  // The last 1 to 12 bytes, zero-padded, go into a, b, c as little-endian words.
  std::array<char, 12> tail{};
  std::memcpy(tail.data(), data, left);
  a += load_little_endian(tail.data());
  b += load_little_endian(tail.data() + 4);
  c += load_little_endian(tail.data() + 8);
  c ^= b;
  c -= rotate_left(b, 14);
  a ^= c;
  a -= rotate_left(c, 11);
  b ^= a;
  b -= rotate_left(a, 25);
  c ^= b;
  c -= rotate_left(b, 16);
  a ^= c;
  a -= rotate_left(c, 4);
  b ^= a;
  b -= rotate_left(a, 14);
  c ^= b;
  c -= rotate_left(b, 24);
  return c;
}

// The MD5 algorithm, fetched once from OpenSSL's default library context.
// Never freed: it lives as long as the process.
const EVP_MD* md5_algorithm() noexcept {
  static const EVP_MD* const kAlgorithm = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return kAlgorithm;
}

// One digest context per thread, reused for every key: creating a context
// allocates, and routing hashes a key per operation.
class DigestContext {
 public:
  DigestContext() noexcept : context_(EVP_MD_CTX_new()) {}
  ~DigestContext() { EVP_MD_CTX_free(context_); }
  DigestContext(const DigestContext&) = delete;
  DigestContext& operator=(const DigestContext&) = delete;
  [[nodiscard]] EVP_MD_CTX* get() const noexcept { return context_; }

 private:
  EVP_MD_CTX* context_;
};

struct KeyHashName {
  KeyHash hash;
  std::string_view name;
};

constexpr std::array<KeyHashName, 15> kKeyHashNames = {{
    {KeyHash::one_at_a_time, "one_at_a_time"},
    {KeyHash::md5, "md5"},
    {KeyHash::crc, "crc"},
    {KeyHash::fnv1_64, "fnv1_64"},
    {KeyHash::fnv1a_64, "fnv1a_64"},
    {KeyHash::fnv1_32, "fnv1_32"},
    {KeyHash::fnv1a_32, "fnv1a_32"},
    {KeyHash::hsieh, "hsieh"},
    {KeyHash::murmur, "murmur"},
    {KeyHash::jenkins, "jenkins"},
    {KeyHash::murmur3, "murmur3"},
    {KeyHash::crc32, "crc32"},
    {KeyHash::libmc_fnv1_32, "libmc_fnv1_32"},
    {KeyHash::libmc_fnv1a_32, "libmc_fnv1a_32"},
    {KeyHash::murmur3_32, "murmur3_32"},
}};

}  // namespace

std::uint32_t one_at_a_time_hash(std::string_view key) noexcept {
  std::uint32_t hash = 0;
  for (const char c : key) {
    hash += sign_extended(c);
    hash += hash << 10;
    hash ^= hash >> 6;
  }
  hash += hash << 3;
  hash ^= hash >> 11;
  hash += hash << 15;
  return hash;
}

// zlib's CRC-32 (reflected, polynomial 0xEDB88320): the one libhashkit, libmc
// and Python's binascii.crc32 compute.
std::uint32_t crc32_hash(std::string_view key) noexcept {
  return static_cast<std::uint32_t>(
      ::crc32_z(0, reinterpret_cast<const Bytef*>(key.data()), key.size()));
}

std::uint32_t murmur3_x86_32(std::span<const std::string_view> parts, std::uint32_t seed) noexcept {
  constexpr std::uint32_t kC1 = 0xcc9e2d51u;
  constexpr std::uint32_t kC2 = 0x1b873593u;
  auto scramble = [](std::uint32_t k) noexcept {
    k *= kC1;
    k = rotate_left(k, 15);
    return k * kC2;
  };
  std::uint32_t hash = seed;
  std::size_t length = 0;
  // Bytes of a block that spans two parts wait here for the rest.
  std::array<char, 4> pending{};
  std::size_t pending_size = 0;
  for (const std::string_view part : parts) {
    length += part.size();
    for (const char c : part) {
      pending[pending_size++] = c;
      if (pending_size < 4) continue;
      hash ^= scramble(load_little_endian(pending.data()));
      hash = rotate_left(hash, 13);
      hash = hash * 5 + 0xe6546b64u;
      pending_size = 0;
    }
  }
  std::uint32_t tail = 0;
  switch (pending_size) {
    case 3: tail ^= unsigned_byte(pending[2]) << 16; [[fallthrough]];
    case 2: tail ^= unsigned_byte(pending[1]) << 8; [[fallthrough]];
    case 1:
      tail ^= unsigned_byte(pending[0]);
      hash ^= scramble(tail);
      break;
    default: break;
  }
  // MurmurHash3 mixes in the length as a 32-bit int.
  hash ^= static_cast<std::uint32_t>(length);
  hash ^= hash >> 16;
  hash *= 0x85ebca6bu;
  hash ^= hash >> 13;
  hash *= 0xc2b2ae35u;
  hash ^= hash >> 16;
  return hash;
}

std::uint32_t murmur3_x86_32(std::string_view key, std::uint32_t seed) noexcept {
  return murmur3_x86_32(std::span<const std::string_view>(&key, 1), seed);
}

bool md5_available() noexcept { return md5_algorithm() != nullptr; }

std::array<std::uint8_t, 16> md5_digest(std::string_view data) noexcept {
  std::array<std::uint8_t, 16> digest{};
  const EVP_MD* algorithm = md5_algorithm();
  thread_local const DigestContext kContext;
  if (algorithm == nullptr || kContext.get() == nullptr) return digest;
  unsigned int size = 0;
  if (EVP_DigestInit_ex2(kContext.get(), algorithm, nullptr) != 1 ||
      EVP_DigestUpdate(kContext.get(), data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(kContext.get(), digest.data(), &size) != 1 || size != digest.size()) {
    digest.fill(0);
  }
  return digest;
}

std::uint32_t md5_hash(std::string_view key) noexcept {
  const std::array<std::uint8_t, 16> digest = md5_digest(key);
  return static_cast<std::uint32_t>(digest[0]) | (static_cast<std::uint32_t>(digest[1]) << 8) |
         (static_cast<std::uint32_t>(digest[2]) << 16) |
         (static_cast<std::uint32_t>(digest[3]) << 24);
}

std::uint32_t hash_key(KeyHash hash, std::string_view key) noexcept {
  switch (hash) {
    case KeyHash::one_at_a_time: return one_at_a_time_hash(key);
    case KeyHash::md5: return md5_hash(key);
    case KeyHash::crc: return crc15(key);
    case KeyHash::fnv1_64: return fnv1_64(key);
    case KeyHash::fnv1a_64: return fnv1a_64(key);
    case KeyHash::fnv1_32: return fnv1_32_signed(key);
    case KeyHash::fnv1a_32: return fnv1a_32_signed(key);
    case KeyHash::hsieh: return hsieh(key);
    case KeyHash::murmur: return murmur2(key);
    case KeyHash::jenkins: return jenkins(key);
    // libhashkit murmur3_api.cc seeds MurmurHash3 with 0xdeadbeef * length.
    case KeyHash::murmur3:
      return murmur3_x86_32(key, 0xdeadbeefu * static_cast<std::uint32_t>(key.size()));
    case KeyHash::crc32: return crc32_hash(key);
    case KeyHash::libmc_fnv1_32: return fnv1_32_unsigned(key);
    case KeyHash::libmc_fnv1a_32: return fnv1a_32_unsigned(key);
    case KeyHash::murmur3_32: return murmur3_x86_32(key, 0);
  }
  return one_at_a_time_hash(key);
}

std::string_view key_hash_name(KeyHash hash) noexcept {
  for (const auto& entry : kKeyHashNames) {
    if (entry.hash == hash) return entry.name;
  }
  return "unknown";
}

std::optional<KeyHash> key_hash_from_name(std::string_view name) noexcept {
  for (const auto& entry : kKeyHashNames) {
    if (entry.name == name) return entry.hash;
  }
  return std::nullopt;
}

}  // namespace fastmc::routing
