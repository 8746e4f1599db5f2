// Reading files that may be compressed: gzip (.gz, also concatenated members), zstd (.zst), xz (.xz),
// detected by magic bytes, not by name. Plain files pass through.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace lmzip {

enum class Compression { None, Gzip, Zstd, Xz };

Compression detect_compression(std::string_view first_bytes);

// The whole decompressed content of `path` ("-" for stdin). lmzip::Error naming the file on corrupt data.
std::string read_decompressed(const std::string& path);

// Decompresses an in-memory buffer (`name` appears in errors).
std::string decompress(std::string_view data, const std::string& name);

// Calls `on_line(line, line_number)` for each line of the (decompressed) file, without the trailing '\n'
// (a final line without '\n' is still delivered). Line numbers start at 1.
void for_each_line(const std::string& path, const std::function<void(std::string_view, size_t)>& on_line);

}  // namespace lmzip
