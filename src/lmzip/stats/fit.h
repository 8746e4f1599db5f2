// The compression-vs-benchmark fit: choose X (BPC of a corpus, or the mean over corpora) and Y (a benchmark,
// the mean of several = an area, or the mean of area means) per model, then every statistic of the line.
#pragma once

#include <cstdint>
#include <cmath>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lmzip/stats/correlation.h"

namespace lmzip::stats {

// Per-model measurements, joined by model name. Scores are fractions (0..1), as the study's e assumes.
struct Dataset {
  std::string name;                                              // "paper", a database path, ...
  std::vector<std::string> models;                               // display order (first seen)
  std::map<std::string, std::map<std::string, double>> bpc;      // model -> corpus -> BPC
  std::map<std::string, std::map<std::string, double>> scores;   // model -> benchmark -> score (fraction)
  std::map<std::string, std::map<std::string, double>> bpc_se;   // model -> corpus -> BPC standard error

  // `se`: the BPC's standard error over documents (NaN: unknown); a later value replaces an earlier one.
  void add_bpc(const std::string& model, const std::string& corpus, double value, double se = NAN);
  void add_score(const std::string& model, const std::string& benchmark, double fraction);
  std::vector<std::string> corpora() const;     // sorted, every corpus any model has
  std::vector<std::string> benchmarks() const;  // sorted
};

// The relation fitted: score = a + b·BPC (linear, the study's) or score = a + b·ln(BPC) (log: Luo et al. 2025,
// "Is Compression Really Linear with Code Intelligence?", arXiv 2505.11441). Under log every statistic (r, its
// intervals, the line, residuals, predictions) is computed on ln(BPC).
enum class FitForm { Linear, Log };
std::string form_name(FitForm f);  // "linear", "log"

struct FitSpec {
  std::vector<std::string> corpora{};              // X = mean BPC over these (one corpus: that BPC)
  std::vector<std::vector<std::string>> y_groups{};  // Y = mean over groups of the mean over each group
  std::vector<std::string> only{};                 // model names or globs (fnmatch: "Qwen*"); empty = all
  std::vector<std::string> exclude{};              // model names or globs
  int bootstrap_resamples = 2000;
  uint64_t bootstrap_seed = 20240415;
  double level = 0.95;                             // confidence level of every interval
  FitForm form = FitForm::Linear;
  // Also the interval of r with each model's BPC drawn from its standard error in every bootstrap resample
  // (every selected model needs one on every corpus of X).
  bool propagate_bpc_se = false;
};

struct ModelPoint {
  std::string model;
  double x = 0, y = 0;
  double x_se = NAN;                // the BPC's standard error (mean over corpora: sqrt(sum se^2) / k)
  double fitted = 0, residual = 0;  // residual = y - fitted
};

struct FitReport {
  std::vector<ModelPoint> points;         // in dataset order
  std::vector<std::string> missing;       // selected models lacking a BPC or a score, left out
  int n = 0;
  double pearson_r = 0, pearson_p = 0;
  std::optional<Interval> fisher_ci;      // needs n >= 4
  Interval bootstrap_ci;
  int bootstrap_used = 0;                 // resamples that had an r
  std::optional<Interval> propagated_ci;  // with propagate_bpc_se: bootstrap over models and BPC ± SE
  int propagated_used = 0;
  double spearman = 0, kendall_tau = 0;
  LineFit line;                           // slope, intercept, R^2, rmse (= e), sigma
  double loo_rmse = 0;
  // Akaike's information criterion of the least-squares fit with Gaussian errors (k = 3: a, b, sigma):
  // n ln(SSE / n) + 6; -infinity for an exact fit. Lower is better; compare forms on the same points.
  double aic = 0;
  FitForm form = FitForm::Linear;
  std::vector<size_t> furthest;           // indices into points by |residual|, largest first
};

// The fit's X for a BPC value: BPC itself, or ln(BPC) (lmzip::Error for BPC <= 0 under log).
double form_x(FitForm form, double bpc);

// Human-readable descriptions of X and Y ("BPC cc", "mean(HellaSwag, ARC)").
std::string describe_x(const FitSpec& spec);
std::string describe_y(const FitSpec& spec);

// Selects the models, joins X and Y and computes everything. Throws lmzip::Error naming the problem for an
// unknown model/corpus/benchmark, a pattern that matches no model, fewer than 3 points or a constant X or Y.
FitReport run_fit(const Dataset& data, const FitSpec& spec);

}  // namespace lmzip::stats
