// The results store: every `lmzip bpc` run (and imported benchmark scores) in one SQLite database, so fits
// and reports can join compression and benchmark results by model name.
//
// Durability and concurrency: WAL journal with synchronous=FULL, every write one BEGIN IMMEDIATE transaction,
// and a busy timeout, so several processes can record at once and a process killed at any point (kill -9)
// leaves either the whole run or nothing. The schema is versioned (table schema_version, one row per applied
// migration) and migrated forward when a store is opened; a database from a newer lmzip is refused.
//
// Thread safety: one ResultsStore per thread (a connection is not shared); any number per process or machine.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lmzip/stats/fit.h"

namespace lmzip {

namespace sqlite {
class Database;
}

struct BpcRunRecord {  // one corpus scored by one model
  std::string model_name;             // --name or derived from the file name (zoo-m2-F16.gguf -> "zoo-m2-F16")
  std::string model_path, model_id;   // model_id: a hash identifying weights+tokenizer
  uint64_t model_bytes = 0;
  std::string corpus_name, corpus_path, corpus_sha256;
  std::string protocol;
  int64_t window = 0, stride = 0;
  uint64_t documents = 0, chars = 0, bytes = 0, tokens = 0, windows = 0, scored_tokens = 0;
  double total_nats = 0, bpc = 0, bpb = 0, bits_per_token = 0, ppl = 0;
  std::string lmzip_version, host;
  int threads = 0;
  std::string started_at, finished_at;  // ISO 8601 UTC
  double seconds = 0;
  std::string extra_json;  // anything else, as a JSON object text (empty = none)
};

struct StoredBpcRun {
  int64_t id = 0;
  std::string recorded_at;  // ISO 8601 UTC, set by the store
  BpcRunRecord run;
};

// One benchmark score of one model. Scores are fractions (0..1).
struct ScoreRecord {
  std::string model_name{}, benchmark{};
  std::string metric{};          // e.g. "acc_norm" (empty when unknown)
  double score = 0;
  std::optional<double> stderr_value{};
  std::string source{};          // where it came from: an imported file, "manual"
};

struct StoredScore {
  int64_t id = 0;
  std::string recorded_at;
  ScoreRecord score;
};

struct BpcRunFilter {
  std::string model_name{};   // empty = any
  std::string corpus_name{};  // empty = any
};

class ResultsStore {
 public:
  static std::string default_path();  // $LMZIP_DB, else ./lmzip-results.sqlite
  static int latest_schema_version();

  // Opens or creates the database and migrates its schema. Throws lmzip::Error naming the file when it cannot
  // be opened, is not an lmzip database, or has a newer schema than this lmzip knows.
  explicit ResultsStore(const std::string& path);
  // Opens an existing database without creating one (for read-only commands): throws if `path` is missing.
  static ResultsStore open_existing(const std::string& path);
  ~ResultsStore();
  ResultsStore(ResultsStore&&) noexcept;
  ResultsStore& operator=(ResultsStore&&) noexcept;

  const std::string& path() const { return path_; }
  int schema_version() const;

  // Records one run in one transaction; returns its id. Throws lmzip::Error for a run without model or corpus
  // name, a non-finite number, or extra_json that is not a JSON object.
  int64_t record_bpc(const BpcRunRecord& run);
  // Records several runs in one transaction (all or none); returns the id of each.
  std::vector<int64_t> record_bpc_runs(const std::vector<BpcRunRecord>& runs);
  std::vector<StoredBpcRun> bpc_runs(const BpcRunFilter& filter = {}) const;  // oldest first
  std::optional<StoredBpcRun> bpc_run(int64_t id) const;

  // Records scores in one transaction; a (model, benchmark) already present is replaced. Returns the count.
  size_t record_scores(const std::vector<ScoreRecord>& scores);
  std::vector<StoredScore> scores() const;  // by model, then benchmark

  // BPC (latest run per model and corpus) and scores joined by model name, for fits and reports.
  stats::Dataset dataset() const;

 private:
  ResultsStore(const std::string& path, bool create);
  void migrate();
  void refuse_foreign_database();
  std::string path_;
  std::unique_ptr<sqlite::Database> db_;
};

}  // namespace lmzip
