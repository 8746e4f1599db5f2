// The thread pool, exp_approx, matmul (every type, panel splits), causal attention and the output-layer NLL
// against plain double-precision loops.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <random>

#include "lmzip/core/error.h"
#include "lmzip/kernels/attention.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/kernels/fast_math.h"
#include "lmzip/kernels/logits.h"
#include "lmzip/kernels/matmul.h"
#include "lmzip/kernels/ops.h"
#include "lmzip/kernels/thread_pool.h"

namespace lmzip {
namespace {

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

TEST(ThreadPool, ParallelForCoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (size_t n : {0u, 1u, 2u, 7u, 1000u}) {
      std::vector<std::atomic<int>> hits(n);
      pool.parallel_for(n, [&](size_t b, size_t e) {
        for (size_t i = b; i < e; ++i) hits[i]++;
      });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1);
      std::vector<std::atomic<int>> items(n);
      pool.parallel_items(n, [&](size_t i) { items[i]++; });
      for (size_t i = 0; i < n; ++i) EXPECT_EQ(items[i].load(), 1);
    }
  }
}

TEST(ThreadPool, RethrowsTheWorkersException) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.parallel_items(10, [](size_t i) { if (i == 7) throw Error("boom"); }), Error);
  EXPECT_THROW(pool.parallel_for(10, [](size_t, size_t e) { if (e == 10) throw Error("boom"); }), Error);
  int sum = 0;
  pool.parallel_for(1, [&](size_t, size_t) { sum = 1; });  // still usable
  EXPECT_EQ(sum, 1);
}

TEST(FastMath, ExpApproxRelativeErrorBelow2e7) {
  double worst = 0;
  for (double x = -87.0; x <= 88.0; x += 0.001) {
    const float xf = static_cast<float>(x);
    const double exact = std::exp(static_cast<double>(xf));
    worst = std::max(worst, std::fabs(exp_approx(xf) - exact) / exact);
  }
  EXPECT_LT(worst, 2e-7);
  EXPECT_EQ(exp_approx(0.0f), 1.0f);
  EXPECT_GT(exp_approx(-1000.0f), 0.0f);
  EXPECT_LT(exp_approx(-1000.0f), 1e-37f);
}

// y = x W^T in double, W dequantized by the reference.
std::vector<double> matmul_reference(const std::vector<float>& x, int64_t m, const WeightView& w) {
  std::vector<double> y(static_cast<size_t>(m * w.n_out));
  for (int64_t r = 0; r < m; ++r) {
    for (int64_t o = 0; o < w.n_out; ++o) {
      double s = 0;
      for (int64_t i = 0; i < w.n_in; ++i) {
        s += x[static_cast<size_t>(r * w.n_in + i)] * static_cast<double>(dequantize_element_reference(w.type, w.row(o), static_cast<size_t>(i)));
      }
      y[static_cast<size_t>(r * w.n_out + o)] = s;
    }
  }
  return y;
}

TEST(Matmul, EveryTypeAndOddShapesAgainstDoubleReference) {
  for (GgmlType type : supported_weight_type_list()) {
    const uint32_t block = ggml_type_info(type).block_elements;
    const int64_t n_in = 256 * (block == 256 ? 2 : 1) + (block == 1 ? 3 : 0);
    for (int64_t n_out : {1, 17, 130, 300}) {
      for (int64_t m : {1, 5, 64}) {
        const auto wf = random_values(static_cast<size_t>(n_in * n_out), 1);
        std::string wq;
        quantize_row(type, wf.data(), wf.size(), wq);
        const WeightView w = make_weight_view("w", type, reinterpret_cast<const uint8_t*>(wq.data()), n_in, n_out);
        const auto x = random_values(static_cast<size_t>(m * n_in), 2);
        const auto ref = matmul_reference(x, m, w);
        for (int threads : {1, 3}) {
          ThreadPool pool(threads);
          std::vector<float> y(static_cast<size_t>(m * n_out), 1.0f);
          matmul(x.data(), m, n_in, w, y.data(), n_out, /*accumulate=*/true, pool);
          for (size_t i = 0; i < y.size(); ++i) {
            ASSERT_NEAR(y[i], ref[i] + 1.0, 1e-4 * std::sqrt(static_cast<double>(n_in)))
                << ggml_type_name(type) << " " << n_out << "x" << m << " @" << i;
          }
        }
      }
    }
  }
}

