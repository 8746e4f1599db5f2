// Classic compressors at their strongest common settings, for the baseline rows of `lmzip compress`:
// zstd -19, xz -9 (preset 9), gzip -9 (zlib, gzip wrapper).
#pragma once

#include <string>
#include <string_view>

namespace lmzip::codec {

enum class Baseline { Zstd, Xz, Gzip };

// Parses "zstd", "xz" or "gzip"; lmzip::Error otherwise.
Baseline parse_baseline(std::string_view name);
std::string baseline_label(Baseline b);  // "zstd -19", "xz -9", "gzip -9"

// The compressed bytes.
std::string baseline_compress(std::string_view input, Baseline b);

}  // namespace lmzip::codec
