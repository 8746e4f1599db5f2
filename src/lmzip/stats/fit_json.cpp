#include "lmzip/stats/fit_json.h"

#include <cmath>

#include "lmzip/core/error.h"

namespace lmzip::stats {
namespace {

void check_finite(const nlohmann::ordered_json& j) {
  if (j.is_number_float()) LMZIP_CHECK(std::isfinite(j.get<double>()), "a fit produced a non-finite number");
  if (j.is_structured()) {
    for (const auto& v : j) check_finite(v);
  }
}

nlohmann::ordered_json interval(const Interval& i) { return nlohmann::ordered_json::array({i.low, i.high}); }

}  // namespace

nlohmann::ordered_json fit_json(const FitSpec& spec, const FitReport& r) {
  nlohmann::ordered_json j;
  j["x"] = describe_x(spec);
  j["y"] = describe_y(spec);
  j["n"] = r.n;
  j["pearson_r"] = r.pearson_r;
  j["pearson_p"] = r.pearson_p;
  j["pearson_ci_fisher"] = r.fisher_ci ? interval(*r.fisher_ci) : nlohmann::ordered_json();
  j["pearson_ci_bootstrap"] = interval(r.bootstrap_ci);
  j["bootstrap_resamples"] = r.bootstrap_used;
  if (r.propagated_ci) {
    j["pearson_ci_propagated"] = interval(*r.propagated_ci);
    j["propagated_resamples"] = r.propagated_used;
  }
  j["confidence_level"] = spec.level;
  j["spearman"] = r.spearman;
  j["kendall_tau"] = r.kendall_tau;
  j["slope"] = r.line.slope;
  j["intercept"] = r.line.intercept;
  j["r2"] = r.line.r2;
  j["rmse"] = r.line.rmse;
  j["sigma"] = r.line.sigma;
  j["loo_rmse"] = r.loo_rmse;
  j["form"] = form_name(r.form);
  j["aic"] = std::isfinite(r.aic) ? nlohmann::ordered_json(r.aic) : nlohmann::ordered_json();  // null: exact fit
  nlohmann::ordered_json points = nlohmann::ordered_json::array();
  for (const auto& p : r.points) {
    points.push_back({{"model", p.model}, {"bpc", p.x}, {"score", p.y}, {"fitted", p.fitted},
                      {"residual", p.residual}});
    if (std::isfinite(p.x_se)) points.back()["bpc_stderr"] = p.x_se;
  }
  j["points"] = points;
  nlohmann::ordered_json furthest = nlohmann::ordered_json::array();
  for (size_t i = 0; i < r.furthest.size() && i < 5; ++i) furthest.push_back(r.points[r.furthest[i]].model);
  j["furthest"] = furthest;
  j["missing"] = r.missing;
  check_finite(j);
  return j;
}

nlohmann::ordered_json prediction_json(const Prediction& p, const std::string& model) {
  nlohmann::ordered_json j;
  if (!model.empty()) j["model"] = model;
  j["bpc"] = p.x;
  j["predicted_score"] = p.y;
  j["prediction_interval"] = interval(p.interval);
  j["level"] = p.level;
  check_finite(j);
  return j;
}

}  // namespace lmzip::stats
