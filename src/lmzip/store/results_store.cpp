#include "lmzip/store/results_store.h"

#include <chrono>
#include <cmath>
#include <thread>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <variant>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/store/sqlite.h"

namespace lmzip {
namespace {

// The columns of bpc_runs after id and recorded_at, each bound to its BpcRunRecord member, so that insert and
// select can never disagree on order or type.
using Member = std::variant<std::string BpcRunRecord::*, uint64_t BpcRunRecord::*, int64_t BpcRunRecord::*,
                            int BpcRunRecord::*, double BpcRunRecord::*>;
struct Column {
  const char* name;
  Member member;
};

const std::vector<Column>& bpc_columns() {
  using R = BpcRunRecord;
  static const std::vector<Column> c = {
      {"model_name", &R::model_name}, {"model_path", &R::model_path}, {"model_id", &R::model_id},
      {"model_bytes", &R::model_bytes}, {"corpus_name", &R::corpus_name}, {"corpus_path", &R::corpus_path},
      {"corpus_sha256", &R::corpus_sha256}, {"protocol", &R::protocol}, {"window", &R::window},
      {"stride", &R::stride}, {"documents", &R::documents}, {"chars", &R::chars}, {"bytes", &R::bytes},
      {"tokens", &R::tokens}, {"windows", &R::windows}, {"scored_tokens", &R::scored_tokens},
      {"total_nats", &R::total_nats}, {"bpc", &R::bpc}, {"bpb", &R::bpb},
      {"bits_per_token", &R::bits_per_token}, {"ppl", &R::ppl}, {"lmzip_version", &R::lmzip_version},
      {"host", &R::host}, {"threads", &R::threads}, {"started_at", &R::started_at},
      {"finished_at", &R::finished_at}, {"seconds", &R::seconds}, {"extra_json", &R::extra_json},
  };
  return c;
}

std::string sql_type(const Member& m) {
  return std::visit([](auto p) -> std::string {
    using T = std::remove_reference_t<decltype(BpcRunRecord{}.*p)>;
    if constexpr (std::is_same_v<T, std::string>) return "TEXT NOT NULL DEFAULT ''";
    else if constexpr (std::is_same_v<T, double>) return "REAL NOT NULL DEFAULT 0";
    else return "INTEGER NOT NULL DEFAULT 0";
  }, m);
}

void bind_column(sqlite::Statement& st, int index, const Member& m, const BpcRunRecord& r) {
  std::visit([&](auto p) {
    using T = std::remove_cvref_t<decltype(r.*p)>;
    if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, double>) st.bind(index, r.*p);
    else st.bind(index, static_cast<int64_t>(r.*p));  // counts stay far below 2^63
  }, m);
}

void read_column(const sqlite::Statement& st, int index, const Member& m, BpcRunRecord& r) {
  std::visit([&](auto p) {
    using T = std::remove_cvref_t<decltype(r.*p)>;
    if constexpr (std::is_same_v<T, std::string>) r.*p = st.text(index);
    else if constexpr (std::is_same_v<T, double>) r.*p = st.real(index);
    else r.*p = static_cast<T>(st.integer(index));
  }, m);
}

std::string column_list() {
  std::string s;
  for (const auto& c : bpc_columns()) s += std::string(s.empty() ? "" : ", ") + c.name;
  return s;
}

// Schema migrations, applied in order; migration i takes the schema from version i to i+1. Never edit a
// released migration: add a new one.
std::vector<std::string> migrations() {
  std::string runs = "CREATE TABLE bpc_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL";
  for (const auto& c : bpc_columns()) runs += std::string(", ") + c.name + " " + sql_type(c.member);
  runs += ");";
  return {
      // 1: runs and scores
      runs +
          "CREATE TABLE scores (id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL,"
          " model_name TEXT NOT NULL, benchmark TEXT NOT NULL, score REAL NOT NULL, stderr REAL,"
          " source TEXT NOT NULL DEFAULT '', UNIQUE (model_name, benchmark));",
      // 2: the metric a score was read from (lm-eval results carry several per task); lookup indexes
      "ALTER TABLE scores ADD COLUMN metric TEXT NOT NULL DEFAULT '';"
      "CREATE INDEX bpc_runs_model_corpus ON bpc_runs (model_name, corpus_name);",
  };
}

const char* kNow = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

void require_finite(double v, const char* field) {
  if (!std::isfinite(v)) throw Error(std::string("BPC run: field ") + field + " is not a finite number");
}

void validate(const BpcRunRecord& r) {
  if (r.model_name.empty()) throw Error("BPC run: model_name is empty (give the run a --name)");
  if (r.corpus_name.empty()) throw Error("BPC run: corpus_name is empty");
  require_finite(r.total_nats, "total_nats");
  require_finite(r.bpc, "bpc");
  require_finite(r.bpb, "bpb");
  require_finite(r.bits_per_token, "bits_per_token");
  require_finite(r.ppl, "ppl");
  require_finite(r.seconds, "seconds");
  if (!r.extra_json.empty()) {
    auto j = nlohmann::json::parse(r.extra_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) throw Error("BPC run: extra_json is not a JSON object");
  }
}

void validate(const ScoreRecord& s) {
  if (s.model_name.empty()) throw Error("score: model name is empty");
  if (s.benchmark.empty()) throw Error("score for " + s.model_name + ": benchmark name is empty");
  if (!std::isfinite(s.score)) throw Error("score " + s.model_name + "/" + s.benchmark + " is not a finite number");
  if (s.stderr_value && !std::isfinite(*s.stderr_value)) {
    throw Error("score " + s.model_name + "/" + s.benchmark + ": stderr is not a finite number");
  }
}

StoredBpcRun read_run(const sqlite::Statement& st) {
  StoredBpcRun out;
  out.id = st.integer(0);
  out.recorded_at = st.text(1);
  int i = 2;
  for (const auto& c : bpc_columns()) read_column(st, i++, c.member, out.run);
  return out;
}

}  // namespace

