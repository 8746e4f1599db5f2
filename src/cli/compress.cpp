// lmzip compress -m MODEL.gguf INPUT -o OUTPUT.lmz [-t N] [--json] [--codec zstd|xz|gzip]: lossless compression
// with a language model and range coding (format: docs/FORMAT.md, design: docs/CODEC.md).
#include <chrono>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "codec_model.h"
#include "command.h"
#include "lmzip/codec/baseline.h"
#include "lmzip/codec/lmz.h"
#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/kernels/thread_pool.h"
#include "progress.h"

namespace lmzip::cli {
namespace {

// Unicode code points of valid UTF-8 (every byte that is not a continuation byte): the "characters" of bpc.
uint64_t count_chars(std::string_view s) {
  uint64_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

void write_output(const std::string& path, std::string_view data) {
  if (path == "-") {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0) {
      throw Error("writing standard output failed");
    }
    return;
  }
  AtomicFileWriter out(path);
  out.write(data);
  out.commit();
}

struct Baselines {
  std::vector<std::pair<std::string, uint64_t>> rows;  // label, compressed bytes
};

nlohmann::json to_json(const codec::CompressStats& st, uint64_t chars, double seconds, const Baselines& base,
                       const std::string& model_name) {
  nlohmann::json j = {{"model", model_name},
                      {"input_bytes", st.input_bytes},
                      {"input_chars", chars},
                      {"output_bytes", st.output_bytes},
                      {"header_bytes", st.header_bytes},
                      {"payload_bytes", st.payload_bytes},
                      {"segments", st.segments},
                      {"tokens", st.tokens},
                      {"raw_bytes", st.raw_bytes},
                      {"bits_per_byte", st.input_bytes ? 8.0 * st.output_bytes / static_cast<double>(st.input_bytes) : 0.0},
                      {"bits_per_char", chars ? 8.0 * st.output_bytes / static_cast<double>(chars) : 0.0},
                      {"model_bits", st.model_bits},
                      {"model_bits_per_byte", st.input_bytes ? st.model_bits / static_cast<double>(st.input_bytes) : 0.0},
                      {"table_bits", st.freq_bits},
                      {"raw_bits", st.raw_bits},
                      {"seconds", seconds},
                      {"bytes_per_second", seconds > 0 ? static_cast<double>(st.input_bytes) / seconds : 0.0}};
  // Coding overhead: payload bits beyond the model's cross-entropy (plus the raw spans' own cost), relative to
  // that cross-entropy; the header comes on top.
  double ideal = st.model_bits + st.raw_bits;
  j["overhead"] = ideal > 0 ? (8.0 * static_cast<double>(st.payload_bytes) - ideal) / ideal : 0.0;
  nlohmann::json b = nlohmann::json::object();
  for (const auto& [label, bytes] : base.rows) {
    b[label] = {{"output_bytes", bytes},
                {"bits_per_byte", st.input_bytes ? 8.0 * bytes / static_cast<double>(st.input_bytes) : 0.0}};
  }
  j["baselines"] = b;
  return j;
}

void print_table(std::ostream& os, const nlohmann::json& j) {
  auto row = [&](const std::string& label, uint64_t bytes, double bpb, double bpc, const std::string& note) {
    os << std::left << std::setw(22) << label << std::right << std::setw(12) << bytes << std::setw(10)
       << std::fixed << std::setprecision(4) << bpb << std::setw(10) << bpc << "  " << note << "\n";
  };
  double in = j["input_bytes"].get<double>(), chars = j["input_chars"].get<double>();
  auto per = [](double bits, double n) { return n > 0 ? bits / n : 0.0; };
  os << std::left << std::setw(22) << "" << std::right << std::setw(12) << "bytes" << std::setw(10) << "bits/B"
     << std::setw(10) << "bits/char" << "\n";
  row("original", j["input_bytes"], 8.0, per(8 * in, chars), std::to_string(j["input_chars"].get<uint64_t>()) + " chars");
  double model_bits = j["model_bits"].get<double>() + j["raw_bits"].get<double>();
  row("model cross-entropy", static_cast<uint64_t>(model_bits / 8 + 0.5), per(model_bits, in), per(model_bits, chars),
      std::to_string(j["tokens"].get<uint64_t>()) + " tokens" +
          (j["raw_bytes"].get<uint64_t>() ? ", " + std::to_string(j["raw_bytes"].get<uint64_t>()) + " raw bytes" : ""));
  double out = j["output_bytes"].get<double>();
  std::ostringstream note;
  note << std::fixed << std::setprecision(3) << "overhead " << 100 * j["overhead"].get<double>() << " % + header "
       << j["header_bytes"].get<uint64_t>() << " B";
  row("lmzip (" + j["model"].get<std::string>().substr(0, 12) + ")", j["output_bytes"], per(8 * out, in),
      per(8 * out, chars), note.str());
  for (const auto& [label, b] : j["baselines"].items()) {
    double bytes = b["output_bytes"].get<double>();
    row(label, b["output_bytes"], per(8 * bytes, in), per(8 * bytes, chars), "");
  }
  os << std::setprecision(2) << "time " << j["seconds"].get<double>() << " s ("
     << j["bytes_per_second"].get<double>() / 1000.0 << " kB/s)\n";
}

int run_compress(int argc, char** argv) {
  std::string model_path, output;
  std::vector<std::string> inputs, codecs;
  int threads = 0;
  long long segment_tokens = 1024;
  bool json = false, force = false;
  ArgParser args("lmzip compress -m MODEL INPUT [-o OUTPUT.lmz] [--force] [-t N] [--json] [--codec zstd|xz|gzip]",
                 "Compresses any file losslessly with a language model and a range coder (format: docs/FORMAT.md).\n"
                 "Prints sizes, bits per byte and per character, and the model's cross-entropy on the same tokens.");
  args.option("-m,--model", "MODEL", &model_path, "the model: a .gguf file or a Hugging Face checkpoint directory (the same model is needed to decompress)");
  args.option("-o,--output", "OUTPUT.lmz", &output, "output file ('-' for stdout; default INPUT.lmz)");
  args.option("-t,--threads", "N", &threads, "threads (default: all cores); up to 16 segments are coded in lockstep");
  args.option("--segment-tokens", "N", &segment_tokens, "token budget of each independently coded segment (1024)");
  args.option("--codec", "NAME", &codecs, "also report a classic compressor's size: zstd, xz or gzip (repeatable)");
  args.flag("--json", &json, "print one JSON object instead of the table");
  args.flag("-f,--force", &force, "overwrite an existing output file (never the input itself)");
  args.positionals("INPUT", &inputs, 1, 1, "the file to compress ('-' for stdin)");
  if (!args.parse(argc, argv)) return 0;
  if (model_path.empty()) throw UsageError("-m MODEL.gguf is required");
  if (segment_tokens < 1 || segment_tokens > (1 << 20)) throw UsageError("--segment-tokens must be in 1..1048576");
  if (output.empty()) output = inputs[0] == "-" ? "-" : inputs[0] + ".lmz";
  check_overwrite(output, {inputs[0], model_path}, force);
  threads = resolve_threads(threads);
  std::vector<codec::Baseline> baselines;
  for (const std::string& c : codecs) baselines.push_back(codec::parse_baseline(c));

  CodecModel m(model_path);
  std::string input = read_file(inputs[0]);
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  ProgressLine progress("compress");
  codec::CompressStats stats;
  // Segments: about 3 bytes a token (the planner decides; extra lockstep slots just stay unused).
  const auto plan = m.plan(static_cast<uint32_t>(segment_tokens), threads,
                           input.size() / (3 * static_cast<uint64_t>(segment_tokens)) + 1);
  std::string lmz = codec::compress(
      input, *m.tokenizer, plan.factory, m.identity,
      {.segment_tokens = static_cast<uint32_t>(segment_tokens),
       .threads = plan.workers,
       .progress = [&](size_t done, size_t total) { progress.update(done, total, elapsed(), "segments"); }},
      &stats);
  double seconds = elapsed();
  progress.finish();
  write_output(output, lmz);

  Baselines base;
  for (codec::Baseline b : baselines) {
    base.rows.emplace_back(codec::baseline_label(b), codec::baseline_compress(input, b).size());
  }
  nlohmann::json j = to_json(stats, count_chars(input), seconds, base, m.identity.name);
  std::ostream& report = output == "-" ? std::cerr : std::cout;  // never mix the report into the data
  if (json) {
    report << j.dump() << "\n";
  } else {
    print_table(report, j);
  }
  return 0;
}

Registration reg{{"compress", "compress any file losslessly with a language model (.lmz)", run_compress}};

}  // namespace
}  // namespace lmzip::cli
