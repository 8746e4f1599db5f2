// lmzip reproduces the study's published correlations from its published tables (PROTOCOL.md §6):
// every reproducible row of paper_correlations_summary.csv, r within 0.005 and e within 0.003.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/stats/csv.h"
#include "lmzip/stats/paper.h"
#include "testutil/testutil.h"

namespace lmzip::stats {
namespace {

TEST(Paper, EmbeddedTablesMatchTheSharedCopies) {
  LMZIP_REQUIRE_SHARED("paper");
  for (const auto& f : paper_files()) {
    EXPECT_EQ(std::string(f.text), read_file(test::shared_dir() + "/paper/" + f.name)) << f.name;
  }
  EXPECT_EQ(paper_files().size(), 8u);
}

TEST(Paper, DatasetJoinsTheTablesByModel) {
  Dataset d = paper_dataset();
  EXPECT_EQ(d.corpora(), (std::vector<std::string>{"arxiv_math", "cc", "cc_resampled", "python"}));
  EXPECT_DOUBLE_EQ(d.bpc.at("Llama-2-70b").at("cc"), 0.527);
  EXPECT_DOUBLE_EQ(d.bpc.at("Codellama-7b").at("python"), 0.268);
  EXPECT_DOUBLE_EQ(d.scores.at("Qwen-72b").at("math_avg"), 0.581);
  EXPECT_DOUBLE_EQ(d.scores.at("Yi-34b").at("MMLU_default_style"), 0.764);
  EXPECT_EQ(paper_dataset("coding").models.size(), 28u);
  EXPECT_EQ(paper_dataset("knowledge").models.size(), 19u);
  EXPECT_THROW(paper_dataset("nope"), Error);
}

// Values lmzip computes (pinned to 4 decimals so that any change in the statistics shows), and the
// published ones they must agree with.
struct Expected {
  const char* area;
  const char* benchmark;
  int n;
  double r, e;  // lmzip's
};
const Expected kExpected[] = {
    {"overall", "mean score vs mean BPC (general models)", 19, -0.9307, 0.0311},
    {"knowledge", "HellaSwag", 19, -0.8829, 0.0163},
    {"knowledge", "ARC-Challenge", 19, -0.9121, 0.0236},
    {"knowledge", "NaturalQuestions", 19, -0.9246, 0.0235},
    {"knowledge", "TriviaQA", 19, -0.9508, 0.0225},
    {"knowledge", "MMLU (cloze)", 19, -0.8897, 0.0210},
    {"knowledge", "Average", 19, -0.9350, 0.0190},
    {"coding", "HumanEval", 28, -0.9031, 0.0503},
    {"coding", "MBPP", 28, -0.9168, 0.0544},
    {"coding", "DS-1000", 28, -0.9465, 0.0323},
    {"coding", "Average", 28, -0.9374, 0.0403},
    {"math", "GSM8K", 19, -0.9222, 0.0675},
    {"math", "MATH", 19, -0.8992, 0.0333},
    {"math", "SAT-Math", 19, -0.9329, 0.0437},
    {"math", "MMLU-Math", 19, -0.9125, 0.0223},
    {"math", "Average", 19, -0.9531, 0.0312},
    {"cross-domain", "Math avg benchmarks", 19, -0.6219, 0.0891},
    {"cross-domain", "Knowledge avg benchmarks", 19, -0.8269, 0.0301},
    {"knowledge", "MMLU default (MCQ) style", 19, -0.6596, 0.0982},
};

TEST(Paper, ReproducesEveryPublishedRow) {
  LMZIP_REQUIRE_SHARED("paper/paper_correlations_summary.csv");
  // The published values, read from the shared copy (not through lmzip's embedded one).
  std::string path = test::shared_dir() + "/paper/paper_correlations_summary.csv";
  CsvTable published = parse_csv(read_file(path), path);
  std::map<std::pair<std::string, std::string>, std::pair<double, double>> pub;
  for (size_t i = 0; i < published.rows.size(); ++i) {
    pub[{published.rows[i][0], published.rows[i][1]}] = {published.number(i, published.column("pearson_rho")),
                                                        published.number(i, published.column("rmse_e"))};
  }
  Dataset data = paper_dataset();
  std::vector<PaperRow> rows = paper_rows();
  ASSERT_EQ(rows.size(), std::size(kExpected));
  for (size_t i = 0; i < rows.size(); ++i) {
    const Expected& want = kExpected[i];
    SCOPED_TRACE(std::string(want.area) + " / " + want.benchmark);
    ASSERT_EQ(rows[i].area, want.area);
    ASSERT_EQ(rows[i].benchmark, want.benchmark);
    auto p = pub.at({want.area, want.benchmark});
    EXPECT_EQ(rows[i].published_r, p.first);
    EXPECT_EQ(rows[i].published_e, p.second);
    FitReport fit = run_fit(data, rows[i].spec);
    EXPECT_EQ(fit.n, want.n);
    EXPECT_TRUE(fit.missing.empty() || rows[i].area == "coding" || rows[i].area == "math" ||
                rows[i].area == "knowledge" || rows[i].area == "overall" || rows[i].area == "cross-domain");
    EXPECT_NEAR(fit.pearson_r, p.first, 0.005);
    EXPECT_NEAR(fit.line.rmse, p.second, 0.003);
    EXPECT_NEAR(fit.pearson_r, want.r, 5e-5);
    EXPECT_NEAR(fit.line.rmse, want.e, 5e-5);
  }
}

TEST(Paper, MathFitLeavesOutExactlyTheQwenModels) {
  Dataset data = paper_dataset();
  FitReport fit = run_fit(data, paper_rows()[15].spec);  // math / Average
  for (const auto& p : fit.points) EXPECT_NE(p.model.rfind("Qwen", 0), 0u) << p.model;
  EXPECT_EQ(fit.n, 19);  // 22 in Table 8 less Qwen-7b, Qwen-14b, Qwen-72b
}

TEST(Paper, UnreproducibleRowsAreNamed) {
  auto rows = paper_unreproducible_rows();
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_NE(rows[0].find("PAL-GSM8K"), std::string::npos);
  EXPECT_NE(rows[3].find("textbooks corpus"), std::string::npos);
}

}  // namespace
}  // namespace lmzip::stats

namespace lmzip::stats {
namespace {

// Rank statistics and the p-value on real data with ties, against scipy.stats 1.10 (spearmanr, kendalltau,
// pearsonr) on Table 4's HellaSwag column.
TEST(Paper, RankStatisticsMatchScipyOnHellaSwag) {
  FitReport fit = run_fit(paper_dataset(), paper_rows()[1].spec);
  EXPECT_NEAR(fit.spearman, -0.8700614574187883, 1e-12);
  EXPECT_NEAR(fit.kendall_tau, -0.676470588235294, 1e-12);
  EXPECT_NEAR(fit.pearson_p, 5.598937374398146e-07, 1e-15);
}

}  // namespace
}  // namespace lmzip::stats
