// Seeded sampling to a target size in characters: by document (CC, arXiv) or by repository (code: files of
// one repository stay together). Deterministic for a seed on every platform (own PRNG and shuffle).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lmzip::corpus {

struct SampleItem {
  uint64_t chars = 0;
  uint32_t group = 0;  // repository index (by-repository sampling)
};

enum class SampleUnit { Document, Repository };

// Indices (ascending) of the items kept: units are visited in a seeded random order and taken whole while the
// total is below `target_chars`, so the result reaches the target by at most one unit. target 0 keeps all.
std::vector<size_t> sample_to_target(const std::vector<SampleItem>& items, uint64_t target_chars, SampleUnit unit,
                                     uint64_t seed);

// A seeded permutation of 0..n-1 (Fisher-Yates over splitmix64).
std::vector<size_t> seeded_permutation(size_t n, uint64_t seed);

}  // namespace lmzip::corpus
