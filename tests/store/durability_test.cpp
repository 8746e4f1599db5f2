// The store's claims under stress: a writer killed with SIGKILL mid-transaction leaves a consistent database
// holding only whole runs; several processes record at once without losing a run; old schemas migrate.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <nlohmann/json.hpp>
#include <thread>

#include "lmzip/core/error.h"
#include "lmzip/store/results_store.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string fresh_db(const std::string& name) {
  std::string path = test::temp_dir() + "/" + name + ".sqlite";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

// A run whose fields all derive from `i`, so a torn row would show as a mismatch. The 64 KiB padding makes each
// row span many pages: a kill lands inside a page write far more often than with a small row.
BpcRunRecord run_number(uint64_t i, const std::string& writer) {
  BpcRunRecord r;
  r.model_name = writer + "-" + std::to_string(i);
  r.corpus_name = "cc";
  r.documents = i;
  r.chars = 1000 + i;
  r.bpc = 0.5 + 1e-6 * static_cast<double>(i);
  r.extra_json = nlohmann::json{{"i", i}, {"writer", writer}, {"pad", std::string(65536, 'p')}}.dump();
  return r;
}

void expect_whole(const StoredBpcRun& s) {
  const BpcRunRecord& r = s.run;
  auto j = nlohmann::json::parse(r.extra_json);
  uint64_t i = j.at("i").get<uint64_t>();
  EXPECT_EQ(r.model_name, j.at("writer").get<std::string>() + "-" + std::to_string(i));
  EXPECT_EQ(r.documents, i);
  EXPECT_EQ(r.chars, 1000 + i);
  EXPECT_EQ(r.bpc, 0.5 + 1e-6 * static_cast<double>(i));
  EXPECT_EQ(j.at("pad").get<std::string>().size(), 65536u);
}

int64_t count_runs(const std::string& path) {
  sqlite3* db = nullptr;
  int64_t n = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM bpc_runs", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return n;
}

std::string integrity(const std::string& path) {
  sqlite3* db = nullptr;
  std::string out;
  sqlite3_open(path.c_str(), &db);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, nullptr);
  while (sqlite3_step(st) == SQLITE_ROW) out += reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

// Forks a child that records runs (forever when count < 0); returns its pid.
pid_t spawn_writer(const std::string& path, const std::string& writer, int count) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int status = 0;
  try {
    ResultsStore store(path);
    for (uint64_t i = 0; count < 0 || i < static_cast<uint64_t>(count); ++i) store.record_bpc(run_number(i, writer));
  } catch (const std::exception&) {
    status = 3;
  }
  ::_exit(status);  // no atexit handlers, no gtest teardown in the child
}

TEST(ResultsStoreDurability, SigkillMidWriteLeavesOnlyWholeRuns) {
  std::string path = fresh_db("crash");
  { ResultsStore create(path); }
  for (int round = 0; round < 6; ++round) {
    int64_t before = count_runs(path);
    pid_t pid = spawn_writer(path, "w" + std::to_string(round), -1);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (count_runs(path) < before + 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(700 * round));  // vary where the kill lands
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the writer ended before the kill (status " << status << ")";
    ASSERT_GE(count_runs(path), before + 3) << "the writer recorded too few runs in 30 s";
  }
  EXPECT_EQ(integrity(path), "ok");
  ResultsStore store(path);  // recovers the WAL left by the killed writers
  auto runs = store.bpc_runs();
  EXPECT_GE(runs.size(), 18u);
  for (const auto& r : runs) expect_whole(r);
  EXPECT_EQ(store.record_bpc(run_number(7, "after")), runs.back().id + 1);
}

TEST(ResultsStoreDurability, ConcurrentWritersLoseNothing) {
  std::string path = fresh_db("concurrent");
  const int per_writer = 60;
  pid_t a = spawn_writer(path, "a", per_writer);  // both may create the database: migrations run once
  pid_t b = spawn_writer(path, "b", per_writer);
  for (pid_t pid : {a, b}) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "writer failed, status " << status;
  }
  ResultsStore store(path);
  EXPECT_EQ(store.schema_version(), ResultsStore::latest_schema_version());
  auto runs = store.bpc_runs();
  ASSERT_EQ(runs.size(), 2u * per_writer);
  std::set<std::string> names;
  for (const auto& r : runs) {
    expect_whole(r);
    names.insert(r.run.model_name);
  }
  EXPECT_EQ(names.size(), 2u * per_writer);
  EXPECT_EQ(integrity(path), "ok");
}

