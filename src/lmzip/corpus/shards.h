// What `corpus build --shard i/N` hands to `corpus merge`, so that the merge gives exactly one build's corpus.
// A shard runs only the stages whose outcome for a document depends on that document alone (sources,
// extraction, the category rule, and the filters of a document the paragraph stage cannot change); every other
// document is passed on whole ("pending", with its input rank) and the merge runs the build's own stages from
// paragraph dedup on, over all shards' pending documents in the order one build reads them.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmzip/corpus/document.h"

namespace lmzip::corpus {

// Where a document or skip stands in one build's reading order: file = index of its input in the whole sorted
// input list (all shards), item = its position among the documents and skips read from that file.
struct InputRank {
  uint64_t file = 0, item = 0;
  bool operator<(const InputRank& o) const { return file != o.file ? file < o.file : item < o.item; }
};

// One pending record (a JSON line): {"rank": [file, item], "doc": {every Document field}}.
std::string pending_record_line(const Document& doc, InputRank rank);

// A shard output and its manifest (OUT.manifest.json, "shard": {index, count, inputs_total, pending}).
struct ShardOutput {
  std::string path, manifest_path;
  nlohmann::json manifest;
  int index = 0, count = 1;
  uint64_t inputs_total = 0, pending = 0;
};

// True when `path` has a manifest beside it written by `corpus build --shard`.
bool is_shard_output(const std::string& path);

// Loads and checks the shard outputs: each a shard of the same build (same lmzip version, parameters but for the
// shard, N and whole input list), every shard 0..N-1 once, their inputs tiling the whole list. Sorted by index.
// A failure is an lmzip::Error naming the shard file and what differs.
std::vector<ShardOutput> load_shard_outputs(const std::vector<std::string>& paths);

// The shards' pending documents in one build's reading order (a k-way merge by input rank). A shard file whose
// records are out of order, damaged, or fewer or more than its manifest says is an lmzip::Error naming it.
void read_pending_in_input_order(const std::vector<ShardOutput>& shards, const std::function<void(Document&&)>& f);

// The shards' inputs and first skips, merged in input order as one build lists them ("rank" removed).
nlohmann::json merged_inputs(const std::vector<ShardOutput>& shards);
nlohmann::json merged_skip_examples(const std::vector<ShardOutput>& shards, size_t limit);

}  // namespace lmzip::corpus
