// lmzip bpc --kl-base REF: the scored model's next-token distributions against a reference model's on the same
// tokens (llama.cpp perplexity's --kl-divergence, without its logits file: both models run window by window).
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "lmzip/hf/model_source.h"
#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"
#include "lmzip/score/bpc.h"
#include "lmzip/score/kl.h"

namespace lmzip::cli {

class KlBase {
 public:
  // Opens and loads the reference; lmzip::Error naming both files when its tokenizer or vocabulary size differs
  // from the scored model's.
  KlBase(const std::string& ref_path, const std::string& model_path, const Tokenizer& tokenizer, const Model& model);

  // The scorer bpc runs: both models on each window; returns the scored model's NLLs (from its full logits, in
  // double) and adds every position's KL to the current corpus's accumulator.
  WindowScorer scorer(const Model& model, ThreadPool& pool);
  void start_corpus() { acc_ = {}; }
  // Adds the reference and the KL statistics of the current corpus to bpc's result object (`chars` from it).
  void add_to(nlohmann::json& j) const;

 private:
  std::string path_, name_;
  ModelSource source_;
  std::unique_ptr<Model> model_;
  KlAccumulator acc_;
};

// The KL lines of the table, after print_table.
void print_kl_table(const nlohmann::json& j);

}  // namespace lmzip::cli
