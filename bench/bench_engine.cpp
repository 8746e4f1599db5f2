// bench_engine: the engine against the machine's limit.
//   1. fp32 GEMM peak of this machine with the same BLAS and thread count (the pool splitting columns over
//      single-threaded OpenBLAS, as the engine does; and OpenBLAS's own threads for comparison).
//   2. scored tokens/s of hkust-style windows (window+1 tokens; the first window scores `window` targets,
//      later ones their last `stride`) on a model (default: a synthetic qwen2-0.5b in F16), the GFLOP/s on the
//      FLOPs the protocol needs, and the share of the peak.
//   3. peak resident memory (getrusage) against the model file's size.
// Usage: bench_engine [--model FILE.gguf] [--threads N] [--windows K] [--window 1900] [--stride 512]
//        With no --model, /tmp/lmzip-bench-qwen2-0.5b-F16.gguf is synthesized first (in a child process, so
//        that its memory does not count).
#include <cblas.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/kernels/matmul.h"
#include "lmzip/model/model.h"
#include "lmzip/model/synth.h"

namespace lmzip {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds used by the process (user + system): on a machine shared with other jobs, wall time measures
// the others too, while flops per CPU-second still measure how well the kernels use a core.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Rate {
  double wall = 0;     // GFLOP/s of wall time
  double per_cpu = 0;  // GFLOP per CPU-second
};

// C[n x n] = A[n x n] B^T with the columns of C split over the pool, each part a single-threaded sgemm.
Rate gemm_gflops_pool(int64_t n, ThreadPool& pool) {
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  const int64_t parts = pool.size(), cols = (n + parts - 1) / parts;
  Rate best;
  for (int rep = 0; rep < 4; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    pool.parallel_items(static_cast<size_t>(parts), [&](size_t p) {
      const int64_t first = static_cast<int64_t>(p) * cols, nc = std::min(cols, n - first);
      if (nc > 0) sgemm(n, nc, n, 1.0f, a.data(), n, b.data() + first * n, n, true, 0.0f, c.data() + first, n);
    });
    const double flops = 2.0 * n * n * n / 1e9;
    best.wall = std::max(best.wall, flops / seconds_since(t0));
    best.per_cpu = std::max(best.per_cpu, flops / (cpu_seconds() - c0));
  }
  return best;
}

// The same product as one sgemm with OpenBLAS's own threads.
double gemm_gflops_openblas(int64_t n, int threads) {
  std::vector<float> a(static_cast<size_t>(n * n), 0.5f), b(a.size(), 0.25f), c(a.size());
  sgemm(1, 1, 1, 1.0f, a.data(), 1, b.data(), 1, true, 0.0f, c.data(), 1);  // the engine's BLAS setup first
  openblas_set_num_threads(threads);
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    sgemm(n, n, n, 1.0f, a.data(), n, b.data(), n, true, 0.0f, c.data(), n);
    best = std::max(best, 2.0 * n * n * n / seconds_since(t0) / 1e9);
  }
  openblas_set_num_threads(1);
  return best;
}

// FLOPs a window needs: every dense matrix for every token, only the routed experts' share of the expert
// matrices (n_expert_used of n_expert), causal attention on attention layers, the selective scan on Mamba
// layers, and the output layer per target.
double window_flops(const Model& m, int64_t n_tokens, int64_t n_scored) {
  const ModelConfig& c = m.config();
  auto size = [](const WeightView& w) { return static_cast<double>(w.n_in) * static_cast<double>(w.n_out); };
  double params = 0;
  int attention_layers = 0;
  for (const LayerWeights& L : m.weights().layers) {
    for (const WeightView* w : {&L.wqkv, &L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down, &L.gate_inp,
                                &L.gate_inp_shexp, &L.gate_shexp, &L.up_shexp, &L.down_shexp, &L.ssm_in, &L.ssm_x,
                                &L.ssm_dt, &L.ssm_out}) {
      params += size(*w);
    }
    if (c.n_expert > 0) {
      params += (size(L.gate_exps) + size(L.up_exps) + size(L.down_exps)) * c.n_expert_used / c.n_expert;
    }
    attention_layers += L.wo.data != nullptr;
  }
  const double pairs = 0.5 * static_cast<double>(n_tokens) * static_cast<double>(n_tokens + 1);
  const double attention = 4.0 * c.head_dim * pairs * c.n_head * attention_layers;  // QK^T and PV
  const double scan = 6.0 * c.ssm_d_inner * c.ssm_d_state * static_cast<double>(n_tokens) *
                      (c.n_layer - attention_layers);
  return 2.0 * params * n_tokens + attention + scan + 2.0 * c.n_embd * static_cast<double>(c.n_vocab) * n_scored;
}

