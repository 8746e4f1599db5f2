// lmzip fit: the compression-vs-benchmark line. BPC (X) against benchmark scores (Y) by model, from the results
// store or from the study's published tables (--paper), with every statistic a reviewer asks for.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/stats/fit_json.h"
#include "lmzip/stats/paper.h"
#include "lmzip/store/results_store.h"

namespace lmzip::cli {
namespace {

std::string fixed(double v, int digits = 4) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    std::string item = s.substr(start, end - start);
    if (item.empty()) throw UsageError("empty name in the list '" + s + "'");
    out.push_back(item);
    start = end + 1;
  }
  return out;
}

// The published rows, recomputed: a table with the published values beside, or one JSON object per line.
int reproduce_paper(const stats::FitSpec& base, bool json) {
  stats::Dataset data = stats::paper_dataset();
  if (!json) {
    std::cout << "Reproducing the published correlations of Huang et al. 2024 (arXiv 2404.09937) from its tables\n\n"
              << pad("area", 14) << pad("benchmark", 42) << pad("n", 4) << pad("r", 9) << pad("published", 10)
              << pad("e", 8) << pad("published", 10) << "spearman\n";
  }
  double worst_r = 0, worst_e = 0;
  for (const auto& row : stats::paper_rows()) {
    stats::FitSpec spec = row.spec;
    spec.bootstrap_resamples = base.bootstrap_resamples;
    spec.bootstrap_seed = base.bootstrap_seed;
    stats::FitReport fit = stats::run_fit(data, spec);
    worst_r = std::max(worst_r, std::fabs(fit.pearson_r - row.published_r));
    worst_e = std::max(worst_e, std::fabs(fit.line.rmse - row.published_e));
    if (json) {
      nlohmann::ordered_json j = {{"area", row.area}, {"benchmark", row.benchmark}, {"n", fit.n},
                                  {"pearson_r", fit.pearson_r}, {"rmse", fit.line.rmse},
                                  {"spearman", fit.spearman}, {"slope", fit.line.slope},
                                  {"intercept", fit.line.intercept}, {"published_r", row.published_r},
                                  {"published_rmse", row.published_e}};
      nlohmann::ordered_json full = stats::fit_json(spec, fit);
      for (const char* k : {"x", "y", "pearson_p", "pearson_ci_fisher", "pearson_ci_bootstrap", "kendall_tau", "r2",
                            "loo_rmse"}) {
        j[k] = full[k];
      }
      std::cout << j.dump() << "\n";
      continue;
    }
    std::cout << pad(row.area, 14) << pad(row.benchmark, 42) << pad(std::to_string(fit.n), 4)
              << pad(fixed(fit.pearson_r, 3), 9) << pad(fixed(row.published_r, 3), 10) << pad(fixed(fit.line.rmse, 3), 8)
              << pad(fixed(row.published_e, 3), 10) << fixed(fit.spearman, 3) << "\n";
  }
  if (!json) {
    std::cout << "\nlargest |r - published| = " << fixed(worst_r) << ", largest |e - published| = " << fixed(worst_e)
              << " (e: RMSE of the fitted line with scores as fractions)\nnot reproducible from the tables:\n";
    for (const auto& s : stats::paper_unreproducible_rows()) std::cout << "  " << s << "\n";
  }
  return 0;
}

void print_fit(const stats::Dataset& data, const stats::FitSpec& spec, const stats::FitReport& r) {
  std::string level = fixed(spec.level * 100, 0) + "%";
  std::cout << "fit: " << stats::describe_y(spec) << " against " << stats::describe_x(spec) << " (" << data.name
            << ", " << r.n << " models)\n\n";
  std::cout << "  Pearson r      " << fixed(r.pearson_r) << "   p = " << r.pearson_p << "\n";
  if (r.fisher_ci) {
    std::cout << "    " << level << " CI      [" << fixed(r.fisher_ci->low) << ", " << fixed(r.fisher_ci->high)
              << "] (Fisher z)\n";
  }
  std::cout << "    " << level << " CI      [" << fixed(r.bootstrap_ci.low) << ", " << fixed(r.bootstrap_ci.high)
            << "] (bootstrap, " << r.bootstrap_used << " resamples)\n";
  if (r.propagated_ci) {
    std::cout << "    " << level << " CI      [" << fixed(r.propagated_ci->low) << ", " << fixed(r.propagated_ci->high)
              << "] (bootstrap over models with each BPC drawn from its standard error, " << r.propagated_used
              << " resamples)\n";
  }
  std::cout << "  Spearman rho   " << fixed(r.spearman) << "\n  Kendall tau-b  " << fixed(r.kendall_tau) << "\n";
  std::cout << "  " << pad(r.form == stats::FitForm::Log ? "log curve" : "line", 15) << "score = "
            << fixed(r.line.intercept) << (r.line.slope < 0 ? " - " : " + ") << fixed(std::fabs(r.line.slope))
            << (r.form == stats::FitForm::Log ? " * ln(BPC)" : " * BPC") << "   R^2 = " << fixed(r.line.r2) << "\n";
  std::cout << "  RMSE (e)       " << fixed(r.line.rmse) << "   leave-one-out RMSE " << fixed(r.loo_rmse) << "   AIC "
            << (std::isfinite(r.aic) ? fixed(r.aic, 3) : std::string("-inf (exact fit)")) << "\n\n";
  std::cout << "  " << pad("model", 24) << pad("BPC", 9) << pad("score", 9) << pad("fitted", 9) << "residual\n";
  for (size_t i : r.furthest) {
    const auto& p = r.points[i];
    std::cout << "  " << pad(p.model, 24) << pad(fixed(p.x), 9) << pad(fixed(p.y), 9) << pad(fixed(p.fitted), 9)
              << (p.residual >= 0 ? "+" : "") << fixed(p.residual) << "\n";
  }
  std::cout << "  (furthest from the line first)\n";
  if (!r.missing.empty()) {
    std::cout << "  left out for lack of data:";
    for (const auto& m : r.missing) std::cout << " " << m;
    std::cout << "\n";
  }
}

