// `lmzip bpc` end to end on the bundled demo model: the JSON contract, per-document output, checkpoints and
// resume, and clear errors for bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

const std::string kModel = "models/zoo-m2-F16.gguf";

using CliRun = test::CliResult;
CliRun lmzip(const std::string& args) { return test::run_lmzip(args); }

std::string small_corpus() {
  std::string path = test::temp_dir() + "/small.jsonl";
  write_file_atomic(path,
                    "{\"content\": \"The quick brown fox jumps over the lazy dog. It was a sunny day.\"}\n"
                    "{\"content\": \"Debian is a free operating system. Its packages are built from source.\"}\n"
                    "{\"content\": \"\"}\n"
                    "{\"content\": \"def add(a, b):\\n    return a + b\\n\"}\n");
  return path;
}

TEST(BpcCli, JsonContractKeysAndConsistentMetrics) {
  CliRun r = lmzip("bpc --json -m " + kModel + " " + small_corpus() + " --protocol doc --window 32 --stride 8 -t 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  for (const char* key : {"bpc", "bpb", "bits_per_token", "ppl", "total_nats", "documents", "chars", "bytes", "tokens",
                          "windows", "scored_tokens", "seconds", "scored_tokens_per_s", "protocol", "window", "stride",
                          "model", "corpus"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["protocol"], "doc");
  EXPECT_EQ(j["window"], 32);
  EXPECT_EQ(j["stride"], 8);
  EXPECT_EQ(j["model"], "zoo-m2-F16");
  EXPECT_EQ(j["corpus"], "small");
  EXPECT_EQ(j["documents"], 3);
  EXPECT_EQ(j["skipped_empty"], 1);
  // doc scores every token after each document's BOS exactly once.
  EXPECT_EQ(j["scored_tokens"].get<int>(), j["tokens"].get<int>() - 3);
  double nats = j["total_nats"].get<double>();
  EXPECT_NEAR(j["bpc"].get<double>(), nats / (j["chars"].get<double>() * std::log(2.0)), 1e-12);
  EXPECT_NEAR(j["ppl"].get<double>(), std::exp(nats / j["scored_tokens"].get<double>()), 1e-9);
  // A tiny model on English: a few bits per character, far from both 0 and log2(8000)/chars.
  EXPECT_GT(j["bpc"].get<double>(), 1.0);
  EXPECT_LT(j["bpc"].get<double>(), 6.0);
}

TEST(BpcCli, ThreadCountDoesNotChangeTheResultBeyondRounding) {
  std::string c = small_corpus();
  CliRun a = lmzip("bpc --json -m " + kModel + " " + c + " --protocol lm-eval --window 40 -t 1");
  CliRun b = lmzip("bpc --json -m " + kModel + " " + c + " --protocol lm-eval --window 40 -t 2");
  ASSERT_EQ(a.rc, 0) << a.err;
  ASSERT_EQ(b.rc, 0) << b.err;
  double x = nlohmann::json::parse(a.out)["total_nats"], y = nlohmann::json::parse(b.out)["total_nats"];
  EXPECT_NEAR(x, y, 1e-6 * x);
}

TEST(BpcCli, PerDocumentSumsAddUpToTheTotal) {
  std::string per_doc = test::temp_dir() + "/per_doc.jsonl";
  CliRun r = lmzip("bpc --json -m " + kModel + " " + small_corpus() + " --protocol doc --window 32 --per-doc " + per_doc);
  ASSERT_EQ(r.rc, 0) << r.err;
  nlohmann::json total = nlohmann::json::parse(r.out);
  std::istringstream lines(read_file(per_doc));
  std::string line;
  double nats = 0;
  uint64_t chars = 0, n = 0;
  while (std::getline(lines, line)) {
    nlohmann::json d = nlohmann::json::parse(line);
    nats += d["nats"].get<double>();
    chars += d["chars"].get<uint64_t>();
    EXPECT_TRUE(d.contains("source"));
    ++n;
  }
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(chars, total["chars"].get<uint64_t>());
  EXPECT_NEAR(nats, total["total_nats"].get<double>(), 1e-9 * nats);
}

