// Compress and decompress whole inputs to and from .lmz bytes: the library behind `lmzip compress` and
// `lmzip decompress`. Segments are coded in parallel on `threads` worker threads, each with its own predictor;
// the output bytes never depend on the thread count.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lmzip/codec/plan.h"
#include "lmzip/codec/predictor.h"

namespace lmzip::codec {

// Called after each finished segment with (segments done, segments total); from worker threads, serialized.
using ProgressFn = std::function<void(size_t, size_t)>;

struct CompressOptions {
  uint32_t segment_tokens = 1024;
  int threads = 1;
  ProgressFn progress;
};

struct CompressStats {
  uint64_t input_bytes = 0;
  uint64_t output_bytes = 0;
  uint64_t header_bytes = 0;  // header + segment table + checksum
  uint64_t segments = 0;
  uint64_t tokens = 0;
  uint64_t raw_bytes = 0;     // bytes coded as raw spans
  double model_bits = 0;      // the model's cross-entropy on the coded tokens (bits)
  double freq_bits = 0;       // the same tokens under the integer frequency tables
  double raw_bits = 0;        // raw bytes under the adaptive byte model
  uint64_t payload_bytes = 0; // range-coded bytes, all segments
};

std::string compress(std::string_view input, const Tokenizer& tokenizer, const PredictorFactory& factory,
                     const ModelIdentity& model, const CompressOptions& options, CompressStats* stats = nullptr);

struct DecompressOptions {
  int threads = 1;
  ProgressFn progress;
};

// `name` (the file's name) appears in errors. Checks the model, every segment and the whole output.
std::string decompress(std::string_view lmz, const std::string& name, const Tokenizer& tokenizer,
                       const PredictorFactory& factory, const ModelIdentity& model,
                       const DecompressOptions& options = {});

// Runs fn(worker, index) for index in [0, n) on `threads` threads (worker in [0, threads)); rethrows the
// exception of the lowest failing index.
void parallel_for(size_t n, int threads, const std::function<void(int, size_t)>& fn);

}  // namespace lmzip::codec
