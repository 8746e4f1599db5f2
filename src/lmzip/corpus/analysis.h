// Reading back corpora: `lmzip corpus stats` (a summary of a corpus file) and `lmzip corpus overlap`
// (contamination: the share of each document's word 13-grams found in benchmark or training texts, as the
// GPT-3 / lm-eval decontamination does it).
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <vector>

#include "lmzip/io/file.h"

namespace lmzip::corpus {

// Calls `on_record(record, line_number)` for each JSON object line of a corpus (plain/.gz/.zst/.xz), streaming.
// A line that is not a JSON object (the syntax error and its column when it is not JSON at all), lacks a string
// `text_field`, or is longer than `max_line_bytes` (io/file.h: 256 MiB) is an lmzip::Error naming file and line.
// An input that is not a regular file (a device, a FIFO; "-" is standard input) is refused.
void for_each_record(const std::string& path, const std::string& text_field,
                     const std::function<void(nlohmann::json&, uint64_t)>& on_record,
                     size_t max_line_bytes = kMaxLineBytes);

// documents, characters, bytes, per-subset counts, length percentiles, exact duplicates, distinct sources.
nlohmann::json corpus_stats(const std::string& path, const std::string& text_field = "content");

// A set of hashed word n-grams (lower-cased words of letters and digits).
class NgramIndex {
 public:
  explicit NgramIndex(int n = 13) : n_(n) {}
  void add_text(std::string_view text);
  // Adds a file: JSONL (every string value of each record, recursively) or plain text; compressed ok.
  void add_file(const std::string& path);
  // Share of the text's n-grams present in the index (0 when the text has fewer than n words), and how many.
  double overlap(std::string_view text, uint64_t* total_ngrams = nullptr, uint64_t* found = nullptr) const;
  size_t size() const { return grams_.size(); }
  int n() const { return n_; }

 private:
  std::vector<uint64_t> hashes(std::string_view text) const;
  int n_;
  std::unordered_set<uint64_t> grams_;
};

}  // namespace lmzip::corpus
