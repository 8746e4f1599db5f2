// The HTML report: one self-contained page (inline CSS and SVG; no scripts, fonts or network) with a scatter
// plot per area (points labelled by model, fitted line, r and e in the corner, as the study's Figure 1), the
// correlation table, the BPC table (models x corpora) and residual plots; every plot also as an .svg file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lmzip/stats/fit.h"

namespace lmzip::report {

struct ReportFit {
  std::string id{};     // file-name safe: plots are <id>.svg and <id>-residuals.svg
  std::string title{};  // "Knowledge & commonsense"
  stats::FitSpec spec{};
  stats::FitReport fit{};
  std::optional<double> published_r{}, published_e{};
};

struct CorrelationRow {
  std::string area{}, benchmark{};
  int n = 0;
  double r = 0, e = 0, spearman = 0;
  std::optional<double> published_r{}, published_e{};
};

struct ReportInput {
  std::string title;
  std::string source;                 // where the numbers come from, one sentence
  stats::Dataset data;                // the BPC table's rows
  std::vector<std::string> corpora;   // the BPC table's columns
  std::vector<ReportFit> plots;       // one scatter and one residual plot each
  std::vector<CorrelationRow> correlations;
  std::vector<std::string> notes;     // shown under the correlation table
};

// The study's Figure 1 (overall and the three areas) and all 19 reproduced rows, from the embedded tables.
ReportInput paper_report();

// From measured data (a results store): for each corpus and benchmark (or benchmark group) with at least three
// models having both, a fit; pairs that cannot be fitted are listed in the notes with the reason.
struct StoreReportOptions {
  std::vector<std::string> corpora{};  // empty = every corpus
  std::vector<std::pair<std::string, std::vector<std::string>>> areas{};  // name -> benchmarks; empty = each one
  std::vector<std::string> only{}, exclude{};
};
ReportInput store_report(const stats::Dataset& data, const StoreReportOptions& options);

std::string report_html(const ReportInput& input);

// Writes index.html and the .svg files into `dir` (created if missing), each atomically; returns the paths.
std::vector<std::string> write_report(const std::string& dir, const ReportInput& input);

}  // namespace lmzip::report
