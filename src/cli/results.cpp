// lmzip results list|show|export|import: the results database (BPC runs and benchmark scores).
#include <cstdio>
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/store/export.h"
#include "lmzip/store/results_store.h"
#include "lmzip/store/score_import.h"

namespace lmzip::cli {
namespace {

// Stores written before names were escaped may hold invalid UTF-8: keep every JSON output valid regardless.
constexpr auto kReplaceInvalid = nlohmann::json::error_handler_t::replace;

const char* kDbHelp = "results database (default: $LMZIP_DB, else ./lmzip-results.sqlite)";

std::string db_path(const std::string& db) { return db.empty() ? ResultsStore::default_path() : db; }

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s + " " : s + std::string(width - s.size(), ' ');
}

int list(int argc, char** argv) {
  std::string db, model, corpus;
  bool scores = false, json = false;
  ArgParser args("lmzip results list [--db FILE] [--model NAME] [--corpus NAME] [--scores] [--json]",
                 "Lists the recorded BPC runs (or, with --scores, the benchmark scores), oldest first.");
  args.option("--db", "FILE", &db, kDbHelp);
  args.option("--model", "NAME", &model, "only runs of this model");
  args.option("--corpus", "NAME", &corpus, "only runs on this corpus");
  args.flag("--scores", &scores, "list benchmark scores instead of runs");
  args.flag("--json", &json, "one JSON object per line");
  if (!args.parse(argc, argv)) return 0;
  ResultsStore store = ResultsStore::open_existing(db_path(db));
  if (scores) {
    if (!json) std::cout << pad("model", 28) << pad("benchmark", 24) << pad("score", 8) << pad("stderr", 8) << "metric\n";
    for (const auto& s : store.scores()) {
      if (json) {
        std::cout << score_json(s).dump(-1, ' ', false, kReplaceInvalid) << "\n";
        continue;
      }
      std::cout << pad(s.score.model_name, 28) << pad(s.score.benchmark, 24) << pad(fixed(s.score.score, 4), 8)
                << pad(s.score.stderr_value ? fixed(*s.score.stderr_value, 4) : "", 8) << s.score.metric << "\n";
    }
    return 0;
  }
  if (!json) {
    std::cout << pad("id", 6) << pad("model", 28) << pad("corpus", 20) << pad("protocol", 10) << pad("bpc", 8)
              << pad("bpb", 8) << pad("tokens", 12) << "finished\n";
  }
  for (const auto& r : store.bpc_runs({.model_name = model, .corpus_name = corpus})) {
    if (json) {
      std::cout << bpc_run_json(r).dump(-1, ' ', false, kReplaceInvalid) << "\n";
      continue;
    }
    std::cout << pad(std::to_string(r.id), 6) << pad(r.run.model_name, 28) << pad(r.run.corpus_name, 20)
              << pad(r.run.protocol, 10) << pad(fixed(r.run.bpc, 4), 8) << pad(fixed(r.run.bpb, 4), 8)
              << pad(std::to_string(r.run.tokens), 12) << r.run.finished_at << "\n";
  }
  return 0;
}

int show(int argc, char** argv) {
  std::string db;
  bool json = false;
  std::vector<std::string> ids;
  ArgParser args("lmzip results show ID [--db FILE] [--json]", "Shows every recorded field of one BPC run.");
  args.option("--db", "FILE", &db, kDbHelp);
  args.flag("--json", &json, "print one JSON object");
  args.positionals("ID", &ids, 1, 1, "the run's id (see lmzip results list)");
  if (!args.parse(argc, argv)) return 0;
  char* end = nullptr;
  long long id = std::strtoll(ids[0].c_str(), &end, 10);
  if (ids[0].empty() || *end != '\0' || id <= 0) throw UsageError("run id must be a positive integer, not '" + ids[0] + "'");
  ResultsStore store = ResultsStore::open_existing(db_path(db));
  auto run = store.bpc_run(id);
  if (!run) throw Error("no run with id " + ids[0] + " in " + store.path() + " (see lmzip results list)");
  nlohmann::ordered_json j = bpc_run_json(*run);
  if (json) {
    std::cout << j.dump(-1, ' ', false, kReplaceInvalid) << "\n";
    return 0;
  }
  for (const auto& [k, v] : j.items()) {
    std::cout << pad(k, 16) << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  }
  return 0;
}

int export_results(int argc, char** argv) {
  std::string db, output;
  bool csv = false, json = false, scores = false;
  ArgParser args("lmzip results export (--csv | --json) [--scores] [-o FILE] [--db FILE]",
                 "Writes the database's contents: --csv the BPC runs (or, with --scores, the scores, in the\n"
                 "format results import reads back); --json one object {schema_version, bpc_runs, scores}.");
  args.option("--db", "FILE", &db, kDbHelp);
  args.flag("--csv", &csv, "CSV with a header line");
  args.flag("--json", &json, "one JSON object");
  args.flag("--scores", &scores, "with --csv: export the scores instead of the runs");
  args.option("-o,--output", "FILE", &output, "write to FILE atomically (default: standard output)");
  if (!args.parse(argc, argv)) return 0;
  if (csv == json) throw UsageError("choose one of --csv and --json");
  ResultsStore store = ResultsStore::open_existing(db_path(db));
  std::string text;
  if (csv) {
    text = scores ? scores_csv(store.scores()) : bpc_runs_csv(store.bpc_runs());
  } else {
    nlohmann::ordered_json j = {{"schema_version", store.schema_version()}};
    j["bpc_runs"] = nlohmann::ordered_json::array();
    for (const auto& r : store.bpc_runs()) j["bpc_runs"].push_back(bpc_run_json(r));
    j["scores"] = nlohmann::ordered_json::array();
    for (const auto& s : store.scores()) j["scores"].push_back(score_json(s));
    text = j.dump(1, ' ', false, kReplaceInvalid) + "\n";
  }
  if (output.empty()) std::cout << text;
  else write_file_atomic(output, text);
  return 0;
}

// One file to import: benchmark scores, or BPC runs (a CSV written by `results export --csv`).
struct ImportFile {
  std::string path;
  ScoreImport scores;
  std::vector<BpcRunRecord> runs;
};

int import_results(int argc, char** argv) {
  std::string db, model, metric, scale = "detect";
  std::vector<std::string> files;
  ArgParser args("lmzip results import FILE... [--db FILE] [--model NAME] [--metric NAME] [--scale S]",
                 "Imports benchmark scores: CSV files (columns model,benchmark,score[,stderr][,metric]) or\n"
                 "lm-evaluation-harness results JSON (results.<task>.<metric>). A (model, benchmark) already in\n"
                 "the database is replaced. Scores are stored as fractions. A CSV of BPC runs written by\n"
                 "`lmzip results export --csv` is imported as runs (merging databases).");
  args.option("--db", "FILE", &db, kDbHelp);
  args.option("--model", "NAME", &model, "lm-eval JSON: the model name to record (default: from the file)");
  args.option("--metric", "NAME", &metric, "lm-eval JSON: the metric to take (default: acc_norm, acc, exact_match, ...)");
  args.option("--scale", "S", &scale, "detect (default; CSV: percent if any score > 1), fraction or percent");
  args.positionals("FILE", &files, 1, 1000, "score files");
  if (!args.parse(argc, argv)) return 0;
  ScoreImportOptions options{.scale = parse_score_scale(scale), .model = model, .metric = metric};
  std::vector<ImportFile> imports;
  for (const auto& f : files) {  // every file parsed before anything is written
    std::string text = read_file(f);
    if (is_bpc_runs_csv(text)) imports.push_back({.path = f, .scores = {}, .runs = bpc_runs_from_csv(text, f)});
    else imports.push_back({.path = f, .scores = read_scores_file(f, options), .runs = {}});
  }
  ResultsStore store(db_path(db));
  for (const auto& imp : imports) {
    if (!imp.runs.empty() || imp.scores.format.empty()) {
      store.record_bpc_runs(imp.runs);
      std::cerr << imp.path << ": " << imp.runs.size() << " BPC runs\n";
      continue;
    }
    size_t n = store.record_scores(imp.scores.scores);
    std::cerr << imp.path << ": " << n << " scores (" << imp.scores.format
              << (imp.scores.from_percent ? ", percent -> fractions" : "") << ")";
    if (!imp.scores.skipped.empty()) {
      std::cerr << ", " << imp.scores.skipped.size() << " tasks without the metric skipped";
    }
    std::cerr << "\n";
  }
  std::cout << "imported into " << store.path() << "\n";
  return 0;
}

int run_results(int argc, char** argv) {
  const char* usage =
      "usage: lmzip results COMMAND [options]\n"
      "  list     the recorded BPC runs (--scores: benchmark scores)\n"
      "  show ID  every field of one run\n"
      "  export   --csv or --json\n"
      "  import   benchmark scores from CSV or lm-evaluation-harness JSON\n";
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    std::cout << usage;
    return argc < 2 ? 2 : 0;
  }
  std::string sub = argv[1];
  if (sub == "list") return list(argc - 1, argv + 1);
  if (sub == "show") return show(argc - 1, argv + 1);
  if (sub == "export") return export_results(argc - 1, argv + 1);
  if (sub == "import") return import_results(argc - 1, argv + 1);
  throw UsageError("unknown results command '" + sub + "' (list, show, export, import)");
}

Registration reg{{"results", "the results database: list, show, export (CSV/JSON), import benchmark scores",
                  run_results}};

}  // namespace
}  // namespace lmzip::cli
