// `lmzip bpc --shard I/N` + `lmzip merge` end to end on a zoo model: for every protocol, 1 and 3 shards merge to
// exactly the single-process numbers; a rerun of a complete shard is skipped; missing, duplicate, foreign and
// truncated parts are errors naming the shard or file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string model() { return test::shared_dir() + "/zoo/models/zoo-s1.gguf"; }
std::string corpus(const std::string& name) { return test::shared_dir() + "/zoo/corpora/" + name + ".testA.jsonl"; }

struct Case {
  const char* protocol;
  const char* flags;
};
const Case kCases[] = {{"hkust", "--window 64 --stride 16 --max-chunks 20"},
                       {"lm-eval", "--window 64 --max-chunks 20"},
                       {"llama.cpp", "--window 64 --max-chunks 12"},
                       {"doc", "--window 512 --stride 512 --max-chunks 30"},
                       {"uncheatable", "--window 128 --bos-mode replace_with_eos --max-chunks 24"}};

std::string base(const Case& c, const std::string& corpus_path, const std::string& m = model()) {
  return "bpc --no-db -t 2 -m " + m + " " + corpus_path + " --protocol " + c.protocol + " " + c.flags;
}

std::string run_shards(const Case& c, uint32_t n, const std::string& dir, const std::string& corpus_path) {
  for (uint32_t i = 0; i < n; ++i) {
    test::CliResult r = test::run_lmzip(base(c, corpus_path) + " --shard " + std::to_string(i) + "/" +
                                        std::to_string(n) + " --shard-dir " + dir);
    EXPECT_EQ(r.rc, 0) << r.err;
  }
  return dir;
}

TEST(ShardCli, MergedShardsEqualTheSingleRunForEveryProtocol) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  for (const Case& c : kCases) {
    test::CliResult single = test::run_lmzip(base(c, corpus("cc")) + " --json");
    ASSERT_EQ(single.rc, 0) << single.err;
    nlohmann::json s = nlohmann::json::parse(single.out);
    for (uint32_t n : {1u, 3u}) {
      std::string dir = test::temp_dir() + "/" + c.protocol + "-" + std::to_string(n);
      run_shards(c, n, dir, corpus("cc"));
      std::string out = dir + "/result.json";
      test::CliResult m = test::run_lmzip("merge --json --no-db -o " + out + " " + dir);
      ASSERT_EQ(m.rc, 0) << m.err;
      nlohmann::json j = nlohmann::json::parse(m.out);
      EXPECT_EQ(j["total_nats"].get<double>(), s["total_nats"].get<double>()) << c.protocol << " N=" << n;
      EXPECT_EQ(j["bpc"].get<double>(), s["bpc"].get<double>()) << c.protocol << " N=" << n;
      EXPECT_EQ(j["bpb"].get<double>(), s["bpb"].get<double>());
      EXPECT_EQ(j["ppl"].get<double>(), s["ppl"].get<double>());
      for (const char* k : {"documents", "chars", "bytes", "tokens", "windows", "scored_tokens", "protocol", "window",
                            "stride", "model", "model_id", "corpus", "corpus_sha256", "field", "bos_mode",
                            "neg_log_prob_sum", "bpc_stderr"}) {
        EXPECT_EQ(j[k], s[k]) << k;
      }
      EXPECT_EQ(nlohmann::json::parse(read_file(out))["total_nats"], j["total_nats"]);
    }
  }
}

TEST(ShardCli, RerunOfACompleteShardIsSkippedAndMergeRecordsTheRun) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const Case& c = kCases[3];
  std::string dir = run_shards(c, 2, test::temp_dir() + "/rerun", corpus("python"));
  test::CliResult again = test::run_lmzip(base(c, corpus("python")) + " --shard 1/2 --shard-dir " + dir);
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_NE(again.out.find("already complete (skipped)"), std::string::npos) << again.out;
  std::string db = test::temp_dir() + "/merge.sqlite";
  test::CliResult m = test::run_lmzip("merge --db " + db + " " + dir);
  ASSERT_EQ(m.rc, 0) << m.err;
  EXPECT_NE(m.out.find("BPC"), std::string::npos) << m.out;
  EXPECT_NE(m.out.find("(sum over 2 shards)"), std::string::npos) << m.out;
  test::CliResult listed = test::run_lmzip("results list --db " + db);
  EXPECT_EQ(listed.rc, 0) << listed.err;
  EXPECT_NE(listed.out.find("python.testA"), std::string::npos) << listed.out;
}

std::vector<std::string> parts_in(const std::string& dir) {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() == ".lmzpart") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(ShardCli, MergeErrorsNameTheShard) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const Case& c = kCases[0];
  std::vector<std::string> p = parts_in(run_shards(c, 3, test::temp_dir() + "/err", corpus("cc")));
  ASSERT_EQ(p.size(), 3u);
  auto merge_err = [](const std::string& files) {
    test::CliResult r = test::run_lmzip("merge --no-db " + files);
    EXPECT_EQ(r.rc, 1) << r.out;
    return r.err;
  };
  EXPECT_NE(merge_err(p[0] + " " + p[2]).find("1 of 3 shards missing: 1/3"), std::string::npos);
  EXPECT_NE(merge_err(p[0] + " " + p[1] + " " + p[2] + " " + p[1]).find("are both shard 1/3"), std::string::npos);

  // A shard of another corpus, and one of another model.
  std::vector<std::string> other = parts_in(run_shards(c, 3, test::temp_dir() + "/other", corpus("python")));
  std::string e = merge_err(p[0] + " " + other[1] + " " + p[2]);
  EXPECT_NE(e.find("(shard 1/3) does not belong with"), std::string::npos) << e;
  EXPECT_NE(e.find("corpus (sha256)"), std::string::npos) << e;
  std::string s2 = test::temp_dir() + "/s2";
  test::CliResult r = test::run_lmzip(base(c, corpus("cc"), test::shared_dir() + "/zoo/models/zoo-s2.gguf") +
                                      " --shard 2/3 --shard-dir " + s2);
  ASSERT_EQ(r.rc, 0) << r.err;
  e = merge_err(p[0] + " " + p[1] + " " + parts_in(s2)[0]);
  EXPECT_NE(e.find("(shard 2/3) does not belong with"), std::string::npos) << e;
  EXPECT_NE(e.find("model (id)"), std::string::npos) << e;

  // A truncated part file.
  std::string cut = test::temp_dir() + "/cut.lmzpart";
  std::string data = read_file(p[1]);
  write_file_atomic(cut, data.substr(0, data.size() / 2));
  e = merge_err(p[0] + " " + cut + " " + p[2]);
  EXPECT_NE(e.find("cut.lmzpart: not a valid lmzip part file"), std::string::npos) << e;
}

TEST(ShardCli, BadShardArguments) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  for (const char* bad : {"3/3", "x", "1/0"}) {
    test::CliResult r = test::run_lmzip(base(kCases[0], corpus("cc")) + " --shard " + bad);
    EXPECT_EQ(r.rc, 2) << bad;
    EXPECT_NE(r.err.find("--shard"), std::string::npos) << r.err;
  }
  test::CliResult r = test::run_lmzip(base(kCases[0], corpus("cc")) + " --shard 0/2 --checkpoint x.json");
  EXPECT_EQ(r.rc, 2);
}

}  // namespace
}  // namespace lmzip
