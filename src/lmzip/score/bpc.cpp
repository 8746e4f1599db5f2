#include "lmzip/score/bpc.h"

#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>
#include <mutex>
#include <thread>

#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/core/utf8.h"
#include "lmzip/io/file.h"

namespace lmzip {

double BpcResult::bpc() const { return chars ? total_nats / (double(chars) * std::log(2.0)) : 0; }
double BpcResult::bpb() const { return bytes ? total_nats / (double(bytes) * std::log(2.0)) : 0; }
double BpcResult::bits_per_token() const {
  return scored_tokens ? total_nats / (double(scored_tokens) * std::log(2.0)) : 0;
}
double BpcResult::ppl() const { return scored_tokens ? std::exp(total_nats / double(scored_tokens)) : 0; }
double BpcResult::compression_rate() const { return bpb() / 8 * 100; }

TokenId uncheatable_prefix(BosMode mode, const Tokenizer& tok) {
  const Vocab& v = tok.vocab();
  const std::string fix = "; choose another --bos-mode (add_default_bos, add_default_eos, add_newline_token or "
                          "their replace_with_ forms)";
  switch (mode) {
    case BosMode::AddBos:
    case BosMode::ReplaceBos:
      if (!v.bos) throw Error("--bos-mode " + bos_mode_name(mode) + ": the tokenizer has no BOS token" + fix);
      return *v.bos;
    case BosMode::AddEos:
    case BosMode::ReplaceEos:
      if (!v.eos) throw Error("--bos-mode " + bos_mode_name(mode) + ": the tokenizer has no EOS token" + fix);
      return *v.eos;
    case BosMode::AddNewline:
    case BosMode::ReplaceNewline: {
      std::vector<TokenId> ids = tok.encode("\n", {.add_special = true});
      if (ids.empty()) throw Error("--bos-mode " + bos_mode_name(mode) + ": the tokenizer encodes \"\\n\" as nothing" + fix);
      return ids[0];
    }
  }
  return 0;
}

namespace {

std::vector<std::vector<TokenId>> tokenize_documents(const std::vector<std::string>& docs, const Tokenizer& tok,
                                                     int threads) {
  std::vector<std::vector<TokenId>> out(docs.size());
  const EncodeOptions plain{.add_special = false, .parse_special = false};
  size_t n_threads = std::max(1, std::min<int>(threads, static_cast<int>(docs.size())));
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < docs.size();) {
      try {
        out[i] = tok.encode(docs[i], plain);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < n_threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);
  return out;
}

std::string too_short_message(const Corpus& c, const ScoringPlan& p) {
  return c.path + ": the corpus has " + std::to_string(p.stream.tokens.size()) + " tokens, fewer than one " +
         protocol_name(p.params.protocol) + " window of " + std::to_string(p.params.window + 1) +
         " tokens, so nothing would be scored; use --protocol doc or a smaller --window";
}

}  // namespace

ScoringPlan plan_scoring(const Corpus& corpus, const Tokenizer& tok, const ProtocolParams& params, int threads) {
  if (params.window < 1 || params.stride < 1 || params.stride > params.window) {
    throw UsageError("--stride must be between 1 and --window (got window " + std::to_string(params.window) +
                     ", stride " + std::to_string(params.stride) + ")");
  }
  ScoringPlan plan;
  plan.params = params;
  const Vocab& v = tok.vocab();
  if (params.protocol == Protocol::LlamaCpp) {
    // The whole corpus is one text: documents joined with "\n\n", tokenized once with the default specials.
    std::string joined;
    for (size_t i = 0; i < corpus.documents.size(); ++i) joined += (i ? "\n\n" : "") + corpus.documents[i];
    plan.stream.tokens = tok.encode(joined, {.add_special = true});
    plan.stream.doc_of.assign(plan.stream.tokens.size(), 0);
    plan.docs.push_back(DocScore{.chars = count_code_points(joined), .bytes = joined.size()});
    if (params.window < 4) throw UsageError("--window must be at least 4 for the llama.cpp protocol");
  } else {
    TokenizedDocs docs{.docs = tokenize_documents(corpus.documents, tok, threads),
                       .bos = v.bos, .eos = v.eos, .add_bos = v.add_bos, .add_eos = v.add_eos};
    if (params.protocol == Protocol::LmEval && !v.bos && !v.eos) {
      throw Error("the lm-eval protocol prefixes each document with BOS (or EOS), but the tokenizer has neither");
    }
    if (params.protocol == Protocol::Hkust) {
      plan.stream = hkust_stream(docs);
    } else if (params.protocol == Protocol::Uncheatable) {
      plan.stream = prefixed_stream(docs, uncheatable_prefix(params.bos_mode, tok));
    } else {
      plan.stream = prefixed_stream(docs);
    }
    for (const auto& d : corpus.documents) {
      plan.docs.push_back(DocScore{.chars = count_code_points(d), .bytes = d.size()});
    }
  }
  for (const auto& d : plan.docs) {
    plan.chars += d.chars;
    plan.bytes += d.bytes;
  }
  plan.windows = plan_windows(params, plan.stream, v.bos);
  plan.scored_tokens = count_scored(plan.windows);
  if (plan.windows.empty()) throw Error(too_short_message(corpus, plan));
  return plan;
}

// ---- Checkpoints ---------------------------------------------------------------------------------------------
// A JSON file: {"format": "lmzip-bpc-checkpoint", "version": 1, "run_id": ..., "corpora": {key: state}} where a
// state holds the next window to run and the sums so far (doubles written with round-trip precision).

namespace {

struct RunState {
  size_t next_window = 0;
  double total_nats = 0;
  uint64_t scored_tokens = 0;
  std::vector<DocScore> per_doc;
};

nlohmann::json read_checkpoint(const RunOptions& o) {
  if (o.checkpoint_path.empty() || !file_exists(o.checkpoint_path)) return nullptr;
  nlohmann::json j;
  try {
    j = parse_json(read_file(o.checkpoint_path), o.checkpoint_path);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; not a valid lmzip checkpoint: delete it to start over");
  }
  if (!j.is_object() || j.value("format", "") != "lmzip-bpc-checkpoint" || j.value("version", 0) != 1) {
    throw Error(o.checkpoint_path + ": not an lmzip bpc checkpoint (version 1); delete it to start over");
  }
  if (j.value("run_id", "") != o.run_id) {
    throw Error(o.checkpoint_path + ": this checkpoint was made with a different model or different arguments "
                "(protocol, window, stride, field); rerun the original command to resume, or delete the file "
                "(or choose another --checkpoint) to start over");
  }
  return j;
}

RunState load_state(const nlohmann::json& ckpt, const RunOptions& o, const ScoringPlan& plan) {
  RunState s;
  s.per_doc = plan.docs;
  s.next_window = o.first_window;
  if (ckpt.is_null() || !ckpt["corpora"].contains(o.corpus_key)) return s;
  const auto& c = ckpt["corpora"][o.corpus_key];
  try {
    s.next_window = c.at("next_window").get<size_t>();
    s.total_nats = c.at("total_nats").get<double>();
    s.scored_tokens = c.at("scored_tokens").get<uint64_t>();
    const auto& docs = c.at("per_doc");
    if (docs.size() != s.per_doc.size() || s.next_window > plan.windows.size()) throw Error("shape");
    for (size_t i = 0; i < docs.size(); ++i) {
      s.per_doc[i].nats = docs[i].at(0).get<double>();
      s.per_doc[i].scored_tokens = docs[i].at(1).get<uint64_t>();
    }
  } catch (const std::exception&) {
    throw Error(o.checkpoint_path + ": the saved state does not fit this corpus; delete the file to start over");
  }
  return s;
}

void save_state(nlohmann::json& ckpt, const RunOptions& o, const RunState& s) {
  if (o.checkpoint_path.empty()) return;
  if (ckpt.is_null()) {
    ckpt = {{"format", "lmzip-bpc-checkpoint"}, {"version", 1}, {"run_id", o.run_id},
            {"corpora", nlohmann::json::object()}};
  }
  nlohmann::json docs = nlohmann::json::array();
  for (const auto& d : s.per_doc) docs.push_back({d.nats, d.scored_tokens});
  ckpt["corpora"][o.corpus_key] = {{"next_window", s.next_window}, {"total_nats", s.total_nats},
                                   {"scored_tokens", s.scored_tokens}, {"per_doc", docs}};
  write_file_atomic(o.checkpoint_path, ckpt.dump() + "\n");
}

}  // namespace

BpcResult run_scoring(const ScoringPlan& plan, const WindowScorer& scorer, const RunOptions& o) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  const size_t end_window = std::min(o.end_window, plan.windows.size());
  LMZIP_CHECK(o.first_window <= end_window, "window range out of order");
  LMZIP_CHECK(o.checkpoint_path.empty() || (o.first_window == 0 && end_window == plan.windows.size()),
              "a checkpoint covers the whole plan, not a window range");
  nlohmann::json ckpt = read_checkpoint(o);
  RunState s = load_state(ckpt, o, plan);
  const uint64_t scored_before = s.scored_tokens;
  const bool resumed = s.next_window > o.first_window;
  auto last_save = t0;

