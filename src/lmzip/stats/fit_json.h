// JSON form of a fit (the `lmzip fit --json` contract), shared by the CLI and the report.
#pragma once

#include <nlohmann/json.hpp>

#include "lmzip/stats/fit.h"

namespace lmzip::stats {

// Keys: x, y, n, pearson_r, pearson_p, pearson_ci_fisher ([low, high] or null when n < 4),
// pearson_ci_bootstrap, bootstrap_resamples, spearman, kendall_tau, slope, intercept, r2, rmse (the study's e),
// sigma, loo_rmse, points [{model, bpc, score, fitted, residual}], furthest (model names, largest |residual|
// first, up to 5), missing (models left out for lack of data).
// Every number is finite (LMZIP_CHECK): a fit never prints NaN.
nlohmann::ordered_json fit_json(const FitSpec& spec, const FitReport& report);

nlohmann::ordered_json prediction_json(const Prediction& p, const std::string& model);  // model may be empty

}  // namespace lmzip::stats
