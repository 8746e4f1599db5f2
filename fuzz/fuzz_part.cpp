// libFuzzer target for the .lmzpart reader (lmzip bpc --shard part files, docs/CLUSTER.md): bad input must give
// lmzip::Error, never a crash, a hang, UB or an allocation beyond the file's size. A file that parses is merged
// alone when it is shard 0/1, exercising the replay.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lmzip/core/error.h"
#include "lmzip/score/shard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view file(reinterpret_cast<const char*>(data), size);
  try {
    lmzip::PartialResult p = lmzip::parse_part(file, "fuzz.lmzpart");
    std::vector<lmzip::NamedPart> parts{{"fuzz.lmzpart", std::move(p)}};
    lmzip::merge_parts(parts);
  } catch (const lmzip::Error&) {
  }
  return 0;
}
