// Streaming reads of possibly compressed files (gzip with concatenated members, zstd, xz; detected by magic
// bytes), so a 10 GB input is read in bounded memory. Used by the JSONL and WARC sources.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

namespace lmzip::corpus {

// A buffered, decompressing byte reader over one file. Not thread-safe. Corrupt or truncated compressed data
// throws lmzip::Error naming the file; everything delivered before that point is valid.
class ByteReader {
 public:
  explicit ByteReader(const std::string& path);
  // Reads `data` from memory (compressed or not, as a file would be); `name` stands for the path in errors.
  ByteReader(const std::string& name, std::string data);
  ~ByteReader();
  ByteReader(const ByteReader&) = delete;
  ByteReader& operator=(const ByteReader&) = delete;

  // Reads the next line (without '\n') into `line`. Returns false at the end of data. A line longer than
  // `max_bytes` is consumed whole but only its first `max_bytes` are kept, and `*too_long` is set.
  bool read_line(std::string& line, size_t max_bytes, bool* too_long);
  // Appends up to `n` bytes to `out` (fewer only at the end of data); returns how many were appended.
  size_t read(std::string& out, size_t n);
  // Discards up to `n` bytes; returns how many were discarded.
  size_t skip(size_t n);
  // Decompressed bytes delivered so far.
  uint64_t position() const { return position_; }
  const std::string& path() const { return path_; }

 private:
  void init_decoder();  // after the first bytes are in the decoder's input
  bool fill();        // refills out_ from the file; false (and out_ empty) at the end of data
  bool fill_chunk();  // one refill attempt; may leave out_ in any state when it returns false
  struct Decoder;
  std::string path_;
  FILE* file_ = nullptr;
  std::unique_ptr<Decoder> decoder_;
  std::string out_;
  size_t out_pos_ = 0;
  uint64_t position_ = 0;
};

}  // namespace lmzip::corpus
