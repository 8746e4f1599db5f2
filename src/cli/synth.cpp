// lmzip synth: writes a random-weight model of a real shape (for benchmarks and tests).
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/model/synth.h"

namespace lmzip::cli {
namespace {

int run_synth(int argc, char** argv) {
  std::string arch = "llama", preset = "tiny", type_name = "F32", vocab, output;
  long long seed = 1;
  ArgParser args("lmzip synth --arch qwen2|llama --preset NAME [--seed N] [--type TYPE] [--vocab VOCAB.gguf] -o FILE.gguf",
                 "Writes a model with random weights and the shape of a real one, for benchmarks and tests.\n"
                 "Matrices use --type (rows that do not fit its block fall back to Q8_0 or F16, as llama.cpp does);\n"
                 "norms and biases are F32. With --vocab the tokenizer metadata is copied from that GGUF, so the model\n"
                 "has a real vocabulary; otherwise a small byte-level SentencePiece vocabulary is made up.");
  args.option("--arch", "ARCH", &arch, "architecture: llama or qwen2 (default llama)");
  args.option("--preset", "NAME", &preset, std::string("shape: ") + synth_presets() + " (default tiny)");
  args.option("--seed", "N", &seed, "random seed (default 1)");
  args.option("--type", "TYPE", &type_name, "weight type: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K (default F32)");
  args.option("--vocab", "VOCAB.gguf", &vocab, "copy tokenizer.* metadata from this GGUF");
  args.option("-o, --output", "FILE.gguf", &output, "the model file to write");
  if (!args.parse(argc, argv)) return 0;
  if (output.empty()) throw UsageError("-o FILE.gguf is required");

  auto shape = synth_preset(preset, arch);
  if (!shape) throw UsageError("unknown --preset '" + preset + "' (known: " + synth_presets() + ")");
  auto type = ggml_type_from_name(type_name);
  if (!type) throw UsageError("unknown --type '" + type_name + "' (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K)");
  SynthModel model = synth_model({.shape = *shape, .seed = static_cast<uint64_t>(seed), .type = *type,
                                  .vocab_path = vocab});
  if (!model.fallbacks.empty()) {
    std::cerr << "synth: " << model.fallbacks.size() << " matrices have rows that do not fit " << type_name
              << " blocks and use another type, e.g. " << model.fallbacks.front() << "\n";
  }
  model.writer.write(output);
  std::cerr << "synth: wrote " << output << "\n";
  return 0;
}

Registration reg{{"synth", "write a random-weight model of a real shape (benchmarks, tests)", run_synth}};

}  // namespace
}  // namespace lmzip::cli
