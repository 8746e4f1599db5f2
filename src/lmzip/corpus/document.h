// A document as it travels through the corpus pipeline: its text and where it came from.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace lmzip::corpus {

struct Document {
  std::string content;  // UTF-8 text (after extraction)
  std::string subset;   // "cc", "python", "arxiv_math"; empty → the build's --subset
  std::string source;   // the input file it came from
  std::string locator;  // where inside it: URL (WARC), member path (archive), "line N" (JSONL), relative path
  std::string date;     // ISO-8601 (WARC-Date, meta date, file mtime) or empty when unknown
  std::string repo;     // repository key (code): files with the same key are sampled together
  nlohmann::json meta = nlohmann::json::object();  // carried through from JSONL inputs, extended on output
  bool html_nesting_capped = false;  // extracted from HTML nested past the cap (counted in the manifest)
};

}  // namespace lmzip::corpus