void synthesize_in_child(const std::string& path) {
  std::fprintf(stderr, "bench_engine: synthesizing %s (qwen2-0.5b, F16)...\n", path.c_str());
  const pid_t pid = fork();
  if (pid == 0) {
    SynthOptions o;
    o.shape = *synth_preset("qwen2-0.5b", "qwen2");
    o.type = GgmlType::F16;
    synth_model(o).writer.write(path);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error("bench_engine: synthesis failed");
}

int run(int argc, char** argv) {
  std::string model_path;
  int threads = ThreadPool::hardware_threads(), windows = 3;
  int64_t window = 1900, stride = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--model") model_path = argv[i + 1];
    else if (a == "--threads") threads = std::atoi(argv[i + 1]);
    else if (a == "--windows") windows = std::atoi(argv[i + 1]);
    else if (a == "--window") window = std::atoll(argv[i + 1]);
    else if (a == "--stride") stride = std::atoll(argv[i + 1]);
    else throw Error("bench_engine: unknown option " + a);
  }
  if (model_path.empty()) {
    model_path = "/tmp/lmzip-bench-qwen2-0.5b-F16.gguf";
    if (!file_exists(model_path)) synthesize_in_child(model_path);
  }
  ThreadPool pool(threads);
  std::printf("threads: %d\n", threads);
  const Rate peak_pool = gemm_gflops_pool(2048, pool);
  const double peak_blas = gemm_gflops_openblas(2048, threads);
  const double peak = std::max(peak_pool.wall, peak_blas);
  std::printf("fp32 GEMM 2048^3: %.1f GFLOP/s (pool of single-threaded OpenBLAS; %.1f per CPU-second), "
              "%.1f GFLOP/s (OpenBLAS threads)\n",
              peak_pool.wall, peak_pool.per_cpu, peak_blas);

  GgufFile file = GgufFile::open(model_path);
  auto model = Model::load(file);
  const ModelConfig& c = model->config();
  std::printf("model: %s (%s, %d layers, n_embd %d, vocab %d), file %.1f MB\n", model_path.c_str(),
              c.architecture.c_str(), c.n_layer, c.n_embd, c.n_vocab, file.file_size() / 1e6);
  std::mt19937 rng(1);
  std::uniform_int_distribution<TokenId> token(0, c.n_vocab - 1);
  std::vector<TokenId> input(static_cast<size_t>(window + 1));
  double later_seconds = 0, later_cpu = 0, later_flops = 0;
  int64_t later_scored = 0;
  for (int w = 0; w < windows; ++w) {
    for (TokenId& t : input) t = token(rng);
    // hkust: the window's tokens predict the next; the first window scores all, later ones the last stride.
    const int64_t n_scored = w == 0 ? window : stride;
    std::vector<ScoredTarget> targets;
    for (int64_t p = window - n_scored; p < window; ++p) {
      targets.push_back({static_cast<uint32_t>(p), input[static_cast<size_t>(p + 1)]});
    }
    const std::span<const TokenId> context(input.data(), static_cast<size_t>(window));
    auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    const std::vector<double> nll = model->score(context, targets, pool);
    const double s = seconds_since(t0), cpu = cpu_seconds() - c0, flops = window_flops(*model, window, n_scored);
    std::printf("window %d: %ld tokens, %ld scored, %.2f s, %.1f scored tokens/s, %.1f GFLOP/s (%.0f%% of peak); "
                "%.1f GFLOP per CPU-second (%.0f%% of the GEMM's); mean nll %.3f\n",
                w, static_cast<long>(window), static_cast<long>(n_scored), s, n_scored / s, flops / s / 1e9,
                100.0 * flops / s / 1e9 / peak, flops / cpu / 1e9, 100.0 * flops / cpu / 1e9 / peak_pool.per_cpu,
                std::accumulate(nll.begin(), nll.end(), 0.0) / static_cast<double>(nll.size()));
    if (w > 0) {
      later_seconds += s;
      later_cpu += cpu;
      later_flops += flops;
      later_scored += n_scored;
    }
  }
  if (later_seconds > 0) {
    std::printf("later windows: %.1f scored tokens/s, %.1f GFLOP/s, %.0f%% of the GEMM peak "
                "(per CPU-second: %.0f%%)\n",
                static_cast<double>(later_scored) / later_seconds, later_flops / later_seconds / 1e9,
                100.0 * later_flops / later_seconds / 1e9 / peak,
                100.0 * later_flops / later_cpu / 1e9 / peak_pool.per_cpu);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const double rss_mib = static_cast<double>(usage.ru_maxrss) / 1024.0;
  const double file_mib = static_cast<double>(file.file_size()) / 1048576.0;
  std::printf("peak RSS: %.0f MiB = model file %.0f MiB + %.0f MiB\n", rss_mib, file_mib, rss_mib - file_mib);
  return 0;
}

}  // namespace
}  // namespace lmzip

int main(int argc, char** argv) {
  try {
    return lmzip::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
