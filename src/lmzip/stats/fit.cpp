#include "lmzip/stats/fit.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "lmzip/core/error.h"
#include "lmzip/stats/distributions.h"

namespace lmzip::stats {
namespace {

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

bool matches(const std::string& pattern, const std::string& name) {
  return fnmatch(pattern.c_str(), name.c_str(), 0) == 0;
}

// Every pattern must match at least one model: a typo in --only/--exclude must not silently change a fit.
void check_patterns(const Dataset& data, const std::vector<std::string>& patterns, const char* option) {
  for (const auto& p : patterns) {
    bool any = std::any_of(data.models.begin(), data.models.end(), [&](const auto& m) { return matches(p, m); });
    if (!any) {
      throw Error(std::string("unknown model '") + p + "' in " + option + " (" + data.name + " has: " +
                  join(data.models, ", ") + ")");
    }
  }
}

std::vector<std::string> select_models(const Dataset& data, const FitSpec& spec) {
  check_patterns(data, spec.only, "--only");
  check_patterns(data, spec.exclude, "--exclude");
  std::vector<std::string> out;
  for (const auto& m : data.models) {
    auto hit = [&](const std::string& p) { return matches(p, m); };
    if (!spec.only.empty() && std::none_of(spec.only.begin(), spec.only.end(), hit)) continue;
    if (std::any_of(spec.exclude.begin(), spec.exclude.end(), hit)) continue;
    out.push_back(m);
  }
  return out;
}

void check_names(const std::vector<std::string>& wanted, const std::vector<std::string>& known, const char* what,
                 const std::string& dataset) {
  for (const auto& w : wanted) {
    if (std::find(known.begin(), known.end(), w) == known.end()) {
      throw Error(std::string("unknown ") + what + " '" + w + "' (" + dataset + " has: " +
                  (known.empty() ? std::string("none") : join(known, ", ")) + ")");
    }
  }
}

// Mean of the named values, or nullopt when the model lacks any of them.
std::optional<double> mean_of(const std::map<std::string, double>* values, const std::vector<std::string>& names) {
  if (!values) return std::nullopt;
  double sum = 0;
  for (const auto& n : names) {
    auto it = values->find(n);
    if (it == values->end()) return std::nullopt;
    sum += it->second;
  }
  return sum / names.size();
}

template <class M>
const std::map<std::string, double>* find_model(const M& table, const std::string& model) {
  auto it = table.find(model);
  return it == table.end() ? nullptr : &it->second;
}

// The standard error of X: sqrt(sum of the corpora's se^2) / k (independent corpora); NaN when one is unknown.
double x_se(const Dataset& data, const FitSpec& spec, const std::string& model) {
  auto m = data.bpc_se.find(model);
  if (m == data.bpc_se.end()) return NAN;
  double sum2 = 0;
  for (const auto& c : spec.corpora) {
    auto it = m->second.find(c);
    if (it == m->second.end()) return NAN;
    sum2 += it->second * it->second;
  }
  return std::sqrt(sum2) / spec.corpora.size();
}

std::optional<double> y_value(const Dataset& data, const FitSpec& spec, const std::string& model) {
  double sum = 0;
  for (const auto& group : spec.y_groups) {
    auto g = mean_of(find_model(data.scores, model), group);
    if (!g) return std::nullopt;
    sum += *g;
  }
  return sum / spec.y_groups.size();
}

void validate_spec(const Dataset& data, const FitSpec& spec) {
  if (spec.corpora.empty()) throw Error("no corpus chosen for X (the BPC axis)");
  if (spec.y_groups.empty()) throw Error("no benchmark chosen for Y");
  for (const auto& g : spec.y_groups) {
    if (g.empty()) throw Error("an empty benchmark group (area) for Y");
  }
  if (spec.bootstrap_resamples < 1) throw Error("--bootstrap must be a positive number of resamples");
  if (!(spec.level > 0 && spec.level < 1)) throw Error("the confidence level must lie between 0 and 1");
  check_names(spec.corpora, data.corpora(), "corpus", data.name);
  for (const auto& g : spec.y_groups) check_names(g, data.benchmarks(), "benchmark", data.name);
}

}  // namespace

void Dataset::add_bpc(const std::string& model, const std::string& corpus, double value, double se) {
  if (!bpc.count(model) && !scores.count(model)) models.push_back(model);
  bpc[model][corpus] = value;
  if (std::isfinite(se)) {
    bpc_se[model][corpus] = se;
  } else if (bpc_se.count(model)) {
    bpc_se[model].erase(corpus);
  }
}

void Dataset::add_score(const std::string& model, const std::string& benchmark, double fraction) {
  if (!bpc.count(model) && !scores.count(model)) models.push_back(model);
  scores[model][benchmark] = fraction;
}

std::vector<std::string> Dataset::corpora() const {
  std::set<std::string> s;
  for (const auto& [m, v] : bpc) for (const auto& [c, x] : v) s.insert(c);
  return {s.begin(), s.end()};
}

std::vector<std::string> Dataset::benchmarks() const {
  std::set<std::string> s;
  for (const auto& [m, v] : scores) for (const auto& [b, x] : v) s.insert(b);
  return {s.begin(), s.end()};
}

std::string form_name(FitForm f) { return f == FitForm::Log ? "log" : "linear"; }

double form_x(FitForm form, double bpc) {
  if (form == FitForm::Linear) return bpc;
  if (!(bpc > 0)) throw Error("the log form needs BPC > 0 (got " + std::to_string(bpc) + ")");
  return std::log(bpc);
}

std::string describe_x(const FitSpec& spec) {
  const std::string x = spec.corpora.size() == 1 ? "BPC " + spec.corpora[0] : "mean BPC (" + join(spec.corpora, ", ") + ")";
  return spec.form == FitForm::Log ? "ln(" + x + ")" : x;
}

std::string describe_y(const FitSpec& spec) {
  auto group = [](const std::vector<std::string>& g) {
    return g.size() == 1 ? g[0] : "mean(" + join(g, ", ") + ")";
  };
  if (spec.y_groups.size() == 1) return group(spec.y_groups[0]);
  std::vector<std::string> parts;
  for (const auto& g : spec.y_groups) parts.push_back(group(g));
  return "mean of " + join(parts, " | ");
}

FitReport run_fit(const Dataset& data, const FitSpec& spec) {
  validate_spec(data, spec);
  FitReport rep;
  for (const auto& model : select_models(data, spec)) {
    auto x = mean_of(find_model(data.bpc, model), spec.corpora);
    auto y = y_value(data, spec, model);
    if (!x || !y) {
      rep.missing.push_back(model);
      continue;
    }
    if (spec.form == FitForm::Log && !(*x > 0)) {
      throw Error("the log form needs BPC > 0, and " + model + " has " + std::to_string(*x));
    }
    rep.points.push_back({.model = model, .x = *x, .y = *y, .x_se = x_se(data, spec, model)});
  }
  rep.n = static_cast<int>(rep.points.size());
  if (rep.n < 3) {
    throw Error("a fit needs at least 3 models with both a BPC (" + describe_x(spec) + ") and a score (" +
                describe_y(spec) + "); found " + std::to_string(rep.n) +
                (rep.missing.empty() ? "" : " (lacking data: " + join(rep.missing, ", ") + ")"));
  }
  std::vector<double> xs, ys;
  for (const auto& p : rep.points) {
    xs.push_back(form_x(spec.form, p.x));
    ys.push_back(p.y);
  }
  rep.pearson_r = pearson(xs, ys);
  rep.pearson_p = pearson_p_value(rep.pearson_r, rep.n);
  if (rep.n >= 4) rep.fisher_ci = fisher_interval(rep.pearson_r, rep.n, spec.level);
  rep.bootstrap_ci = bootstrap_pearson_interval(xs, ys, spec.bootstrap_resamples, spec.bootstrap_seed, spec.level,
                                                &rep.bootstrap_used);
  if (spec.propagate_bpc_se) {
    std::vector<double> x_raw, se;
    for (const auto& p : rep.points) {
      if (!std::isfinite(p.x_se)) {
        throw Error("--propagate-se: " + p.model + " has no BPC standard error on " + describe_x(spec) +
                    " in " + data.name + " (runs recorded before lmzip bpc recorded bpc_stderr, or a corpus of one "
                    "document)");
      }
      x_raw.push_back(p.x);
      se.push_back(p.x_se);
    }
    double (*log_of)(double) = [](double v) { return v > 0 ? std::log(v) : NAN; };
    rep.propagated_ci = bootstrap_pearson_interval_xerr(x_raw, ys, se, spec.bootstrap_resamples, spec.bootstrap_seed,
                                                        spec.level, spec.form == FitForm::Log ? log_of : nullptr,
                                                        &rep.propagated_used);
  }
  rep.spearman = spearman(xs, ys);
  rep.kendall_tau = kendall_tau_b(xs, ys);
  rep.line = least_squares(xs, ys);
  rep.loo_rmse = leave_one_out_rmse(xs, ys);
  rep.form = spec.form;
  rep.aic = rep.line.rmse > 0 ? rep.n * std::log(rep.line.rmse * rep.line.rmse) + 6.0
                              : -std::numeric_limits<double>::infinity();
  for (auto& p : rep.points) {
    p.fitted = rep.line.intercept + rep.line.slope * form_x(spec.form, p.x);
    p.residual = p.y - p.fitted;
  }
  rep.furthest.resize(rep.points.size());
  for (size_t i = 0; i < rep.furthest.size(); ++i) rep.furthest[i] = i;
  std::stable_sort(rep.furthest.begin(), rep.furthest.end(), [&](size_t a, size_t b) {
    return std::fabs(rep.points[a].residual) > std::fabs(rep.points[b].residual);
  });
  return rep;
}

}  // namespace lmzip::stats