// --predict NAME (a model with a BPC on the fitted corpora) and --bpc VALUE.
std::vector<std::pair<std::string, stats::Prediction>> predictions(const stats::Dataset& data,
                                                                   const stats::FitSpec& spec,
                                                                   const stats::FitReport& r,
                                                                   const std::vector<std::string>& models,
                                                                   double bpc) {
  std::vector<std::pair<std::string, stats::Prediction>> out;
  auto predict_at = [&](double x) {
    stats::Prediction p = stats::predict(r.line, stats::form_x(spec.form, x), spec.level);
    p.x = x;  // reported as the BPC it was asked at
    return p;
  };
  for (const auto& m : models) {
    auto it = data.bpc.find(m);
    double sum = 0;
    for (const auto& c : spec.corpora) {
      if (it == data.bpc.end() || !it->second.count(c)) {
        throw Error("--predict " + m + ": no BPC of that model on corpus " + c + " in " + data.name);
      }
      sum += it->second.at(c);
    }
    out.push_back({m, predict_at(sum / spec.corpora.size())});
  }
  if (!std::isnan(bpc)) out.push_back({"", predict_at(bpc)});
  return out;
}

void print_predictions(const std::vector<std::pair<std::string, stats::Prediction>>& preds, double level) {
  for (const auto& [m, pred] : preds) {
    std::cout << "\n  predicted " << (m.empty() ? "score" : m) << " at BPC " << fixed(pred.x) << ": "
              << fixed(pred.y) << "  " << fixed(level * 100, 0) << "% prediction interval [" << fixed(pred.interval.low)
              << ", " << fixed(pred.interval.high) << "]\n";
  }
}

// --form both: the linear and the log fit on the same points, and which is better by each criterion.
int print_both_forms(const stats::Dataset& data, stats::FitSpec spec, const std::vector<std::string>& predict,
                     double bpc, bool json) {
  std::vector<stats::FitSpec> specs;
  std::vector<stats::FitReport> reports;
  for (stats::FitForm f : {stats::FitForm::Linear, stats::FitForm::Log}) {
    spec.form = f;
    specs.push_back(spec);
    reports.push_back(stats::run_fit(data, spec));
  }
  const stats::FitReport &lin = reports[0], &log = reports[1];
  const std::string by_loo = log.loo_rmse < lin.loo_rmse ? "log" : "linear";
  const std::string by_aic = log.aic < lin.aic ? "log" : "linear";
  if (json) {
    nlohmann::ordered_json j;
    j["dataset"] = data.name;
    j["forms"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < 2; ++i) {
      nlohmann::ordered_json f = stats::fit_json(specs[i], reports[i]);
      nlohmann::ordered_json p = nlohmann::ordered_json::array();
      for (const auto& [m, pred] : predictions(data, specs[i], reports[i], predict, bpc)) {
        p.push_back(stats::prediction_json(pred, m));
      }
      f["predictions"] = p;
      j["forms"].push_back(f);
    }
    j["better_by_loo_rmse"] = by_loo;
    j["better_by_aic"] = by_aic;
    std::cout << j.dump() << "\n";
    return 0;
  }
  for (size_t i = 0; i < 2; ++i) {
    if (i > 0) std::cout << "\n";
    print_fit(data, specs[i], reports[i]);
    print_predictions(predictions(data, specs[i], reports[i], predict, bpc), spec.level);
  }
  std::cout << "\nbetter fit: " << by_loo << " by leave-one-out RMSE (" << fixed(lin.loo_rmse) << " linear, "
            << fixed(log.loo_rmse) << " log), " << by_aic << " by AIC\n";
  return 0;
}

