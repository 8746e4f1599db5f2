// lmzip bpc --loss-curve FILE: the curves of every corpus of the run in one file, JSON (default) or CSV (*.csv).
#pragma once

#include <string>
#include <vector>

#include "lmzip/score/loss_curve.h"

namespace lmzip::cli {

struct NamedCurve {
  std::string corpus;
  std::vector<CurvePoint> token, byte;
};

// JSON: {"model": M, "corpora": [{"corpus", "token_position": {"mean_nats": [...], "count": [...]},
// "byte_position": {...}}]}; CSV: corpus,curve,position,mean_nats,count. Written atomically.
void write_loss_curves(const std::string& path, const std::string& model, const std::vector<NamedCurve>& curves);

}  // namespace lmzip::cli
