#include "lmzip/core/error.h"
#include "lmzip/model/model.h"

namespace lmzip {

std::vector<double> Model::score(std::span<const TokenId>, std::span<const ScoredTarget>, ThreadPool&) const {
  throw Error("Model::score: not implemented yet");
}

}  // namespace lmzip
