#include "lmzip/store/export.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "lmzip/core/error.h"
#include "lmzip/stats/csv.h"

namespace lmzip {
namespace {

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// Shortest text that reads back as the same double (%.17g is exact; shorter forms are tried first).
std::string number(double v) {
  char buf[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

}  // namespace

nlohmann::ordered_json bpc_run_json(const StoredBpcRun& s) {
  const BpcRunRecord& r = s.run;
  nlohmann::ordered_json j = {
      {"id", s.id}, {"recorded_at", s.recorded_at}, {"model_name", r.model_name}, {"model_path", r.model_path},
      {"model_id", r.model_id}, {"model_bytes", r.model_bytes}, {"corpus_name", r.corpus_name},
      {"corpus_path", r.corpus_path}, {"corpus_sha256", r.corpus_sha256}, {"protocol", r.protocol},
      {"window", r.window}, {"stride", r.stride}, {"documents", r.documents}, {"chars", r.chars},
      {"bytes", r.bytes}, {"tokens", r.tokens}, {"windows", r.windows}, {"scored_tokens", r.scored_tokens},
      {"total_nats", r.total_nats}, {"bpc", r.bpc}, {"bpb", r.bpb}, {"bits_per_token", r.bits_per_token},
      {"ppl", r.ppl}, {"lmzip_version", r.lmzip_version}, {"host", r.host}, {"threads", r.threads},
      {"started_at", r.started_at}, {"finished_at", r.finished_at}, {"seconds", r.seconds},
  };
  auto extra = nlohmann::ordered_json::parse(r.extra_json.empty() ? "{}" : r.extra_json, nullptr, false);
  j["extra"] = extra.is_discarded() ? nlohmann::ordered_json(r.extra_json) : extra;
  return j;
}

nlohmann::ordered_json score_json(const StoredScore& s) {
  nlohmann::ordered_json j = {{"id", s.id}, {"recorded_at", s.recorded_at}, {"model", s.score.model_name},
                              {"benchmark", s.score.benchmark}, {"metric", s.score.metric},
                              {"score", s.score.score}};
  j["stderr"] = s.score.stderr_value ? nlohmann::ordered_json(*s.score.stderr_value) : nlohmann::ordered_json();
  j["source"] = s.score.source;
  return j;
}

std::string bpc_runs_csv(const std::vector<StoredBpcRun>& runs) {
  // Columns: the JSON fields in order, with extra_json (the raw text) in place of the parsed "extra".
  auto flat = [](const StoredBpcRun& run) {
    nlohmann::ordered_json j = bpc_run_json(run);
    j.erase("extra");
    j["extra_json"] = run.run.extra_json;
    return j;
  };
  std::string out;
  const nlohmann::ordered_json columns = flat(StoredBpcRun{});  // named: items() must not outlive its json
  for (const auto& [k, v] : columns.items()) out += (out.empty() ? "" : ",") + k;
  out += "\n";
  for (const auto& run : runs) {
    std::string line;
    bool first = true;
    const nlohmann::ordered_json row = flat(run);
    for (const auto& [k, v] : row.items()) {
      if (!first) line += ",";
      first = false;
      if (v.is_string()) line += csv_field(v.get<std::string>());
      else if (v.is_number_float()) line += number(v.get<double>());
      else line += v.dump();
    }
    out += line + "\n";
  }
  return out;
}

std::string scores_csv(const std::vector<StoredScore>& scores) {
  std::string out = "model,benchmark,score,stderr,metric,source,recorded_at\n";
  for (const auto& s : scores) {
    out += csv_field(s.score.model_name) + "," + csv_field(s.score.benchmark) + "," + number(s.score.score) + "," +
           (s.score.stderr_value ? number(*s.score.stderr_value) : "") + "," + csv_field(s.score.metric) + "," +
           csv_field(s.score.source) + "," + s.recorded_at + "\n";
  }
  return out;
}

bool is_bpc_runs_csv(std::string_view text) {
  std::string_view first = text.substr(0, text.find('\n'));
  return first.find("corpus_name") != std::string_view::npos;
}

std::vector<BpcRunRecord> bpc_runs_from_csv(std::string_view text, const std::string& source) {
  stats::CsvTable t = stats::parse_csv(text, source);
  for (const char* required : {"model_name", "corpus_name", "bpc"}) t.column(required);  // throws when missing
  std::vector<BpcRunRecord> runs;
  for (size_t r = 0; r < t.rows.size(); ++r) {
    BpcRunRecord run;
    // Each known column into its field: text as is, numbers checked (an integer column must hold one).
    auto text_of = [&](const char* c) { return t.has_column(c) ? t.rows[r][t.column(c)] : std::string(); };
    auto num = [&](const char* c) { return t.has_column(c) && !t.rows[r][t.column(c)].empty() ? t.number(r, t.column(c)) : 0.0; };
    auto count = [&](const char* c) -> uint64_t {
      double v = num(c);
      if (v < 0 || v != std::floor(v) || v > 9.0e15) {
        throw Error(t.where(r) + ": column '" + c + "': not a non-negative integer");
      }
      return static_cast<uint64_t>(v);
    };
    run.model_name = text_of("model_name");
    run.model_path = text_of("model_path");
    run.model_id = text_of("model_id");
    run.model_bytes = count("model_bytes");
    run.corpus_name = text_of("corpus_name");
    run.corpus_path = text_of("corpus_path");
    run.corpus_sha256 = text_of("corpus_sha256");
    run.protocol = text_of("protocol");
    run.window = static_cast<int64_t>(count("window"));
    run.stride = static_cast<int64_t>(count("stride"));
    run.documents = count("documents");
    run.chars = count("chars");
    run.bytes = count("bytes");
    run.tokens = count("tokens");
    run.windows = count("windows");
    run.scored_tokens = count("scored_tokens");
    run.total_nats = num("total_nats");
    run.bpc = t.number(r, t.column("bpc"));
    run.bpb = num("bpb");
    run.bits_per_token = num("bits_per_token");
    run.ppl = num("ppl");
    run.lmzip_version = text_of("lmzip_version");
    run.host = text_of("host");
    run.threads = static_cast<int>(std::min<uint64_t>(count("threads"), 1 << 20));
    run.started_at = text_of("started_at");
    run.finished_at = text_of("finished_at");
    run.seconds = num("seconds");
    run.extra_json = text_of("extra_json");
    if (run.model_name.empty() || run.corpus_name.empty()) throw Error(t.where(r) + ": empty model_name or corpus_name");
    runs.push_back(std::move(run));
  }
  return runs;
}

}  // namespace lmzip
