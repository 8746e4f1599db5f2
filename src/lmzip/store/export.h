// The store's contents as CSV or JSON, for `lmzip results export` and `lmzip results show`.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/store/results_store.h"

namespace lmzip {

nlohmann::ordered_json bpc_run_json(const StoredBpcRun& run);  // every field; extra_json parsed into "extra"
nlohmann::ordered_json score_json(const StoredScore& score);

// CSV with a header line; text fields quoted when they hold a comma, quote or newline (RFC 4180).
std::string bpc_runs_csv(const std::vector<StoredBpcRun>& runs);
std::string scores_csv(const std::vector<StoredScore>& scores);  // model,benchmark,score,stderr,metric,... (re-importable)

// BPC runs back from a CSV written by bpc_runs_csv (to merge databases from several machines): columns are
// matched by name; model_name, corpus_name and bpc are required, the rest optional (id and recorded_at are
// assigned anew when recorded). Throws lmzip::Error naming the file, line and column.
std::vector<BpcRunRecord> bpc_runs_from_csv(std::string_view text, const std::string& source);
bool is_bpc_runs_csv(std::string_view text);  // the header names corpus_name (a runs export, not scores)

}  // namespace lmzip
