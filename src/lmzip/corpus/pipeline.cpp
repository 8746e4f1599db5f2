#include "lmzip/corpus/pipeline.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <cstdio>
#include <exception>
#include <filesystem>
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
#include "lmzip/corpus/shards.h"
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
  // Build: every stage. CollectRepeated: only find the paragraphs found in two or more documents (the first of
  // CCNet's two passes, mine.py's HashesCollector), with the documents read exactly as the build reads them.
  // Shard: only the stages that depend on the document alone; the rest is passed on to the merge (shards.h).
  enum class Mode { Build, CollectRepeated, Shard };
  Builder(const BuildOptions& o, Mode mode = Mode::Build)
      : o_(o), hasher_(o.dedup.num_perm, o.dedup.shingle, o.dedup.seed), dedup_(o.dedup),
        collect_repeated_(mode == Mode::CollectRepeated), shard_(mode == Mode::Shard),
        categories_(load_arxiv_categories(o.arxiv_metadata)) {
    threads_ = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
    if (collect_repeated_) return;
    if (shard_) {  // the merge loads the reference hashes and samples
      writer_.emplace(o.output, o.zstd_level);
      background_.emplace(*writer_);
      return;
    }
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

  // The documents and skips that follow come from the input of this rank in the whole sorted list.
  void begin_input(uint64_t rank) {
    file_rank_ = rank;
    next_item_ = 0;
  }

  void add(Document&& doc) {
    batch_bytes_ += doc.content.size();
    Item& it = batch_.emplace_back();
    it.rank = {file_rank_, next_item_++};
    it.kind = Item::Doc;
    it.doc = std::move(doc);
    if (batch_.size() >= 2048 || batch_bytes_ >= (16u << 20)) flush();
  }

  // A JSONL line, parsed in the parallel part of flush().
  void add_jsonl_line(const std::string& path, uint64_t line_number, std::string&& line) {
    batch_bytes_ += line.size();
    Item& it = batch_.emplace_back();
    it.rank = {file_rank_, next_item_++};
    it.kind = Item::Raw;
    it.text = std::move(line);
    it.where = path;
    it.line = line_number;
    if (batch_.size() >= 2048 || batch_bytes_ >= (16u << 20)) flush();
  }

  // Skips wait in the batch too, so the manifest's skip examples stay in input order.
  void skip(const std::string& reason, const std::string& where) {
    Item& it = batch_.emplace_back();
    it.rank = {file_rank_, next_item_++};
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
    if (shard_) {
      pass_on(results);
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
      if (it.kind == Item::Skip) record_skip(it.text, it.where, it.rank);
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
  uint64_t pending = 0;  // Shard: documents passed on to the merge
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

  void record_skip(const std::string& reason, const std::string& where, InputRank rank) {
    ++counts.read;
    ++counts.skipped[reason];
    if (examples_.size() >= 100) return;
    examples_.push_back({{"reason", reason}, {"where", where}});
    if (shard_) examples_.back()["rank"] = {rank.file, rank.item};  // the merge interleaves the shards' skips
  }

  // Shard: a document none of whose paragraphs is hashed cannot change before the filters, so their verdict on
  // it is final here; a document they drop (or the category rule dropped) is counted as one build counts it.
  // Every other document goes to the merge whole, with its input rank: its paragraphs, filters and dedup
  // depend on the documents before it in the other shards.
  void pass_on(std::vector<Analysis>& results) {
    parallel_for(batch_.size(), [&](size_t i) {
      Analysis& a = results[i];
      if (batch_[i].kind == Item::Doc && a.decision.keep && a.paragraphs.empty()) {
        a.decision = apply_filters(batch_[i].doc, o_.filter);
      }
    });
    std::vector<std::string> lines;
    for (size_t i = 0; i < batch_.size(); ++i) {
      Item& it = batch_[i];
      if (it.kind == Item::Skip) {
        record_skip(it.text, it.where, it.rank);
      } else if (!results[i].decision.keep) {
        decide(it.doc, results[i]);
      } else {
        lines.push_back(pending_record_line(it.doc, it.rank));
        ++pending;
      }
    }
    if (!lines.empty()) background_->push(std::move(lines));
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
  bool shard_ = false;
  uint64_t file_rank_ = 0, next_item_ = 0;
  // A batch entry: a document, a JSONL line not parsed yet, or a skip (reason in `text`).
  struct Item {
    enum Kind : uint8_t { Doc, Raw, Skip } kind = Doc;
    Document doc;
    std::string text;   // Raw: the line; Skip: the reason
    std::string where;  // Raw: the file; Skip: where
    uint64_t line = 0;  // Raw: its line number
    InputRank rank;
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

namespace {

nlohmann::json stages_json(const BuildCounts& c) {
  return nlohmann::json::array({
      {{"stage", "read"}, {"documents", c.read}},
      {{"stage", "readable"}, {"documents", c.read - c.total(c.skipped)}, {"characters", c.chars_read}},
      {{"stage", "paragraphs_deduplicated"}, {"documents", c.read - c.total(c.skipped) - c.paragraph_duplicates},
       {"characters", c.chars_after_paragraphs}},
      {{"stage", "filtered"},
       {"documents", c.read - c.total(c.skipped) - c.paragraph_duplicates - c.total(c.filtered)},
       {"characters", c.chars_after_filters}},
      {{"stage", "deduplicated"}, {"documents", c.written + c.sampled_out}, {"characters", c.chars_after_dedup}},
      {{"stage", "sampled"}, {"documents", c.written}, {"characters", c.chars_written}}});
}

nlohmann::json manifest_json(const std::string& command, nlohmann::json inputs, const BuildOptions& o,
                             const BuildCounts& c, nlohmann::json output, uint64_t dedup_index_bytes,
                             nlohmann::json skip_examples) {
  return {{"lmzip_version", kVersion},
          {"command", command},
          {"inputs", std::move(inputs)},
          {"parameters", parameters_json(o)},
          {"counts", counts_json(c)},
          {"stages", stages_json(c)},
          {"totals", {{"documents", c.written}, {"characters", c.chars_written}, {"bytes", c.bytes_written}}},
          {"output", std::move(output)},
          {"dedup_index_bytes", dedup_index_bytes},
          {"skip_examples", std::move(skip_examples)}};
}

// Identifies the whole input list (paths and sizes), so a merge can tell shards of another input list apart.
std::string input_list_sha256(const std::vector<InputFile>& inputs) {
  std::string list;
  for (const auto& in : inputs) list += in.path + "\t" + std::to_string(in.bytes) + "\n";
  return sha256_hex(list);
}

// What a shard counted itself (the documents it did not pass on): read, skipped, filtered, ignored records,
// capped HTML and their characters. Every other count is the merge's.
void add_shard_counts(const ShardOutput& s, BuildCounts& c) {
  try {
    const nlohmann::json& k = s.manifest.at("counts");
    const nlohmann::json& sh = s.manifest.at("shard");
    c.read += k.at("read").get<uint64_t>();
    for (const auto& [name, field] : {std::pair{&c.skipped, "skipped"}, {&c.filtered, "filtered"}, {&c.ignored, "ignored_records"}}) {
      for (const auto& [reason, n] : k.at(field).items()) (*name)[reason] += n.get<uint64_t>();
    }
    c.html_nesting_capped += k.at("html_nesting_capped").get<uint64_t>();
    c.chars_read += sh.at("characters_read").get<uint64_t>();
    c.chars_after_paragraphs += sh.at("characters_after_paragraphs").get<uint64_t>();
  } catch (const nlohmann::json::exception&) {
    throw Error(s.manifest_path + ": not the manifest of `corpus build --shard` (its counts are incomplete)");
  }
}

}  // namespace

// The inverse of parameters_json (a merge takes its stages from the shards' manifests).
BuildOptions options_from_parameters(const nlohmann::json& p) {
  BuildOptions o;
  try {
    const auto& src = p.at("source");
    const auto& f = p.at("filters");
    const auto& code = f.at("code");
    const auto& g = f.at("gopher");
    const auto& par = p.at("paragraph_dedup");
    const auto& d = p.at("dedup");
    const auto& smp = p.at("sampling");
    o.preset = p.at("preset");
    o.subset = p.at("subset");
    o.seed = o.dedup.seed = o.filter.seed = p.at("seed");
    o.source.extensions = src.at("extensions").get<std::vector<std::string>>();
    o.source.text_field = src.at("text_field");
    o.source.date_field = src.at("date_field");
    o.source.repo_field = src.at("repo_field");
    o.source.max_document_bytes = src.at("max_document_bytes");
    o.source.papers = src.at("papers");
    o.source.use_pandoc = src.at("latex_converter") == "pandoc";
    o.source.pandoc_timeout = src.at("pandoc_timeout_s");
    o.source.repo_depth = src.at("repo_depth");
    std::string shard = src.at("shard");
    o.source.shard_index = std::stoi(shard.substr(0, shard.find('/')));
    o.source.shard_count = std::stoi(shard.substr(shard.find('/') + 1));
    o.filter.min_chars = f.at("min_chars");
    o.filter.max_chars = f.at("max_chars");
    o.filter.language = f.at("language");
    o.filter.language_min_confidence = f.at("language_min_confidence");
    o.filter.date_after = f.at("date_after");
    o.filter.date_before = f.at("date_before");
    o.filter.keep_undated = f.at("keep_undated");
    o.category_prefix = f.at("category_prefix");
    o.arxiv_metadata = f.at("arxiv_metadata");
    auto& c = o.filter.code;
    c.enabled = code.at("enabled");
    c.max_line_length = code.at("max_line_length");
    c.max_mean_line_length = code.at("max_mean_line_length");
    c.min_alnum_fraction = code.at("min_alnum_fraction");
    c.drop_autogenerated = code.at("drop_autogenerated");
    c.config_or_test_drop_prob = code.at("config_or_test_drop_prob");
    c.no_keyword_drop_prob = code.at("no_keyword_drop_prob");
    c.max_assignments_to_drop = code.at("max_assignments_to_drop");
    auto& go = o.filter.gopher;
    go.enabled = g.at("enabled");
    go.min_words = g.at("min_words");
    go.max_words = g.at("max_words");
    go.min_mean_word_length = g.at("min_mean_word_length");
    go.max_mean_word_length = g.at("max_mean_word_length");
    go.max_symbol_word_ratio = g.at("max_symbol_word_ratio");
    go.max_bullet_line_fraction = g.at("max_bullet_line_fraction");
    go.max_ellipsis_line_fraction = g.at("max_ellipsis_line_fraction");
    go.min_alpha_word_fraction = g.at("min_alpha_word_fraction");
    go.min_stop_words = g.at("min_stop_words");
    o.paragraphs.enabled = par.at("enabled");
    o.paragraphs.remove_all_copies = par.at("all_copies");
    o.paragraphs.reference_files = par.at("reference_files").get<std::vector<std::string>>();
    o.paragraphs.write_hashes = par.at("write_hashes");
    o.dedup.exact = d.at("exact");
    o.dedup.near = d.at("near");
    o.dedup.num_perm = d.at("num_perm");
    o.dedup.bands = d.at("bands");
    o.dedup.rows = d.at("rows");
    o.dedup.threshold = d.at("jaccard");
    o.dedup.shingle = d.at("shingle");
    o.target_chars = smp.at("target_chars");
    o.sample_unit = smp.at("unit") == "repository" ? SampleUnit::Repository : SampleUnit::Document;
  } catch (const std::exception& e) {
    throw Error(std::string("corpus parameters: a field is missing or of the wrong type (") + e.what() + ")");
  }
  if (parameters_json(o) != p) throw Error("corpus parameters: written by another lmzip (they do not read back the same)");
  return o;
}

BuildResult build_corpus(const BuildOptions& o, const std::function<void(const BuildProgress&)>& progress) {
  validate(o);
  auto start = std::chrono::steady_clock::now();
  std::vector<InputFile> all_inputs;
  std::vector<InputFile> inputs = list_inputs(o.inputs, o.source, &all_inputs);
  bool shard = o.source.shard_count > 1;  // the merge runs the stages that need every shard's documents
  std::optional<ParagraphIndex> repeated;
  if (o.paragraphs.enabled && o.paragraphs.remove_all_copies && !shard) {
    Builder first(o, Builder::Mode::CollectRepeated);
    SourceSink collect{[&](Document&& d) { first.add(std::move(d)); }, [&](const std::string&, const std::string&) {},
                       [&](const std::string&) {},
                       [&](const std::string& path, uint64_t line_number, std::string&& line) {
                         first.add_jsonl_line(path, line_number, std::move(line));
                       }};
    for (const auto& in : inputs) read_input(in, o.source, collect);
    first.flush();
    repeated = first.take_repeated();
  }
  Builder b(o, shard ? Builder::Mode::Shard : Builder::Mode::Build);
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
    if (shard) inputs_json.back()["rank"] = in.rank;
  }
  for (const auto& in : inputs) {
    b.begin_input(in.rank);
    read_input(in, o.source, sink);
    ++p.files_done;
    p.bytes_done += in.bytes;
    p.documents = b.counts.read;
    if (progress) progress(p);
  }
  nlohmann::json output_json;
  b.finish(output_json);
  if (!o.paragraphs.write_hashes.empty() && !shard) b.paragraph_index().write(o.paragraphs.write_hashes);
  BuildResult r;
  r.counts = b.counts;
  r.input_bytes = p.bytes_total;
  r.dedup_index_bytes = b.dedup_bytes();
  r.manifest = manifest_json(shard ? "corpus build --shard" : "corpus build", std::move(inputs_json), o, r.counts,
                             std::move(output_json), r.dedup_index_bytes, b.examples_);
  if (shard) {
    r.manifest["shard"] = {{"index", o.source.shard_index}, {"count", o.source.shard_count},
                           {"inputs_total", all_inputs.size()}, {"inputs_sha256", input_list_sha256(all_inputs)},
                           {"pending", b.pending},
                           {"characters_read", r.counts.chars_read},
                           {"characters_after_paragraphs", r.counts.chars_after_paragraphs}};
  }
  r.manifest_path = manifest_path_for(o.output);
  write_file_atomic(r.manifest_path, r.manifest.dump(2) + "\n");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

BuildResult merge_shards(const MergeOptions& m) {
  auto start = std::chrono::steady_clock::now();
  std::vector<ShardOutput> shards = load_shard_outputs(m.shards);
  nlohmann::json params = shards.front().manifest["parameters"];
  params["source"]["shard"] = "0/1";  // recorded as one build records itself
  BuildOptions o = options_from_parameters(params);
  o.inputs = m.shards;
  o.output = m.output;
  o.threads = m.threads;
  o.zstd_level = m.zstd_level;
  // The shards applied the category rule (and joined the arXiv metadata) to every document they passed on,
  // and converted the LaTeX.
  BuildOptions stages = o;
  stages.category_prefix.clear();
  stages.arxiv_metadata.clear();
  stages.source.use_pandoc = false;
  validate(stages);
  for (const auto& s : shards) {
    std::error_code ec;
    if (std::filesystem::equivalent(s.path, m.output, ec)) throw UsageError("-o " + m.output + ": is one of the shards");
  }
  std::optional<ParagraphIndex> repeated;
  if (o.paragraphs.enabled && o.paragraphs.remove_all_copies) {
    Builder first(stages, Builder::Mode::CollectRepeated);
    read_pending_in_input_order(shards, [&](Document&& d) { first.add(std::move(d)); });
    first.flush();
    repeated = first.take_repeated();
  }
  Builder b(stages);
  if (repeated) b.set_repeated(std::move(*repeated));
  read_pending_in_input_order(shards, [&](Document&& d) { b.add(std::move(d)); });
  nlohmann::json output_json;
  b.finish(output_json);
  if (!o.paragraphs.write_hashes.empty()) b.paragraph_index().write(o.paragraphs.write_hashes);
  BuildResult r;
  r.counts = b.counts;
  for (const auto& s : shards) {
    add_shard_counts(s, r.counts);
    for (const auto& in : s.manifest["inputs"]) r.input_bytes += in.value("bytes", uint64_t{0});
  }
  r.dedup_index_bytes = b.dedup_bytes();
  r.manifest = manifest_json("corpus merge", merged_inputs(shards), o, r.counts, std::move(output_json),
                             r.dedup_index_bytes, merged_skip_examples(shards, 100));
  r.manifest["shards"] = m.shards;
  r.manifest_path = manifest_path_for(o.output);
  write_file_atomic(r.manifest_path, r.manifest.dump(2) + "\n");
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

}  // namespace lmzip::corpus
