// lmzip bpc -m MODEL CORPUS... : bits per character of a model on corpora, under a named window protocol.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/utf8.h"
#include "lmzip/core/version.h"
#include "lmzip/device/device.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/io/file.h"
#include "lmzip/model/model.h"
#include "lmzip/score/bpc.h"
#include "lmzip/score/uncertainty.h"
#include "lmzip/store/results_store.h"
#include "bpc_kl.h"
#include "bpc_min_k.h"
#include "loss_curve_output.h"
#include "bpc_output.h"
#include "lmzip/score/shard.h"
#include "progress.h"

namespace lmzip::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

struct BpcArgs {
  std::string model_path;
  std::string tokenizer_path;
  std::vector<std::string> corpora;
  std::string protocol = "hkust";
  long long window = -1, stride = -1, max_chunks = 0;
  int threads = 0;
  bool json = false;
  std::string per_doc_path;
  std::string field = "content";
  std::string checkpoint_path;
  std::string name;
  bool skip_invalid = false;
  std::string db_path;
  bool no_db = false;
  std::string device = "cpu";
  std::string compute;  // cuda: bf16 (default) or fp32
  long long batch = -1;  // cuda: windows per GPU call
  std::string bos_mode;  // uncheatable: Uncheatable Eval's bos_mode (default add_default_bos)
  long long bootstrap = 1000;  // bootstrap resamples over documents (0: none)
  long long seed = 20240415;   // the bootstrap's seed
  std::string shard;     // "I/N": score only that part of each corpus's windows and write a part file
  std::string shard_dir = ".";
  std::string loss_curve_path;  // mean loss by window position and by document byte position
  double min_k = 0;      // --per-doc: also Min-K% and Min-K%++ with this percentage
  std::string kl_base;   // reference model: KL divergence of the model's distributions from its
};

ProtocolParams resolve_params(const BpcArgs& a, const ModelConfig& cfg) {
  return resolve_protocol({.protocol = a.protocol, .bos_mode = a.bos_mode, .window = a.window, .stride = a.stride,
                           .max_chunks = a.max_chunks},
                          cfg.n_ctx_train);
}

std::string host_name() {
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  return host;
}

// --shard I/N for one corpus: skip a complete part of this run; otherwise plan, score the shard's windows and
// write the part file and its marker. Prints one line (or JSON object) per corpus.
// `batched`: the engine's batch scorer and size, as the single run uses them (empty: window by window).
void run_shard(PartMeta meta, const Corpus& c, const Tokenizer& tokenizer, const WindowScorer& scorer,
               const BatchScorer& batched, size_t batch_windows, const BpcArgs& a) {
  std::filesystem::create_directories(a.shard_dir);
  const std::string path = (std::filesystem::path(a.shard_dir) / part_file_name(meta)).string();
  bool skipped = false;
  PartialResult part;
  if (part_is_complete(path)) {
    part = parse_part(read_file(path), path);
    const PartMeta& m = part.meta;
    if (m.model_id != meta.model_id || m.corpus_sha256 != meta.corpus_sha256 || m.field != meta.field ||
        m.params.protocol != meta.params.protocol || m.params.window != meta.params.window ||
        m.params.stride != meta.params.stride || m.params.max_windows != meta.params.max_windows ||
        m.params.bos_mode != meta.params.bos_mode ||
        m.shard.index != meta.shard.index || m.shard.count != meta.shard.count || m.device != meta.device) {
      throw Error(path + ": a complete part of a different run (model, corpus, parameters or device) is already "
                  "there; delete it (and its .done marker) or choose another --shard-dir");
    }
    skipped = true;
  } else {
    ScoringPlan plan = plan_scoring(c, tokenizer, meta.params, meta.threads);
    ProgressLine progress("bpc " + c.name + " shard " + shard_name(meta.shard));
    RunOptions o;
    o.on_progress = [&](const ScoringProgress& p) { progress.update(p.windows_done, p.windows_total, p.seconds, "win"); };
    // The single run's batches (shard boundaries fall on their starts), so a GPU computes the same passes.
    if (batched && batch_windows > 1) {
      o.batch_scorer = batched;
      o.batch_windows = batch_windows;
    }
    part = score_shard(plan, scorer, meta.shard, o);
    progress.finish();
    const double seconds = part.meta.seconds;
    part.meta = meta;
    part.meta.seconds = seconds;
    part.meta.finished_at = iso_now();
    write_part(path, part);
  }
  nlohmann::json j = {{"shard", shard_name(meta.shard)}, {"part", path}, {"skipped", skipped},
                      {"corpus", escape_invalid_utf8(c.name)}, {"window_begin", part.range.begin},
                      {"window_end", part.range.end}, {"windows", part.windows_total},
                      {"scored_tokens", part.nats.size()}, {"seconds", part.meta.seconds}};
  if (a.json) {
    std::cout << j.dump() << std::endl;
  } else {
    std::cout << "shard " << shard_name(meta.shard) << " of " << c.name << ": windows [" << part.range.begin << ", "
              << part.range.end << ") of " << part.windows_total << ", " << part.nats.size() << " scored tokens"
              << (skipped ? ", already complete (skipped)" : "") << " -> " << path << std::endl;
  }
}

