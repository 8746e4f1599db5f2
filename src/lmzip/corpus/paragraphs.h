// CCNet's paragraph deduplication (Wenzek et al. 2019; facebookresearch/cc_net, cc_net/dedup.py): a document's
// lines are its paragraphs; each is normalised as cc_net/text_normalizer.py `normalize_for_dedup` does, hashed
// with SHA-1 and identified by the digest's first 8 bytes read as a little-endian uint64 (dedup.py str_hash,
// compute_hashes). A paragraph whose hash was seen before — earlier in the build or in a reference hash file —
// is removed; the first occurrence stays (CCNet's one-pass `dedup.deduplicate`), or, with remove_all_copies, no
// copy of one found in two or more documents does (mine.py). The pipeline (pipeline.cpp) applies it; this file
// holds the rules. Lines that are blank after Python's str.strip() are separators, not paragraphs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmzip::corpus {

struct ParagraphDedupOptions {
  bool enabled = false;
  std::vector<std::string> reference_files;  // hash files (format below) whose paragraphs count as seen
  std::string write_hashes;                  // when set: every hash seen by the end of the build is written here
  // CCNet mine.py (the paper): a paragraph found in two or more documents goes from all of them, its first copy
  // included; repeats inside one document keep their first copy. Reads the inputs twice. Off: the first copy
  // stays (CCNet's one-pass dedup.deduplicate), streaming.
  bool remove_all_copies = false;
};

// text_normalizer.normalize_for_dedup(line): Python's str.strip() (Unicode whitespace), str.lower() (full
// Unicode lower-casing, final sigma included), every Unicode decimal digit (\d, category Nd) to '0', then the
// characters of CCNet's UNICODE_PUNCT table and the non-printing characters U+0000-001F, U+007F-009F removed.
// Accents are kept: CCNet's dedup does not strip them (its `normalize(accent=True)` serves the LM step).
// `line` must be valid UTF-8. Thread-safe.
std::string normalize_for_dedup(std::string_view line);

// dedup.str_hash(normalize_for_dedup(line)).
uint64_t paragraph_hash(std::string_view line);

// A line of a document: [begin, end) without its '\n'. Blank lines (whitespace only) have no hash.
struct Paragraph {
  size_t begin = 0, end = 0;
  uint64_t hash = 0;
};
// The document's non-blank lines, split on '\n' as CCNet's content.split("\n") does. Thread-safe.
std::vector<Paragraph> split_paragraphs(std::string_view text);

// The text without the paragraphs whose keep[i] is false: each kept paragraph is preceded by the separator
// (newline and blank lines) that preceded it in `text`, except the first one written; the leading blank lines
// stay when the first paragraph stays, the trailing ones when the last stays. All removed: "".
std::string remove_paragraphs(std::string_view text, const std::vector<Paragraph>& paragraphs,
                              const std::vector<bool>& keep);

// The set of paragraph hashes seen so far. Not thread-safe: documents are offered in input order, so the
// result never depends on the thread count.
class ParagraphIndex {
 public:
  // Adds the hashes of a reference file; an unreadable or malformed file is an lmzip::Error naming it.
  void load(const std::string& path);
  // True when `hash` was seen before; it is remembered either way.
  bool seen_before(uint64_t hash);
  bool contains(uint64_t hash) const;
  size_t size() const { return used_ + has_zero_; }
  uint64_t memory_bytes() const { return slots_.size() * sizeof(uint64_t); }
  // Writes every hash held, in the file format below (atomically; the file is complete or absent).
  void write(const std::string& path) const;

 private:
  void grow();
  std::vector<uint64_t> slots_;  // open addressing; 0 marks a free slot (the hash 0 is held by has_zero_)
  size_t used_ = 0;
  bool has_zero_ = false;
};

// Paragraph hash file, little-endian: the 8 bytes "LMZPARH1", a uint64 count n, then n distinct uint64 hashes
// in ascending order (16 + 8n bytes). A reader rejects another magic, a size other than 16 + 8n and hashes out
// of order.
inline constexpr char kParagraphHashMagic[9] = "LMZPARH1";

}  // namespace lmzip::corpus
