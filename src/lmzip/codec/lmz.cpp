#include "lmzip/codec/lmz.h"

#include <atomic>
#include <exception>
#include <mutex>
#include <thread>

#include "lmzip/codec/container.h"
#include "lmzip/codec/segment_coder.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"

namespace lmzip::codec {

void parallel_for(size_t n, int threads, const std::function<void(int, size_t)>& fn) {
  int workers = static_cast<int>(std::min<size_t>(n, static_cast<size_t>(std::max(1, threads))));
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::exception_ptr error;
  size_t error_index = SIZE_MAX;
  auto work = [&](int worker) {
    for (size_t i; (i = next++) < n;) {
      try {
        fn(worker, i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (i < error_index) error = std::current_exception(), error_index = i;
        next = n;  // stop handing out work
      }
    }
  };
  if (workers <= 1) {
    work(0);
  } else {
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; ++w) pool.emplace_back(work, w);
    for (auto& t : pool) t.join();
  }
  if (error) std::rethrow_exception(error);
}

namespace {

std::vector<std::unique_ptr<TokenPredictor>> make_predictors(const PredictorFactory& factory, int threads,
                                                             size_t n, uint32_t vocab) {
  std::vector<std::unique_ptr<TokenPredictor>> predictors;
  size_t count = std::min<size_t>(std::max<size_t>(n, 1), static_cast<size_t>(std::max(1, threads)));
  for (size_t i = 0; i < count; ++i) {
    predictors.push_back(factory());
    LMZIP_CHECK(predictors.back()->vocab_size() == vocab, "predictor vocabulary differs from the model identity");
  }
  return predictors;
}

ProgressFn serialized(const ProgressFn& progress, std::mutex& mutex, std::atomic<size_t>& done, size_t total) {
  return [&progress, &mutex, &done, total](size_t, size_t) {
    size_t d = ++done;
    if (progress) {
      std::lock_guard lock(mutex);
      progress(d, total);
    }
  };
}

}  // namespace

std::string compress(std::string_view input, const Tokenizer& tokenizer, const PredictorFactory& factory,
                     const ModelIdentity& model, const CompressOptions& options, CompressStats* stats) {
  if (options.segment_tokens == 0 || options.segment_tokens > kMaxSegmentTokens) {
    throw Error("segment token budget must be between 1 and " + std::to_string(kMaxSegmentTokens));
  }
  if (tokenizer.vocab_size() > model.vocab_size) {
    throw Error("the tokenizer has " + std::to_string(tokenizer.vocab_size()) + " tokens but the model only " +
                std::to_string(model.vocab_size) + " outputs");
  }
  std::vector<SegmentPlan> plans =
      plan_segments(input, tokenizer, {.segment_tokens = options.segment_tokens});
  auto predictors = make_predictors(factory, options.threads, plans.size(), model.vocab_size);
  std::vector<std::string> payloads(plans.size());
  std::vector<SegmentStats> seg_stats(plans.size());
  std::mutex mutex;
  std::atomic<size_t> done{0};
  ProgressFn tick = serialized(options.progress, mutex, done, plans.size());
  parallel_for(plans.size(), options.threads, [&](int worker, size_t k) {
    const SegmentPlan& plan = plans[k];
    payloads[k] = encode_segment(input.substr(plan.offset, plan.size), plan, *predictors[worker], &seg_stats[k]);
    tick(0, 0);
  });

  LmzHeader header{.original_size = input.size(),
                   .original_xxh64 = xxh64(input.data(), input.size()),
                   .model = model,
                   .segment_tokens = options.segment_tokens,
                   .segments = {}};
  CompressStats st{.input_bytes = input.size(), .segments = plans.size()};
  for (size_t k = 0; k < plans.size(); ++k) {
    std::string_view bytes = input.substr(plans[k].offset, plans[k].size);
    header.segments.push_back({.original_bytes = static_cast<uint32_t>(plans[k].size),
                               .payload_bytes = static_cast<uint32_t>(payloads[k].size()),
                               .token_count = plans[k].token_count,
                               .payload_check = static_cast<uint32_t>(xxh64(payloads[k].data(), payloads[k].size())),
                               .segment_xxh64 = xxh64(bytes.data(), bytes.size())});
    st.tokens += seg_stats[k].tokens;
    st.raw_bytes += seg_stats[k].raw_bytes;
    st.model_bits += seg_stats[k].model_bits;
    st.freq_bits += seg_stats[k].freq_bits;
    st.raw_bits += seg_stats[k].raw_bits;
    st.payload_bytes += payloads[k].size();
  }
  std::string out = serialize_header(header);
  st.header_bytes = out.size();
  for (const std::string& p : payloads) out += p;
  st.output_bytes = out.size();
  if (stats) *stats = st;
  return out;
}

std::string decompress(std::string_view lmz, const std::string& name, const Tokenizer& tokenizer,
                       const PredictorFactory& factory, const ModelIdentity& model,
                       const DecompressOptions& options) {
  ParsedLmz parsed = parse_lmz(lmz, name);
  check_model(parsed.header, model, name);
  const auto& segments = parsed.header.segments;
  for (size_t k = 0; k < segments.size(); ++k) check_payload(parsed, k, name);  // cheap: fail before decoding

  // Decoded segments are kept apart and joined at the end: nothing is allocated on the header's word alone.
  std::vector<std::string> parts(segments.size());
  auto predictors = make_predictors(factory, options.threads, segments.size(), model.vocab_size);
  std::mutex mutex;
  std::atomic<size_t> done{0};
  ProgressFn tick = serialized(options.progress, mutex, done, segments.size());
  parallel_for(segments.size(), options.threads, [&](int worker, size_t k) {
    const SegmentEntry& e = segments[k];
    std::string where = name + ": segment " + std::to_string(k) + " of " + std::to_string(segments.size());
    std::string bytes;
    try {
      bytes = decode_segment(parsed.payloads[k], {.original_bytes = e.original_bytes, .token_count = e.token_count},
                             *predictors[worker], tokenizer);
    } catch (const Error& err) {
      throw Error(where + ": " + err.what());
    }
    if (xxh64(bytes.data(), bytes.size()) != e.segment_xxh64) {
      throw Error(where + ": decoded data does not match its checksum (corrupt, or a model whose numerics differ)");
    }
    parts[k] = std::move(bytes);
    tick(0, 0);
  });
  std::string out;
  out.reserve(parsed.header.original_size);
  for (std::string& part : parts) out += part, std::string().swap(part);
  if (xxh64(out.data(), out.size()) != parsed.header.original_xxh64) {
    throw Error(name + ": the decompressed data does not match the original's checksum");
  }
  return out;
}

}  // namespace lmzip::codec
