#include "loss_curve_output.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "lmzip/core/utf8.h"
#include "lmzip/io/file.h"

namespace lmzip::cli {
namespace {

nlohmann::json curve_json(const std::vector<CurvePoint>& points) {
  nlohmann::json mean = nlohmann::json::array(), count = nlohmann::json::array();
  for (const CurvePoint& p : points) {
    mean.push_back(p.mean());
    count.push_back(p.count);
  }
  return {{"mean_nats", mean}, {"count", count}};
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

void write_loss_curves(const std::string& path, const std::string& model, const std::vector<NamedCurve>& curves) {
  std::string out;
  if (path.size() >= 4 && path.compare(path.size() - 4, 4, ".csv") == 0) {
    out = "corpus,curve,position,mean_nats,count\n";
    char buf[64];
    for (const NamedCurve& c : curves) {
      for (const auto& [name, points] : {std::pair{"token", &c.token}, std::pair{"byte", &c.byte}}) {
        for (size_t i = 0; i < points->size(); ++i) {
          std::snprintf(buf, sizeof buf, "%.17g", (*points)[i].mean());
          out += csv_field(c.corpus) + "," + name + "," + std::to_string(i) + "," + buf + "," +
                 std::to_string((*points)[i].count) + "\n";
        }
      }
    }
  } else {
    nlohmann::json corpora = nlohmann::json::array();
    for (const NamedCurve& c : curves) {
      corpora.push_back({{"corpus", escape_invalid_utf8(c.corpus)}, {"token_position", curve_json(c.token)},
                         {"byte_position", curve_json(c.byte)}});
    }
    out = nlohmann::json{{"model", escape_invalid_utf8(model)}, {"unit", "nats"}, {"corpora", corpora}}.dump() + "\n";
  }
  write_file_atomic(path, out);
}

}  // namespace lmzip::cli
