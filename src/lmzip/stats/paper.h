// The study's published data, shipped inside lmzip: Huang, Zhang, Shan, He, "Compression Represents
// Intelligence Linearly" (arXiv 2404.09937, COLM 2024). The tables (data/paper/*.csv, see its README) are
// compiled in; this header turns them into a Dataset and defines the published correlation rows that the
// tables allow lmzip to reproduce.
#pragma once

#include <string>
#include <vector>

#include "lmzip/stats/fit.h"

namespace lmzip::stats {

struct EmbeddedFile {
  const char* name;  // file name in data/paper/
  const char* text;  // its full content
};
const std::vector<EmbeddedFile>& paper_files();  // generated at build time
const char* paper_file(const std::string& name);  // throws lmzip::Error for an unknown name

// Names of the paper's tables as datasets: "knowledge" (Table 4), "coding" (Table 6), "math" (Table 8),
// "cc-resampling" (Table 10), "mmlu-style" (Table 11).
std::vector<std::string> paper_table_names();

// The paper's tables joined by model name (scores as fractions). `table` empty = all tables.
// Corpora: cc, python, arxiv_math (and cc_resampled: Table 10's mean of 3 samples).
// Benchmarks: the tables' column names; each area's published Average column is knowledge_avg, coding_avg,
// math_avg; Table 11's default-style MMLU is MMLU_default_style.
Dataset paper_dataset(const std::string& table = "");

// One row of paper_correlations_summary.csv with the fit that reproduces it.
struct PaperRow {
  std::string area, benchmark;     // the CSV's area and benchmark_or_setting values
  std::string corpus, n_models, source;  // as published (n_models is text: "19 (Qwen excluded)")
  double published_r = 0, published_e = 0;
  FitSpec spec;
};

// The 19 reproducible rows, in the CSV's order (all but the PAL-GSM8K rows and the textbook-corpus row,
// whose per-model data the paper does not publish).
std::vector<PaperRow> paper_rows();

// The published rows the tables cannot reproduce, each as "area / benchmark (corpus): reason".
std::vector<std::string> paper_unreproducible_rows();

}  // namespace lmzip::stats
