// The store's contents as CSV or JSON, for `lmzip results export` and `lmzip results show`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmzip/store/results_store.h"

namespace lmzip {

nlohmann::ordered_json bpc_run_json(const StoredBpcRun& run);  // every field; extra_json parsed into "extra"
nlohmann::ordered_json score_json(const StoredScore& score);

// CSV with a header line; text fields quoted when they hold a comma, quote or newline (RFC 4180).
std::string bpc_runs_csv(const std::vector<StoredBpcRun>& runs);
std::string scores_csv(const std::vector<StoredScore>& scores);  // model,benchmark,score,stderr,metric,... (re-importable)

}  // namespace lmzip