int run_fit(int argc, char** argv) {
  bool paper = false, json = false;
  std::string table, db;
  std::vector<std::string> corpora, benchmarks, areas, only, exclude, predict;
  double bpc = NAN, level = 0.95;
  long long seed = 20240415;
  int bootstrap = 2000;
  std::string form = "linear";
  bool propagate_se = false;
  ArgParser args("lmzip fit (--paper [--table NAME] | --db FILE) --corpus NAME --benchmark NAME [options]",
                 "Fits benchmark scores against BPC across models (joined by model name): Pearson r with Fisher-z\n"
                 "and bootstrap intervals, Spearman, Kendall, the least-squares line, its RMSE e (scores as\n"
                 "fractions), leave-one-out RMSE and residuals. `lmzip fit --paper` alone reproduces every\n"
                 "correlation the study published that its tables allow.");
  args.flag("--paper", &paper, "use the study's published tables (shipped with lmzip)");
  args.option("--table", "NAME", &table, "with --paper: one table (knowledge, coding, math, cc-resampling, mmlu-style)");
  args.option("--db", "FILE", &db, "results database (default: $LMZIP_DB, else ./lmzip-results.sqlite)");
  args.option("--corpus", "NAME", &corpora, "X = BPC on this corpus; repeat for the mean over corpora");
  args.option("--benchmark", "NAME", &benchmarks, "Y = this score; repeat for their mean (an area)");
  args.option("--area", "B1,B2,..", &areas, "a group of benchmarks; repeated: Y = mean of the groups' means");
  args.option("--only", "MODEL", &only, "fit only these models (names or globs like 'Llama*'; repeatable)");
  args.option("--exclude", "MODEL", &exclude, "leave these models out (names or globs; repeatable)");
  args.option("--predict", "MODEL", &predict, "predict the score of a model from its BPC (repeatable)");
  args.option("--bpc", "VALUE", &bpc, "predict the score at this BPC");
  args.option("--level", "P", &level, "confidence level of the intervals (default 0.95)");
  args.option("--bootstrap", "N", &bootstrap, "bootstrap resamples for the interval of r (default 2000)");
  args.option("--seed", "N", &seed, "bootstrap seed (default 20240415; the same seed gives the same interval)");
  args.option("--form", "F", &form,
              "linear (default: score = a + b*BPC), log (score = a + b*ln(BPC)) or both (and which fits better "
              "by leave-one-out RMSE and AIC)");
  args.flag("--propagate-se", &propagate_se,
            "also an interval of r that carries each model's BPC standard error (recorded by lmzip bpc): "
            "bootstrap over models, each BPC drawn from N(BPC, SE^2)");
  args.flag("--json", &json, "print JSON (with --paper alone: one object per published row, per line)");
  if (!args.parse(argc, argv)) return 0;
  if (form != "linear" && form != "log" && form != "both") {
    throw UsageError("unknown --form '" + form + "' (linear, log or both)");
  }
  if (paper && !db.empty()) throw UsageError("--paper and --db are exclusive");
  if (!table.empty() && !paper) throw UsageError("--table needs --paper");
  if (!benchmarks.empty() && !areas.empty()) throw UsageError("use either --benchmark or --area, not both");
  stats::FitSpec spec{.corpora = corpora, .only = only, .exclude = exclude, .bootstrap_resamples = bootstrap,
                      .bootstrap_seed = static_cast<uint64_t>(seed), .level = level};
  spec.propagate_bpc_se = propagate_se;
  if (!benchmarks.empty()) spec.y_groups.push_back(benchmarks);
  for (const auto& a : areas) spec.y_groups.push_back(split_commas(a));

  bool whole_paper = paper && table.empty() && corpora.empty() && spec.y_groups.empty();
  if (whole_paper) {
    if (!only.empty() || !exclude.empty() || !predict.empty() || !std::isnan(bpc)) {
      throw UsageError("--only/--exclude/--predict/--bpc need a chosen fit (--corpus and --benchmark)");
    }
    return reproduce_paper(spec, json);
  }
  if (corpora.empty()) throw UsageError("choose X with --corpus NAME");
  if (spec.y_groups.empty()) throw UsageError("choose Y with --benchmark NAME or --area B1,B2");
  stats::Dataset data = paper ? stats::paper_dataset(table)
                              : ResultsStore::open_existing(db.empty() ? ResultsStore::default_path() : db).dataset();
  if (form == "both") return print_both_forms(data, spec, predict, bpc, json);
  if (form == "log") spec.form = stats::FitForm::Log;
  stats::FitReport report = stats::run_fit(data, spec);
  auto preds = predictions(data, spec, report, predict, bpc);
  if (json) {
    nlohmann::ordered_json j = stats::fit_json(spec, report);
    j["dataset"] = data.name;
    nlohmann::ordered_json p = nlohmann::ordered_json::array();
    for (const auto& [m, pred] : preds) p.push_back(stats::prediction_json(pred, m));
    j["predictions"] = p;
    std::cout << j.dump() << "\n";
    return 0;
  }
  print_fit(data, spec, report);
  print_predictions(preds, level);
  return 0;
}

Registration reg{{"fit", "fit benchmark scores against BPC: correlations, line, e, residuals (--paper: the study's)",
                  run_fit}};

}  // namespace
}  // namespace lmzip::cli
