// lmzip bpc -m MODEL.gguf CORPUS... : bits per character of a model on corpora, under a named window protocol.
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
};

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}


ProtocolParams resolve_params(const BpcArgs& a, const ModelConfig& cfg) {
  auto protocol = parse_protocol(a.protocol);
  if (!protocol) {
    std::string names;
    for (const auto& row : protocol_table()) names += std::string(names.empty() ? "" : ", ") + row.name;
    throw UsageError("unknown protocol '" + a.protocol + "' (choose " + names + ")");
  }
  ProtocolParams p = default_params(*protocol);
  const bool disjoint = !protocol_info(*protocol).has_stride;
  if (!a.bos_mode.empty()) {
    if (*protocol != Protocol::Uncheatable) throw UsageError("--bos-mode applies to --protocol uncheatable only");
    auto mode = parse_bos_mode(a.bos_mode);
    if (!mode) {
      throw UsageError("unknown --bos-mode '" + a.bos_mode + "' (add_default_bos, add_default_eos, add_newline_token, "
                       "replace_with_bos, replace_with_eos or replace_with_newline_token)");
    }
    p.bos_mode = *mode;
  }
  if (*protocol == Protocol::LmEval && cfg.n_ctx_train > 0) p.window = p.stride = std::min<size_t>(p.window, cfg.n_ctx_train);
  if (a.window >= 0) {
    if (a.window < 1) throw UsageError("--window must be positive");
    p.window = static_cast<size_t>(a.window);
    if (disjoint) p.stride = p.window;
    else if (a.stride < 0) p.stride = std::min(p.stride, p.window);
  }
  if (a.stride >= 0) {
    if (disjoint) {
      throw UsageError("--stride does not apply to the " + a.protocol + " protocol (its windows are disjoint)");
    }
    if (a.stride < 1) throw UsageError("--stride must be positive");
    p.stride = static_cast<size_t>(a.stride);
  }
  if (a.max_chunks < 0) throw UsageError("--max-chunks must be positive");
  p.max_windows = static_cast<size_t>(a.max_chunks);
  return p;
}

nlohmann::json result_json(const BpcResult& r, const ProtocolParams& p, const Corpus& c, const BpcArgs& a,
                           const std::string& model_name, const std::string& model_id, uint64_t model_bytes,
                           int threads, const std::string& device) {
  nlohmann::json j = {{"bpc", r.bpc()}, {"bpb", r.bpb()}, {"bits_per_token", r.bits_per_token()}, {"ppl", r.ppl()},
          {"compression_rate", r.compression_rate()},
          {"total_nats", r.total_nats}, {"documents", r.documents}, {"chars", r.chars}, {"bytes", r.bytes},
          {"tokens", r.tokens}, {"windows", r.windows}, {"scored_tokens", r.scored_tokens},
          {"seconds", r.seconds}, {"scored_tokens_per_s", r.seconds > 0 ? double(r.scored_this_run) / r.seconds : 0.0},
          {"protocol", protocol_name(p.protocol)}, {"window", p.window}, {"stride", p.stride},
          {"max_chunks", p.max_windows},
          {"model", escape_invalid_utf8(model_name)}, {"model_path", escape_invalid_utf8(a.model_path)},
          {"model_id", model_id}, {"model_bytes", model_bytes},
          {"corpus", escape_invalid_utf8(c.name)}, {"corpus_path", escape_invalid_utf8(c.path)}, {"corpus_sha256", c.sha256}, {"field", a.field},
          {"skipped_empty", c.empty_skipped}, {"skipped_invalid", c.invalid_skipped}, {"resumed", r.resumed},
          {"threads", threads}, {"device", device}, {"lmzip_version", kVersion}};
  if (p.protocol == Protocol::Uncheatable) {
    // Uncheatable Eval's own summary: means over documents (its "avg tokens" excludes the chunk-start tokens).
    const double n = r.documents ? double(r.documents) : 1.0;
    j["bos_mode"] = bos_mode_name(p.bos_mode);
    j["neg_log_prob_sum"] = r.total_nats / n;
    j["avg_tokens"] = double(r.tokens - r.documents) / n;
    j["avg_chars"] = double(r.chars) / n;
    j["avg_bytes"] = double(r.bytes) / n;
  }
  return j;
}

// The uncertainty fields: NAME_stderr and NAME_ci95 per rate (null where undefined), with what they rest on.
void add_uncertainty(nlohmann::json& j, const BpcUncertainty& u, int requested) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  auto add = [&](const char* name, const RateUncertainty& r) {
    j[std::string(name) + "_stderr"] = num(r.se);
    j[std::string(name) + "_ci95"] = requested > 0 && std::isfinite(r.ci.low)
                                         ? nlohmann::json::array({r.ci.low, r.ci.high}) : nlohmann::json(nullptr);
  };
  add("bpc", u.bpc);
  add("bpb", u.bpb);
  add("bits_per_token", u.bits_per_token);
  add("ppl", u.ppl);
  add("compression_rate", u.compression_rate);
  j["uncertainty_units"] = u.units;
  j["bootstrap_resamples"] = requested > 0 ? u.resamples : 0;
  j["bootstrap_seed"] = u.seed;
}

