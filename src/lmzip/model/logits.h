// Full next-token logits of chosen positions of one window, a few rows at a time: what a comparison of two
// models' whole distributions needs (lmzip bpc --kl-base) without holding [window x n_vocab] floats.
//
// The forward pass is Model::score's (the fast path from position 0); only the final hidden rows of the chosen
// positions are kept ([positions x n_embd]); logits(first, count) runs the output layer on those rows.
#pragma once

#include <span>
#include <vector>

#include "lmzip/kernels/thread_pool.h"
#include "lmzip/model/model.h"

namespace lmzip {

class WindowLogits {
 public:
  // Runs `input` through `model`; every position must lie inside the input (lmzip::Error otherwise).
  WindowLogits(const Model& model, std::span<const TokenId> input, std::span<const uint32_t> positions,
               ThreadPool& pool);
  size_t rows() const { return rows_; }
  // out = the logits of rows [first, first + count) of `positions`, [count x n_vocab].
  void logits(size_t first, size_t count, std::vector<float>& out, ThreadPool& pool) const;

 private:
  const Model* model_;
  size_t rows_ = 0;
  std::vector<float> hidden_;  // [rows x n_embd] after the output norm
};

}  // namespace lmzip
