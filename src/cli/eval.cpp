// lmzip eval -m MODEL.gguf --task NAME --data PATH : a downstream benchmark on lmzip's engine (lm-eval prompts
// and metrics; see docs/EVAL.md and docs/TASKS.md).
#include <atomic>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/version.h"
#include "lmzip/eval/checkpoint.h"
#include "lmzip/eval/engine_lm.h"
#include "lmzip/eval/results_json.h"
#include "lmzip/eval/runner.h"
#include "lmzip/eval/sandbox.h"
#include "lmzip/eval/task.h"
#include "lmzip/format/gguf.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/io/file.h"
#include "lmzip/store/results_store.h"
#include "eval_output.h"
#include "lmzip/eval/part.h"
#include "lmzip/score/shard.h"
#include "progress.h"

namespace lmzip::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_eval_sigint(int) { g_interrupted = true; }

struct EvalArgs {
  std::string model_path, tokenizer_path, task, task_file, data, fewshot_data, log_samples, name, db_path, checkpoint, output;
  std::string shard, shard_dir = ".";
  long long limit = -1, batch = 8;
  int shots = -1, threads = 0;
  long long max_context = 2048;
  double min_k = 0;
  bool json = false, add_bos = false, no_db = false, list_tasks = false, unsafe_exec = false;
};

void write_samples(const std::string& path, const eval::EvalResult& r) {
  std::string out;
  for (const auto& s : r.samples) out += s.dump() + "\n";
  write_file_atomic(path, out);
}

// What the documents are: their count and a SHA-256 over their content (as read, derived fields included).
nlohmann::ordered_json documents_identity(const std::vector<nlohmann::ordered_json>& docs) {
  std::string all;
  for (const auto& d : docs) all += d.dump() + "\n";
  return {{"documents", docs.size()}, {"sha256", sha256_hex(all)}};
}

// Everything that shapes this run's prompts, requests and scores (not the paths: a moved file still resumes;
// not the thread count or batch size: results do not depend on them).
nlohmann::ordered_json run_fingerprint(const EvalArgs& a, const eval::TaskSpec& spec, int shots,
                                       const std::vector<nlohmann::ordered_json>& docs,
                                       const std::vector<nlohmann::ordered_json>* pool, const ModelSource& source,
                                       const eval::EvalOptions& o) {
  return {{"task", eval::task_definition_json(spec)},
          {"data", documents_identity(docs)},
          {"fewshot_data", pool ? documents_identity(*pool) : nlohmann::ordered_json(nullptr)},
          {"model", {{"bytes", source.format == "gguf" ? source.file.file_size() : source.weight_bytes}, {"xxh64", source.id}}},
          {"tokenizer", source.tokenizer_file == source.path ? "" : source.tokenizer_file},
          {"shots", shots}, {"seed", o.seed}, {"limit", a.limit}, {"max_context", a.max_context},
          {"add_bos", a.add_bos}, {"min_k", a.min_k}};
}

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void write_lm_eval_json(const std::string& path, const eval::TaskSpec& spec, const eval::EvalResult& r,
                        const EvalArgs& a, const std::string& model, size_t original_docs, double start, double end) {
  eval::LmEvalRunInfo info{.model_name = model,
                           .model_args = "pretrained=" + a.model_path + ",max_context=" + std::to_string(a.max_context) +
                                         ",add_bos=" + (a.add_bos ? "True" : "False"),
                           .data_path = a.data,
                           .fewshot_data_path = a.fewshot_data,
                           .original_docs = original_docs,
                           .limit = a.limit,
                           .batch_size = static_cast<size_t>(a.batch),
                           .fewshot_seed = eval::EvalOptions{}.seed,
                           .start_time = start,
                           .end_time = end};
  info.lmzip = {{"version", kVersion}, {"model_path", a.model_path}, {"resumed_documents", r.resumed_docs}};
  write_file_atomic(path, eval::lm_eval_results_json(spec, r, info).dump(2) + "\n");
}

eval::TaskSpec resolve_task(const EvalArgs& a) {
  if (!a.task_file.empty()) return eval::load_task_file(a.task_file);
  if (a.task.empty()) throw UsageError("give --task NAME (see --list-tasks) or --task-file FILE.json");
  return eval::builtin_task(a.task);
}

