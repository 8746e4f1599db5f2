// libFuzzer target for what `corpus merge` reads of a `corpus build --shard` output (docs/CORPUS.md, "Shards"):
// the manifest and the pending records. Input: manifest bytes, a NUL, record bytes (written to a temporary
// directory, as the merge reads files). Bad input must give lmzip::Error, never a crash, a hang or UB.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "lmzip/core/error.h"
#include "lmzip/corpus/shards.h"
#include "lmzip/io/file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    std::string d = std::filesystem::temp_directory_path().string() + "/fuzz_corpus_shard." + std::to_string(getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t nul = input.find('\0');
  std::string_view manifest = input.substr(0, nul), records = nul == std::string_view::npos ? "" : input.substr(nul + 1);
  lmzip::write_file_atomic(dir + "/s.manifest.json", std::string(manifest));
  lmzip::write_file_atomic(dir + "/s.jsonl", std::string(records));
  try {
    auto shards = lmzip::corpus::load_shard_outputs({dir + "/s.jsonl"});
    lmzip::corpus::merged_inputs(shards);
    lmzip::corpus::merged_skip_examples(shards, 100);
    lmzip::corpus::read_pending_in_input_order(shards, [](lmzip::corpus::Document&&) {});
  } catch (const lmzip::Error&) {
  }
  return 0;
}