std::string ResultsStore::default_path() {
  const char* env = std::getenv("LMZIP_DB");
  return env && *env ? env : "lmzip-results.sqlite";
}

int ResultsStore::latest_schema_version() { return static_cast<int>(migrations().size()); }

ResultsStore::ResultsStore(const std::string& path) : ResultsStore(path, true) {}

ResultsStore ResultsStore::open_existing(const std::string& path) {
  if (!file_exists(path)) {
    throw Error("no results database at " + path + " (record a run with lmzip bpc, import scores with "
                "lmzip results import, or choose one with --db / $LMZIP_DB)");
  }
  return ResultsStore(path, false);
}

ResultsStore::ResultsStore(const std::string& path, bool create)
    : path_(path), db_(std::make_unique<sqlite::Database>(path, create, 30000)) {
  // WAL lets readers run beside one writer; synchronous=FULL makes a commit durable before record_* returns.
  // Switching a new database to WAL can report "locked" at once (without the busy handler) while another
  // process is creating the same file; retry for up to 30 s like the busy timeout.
  for (int attempt = 0;; ++attempt) {
    try {
      auto mode = db_->prepare("PRAGMA journal_mode=WAL");
      if (mode.step() && mode.text(0) != "wal") {
        throw Error("results database " + path + ": cannot use WAL mode (journal_mode is " + mode.text(0) +
                    "; a network file system? put the database on a local disk)");
      }
      break;
    } catch (const Error& e) {
      if (attempt >= 3000 || std::string(e.what()).find("locked") == std::string::npos) throw;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  db_->exec("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
  migrate();
}

ResultsStore::~ResultsStore() = default;
ResultsStore::ResultsStore(ResultsStore&&) noexcept = default;
ResultsStore& ResultsStore::operator=(ResultsStore&&) noexcept = default;

void ResultsStore::migrate() {
  // Under the write lock, so two processes creating the same new database apply each migration once.
  sqlite::Transaction tx(*db_);
  refuse_foreign_database();
  db_->exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)");
  int current = schema_version();
  auto steps = migrations();
  if (current > static_cast<int>(steps.size())) {
    throw Error("results database " + path_ + " has schema version " + std::to_string(current) +
                ", newer than this lmzip knows (" + std::to_string(steps.size()) + "): upgrade lmzip");
  }
  for (int v = current; v < static_cast<int>(steps.size()); ++v) {
    db_->exec(steps[v]);
    db_->prepare(std::string("INSERT INTO schema_version (version, applied_at) VALUES (?, ") + kNow + ")")
        .bind(1, static_cast<int64_t>(v + 1))
        .run();
  }
  tx.commit();
}

// A database with tables but no schema_version is some other program's: never add our tables to it.
void ResultsStore::refuse_foreign_database() {
  auto st = db_->prepare("SELECT COUNT(*), COALESCE(SUM(name = 'schema_version'), 0) FROM sqlite_master"
                         " WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  if (st.step() && st.integer(0) > 0 && st.integer(1) == 0) {
    throw Error("results database " + path_ + " is an SQLite database of another program (it has tables but no "
                "lmzip schema_version): choose another --db");
  }
}

int ResultsStore::schema_version() const {
  auto st = db_->prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version");
  return st.step() ? static_cast<int>(st.integer(0)) : 0;
}

int64_t ResultsStore::record_bpc(const BpcRunRecord& run) { return record_bpc_runs({run}).front(); }

std::vector<int64_t> ResultsStore::record_bpc_runs(const std::vector<BpcRunRecord>& runs) {
  for (const auto& run : runs) validate(run);
  std::string placeholders;
  for (size_t i = 0; i < bpc_columns().size(); ++i) placeholders += ", ?";
  sqlite::Transaction tx(*db_);
  auto st = db_->prepare("INSERT INTO bpc_runs (recorded_at, " + column_list() + ") VALUES (" + kNow +
                         placeholders + ")");
  std::vector<int64_t> ids;
  for (const auto& run : runs) {
    int i = 1;
    for (const auto& c : bpc_columns()) bind_column(st, i++, c.member, run);
    st.run();
    st.reset();
    ids.push_back(db_->last_insert_rowid());
  }
  tx.commit();
  return ids;
}

std::vector<StoredBpcRun> ResultsStore::bpc_runs(const BpcRunFilter& filter) const {
  auto st = db_->prepare("SELECT id, recorded_at, " + column_list() +
                         " FROM bpc_runs WHERE (?1 = '' OR model_name = ?1) AND (?2 = '' OR corpus_name = ?2)"
                         " ORDER BY id");
  st.bind(1, filter.model_name).bind(2, filter.corpus_name);
  std::vector<StoredBpcRun> out;
  while (st.step()) out.push_back(read_run(st));
  return out;
}

std::optional<StoredBpcRun> ResultsStore::bpc_run(int64_t id) const {
  auto st = db_->prepare("SELECT id, recorded_at, " + column_list() + " FROM bpc_runs WHERE id = ?");
  st.bind(1, id);
  if (!st.step()) return std::nullopt;
  return read_run(st);
}

size_t ResultsStore::record_scores(const std::vector<ScoreRecord>& scores) {
  for (const auto& s : scores) validate(s);
  sqlite::Transaction tx(*db_);
  auto st = db_->prepare(std::string("INSERT INTO scores (recorded_at, model_name, benchmark, metric, score, stderr,"
                                     " source) VALUES (") + kNow + ", ?, ?, ?, ?, ?, ?)"
                         " ON CONFLICT (model_name, benchmark) DO UPDATE SET recorded_at = excluded.recorded_at,"
                         " metric = excluded.metric, score = excluded.score, stderr = excluded.stderr,"
                         " source = excluded.source");
  for (const auto& s : scores) {
    st.bind(1, s.model_name).bind(2, s.benchmark).bind(3, s.metric).bind(4, s.score).bind(5, s.stderr_value);
    st.bind(6, s.source);
    st.run();
    st.reset();
  }
  tx.commit();
  return scores.size();
}

std::vector<StoredScore> ResultsStore::scores() const {
  auto st = db_->prepare("SELECT id, recorded_at, model_name, benchmark, metric, score, stderr, source FROM scores"
                         " ORDER BY model_name, benchmark");
  std::vector<StoredScore> out;
  while (st.step()) {
    StoredScore s{.id = st.integer(0), .recorded_at = st.text(1), .score = {}};
    s.score = {.model_name = st.text(2), .benchmark = st.text(3), .metric = st.text(4), .score = st.real(5),
               .stderr_value = st.is_null(6) ? std::nullopt : std::optional<double>(st.real(6)),
               .source = st.text(7)};
    out.push_back(std::move(s));
  }
  return out;
}

stats::Dataset ResultsStore::dataset() const {
  stats::Dataset d;
  d.name = path_;
  // Oldest first, so a later run of the same model on the same corpus replaces an earlier one.
  // The BPC's standard error over documents lives in the run's extra JSON (bpc_stderr; null or absent: unknown).
  auto runs = db_->prepare("SELECT model_name, corpus_name, bpc, extra_json FROM bpc_runs ORDER BY id");
  while (runs.step()) {
    double se = NAN;
    const auto extra = nlohmann::json::parse(runs.text(3), nullptr, false);
    if (extra.is_object() && extra.contains("bpc_stderr") && extra["bpc_stderr"].is_number()) {
      se = extra["bpc_stderr"].get<double>();
    }
    d.add_bpc(runs.text(0), runs.text(1), runs.real(2), se);
  }
  auto sc = db_->prepare("SELECT model_name, benchmark, score FROM scores ORDER BY id");
  while (sc.step()) d.add_score(sc.text(0), sc.text(1), sc.real(2));
  return d;
}

}  // namespace lmzip