// A code task runs untrusted generated programs: find out before loading the model whether this kernel lets the
// sandbox confine them (an error without --unsafe-exec where it does not; a warning with it).
void check_sandbox(bool unsafe_exec) {
  eval::SandboxLimits probe;
  probe.allow_unsafe = unsafe_exec;
  const eval::SandboxResult r = eval::run_python_sandboxed("", probe);
  if (!r.isolated) {
    std::fprintf(stderr, "warning: generated code runs unconfined: %s\n", r.isolation.c_str());
  }
}

EvalRunInfo run_info(const EvalArgs& a) {
  return {.model = a.name.empty() ? model_display_name(a.model_path) : a.name, .model_path = a.model_path,
          .data = a.data, .add_bos = a.add_bos, .max_context = a.max_context};
}

// --shard I/N: skip a complete part of this run; otherwise run the shard's documents and write the part.
int run_eval_shard(const EvalArgs& a, ShardSpec shard, const eval::TaskSpec& spec,
                   const std::vector<nlohmann::ordered_json>& docs, const std::vector<nlohmann::ordered_json>* pool,
                   const ModelSource& source, eval::LanguageModel& lm, eval::EvalOptions options) {
  const EvalRunInfo info = run_info(a);
  const int shots = a.shots >= 0 ? a.shots : spec.num_fewshot;
  // The blocks are part of the partition: every shard (and the single run it equals) uses the same --batch.
  nlohmann::ordered_json fingerprint = run_fingerprint(a, spec, shots, docs, pool, source, options);
  fingerprint["batch"] = a.batch;
  auto clean = [](std::string s) {
    for (char& c : s) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
    }
    return s;
  };
  std::filesystem::create_directories(a.shard_dir);
  const std::string path = (std::filesystem::path(a.shard_dir) / (clean(spec.name) + "." + clean(info.model) + "." +
                            std::to_string(shard.index) + "-of-" + std::to_string(shard.count) + ".lmzeval")).string();
  if (eval::eval_part_is_complete(path)) {
    const eval::EvalPart done = eval::parse_eval_part(read_file(path), path);
    const auto diff = eval::fingerprint_differences(done.fingerprint, fingerprint);
    if (!diff.empty() || done.shard_index != shard.index || done.shard_count != shard.count) {
      throw Error(path + ": a complete part of a different run is already there (" +
                  (diff.empty() ? std::string("another shard") : diff.front()) +
                  "); delete it (and its .done marker) or choose another --shard-dir");
    }
    std::cout << "shard " << shard_name(shard) << " of " << spec.name << ": already complete (skipped): " << path << "\n";
    return 0;
  }
  size_t n = docs.size();
  if (a.limit >= 0) n = std::min(n, static_cast<size_t>(a.limit));
  const eval::DocRange range = eval::shard_documents(n, options.batch_docs, shard.index, shard.count);
  options.first_doc = range.begin;
  options.end_doc = range.end;
  const auto start = std::chrono::steady_clock::now();
  ProgressLine progress("eval " + spec.name + " shard " + shard_name(shard));
  options.progress = [&](size_t done, size_t) {
    if (done > range.begin) {
      progress.update(done - range.begin, range.end - range.begin,
                      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), "docs");
    }
  };
  eval::EvalResult r = eval::run_task(spec, docs, pool, lm, options);
  progress.finish();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  eval::EvalPart part{.fingerprint = fingerprint,
                      .run = {{"task", spec.name}, {"model", info.model}, {"model_path", info.model_path},
                              {"data", info.data}, {"add_bos", info.add_bos}, {"max_context", info.max_context},
                              {"seconds", secs}, {"lmzip_version", kVersion}},
                      .shard_index = shard.index, .shard_count = shard.count, .range = range, .documents = n,
                      .num_fewshot = r.num_fewshot, .outcomes = std::move(r.outcomes)};
  eval::write_eval_part(path, part);
  std::cout << "shard " << shard_name(shard) << " of " << spec.name << ": documents [" << range.begin << ", "
            << range.end << ") of " << n << " -> " << path << "\n";
  return 0;
}

