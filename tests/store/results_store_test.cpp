#include "lmzip/store/results_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string fresh_db(const std::string& name) {
  std::string path = test::temp_dir() + "/" + name + ".sqlite";
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  return path;
}

BpcRunRecord sample_run(const std::string& model, const std::string& corpus, double bpc) {
  BpcRunRecord r;
  r.model_name = model;
  r.model_path = "/models/" + model + ".gguf";
  r.model_id = "sha256:abc";
  r.model_bytes = 123456789012ULL;
  r.corpus_name = corpus;
  r.corpus_path = "/data/" + corpus + ".jsonl";
  r.corpus_sha256 = std::string(64, 'f');
  r.protocol = "hkust";
  r.window = 1901;
  r.stride = 512;
  r.documents = 10;
  r.chars = 100000;
  r.bytes = 100500;
  r.tokens = 25000;
  r.windows = 45;
  r.scored_tokens = 24000;
  r.bpc = bpc;
  r.total_nats = bpc * r.chars * std::log(2.0);
  r.bpb = r.total_nats / (r.bytes * std::log(2.0));
  r.bits_per_token = r.total_nats / (r.scored_tokens * std::log(2.0));
  r.ppl = std::exp(r.total_nats / r.scored_tokens);
  r.lmzip_version = "0.1.0";
  r.host = "testhost";
  r.threads = 8;
  r.started_at = "2026-11-28T09:00:00Z";
  r.finished_at = "2026-11-28T09:01:30Z";
  r.seconds = 90.25;
  r.extra_json = R"({"dtype":"F16"})";
  return r;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(ResultsStore, DefaultPathFollowsEnvironment) {
  ::unsetenv("LMZIP_DB");
  EXPECT_EQ(ResultsStore::default_path(), "lmzip-results.sqlite");
  ::setenv("LMZIP_DB", "/tmp/x.sqlite", 1);
  EXPECT_EQ(ResultsStore::default_path(), "/tmp/x.sqlite");
  ::unsetenv("LMZIP_DB");
}

TEST(ResultsStore, RecordsAndReadsBackEveryField) {
  ResultsStore store(fresh_db("roundtrip"));
  EXPECT_EQ(store.schema_version(), ResultsStore::latest_schema_version());
  BpcRunRecord r = sample_run("zoo-m2-F16", "cc.testA", 0.6123456789012345);
  int64_t id = store.record_bpc(r);
  EXPECT_EQ(id, 1);
  auto got = store.bpc_run(id);
  ASSERT_TRUE(got.has_value());
  const BpcRunRecord& g = got->run;
  EXPECT_EQ(g.model_name, r.model_name);
  EXPECT_EQ(g.model_path, r.model_path);
  EXPECT_EQ(g.model_id, r.model_id);
  EXPECT_EQ(g.model_bytes, r.model_bytes);
  EXPECT_EQ(g.corpus_name, r.corpus_name);
  EXPECT_EQ(g.corpus_path, r.corpus_path);
  EXPECT_EQ(g.corpus_sha256, r.corpus_sha256);
  EXPECT_EQ(g.protocol, "hkust");
  EXPECT_EQ(g.window, 1901);
  EXPECT_EQ(g.stride, 512);
  EXPECT_EQ(g.documents, 10u);
  EXPECT_EQ(g.chars, 100000u);
  EXPECT_EQ(g.bytes, 100500u);
  EXPECT_EQ(g.tokens, 25000u);
  EXPECT_EQ(g.windows, 45u);
  EXPECT_EQ(g.scored_tokens, 24000u);
  EXPECT_EQ(g.total_nats, r.total_nats);  // doubles round-trip exactly
  EXPECT_EQ(g.bpc, r.bpc);
  EXPECT_EQ(g.bpb, r.bpb);
  EXPECT_EQ(g.bits_per_token, r.bits_per_token);
  EXPECT_EQ(g.ppl, r.ppl);
  EXPECT_EQ(g.lmzip_version, "0.1.0");
  EXPECT_EQ(g.host, "testhost");
  EXPECT_EQ(g.threads, 8);
  EXPECT_EQ(g.started_at, r.started_at);
  EXPECT_EQ(g.finished_at, r.finished_at);
  EXPECT_EQ(g.seconds, 90.25);
  EXPECT_EQ(g.extra_json, r.extra_json);
  EXPECT_EQ(got->recorded_at.size(), 24u);  // 2026-11-28T09:00:00.000Z
  EXPECT_FALSE(store.bpc_run(2).has_value());
}

TEST(ResultsStore, FiltersAndJoinsLatestRunWithScores) {
  std::string path = fresh_db("join");
  {
    ResultsStore store(path);
    store.record_bpc(sample_run("a", "cc", 0.70));
    store.record_bpc(sample_run("b", "cc", 0.60));
    store.record_bpc(sample_run("a", "py", 0.30));
    store.record_bpc(sample_run("a", "cc", 0.65));  // a re-run replaces the earlier one in fits
    store.record_scores({{.model_name = "a", .benchmark = "mmlu", .metric = "acc", .score = 0.4},
                         {.model_name = "b", .benchmark = "mmlu", .score = 0.5, .stderr_value = 0.01}});
  }
  ResultsStore store = ResultsStore::open_existing(path);  // reopening keeps everything
  EXPECT_EQ(store.bpc_runs().size(), 4u);
  EXPECT_EQ(store.bpc_runs({.model_name = "a"}).size(), 3u);
  EXPECT_EQ(store.bpc_runs({.model_name = "a", .corpus_name = "cc"}).size(), 2u);
  stats::Dataset d = store.dataset();
  EXPECT_EQ(d.models, (std::vector<std::string>{"a", "b"}));
  EXPECT_DOUBLE_EQ(d.bpc.at("a").at("cc"), 0.65);
  EXPECT_DOUBLE_EQ(d.bpc.at("a").at("py"), 0.30);
  EXPECT_DOUBLE_EQ(d.scores.at("b").at("mmlu"), 0.5);
  // Re-importing a (model, benchmark) replaces the score.
  store.record_scores({{.model_name = "a", .benchmark = "mmlu", .metric = "acc_norm", .score = 0.45}});
  auto scores = store.scores();
  ASSERT_EQ(scores.size(), 2u);
  EXPECT_EQ(scores[0].score.score, 0.45);
  EXPECT_EQ(scores[0].score.metric, "acc_norm");
  EXPECT_FALSE(scores[0].score.stderr_value.has_value());
  EXPECT_EQ(*scores[1].score.stderr_value, 0.01);
}

TEST(ResultsStore, RejectsBadRecordsWithoutWritingAnything) {
  ResultsStore store(fresh_db("bad"));
  BpcRunRecord r = sample_run("m", "cc", 0.5);
  r.bpc = NAN;
  EXPECT_EQ(error_of([&] { store.record_bpc(r); }), "BPC run: field bpc is not a finite number");
  r = sample_run("", "cc", 0.5);
  EXPECT_EQ(error_of([&] { store.record_bpc(r); }), "BPC run: model_name is empty (give the run a --name)");
  r = sample_run("m", "cc", 0.5);
  r.extra_json = "[1,2]";
  EXPECT_EQ(error_of([&] { store.record_bpc(r); }), "BPC run: extra_json is not a JSON object");
  // One bad score aborts the whole batch.
  EXPECT_THROW(store.record_scores({{.model_name = "m", .benchmark = "x", .score = 0.5},
                                    {.model_name = "m", .benchmark = "y", .score = INFINITY}}),
               Error);
  EXPECT_TRUE(store.bpc_runs().empty());
  EXPECT_TRUE(store.scores().empty());
}

TEST(ResultsStore, RefusesFilesThatAreNotItsDatabases) {
  std::string junk = test::temp_dir() + "/junk.sqlite";
  write_file_atomic(junk, std::string(4096, 'x'));
  EXPECT_NE(error_of([&] { ResultsStore s(junk); }).find("not an lmzip results database"), std::string::npos);
  std::string other = fresh_db("other");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(other.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_NE(error_of([&] { ResultsStore s(other); }).find("of another program"), std::string::npos);
  EXPECT_NE(error_of([&] { ResultsStore::open_existing(test::temp_dir() + "/missing.sqlite"); })
                .find("no results database at"),
            std::string::npos);
  EXPECT_NE(error_of([&] { ResultsStore s("/nonexistent-dir/x.sqlite"); }).find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace lmzip
