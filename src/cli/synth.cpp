// lmzip synth: writes a random-weight model of a real shape (for benchmarks and tests).
#include <algorithm>
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/kernels/dequant.h"
#include "lmzip/model/family.h"
#include "lmzip/model/synth.h"

namespace lmzip::cli {
namespace {

int run_synth(int argc, char** argv) {
  std::string arch, preset = "tiny", type_name = "F32", vocab, output;
  long long seed = 1, layers = 0;
  ArgParser args("lmzip synth [--arch ARCH] [--preset NAME] [--layers N] [--seed N] [--type TYPE] [--vocab VOCAB.gguf] -o FILE.gguf",
                 "Writes a model with random weights and the shape of a real one, for benchmarks and tests.\n"
                 "Matrices use --type (rows that do not fit its block fall back to Q8_0 or F16, as llama.cpp does);\n"
                 "norms and biases are F32. With --vocab the tokenizer metadata is copied from that GGUF, so the model\n"
                 "has a real vocabulary; otherwise a small byte-level SentencePiece vocabulary is made up.");
  args.option("--arch", "ARCH", &arch, "architecture (family): " + supported_architectures() +
                                           " (default: the preset's, or llama for tiny)");
  args.option("--preset", "NAME", &preset, "shape: " + synth_presets() + " (default tiny: a small model of ARCH)");
  args.option("--layers", "N", &layers, "keep only the first N layers of the preset (benchmarks of big shapes)");
  args.option("--seed", "N", &seed, "random seed (default 1)");
  args.option("--type", "TYPE", &type_name, std::string("weight type: ") + supported_weight_types() + " (default F32)");
  args.option("--vocab", "VOCAB.gguf", &vocab, "copy tokenizer.* metadata from this GGUF");
  args.option("-o, --output", "FILE.gguf", &output, "the model file to write");
  if (!args.parse(argc, argv)) return 0;
  if (output.empty()) throw UsageError("-o FILE.gguf is required");

  if (!arch.empty() && find_family(arch) == nullptr) {
    throw UsageError("unsupported --arch '" + arch + "' (supported: " + supported_architectures() + ")");
  }
  auto shape = synth_preset(preset, arch);
  if (!shape) throw UsageError("unknown --preset '" + preset + "' (known: " + synth_presets() + ")");
  if (layers < 0) throw UsageError("--layers must be positive");
  if (layers > 0) shape->n_layer = static_cast<int>(std::min<long long>(layers, shape->n_layer));
  auto type = ggml_type_from_name(type_name);
  if (!type) throw UsageError("unknown --type '" + type_name + "' (" + supported_weight_types() + ")");
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
