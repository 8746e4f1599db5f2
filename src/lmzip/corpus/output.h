// Writing a corpus file: JSONL lines, optionally zstd-compressed (chosen by a ".zst" name), atomically (the
// file appears under its name only on commit), with SHA-256 of the file bytes and of the uncompressed JSONL.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "lmzip/core/hash.h"
#include "lmzip/io/file.h"

namespace lmzip::corpus {

class CorpusWriter {
 public:
  CorpusWriter(const std::string& path, int zstd_level);
  ~CorpusWriter();
  CorpusWriter(const CorpusWriter&) = delete;
  CorpusWriter& operator=(const CorpusWriter&) = delete;

  void write(std::string_view jsonl);  // whole lines, each ending in '\n'
  void commit();
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t jsonl_bytes() const { return jsonl_bytes_; }
  std::string file_sha256() { return file_sha_hex_; }     // valid after commit()
  std::string jsonl_sha256() { return jsonl_sha_hex_; }   // valid after commit()

 private:
  void emit(const void* data, size_t size);
  void compress(std::string_view data, bool finish);
  AtomicFileWriter file_;
  struct Zstd;
  std::unique_ptr<Zstd> zstd_;
  Sha256 file_sha_, jsonl_sha_;
  std::string file_sha_hex_, jsonl_sha_hex_;
  uint64_t file_bytes_ = 0, jsonl_bytes_ = 0;
  std::string pending_;  // buffered output, flushed in large writes
};

// Does the name ask for zstd output?
bool wants_zstd(const std::string& path);

}  // namespace lmzip::corpus
