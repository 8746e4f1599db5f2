#include "lmzip/corpus/analysis.h"

#include <algorithm>
#include <map>
#include <set>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/json.h"
#include "lmzip/corpus/stream.h"
#include "lmzip/corpus/text.h"
#include "lmzip/io/file.h"

namespace lmzip::corpus {

namespace {
void check_line_length(bool too_long, const std::string& path, uint64_t line, size_t max) {
  if (too_long) {
    throw Error(path + ":" + std::to_string(line) + ": line longer than " + std::to_string(max) +
                " bytes (is this a corpus JSONL file?)");
  }
}
}  // namespace

void for_each_record(const std::string& path, const std::string& text_field,
                     const std::function<void(nlohmann::json&, uint64_t)>& on_record, size_t max_line_bytes) {
  ByteReader reader(path);
  std::string line;
  uint64_t n = 0;
  bool too_long = false;
  while (reader.read_line(line, max_line_bytes, &too_long)) {
    ++n;
    check_line_length(too_long, path, n, max_line_bytes);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json rec = parse_json(line, path, n);  // a syntax error says where
    if (!rec.is_object()) {
      throw Error(path + ":" + std::to_string(n) + ": not a JSON object (is this a corpus JSONL file?)");
    }
    auto t = rec.find(text_field);
    if (t == rec.end() || !t->is_string()) {
      throw Error(path + ":" + std::to_string(n) + ": no string field \"" + text_field + "\" (use --text-field)");
    }
    on_record(rec, n);
  }
}

namespace {
double percentile(std::vector<uint64_t>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return static_cast<double>(sorted[std::min(i, sorted.size() - 1)]);
}
}  // namespace

nlohmann::json corpus_stats(const std::string& path, const std::string& text_field) {
  uint64_t docs = 0, chars = 0, bytes = 0, empty = 0, duplicates = 0;
  std::map<std::string, std::pair<uint64_t, uint64_t>> subsets;  // docs, chars
  std::vector<uint64_t> lengths;
  std::unordered_set<uint64_t> seen;
  std::set<std::string> sources;
  for_each_record(path, text_field, [&](nlohmann::json& rec, uint64_t) {
    const std::string& text = rec[text_field].get_ref<const std::string&>();
    uint64_t c = count_chars(text);
    ++docs;
    chars += c;
    bytes += text.size();
    empty += text.empty();
    lengths.push_back(c);
    duplicates += !seen.insert(exact_fingerprint(text)).second;
    std::string subset = rec.contains("subset") && rec["subset"].is_string() ? rec["subset"].get<std::string>() : "";
    subsets[subset].first += 1;
    subsets[subset].second += c;
    if (auto m = rec.find("meta"); m != rec.end() && m->is_object() && m->contains("source") &&
                                   (*m)["source"].is_string() && sources.size() < 1000000) {
      sources.insert((*m)["source"].get<std::string>());
    }
  });
  std::sort(lengths.begin(), lengths.end());
  nlohmann::json sub = nlohmann::json::object();
  for (const auto& [k, v] : subsets) sub[k] = {{"documents", v.first}, {"characters", v.second}};
  return {{"file", path},
          {"documents", docs},
          {"characters", chars},
          {"bytes", bytes},
          {"empty_documents", empty},
          {"exact_duplicates", duplicates},
          {"distinct_sources", sources.size()},
          {"subsets", sub},
          {"chars_per_document",
           {{"mean", docs ? static_cast<double>(chars) / static_cast<double>(docs) : 0.0},
            {"min", lengths.empty() ? 0 : lengths.front()},
            {"p10", percentile(lengths, 0.1)},
            {"median", percentile(lengths, 0.5)},
            {"p90", percentile(lengths, 0.9)},
            {"max", lengths.empty() ? 0 : lengths.back()}}}};
}

std::vector<uint64_t> NgramIndex::hashes(std::string_view text) const {
  std::vector<std::string> words = normalized_words(text);
  std::vector<uint64_t> wh(words.size());
  for (size_t i = 0; i < words.size(); ++i) wh[i] = xxh64(words[i].data(), words[i].size());
  std::vector<uint64_t> out;
  size_t n = static_cast<size_t>(n_);
  for (size_t i = 0; i + n <= wh.size(); ++i) out.push_back(xxh64(&wh[i], n * sizeof(uint64_t), 13));
  return out;
}

void NgramIndex::add_text(std::string_view text) {
  for (uint64_t h : hashes(text)) grams_.insert(h);
}

namespace {
void add_strings(const nlohmann::json& v, NgramIndex& index) {
  if (v.is_string()) index.add_text(v.get_ref<const std::string&>());
  else if (v.is_structured()) for (const auto& x : v) add_strings(x, index);
}
}  // namespace

void NgramIndex::add_file(const std::string& path) {
  std::string lower = to_lower_ascii(path);
  bool jsonl = lower.find(".jsonl") != std::string::npos || lower.find(".ndjson") != std::string::npos;
  ByteReader reader(path);
  if (!jsonl) {
    std::string all;
    while (reader.read(all, 1 << 20) > 0) {}
    add_text(all);
    return;
  }
  std::string line;
  uint64_t n = 0;
  bool too_long = false;
  while (reader.read_line(line, kMaxLineBytes, &too_long)) {
    ++n;
    check_line_length(too_long, path, n, kMaxLineBytes);
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json rec = parse_json(line, path, n);
    add_strings(rec, *this);  // questions, choices, answers: every text a model might have memorised
  }
}

double NgramIndex::overlap(std::string_view text, uint64_t* total, uint64_t* found) const {
  auto hs = hashes(text);
  uint64_t hit = 0;
  for (uint64_t h : hs) hit += grams_.count(h);
  if (total) *total = hs.size();
  if (found) *found = hit;
  return hs.empty() ? 0.0 : static_cast<double>(hit) / static_cast<double>(hs.size());
}

}  // namespace lmzip::corpus
