// Shards of an eval run (`lmzip eval --shard I/N`): the documents are split into N contiguous ranges of whole
// blocks (EvalOptions::batch_docs), so every block, and with it every request the engine packs together, is the
// single run's; each shard writes its documents' outcomes to a part file; merging the N parts gives the metrics
// and standard errors of the single run, computed from the same per-document values in the same order.
//
// The part file (.lmzeval) is JSON lines, as a checkpoint: a header
//   {"format": "lmzip-eval-part", "version": 1, "fingerprint": {...}, "shard_index": I, "shard_count": N,
//    "doc_begin": b, "doc_end": e, "documents": n, "num_fewshot": k, "run": {...}}
// then one {"doc": i, "values": {...}, "sample": {...}} per document b..e-1. Written atomically, then the
// completion marker PATH.done (size and XXH64), as a bpc part.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/eval/runner.h"

namespace lmzip::eval {

struct DocRange {
  size_t begin = 0, end = 0;
};

// Shard `index` of `count` of n documents, in whole blocks of batch_docs: blocks [floor(i*B/N), floor((i+1)*B/N)).
DocRange shard_documents(size_t n, size_t batch_docs, uint32_t index, uint32_t count);

struct EvalPart {
  Json fingerprint;        // everything that shapes prompts, requests and scores (the checkpoint's)
  Json run = Json::object();  // what the merged result reports: task, model, data, seconds, ... (not compared)
  uint32_t shard_index = 0, shard_count = 1;
  DocRange range;
  size_t documents = 0;  // of the whole run
  int num_fewshot = 0;
  std::vector<DocOutcome> outcomes;  // documents range.begin .. range.end-1
};

std::string serialize_eval_part(const EvalPart& part);
// Error naming `name` (and the line) for anything that is not a complete, consistent part.
EvalPart parse_eval_part(std::string_view text, const std::string& name);

// Writes the part atomically, then PATH.done; and whether PATH.done names the part as it is.
void write_eval_part(const std::string& path, const EvalPart& part);
bool eval_part_is_complete(const std::string& path);

struct NamedEvalPart {
  std::string name;
  EvalPart part;
};

// Checks that the parts are the N shards of one run (same fingerprint, N and document count; every shard once;
// ranges that tile the documents) and gives the single run's result: samples in document order, metrics and
// standard errors from the concatenated values (run_task's own summary). Error naming the shard otherwise.
EvalResult merge_eval_parts(std::vector<NamedEvalPart>& parts, const std::string& task);

}  // namespace lmzip::eval
