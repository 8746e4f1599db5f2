#include "bpc_output.h"

#include <unistd.h>

#include <cmath>
#include <ctime>
#include <iostream>

#include "lmzip/core/error.h"
#include "lmzip/core/utf8.h"
#include "lmzip/core/version.h"
#include "lmzip/io/file.h"

namespace lmzip::cli {

std::string iso_now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

nlohmann::json result_json(const BpcResult& r, const PartMeta& m) {
  const ProtocolParams& p = m.params;
  nlohmann::json j = {
      {"bpc", r.bpc()}, {"bpb", r.bpb()}, {"bits_per_token", r.bits_per_token()}, {"ppl", r.ppl()},
      {"compression_rate", r.compression_rate()}, {"total_nats", r.total_nats}, {"documents", r.documents}, {"chars", r.chars}, {"bytes", r.bytes},
      {"tokens", r.tokens}, {"windows", r.windows}, {"scored_tokens", r.scored_tokens},
      {"seconds", r.seconds}, {"scored_tokens_per_s", r.seconds > 0 ? double(r.scored_this_run) / r.seconds : 0.0},
      {"protocol", protocol_name(p.protocol)}, {"window", p.window}, {"stride", p.stride},
      {"max_chunks", p.max_windows},
      {"model", escape_invalid_utf8(m.model_name)}, {"model_path", escape_invalid_utf8(m.model_path)},
      {"model_id", m.model_id}, {"model_bytes", m.model_bytes}, {"model_format", m.model_format},
      {"tokenizer_file", escape_invalid_utf8(m.tokenizer_file)},
      {"corpus", escape_invalid_utf8(m.corpus_name)}, {"corpus_path", escape_invalid_utf8(m.corpus_path)},
      {"corpus_sha256", m.corpus_sha256}, {"field", m.field},
      {"skipped_empty", m.skipped_empty}, {"skipped_invalid", m.skipped_invalid}, {"resumed", r.resumed},
      {"threads", m.threads}, {"device", m.device}, {"lmzip_version", m.lmzip_version.empty() ? kVersion : m.lmzip_version},
      {"started_at", m.started_at}, {"finished_at", m.finished_at}};
  if (m.shard.count > 1) j["shards"] = m.shard.count;
  if (p.protocol == Protocol::Uncheatable) {
    // Uncheatable Eval's own summary: means over documents (its "avg tokens" excludes the chunk-start tokens).
    const double n = r.documents ? double(r.documents) : 1.0;
    j["bos_mode"] = bos_mode_name(p.bos_mode);
    j["neg_log_prob_sum"] = r.total_nats / n;
    j["avg_tokens"] = double(r.tokens - r.documents) / n;
    j["avg_chars"] = double(r.chars) / n;
    j["avg_bytes"] = double(r.bytes) / n;
  }
  return j;
}

// The uncertainty fields: NAME_stderr and NAME_ci95 per rate (null where undefined), with what they rest on.
void add_uncertainty(nlohmann::json& j, const BpcUncertainty& u, int requested) {
  auto num = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); };
  auto add = [&](const char* name, const RateUncertainty& r) {
    j[std::string(name) + "_stderr"] = num(r.se);
    j[std::string(name) + "_ci95"] = requested > 0 && std::isfinite(r.ci.low)
                                         ? nlohmann::json::array({r.ci.low, r.ci.high}) : nlohmann::json(nullptr);
  };
  add("bpc", u.bpc);
  add("bpb", u.bpb);
  add("bits_per_token", u.bits_per_token);
  add("ppl", u.ppl);
  add("compression_rate", u.compression_rate);
  j["uncertainty_units"] = u.units;
  j["bootstrap_resamples"] = requested > 0 ? u.resamples : 0;
  j["bootstrap_seed"] = u.seed;
}


BpcRunRecord to_record(const nlohmann::json& j) {
  char host[256] = "";
  ::gethostname(host, sizeof host - 1);
  BpcRunRecord r;
  r.model_name = j["model"];
  r.model_path = j["model_path"];
  r.model_id = j["model_id"];
  r.model_bytes = j["model_bytes"];
  r.corpus_name = j["corpus"];
  r.corpus_path = j["corpus_path"];
  r.corpus_sha256 = j["corpus_sha256"];
  r.protocol = j["protocol"];
  r.window = j["window"];
  r.stride = j["stride"];
  r.documents = j["documents"];
  r.chars = j["chars"];
  r.bytes = j["bytes"];
  r.tokens = j["tokens"];
  r.windows = j["windows"];
  r.scored_tokens = j["scored_tokens"];
  r.total_nats = j["total_nats"];
  r.bpc = j["bpc"];
  r.bpb = j["bpb"];
  r.bits_per_token = j["bits_per_token"];
  r.ppl = j["ppl"];
  r.lmzip_version = kVersion;
  r.host = host;
  r.threads = j["threads"];
  r.started_at = j["started_at"];
  r.finished_at = j["finished_at"];
  r.seconds = j["seconds"];
  nlohmann::json extra{{"field", j["field"]}, {"resumed", j["resumed"]}, {"skipped_empty", j["skipped_empty"]},
                       {"skipped_invalid", j["skipped_invalid"]}, {"device", j["device"]},
                       {"compression_rate", j["compression_rate"]}};
  for (const char* key : {"shards", "bpc_stderr", "bpc_ci95", "bpb_stderr", "bpb_ci95", "bits_per_token_stderr",
                          "bits_per_token_ci95", "ppl_stderr", "ppl_ci95", "compression_rate_stderr",
                          "compression_rate_ci95", "uncertainty_units", "bootstrap_resamples", "bootstrap_seed",
                          "bos_mode", "neg_log_prob_sum", "avg_tokens", "avg_chars", "avg_bytes"}) {
    if (j.contains(key)) extra[key] = j[key];
  }
  r.extra_json = extra.dump();
  return r;
}