int run_bpc(int argc, char** argv) {
  BpcArgs a;
  std::string help =
      "Measures the bits per character (and per byte, per token, perplexity, compression rate) a model needs to\n"
      "encode each corpus, under a named window protocol, with standard errors and bootstrap intervals over\n"
      "documents. The model is loaded once; one result per corpus.\n"
      "CORPUS: JSONL (.jsonl, .jsonl.gz, .jsonl.zst) with a text field, a text file (one document),\n"
      "or a directory of text files (one document each, sorted by path).\n\n"
      "protocols:";
  for (const auto& row : protocol_table()) {
    std::string name = row.name;
    std::string summary = row.summary;
    for (size_t at = 0; (at = summary.find('\n', at)) != std::string::npos; at += 14) summary.insert(at + 1, 13, ' ');
    help += "\n  " + name + std::string(name.size() < 11 ? 11 - name.size() : 1, ' ') + summary;
  }
  ArgParser args("lmzip bpc -m MODEL CORPUS... [--protocol P] [--window W] [--stride S] [-t N] [--json]",
                 "Measures the bits per character (and per byte, per token, perplexity) a model needs to encode\n"
                 "each corpus, under a named window protocol. The model is loaded once; one result per corpus.\n"
                 "CORPUS: JSONL (.jsonl, .jsonl.gz, .jsonl.zst) with a text field, a text file (one document),\n"
                 "or a directory of text files (one document each, sorted by path).\n\n"
                 "protocols:\n"
                 "  hkust      the study's reference windowing (default): windows of W+1 tokens every S, first\n"
                 "             window scores W targets, later ones their last S (W=1900, S=512)\n"
                 "  lm-eval    lm-evaluation-harness loglikelihood_rolling per document (W = min(2048, n_ctx))\n"
                 "  llama.cpp  llama.cpp perplexity chunks over the documents joined with \"\\n\\n\" (W=512)\n"
                 "  doc        per document, BOS-prefixed, every token scored once, sliding windows (W=1900, S=512)");
  args.option("-m, --model", "MODEL", &a.model_path,
              "the model (required): a .gguf file, or a Hugging Face checkpoint directory (config.json + safetensors)");
  args.option("--tokenizer", "FILE", &a.tokenizer_path,
              "tokenizer.model, tokenizer.json or a .gguf vocabulary to use instead of the model's own");
  args.option("--protocol", "P", &a.protocol, "hkust (default), lm-eval, llama.cpp, doc or uncheatable");
  args.option("--bos-mode", "M", &a.bos_mode,
              "uncheatable: add_default_bos (default), add_default_eos, add_newline_token, replace_with_bos, "
              "replace_with_eos or replace_with_newline_token");
  args.option("--bootstrap", "N", &a.bootstrap,
              "bootstrap resamples over documents for the 95% intervals (default 1000; 0: none)");
  args.option("--seed", "S", &a.seed, "the bootstrap's seed (default 20240415)");
  args.option("--max-chunks", "N", &a.max_chunks,
              "score only the first N windows (llama-perplexity's --chunks; default all)");
  args.option("--window", "W", &a.window, "tokens the model reads per window (default per protocol)");
  args.option("--stride", "S", &a.stride, "hkust/doc: tokens between window starts (default 512)");
  args.option("-t, --threads", "N", &a.threads, "threads (default: all cores)");
  args.flag("--json", &a.json, "one JSON object per corpus, one per line");
  args.option("--per-doc", "FILE.jsonl", &a.per_doc_path, "write nats, scored tokens, chars, bytes per document");
  args.option("--field", "NAME", &a.field, "JSONL text field (default: content)");
  args.option("--checkpoint", "FILE", &a.checkpoint_path,
              "save running sums to FILE; rerunning the same command resumes (Ctrl-C saves too)");
  args.option("--name", "NAME", &a.name, "model name for the results (default: file name without .gguf)");
  args.flag("--skip-invalid", &a.skip_invalid, "skip (and count) documents that are not valid UTF-8");
  args.option("--db", "FILE", &a.db_path, "results store to record runs in (default: $LMZIP_DB, else ./lmzip-results.sqlite)");
  args.flag("--no-db", &a.no_db, "do not record the runs in the results store");
  args.option("--device", "D", &a.device,
              "cpu (default) or cuda: the CUDA engine (plugin liblmzip_cuda.so, an NVIDIA GPU; llama and qwen2)");
  args.option("--compute", "C", &a.compute, "cuda: bf16 (default; tensor cores, fp32 accumulation) or fp32");
  args.option("--batch", "N", &a.batch, "cuda: windows of equal length per GPU pass (default 4)");
  args.option("--shard", "I/N", &a.shard,
              "score only shard I of N (0-based) of each corpus's windows (doc: of its documents) and write a "
              "part file for lmzip merge; a shard whose part is complete is skipped");
  args.option("--shard-dir", "DIR", &a.shard_dir, "where --shard writes its part files (default: .)");
  args.option("--kl-base", "REF", &a.kl_base,
              "also run the reference model REF (same tokenizer) on the same windows and report KL(P_ref || "
              "P_model) per token: mean ± SE, median, p90, p99, max, top-1 agreement, ΔBPC (not recorded)");
  args.option("--min-k", "PCT", &a.min_k,
              "with --per-doc: add Min-K% (mean of the PCT% largest token NLLs) and Min-K%++ (mean of the PCT% "
              "lowest standardized log-probabilities) per document, for contamination screening (e.g. 20)");
  args.option("--loss-curve", "FILE", &a.loss_curve_path,
              "write the mean loss by token position in the window and by byte position in the document "
              "(JSON, or CSV for *.csv)");
  args.positionals("CORPUS", &a.corpora, 1, 1000, "one or more corpora");
  if (!args.parse(argc, argv)) return 0;
  if (a.model_path.empty()) throw UsageError("missing -m MODEL (a .gguf file or a Hugging Face checkpoint directory)");
  if (a.no_db && !a.db_path.empty()) throw UsageError("--db and --no-db contradict each other: give one");
  if (a.device != "cpu" && a.device != "cuda") throw UsageError("unknown --device '" + a.device + "' (cpu or cuda)");
  if (a.device != "cuda" && (!a.compute.empty() || a.batch != -1)) {
    throw UsageError("--compute and --batch apply to --device cuda only");
  }
  if (!a.compute.empty() && a.compute != "bf16" && a.compute != "fp32") {
    throw UsageError("unknown --compute '" + a.compute + "' (bf16 or fp32)");
  }
  if (a.batch != -1 && (a.batch < 1 || a.batch > 64)) throw UsageError("--batch must be 1..64");
  if (a.bootstrap < 0 || a.bootstrap > 1000000) throw UsageError("--bootstrap must be 0..1000000");
  if (a.seed < 0) throw UsageError("--seed must be a non-negative integer");
  if (!a.kl_base.empty() && (a.device != "cpu" || !a.shard.empty() || !a.checkpoint_path.empty() ||
                             !a.per_doc_path.empty() || !a.db_path.empty())) {
    throw UsageError("--kl-base runs on the CPU in one process: it does not take --device cuda, --shard, "
                     "--checkpoint, --per-doc or --db");
  }
  if (a.min_k != 0) {
    if (!(a.min_k > 0 && a.min_k <= 100)) throw UsageError("--min-k is a percentage in (0, 100]");
    if (a.per_doc_path.empty()) throw UsageError("--min-k needs --per-doc FILE (its scores are per document)");
    if (!a.kl_base.empty() || a.device != "cpu" || !a.checkpoint_path.empty()) {
      throw UsageError("--min-k does not take --kl-base, --device cuda or --checkpoint");
    }
  }
  if (!a.loss_curve_path.empty() && (!a.shard.empty() || !a.checkpoint_path.empty())) {
    throw UsageError("--loss-curve does not apply to --shard or --checkpoint (it needs every window of one run)");
  }
  std::optional<ShardSpec> shard;
  if (!a.shard.empty()) {
    shard = parse_shard(a.shard);
    if (!a.checkpoint_path.empty()) throw UsageError("--checkpoint does not apply to --shard (a shard is rerun whole)");
    if (!a.per_doc_path.empty()) throw UsageError("--per-doc does not apply to --shard (give it to lmzip merge)");
    if (!a.db_path.empty()) throw UsageError("--db does not apply to --shard (lmzip merge records the run)");
  }

  const auto started = iso_now();
  const ModelSource source = open_model_source(a.model_path, a.tokenizer_path);
  std::unique_ptr<Tokenizer> tokenizer = source.tokenizer();
  std::unique_ptr<Model> model = source.load_model();
  ProtocolParams params = resolve_params(a, model->config());
  if (model->config().n_ctx_train > 0 && params.window > static_cast<size_t>(model->config().n_ctx_train)) {
    std::cerr << "lmzip bpc: warning: window " << params.window << " exceeds the model's training context "
              << model->config().n_ctx_train << "\n";
  }
  const std::string model_id = source.id;
  const uint64_t model_bytes = source.format == "gguf" ? source.file.file_size() : source.weight_bytes;
  const std::string model_name = a.name.empty() ? model_display_name(a.model_path) : a.name;
  ThreadPool pool(resolve_threads(a.threads));
  std::optional<KlBase> kl;
  if (!a.kl_base.empty()) kl.emplace(a.kl_base, a.model_path, *tokenizer, *model);
  const int threads = pool.size();

  if (!a.checkpoint_path.empty()) std::signal(SIGINT, on_sigint);
  const std::string run_id = model_id + "|" + protocol_name(params.protocol) + "|" + std::to_string(params.window) +
                             "|" + std::to_string(params.stride) + "|" + a.field +
                             (params.max_windows ? "|max" + std::to_string(params.max_windows) : "") +
                             (a.tokenizer_path.empty() ? "" : "|tokenizer=" + a.tokenizer_path);

  // The engine: the CPU's, or the CUDA plugin's (weights uploaded once, resident across corpora).
  std::unique_ptr<CudaEngine> cuda;
  std::string device = "cpu";
  if (a.device == "cuda") {
    if (params.window > (1u << 20)) throw UsageError("--window too large for --device cuda");
    cuda = CudaEngine::create(*model, {.compute = a.compute == "fp32" ? DeviceCompute::Fp32 : DeviceCompute::Bf16,
                                       .max_tokens = static_cast<int>(params.window),
                                       .max_seq = static_cast<int>(a.batch == -1 ? 4 : a.batch)});
    device = cuda->description();
  }
  auto to_engine = [](std::span<const ScoreTarget> targets) {
    std::vector<ScoredTarget> t(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) t[i] = {targets[i].position, targets[i].token};
    return t;
  };
  WindowScorer scorer = [&](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    std::vector<ScoredTarget> t = to_engine(targets);
    return cuda ? cuda->score(input, t) : model->score(input, t, pool);
  };
  if (kl) scorer = kl->scorer(*model, pool);
  std::optional<MinKPerDoc> min_k;
  if (a.min_k > 0) {
    min_k.emplace(a.min_k);
    scorer = min_k->scorer(*model, pool);
  }
  BatchScorer batch_scorer = [&](std::span<const WindowInput> windows) {
    std::vector<std::vector<ScoredTarget>> t(windows.size());
    std::vector<CudaEngine::Window> w(windows.size());
    for (size_t i = 0; i < windows.size(); ++i) {
      t[i] = to_engine(windows[i].targets);
      w[i] = {windows[i].input, t[i]};
    }
    return cuda->score_batch(w);
  };

  // Open the store before the long work, so a bad --db fails at once.
  std::optional<ResultsStore> store;
  if (!a.no_db && !shard && !kl) store.emplace(a.db_path.empty() ? ResultsStore::default_path() : a.db_path);

  std::vector<Corpus> corpora;
  std::vector<BpcResult> results;
  std::vector<std::string> problems;
  std::vector<NamedCurve> curves;
  std::vector<std::vector<nlohmann::json>> per_doc_extra;  // per corpus, per document
  for (const auto& path : a.corpora) {
    corpora.push_back(load_corpus(path, {.field = a.field, .skip_invalid_utf8 = a.skip_invalid}));
    const Corpus& c = corpora.back();
    PartMeta meta{.model_name = model_name, .model_path = a.model_path, .model_id = model_id,
                  .model_format = source.format, .tokenizer_file = source.tokenizer_file,
                  .model_bytes = model_bytes, .corpus_name = c.name, .corpus_path = c.path,
                  .corpus_sha256 = c.sha256, .field = a.field, .skipped_empty = c.empty_skipped,
                  .skipped_invalid = c.invalid_skipped, .params = params, .shard = shard.value_or(ShardSpec{}),
                  .lmzip_version = kVersion, .device = device, .host = host_name(), .started_at = started, .finished_at = {},
                  .threads = threads};
    if (shard) {
      run_shard(meta, c, *tokenizer, scorer, cuda ? batch_scorer : BatchScorer{},
                cuda ? static_cast<size_t>(cuda->max_seq()) : 1, a);
      continue;
    }
    ScoringPlan plan = plan_scoring(c, *tokenizer, params, threads);
    ProgressLine progress("bpc " + c.name);
    // A checkpoint of another engine is not resumed (its numbers differ by rounding).
    RunOptions o{.checkpoint_path = a.checkpoint_path, .run_id = cuda ? run_id + "|" + device : run_id,
                 .corpus_key = c.sha256 + "|" + c.path};
    o.cancel = &g_interrupted;
    if (cuda && cuda->max_seq() > 1) {
      o.batch_scorer = batch_scorer;
      o.batch_windows = static_cast<size_t>(cuda->max_seq());
    }
    o.on_progress = [&](const ScoringProgress& p) {
      progress.update(p.scored_done, p.scored_total, p.seconds, "tok");
    };
    if (kl) kl->start_corpus();
    std::optional<LossCurve> curve;
    if (!a.loss_curve_path.empty()) {
      curve.emplace(plan, *tokenizer);
      o.on_window = [&](size_t window, std::span<const double> nats) { curve->add_window(window, nats); };
    }
    if (min_k) {
      min_k->start_corpus(plan);
      o.on_window = [&, then = o.on_window](size_t window, std::span<const double> nats) {
        min_k->add_window(window, nats);
        if (then) then(window, nats);
      };
    }
    BpcResult r;
    try {
      r = run_scoring(plan, scorer, o);
    } catch (const Interrupted& e) {
      progress.finish();
      std::cerr << "lmzip bpc: " << e.what() << "\n";
      return 130;
    }
    progress.finish();
    meta.finished_at = iso_now();
    nlohmann::json j = result_json(r, meta);
    const int resamples = static_cast<int>(a.bootstrap);
    add_uncertainty(j, estimate_uncertainty(r.per_doc, {.resamples = resamples, .seed = uint64_t(a.seed)}), resamples);
    if (kl) kl->add_to(j);
    // A finished measurement is never lost: a store that fails (read-only, locked, a value it refuses) is
    // reported after the result is printed, and the run exits non-zero.
    std::string problem = record_result(j, store ? &*store : nullptr);
    if (!problem.empty()) problems.push_back(problem);
    if (a.json) {
      std::cout << j.dump() << std::endl;
    } else {
      if (!results.empty()) std::cout << "\n";
      print_table(j);
      if (kl) print_kl_table(j);
      std::cout.flush();
    }
    results.push_back(std::move(r));
    if (curve) curves.push_back({c.name, curve->by_token_position(), curve->by_byte_position()});
    per_doc_extra.push_back(min_k ? min_k->per_doc_fields() : std::vector<nlohmann::json>{});
  }
  if (!a.loss_curve_path.empty()) write_loss_curves(a.loss_curve_path, model_name, curves);
  if (!a.per_doc_path.empty()) {
    std::vector<PerDocCorpus> per_doc;
    for (size_t i = 0; i < results.size(); ++i) {
      per_doc.push_back({corpora[i].name, &results[i], &corpora[i].sources, per_doc_extra[i]});
    }
    write_per_doc(a.per_doc_path, per_doc);
  }
  for (const std::string& p : problems) std::cerr << "lmzip bpc: error: " << printable(p) << "\n";
  return problems.empty() ? 0 : 1;
}

Registration reg{{"bpc", "bits per character of a model on corpora, under a named window protocol", run_bpc}};

}  // namespace
}  // namespace lmzip::cli