BpcRunRecord to_record(const nlohmann::json& j) {
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  BpcRunRecord r;
  r.model_name = j["model"];
  r.model_path = j["model_path"];
  r.model_id = j["model_id"];
  r.model_bytes = j["model_bytes"];
  r.corpus_name = j["corpus"];
  r.corpus_path = j["corpus_path"];
  r.corpus_sha256 = j["corpus_sha256"];
  r.protocol = j["protocol"];
  r.window = j["window"];
  r.stride = j["stride"];
  r.documents = j["documents"];
  r.chars = j["chars"];
  r.bytes = j["bytes"];
  r.tokens = j["tokens"];
  r.windows = j["windows"];
  r.scored_tokens = j["scored_tokens"];
  r.total_nats = j["total_nats"];
  r.bpc = j["bpc"];
  r.bpb = j["bpb"];
  r.bits_per_token = j["bits_per_token"];
  r.ppl = j["ppl"];
  r.lmzip_version = kVersion;
  r.host = host;
  r.threads = j["threads"];
  r.started_at = j["started_at"];
  r.finished_at = j["finished_at"];
  r.seconds = j["seconds"];
  nlohmann::json extra{{"field", j["field"]}, {"resumed", j["resumed"]},
                                {"skipped_empty", j["skipped_empty"]}, {"skipped_invalid", j["skipped_invalid"]},
                                {"device", j["device"]}, {"compression_rate", j["compression_rate"]}};
  for (const char* key : {"bpc_stderr", "bpc_ci95", "bpb_stderr", "bpb_ci95", "bits_per_token_stderr",
                          "bits_per_token_ci95", "ppl_stderr", "ppl_ci95", "compression_rate_stderr",
                          "compression_rate_ci95", "uncertainty_units", "bootstrap_resamples", "bootstrap_seed",
                          "bos_mode", "neg_log_prob_sum", "avg_tokens", "avg_chars", "avg_bytes"}) {
    if (j.contains(key)) extra[key] = j[key];
  }
  r.extra_json = extra.dump();
  return r;
}

