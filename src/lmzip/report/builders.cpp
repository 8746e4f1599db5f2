// The two sources of a report: the study's published tables, and measured data from a results store.
#include <algorithm>
#include <cctype>

#include "lmzip/core/error.h"
#include "lmzip/report/html.h"
#include "lmzip/stats/paper.h"

namespace lmzip::report {
namespace {

CorrelationRow row_of(const std::string& area, const std::string& benchmark, const stats::FitReport& f) {
  return {.area = area, .benchmark = benchmark, .n = f.n, .r = f.pearson_r, .e = f.line.rmse,
          .spearman = f.spearman};
}

// A file-name-safe id: letters, digits and '-'.
std::string slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool keep = std::isalnum(static_cast<unsigned char>(c));
    if (keep) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.empty() ? "plot" : out;
}

}  // namespace

ReportInput paper_report() {
  ReportInput in;
  in.title = "Compression represents intelligence linearly: the published data";
  in.source = "Data: the tables of Huang, Zhang, Shan, He, \"Compression Represents Intelligence Linearly\" "
              "(arXiv 2404.09937, COLM 2024), shipped with lmzip; every number below is recomputed from them.";
  in.data = stats::paper_dataset();
  in.corpora = {"cc", "python", "arxiv_math"};
  // Figure 1: the overall fit, then one per area (the math fit without the Qwen models, as published).
  const std::pair<const char*, const char*> figure[] = {
      {"overall", "mean score vs mean BPC (general models)"},
      {"knowledge", "Average"},
      {"coding", "Average"},
      {"math", "Average"},
  };
  const char* titles[] = {"Overall (19 general models)", "Knowledge & commonsense", "Coding",
                          "Mathematical reasoning (Qwen excluded)"};
  auto rows = stats::paper_rows();
  for (const auto& row : rows) {
    stats::FitReport fit = stats::run_fit(in.data, row.spec);
    CorrelationRow c = row_of(row.area, row.benchmark, fit);
    c.published_r = row.published_r;
    c.published_e = row.published_e;
    in.correlations.push_back(c);
    for (size_t i = 0; i < std::size(figure); ++i) {
      if (row.area == figure[i].first && row.benchmark == figure[i].second) {
        in.plots.push_back({.id = slug(row.area), .title = titles[i], .spec = row.spec, .fit = fit,
                            .published_r = row.published_r, .published_e = row.published_e});
      }
    }
  }
  for (const auto& s : stats::paper_unreproducible_rows()) in.notes.push_back("Not reproducible: " + s);
  return in;
}

ReportInput store_report(const stats::Dataset& data, const StoreReportOptions& options) {
  ReportInput in;
  in.title = "BPC against benchmark scores";
  in.source = "Data: BPC runs and benchmark scores from the results database " + data.name + ".";
  in.data = data;
  in.corpora = options.corpora.empty() ? data.corpora() : options.corpora;
  auto areas = options.areas;
  if (areas.empty()) {
    for (const auto& b : data.benchmarks()) areas.push_back({b, {b}});
  }
  if (in.corpora.empty()) throw Error(data.name + " holds no BPC runs (record some with lmzip bpc)");
  if (areas.empty()) throw Error(data.name + " holds no benchmark scores (add some with lmzip results import)");
  for (const auto& corpus : in.corpora) {
    for (const auto& [name, benchmarks] : areas) {
      stats::FitSpec spec{.corpora = {corpus}, .y_groups = {benchmarks}, .only = options.only,
                          .exclude = options.exclude};
      try {
        stats::FitReport fit = stats::run_fit(data, spec);
        in.correlations.push_back(row_of(name, "BPC " + corpus, fit));
        std::string id = slug(corpus + "-" + name);
        // Distinct names can share a slug ("a b" and "a-b"): number the later ones so no file is overwritten.
        for (int k = 2; std::any_of(in.plots.begin(), in.plots.end(), [&](const auto& p) { return p.id == id; }); ++k) {
          id = slug(corpus + "-" + name) + "-" + std::to_string(k);
        }
        in.plots.push_back({.id = id, .title = name + " against BPC " + corpus,
                            .spec = spec, .fit = fit});
      } catch (const Error& e) {
        in.notes.push_back("No fit of " + name + " against BPC " + corpus + ": " + e.what());
      }
    }
  }
  if (in.plots.empty()) {
    throw Error("nothing to plot: no corpus and benchmark share 3 or more models in " + data.name +
                (in.notes.empty() ? "" : " (" + in.notes.front() + ")"));
  }
  return in;
}

}  // namespace lmzip::report
