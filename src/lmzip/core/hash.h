// Content hashes: SHA-256 (and SHA-1 where a reference pipeline uses it) for identities that users compare across tools (corpus files, manifests),
// and a fast 64-bit hash (XXH64) for checksums and fingerprints inside lmzip.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmzip {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t size);
  void update(std::string_view s) { update(s.data(), s.size()); }
  std::array<uint8_t, 32> digest();  // finishes; the object must not be updated afterwards
  std::string hex_digest();

 private:
  void compress(const uint8_t* block);
  uint32_t state_[8];
  uint64_t total_bytes_ = 0;
  uint8_t buffer_[64];
  size_t buffer_used_ = 0;
};

std::string sha256_hex(std::string_view data);

// SHA-1 (FIPS 180-4) of a buffer: only where a published pipeline defines its identities by it (CCNet's
// paragraph hashes), never as a security measure. Best: the x86 SHA extensions where the build has them, else
// the portable code; Portable: always the portable code (the tests check both).
enum class Sha1Kernel { Best, Portable };
std::array<uint8_t, 20> sha1(std::string_view data, Sha1Kernel kernel = Sha1Kernel::Best);

// XXH64 of a buffer (seed 0 by default), as the reference xxHash library computes it.
uint64_t xxh64(const void* data, size_t size, uint64_t seed = 0);

std::string hex_u64(uint64_t value);  // 16 lowercase hex digits

}  // namespace lmzip
