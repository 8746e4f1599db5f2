// bench_dequant: single-thread dequantize_row throughput of every supported weight type: the kernel that turns
// weight panels into fp32 for the matrix products (WeightView::dequantize_rows).
//   Per type: 4 Mi random normal weights quantized once (quantize_row), then dequantized in panels of 64 rows
//   of 4096 (as matmul's panels) into a 1 MB fp32 buffer that stays in cache; the median of --runs passes of
//   the thread's CPU time (on a shared machine wall time also measures the other jobs).
//   Reported: G elements/s, GB/s of quantized input read, GB/s of fp32 written.
// Usage: bench_dequant [--runs N]
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "lmzip/kernels/dequant.h"

namespace lmzip {
namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int run(int runs) {
  constexpr size_t kRow = 4096, kRows = 1024, kPanelRows = 64;
  std::mt19937 rng(1);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(kRow * kRows);
  for (float& v : x) v = normal(rng);
  std::vector<float> panel(kRow * kPanelRows);
  std::printf("%-7s %10s %14s %14s %9s\n", "type", "G elem/s", "GB/s read", "GB/s written", "bits/w");
  for (GgmlType type : supported_weight_type_list()) {
    std::string q;
    quantize_row(type, x.data(), x.size(), q);
    const size_t panel_bytes = q.size() / (kRows / kPanelRows);
    std::vector<double> seconds;
    for (int r = 0; r < runs; ++r) {
      const double start = thread_cpu_seconds();
      for (size_t p = 0; p < kRows / kPanelRows; ++p) {
        dequantize_row(type, reinterpret_cast<const uint8_t*>(q.data()) + p * panel_bytes, panel.data(), panel.size());
      }
      seconds.push_back(thread_cpu_seconds() - start);
    }
    std::sort(seconds.begin(), seconds.end());
    const double s = seconds[seconds.size() / 2], n = static_cast<double>(x.size());
    std::printf("%-7s %10.2f %14.2f %14.2f %9.3f\n", ggml_type_name(type), n / s * 1e-9,
                static_cast<double>(q.size()) / s * 1e-9, 4 * n / s * 1e-9, 8.0 * static_cast<double>(q.size()) / n);
  }
  return 0;
}

}  // namespace
}  // namespace lmzip

int main(int argc, char** argv) {
  int runs = 15;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: bench_dequant [--runs N]\n");
      return 2;
    }
  }
  return lmzip::run(runs);
}
