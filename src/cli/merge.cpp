// lmzip merge PARTS... : the part files of `lmzip bpc --shard I/N` combined into the result of one run.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "bpc_output.h"
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

// Files as given; a directory contributes its *.lmzpart files (sorted). Returns whether a directory was given.
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
      if (e.is_regular_file() && e.path().extension() == ".lmzpart") found.push_back(e.path().string());
    }
    if (found.empty()) throw Error(arg + ": no .lmzpart files in this directory");
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
                 "Given directories, the parts are grouped by corpus: one result per corpus.");
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
  // Parts grouped by corpus (directories) or all one group (files: a part of another corpus is an error).
  std::map<std::string, std::vector<NamedPart>> groups;
  for (const std::string& f : files) {
    if (!file_exists(f)) throw Error(f + ": no such part file");
    PartialResult p = parse_part(read_file(f), f);
    std::string key = directory ? p.meta.corpus_sha256 + "|" + p.meta.field : "";
    groups[key].push_back({f, std::move(p)});
  }
  std::optional<ResultsStore> store;
  if (!a.no_db) store.emplace(a.db_path.empty() ? ResultsStore::default_path() : a.db_path);

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
    std::string out;
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

Registration reg{{"merge", "combine the part files of lmzip bpc --shard I/N into one result, bit for bit", run_merge}};

}  // namespace
}  // namespace lmzip::cli