  const bool batched = o.batch_scorer && o.batch_windows > 1;
  const size_t batch = batched ? o.batch_windows : 1;
  std::vector<std::vector<TokenId>> inputs(batch);
  std::vector<std::vector<ScoreTarget>> targets(batch);
  for (size_t wi = s.next_window; wi < end_window;) {
    if (o.cancel && o.cancel->load()) {
      save_state(ckpt, o, s);
      throw Interrupted("interrupted after " + std::to_string(wi) + " of " + std::to_string(plan.windows.size()) +
                        " windows" + (o.checkpoint_path.empty() ? "" : "; progress saved in " + o.checkpoint_path +
                                                                          ": rerun the same command to resume"));
    }
    // The next windows: one, or up to `batch` consecutive ones of the first one's length.
    size_t nb = 0;
    while (nb < batch && wi + nb < end_window &&
           (nb == 0 || plan.windows[wi + nb].length == plan.windows[wi].length)) {
      const Window& w = plan.windows[wi + nb];
      std::vector<TokenId>& input = inputs[nb];
      input.assign(plan.stream.tokens.begin() + w.begin, plan.stream.tokens.begin() + w.begin + w.length);
      if (w.first_token) input[0] = *w.first_token;
      targets[nb].clear();
      for (size_t p = w.first_scored; p < w.first_scored + w.n_scored; ++p) {
        targets[nb].push_back({static_cast<uint32_t>(p), plan.stream.tokens[w.begin + p + 1]});
      }
      ++nb;
    }
    std::vector<std::vector<double>> results;
    if (batched) {
      std::vector<WindowInput> req(nb);
      for (size_t b = 0; b < nb; ++b) req[b] = {inputs[b], targets[b]};
      results = o.batch_scorer(req);
      LMZIP_CHECK(results.size() == nb, "batch scorer returned the wrong number of windows");
    } else {
      results.push_back(scorer(inputs[0], targets[0]));
    }
    for (size_t b = 0; b < nb; ++b, ++wi) {
      const Window& w = plan.windows[wi];
      const std::vector<double>& nats = results[b];
      LMZIP_CHECK(nats.size() == targets[b].size(), "scorer returned the wrong number of values");
      for (size_t k = 0; k < nats.size(); ++k) {
        // Each target is attributed to the document its token belongs to.
        DocScore& d = s.per_doc[plan.stream.doc_of[w.begin + targets[b][k].position + 1]];
        d.nats += nats[k];
        d.scored_tokens += 1;
        s.total_nats += nats[k];
      }
      s.scored_tokens += nats.size();
      s.next_window = wi + 1;
      if (o.on_window) o.on_window(wi, nats);
      auto now = Clock::now();
      if (!o.checkpoint_path.empty() &&
          std::chrono::duration<double>(now - last_save).count() >= o.checkpoint_every_seconds) {
        save_state(ckpt, o, s);
        last_save = now;
      }
      if (o.on_progress) {
        o.on_progress({wi + 1, plan.windows.size(), s.scored_tokens, plan.scored_tokens,
                       std::chrono::duration<double>(now - t0).count()});
      }
    }
  }
  save_state(ckpt, o, s);

  BpcResult r;
  r.documents = plan.docs.size();
  r.chars = plan.chars;
  r.bytes = plan.bytes;
  r.tokens = plan.stream.tokens.size();
  r.windows = plan.windows.size();
  r.scored_tokens = s.scored_tokens;
  r.total_nats = s.total_nats;
  r.per_doc = std::move(s.per_doc);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  r.resumed = resumed;
  r.scored_this_run = r.scored_tokens - scored_before;
  return r;
}

}  // namespace lmzip
