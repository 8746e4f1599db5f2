// lmzip report -o DIR: a self-contained HTML page with the compression-vs-benchmark plots and tables.
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/report/html.h"
#include "lmzip/store/results_store.h"

namespace lmzip::cli {
namespace {

// "NAME=B1,B2" -> (NAME, {B1, B2}); "B1,B2" names the area after its benchmarks.
std::pair<std::string, std::vector<std::string>> parse_area(const std::string& text) {
  size_t eq = text.find('=');
  std::string name = eq == std::string::npos ? text : text.substr(0, eq);
  std::string list = eq == std::string::npos ? text : text.substr(eq + 1);
  std::vector<std::string> benchmarks;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = std::min(list.find(',', start), list.size());
    if (end == start) throw UsageError("--area '" + text + "': empty benchmark name");
    benchmarks.push_back(list.substr(start, end - start));
    start = end + 1;
  }
  if (name.empty()) throw UsageError("--area '" + text + "': empty area name");
  return {name, benchmarks};
}

int run_report(int argc, char** argv) {
  std::string out_dir, db;
  bool paper = false;
  std::vector<std::string> corpora, areas, only, exclude;
  ArgParser args("lmzip report -o DIR [--paper | --db FILE] [--corpus NAME] [--area NAME=B1,B2] [options]",
                 "Writes DIR/index.html (self-contained: inline SVG and CSS, no scripts, no network) with a scatter\n"
                 "plot of score against BPC per area (labelled points, fitted line, r and e), the correlation table,\n"
                 "the BPC table and residual plots, and every plot as DIR/<plot>.svg.\n"
                 "--paper: the study's Figure 1 and all reproduced correlations. --db: one plot per corpus and\n"
                 "benchmark (or --area) having 3 or more models with both.");
  args.option("-o,--output", "DIR", &out_dir, "directory to write (created if missing)");
  args.flag("--paper", &paper, "report the study's published tables (shipped with lmzip)");
  args.option("--db", "FILE", &db, "results database (default: $LMZIP_DB, else ./lmzip-results.sqlite)");
  args.option("--corpus", "NAME", &corpora, "with --db: only this corpus (repeatable; default all)");
  args.option("--area", "NAME=B1,B2", &areas, "with --db: plot the mean of these benchmarks as one area (repeatable)");
  args.option("--only", "MODEL", &only, "with --db: only these models (names or globs; repeatable)");
  args.option("--exclude", "MODEL", &exclude, "with --db: leave these models out (repeatable)");
  if (!args.parse(argc, argv)) return 0;
  if (out_dir.empty()) throw UsageError("give the output directory with -o DIR");
  if (paper && !db.empty()) throw UsageError("--paper and --db are exclusive");
  if (paper && (!corpora.empty() || !areas.empty() || !only.empty() || !exclude.empty())) {
    throw UsageError("--corpus/--area/--only/--exclude apply to --db reports");
  }
  report::ReportInput input;
  if (paper) {
    input = report::paper_report();
  } else {
    report::StoreReportOptions options{.corpora = corpora, .only = only, .exclude = exclude};
    for (const auto& a : areas) options.areas.push_back(parse_area(a));
    ResultsStore store = ResultsStore::open_existing(db.empty() ? ResultsStore::default_path() : db);
    input = report::store_report(store.dataset(), options);
  }
  for (const auto& path : report::write_report(out_dir, input)) std::cout << path << "\n";
  if (!paper) {
    for (const auto& note : input.notes) std::cerr << "note: " << note << "\n";  // pairs left unplotted
  }
  return 0;
}

Registration reg{{"report", "write an HTML report (plots, correlation and BPC tables) of BPC against benchmarks",
                  run_report}};

}  // namespace
}  // namespace lmzip::cli
