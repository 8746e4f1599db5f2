// CPython's random.Random, bit for bit: the MT19937 generator seeded as random.seed(int) seeds it
// (init_by_array over the integer's 32-bit words), getrandbits, _randbelow (rejection sampling on
// getrandbits(k)) and random.sample (Lib/random.py, both the pool and the set branch). lm-evaluation-harness
// draws its few-shot demonstrations with random.Random(1234).sample(docs, k); FewshotSampler (runner.h) uses
// this class so the demonstrations are the same documents.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace lmzip::eval {

class PyRandom {
 public:
  explicit PyRandom(uint64_t seed);  // random.Random(seed) for a non-negative int seed

  uint32_t genrand_uint32();
  uint64_t getrandbits(int k);   // 0 <= k <= 64
  uint64_t randbelow(uint64_t n);  // Random._randbelow_with_getrandbits(n), n > 0
  double random();                 // random.random()
  // random.sample(range(n), k): k distinct indices in CPython's order. lmzip::Error when k > n.
  std::vector<size_t> sample(size_t n, size_t k);

 private:
  void init_genrand(uint32_t s);
  void init_by_array(const std::vector<uint32_t>& key);
  std::array<uint32_t, 624> mt_{};
  int mti_ = 625;
};

}  // namespace lmzip::eval