namespace {

std::string fixed(double v, int prec) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", prec, v);
  return b;
}

// "  ± SE  [LOW, HIGH]" after a rate, from its NAME_stderr and NAME_ci95 (absent parts left out).
std::string spread(const nlohmann::json& j, const std::string& name, int prec) {
  std::string out;
  auto se = j.find(name + "_stderr");
  if (se != j.end() && se->is_number()) out += "  ± " + fixed(se->get<double>(), prec);
  auto it = j.find(name + "_ci95");
  if (it == j.end() || !it->is_array()) return out;
  const auto& ci = *it;
  out += "  [" + fixed(ci[0].get<double>(), prec) + ", " + fixed(ci[1].get<double>(), prec) + "]";
  return out;
}

std::string uncertainty_note(const nlohmann::json& j) {
  const uint64_t units = j["uncertainty_units"].get<uint64_t>();
  if (units < 2) return "n/a (" + std::to_string(units) + " document: no spread over documents)";
  std::string out = "± standard error over " + std::to_string(units) + " documents";
  const int resamples = j["bootstrap_resamples"].get<int>();
  if (resamples > 0) {
    out += "; [95% bootstrap interval over documents, " + std::to_string(resamples) + " resamples, seed " +
           std::to_string(j["bootstrap_seed"].get<uint64_t>()) + "]";
  }
  return out;
}

}  // namespace

void print_table(const nlohmann::json& j) {
  auto num = [](double v, int prec) {
    char b[64];
    std::snprintf(b, sizeof b, "%.*f", prec, v);
    return std::string(b);
  };
  std::cout << "corpus      " << j["corpus"].get<std::string>() << "  (" << j["corpus_path"].get<std::string>()
            << ", sha256 " << j["corpus_sha256"].get<std::string>().substr(0, 16) << ")\n"
            << "model       " << j["model"].get<std::string>() << "  (" << j["model_path"].get<std::string>() << ", "
            << j["model_bytes"].get<uint64_t>() << " bytes, id " << j["model_id"].get<std::string>() << ")\n"
            << "protocol    " << j["protocol"].get<std::string>() << "  (window " << j["window"] << ", stride "
            << j["stride"] << (j.contains("bos_mode") ? ", bos_mode " + j["bos_mode"].get<std::string>() : "")
            << ")\n"
            << "counts      " << j["documents"] << " documents, " << j["chars"] << " chars, " << j["bytes"]
            << " bytes, " << j["tokens"] << " tokens, " << j["windows"] << " windows, " << j["scored_tokens"]
            << " scored tokens\n"
            << "BPC         " << num(j["bpc"], 6) << spread(j, "bpc", 6) << "\n"
            << "BPB         " << num(j["bpb"], 6) << spread(j, "bpb", 6) << "\n"
            << "bits/token  " << num(j["bits_per_token"], 6) << spread(j, "bits_per_token", 6) << "\n"
            << "PPL         " << num(j["ppl"], 4) << spread(j, "ppl", 4) << "   (over scored tokens)\n"
            << "compression " << num(j["compression_rate"], 4) << " %" << spread(j, "compression_rate", 4)
            << "   (NLL / ln 2 / 8 / bytes × 100)\n"
            << "uncertainty " << uncertainty_note(j) << "\n"
            << "total nats  " << num(j["total_nats"], 4) << "\n"
            << "time        " << num(j["seconds"], 2) << " s, " << num(j["scored_tokens_per_s"], 1)
            << " scored tokens/s, " << j["threads"] << " threads" << (j["resumed"].get<bool>() ? " (resumed)" : "")
            << (j.contains("shards") ? " (sum over " + j["shards"].dump() + " shards)" : "") << "\n"
            << "device      " << j["device"].get<std::string>() << "\n";
  if (j["skipped_empty"].get<uint64_t>() + j["skipped_invalid"].get<uint64_t>() > 0) {
    std::cout << "skipped     " << j["skipped_empty"] << " empty, " << j["skipped_invalid"]
              << " invalid UTF-8 documents\n";
  }
}

void write_per_doc(const std::string& path, const std::vector<PerDocCorpus>& corpora) {
  std::string out;
  const double ln2 = std::log(2.0);
  for (const PerDocCorpus& c : corpora) {
    const auto& per_doc = c.result->per_doc;
    for (size_t d = 0; d < per_doc.size(); ++d) {
      const DocScore& s = per_doc[d];
      nlohmann::json j = {{"corpus", c.name}, {"doc", d}, {"nats", s.nats},
                          {"scored_tokens", s.scored_tokens}, {"chars", s.chars}, {"bytes", s.bytes},
                          {"bpc", s.chars ? s.nats / (s.chars * ln2) : 0.0},
                          {"bpb", s.bytes ? s.nats / (s.bytes * ln2) : 0.0}};
      if (c.sources && per_doc.size() == c.sources->size()) j["source"] = (*c.sources)[d];
      if (d < c.extra.size()) j.update(c.extra[d]);
      out += j.dump() + "\n";
    }
  }
  write_file_atomic(path, out);
}

std::string record_result(nlohmann::json& j, ResultsStore* store) {
  if (!std::isfinite(j["bpc"].get<double>())) {
    return j["corpus"].get<std::string>() +
           ": the BPC is not a finite number (the model produced NaN or infinite log-probabilities)";
  }
  if (!store) return "";
  try {
    j["run_id"] = store->record_bpc(to_record(j));
  } catch (const Error& e) {
    return std::string("the result was not recorded in the results store: ") + e.what();
  }
  return "";
}

}  // namespace lmzip::cli
