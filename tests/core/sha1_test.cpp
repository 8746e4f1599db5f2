// SHA-1 against the FIPS 180-2 appendix vectors, the empty message and lengths around the padding boundary.
#include <gtest/gtest.h>

#include <string>

#include "lmzip/core/hash.h"

namespace lmzip {
namespace {

std::string hex(const std::array<uint8_t, 20>& d) {
  static const char* k = "0123456789abcdef";
  std::string s;
  for (uint8_t b : d) s += std::string{k[b >> 4], k[b & 15]};
  return s;
}

class Sha1 : public ::testing::TestWithParam<Sha1Kernel> {
 protected:
  std::array<uint8_t, 20> sha1(std::string_view data) const { return lmzip::sha1(data, GetParam()); }
};

TEST_P(Sha1, PublishedVectors) {
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),  // 56 bytes: two blocks
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(hex(sha1(std::string(1000000, 'a'))), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
  // Lengths around the padding boundary (hashlib): 55 fits one block, 56..63 need a second, 64/65 two/three.
  EXPECT_EQ(hex(sha1(std::string(55, 'x'))), "cef734ba81a024479e09eb5a75b6ddae62e6abf1");
  EXPECT_EQ(hex(sha1(std::string(56, 'x'))), "901305367c259952f4e7af8323f480d59f81335b");
  EXPECT_EQ(hex(sha1(std::string(63, 'x'))), "0ddc4e0cccd9a12850deb5abb0853a4425559fec");
  EXPECT_EQ(hex(sha1(std::string(64, 'x'))), "bb2fa3ee7afb9f54c6dfb5d021f14b1ffe40c163");
  EXPECT_EQ(hex(sha1(std::string(65, 'x'))), "78c741ddc482e4cdf8c474a0876347a0905b6233");
  EXPECT_EQ(hex(sha1("The quick brown fox jumps over the lazy dog")), "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12");
}

// Both kernels: the SHA-extension one (where this build has it) and the portable one every build can fall back to.
INSTANTIATE_TEST_SUITE_P(Kernel, Sha1, ::testing::Values(Sha1Kernel::Best, Sha1Kernel::Portable));

}  // namespace
}  // namespace lmzip
