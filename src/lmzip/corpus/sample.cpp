#include "lmzip/corpus/sample.h"

#include <algorithm>

namespace lmzip::corpus {

std::vector<size_t> seeded_permutation(size_t n, uint64_t seed) {
  std::vector<size_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = i;
  uint64_t state = seed ^ 0x73616d706c65ull;
  for (size_t i = n; i > 1; --i) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    // Multiply-high maps z uniformly enough onto 0..i-1 (bias < i / 2^64).
    size_t j = static_cast<size_t>((static_cast<unsigned __int128>(z) * i) >> 64);
    std::swap(p[i - 1], p[j]);
  }
  return p;
}

std::vector<size_t> sample_to_target(const std::vector<SampleItem>& items, uint64_t target_chars, SampleUnit unit,
                                     uint64_t seed) {
  std::vector<size_t> kept;
  if (target_chars == 0) {
    kept.resize(items.size());
    for (size_t i = 0; i < items.size(); ++i) kept[i] = i;
    return kept;
  }
  if (unit == SampleUnit::Document) {
    uint64_t total = 0;
    for (size_t i : seeded_permutation(items.size(), seed)) {
      if (total >= target_chars) break;
      kept.push_back(i);
      total += items[i].chars;
    }
  } else {
    uint32_t n_groups = 0;
    for (const auto& it : items) n_groups = std::max(n_groups, it.group + 1);
    std::vector<uint64_t> group_chars(n_groups, 0);
    for (const auto& it : items) group_chars[it.group] += it.chars;
    std::vector<char> take(n_groups, 0);
    uint64_t total = 0;
    for (size_t g : seeded_permutation(n_groups, seed)) {
      if (total >= target_chars) break;
      take[g] = 1;
      total += group_chars[g];
    }
    for (size_t i = 0; i < items.size(); ++i) {
      if (take[items[i].group]) kept.push_back(i);
    }
  }
  std::sort(kept.begin(), kept.end());
  return kept;
}

}  // namespace lmzip::corpus
