// `lmzip corpus build`: sources → extraction → paragraph dedup → filters → exact + MinHash dedup → seeded sampling → JSONL
// (optionally .zst) + manifest.json. Streaming: documents are processed as they are read; memory grows only with
// the dedup index (and, when sampling, 16 bytes per kept document: the kept records wait in a spill file).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmzip/corpus/dedup.h"
#include "lmzip/corpus/filters.h"
#include "lmzip/corpus/paragraphs.h"
#include "lmzip/corpus/sample.h"
#include "lmzip/corpus/sources.h"

namespace lmzip::corpus {

struct BuildOptions {
  std::vector<std::string> inputs;
  std::string output;        // OUT.jsonl or OUT.jsonl.zst; the manifest goes beside it
  std::string subset;        // default "subset" of documents that carry none
  std::string preset;        // recorded in the manifest
  SourceOptions source;
  FilterOptions filter;
  ParagraphDedupOptions paragraphs;  // CCNet's paragraph dedup, before the filters (as CCNet: dedup, then LID)
  DedupOptions dedup;
  uint64_t target_chars = 0;  // 0: keep everything
  SampleUnit sample_unit = SampleUnit::Document;
  uint64_t seed = 0;
  int threads = 0;            // 0: all hardware threads (results never depend on it)
  int zstd_level = 10;
  bool keep_meta = true;      // carry the inputs' meta through (merge relies on it)
  std::string category_prefix;  // keep only documents whose meta "categories" starts with this (arXiv)
  std::string arxiv_metadata;   // JSONL of arXiv metadata (id, categories): joined to papers by their id
};

// Counts for the manifest: every document read ends in exactly one of skipped, filtered, paragraph duplicate
// (too short once its duplicate paragraphs were removed), duplicate, sampled out or written.
struct BuildCounts {
  uint64_t read = 0;
  std::map<std::string, uint64_t> skipped, filtered, ignored;
  uint64_t paragraph_duplicates = 0, exact_duplicates = 0, near_duplicates = 0, sampled_out = 0, written = 0;
  struct {
    uint64_t seen = 0, removed = 0, characters_removed = 0, documents_changed = 0, reference_hashes = 0;
  } paragraphs;  // paragraph dedup: non-blank lines hashed, removed as seen before
  uint64_t html_nesting_capped = 0;  // documents read from HTML whose nesting was capped (extract.h)
  uint64_t chars_read = 0, chars_after_paragraphs = 0, chars_after_filters = 0, chars_after_dedup = 0, chars_written = 0, bytes_written = 0;
  uint64_t total(const std::map<std::string, uint64_t>& m) const;
};

struct BuildResult {
  nlohmann::json manifest;
  std::string manifest_path;
  BuildCounts counts;
  double seconds = 0;
  uint64_t input_bytes = 0;       // raw bytes of the input files
  uint64_t dedup_index_bytes = 0;
};

struct BuildProgress {
  size_t files_done = 0, files_total = 0;
  uint64_t bytes_done = 0, bytes_total = 0, documents = 0;
};

// Runs the build. Bad options or an unreadable named input → lmzip::Error; bad documents are counted, not fatal.
// Nothing is left under the output names unless the build completes (atomic writes).
BuildResult build_corpus(const BuildOptions& options,
                         const std::function<void(const BuildProgress&)>& progress = nullptr);

// OUT.manifest.json beside OUT.jsonl / OUT.jsonl.zst.
std::string manifest_path_for(const std::string& output);

// The parameters a build records (and a preset sets), as JSON; options_from_parameters reads them back (an
// lmzip::Error when a field is missing or they do not read back the same).
nlohmann::json parameters_json(const BuildOptions& options);
BuildOptions options_from_parameters(const nlohmann::json& parameters);

// `corpus merge` of the outputs of `corpus build --shard i/N` (all N, shards.h): the documents the shards passed
// on, read in the order one build reads its inputs, go through the build's own stages from paragraph dedup on
// with the shards' parameters. Output bytes, counts and stages are those of one build over the same inputs.
struct MergeOptions {
  std::vector<std::string> shards;  // the shards' -o files (their manifests beside them)
  std::string output;
  int threads = 0;
  int zstd_level = 10;
};
BuildResult merge_shards(const MergeOptions& options);

}  // namespace lmzip::corpus
