// Deduplication: exact (a 64-bit fingerprint of whitespace-normalised text) and near-duplicate MinHash with LSH
// banding. Documents are offered in order; the first of a cluster is kept, later members are dropped, so the
// result is deterministic for a given input order and seed. Not thread-safe (signatures may be computed in
// parallel with MinHasher, which is).
//
// Memory: per kept document 8 bytes for exact dedup, and for near dedup its signature stored as 16-bit values
// (2 * num_perm bytes; 512 B at 256 permutations) plus one 12-byte slot per band in tables kept at most half full
// (~768 B at 32 bands): about 1.3 GB per million kept documents with the defaults.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace lmzip::corpus {

struct DedupOptions {
  bool exact = true;
  bool near = true;
  int num_perm = 256;       // MinHash permutations
  int bands = 32;           // LSH bands; bands * rows <= num_perm
  int rows = 8;             // rows per band
  double threshold = 0.85;  // estimated Jaccard at or above which a candidate is a duplicate
  int shingle = 1;          // tokens per shingle (tokens split on non-identifier characters)
  uint64_t seed = 0;
};

// Computes MinHash signatures. Thread-safe once constructed.
class MinHasher {
 public:
  MinHasher(int num_perm, int shingle, uint64_t seed);
  // num_perm minima over the document's distinct shingles; all 0xFFFFFFFF for a document without tokens.
  std::vector<uint32_t> signature(std::string_view text) const;
  int num_perm() const { return static_cast<int>(keys_.size()); }

 private:
  int shingle_;
  uint64_t seed_;
  std::vector<uint32_t> keys_;  // permutation i: h -> fmix32(h ^ keys_[i])
};

// Share of equal positions: the MinHash estimate of the Jaccard similarity of the two shingle sets.
double estimated_jaccard(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b);
// Exact Jaccard similarity of the shingle sets (for tests and small checks).
double exact_jaccard(std::string_view a, std::string_view b, int shingle);

struct DedupVerdict {
  std::string reason;          // "" (kept), "exact_duplicate", "near_duplicate"
  uint64_t duplicate_of = 0;   // id of the kept document it duplicates
  double jaccard = 1.0;        // estimated Jaccard with it (near duplicates)
};

class Deduplicator {
 public:
  explicit Deduplicator(DedupOptions options);
  // Decides on a document given its exact fingerprint and (when near dedup is on) its signature; a kept
  // document is remembered under `id`.
  DedupVerdict offer(uint64_t fingerprint, const std::vector<uint32_t>& signature, uint64_t id);
  // The same with the signature's LSH band keys computed beforehand (band_keys: thread-safe, so callers compute
  // them in parallel and keep only the table probes in the ordered part).
  DedupVerdict offer(uint64_t fingerprint, const std::vector<uint32_t>& signature, const std::vector<uint64_t>& keys,
                     uint64_t id);
  std::vector<uint64_t> band_keys(const std::vector<uint32_t>& signature) const;
  uint64_t memory_bytes() const;
  const DedupOptions& options() const { return options_; }

 private:
  struct BandTable {  // open addressing, duplicate keys allowed; value kEmpty marks a free slot
    std::vector<uint64_t> keys;
    std::vector<uint32_t> values;
    size_t used = 0;
  };
  uint64_t band_key(const std::vector<uint32_t>& sig, int band) const;
  void insert(BandTable& t, uint64_t key, uint32_t value);
  DedupOptions options_;
  std::unordered_set<uint64_t> fingerprints_;
  std::vector<uint16_t> signatures_;  // kept documents' signatures, low 16 bits, num_perm each
  std::vector<uint64_t> kept_ids_;
  std::vector<BandTable> tables_;
};

}  // namespace lmzip::corpus