TEST(BpcCli, CheckpointIsReusedAndRefusedForOtherArguments) {
  std::string ckpt = test::temp_dir() + "/run.ckpt";
  std::string c = small_corpus();
  CliRun first = lmzip("bpc --json -m " + kModel + " " + c + " --protocol doc --window 32 --checkpoint " + ckpt);
  ASSERT_EQ(first.rc, 0) << first.err;
  ASSERT_TRUE(file_exists(ckpt));
  CliRun again = lmzip("bpc --json -m " + kModel + " " + c + " --protocol doc --window 32 --checkpoint " + ckpt);
  ASSERT_EQ(again.rc, 0) << again.err;
  nlohmann::json a = nlohmann::json::parse(first.out), b = nlohmann::json::parse(again.out);
  EXPECT_EQ(b["resumed"], true);
  EXPECT_EQ(a["total_nats"], b["total_nats"]);
  CliRun other = lmzip("bpc --json -m " + kModel + " " + c + " --protocol doc --window 16 --checkpoint " + ckpt);
  EXPECT_EQ(other.rc, 1);
  EXPECT_NE(other.err.find("different model or different arguments"), std::string::npos) << other.err;
}

TEST(BpcCli, UncheatableEqualsLmEvalWhenEveryDocumentFitsOneChunk) {
  // A document shorter than the chunk is read once after BOS with every token scored, under both protocols.
  std::string c = small_corpus();
  CliRun u = lmzip("bpc --json --no-db -m " + kModel + " " + c + " --protocol uncheatable -t 1 --seed 5");
  CliRun l = lmzip("bpc --json --no-db -m " + kModel + " " + c + " --protocol lm-eval --window 512 -t 1");
  ASSERT_EQ(u.rc, 0) << u.err;
  ASSERT_EQ(l.rc, 0) << l.err;
  nlohmann::json ju = nlohmann::json::parse(u.out), jl = nlohmann::json::parse(l.out);
  EXPECT_EQ(ju["protocol"], "uncheatable");
  EXPECT_EQ(ju["window"], 4000);
  EXPECT_EQ(ju["bos_mode"], "add_default_bos");
  EXPECT_EQ(ju["tokens"], jl["tokens"]);
  EXPECT_EQ(ju["scored_tokens"], jl["scored_tokens"]);
  EXPECT_EQ(ju["windows"], 3);
  EXPECT_NEAR(ju["total_nats"].get<double>(), jl["total_nats"].get<double>(), 1e-9 * jl["total_nats"].get<double>());
  // Uncheatable Eval's summary and compression rate.
  double nats = ju["total_nats"];
  EXPECT_NEAR(ju["neg_log_prob_sum"].get<double>(), nats / 3, 1e-12 * nats);
  EXPECT_NEAR(ju["avg_tokens"].get<double>(), (ju["tokens"].get<double>() - 3) / 3, 1e-12);
  EXPECT_NEAR(ju["avg_bytes"].get<double>(), ju["bytes"].get<double>() / 3, 1e-12);
  EXPECT_NEAR(ju["compression_rate"].get<double>(),
              ju["neg_log_prob_sum"].get<double>() / ju["avg_bytes"].get<double>() / std::log(2.0) / 8 * 100, 1e-9);
  // Every protocol reports the compression rate and the uncertainty over documents.
  for (const nlohmann::json* j : {&ju, &jl}) {
    EXPECT_NEAR((*j)["compression_rate"].get<double>(), (*j)["bpb"].get<double>() * 12.5, 1e-12);
    EXPECT_EQ((*j)["uncertainty_units"], 3);
    EXPECT_GT((*j)["bpc_stderr"].get<double>(), 0);
    EXPECT_GT((*j)["ppl_stderr"].get<double>(), 0);
    EXPECT_NEAR((*j)["compression_rate_stderr"].get<double>(), (*j)["bpb_stderr"].get<double>() * 12.5, 1e-9);
    ASSERT_TRUE((*j)["bpc_ci95"].is_array());
    EXPECT_LE((*j)["bpc_ci95"][0].get<double>(), (*j)["bpc"].get<double>());
    EXPECT_GE((*j)["bpc_ci95"][1].get<double>(), (*j)["bpc"].get<double>());
    EXPECT_EQ((*j)["bootstrap_resamples"], 1000);
  }
  EXPECT_EQ(ju["bootstrap_seed"], 5);
  // replace_with_bos: each document's first token is replaced, so it is not scored.
  CliRun rep = lmzip("bpc --json --no-db -m " + kModel + " " + c + " --protocol uncheatable --bos-mode replace_with_bos");
  ASSERT_EQ(rep.rc, 0) << rep.err;
  EXPECT_EQ(nlohmann::json::parse(rep.out)["scored_tokens"].get<int>(), jl["scored_tokens"].get<int>() - 3);
  // Small chunks: more windows, more scored context restarts, the same token count.
  CliRun small = lmzip("bpc --json --no-db -m " + kModel + " " + c + " --protocol uncheatable --window 8 --bootstrap 0");
  ASSERT_EQ(small.rc, 0) << small.err;
  nlohmann::json js = nlohmann::json::parse(small.out);
  EXPECT_EQ(js["scored_tokens"], jl["scored_tokens"]);
  EXPECT_GT(js["windows"].get<int>(), 3);
  EXPECT_TRUE(js["bpc_ci95"].is_null());
  EXPECT_EQ(js["bootstrap_resamples"], 0);
}