TEST(MatmulFixed, AgreesWithReferenceAndIgnoresBatchAndThreads) {
  const int64_t n_in = 256 + 32, n_out = 150, m = 5;  // n_in: a tail after the 16-lane body
  const auto wf = random_values(static_cast<size_t>(n_in * n_out), 8);
  std::string wq;
  quantize_row(GgmlType::Q8_0, wf.data(), wf.size(), wq);
  const WeightView w = make_weight_view("w", GgmlType::Q8_0, reinterpret_cast<const uint8_t*>(wq.data()), n_in, n_out);
  const auto x = random_values(static_cast<size_t>(m * n_in), 9);
  const auto ref = matmul_reference(x, m, w);
  ThreadPool one(1), three(3);
  std::vector<float> all(static_cast<size_t>(m * n_out));
  matmul_fixed(x.data(), m, n_in, w, all.data(), n_out, false, three);
  for (int64_t r = 0; r < m; ++r) {
    std::vector<float> row(static_cast<size_t>(n_out));
    matmul_fixed(x.data() + r * n_in, 1, n_in, w, row.data(), n_out, false, one);
    for (int64_t o = 0; o < n_out; ++o) {
      ASSERT_EQ(row[o], all[r * n_out + o]);  // bit-identical: one row alone, one thread
      ASSERT_NEAR(row[o], ref[r * n_out + o], 1e-4);
    }
  }
}

// matmul_fixed reads F32 and F16 weights in place, four rows at a time, and dequantizes other types: every
// output element must still be exactly dot_fixed of the row and the dequantized weight row.
TEST(MatmulFixed, EveryStorageGivesExactlyDotFixedOfTheDequantizedRow) {
  const int64_t n_in = 160, n_out = 67, m = 3;  // n_out: a partial group of four rows at the end
  const auto wf = random_values(static_cast<size_t>(n_in * n_out), 10);
  const auto x = random_values(static_cast<size_t>(m * n_in), 11);
  ThreadPool two(2);
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0}) {
    std::string wq;
    quantize_row(type, wf.data(), wf.size(), wq);
    const WeightView w = make_weight_view("w", type, reinterpret_cast<const uint8_t*>(wq.data()), n_in, n_out);
    std::vector<float> deq(static_cast<size_t>(n_in * n_out));
    w.dequantize_rows(0, n_out, deq.data());
    std::vector<float> y(static_cast<size_t>(m * n_out), 1.0f);
    matmul_fixed(x.data(), m, n_in, w, y.data(), n_out, /*accumulate=*/true, two);
    for (int64_t r = 0; r < m; ++r) {
      for (int64_t o = 0; o < n_out; ++o) {
        const float expected = 1.0f + dot_fixed(x.data() + r * n_in, deq.data() + o * n_in, n_in);
        ASSERT_EQ(y[static_cast<size_t>(r * n_out + o)], expected) << ggml_type_name(type) << " " << r << "," << o;
      }
    }
  }
  // dot4_fixed on rows whose length leaves a tail after the 16-lane body.
  const float* rows[4] = {wf.data(), wf.data() + 21, wf.data() + 42, wf.data() + 63};
  float d[4];
  dot4_fixed(x.data(), rows, 21, d);
  for (int k = 0; k < 4; ++k) EXPECT_EQ(d[k], dot_fixed(x.data(), rows[k], 21));
}

TEST(Attention, FixedFormMatchesGemmFormAndIsSplitInvariant) {
  const AttentionShape shape{.n_head = 4, .n_head_kv = 2, .head_dim = 32};
  const int64_t n = 40, q_dim = 128, kv_dim = 64;
  const auto q = random_values(static_cast<size_t>(n * q_dim), 10);
  const auto k = random_values(static_cast<size_t>(n * kv_dim), 11);
  const auto v = random_values(static_cast<size_t>(n * kv_dim), 12);
  ThreadPool pool(2), one(1);
  std::vector<float> gemm(static_cast<size_t>(n * q_dim)), fixed(gemm.size()), split(gemm.size());
  causal_attention(q.data(), n, 0, k.data(), v.data(), gemm.data(), shape, pool);
  causal_attention_fixed(q.data(), n, 0, k.data(), v.data(), fixed.data(), shape, pool);
  // The same queries in two calls (positions 0..16 and 17..39), on one thread.
  causal_attention_fixed(q.data(), 17, 0, k.data(), v.data(), split.data(), shape, one);
  causal_attention_fixed(q.data() + 17 * q_dim, n - 17, 17, k.data(), v.data(), split.data() + 17 * q_dim, shape, one);
  for (size_t i = 0; i < gemm.size(); ++i) {
    ASSERT_NEAR(fixed[i], gemm[i], 1e-5);
    ASSERT_EQ(fixed[i], split[i]);
  }
}

