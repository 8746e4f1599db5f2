// How sure a BPC is: documents are the unit (a corpus is a sample of documents), so every per-corpus rate — BPC,
// BPB, bits/token, PPL, compression rate — gets the ratio estimator's standard error over documents and a seeded
// percentile bootstrap interval over documents. docs/PROTOCOLS.md, "Uncertainty".
#pragma once

#include <cstdint>
#include <vector>

#include "lmzip/score/bpc.h"
#include "lmzip/stats/correlation.h"

namespace lmzip {

struct RateUncertainty {
  double value = 0;
  double se = 0;          // standard error over documents (NaN with fewer than 2 documents)
  stats::Interval ci{};   // bootstrap interval at UncertaintyOptions::level (NaN when not computed)
};

struct UncertaintyOptions {
  int resamples = 1000;      // bootstrap draws; 0: no interval
  uint64_t seed = 20240415;  // the bootstrap's generator seed
  double level = 0.95;
};

struct BpcUncertainty {
  uint64_t units = 0;          // documents (llama.cpp's joined text is one)
  int resamples = 0;           // draws that counted for the intervals
  uint64_t seed = 0;
  double level = 0.95;
  RateUncertainty bpc, bpb, bits_per_token, ppl, compression_rate;
};

// From the per-document sums of a run (BpcResult::per_doc): y = nats, x = characters (BPC), bytes (BPB,
// compression rate) or scored tokens (bits/token, PPL). PPL = exp(nats/token): its standard error is
// PPL · SE(nats/token) (delta method) and its interval exp of the nats/token interval.
BpcUncertainty estimate_uncertainty(const std::vector<DocScore>& docs, const UncertaintyOptions& options);

}  // namespace lmzip