// Version 1 of the schema exactly as the first release created it (a frozen copy: never edit).
const char* kSchemaV1 =
    "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL);"
    "INSERT INTO schema_version VALUES (1, '2026-11-01T00:00:00.000Z');"
    "CREATE TABLE bpc_runs (id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL,"
    " model_name TEXT NOT NULL DEFAULT '', model_path TEXT NOT NULL DEFAULT '', model_id TEXT NOT NULL DEFAULT '',"
    " model_bytes INTEGER NOT NULL DEFAULT 0, corpus_name TEXT NOT NULL DEFAULT '',"
    " corpus_path TEXT NOT NULL DEFAULT '', corpus_sha256 TEXT NOT NULL DEFAULT '',"
    " protocol TEXT NOT NULL DEFAULT '', window INTEGER NOT NULL DEFAULT 0, stride INTEGER NOT NULL DEFAULT 0,"
    " documents INTEGER NOT NULL DEFAULT 0, chars INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,"
    " tokens INTEGER NOT NULL DEFAULT 0, windows INTEGER NOT NULL DEFAULT 0,"
    " scored_tokens INTEGER NOT NULL DEFAULT 0, total_nats REAL NOT NULL DEFAULT 0, bpc REAL NOT NULL DEFAULT 0,"
    " bpb REAL NOT NULL DEFAULT 0, bits_per_token REAL NOT NULL DEFAULT 0, ppl REAL NOT NULL DEFAULT 0,"
    " lmzip_version TEXT NOT NULL DEFAULT '', host TEXT NOT NULL DEFAULT '', threads INTEGER NOT NULL DEFAULT 0,"
    " started_at TEXT NOT NULL DEFAULT '', finished_at TEXT NOT NULL DEFAULT '', seconds REAL NOT NULL DEFAULT 0,"
    " extra_json TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE scores (id INTEGER PRIMARY KEY AUTOINCREMENT, recorded_at TEXT NOT NULL,"
    " model_name TEXT NOT NULL, benchmark TEXT NOT NULL, score REAL NOT NULL, stderr REAL,"
    " source TEXT NOT NULL DEFAULT '', UNIQUE (model_name, benchmark));"
    "INSERT INTO bpc_runs (recorded_at, model_name, corpus_name, bpc) VALUES ('t', 'old-model', 'cc', 0.61);"
    "INSERT INTO scores (recorded_at, model_name, benchmark, score) VALUES ('t', 'old-model', 'mmlu', 0.4);";

void make_db(const std::string& path, const char* sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_close(db);
}

TEST(ResultsStoreMigrations, VersionOneMigratesKeepingItsData) {
  std::string path = fresh_db("v1");
  make_db(path, kSchemaV1);
  ResultsStore store(path);
  EXPECT_EQ(store.schema_version(), 2);
  auto runs = store.bpc_runs();
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].run.model_name, "old-model");
  EXPECT_EQ(runs[0].run.bpc, 0.61);
  auto scores = store.scores();
  ASSERT_EQ(scores.size(), 1u);
  EXPECT_EQ(scores[0].score.metric, "");  // the column version 2 added, with its default
  store.record_scores({{.model_name = "old-model", .benchmark = "arc", .metric = "acc_norm", .score = 0.5}});
  EXPECT_EQ(store.scores()[0].score.metric, "acc_norm");
  EXPECT_EQ(count_runs(path), 1);
}

TEST(ResultsStoreMigrations, NewerSchemaIsRefused) {
  std::string path = fresh_db("v99");
  { ResultsStore create(path); }
  make_db(path, "INSERT INTO schema_version VALUES (99, 'future')");
  try {
    ResultsStore store(path);
    FAIL() << "opened a database from the future";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("has schema version 99, newer than this lmzip knows (2): upgrade lmzip"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace lmzip
