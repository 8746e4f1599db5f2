#include "lmzip/corpus/dedup.h"

#include <algorithm>
#include <unordered_set>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

namespace {

constexpr uint32_t kEmpty = 0xFFFFFFFFu;

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Shingle hashes: each token hashed, then `shingle` consecutive token hashes combined. `distinct`: sorted and
// without repeats (else in text order, repeats kept).
std::vector<uint64_t> shingle_hashes(std::string_view text, int shingle, uint64_t seed, bool distinct = true) {
  auto tokens = identifier_tokens(text);
  std::vector<uint64_t> th(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) th[i] = xxh64(tokens[i].data(), tokens[i].size(), seed);
  std::vector<uint64_t> out;
  size_t k = static_cast<size_t>(std::max(shingle, 1));
  if (th.size() >= k) {
    out.reserve(th.size() - k + 1);
    for (size_t i = 0; i + k <= th.size(); ++i) {
      out.push_back(k == 1 ? th[i] : xxh64(&th[i], k * sizeof(uint64_t), seed));
    }
  } else if (!th.empty()) {
    out.push_back(xxh64(th.data(), th.size() * sizeof(uint64_t), seed));  // shorter than one shingle
  }
  if (!distinct) return out;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

MinHasher::MinHasher(int num_perm, int shingle, uint64_t seed) : shingle_(shingle), seed_(seed) {
  if (num_perm <= 0 || num_perm > 4096) throw Error("MinHash: --num-perm must be in 1..4096");
  uint64_t state = seed ^ 0x6d696e68617368ull;
  for (int i = 0; i < num_perm; ++i) {
    keys_.push_back(static_cast<uint32_t>(splitmix64(state)));
  }
}

std::vector<uint32_t> MinHasher::signature(std::string_view text) const {
  size_t n = keys_.size();
  std::vector<uint32_t> sig(n, kEmpty);
  const uint32_t* keys = keys_.data();
  uint32_t* s = sig.data();
  // A minimum does not change when a shingle repeats, so repeats need not be removed: single-token shingles
  // (code) repeat often and are made distinct first (cheaper than 256 lanes per repeat); longer shingles of
  // prose rarely repeat and sorting them would cost more than the lanes it saves.
  for (uint64_t h64 : shingle_hashes(text, shingle_, seed_, shingle_ <= 1)) {
    // Permutation i: murmur3's 32-bit finaliser of (h ^ key_i). Full avalanche with 32-bit lanes only, so the
    // loop vectorises 8 wide on AVX2 (a 64-bit multiply would not).
    uint32_t h = static_cast<uint32_t>(h64 ^ (h64 >> 32));
    for (size_t i = 0; i < n; ++i) {
      uint32_t v = h ^ keys[i];
      v ^= v >> 16;
      v *= 0x85ebca6bu;
      v ^= v >> 13;
      v *= 0xc2b2ae35u;
      v ^= v >> 16;
      s[i] = v < s[i] ? v : s[i];
    }
  }
  return sig;
}

double estimated_jaccard(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  LMZIP_CHECK(a.size() == b.size() && !a.empty(), "signatures of different lengths");
  size_t eq = 0;
  for (size_t i = 0; i < a.size(); ++i) eq += a[i] == b[i];
  return static_cast<double>(eq) / static_cast<double>(a.size());
}

double exact_jaccard(std::string_view a, std::string_view b, int shingle) {
  auto sa = shingle_hashes(a, shingle, 0), sb = shingle_hashes(b, shingle, 0);
  std::vector<uint64_t> both;
  std::set_intersection(sa.begin(), sa.end(), sb.begin(), sb.end(), std::back_inserter(both));
  size_t uni = sa.size() + sb.size() - both.size();
  return uni == 0 ? 1.0 : static_cast<double>(both.size()) / static_cast<double>(uni);
}

Deduplicator::Deduplicator(DedupOptions options) : options_(options) {
  if (options_.near) {
    if (options_.bands <= 0 || options_.rows <= 0 || options_.bands * options_.rows > options_.num_perm) {
      throw Error("MinHash: --bands * --rows must be positive and at most --num-perm (" +
                  std::to_string(options_.bands) + " * " + std::to_string(options_.rows) + " > " +
                  std::to_string(options_.num_perm) + ")");
    }
    if (options_.threshold <= 0 || options_.threshold > 1) throw Error("MinHash: --jaccard must be in (0, 1]");
    tables_.resize(static_cast<size_t>(options_.bands));
  }
}

uint64_t Deduplicator::band_key(const std::vector<uint32_t>& sig, int band) const {
  return xxh64(&sig[static_cast<size_t>(band * options_.rows)], static_cast<size_t>(options_.rows) * 4,
               static_cast<uint64_t>(band));
}

void Deduplicator::insert(BandTable& t, uint64_t key, uint32_t value) {
  if ((t.used + 1) * 2 > t.keys.size()) {  // keep at most half full so probes stay short
    BandTable bigger;
    size_t cap = std::max<size_t>(64, t.keys.size() * 2);
    bigger.keys.assign(cap, 0);
    bigger.values.assign(cap, kEmpty);
    for (size_t i = 0; i < t.keys.size(); ++i) {
      if (t.values[i] != kEmpty) insert(bigger, t.keys[i], t.values[i]);
    }
    t = std::move(bigger);
  }
  size_t mask = t.keys.size() - 1, i = key & mask;
  while (t.values[i] != kEmpty) i = (i + 1) & mask;
  t.keys[i] = key;
  t.values[i] = value;
  ++t.used;
}

std::vector<uint64_t> Deduplicator::band_keys(const std::vector<uint32_t>& sig) const {
  std::vector<uint64_t> keys;
  if (!options_.near || sig.size() != static_cast<size_t>(options_.num_perm)) return keys;
  keys.resize(tables_.size());
  for (size_t b = 0; b < tables_.size(); ++b) keys[b] = band_key(sig, static_cast<int>(b));
  return keys;
}

DedupVerdict Deduplicator::offer(uint64_t fingerprint, const std::vector<uint32_t>& sig, uint64_t id) {
  return offer(fingerprint, sig, band_keys(sig), id);
}

DedupVerdict Deduplicator::offer(uint64_t fingerprint, const std::vector<uint32_t>& sig,
                                 const std::vector<uint64_t>& keys, uint64_t id) {
  DedupVerdict v;
  if (options_.exact && !fingerprints_.insert(fingerprint).second) {
    v.reason = "exact_duplicate";
    return v;
  }
  if (!options_.near || sig.empty() || sig[0] == kEmpty) return v;
  LMZIP_CHECK(sig.size() == static_cast<size_t>(options_.num_perm), "signature length");
  LMZIP_CHECK(keys.size() == tables_.size(), "band keys");
  size_t n = sig.size();
  std::vector<uint32_t> checked;  // candidates already verified (few: a linear search beats a hash set)
  for (size_t b = 0; b < tables_.size(); ++b) {
    const BandTable& t = tables_[b];
    if (t.keys.empty()) continue;
    size_t mask = t.keys.size() - 1;
    for (size_t i = keys[b] & mask; t.values[i] != kEmpty; i = (i + 1) & mask) {
      if (t.keys[i] != keys[b]) continue;
      if (std::find(checked.begin(), checked.end(), t.values[i]) != checked.end()) continue;
      checked.push_back(t.values[i]);
      // Verify the candidate by its estimated Jaccard (on the stored low 16 bits; the chance that two
      // different minima agree there is 2^-16, a negligible upward bias).
      const uint16_t* other = &signatures_[static_cast<size_t>(t.values[i]) * n];
      size_t eq = 0;
      for (size_t k = 0; k < n; ++k) eq += other[k] == static_cast<uint16_t>(sig[k]);
      double j = static_cast<double>(eq) / static_cast<double>(n);
      if (j >= options_.threshold) {
        v.reason = "near_duplicate";
        v.duplicate_of = kept_ids_[t.values[i]];
        v.jaccard = j;
        return v;
      }
    }
  }
  LMZIP_CHECK(kept_ids_.size() < kEmpty, "too many documents for the near-dedup index");
  auto slot = static_cast<uint32_t>(kept_ids_.size());
  kept_ids_.push_back(id);
  for (uint32_t x : sig) signatures_.push_back(static_cast<uint16_t>(x));
  for (size_t b = 0; b < tables_.size(); ++b) insert(tables_[b], keys[b], slot);
  return v;
}

uint64_t Deduplicator::memory_bytes() const {
  // Approximate: the node-based set costs about 32 bytes per fingerprint.
  uint64_t bytes = fingerprints_.size() * 32 + signatures_.capacity() * 2 + kept_ids_.capacity() * 8;
  for (const auto& t : tables_) bytes += t.keys.capacity() * 8 + t.values.capacity() * 4;
  return bytes;
}

}  // namespace lmzip::corpus
