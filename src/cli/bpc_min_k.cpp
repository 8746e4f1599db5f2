#include "bpc_min_k.h"

#include <cmath>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/model/logits.h"
#include "lmzip/score/min_k.h"

namespace lmzip::cli {

WindowScorer MinKPerDoc::scorer(const Model& model, ThreadPool& pool) {
  return [this, &model, &pool](std::span<const TokenId> input, std::span<const ScoreTarget> targets) {
    constexpr size_t kRowsPerBlock = 16;
    std::vector<uint32_t> positions(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) positions[i] = targets[i].position;
    const WindowLogits logits(model, input, positions, pool);
    const size_t v = static_cast<size_t>(model.config().n_vocab);
    std::vector<float> rows;
    std::vector<double> nll(targets.size());
    last_scores_.assign(targets.size(), 0.0);
    for (size_t first = 0; first < targets.size(); first += kRowsPerBlock) {
      const size_t count = std::min(kRowsPerBlock, targets.size() - first);
      logits.logits(first, count, rows, pool);
      for (size_t r = 0; r < count; ++r) {
        const std::span<const float> z = std::span<const float>(rows).subspan(r * v, v);
        const TokenId t = targets[first + r].token;
        const double zmax = *std::max_element(z.begin(), z.end());
        double sum = 0;
        for (float x : z) sum += std::exp(static_cast<double>(x) - zmax);
        nll[first + r] = zmax + std::log(sum) - z[static_cast<size_t>(t)];
        last_scores_[first + r] = min_k_pp_token(z, t);
      }
    }
    return nll;
  };
}

void MinKPerDoc::start_corpus(const ScoringPlan& plan) {
  plan_ = &plan;
  nll_.assign(plan.docs.size(), {});
  pp_.assign(plan.docs.size(), {});
}

void MinKPerDoc::add_window(size_t window, std::span<const double> nats) {
  const Window& w = plan_->windows.at(window);
  LMZIP_CHECK(nats.size() == w.n_scored && last_scores_.size() == nats.size(), "MinKPerDoc: another window");
  for (size_t k = 0; k < nats.size(); ++k) {
    const uint32_t doc = plan_->stream.doc_of[w.begin + w.first_scored + k + 1];
    nll_[doc].push_back(nats[k]);
    pp_[doc].push_back(last_scores_[k]);
  }
}

std::vector<nlohmann::json> MinKPerDoc::per_doc_fields() const {
  const std::string pct = std::to_string(static_cast<int>(std::lround(percent_)));
  std::vector<nlohmann::json> out;
  for (size_t d = 0; d < nll_.size(); ++d) {
    out.push_back({{"min_k_" + pct, eval::min_k_prob(nll_[d], percent_ / 100)},
                   {"min_k_pp_" + pct, min_k_pp(pp_[d], percent_ / 100)}});
  }
  return out;
}

}  // namespace lmzip::cli