TEST(Attention, CausalGqaAgainstDoubleLoops) {
  const AttentionShape shape{.n_head = 6, .n_head_kv = 2, .head_dim = 16};
  const int64_t q_dim = 6 * 16, kv_dim = 2 * 16;
  for (int64_t first : {0, 37}) {
    const int64_t n = 150;  // more than one query block
    const auto q = random_values(static_cast<size_t>(n * q_dim), 3);
    const auto k = random_values(static_cast<size_t>((first + n) * kv_dim), 4);
    const auto v = random_values(static_cast<size_t>((first + n) * kv_dim), 5);
    std::vector<float> out(static_cast<size_t>(n * q_dim));
    ThreadPool pool(2);
    causal_attention(q.data(), n, first, k.data(), v.data(), out.data(), shape, pool);
    for (int64_t i = 0; i < n; i += 7) {
      for (int h = 0; h < 6; ++h) {
        const int64_t kv = h / 3 * 16;
        std::vector<double> s(static_cast<size_t>(first + i + 1));
        double max = -1e300, sum = 0;
        for (size_t j = 0; j < s.size(); ++j) {
          double d = 0;
          for (int c = 0; c < 16; ++c) d += double(q[i * q_dim + h * 16 + c]) * k[j * kv_dim + kv + c];
          s[j] = d / 4.0;
          max = std::max(max, s[j]);
        }
        for (double& e : s) sum += (e = std::exp(e - max));
        for (int c = 0; c < 16; ++c) {
          double o = 0;
          for (size_t j = 0; j < s.size(); ++j) o += s[j] / sum * v[j * kv_dim + kv + c];
          ASSERT_NEAR(out[i * q_dim + h * 16 + c], o, 1e-5) << "first " << first << " query " << i << " head " << h;
        }
      }
    }
  }
}

TEST(OutputNll, StreamingLogSumExpMatchesFullSoftmax) {
  const int64_t n_in = 64, n_vocab = 1000, m = 9;  // vocabulary not a multiple of the panel
  const auto wf = random_values(static_cast<size_t>(n_in * n_vocab), 6);
  std::string wq;
  quantize_row(GgmlType::F16, wf.data(), wf.size(), wq);
  const WeightView w = make_weight_view("out", GgmlType::F16, reinterpret_cast<const uint8_t*>(wq.data()), n_in, n_vocab);
  auto h = random_values(static_cast<size_t>(m * n_in), 7);
  for (float& x : h) x *= 4;  // peaked distributions
  std::vector<int32_t> targets{0, 999, 255, 256, 512, 3, 998, 1, 700};
  const auto logits = matmul_reference(h, m, w);
  for (int threads : {1, 2}) {
    ThreadPool pool(threads);
    std::vector<double> nll(static_cast<size_t>(m));
    output_nll(h.data(), m, w, targets, nll.data(), pool);
    for (int64_t r = 0; r < m; ++r) {
      double max = -1e300, sum = 0;
      for (int64_t v = 0; v < n_vocab; ++v) max = std::max(max, logits[r * n_vocab + v]);
      for (int64_t v = 0; v < n_vocab; ++v) sum += std::exp(logits[r * n_vocab + v] - max);
      const double expected = max + std::log(sum) - logits[r * n_vocab + targets[r]];
      EXPECT_NEAR(nll[r], expected, 2e-5) << r;
    }
  }
}

TEST(Ops, RmsNormRopeSwiglu) {
  ThreadPool pool(2);
  std::vector<float> x{3, 4, 0, 0};  // mean square 6.25 -> rms 2.5
  std::vector<float> w{1, 2, 1, 1};
  std::vector<float> y(4);
  rms_norm(x.data(), y.data(), 1, 4, w, 0.0f, pool);
  EXPECT_NEAR(y[0], 1.2f, 1e-6);
  EXPECT_NEAR(y[1], 3.2f, 1e-6);
  // RoPE at position 1 with n_rot 4, base 10000: pair 0 turns by 1 radian, pair 1 by 0.01.
  const RopeTable t = make_rope_table(1, 1, 4, 10000.0f, {});
  std::vector<float> normal{1, 0, 1, 0, 5}, neox{1, 1, 0, 0};
  apply_rope(normal.data(), 1, 1, 4, t, false);
  EXPECT_NEAR(normal[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(normal[1], std::sin(1.0), 1e-6);
  EXPECT_NEAR(normal[2], std::cos(0.01), 1e-6);
  EXPECT_NEAR(normal[3], std::sin(0.01), 1e-6);
  apply_rope(neox.data(), 1, 1, 4, t, true);
  EXPECT_NEAR(neox[0], std::cos(1.0), 1e-6);
  EXPECT_NEAR(neox[2], std::sin(1.0), 1e-6);
  EXPECT_NEAR(neox[1], std::cos(0.01), 1e-6);
  EXPECT_NEAR(neox[3], std::sin(0.01), 1e-6);
  // Frequency factors divide the angle.
  const std::vector<float> factors{2.0f, 1.0f};
  const RopeTable scaled = make_rope_table(1, 1, 4, 10000.0f, factors);
  EXPECT_NEAR(scaled.sin[0], std::sin(0.5), 1e-6);
  std::vector<float> gate{0.0f, 2.0f}, up{5.0f, 3.0f};
  swiglu(gate.data(), up.data(), 1, 2, pool);
  EXPECT_EQ(gate[0], 0.0f);
  EXPECT_NEAR(gate[1], 2.0 / (1.0 + std::exp(-2.0)) * 3.0, 1e-5);
}

}  // namespace
}  // namespace lmzip
