// WindowLogits: Model::score's forward pass, keeping the chosen rows' final hidden states for the output layer.
#include "lmzip/model/logits.h"

#include <algorithm>

#include "lmzip/core/error.h"
#include "lmzip/model/forward.h"

namespace lmzip {

WindowLogits::WindowLogits(const Model& model, std::span<const TokenId> input, std::span<const uint32_t> positions,
                           ThreadPool& pool)
    : model_(&model), rows_(positions.size()) {
  check_tokens(model, input);
  for (uint32_t p : positions) {
    if (p >= input.size()) {
      throw Error(model.file_name() + ": position " + std::to_string(p) + " is outside the input of " +
                  std::to_string(input.size()) + " tokens");
    }
  }
  if (positions.empty()) return;
  const int64_t n = static_cast<int64_t>(input.size());
  ForwardState& state = thread_fast_state(model.config(), n, n);
  const uint32_t first = *std::min_element(positions.begin(), positions.end());
  forward_tokens(model, input, 0, state, pool, first);
  std::vector<int64_t> rows(positions.begin(), positions.end());
  hidden_ = final_norm_rows(model, state, rows, pool);
}

void WindowLogits::logits(size_t first, size_t count, std::vector<float>& out, ThreadPool& pool) const {
  LMZIP_CHECK(first + count <= rows_, "WindowLogits::logits: rows out of range");
  const ModelConfig& c = model_->config();
  out.resize(count * static_cast<size_t>(c.n_vocab));
  if (count == 0) return;
  output_logits(*model_, hidden_.data() + first * static_cast<size_t>(c.n_embd), static_cast<int64_t>(count),
                out.data(), /*deterministic=*/false, pool);
}

}  // namespace lmzip
