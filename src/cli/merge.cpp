// lmzip merge PARTS... : the part files of `lmzip bpc --shard I/N` (or `lmzip eval --shard I/N`) combined into the result of one run.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "bpc_output.h"
#include "eval_output.h"
#include "lmzip/eval/part.h"
#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/utf8.h"
#include "lmzip/io/file.h"
#include "lmzip/score/shard.h"
#include "lmzip/score/uncertainty.h"
#include "lmzip/store/results_store.h"

namespace lmzip::cli {
namespace {

struct MergeArgs {
  std::vector<std::string> parts;
  std::string output_path;
  std::string per_doc_path;
  bool json = false;
  std::string db_path;
  bool no_db = false;
};

// Files as given; a directory contributes its *.lmzpart and *.lmzeval files (sorted). Returns whether a
// directory was given.
bool expand_parts(const std::vector<std::string>& args, std::vector<std::string>& files) {
  bool directory = false;
  for (const std::string& arg : args) {
    if (!std::filesystem::is_directory(arg)) {
      files.push_back(arg);
      continue;
    }
    directory = true;
    std::vector<std::string> found;
    for (const auto& e : std::filesystem::directory_iterator(arg)) {
      if (e.is_regular_file() && (e.path().extension() == ".lmzpart" || e.path().extension() == ".lmzeval")) {
        found.push_back(e.path().string());
      }
    }
    if (found.empty()) throw Error(arg + ": no .lmzpart or .lmzeval files in this directory");
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return directory;
}

int run_merge(int argc, char** argv) {
  MergeArgs a;
  ArgParser args("lmzip merge PARTS... [-o RESULT.json] [--json] [--db FILE | --no-db]",
                 "Combines the part files written by `lmzip bpc --shard I/N` (files, or directories of .lmzpart\n"
                 "files) into the result one `lmzip bpc` process would have given, bit for bit: the parts must\n"
                 "be the N shards of one run (same model, corpus, protocol and parameters, N; none missing or\n"
                 "repeated). Prints the same table or JSON as lmzip bpc and records the run in the results store.\n"
                 "Given directories, the parts are grouped by corpus: one result per corpus.\n"
                 "The parts of `lmzip eval --shard I/N` (.lmzeval) merge the same way into the metrics and\n"
                 "standard errors of the single eval run (one result per task and data).");
  args.option("-o, --output", "RESULT.json", &a.output_path, "also write the result JSON (one line per corpus)");
  args.option("--per-doc", "FILE.jsonl", &a.per_doc_path, "write nats, scored tokens, chars, bytes per document");
  args.flag("--json", &a.json, "one JSON object per corpus, one per line (as lmzip bpc --json)");
  args.option("--db", "FILE", &a.db_path, "results store to record runs in (default: $LMZIP_DB, else ./lmzip-results.sqlite)");
  args.flag("--no-db", &a.no_db, "do not record the runs in the results store");
  args.positionals("PARTS", &a.parts, 1, 1'000'000, "part files or directories of them");
  if (!args.parse(argc, argv)) return 0;
  if (a.no_db && !a.db_path.empty()) throw UsageError("--db and --no-db contradict each other: give one");

  std::vector<std::string> files;
  const bool directory = expand_parts(a.parts, files);
  // Parts grouped by corpus (directories) or all one group (files: a part of another corpus is an error);
  // eval parts by task and data.
  std::map<std::string, std::vector<NamedPart>> groups;
  std::map<std::string, std::vector<eval::NamedEvalPart>> eval_groups;
  for (const std::string& f : files) {
    if (!file_exists(f)) throw Error(f + ": no such part file");
    if (std::filesystem::path(f).extension() == ".lmzeval") {
      eval::EvalPart p = eval::parse_eval_part(read_file(f), f);
      std::string key = directory ? p.run.value("task", "") + "|" + p.fingerprint["data"].dump() : "";
      eval_groups[key].push_back({f, std::move(p)});
      continue;
    }
    PartialResult p = parse_part(read_file(f), f);
    std::string key = directory ? p.meta.corpus_sha256 + "|" + p.meta.field : "";
    groups[key].push_back({f, std::move(p)});
  }
  if (!directory && !groups.empty() && !eval_groups.empty()) {
    throw UsageError("bpc parts (.lmzpart) and eval parts (.lmzeval) are results of different runs: merge them apart");
  }
  if (!eval_groups.empty() && !a.per_doc_path.empty()) throw UsageError("--per-doc applies to bpc parts (.lmzpart)");
  std::optional<ResultsStore> store;
  if (!a.no_db) store.emplace(a.db_path.empty() ? ResultsStore::default_path() : a.db_path);

  std::string eval_lines;
  for (auto& [key, parts] : eval_groups) {
    const eval::EvalPart& first = parts.front().part;
    eval::EvalResult r = eval::merge_eval_parts(parts, first.run.value("task", ""));
    const EvalRunInfo info{.model = first.run.value("model", ""), .model_path = first.run.value("model_path", ""),
                           .data = first.run.value("data", ""), .add_bos = first.run.value("add_bos", false),
                           .max_context = first.run.value("max_context", 2048LL)};
    double seconds = 0;
    for (const auto& p : parts) seconds += p.part.run.value("seconds", 0.0);
    nlohmann::json j = eval_result_json(r, info, seconds);
    j["shards"] = first.shard_count;
    if (store) record_eval(r, info, *store);
    if (a.json) std::cout << j.dump() << std::endl;
    else print_eval_table(r, info.model);
    eval_lines += j.dump() + "\n";
  }
  if (groups.empty()) {
    if (!a.output_path.empty()) write_file_atomic(a.output_path, eval_lines);
    return 0;
  }

  std::vector<BpcResult> results;
  std::vector<std::string> names, problems, lines;
  for (auto& [key, parts] : groups) {
    BpcResult r = merge_parts(parts);  // sorts the parts by shard index
    PartMeta meta = parts.front().part.meta;
    for (const NamedPart& p : parts) {
      meta.started_at = std::min(meta.started_at, p.part.meta.started_at);
      meta.finished_at = std::max(meta.finished_at, p.part.meta.finished_at);
    }
    nlohmann::json j = result_json(r, meta);
    // The same spread over documents as `lmzip bpc` with its defaults (1000 resamples, seed 20240415).
    add_uncertainty(j, estimate_uncertainty(r.per_doc, {}), UncertaintyOptions{}.resamples);
    std::string problem = record_result(j, store ? &*store : nullptr);
    if (!problem.empty()) problems.push_back(problem);
    if (a.json) {
      std::cout << j.dump() << std::endl;
    } else {
      if (!results.empty()) std::cout << "\n";
      print_table(j);
      std::cout.flush();
    }
    lines.push_back(j.dump() + "\n");
    names.push_back(meta.corpus_name);
    results.push_back(std::move(r));
  }
  if (!a.output_path.empty()) {
    std::string out = eval_lines;
    for (const auto& l : lines) out += l;
    write_file_atomic(a.output_path, out);
  }
  if (!a.per_doc_path.empty()) {
    std::vector<PerDocCorpus> per_doc;
    for (size_t i = 0; i < results.size(); ++i) per_doc.push_back({names[i], &results[i], nullptr});
    write_per_doc(a.per_doc_path, per_doc);
  }
  for (const std::string& p : problems) std::cerr << "lmzip merge: error: " << printable(p) << "\n";
  return problems.empty() ? 0 : 1;
}

Registration reg{{"merge", "combine the part files of lmzip bpc or eval --shard I/N into one result, bit for bit", run_merge}};

}  // namespace
}  // namespace lmzip::cli
