#include "lmzip/codec/freq.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip::codec {
namespace {

// C[j - 1] = round(2^62 * 2^(-2^-j)), j = 1..24.
constexpr std::array<uint64_t, 24> kC = {
    3260954456333195553ull, 3877950241171266237ull, 4228934724888366668ull, 4416165660797809419ull,
    4512867096753504463ull, 4562008997483360349ull, 4586780255215411731ull, 4599216278082138665ull,
    4605446927862164404ull, 4608565417332308035ull, 4610125453837388245ull, 4610905670110601999ull,
    4611295827762151833ull, 4611490918967884501ull, 4611588467665893036ull, 4611637242788701951ull,
    4611661630543559956ull, 4611673824469352645ull, 4611679921444339948ull, 4611682969934856344ull,
    4611684494180870228ull, 4611685256304066092ull, 4611685637365711255ull, 4611685827896545643ull};
constexpr uint64_t kLog2eQ32 = 6196328019ull;  // round(log2(e) * 2^32)
constexpr uint64_t kOneQ62 = uint64_t{1} << 62;

using Table = std::array<uint64_t, 4096>;

// 2^-(index / 2^12) (first_c = 0) or 2^-(index / 2^24) (first_c = 12) in Q62, by integer products over the
// index bits from the most significant down: the order is part of the format.
Table build_table(int first_c) {
  Table t{};
  for (uint32_t index = 0; index < 4096; ++index) {
    uint64_t acc = kOneQ62;
    for (int j = 1; j <= 12; ++j) {
      if (index & (1u << (12 - j))) {
        acc = static_cast<uint64_t>((static_cast<unsigned __int128>(acc) * kC[first_c + j - 1]) >> 62);
      }
    }
    t[index] = acc;
  }
  return t;
}

const Table& table_hi() {
  static const Table t = build_table(0);
  return t;
}
const Table& table_lo() {
  static const Table t = build_table(12);
  return t;
}

}  // namespace

uint64_t pow2_neg_q40(uint64_t t_q24) {
  uint64_t k = t_q24 >> 24;
  if (k >= 44) return 0;  // 84 + k >= 128
  uint64_t f = t_q24 & ((uint64_t{1} << 24) - 1);
  unsigned __int128 p = static_cast<unsigned __int128>(table_hi()[f >> 12]) * table_lo()[f & 4095];
  return static_cast<uint64_t>(p >> (84 + k));
}

uint64_t logit_weight(float d) {
  if (!(d < 64.0f)) return 0;  // also NaN
  auto dq = static_cast<uint64_t>(d * 16777216.0f);  // exact: scaling by 2^24
  return pow2_neg_q40((dq * kLog2eQ32) >> 32);        // dq < 2^30, so the product fits 64 bits
}

uint32_t FreqTable::find(uint32_t target) const {
  // The last i with cum[i] <= target; cum[0] = 0 <= target < cum.back().
  auto it = std::upper_bound(cum.begin(), cum.end(), target);
  return static_cast<uint32_t>(it - cum.begin()) - 1;
}

void logits_to_freqs(std::span<const float> logits, FreqTable& table, std::vector<uint64_t>& weights) {
  size_t n = logits.size();
  LMZIP_CHECK(n >= 1 && n <= kMaxVocab, "vocabulary size out of range for the codec");
  bool any_finite = false;
  float max_logit = 0;
  for (float x : logits) {
    if (std::isfinite(x) && (!any_finite || x > max_logit)) max_logit = x, any_finite = true;
  }
  weights.resize(n);
  uint64_t sum = 0;
  size_t best = 0;
  for (size_t i = 0; i < n; ++i) {
    float x = logits[i];
    weights[i] = !any_finite ? 1 : std::isfinite(x) ? logit_weight(max_logit - x) : 0;
    sum += weights[i];
    if (weights[i] > weights[best]) best = i;
  }
  uint64_t spare = kFreqTotal - n;
  table.cum.resize(n + 1);
  table.cum[0] = 0;
  uint64_t running = 0;
  // share = floor(w * spare / W) computed as (w * M) >> 64 with M = floor(spare * 2^64 / W): one 128-bit
  // division per table instead of one per token. Never more than the exact quotient, so Σ freq <= total.
  using u128 = unsigned __int128;
  u128 scale = (static_cast<u128>(spare) << 64) / sum;
  for (size_t i = 0; i < n; ++i) {
    auto share = static_cast<uint64_t>((weights[i] * scale) >> 64);
    uint64_t f = 1 + share;
    running += f;
    table.cum[i + 1] = static_cast<uint32_t>(running);
  }
  // The rounding remainder goes to the best token: shift every cum after it.
  auto remainder = static_cast<uint32_t>(kFreqTotal - running);
  for (size_t i = best + 1; i <= n; ++i) table.cum[i] += remainder;
}

double model_bits(std::span<const float> logits, uint32_t token) {
  double max_logit = -INFINITY;
  for (float x : logits) max_logit = std::max(max_logit, static_cast<double>(x));
  double sum = 0;
  for (float x : logits) sum += std::exp(static_cast<double>(x) - max_logit);
  return (std::log(sum) - (static_cast<double>(logits[token]) - max_logit)) / std::log(2.0);
}

}  // namespace lmzip::codec
