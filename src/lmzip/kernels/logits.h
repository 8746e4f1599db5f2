// The output layer at scored positions only: -ln softmax(h W^T)[target], streaming over blocks of the
// vocabulary so that no [n_positions x n_vocab] matrix of logits ever exists.
#pragma once

#include <cstdint>
#include <span>

#include "lmzip/kernels/matmul.h"
#include "lmzip/kernels/thread_pool.h"

namespace lmzip {

// For each row r of h [m x w.n_in]: nll[r] = logsumexp_v(h[r] . W[v]) - h[r] . W[targets[r]], in nats.
// W: [w.n_in, n_vocab = w.n_out]. Vocabulary panels are processed in parallel; each panel's (max, sum of exp)
// per row is kept and the panels are merged in vocabulary order in double, so the result does not depend on the
// thread count. targets[r] must lie in [0, n_vocab). softcap > 0: each logit z becomes softcap * tanh(z / softcap)
// first (Gemma 2's final soft-capping).
void output_nll(const float* h, int64_t m, const WeightView& w, std::span<const int32_t> targets, double* nll,
                ThreadPool& pool, float softcap = 0);

// z = softcap * tanh(z / softcap) for n logits (no-op for softcap <= 0).
void softcap_logits(float* z, int64_t n, float softcap);

}  // namespace lmzip
