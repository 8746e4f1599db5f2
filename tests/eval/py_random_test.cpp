// PyRandom against CPython 3.11's random module. Every expected value below was printed by the machine's
// python3 (3.11.7); the one-liner is given with each.
#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/eval/py_random.h"

namespace lmzip::eval {
namespace {

std::vector<size_t> draws(PyRandom& r, size_t n, size_t k) { return r.sample(n, k); }

TEST(PyRandom, Getrandbits32MatchesCPython) {
  // python3 -c "import random; r=random.Random(1234); print([r.getrandbits(32) for _ in range(3)])"
  PyRandom r(1234);
  EXPECT_EQ(r.getrandbits(32), 4150886329u);
  EXPECT_EQ(r.getrandbits(32), 3342196574u);
  EXPECT_EQ(r.getrandbits(32), 1892932127u);
  // python3 -c "import random; r=random.Random(0); print([r.getrandbits(32) for _ in range(2)])"
  PyRandom zero(0);
  EXPECT_EQ(zero.getrandbits(32), 3626764237u);
  EXPECT_EQ(zero.getrandbits(32), 1654615998u);
  // A seed wider than 32 bits is two key words, least significant first.
  // python3 -c "import random; r=random.Random(2**40+5); print([r.getrandbits(32) for _ in range(2)])"
  PyRandom wide((1ull << 40) + 5);
  EXPECT_EQ(wide.getrandbits(32), 2166296868u);
  EXPECT_EQ(wide.getrandbits(32), 2220160828u);
}

TEST(PyRandom, ShortAndLongGetrandbitsAndRandom) {
  // python3 -c "import random; r=random.Random(1234); print([r.getrandbits(7) for _ in range(4)], r.getrandbits(64))"
  PyRandom r(1234);
  EXPECT_EQ(r.getrandbits(7), 123u);  // 4150886329 >> 25
  EXPECT_EQ(r.getrandbits(7), 99u);
  EXPECT_EQ(r.getrandbits(7), 56u);
  EXPECT_EQ(r.getrandbits(7), 14u);
  EXPECT_EQ(r.getrandbits(64), 1672079305790387732ull);
  EXPECT_EQ(r.getrandbits(0), 0u);
  // python3 -c "import random; print(repr(random.Random(1234).random()))"
  PyRandom f(1234);
  EXPECT_DOUBLE_EQ(f.random(), 0.9664535356921388);
}

TEST(PyRandom, RandbelowRejectsDrawsOutOfRange) {
  // python3 -c "import random; r=random.Random(1234); print([r._randbelow(10) for _ in range(8)])"
  PyRandom r(1234);
  std::vector<uint64_t> got;
  for (int i = 0; i < 8; ++i) got.push_back(r.randbelow(10));
  EXPECT_EQ(got, (std::vector<uint64_t>{7, 1, 0, 1, 9, 0, 1, 1}));
  EXPECT_THROW(r.randbelow(0), Error);
}

TEST(PyRandom, SamplePoolBranch) {
  // n <= setsize (21, or 21 + 4**ceil(log4(3k)) when k > 5): the shrinking-pool algorithm.
  // python3 -c "import random; r=random.Random(1234); print(r.sample(range(20),5), r.sample(range(20),5))"
  PyRandom r(1234);
  EXPECT_EQ(draws(r, 20, 5), (std::vector<size_t>{14, 3, 0, 2, 1}));
  EXPECT_EQ(draws(r, 20, 5), (std::vector<size_t>{2, 3, 11, 7, 0}));
  // k = 8 > 5: setsize = 21 + 64 = 85 >= 30.
  // python3 -c "import random; r=random.Random(1234); print(r.sample(range(30),8))"
  PyRandom a(1234);
  EXPECT_EQ(draws(a, 30, 8), (std::vector<size_t>{24, 14, 3, 0, 2, 18, 1, 21}));
  // python3 -c "import random; r=random.Random(1234); print(r.sample(range(7),7))"
  PyRandom b(1234);
  EXPECT_EQ(draws(b, 7, 7), (std::vector<size_t>{6, 3, 0, 4, 5, 2, 1}));
}

TEST(PyRandom, SampleSetBranch) {
  // python3 -c "import random; r=random.Random(1234); print(r.sample(range(1000),5))"
  PyRandom r(1234);
  EXPECT_EQ(draws(r, 1000, 5), (std::vector<size_t>{989, 796, 451, 119, 7}));
  // ARC-Challenge's 25-shot with the train split (1,119 docs) as the pool; k + 1 = 26, setsize 21 + 256 < 1119.
  // python3 -c "import random; r=random.Random(1234); print([r.sample(range(1119),26) for _ in range(2)])"
  PyRandom arc(1234);
  EXPECT_EQ(draws(arc, 1119, 26), (std::vector<size_t>{902, 239, 15,  185, 71,  171, 201, 726, 484,  35,  63, 32,   708,
                                                      991, 949, 304, 186, 374, 234, 29,  1030, 996, 511, 132, 1108, 954}));
  EXPECT_EQ(draws(arc, 1119, 26), (std::vector<size_t>{140, 182, 1054, 94,  552, 129, 619, 985, 727, 545, 510, 409, 928,
                                                      1085, 39, 1040, 144, 11,  683, 294, 968, 772, 342, 110, 156, 1016}));
  EXPECT_THROW(r.sample(3, 4), Error);
}

}  // namespace
}  // namespace lmzip::eval
