// bench_eval: what prefix sharing and batching gain for lm-eval style requests on lmzip's engine.
//
// Option log-likelihoods: D documents, each a k-shot ARC-like context with 4 options, scored three ways:
//   scratch:  Model::score over context + option for each option (the context recomputed per option);
//   shared:   EngineLanguageModel one document at a time (each context once; options continue its KV cache);
//   batched:  EngineLanguageModel::loglikelihoods_batch over all D documents (packed passes).
// Generation: G short greedy generations one at a time, then all in flight together.
// Prints seconds per document, tokens run through the model and forward passes.
// Usage: bench_eval [--model FILE.gguf] [--threads N] [--shots K] [--docs D] [--gens G] [--gen-tokens T]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lmzip/eval/engine_lm.h"
#include "lmzip/format/gguf.h"

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::string context_with_shots(int shots, int doc) {
  std::string c;
  for (int i = 0; i < shots; ++i) {
    c += "Question: Which object is the best conductor of electricity, number " + std::to_string(i + doc) +
         "?\nAnswer: an iron nail\n\n";
  }
  return c + "Question: George wants to warm his hands quickly by rubbing them (case " + std::to_string(doc) +
         "). Which skin surface will produce the most heat?\nAnswer:";
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "models/zoo-m2-F16.gguf";
  int threads = 0, shots = 25, docs = 8, gens = 8, gen_tokens = 32;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shots")) shots = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--docs")) docs = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--gens")) gens = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--gen-tokens")) gen_tokens = std::atoi(argv[i + 1]);
  }
  using namespace lmzip;
  GgufFile file = GgufFile::open(model_path);
  auto tok = Tokenizer::from_gguf(file);
  auto model = Model::load(file);
  ThreadPool pool(threads);
  const std::vector<std::string> options = {" dry palms", " wet palms", " palms covered with oil",
                                            " palms covered with lotion"};
  std::vector<eval::LanguageModel::LoglikelihoodRequest> requests;
  for (int d = 0; d < docs; ++d) requests.push_back({context_with_shots(shots, d), options});
  const size_t ctx_tokens = tok->encode(requests[0].context, {.add_special = false}).size();

  // scratch
  uint64_t scratch_tokens = 0;
  auto t0 = Clock::now();
  for (const auto& r : requests) {
    const auto ctx = tok->encode(r.context, {.add_special = false});
    for (const auto& o : r.continuations) {
      auto whole = tok->encode(r.context + o, {.add_special = false});
      std::vector<ScoredTarget> targets;
      for (size_t p = ctx.size(); p < whole.size(); ++p) targets.push_back({static_cast<uint32_t>(p - 1), whole[p]});
      model->score(whole, targets, pool);
      scratch_tokens += whole.size();
    }
  }
  const double scratch = since(t0) / docs;
  // shared, one document at a time
  eval::EngineLanguageModel one(*model, *tok, pool, {.max_context = 2048});
  t0 = Clock::now();
  for (const auto& r : requests) one.loglikelihoods(r.context, r.continuations);
  const double shared = since(t0) / docs;
  // shared and batched
  eval::EngineLanguageModel batched(*model, *tok, pool, {.max_context = 2048, .batch_tokens = 8192});
  t0 = Clock::now();
  batched.loglikelihoods_batch(requests);
  const double packed = since(t0) / docs;

  std::printf("model %s, %d threads\n", model_path.c_str(), pool.size());
  std::printf("options: %d docs, %d-shot context of ~%zu tokens, %zu options each\n", docs, shots, ctx_tokens,
              options.size());
  auto row = [&](const char* name, double s, uint64_t tokens, uint64_t passes) {
    std::printf("  %-34s %8.4f s/doc  %6llu tokens/doc  %5.2f passes/doc  %5.2fx vs scratch\n", name, s,
                static_cast<unsigned long long>(tokens / static_cast<uint64_t>(docs)),
                static_cast<double>(passes) / docs, scratch / s);
  };
  row("from scratch (Model::score/option)", scratch, scratch_tokens, static_cast<uint64_t>(docs) * options.size());
  row("shared prefix, one doc at a time", shared, one.tokens_computed(), one.forward_passes());
  row("shared prefix, batched", packed, batched.tokens_computed(), batched.forward_passes());

  // Generation: short prompts, greedy, no stop string.
  std::vector<eval::LanguageModel::GenerationRequest> gen;
  for (int g = 0; g < gens; ++g) gen.push_back({"Question: What is " + std::to_string(g) + " plus 7?\nAnswer:", {}, gen_tokens});
  eval::EngineLanguageModel serial(*model, *tok, pool, {.max_context = 2048});
  t0 = Clock::now();
  for (const auto& r : gen) serial.generate(r.context, r.until, r.max_tokens);
  const double gen_serial = since(t0);
  eval::EngineLanguageModel flight(*model, *tok, pool, {.max_context = 2048, .max_in_flight = gens});
  t0 = Clock::now();
  flight.generate_batch(gen);
  const double gen_flight = since(t0);
  std::printf("generation: %d requests of %d tokens\n", gens, gen_tokens);
  std::printf("  %-34s %8.3f s  %6llu passes\n", "one at a time", gen_serial,
              static_cast<unsigned long long>(serial.forward_passes()));
  std::printf("  %-34s %8.3f s  %6llu passes  %5.2fx\n", "all in flight", gen_flight,
              static_cast<unsigned long long>(flight.forward_passes()), gen_serial / gen_flight);
  return 0;
}
