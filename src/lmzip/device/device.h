// The CUDA scoring engine, seen from lmzip: a plugin (liblmzip_cuda.so, built by nvcc from src/cuda/) loaded at
// run time with dlopen behind the C ABI of cuda_abi.h. lmzip builds, links and runs without it; `--device cuda`
// without a plugin or a GPU is a clear error.
//
// This side maps a loaded Model to the ABI: it checks that the model's blocks are ones the CUDA engine runs
// (dense llama / qwen2 decoders), dequantizes each weight tensor to fp32 on the host one at a time (the plugin
// converts to bf16 on upload, or keeps fp32), computes the RoPE tables with the CPU engine's own function, and
// scores windows.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lmzip/device/cuda_abi.h"
#include "lmzip/model/model.h"

namespace lmzip {

enum class DeviceCompute { Bf16, Fp32 };

struct CudaOptions {
  DeviceCompute compute = DeviceCompute::Bf16;
  int max_tokens = 0;   // longest window (required)
  int max_seq = 1;      // windows per call
  int device = 0;       // CUDA device ordinal
  std::string plugin{};  // plugin path; empty: $LMZIP_CUDA_PLUGIN, next to the executable, the library path
};

// Throws lmzip::Error naming the family and the first block feature the CUDA engine does not run (and saying
// that the CPU engine runs it); returns normally for the dense llama / qwen2 decoders it supports.
void check_cuda_support(const Model& model);

// The ABI configuration for `model` (after check_cuda_support).
lmzip_cuda_config make_cuda_config(const Model& model, const CudaOptions& options);

// Calls `fn` for every tensor the plugin needs, in upload order, each dequantized to fp32 (row-major, n_out rows
// of n_in) into a buffer reused between calls: layer -1 for model-level tensors. `name` is the GGUF tensor name
// (or "rope_cos"/"rope_sin"). Missing Q/K/V biases of a model that has some are given as zeros.
using CudaTensorSink =
    std::function<void(int32_t layer, int32_t tensor, const std::string& name, std::span<const float> data)>;
void export_cuda_tensors(const Model& model, const lmzip_cuda_config& config, const CudaTensorSink& fn);

// Where the plugin would be looked for, in order (for messages and tests).
std::vector<std::string> cuda_plugin_candidates(const std::string& explicit_path);

class CudaEngine {
 public:
  // Loads the plugin, checks the model, creates the engine and uploads the weights. lmzip::Error with the reason
  // (no plugin, no GPU, unsupported model, out of device memory, ...).
  static std::unique_ptr<CudaEngine> create(const Model& model, const CudaOptions& options);
  ~CudaEngine();
  CudaEngine(const CudaEngine&) = delete;
  CudaEngine& operator=(const CudaEngine&) = delete;

  // e.g. "cuda NVIDIA H200 bf16"
  const std::string& description() const { return description_; }
  int max_seq() const { return max_seq_; }

  // One window (a fresh context): -ln p(target) in nats for each target, in order.
  std::vector<double> score(std::span<const TokenId> input, std::span<const ScoredTarget> targets);
  // Several windows of one length in one pass; results per window, in order.
  struct Window {
    std::span<const TokenId> input;
    std::span<const ScoredTarget> targets;
  };
  std::vector<std::vector<double>> score_batch(std::span<const Window> windows);

 private:
  CudaEngine() = default;
  struct Plugin;
  std::unique_ptr<Plugin> plugin_;
  lmzip_cuda_engine* engine_ = nullptr;
  std::string description_;
  int n_vocab_ = 0, max_tokens_ = 0, max_seq_ = 1;
};

}  // namespace lmzip
