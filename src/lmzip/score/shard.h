// Shards of a bpc run: a deterministic partition of a scoring plan's windows into N contiguous parts, the
// partial result each part writes (a binary .lmzpart file, docs/CLUSTER.md), and the merge that gives exactly
// the numbers of the single-process run_scoring (the nats of every target are replayed in window order, so each
// floating-point sum is the same sequence of additions).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/score/bpc.h"

namespace lmzip {

struct ShardSpec {
  uint32_t index = 0;  // 0 .. count-1
  uint32_t count = 1;
};

inline constexpr uint32_t kMaxShards = 1'000'000;

// Parses "I/N" (0 <= I < N <= kMaxShards); UsageError naming --shard otherwise.
ShardSpec parse_shard(std::string_view text);
std::string shard_name(const ShardSpec& s);  // "I/N"

struct WindowRange {
  size_t begin = 0, end = 0;  // windows [begin, end) of the plan
};

// The windows of shard `s`: contiguous ranges of about windows/N each, in order, covering the plan exactly once.
// For the doc protocol the boundaries move forward to the next document start, so a document is never split
// (a shard may then be empty). With batch_windows > 1 (a batched engine: --device cuda) they also move forward
// to the start of one of the single run's batches (run_scoring groups up to batch_windows consecutive windows
// of equal length, greedily from window 0), so each shard sends the engine exactly the single run's batches:
// a GPU's results may depend on a batch's shape. A pure function of the plan's windows and stream.
WindowRange shard_windows(const ScoringPlan& plan, const ShardSpec& s, size_t batch_windows = 1);

// Who made a part and for what: everything a merge checks and everything the merged result reports.
struct PartMeta {
  std::string model_name, model_path, model_id, model_format, tokenizer_file;
  uint64_t model_bytes = 0;
  std::string corpus_name, corpus_path, corpus_sha256, field;
  uint64_t skipped_empty = 0, skipped_invalid = 0;
  ProtocolParams params;
  ShardSpec shard;
  std::string lmzip_version, device, host, started_at, finished_at;
  int threads = 0;
  double seconds = 0;
};

// A run of consecutive targets attributed to one document.
struct DocRun {
  uint32_t doc = 0;
  uint32_t targets = 0;
};

struct PartialResult {
  PartMeta meta;
  // The whole plan's totals (the same in every part of one run).
  uint64_t documents = 0, chars = 0, bytes = 0, tokens = 0, windows_total = 0;
  WindowRange range;
  std::vector<uint32_t> window_targets;  // per window of the range: targets scored
  std::vector<double> nats;              // per target, in scoring order
  std::vector<DocRun> doc_runs;          // the document of each target, as runs (sum of targets = nats.size())
  std::vector<DocScore> doc_sizes;       // chars and bytes per document (nats and scored_tokens unused)
};

// Runs shard `s` of the plan through `scorer` (options as run_scoring's, without a checkpoint).
PartialResult score_shard(const ScoringPlan& plan, const WindowScorer& scorer, const ShardSpec& s,
                          RunOptions options);

// The .lmzpart file: "LMZPART1", u32 header length, a JSON header, the arrays, XXH64 (docs/CLUSTER.md).
std::string serialize_part(const PartialResult& part);
// Parses and validates a part file's bytes (every length against the file size, the checksum, counts that add
// up, documents in range); lmzip::Error naming `name` otherwise. Safe on any input (fuzz/fuzz_part.cpp).
PartialResult parse_part(std::string_view data, const std::string& name);

// The file name of a part: MODEL.CORPUS-SHA12.PROTOCOL.I-of-N.lmzpart (characters outside [A-Za-z0-9._-] as _).
std::string part_file_name(const PartMeta& meta);

// Writes the part atomically and then its completion marker PATH.done (size and XXH64 of the part).
void write_part(const std::string& path, const PartialResult& part);
// True when PATH.done exists and names the part file as it is now (size and checksum).
bool part_is_complete(const std::string& path);

// A part read from a file, with the name used in errors.
struct NamedPart {
  std::string name;
  PartialResult part;
};

// Checks that the parts are the N shards of one run (same model, corpus, protocol and parameters, N, version
// and device; every shard present once; ranges that tile the plan) and replays their nats in window order.
// lmzip::Error naming the shard otherwise. The result equals run_scoring's bit for bit (seconds: the sum of the
// shards' seconds).
BpcResult merge_parts(std::vector<NamedPart>& parts);

}  // namespace lmzip
