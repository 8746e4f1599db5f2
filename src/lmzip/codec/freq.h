// Model logits -> integer frequencies for the range coder (docs/FORMAT.md, "Model frequencies").
//
// Everything after reading the float logits is integer arithmetic with lmzip's own exp (a fixed-point 2^-x
// from two 4096-entry tables built by integer products), so the table depends only on the logits: no libm, no
// FMA contraction, no summation order. Every token gets a frequency of at least 1 (always codable); the total
// is exactly 2^28.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lmzip::codec {

inline constexpr int kFreqBits = 28;
inline constexpr uint32_t kFreqTotal = uint32_t{1} << kFreqBits;
inline constexpr uint32_t kMaxVocab = uint32_t{1} << 22;

// 2^-x for x = t / 2^24 (t >= 0) in Q40, as the format defines it (0 once it underflows).
uint64_t pow2_neg_q40(uint64_t t_q24);

// The weight of a logit `d` below the maximum (d = max - logit >= 0), in Q40 (2^40 for d = 0).
uint64_t logit_weight(float d);

// A frequency table over the vocabulary. cum has vocab + 1 entries: token i owns [cum[i], cum[i+1]).
struct FreqTable {
  std::vector<uint32_t> cum;
  uint32_t freq(uint32_t token) const { return cum[token + 1] - cum[token]; }
  uint32_t size() const { return static_cast<uint32_t>(cum.size() - 1); }
  // The token whose interval holds `target` (binary search).
  uint32_t find(uint32_t target) const;
};

// Fills `table` from `logits` (size 1 ..= kMaxVocab). `weights` is scratch space, reused across calls.
void logits_to_freqs(std::span<const float> logits, FreqTable& table, std::vector<uint64_t>& weights);

// -log2 of the model's softmax probability of `token` (double precision; for reporting only, never coding).
double model_bits(std::span<const float> logits, uint32_t token);

}  // namespace lmzip::codec
