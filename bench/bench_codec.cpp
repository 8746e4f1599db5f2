// bench_codec: codec throughput.
//   1. range coder: symbols/s (uniform 2^28 totals);
//   2. logits -> frequency table: microseconds per table at 8 000 and 151 936 tokens (zoo, qwen2 vocabularies);
//   3. compress and decompress of a text with a model: bytes/s and tokens/s (wall and CPU seconds), and the
//      coding overhead over the model's cross-entropy.
// Usage: bench_codec [--model FILE.gguf] [--input FILE] [--bytes N] [--threads N] [--segment-tokens N] [--slots N]
//        --slots N: N segments in lockstep (lmzip compress's way; default 16); 0: one Session per worker thread.
//        defaults: ../shared/zoo/models/zoo-s1.gguf, ../shared/zoo/corpora/cc.testA.txt, 20000 bytes, 2 threads.
//        For the qwen2-0.5b shape pass the synthetic model bench_engine writes (/tmp/lmzip-bench-qwen2-0.5b-F16.gguf).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "lmzip/codec/freq.h"
#include "lmzip/codec/lmz.h"
#include "lmzip/codec/model_predictor.h"
#include "lmzip/codec/range_coder.h"
#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/model/model.h"

namespace lmzip {
namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

void bench_range_coder() {
  std::mt19937 rng(1);
  const int n = 4'000'000;
  std::vector<uint32_t> cum(n);
  for (auto& c : cum) c = rng() % (codec::kFreqTotal - 4096);
  double t0 = now();
  codec::RangeEncoder enc;
  for (int i = 0; i < n; ++i) enc.encode(cum[i], 4096, codec::kFreqTotal);
  std::string payload = enc.finish();
  double t1 = now();
  codec::RangeDecoder dec(payload);
  for (int i = 0; i < n; ++i) {
    dec.decode(codec::kFreqTotal);
    dec.consume(cum[i], 4096);
  }
  double t2 = now();
  std::printf("range coder      encode %.1f M symbols/s, decode %.1f M symbols/s\n", n / (t1 - t0) / 1e6,
              n / (t2 - t1) / 1e6);
}

void bench_freq() {
  for (size_t vocab : {8000u, 151936u}) {
    std::mt19937 rng(2);
    std::normal_distribution<float> normal(0.0f, 3.0f);
    std::vector<float> logits(vocab);
    for (float& x : logits) x = normal(rng);
    codec::FreqTable table;
    std::vector<uint64_t> weights;
    int reps = vocab > 100000 ? 50 : 1000;
    double t0 = now();
    for (int r = 0; r < reps; ++r) codec::logits_to_freqs(logits, table, weights);
    std::printf("freq table       vocab %6zu: %.1f us per table\n", vocab, (now() - t0) / reps * 1e6);
  }
}

int bench_model(const std::string& model_path, const std::string& input_path, size_t bytes, int threads,
                uint32_t segment_tokens, int slots) {
  GgufFile file = GgufFile::open(model_path);
  auto tokenizer = Tokenizer::from_gguf(file);
  auto model = Model::load(file);
  codec::ModelIdentity id = codec::identify_model(file, *model, *tokenizer);
  std::string input = read_file(input_path).substr(0, bytes);
  // slots > 0: segments in lockstep (what lmzip compress runs); 0: one Session per worker thread.
  const int workers = slots > 0 ? slots : threads;
  auto make_factory = [&] {
    return slots > 0 ? codec::lockstep_predictor_factory(*model, tokenizer->bos(), segment_tokens, slots, threads)
                     : codec::engine_predictor_factory(*model, tokenizer->bos(), segment_tokens, 1);
  };
  codec::CompressStats st;
  double w0 = now(), c0 = cpu_seconds();
  std::string lmz = codec::compress(input, *tokenizer, make_factory(), id,
                                    {.segment_tokens = segment_tokens, .threads = workers, .progress = {}}, &st);
  double w1 = now(), c1 = cpu_seconds();
  std::string back =
      codec::decompress(lmz, "bench.lmz", *tokenizer, make_factory(), id, {.threads = workers, .progress = {}});
  double w2 = now(), c2 = cpu_seconds();
  if (back != input) throw Error("round trip failed");
  std::printf("model            %s (%s), %zu bytes, %llu tokens, %llu segments, %d threads, %s\n", id.name.c_str(),
              id.predictor_id.c_str(), input.size(), static_cast<unsigned long long>(st.tokens),
              static_cast<unsigned long long>(st.segments), threads,
              slots > 0 ? ("lockstep, " + std::to_string(slots) + " slots").c_str() : "one Session per worker");
  std::printf("compress         %.0f bytes/s wall, %.0f tokens/s wall, %.2f ms CPU per token\n",
              input.size() / (w1 - w0), st.tokens / (w1 - w0), 1e3 * (c1 - c0) / st.tokens);
  std::printf("decompress       %.0f bytes/s wall, %.0f tokens/s wall, %.2f ms CPU per token\n",
              input.size() / (w2 - w1), st.tokens / (w2 - w1), 1e3 * (c2 - c1) / st.tokens);
  double ideal = st.model_bits + st.raw_bits;
  std::printf("size             %zu bytes = %.4f bits/byte; cross-entropy %.4f bits/byte; payload overhead %.3f %%\n",
              lmz.size(), 8.0 * lmz.size() / input.size(), ideal / input.size(),
              100.0 * (8.0 * st.payload_bytes - ideal) / ideal);
  return 0;
}

}  // namespace
}  // namespace lmzip

int main(int argc, char** argv) {
  std::string model = "../shared/zoo/models/zoo-s1.gguf", input = "../shared/zoo/corpora/cc.testA.txt";
  size_t bytes = 20000;
  int threads = 2;
  uint32_t segment_tokens = 1024;
  int slots = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--model") model = argv[i + 1];
    else if (a == "--input") input = argv[i + 1];
    else if (a == "--bytes") bytes = std::stoull(argv[i + 1]);
    else if (a == "--threads") threads = std::stoi(argv[i + 1]);
    else if (a == "--segment-tokens") segment_tokens = static_cast<uint32_t>(std::stoul(argv[i + 1]));
    else if (a == "--slots") slots = std::stoi(argv[i + 1]);
  }
  try {
    lmzip::bench_range_coder();
    lmzip::bench_freq();
    return lmzip::bench_model(model, input, bytes, threads, segment_tokens, slots);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_codec: %s\n", e.what());
    return 1;
  }
}
