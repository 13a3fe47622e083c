// SPDX-License-Identifier: MIT
#include "key_digest.hpp"

#include <array>
#include <memory>
#include <stdexcept>

#include <openssl/evp.h>

namespace fastmc::detail {

void digest_key(std::string_view key, std::string& out) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  // EVP_Digest is one-shot: it allocates and frees its own context.
  if (EVP_Digest(key.data(), key.size(), digest.data(), &digest_size, EVP_sha256(), nullptr) != 1 ||
      digest_size != 32) {
    throw std::runtime_error("fastmc: OpenSSL's SHA-256 failed");
  }
  constexpr std::string_view kHex = "0123456789abcdef";
  out.assign("sha256:");
  for (unsigned int i = 0; i < digest_size; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 0x0f]);
  }
}

}  // namespace fastmc::detail