int run_eval(int argc, char** argv) {
  EvalArgs a;
  ArgParser args("lmzip eval -m MODEL --task NAME --data PATH [--fewshot-data PATH] [--limit N] [--json]\n"
                 "           [--batch N] [--checkpoint FILE] [--output FILE.json] [--log-samples FILE.jsonl]\n"
                 "           [--shard I/N --shard-dir DIR]",
                 "Runs a benchmark task with lm-eval's prompts and metrics on lmzip's engine. Documents run in\n"
                 "blocks of --batch: the requests of a block go to the engine together, then each document is\n"
                 "scored in order (scores do not depend on the block size beyond floating-point rounding).\n"
                 "With --checkpoint, each finished block is saved; Ctrl-C saves and stops; rerunning the same\n"
                 "command resumes after the last saved document (a checkpoint of another model, data, task or\n"
                 "options is refused, naming what differs).");
  args.option("-m,--model", "MODEL", &a.model_path, "the model: a .gguf file or a Hugging Face checkpoint directory");
  args.option("--tokenizer", "FILE", &a.tokenizer_path,
              "tokenizer.model, tokenizer.json or a .gguf vocabulary to use instead of the model's own");
  args.option("--task", "NAME", &a.task, "built-in task (--list-tasks)");
  args.option("--task-file", "FILE", &a.task_file, "task definition JSON (docs/TASKS.md)");
  args.option("--data", "PATH", &a.data, "the evaluated split: a file or a directory of them");
  args.option("--fewshot-data", "PATH", &a.fewshot_data, "demonstrations (train/dev split); default: --data");
  args.option("--shots", "K", &a.shots, "demonstrations per prompt (default: the task's)");
  args.option("--limit", "N", &a.limit, "evaluate only the first N documents");
  args.option("--batch", "N", &a.batch, "documents whose requests go to the engine together (default 8)");
  args.option("--checkpoint", "FILE", &a.checkpoint,
              "save finished documents to FILE after each block; rerunning the same command resumes (Ctrl-C saves)");
  args.option("--output", "FILE.json", &a.output,
              "write the results as an lm-evaluation-harness results JSON (`lmzip results import` reads it)");
  args.option("-t,--threads", "N", &a.threads, "threads (default: all)");
  args.option("--max-context", "N", &a.max_context, "tokens per request (default 2048)");
  args.option("--min-k", "PCT", &a.min_k, "also report Min-K% Prob (e.g. 20)");
  args.flag("--add-bos", &a.add_bos, "prepend BOS to every request (lm-eval's HF default: no)");
  args.option("--log-samples", "FILE", &a.log_samples, "write every prompt, response and verdict as JSONL");
  args.option("--name", "NAME", &a.name, "model name in the results store (default: file name)");
  args.option("--db", "FILE", &a.db_path, "results store (default $LMZIP_DB or ./lmzip-results.sqlite)");
  args.flag("--no-db", &a.no_db, "do not record the scores");
  args.flag("--json", &a.json, "print JSON instead of a table");
  args.option("--shard", "I/N", &a.shard,
              "run only shard I of N (0-based) of the documents, in whole --batch blocks, and write a part file for "
              "lmzip merge (the metrics of the single run, from all shards' documents); a complete part is skipped");
  args.option("--shard-dir", "DIR", &a.shard_dir, "where --shard writes its part file (default: .)");
  args.flag("--list-tasks", &a.list_tasks, "list the built-in tasks and exit");
  args.flag("--unsafe-exec", &a.unsafe_exec,
            "code tasks: run generated programs even where the kernel refuses the sandbox's namespaces\n"
            "(then only rlimits, a uid drop and a process-group kill confine them; docs/SECURITY.md)");
  if (!args.parse(argc, argv)) return 0;
  if (a.list_tasks) {
    for (const auto& n : eval::builtin_task_names()) std::printf("%-16s %s\n", n.c_str(), eval::builtin_task(n).title.c_str());
    return 0;
  }
  if (a.model_path.empty()) throw UsageError("give the model with -m MODEL.gguf");
  if (a.data.empty()) throw UsageError("give the evaluated data with --data PATH");
  if (a.max_context < 16) throw UsageError("--max-context must be at least 16");
  if (a.min_k < 0 || a.min_k > 100) throw UsageError("--min-k is a percentage in (0, 100]");
  if (a.batch < 1 || a.batch > 1000000) throw UsageError("--batch must be in 1..1000000");
  if (a.limit == 0) throw UsageError("--limit 0 evaluates nothing: give at least 1 (or leave it out for all)");
  if (a.no_db && !a.db_path.empty()) throw UsageError("--db and --no-db contradict each other: give one");
  if (!a.task.empty() && !a.task_file.empty()) throw UsageError("give --task or --task-file, not both");
  std::optional<ShardSpec> shard;
  if (!a.shard.empty()) {
    shard = parse_shard(a.shard);
    for (const auto& [given, name] : {std::pair{!a.checkpoint.empty(), "--checkpoint"}, {!a.output.empty(), "--output"},
                                      {!a.log_samples.empty(), "--log-samples"}, {!a.db_path.empty(), "--db"}}) {
      if (given) throw UsageError(std::string(name) + " does not apply to --shard (lmzip merge writes and records the result)");
    }
  }
  const eval::TaskSpec spec = resolve_task(a);
  if (!spec.program.empty()) check_sandbox(a.unsafe_exec);
  const auto docs = eval::load_documents(spec, a.data);
  std::vector<nlohmann::ordered_json> pool;
  if (!a.fewshot_data.empty() && !spec.fewshot_samples.empty()) {
    // lm-eval's fewshot_config.samples: the definition's own demonstrations (math, mbpp) are the pool.
    std::cerr << "lmzip eval: task " << spec.name << " has fixed demonstrations (fewshot_samples); --fewshot-data "
              << a.fewshot_data << " is not used\n";
    a.fewshot_data.clear();
  }
  if (!a.fewshot_data.empty()) pool = eval::load_documents(spec, a.fewshot_data);

  const ModelSource source = open_model_source(a.model_path, a.tokenizer_path);
  auto tokenizer = source.tokenizer();
  auto model = source.load_model();
  ThreadPool threads(resolve_threads(a.threads));
  // A block's generations are all decoded together; its option requests share passes of up to 2048 tokens.
  eval::EngineLanguageModel lm(*model, *tokenizer, threads,
                               {.max_context = a.max_context, .add_bos = a.add_bos,
                                .max_in_flight = static_cast<int>(std::min<long long>(a.batch, 64))});
  const auto start = std::chrono::steady_clock::now();
  const double start_unix = unix_now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  eval::EvalOptions options{.limit = a.limit, .num_fewshot = a.shots, .min_k = a.min_k / 100.0,
                            .batch_docs = static_cast<size_t>(a.batch)};
  options.unsafe_exec = a.unsafe_exec;
  const auto* pool_ptr = a.fewshot_data.empty() ? nullptr : &pool;

  // Open the results store before the long work, so a bad --db fails at once.
  std::optional<ResultsStore> store;
  if (!a.no_db && !shard) store.emplace(a.db_path.empty() ? ResultsStore::default_path() : a.db_path);

  if (shard) return run_eval_shard(a, *shard, spec, docs, pool_ptr, source, lm, options);

  std::optional<eval::EvalCheckpoint> checkpoint;
  size_t resumed = 0;
  if (!a.checkpoint.empty()) {
    const int shots = a.shots >= 0 ? a.shots : spec.num_fewshot;
    checkpoint.emplace(a.checkpoint, run_fingerprint(a, spec, shots, docs, pool_ptr, source, options));
    resumed = checkpoint->done().size();
    if (resumed > 0) std::cerr << "lmzip eval: resuming after " << resumed << " documents saved in " << a.checkpoint << "\n";
    options.resume = &checkpoint->done();
    options.on_block = [&](const std::vector<eval::DocOutcome>& block) { checkpoint->append(block); };
    options.cancel = &g_interrupted;
    std::signal(SIGINT, on_eval_sigint);
  }
  ProgressLine progress("eval " + spec.name + (resumed ? " (resumed)" : ""));
  // The rate and ETA count only the documents this process runs.
  options.progress = [&](size_t done, size_t total) {
    if (done >= resumed) progress.update(done - resumed, total - resumed, seconds(), "docs");
  };
  eval::EvalResult r;
  try {
    r = eval::run_task(spec, docs, pool_ptr, lm, options);
  } catch (const eval::EvalInterrupted& e) {
    progress.finish();
    std::cerr << "lmzip eval: " << e.what() << "; progress saved in " << a.checkpoint
              << ": rerun the same command to resume\n";
    return 130;
  }
  progress.finish();
  if (checkpoint) {
    std::signal(SIGINT, SIG_DFL);
    std::cerr << "lmzip eval: the checkpoint " << a.checkpoint << " is complete (" << r.n_docs
              << " documents); rerunning the command reads the results from it, delete it to evaluate again\n";
  }
  const EvalRunInfo info = run_info(a);
  if (!a.log_samples.empty()) write_samples(a.log_samples, r);
  if (!a.output.empty()) write_lm_eval_json(a.output, spec, r, a, info.model, docs.size(), start_unix, unix_now());
  if (store) record_eval(r, info, *store);
  if (a.json) std::cout << eval_result_json(r, info, seconds()).dump(2) << "\n";
  else print_eval_table(r, info.model);
  return 0;
}

Registration reg{{"eval", "downstream benchmarks (lm-eval prompts and metrics) on lmzip's engine", run_eval}};

}  // namespace
}  // namespace lmzip::cli