std::string fixed(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// "  ± SE  [LOW, HIGH]" after a rate, from its NAME_stderr and NAME_ci95 (absent parts left out).
std::string spread(const nlohmann::json& j, const std::string& name, int prec) {
  std::string out;
  auto se = j.find(name + "_stderr");
  if (se != j.end() && se->is_number()) out += "  ± " + fixed(se->get<double>(), prec);
  auto it = j.find(name + "_ci95");
  if (it == j.end() || !it->is_array()) return out;
  const auto& ci = *it;
  out += "  [" + fixed(ci[0].get<double>(), prec) + ", " + fixed(ci[1].get<double>(), prec) + "]";
  return out;
}

std::string uncertainty_note(const nlohmann::json& j) {
  const uint64_t units = j["uncertainty_units"].get<uint64_t>();
  if (units < 2) return "n/a (" + std::to_string(units) + " document: no spread over documents)";
  std::string out = "± standard error over " + std::to_string(units) + " documents";
  const int resamples = j["bootstrap_resamples"].get<int>();
  if (resamples > 0) {
    out += "; [95% bootstrap interval over documents, " + std::to_string(resamples) + " resamples, seed " +
           std::to_string(j["bootstrap_seed"].get<uint64_t>()) + "]";
  }
  return out;
}

void print_table(const nlohmann::json& j) {
  auto num = [](double v, int prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return std::string(b);
  };
  std::cout << "corpus      " << j["corpus"].get<std::string>() << "  (" << j["corpus_path"].get<std::string>()
            << ", sha256 " << j["corpus_sha256"].get<std::string>().substr(0, 16) << ")\n"
            << "model       " << j["model"].get<std::string>() << "  (" << j["model_path"].get<std::string>() << ", "
            << j["model_bytes"].get<uint64_t>() << " bytes, id " << j["model_id"].get<std::string>() << ")\n"
            << "protocol    " << j["protocol"].get<std::string>() << "  (window " << j["window"] << ", stride "
            << j["stride"] << (j.contains("bos_mode") ? ", bos_mode " + j["bos_mode"].get<std::string>() : "")
            << ")\n"
            << "counts      " << j["documents"] << " documents, " << j["chars"] << " chars, " << j["bytes"]
            << " bytes, " << j["tokens"] << " tokens, " << j["windows"] << " windows, " << j["scored_tokens"]
            << " scored tokens\n"
            << "BPC         " << num(j["bpc"], 6) << spread(j, "bpc", 6) << "\n"
            << "BPB         " << num(j["bpb"], 6) << spread(j, "bpb", 6) << "\n"
            << "bits/token  " << num(j["bits_per_token"], 6) << spread(j, "bits_per_token", 6) << "\n"
            << "PPL         " << num(j["ppl"], 4) << spread(j, "ppl", 4) << "   (over scored tokens)\n"
            << "compression " << num(j["compression_rate"], 4) << " %" << spread(j, "compression_rate", 4)
            << "   (NLL / ln 2 / 8 / bytes × 100)\n"
            << "uncertainty " << uncertainty_note(j) << "\n"
            << "total nats  " << num(j["total_nats"], 4) << "\n"
            << "time        " << num(j["seconds"], 2) << " s, " << num(j["scored_tokens_per_s"], 1)
            << " scored tokens/s, " << j["threads"] << " threads" << (j["resumed"].get<bool>() ? " (resumed)" : "")
            << "\n"
            << "device      " << j["device"].get<std::string>() << "\n";
  if (j["skipped_empty"].get<uint64_t>() + j["skipped_invalid"].get<uint64_t>() > 0) {
    std::cout << "skipped     " << j["skipped_empty"] << " empty, " << j["skipped_invalid"]
              << " invalid UTF-8 documents\n";
  }
}

void write_per_doc(const std::string& path, const std::vector<BpcResult>& results,
                   const std::vector<Corpus>& corpora) {
  std::string out;
  for (size_t ci = 0; ci < results.size(); ++ci) {
    for (size_t d = 0; d < results[ci].per_doc.size(); ++d) {
      const DocScore& s = results[ci].per_doc[d];
      double ln2 = std::log(2.0);
      nlohmann::json j = {{"corpus", corpora[ci].name}, {"doc", d}, {"nats", s.nats},
                          {"scored_tokens", s.scored_tokens}, {"chars", s.chars}, {"bytes", s.bytes},
                          {"bpc", s.chars ? s.nats / (s.chars * ln2) : 0.0},
                          {"bpb", s.bytes ? s.nats / (s.bytes * ln2) : 0.0}};
      if (d < corpora[ci].sources.size() && results[ci].per_doc.size() == corpora[ci].sources.size()) {
        j["source"] = corpora[ci].sources[d];
      }
      out += j.dump() + "\n";
    }
  }
  write_file_atomic(path, out);
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
  ArgParser args("lmzip bpc -m MODEL.gguf CORPUS... [--protocol P] [--window W] [--stride S] [-t N] [--json]", help);
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
  const int threads = pool.size();

  if (!a.checkpoint_path.empty()) std::signal(SIGINT, on_sigint);
  const std::string run_id = model_id + "|" + protocol_name(params.protocol) + "|" + std::to_string(params.window) +
                             "|" + std::to_string(params.stride) + "|" + a.field +
                             (params.max_windows ? "|max" + std::to_string(params.max_windows) : "") +
                             (a.tokenizer_path.empty() ? "" : "|tokenizer=" + a.tokenizer_path) +
                             (params.protocol == Protocol::Uncheatable ? "|" + bos_mode_name(params.bos_mode) : "");

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
  if (!a.no_db) store.emplace(a.db_path.empty() ? ResultsStore::default_path() : a.db_path);

  std::vector<Corpus> corpora;
  std::vector<BpcResult> results;
  std::vector<std::string> problems;
  for (const auto& path : a.corpora) {
    corpora.push_back(load_corpus(path, {.field = a.field, .skip_invalid_utf8 = a.skip_invalid}));
    const Corpus& c = corpora.back();
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
    BpcResult r;
    try {
      r = run_scoring(plan, scorer, o);
    } catch (const Interrupted& e) {
      progress.finish();
      std::cerr << "lmzip bpc: " << e.what() << "\n";
      return 130;
    }
    progress.finish();
    nlohmann::json j = result_json(r, params, c, a, model_name, model_id, model_bytes, threads, device);
    const int resamples = static_cast<int>(a.bootstrap);
    add_uncertainty(j, estimate_uncertainty(r.per_doc, {.resamples = resamples, .seed = uint64_t(a.seed)}), resamples);
    j["model_format"] = source.format;
    j["tokenizer_file"] = escape_invalid_utf8(source.tokenizer_file);
    j["started_at"] = started;
    j["finished_at"] = iso_now();
    // A finished measurement is never lost: a store that fails (read-only, locked, a value it refuses) is
    // reported after the result is printed, and the run exits non-zero.
    std::string problem;
    if (!std::isfinite(j["bpc"].get<double>())) {
      problem = c.name + ": the BPC is not a finite number (the model produced NaN or infinite log-probabilities)";
    } else if (store) {
      try {
        j["run_id"] = store->record_bpc(to_record(j));
      } catch (const Error& e) {
        problem = std::string("the result was not recorded in the results store: ") + e.what();
      }
    }
    if (!problem.empty()) problems.push_back(problem);
    if (a.json) {
      std::cout << j.dump() << std::endl;
    } else {
      if (!results.empty()) std::cout << "\n";
      print_table(j);
      std::cout.flush();
    }
    results.push_back(std::move(r));
  }
  if (!a.per_doc_path.empty()) write_per_doc(a.per_doc_path, results, corpora);
  for (const std::string& p : problems) std::cerr << "lmzip bpc: error: " << printable(p) << "\n";
  return problems.empty() ? 0 : 1;
}

Registration reg{{"bpc", "bits per character of a model on corpora, under a named window protocol", run_bpc}};

}  // namespace
}  // namespace lmzip::cli
