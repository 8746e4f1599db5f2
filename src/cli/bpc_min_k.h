// lmzip bpc --per-doc FILE --min-k PCT: Min-K% and Min-K%++ per document (contamination screening;
// docs/PROTOCOLS.md, "Min-K% per document"). The scorer computes each scored position's full distribution once
// (for Min-K%++'s mu and sigma) and returns the NLLs bpc sums, so one run gives both the BPC and the screens.
#pragma once

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"
#include "lmzip/score/bpc.h"

namespace lmzip::cli {

class MinKPerDoc {
 public:
  explicit MinKPerDoc(double percent) : percent_(percent) {}
  WindowScorer scorer(const Model& model, ThreadPool& pool);
  void start_corpus(const ScoringPlan& plan);
  // RunOptions::on_window: attributes the window just scored to its documents.
  void add_window(size_t window, std::span<const double> nats);
  // Per document: {"min_k_PCT": mean of the k% largest NLLs, "min_k_pp_PCT": mean of the k% lowest Min-K%++ scores}.
  std::vector<nlohmann::json> per_doc_fields() const;

 private:
  double percent_;
  const ScoringPlan* plan_ = nullptr;
  std::vector<double> last_scores_;  // the last window's Min-K%++ token scores, in target order
  std::vector<std::vector<double>> nll_, pp_;  // per document
};

}  // namespace lmzip::cli
