// Corpus input for scoring: JSONL (optionally .gz/.zst/.xz) with a text field, a plain text file (one document),
// or a directory of text files (one document each, sorted by path).
#pragma once

#include <string>
#include <vector>

#include "lmzip/io/file.h"

namespace lmzip {

struct CorpusOptions {
  std::string field = "content";  // JSONL text field (the study's release uses "content")
  bool skip_invalid_utf8 = false;  // false: a non-UTF-8 document or JSONL line is an error; true: skipped and counted
  size_t max_line_bytes = kMaxLineBytes;  // a longer JSONL line is an error naming FILE:LINE
};

struct Corpus {
  std::string path;
  std::string name;    // file name without directory and extensions: data/cc.testA.jsonl -> "cc.testA"
  std::string sha256;  // of the file's bytes as stored (a directory: of its sorted relative paths and contents)
  std::vector<std::string> documents;  // non-empty, valid UTF-8
  std::vector<std::string> sources;    // where each document came from: "file:line" or a path
  size_t empty_skipped = 0;
  size_t invalid_skipped = 0;
};

Corpus load_corpus(const std::string& path, const CorpusOptions& options = {});

// Whether a path names JSONL (by extension, after any .gz/.zst/.xz).
bool is_jsonl_path(const std::string& path);

}  // namespace lmzip
