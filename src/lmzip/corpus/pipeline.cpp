#include "lmzip/corpus/pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/version.h"
#include "lmzip/corpus/analysis.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/output.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

uint64_t BuildCounts::total(const std::map<std::string, uint64_t>& m) const {
  uint64_t t = 0;
  for (const auto& [k, v] : m) t += v;
  return t;
}

std::string manifest_path_for(const std::string& output) {
  for (std::string_view suf : {".jsonl.zst", ".jsonl"}) {
    if (output.ends_with(suf)) return output.substr(0, output.size() - suf.size()) + ".manifest.json";
  }
  return output + ".manifest.json";
}

namespace {

// What the parallel part of a batch computes for one document.
struct Analysis {
  FilterDecision decision;
  uint64_t fingerprint = 0;
  uint64_t chars_read = 0;     // as read
  uint64_t chars = 0;          // after paragraph dedup
  uint64_t content_bytes = 0;  // set for kept documents (before their content moves into the record)
  std::vector<uint32_t> signature;
  std::vector<uint64_t> band_keys;
  std::vector<Paragraph> paragraphs;  // hashed when paragraph dedup is on and the document is long enough
  std::vector<bool> keep_paragraph;   // set in input order by the paragraph index
  bool paragraphs_removed = false;
  bool paragraph_duplicate = false;   // too short (or empty) once its duplicate paragraphs were removed
};

std::string category_reason(const Document& doc, const std::string& prefix) {
  if (prefix.empty()) return "";
  auto it = doc.meta.find("categories");
  if (it == doc.meta.end() || !it->is_string()) return "category_unknown";
  std::string cats = it->get<std::string>();
  return cats.rfind(prefix, 0) == 0 ? "" : "category";  // the first category decides, as in the study
}

// arXiv ids from bundle names: "2309.01234" stays, old-style "math0601001" becomes "math/0601001".
std::string normalize_arxiv_id(std::string id) {
  size_t letters = 0;
  while (letters < id.size() && (std::isalpha(static_cast<unsigned char>(id[letters])) || id[letters] == '-')) ++letters;
  if (letters > 0 && letters < id.size() && id.find('/') == std::string::npos) id = id.substr(0, letters) + "/" + id.substr(letters);
  size_t v = id.rfind('v');  // a version suffix ("v2") does not change the categories
  if (v != std::string::npos && v > letters && v + 1 < id.size() &&
      id.find_first_not_of("0123456789", v + 1) == std::string::npos) {
    id.resize(v);
  }
  return id;
}

std::unordered_map<std::string, std::string> load_arxiv_categories(const std::string& path) {
  std::unordered_map<std::string, std::string> out;
  if (path.empty()) return out;
  for_each_record(path, "categories", [&](nlohmann::json& rec, uint64_t line) {
    auto id = rec.find("id");
    if (id == rec.end() || !id->is_string()) {
      throw Error(path + ":" + std::to_string(line) + ": arXiv metadata record without a string \"id\"");
    }
    out[normalize_arxiv_id(id->get<std::string>())] = rec["categories"].get<std::string>();
  });
  return out;
}

// Kept documents wait here until sampling picks among them (bounded memory: only offsets stay in RAM).
class SpillFile {
 public:
  explicit SpillFile(std::string path) : path_(std::move(path)) {
    file_ = std::fopen(path_.c_str(), "w+b");
    if (!file_) throw Error(path_ + ": cannot create temporary file");
  }
  ~SpillFile() {
    if (file_) std::fclose(file_);
    std::remove(path_.c_str());
  }
  void append(const std::string& line) {
    offsets_.push_back(end_);
    if (std::fwrite(line.data(), 1, line.size(), file_) != line.size()) throw Error(path_ + ": write failed (disk full?)");
    end_ += line.size();
  }
  size_t size() const { return offsets_.size(); }
  std::string read(size_t i) {
    uint64_t start = offsets_[i], end = i + 1 < offsets_.size() ? offsets_[i + 1] : end_;
    std::string s(end - start, '\0');
    if (fseeko(file_, static_cast<off_t>(start), SEEK_SET) != 0 || std::fread(s.data(), 1, s.size(), file_) != s.size()) {
      throw Error(path_ + ": read failed");
    }
    return s;
  }

