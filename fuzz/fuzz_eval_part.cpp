// libFuzzer target for the .lmzeval reader (lmzip eval --shard part files, docs/CLUSTER.md): bad input must give
// lmzip::Error, never a crash, a hang, UB or an allocation beyond what the file holds. A file that parses is
// merged alone, exercising the shard checks and the metric summary.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lmzip/core/error.h"
#include "lmzip/eval/part.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view file(reinterpret_cast<const char*>(data), size);
  try {
    lmzip::eval::EvalPart p = lmzip::eval::parse_eval_part(file, "fuzz.lmzeval");
    std::vector<lmzip::eval::NamedEvalPart> parts{{"fuzz.lmzeval", std::move(p)}};
    lmzip::eval::merge_eval_parts(parts, "task");
  } catch (const lmzip::Error&) {
  }
  return 0;
}
