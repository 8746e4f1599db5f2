// lmzip report -o DIR: a self-contained HTML page with the compression-vs-benchmark plots and tables.
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <tuple>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/io/file.h"
#include "lmzip/report/html.h"
#include "lmzip/report/svg.h"
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

// The two loss-curve plots of a --loss-curve JSON file (mean nats by window position, by document byte position).
std::vector<std::string> write_loss_curve_plots(const std::string& file, const std::string& dir) {
  const nlohmann::json j = parse_json(read_file(file), file);
  if (!j.is_object() || !j.contains("corpora") || !j["corpora"].is_array()) {
    throw Error(file + ": not a loss-curve file of lmzip bpc --loss-curve (no \"corpora\" array)");
  }
  const std::string model = j.value("model", "");
  std::vector<std::string> written;
  std::filesystem::create_directories(dir);
  for (const auto& [key, title, x_label] :
       {std::tuple{"token_position", "loss by token position in the window", "output position in the window"},
        std::tuple{"byte_position", "loss by byte position in the document", "byte of the document"}}) {
    report::LinePlot plot{.id = key, .title = model + ": " + title, .x_label = x_label, .y_label = "mean nats"};
    for (const auto& c : j["corpora"]) {
      const auto& curve = c.at(key);
      report::LineSeries s{.name = c.value("corpus", "?"), .points = {}};
      for (size_t i = 0; i < curve.at("mean_nats").size(); ++i) {
        s.points.push_back({static_cast<double>(i), curve["mean_nats"][i].get<double>()});
      }
      if (!s.points.empty()) plot.series.push_back(std::move(s));
    }
    if (plot.series.empty()) throw Error(file + ": the curves are empty");
    const std::string path = dir + (std::string(key) == "token_position" ? "/loss-token.svg" : "/loss-byte.svg");
    write_file_atomic(path, "<?xml version='1.0' encoding='UTF-8'?>\n" + report::line_plot_svg(plot));
    written.push_back(path);
  }
  return written;
}

int run_report(int argc, char** argv) {
  std::string out_dir, db;
  bool paper = false;
  std::vector<std::string> corpora, areas, only, exclude;
  std::string loss_curve;
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
  args.option("--loss-curve", "FILE", &loss_curve,
              "plot the curves of lmzip bpc --loss-curve FILE (JSON): DIR/loss-token.svg and DIR/loss-byte.svg, "
              "one line per corpus (alone, or beside --paper/--db)");
  if (!args.parse(argc, argv)) return 0;
  if (out_dir.empty()) throw UsageError("give the output directory with -o DIR");
  if (paper && !db.empty()) throw UsageError("--paper and --db are exclusive");
  if (paper && (!corpora.empty() || !areas.empty() || !only.empty() || !exclude.empty())) {
    throw UsageError("--corpus/--area/--only/--exclude apply to --db reports");
  }
  if (!loss_curve.empty()) {
    if (out_dir.empty()) throw UsageError("give the output directory with -o DIR");
    for (const auto& path : write_loss_curve_plots(loss_curve, out_dir)) std::cout << path << "\n";
    if (!paper && db.empty()) return 0;
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