 private:
  std::string path_;
  FILE* file_ = nullptr;
  std::vector<uint64_t> offsets_;
  uint64_t end_ = 0;
};

// Writes batches of records on its own thread (sha256, zstd and the file writes overlap the next batch's
// reading and analysis), in the order they were queued. At most one batch waits while another is written (bounded memory).
class BackgroundWriter {
 public:
  explicit BackgroundWriter(CorpusWriter& w) : w_(w), thread_([this] { run(); }) {}
  ~BackgroundWriter() { stop(); }
  void push(std::vector<std::string>&& lines) {
    std::unique_lock<std::mutex> lock(m_);
    room_.wait(lock, [&] { return queue_.empty() || error_; });
    if (error_) std::rethrow_exception(error_);
    queue_.push_back(std::move(lines));
    ready_.notify_one();
  }
  // Waits until everything queued is written; rethrows a write error.
  void finish() {
    stop();
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void stop() {
    {
      std::lock_guard<std::mutex> lock(m_);
      done_ = true;
    }
    ready_.notify_one();
    if (thread_.joinable()) thread_.join();
  }
  void run() {
    for (;;) {
      std::vector<std::string> lines;
      {
        std::unique_lock<std::mutex> lock(m_);
        ready_.wait(lock, [&] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        lines = std::move(queue_.front());
        queue_.pop_front();
      }
      room_.notify_one();
      try {
        for (const auto& l : lines) w_.write(l);
      } catch (...) {
        std::lock_guard<std::mutex> lock(m_);
        error_ = std::current_exception();
        queue_.clear();
        room_.notify_all();
        return;
      }
    }
  }
  CorpusWriter& w_;
  std::mutex m_;
  std::condition_variable ready_, room_;
  std::deque<std::vector<std::string>> queue_;
  bool done_ = false;
  std::exception_ptr error_;
  std::thread thread_;  // last: starts after the members it uses exist
};

class Builder {
 public:
  // A Builder either builds, or (collect_repeated) only finds the paragraphs found in two or more documents:
  // the first of CCNet's two passes (mine.py's HashesCollector), with the documents read exactly as the build
  // reads them.
  Builder(const BuildOptions& o, bool collect_repeated = false)
      : o_(o), hasher_(o.dedup.num_perm, o.dedup.shingle, o.dedup.seed), dedup_(o.dedup),
        collect_repeated_(collect_repeated), categories_(load_arxiv_categories(o.arxiv_metadata)) {
    threads_ = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
    if (collect_repeated) return;
    for (const auto& f : o.paragraphs.reference_files) {
      paragraph_index_.load(f);
      if (o.paragraphs.remove_all_copies) references_.load(f);
    }
    counts.paragraphs.reference_hashes = paragraph_index_.size();
    if (o.target_chars > 0) spill_.emplace(o.output + ".spill.tmp");
    else {
      writer_.emplace(o.output, o.zstd_level);
      background_.emplace(*writer_);
    }
  }
  ~Builder() { background_.reset(); }  // joined before the writer it uses goes

  void add(Document&& doc) {
    batch_bytes_ += doc.content.size();
    Item& it = batch_.emplace_back();
    it.kind = Item::Doc;
    it.doc = std::move(doc);
    if (batch_.size() >= 2048 || batch_bytes_ >= (16u << 20)) flush();
  }

  // A JSONL line, parsed in the parallel part of flush().
  void add_jsonl_line(const std::string& path, uint64_t line_number, std::string&& line) {
    batch_bytes_ += line.size();
    Item& it = batch_.emplace_back();
    it.kind = Item::Raw;
    it.text = std::move(line);
    it.where = path;
    it.line = line_number;
    if (batch_.size() >= 2048 || batch_bytes_ >= (16u << 20)) flush();
  }

  // Skips wait in the batch too, so the manifest's skip examples stay in input order.
  void skip(const std::string& reason, const std::string& where) {
    Item& it = batch_.emplace_back();
    it.kind = Item::Skip;
    it.text = reason;
    it.where = where;
    if (batch_.size() >= 2048) flush();
  }

  void flush() {
    size_t n = batch_.size();
    std::vector<Analysis> results(n);
    // Parallel: JSON parsing, paragraph hashes.
    parallel_for(n, [&](size_t i) {
      Item& it = batch_[i];
      if (it.kind == Item::Raw) {
        std::string reason = jsonl_line_to_document(it.text, it.where, it.line, o_.source, it.doc);
        if (reason.empty()) {
          it.kind = Item::Doc;
          it.text = std::string();
        } else {
          it.kind = Item::Skip;
          it.text = std::move(reason);
          it.where.push_back(':');
          it.where.append(std::to_string(it.line));
        }
      }
      if (it.kind == Item::Doc) {
        join_categories(it.doc);
        prepare(it.doc, results[i]);
      }
    });
    // Decisions that depend on earlier documents (paragraph and document dedup) run in input order: the output
    // never depends on threads.
    if (collect_repeated_) {
      for (size_t i = 0; i < n; ++i) {
        if (batch_[i].kind == Item::Doc) collect_repeated(results[i]);
      }
      batch_.clear();
      batch_bytes_ = 0;
      return;
    }
    for (size_t i = 0; i < n; ++i) {
      if (batch_[i].kind == Item::Doc) remove_seen_paragraphs(results[i]);
    }
    // Parallel: the remaining text, filters, hashes, MinHash signatures.
    parallel_for(n, [&](size_t i) {
      if (batch_[i].kind == Item::Doc) analyse(batch_[i].doc, results[i]);
    });
    std::vector<size_t> kept;
    for (size_t i = 0; i < n; ++i) {
      Item& it = batch_[i];
      if (it.kind == Item::Skip) record_skip(it.text, it.where);
      else if (decide(it.doc, results[i])) kept.push_back(i);
    }
    // Parallel: output records (JSON and sha256) of the kept documents; then written in input order.
    std::vector<std::string> lines(kept.size());
    parallel_for(kept.size(), [&](size_t k) { lines[k] = record_line(batch_[kept[k]].doc, results[kept[k]]); });
    for (size_t k = 0; k < kept.size(); ++k) emit(batch_[kept[k]].doc, results[kept[k]], lines[k]);
    if (background_ && !lines.empty()) background_->push(std::move(lines));
    batch_.clear();
    batch_bytes_ = 0;
  }

  void finish(nlohmann::json& output_json) {
    flush();
    if (background_) background_->finish();
    if (spill_) {
      std::vector<size_t> chosen = sample_to_target(items_, o_.target_chars, o_.sample_unit, o_.seed);
      counts.sampled_out = spill_->size() - chosen.size();
      writer_.emplace(o_.output, o_.zstd_level);
      for (size_t i : chosen) {
        writer_->write(spill_->read(i));
        ++counts.written;
        counts.chars_written += items_[i].chars;
        counts.bytes_written += content_bytes_[i];
      }
    }
    writer_->commit();
    spill_.reset();
    output_json = {{"path", o_.output},
                   {"compression", wants_zstd(o_.output) ? "zstd" : "none"},
                   {"file_bytes", writer_->file_bytes()},
                   {"sha256", writer_->file_sha256()},
                   {"jsonl_bytes", writer_->jsonl_bytes()},
                   {"jsonl_sha256", writer_->jsonl_sha256()}};
  }

  BuildCounts counts;
  nlohmann::json examples_ = nlohmann::json::array();
  uint64_t dedup_bytes() const { return dedup_.memory_bytes() + paragraph_index_.memory_bytes(); }
  const ParagraphIndex& paragraph_index() const { return paragraph_index_; }
  ParagraphIndex take_repeated() { return std::move(repeated_); }
  void set_repeated(ParagraphIndex repeated) { repeated_ = std::move(repeated); }

 private:
  // CCNet hashes the paragraphs of every page it reads, before language identification; pages shorter than its
  // min_len it never reads (process_wet_file.py), so their paragraphs are not remembered. Pages outside the
  // date window are outside the crawl being cleaned: not remembered either.
  void prepare(const Document& doc, Analysis& a) const {
    a.chars_read = a.chars = count_chars(doc.content);
    if (auto r = category_reason(doc, o_.category_prefix); !r.empty()) {
      a.decision.keep = false;
      a.decision.reason = r;
      return;
    }
    if (o_.paragraphs.enabled && a.chars >= std::max<uint64_t>(o_.filter.min_chars, 1) &&
        date_filter_reason(doc.date, o_.filter).empty()) {
      a.paragraphs = split_paragraphs(doc.content);
    }
  }

  // First pass of remove_all_copies: each document's distinct hashes; one met in an earlier document too is
  // repeated (flat_hash_set.add marks a key added again; repeats within one document are not marked).
  void collect_repeated(const Analysis& a) {
    std::vector<uint64_t> hashes;
    for (const auto& p : a.paragraphs) hashes.push_back(p.hash);
    std::sort(hashes.begin(), hashes.end());
    hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
    for (uint64_t h : hashes) {
      if (paragraph_index_.seen_before(h)) repeated_.seen_before(h);
    }
  }

  // In input order: a paragraph seen before (earlier in the build or in a reference file) goes; with
  // remove_all_copies, one found in two or more documents or in a reference file goes, and a repeat within the
  // document (CCNet's finalize_doc).
  void remove_seen_paragraphs(Analysis& a) {
    a.keep_paragraph.assign(a.paragraphs.size(), true);
    std::unordered_set<uint64_t> in_document;
    for (size_t i = 0; i < a.paragraphs.size(); ++i) {
      ++counts.paragraphs.seen;
      uint64_t h = a.paragraphs[i].hash;
      bool seen = paragraph_index_.seen_before(h);
      if (o_.paragraphs.remove_all_copies) {
        seen = repeated_.contains(h) || references_.contains(h) || !in_document.insert(h).second;
      }
      if (seen) {
        a.keep_paragraph[i] = false;
        a.paragraphs_removed = true;
        ++counts.paragraphs.removed;
      }
    }
    counts.paragraphs.documents_changed += a.paragraphs_removed;
  }

  void analyse(Document& doc, Analysis& a) const {
    if (!a.decision.keep) return;  // the category rule dropped it
    if (a.paragraphs_removed) {
      doc.content = remove_paragraphs(doc.content, a.paragraphs, a.keep_paragraph);
      a.chars = count_chars(doc.content);
    }
    a.paragraphs = {};
    a.decision = apply_filters(doc, o_.filter);
    if (!a.decision.keep) {
      a.paragraph_duplicate = a.paragraphs_removed && (a.decision.reason == "empty" || a.decision.reason == "too_short");
      return;
    }
    a.fingerprint = exact_fingerprint(doc.content);
    if (o_.dedup.near) {
      a.signature = hasher_.signature(doc.content);
      a.band_keys = dedup_.band_keys(a.signature);  // const, thread-safe; offer() below only probes
    }
  }

  // Runs f(i) for i in [0, n) on up to threads_ threads (contiguous ranges); the first exception is rethrown.
  template <class F>
  void parallel_for(size_t n, const F& f) {
    size_t t = std::min<size_t>(static_cast<size_t>(threads_), std::max<size_t>(n / 16, 1));
    std::exception_ptr error;
    std::mutex error_mutex;
    auto work = [&](size_t begin, size_t end) {
      try {
        for (size_t i = begin; i < end; ++i) f(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    };
    std::vector<std::thread> pool;
    for (size_t k = 1; k < t; ++k) pool.emplace_back(work, n * k / t, n * (k + 1) / t);
    work(0, n / t);
    for (auto& th : pool) th.join();
    if (error) std::rethrow_exception(error);
  }

  void join_categories(Document& doc) const {
    if (categories_.empty()) return;
    auto id = doc.meta.find("arxiv_id");
    if (id == doc.meta.end() || !id->is_string()) return;
    auto it = categories_.find(normalize_arxiv_id(id->get<std::string>()));
    if (it != categories_.end()) doc.meta["categories"] = it->second;
  }

  void record_skip(const std::string& reason, const std::string& where) {
    ++counts.read;
    ++counts.skipped[reason];
    if (examples_.size() < 100) examples_.push_back({{"reason", reason}, {"where", where}});
  }

  // Counts and dedup for one document, in input order; true when it is kept (its record is then emitted).
  bool decide(const Document& doc, Analysis& a) {
    ++counts.read;
    counts.html_nesting_capped += doc.html_nesting_capped;
    uint64_t id = next_id_++;
    counts.chars_read += a.chars_read;
    counts.paragraphs.characters_removed += a.chars_read - a.chars;
    if (a.paragraph_duplicate) {
      ++counts.paragraph_duplicates;
      return false;
    }
    counts.chars_after_paragraphs += a.chars;
    if (!a.decision.keep) {
      ++counts.filtered[a.decision.reason];
      return false;
    }
    counts.chars_after_filters += a.chars;
    DedupVerdict v = o_.dedup.near ? dedup_.offer(a.fingerprint, a.signature, a.band_keys, id)
                                   : dedup_.offer(a.fingerprint, a.signature, id);
    if (v.reason == "exact_duplicate") { ++counts.exact_duplicates; return false; }
    if (v.reason == "near_duplicate") { ++counts.near_duplicates; return false; }
    counts.chars_after_dedup += a.chars;
    a.content_bytes = doc.content.size();
    return true;
  }

  // A kept document's record → the spill file (sampling) or the output.
  void emit(const Document& doc, const Analysis& a, const std::string& line) {
    if (spill_) {
      spill_->append(line);
      std::string repo = doc.repo.empty() ? doc.source : doc.repo;
      auto [it, inserted] = repo_ids_.try_emplace(repo, static_cast<uint32_t>(repo_ids_.size()));
      items_.push_back({a.chars, it->second});
      content_bytes_.push_back(a.content_bytes);
    } else {  // written by background_ after the batch
      ++counts.written;
      counts.chars_written += a.chars;
      counts.bytes_written += a.content_bytes;
    }
  }

  std::string record_line(Document& doc, const Analysis& a) const {
    nlohmann::json meta = o_.keep_meta ? std::move(doc.meta) : nlohmann::json::object();
    // Provenance already present (a merge of earlier outputs) is kept; new fields fill the gaps.
    auto set_if_absent = [&](const char* key, const std::string& value) {
      if (!value.empty() && !meta.contains(key)) meta[key] = value;
    };
    set_if_absent("source", doc.source);
    if (doc.locator.rfind("line ", 0) == 0) {
      if (!meta.contains("line")) meta["line"] = std::stoull(doc.locator.substr(5));
    } else {
      set_if_absent(doc.locator.rfind("http", 0) == 0 ? "url" : "path", doc.locator);
    }
    set_if_absent("date", doc.date);
    set_if_absent("repo", doc.repo);
    meta["hashes"] = {{"exact_xxh64", hex_u64(a.fingerprint)}, {"sha256", sha256_hex(doc.content)}};
    if (!a.decision.scores.empty()) meta["scores"] = a.decision.scores;
    nlohmann::json rec = {{"content", std::move(doc.content)},
                          {"subset", doc.subset.empty() ? o_.subset : doc.subset},
                          {"meta", std::move(meta)}};
    return rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }

  const BuildOptions& o_;
  int threads_ = 1;
  MinHasher hasher_;
  Deduplicator dedup_;
  ParagraphIndex paragraph_index_;  // every paragraph hash seen (references included)
  ParagraphIndex references_;       // remove_all_copies: the reference files' hashes
  ParagraphIndex repeated_;         // remove_all_copies: paragraphs in two or more documents (first pass)
  bool collect_repeated_ = false;
  // A batch entry: a document, a JSONL line not parsed yet, or a skip (reason in `text`).
  struct Item {
    enum Kind : uint8_t { Doc, Raw, Skip } kind = Doc;
    Document doc;
    std::string text;   // Raw: the line; Skip: the reason
    std::string where;  // Raw: the file; Skip: where
    uint64_t line = 0;  // Raw: its line number
  };
  std::vector<Item> batch_;
  size_t batch_bytes_ = 0;
  uint64_t next_id_ = 0;
  std::optional<SpillFile> spill_;
  std::optional<CorpusWriter> writer_;
  std::optional<BackgroundWriter> background_;
  std::vector<SampleItem> items_;
  std::vector<uint64_t> content_bytes_;
  std::unordered_map<std::string, uint32_t> repo_ids_;
  std::unordered_map<std::string, std::string> categories_;  // arXiv id -> "math.AG cs.LG"
};

void validate(const BuildOptions& o) {
  if (o.inputs.empty()) throw UsageError("corpus build: no INPUT given");
  if (!o.output.ends_with(".jsonl") && !o.output.ends_with(".jsonl.zst")) {
    throw UsageError("-o " + o.output + ": the output must end in .jsonl or .jsonl.zst");
  }
  if (o.source.use_pandoc && !pandoc_available()) {
    throw Error("--pandoc: pandoc is not installed (apt-get install pandoc), or drop --pandoc to use the built-in "
                "LaTeX converter");
  }
}

nlohmann::json counts_json(const BuildCounts& c) {
  return {{"read", c.read},
          {"skipped", c.skipped},
          {"skipped_total", c.total(c.skipped)},
          {"filtered", c.filtered},
          {"filtered_total", c.total(c.filtered)},
          {"paragraph_duplicates", c.paragraph_duplicates},
          {"paragraphs", {{"seen", c.paragraphs.seen}, {"removed", c.paragraphs.removed},
                          {"characters_removed", c.paragraphs.characters_removed},
                          {"documents_changed", c.paragraphs.documents_changed},
                          {"reference_hashes", c.paragraphs.reference_hashes}}},
          {"exact_duplicates", c.exact_duplicates},
          {"near_duplicates", c.near_duplicates},
          {"sampled_out", c.sampled_out},
          {"written", c.written},
          {"ignored_records", c.ignored},
          {"html_nesting_capped", c.html_nesting_capped}};
}

}  // namespace

nlohmann::json parameters_json(const BuildOptions& o) {
  const auto& f = o.filter;
  const auto& s = o.source;
  return {
      {"preset", o.preset}, {"subset", o.subset}, {"seed", o.seed},
      {"source", {{"extensions", s.extensions}, {"text_field", s.text_field}, {"date_field", s.date_field},
                  {"repo_field", s.repo_field}, {"max_document_bytes", s.max_document_bytes}, {"papers", s.papers},
                  {"latex_converter", s.use_pandoc ? "pandoc" : "builtin"}, {"pandoc_timeout_s", s.pandoc_timeout},
                  {"repo_depth", s.repo_depth}, {"shard", std::to_string(s.shard_index) + "/" + std::to_string(s.shard_count)}}},
      {"filters", {{"min_chars", f.min_chars}, {"max_chars", f.max_chars}, {"language", f.language},
                   {"language_min_confidence", f.language_min_confidence}, {"date_after", f.date_after},
                   {"date_before", f.date_before}, {"keep_undated", f.keep_undated},
                   {"category_prefix", o.category_prefix}, {"arxiv_metadata", o.arxiv_metadata},
                   {"code", {{"enabled", f.code.enabled}, {"max_line_length", f.code.max_line_length},
                             {"max_mean_line_length", f.code.max_mean_line_length},
                             {"min_alnum_fraction", f.code.min_alnum_fraction},
                             {"drop_autogenerated", f.code.drop_autogenerated},
                             {"config_or_test_drop_prob", f.code.config_or_test_drop_prob},
                             {"no_keyword_drop_prob", f.code.no_keyword_drop_prob},
                             {"max_assignments_to_drop", f.code.max_assignments_to_drop}}},
                   {"gopher", {{"enabled", f.gopher.enabled}, {"min_words", f.gopher.min_words},
                               {"max_words", f.gopher.max_words}, {"min_mean_word_length", f.gopher.min_mean_word_length},
                               {"max_mean_word_length", f.gopher.max_mean_word_length},
                               {"max_symbol_word_ratio", f.gopher.max_symbol_word_ratio},
                               {"max_bullet_line_fraction", f.gopher.max_bullet_line_fraction},
                               {"max_ellipsis_line_fraction", f.gopher.max_ellipsis_line_fraction},
                               {"min_alpha_word_fraction", f.gopher.min_alpha_word_fraction},
                               {"min_stop_words", f.gopher.min_stop_words}}}}},
      {"paragraph_dedup", {{"enabled", o.paragraphs.enabled}, {"all_copies", o.paragraphs.remove_all_copies},
                           {"reference_files", o.paragraphs.reference_files},
                           {"write_hashes", o.paragraphs.write_hashes},
                           {"normalization", "cc_net text_normalizer.normalize_for_dedup"},
                           {"hash", "first 8 bytes of SHA-1, little-endian (cc_net dedup.str_hash)"},
                           {"keeps", o.paragraphs.remove_all_copies ? "no copy of a paragraph found in two or more documents (cc_net mine.py)"
                                                                    : "first occurrence (cc_net dedup.deduplicate)"}}},
      {"dedup", {{"exact", o.dedup.exact}, {"near", o.dedup.near}, {"num_perm", o.dedup.num_perm},
                 {"bands", o.dedup.bands}, {"rows", o.dedup.rows}, {"jaccard", o.dedup.threshold},
                 {"shingle", o.dedup.shingle}, {"tokens", "split on non-identifier characters"}}},
      {"sampling", {{"target_chars", o.target_chars},
                    {"unit", o.sample_unit == SampleUnit::Document ? "document" : "repository"}}},
  };
}

BuildResult build_corpus(const BuildOptions& o, const std::function<void(const BuildProgress&)>& progress) {
  validate(o);
  auto start = std::chrono::steady_clock::now();
  std::vector<InputFile> inputs = list_inputs(o.inputs, o.source);
  std::optional<ParagraphIndex> repeated;
  if (o.paragraphs.enabled && o.paragraphs.remove_all_copies) {
    Builder first(o, /*collect_repeated=*/true);
    SourceSink collect{[&](Document&& d) { first.add(std::move(d)); }, [&](const std::string&, const std::string&) {},
                       [&](const std::string&) {},
                       [&](const std::string& path, uint64_t line_number, std::string&& line) {
                         first.add_jsonl_line(path, line_number, std::move(line));
                       }};
    for (const auto& in : inputs) read_input(in, o.source, collect);
    first.flush();
    repeated = first.take_repeated();
  }
  Builder b(o);
  if (repeated) b.set_repeated(std::move(*repeated));
  SourceSink sink{[&](Document&& d) { b.add(std::move(d)); },
                  [&](const std::string& reason, const std::string& where) { b.skip(reason, where); },
                  [&](const std::string& what) { ++b.counts.ignored[what]; },
                  [&](const std::string& path, uint64_t line_number, std::string&& line) {
                    b.add_jsonl_line(path, line_number, std::move(line));
                  }};
  BuildProgress p{0, inputs.size(), 0, 0, 0};
  nlohmann::json inputs_json = nlohmann::json::array();
  for (const auto& in : inputs) {
    p.bytes_total += in.bytes;
    inputs_json.push_back({{"path", in.path}, {"kind", input_kind_name(in.kind)}, {"bytes", in.bytes}});
  }
  for (const auto& in : inputs) {
    read_input(in, o.source, sink);
    ++p.files_done;
    p.bytes_done += in.bytes;
    p.documents = b.counts.read;
    if (progress) progress(p);
  }
  nlohmann::json output_json;
  b.finish(output_json);
  if (!o.paragraphs.write_hashes.empty()) b.paragraph_index().write(o.paragraphs.write_hashes);
  BuildResult r;
  r.counts = b.counts;
  r.input_bytes = p.bytes_total;
  r.dedup_index_bytes = b.dedup_bytes();
  const BuildCounts& c = r.counts;
  r.manifest = {
      {"lmzip_version", kVersion},
      {"command", "corpus build"},
      {"inputs", inputs_json},
      {"parameters", parameters_json(o)},
      {"counts", counts_json(c)},
      {"stages", nlohmann::json::array({
           {{"stage", "read"}, {"documents", c.read}},
           {{"stage", "readable"}, {"documents", c.read - c.total(c.skipped)}, {"characters", c.chars_read}},
           {{"stage", "paragraphs_deduplicated"}, {"documents", c.read - c.total(c.skipped) - c.paragraph_duplicates},
            {"characters", c.chars_after_paragraphs}},
           {{"stage", "filtered"},
            {"documents", c.read - c.total(c.skipped) - c.paragraph_duplicates - c.total(c.filtered)},
            {"characters", c.chars_after_filters}},
           {{"stage", "deduplicated"}, {"documents", c.written + c.sampled_out}, {"characters", c.chars_after_dedup}},
           {{"stage", "sampled"}, {"documents", c.written}, {"characters", c.chars_written}}})},
      {"totals", {{"documents", c.written}, {"characters", c.chars_written}, {"bytes", c.bytes_written}}},
      {"output", output_json},
      {"dedup_index_bytes", r.dedup_index_bytes},
      {"skip_examples", b.examples_},
  };
  r.manifest_path = manifest_path_for(o.output);
  write_file_atomic(r.manifest_path, r.manifest.dump(2) + "\n");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace lmzip::corpus
