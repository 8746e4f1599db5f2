// lmzip decompress -m MODEL.gguf INPUT.lmz [-o OUTPUT] [-t N] [--json]: the exact original bytes back, or a
// clear error (wrong model, truncated or corrupt segment) and no output file.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "codec_model.h"
#include "command.h"
#include "lmzip/codec/container.h"
#include "lmzip/codec/lmz.h"
#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/kernels/thread_pool.h"
#include "progress.h"

namespace lmzip::cli {
namespace {

std::string default_output(const std::string& input) {
  if (input == "-") return "-";
  if (input.size() > 4 && input.ends_with(".lmz")) return input.substr(0, input.size() - 4);
  throw UsageError("cannot derive the output name from '" + input + "' (no .lmz suffix): give -o OUTPUT");
}

int run_decompress(int argc, char** argv) {
  std::string model_path, output;
  std::vector<std::string> inputs;
  int threads = 0;
  bool json = false, force = false;
  ArgParser args("lmzip decompress -m MODEL INPUT.lmz [-o OUTPUT] [--force] [-t N] [--json]",
                 "Restores the original bytes of an .lmz file. Needs the model file it was compressed with.\n"
                 "The output appears only once every checksum has passed (written to a temporary file first).");
  args.option("-m,--model", "MODEL", &model_path, "the model the file was compressed with (.gguf file or checkpoint directory)");
  args.option("-o,--output", "OUTPUT", &output, "output file ('-' for stdout; default INPUT without .lmz)");
  args.option("-t,--threads", "N", &threads, "threads (default: all cores); up to 16 segments are decoded in lockstep");
  args.flag("--json", &json, "print one JSON object (sizes, seconds) to stderr");
  args.flag("-f,--force", &force, "overwrite an existing output file (never the input itself)");
  args.positionals("INPUT.lmz", &inputs, 1, 1, "the compressed file ('-' for stdin)");
  if (!args.parse(argc, argv)) return 0;
  if (model_path.empty()) throw UsageError("-m MODEL.gguf is required");
  if (output.empty()) output = default_output(inputs[0]);
  check_overwrite(output, {inputs[0], model_path}, force);
  threads = resolve_threads(threads);

  CodecModel m(model_path);
  // The magic bytes first: a wrong input (or an endless stream) is refused before it is read whole.
  std::string lmz = read_file(inputs[0], {.magic = std::string_view("\x89LMZ\r\n\x1a\n", 8), .format = "an .lmz"});
  std::string name = inputs[0] == "-" ? "<stdin>" : inputs[0];
  auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  ProgressLine progress("decompress");
  // The header's segment budget sizes each predictor's KV cache (parse_lmz validates it; it is cheap).
  codec::LmzHeader header = codec::parse_lmz(lmz, name).header;
  const auto plan = m.plan(header.segment_tokens, threads, header.segments.size());
  std::string data = codec::decompress(
      lmz, name, *m.tokenizer, plan.factory, m.identity,
      {.threads = plan.workers,
       .progress = [&](size_t done, size_t total) { progress.update(done, total, elapsed(), "segments"); }});
  double seconds = elapsed();
  progress.finish();
  if (output == "-") {
    if (std::fwrite(data.data(), 1, data.size(), stdout) != data.size() || std::fflush(stdout) != 0) {
      throw Error("writing standard output failed");
    }
  } else {
    write_file_atomic(output, data);
  }
  if (json) {
    nlohmann::json j = {{"input_bytes", lmz.size()}, {"output_bytes", data.size()}, {"seconds", seconds}};
    (output == "-" ? std::cerr : std::cout) << j.dump() << "\n";
  }
  return 0;
}

Registration reg{{"decompress", "restore a file compressed by lmzip compress", run_decompress}};

}  // namespace
}  // namespace lmzip::cli
