// What `lmzip bpc` and `lmzip merge` print and record for one corpus: the result JSON (the contract of --json),
// the table, the results-store record and the per-document file. One home, so a merged run reads exactly like
// a single-process one.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmzip/score/bpc.h"
#include "lmzip/score/shard.h"
#include "lmzip/score/uncertainty.h"
#include "lmzip/store/results_store.h"

namespace lmzip::cli {

std::string iso_now();

// The result object: metrics, counts, parameters and provenance (meta.shard is reported as "shards" when N > 1).
nlohmann::json result_json(const BpcResult& r, const PartMeta& meta);
// Adds NAME_stderr and NAME_ci95 per rate (null where undefined), with the documents and resamples they rest on.
void add_uncertainty(nlohmann::json& j, const BpcUncertainty& u, int requested);
BpcRunRecord to_record(const nlohmann::json& j);
void print_table(const nlohmann::json& j);

// One JSON line per document: corpus, doc, nats, scored tokens, chars, bytes, bpc, bpb (and source, when known).
struct PerDocCorpus {
  std::string name;
  const BpcResult* result = nullptr;
  const std::vector<std::string>* sources = nullptr;  // may be null
  std::vector<nlohmann::json> extra{};                // per document, fields added to its line (may be empty)
};
void write_per_doc(const std::string& path, const std::vector<PerDocCorpus>& corpora);

// Records `j` in the store (when given) unless its BPC is not finite; the problem ("" when none) is returned so
// that a finished measurement is printed before the run reports it and exits non-zero.
std::string record_result(nlohmann::json& j, ResultsStore* store);

}  // namespace lmzip::cli
