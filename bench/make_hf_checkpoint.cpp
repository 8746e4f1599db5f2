// Writes a GGUF model as a Hugging Face checkpoint (the tests' converter, tests/hf/hf_writer.h), so that
// bench/hf_load.sh can time loading the same weights from both formats.
//   build/bench/make_hf_checkpoint MODEL.gguf CLASS OUT_DIR [F32|F16|BF16]
#include <iostream>

#include "hf/hf_writer.h"
#include "lmzip/core/error.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: make_hf_checkpoint MODEL.gguf CLASS OUT_DIR [F32|F16|BF16]\n";
    return 2;
  }
  try {
    const std::string dtype = argc > 4 ? argv[4] : "BF16";
    const lmzip::SafetensorsDtype d = dtype == "F32"   ? lmzip::SafetensorsDtype::F32
                                      : dtype == "F16" ? lmzip::SafetensorsDtype::F16
                                                       : lmzip::SafetensorsDtype::BF16;
    lmzip::test::write_checkpoint(lmzip::GgufFile::open(argv[1]), argv[2], argv[3], d, /*sharded=*/true);
  } catch (const lmzip::Error& e) {
    std::cerr << "make_hf_checkpoint: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