TEST(BpcCli, TableShowsCompressionRateAndSpread) {
  CliRun r = lmzip("bpc --no-db -m " + kModel + " " + small_corpus() + " --protocol doc --window 32 --stride 8");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("compression "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("standard error over 3 documents"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("1000 resamples, seed 20240415"), std::string::npos) << r.out;
  // The same seed, the same interval.
  CliRun a = lmzip("bpc --json --no-db -m " + kModel + " " + small_corpus() + " --protocol doc --window 32 --seed 3");
  CliRun b = lmzip("bpc --json --no-db -m " + kModel + " " + small_corpus() + " --protocol doc --window 32 --seed 3");
  ASSERT_EQ(a.rc, 0) << a.err;
  EXPECT_EQ(nlohmann::json::parse(a.out)["bpc_ci95"], nlohmann::json::parse(b.out)["bpc_ci95"]);
}

TEST(BpcCli, UncheatableOptionsAreChecked) {
  CliRun r = lmzip("bpc -m " + kModel + " " + small_corpus() + " --protocol doc --bos-mode add_default_eos");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--bos-mode applies to --protocol uncheatable only"), std::string::npos) << r.err;
  r = lmzip("bpc -m " + kModel + " " + small_corpus() + " --protocol uncheatable --bos-mode bos");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown --bos-mode 'bos'"), std::string::npos) << r.err;
  r = lmzip("bpc -m " + kModel + " " + small_corpus() + " --protocol uncheatable --stride 5");
  EXPECT_EQ(r.rc, 2);
  r = lmzip("bpc -m " + kModel + " " + small_corpus() + " --protocol uncheatable --bootstrap -1");
  EXPECT_EQ(r.rc, 2);
}

TEST(BpcCli, BadInputGivesClearErrors) {
  std::string dir = test::temp_dir();
  CliRun r = lmzip("bpc -m " + kModel + " " + small_corpus());  // hkust: far shorter than one window
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("--protocol doc or a smaller --window"), std::string::npos) << r.err;

  write_file_atomic(dir + "/badline.jsonl", "{\"content\": \"fine\"}\nnot json\n");
  r = lmzip("bpc -m " + kModel + " " + dir + "/badline.jsonl --protocol doc");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("badline.jsonl:2"), std::string::npos) << r.err;

  write_file_atomic(dir + "/latin1.txt", std::string("caf\xe9 au lait"));
  r = lmzip("bpc -m " + kModel + " " + dir + "/latin1.txt --protocol doc");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("not valid UTF-8"), std::string::npos) << r.err;

  write_file_atomic(dir + "/empty.jsonl", "{\"content\": \"\"}\n");
  r = lmzip("bpc -m " + kModel + " " + dir + "/empty.jsonl --protocol doc");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("no non-empty documents"), std::string::npos) << r.err;

  r = lmzip("bpc -m " + dir + "/missing.gguf " + small_corpus());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("missing.gguf"), std::string::npos) << r.err;

  write_file_atomic(dir + "/notgguf.gguf", "hello");
  r = lmzip("bpc -m " + dir + "/notgguf.gguf " + small_corpus());
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("not a GGUF file"), std::string::npos) << r.err;

  r = lmzip("bpc -m " + kModel + " " + small_corpus() + " --protocol nope");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("unknown protocol 'nope'"), std::string::npos) << r.err;

  r = lmzip("bpc -m " + kModel + " " + small_corpus() + " --protocol lm-eval --stride 5");
  EXPECT_EQ(r.rc, 2);

  r = lmzip("bpc -m ../shared/vocab/ggml-vocab-llama-spm.gguf " + small_corpus());  // no weights
  if (test::shared_has("vocab/ggml-vocab-llama-spm.gguf")) {
    EXPECT_EQ(r.rc, 1);
    EXPECT_FALSE(r.err.empty());
  }
}

}  // namespace
}  // namespace lmzip
