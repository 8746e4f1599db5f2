// bench_eval: the gain of prefix sharing for option log-likelihood requests.
// A k-shot-like context (ARC-style demonstrations) with 4 options is scored two ways:
//   shared:  SessionLanguageModel (the context runs once; each option continues from the cached prefix);
//   scratch: Model::score over context + option for each option (the context recomputed per option).
// Prints seconds per document and the tokens each way runs through the model.
// Usage: bench_eval [--model FILE.gguf] [--threads N] [--shots K] [--docs D]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "lmzip/eval/engine_lm.h"
#include "lmzip/format/gguf.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string context_with_shots(int shots) {
  std::string c;
  for (int i = 0; i < shots; ++i) {
    c += "Question: Which object is the best conductor of electricity, number " + std::to_string(i) +
         "?\nAnswer: an iron nail\n\n";
  }
  return c + "Question: George wants to warm his hands quickly by rubbing them. Which skin surface will produce "
             "the most heat?\nAnswer:";
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "models/zoo-m2-F16.gguf";
  int threads = 0, shots = 25, docs = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model")) model_path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--threads")) threads = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--shots")) shots = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--docs")) docs = std::atoi(argv[i + 1]);
  }
  using namespace lmzip;
  GgufFile file = GgufFile::open(model_path);
  auto tok = Tokenizer::from_gguf(file);
  auto model = Model::load(file);
  ThreadPool pool(threads);
  const std::string context = context_with_shots(shots);
  const std::vector<std::string> options = {" dry palms", " wet palms", " palms covered with oil",
                                            " palms covered with lotion"};
  eval::SessionLanguageModel lm(*model, *tok, pool, {.max_context = 2048, .share_prefix = true});
  auto t0 = Clock::now();
  for (int d = 0; d < docs; ++d) lm.loglikelihoods(context, options);
  const double shared = std::chrono::duration<double>(Clock::now() - t0).count() / docs;

  const auto ctx = tok->encode(context, {.add_special = false});
  uint64_t scratch_tokens = 0;
  t0 = Clock::now();
  for (int d = 0; d < docs; ++d) {
    for (const auto& o : options) {
      auto whole = tok->encode(context + o, {.add_special = false});
      std::vector<ScoredTarget> targets;
      for (size_t p = ctx.size(); p < whole.size(); ++p) targets.push_back({static_cast<uint32_t>(p - 1), whole[p]});
      model->score(whole, targets, pool);
      scratch_tokens += whole.size();
    }
  }
  const double scratch = std::chrono::duration<double>(Clock::now() - t0).count() / docs;
  std::printf("model %s, %d-shot context of %zu tokens, %zu options, %d threads\n", model_path.c_str(), shots,
              ctx.size(), options.size(), pool.size());
  std::printf("shared prefix (Session):    %8.4f s/doc, %llu tokens/doc\n", shared,
              static_cast<unsigned long long>(lm.tokens_computed() / static_cast<uint64_t>(docs)));
  std::printf("from scratch (Model::score): %8.4f s/doc, %llu tokens/doc\n", scratch,
              static_cast<unsigned long long>(scratch_tokens / static_cast<uint64_t>(docs)));
  std::printf("speedup %.2fx\n", scratch / shared);
  return 0;
}
