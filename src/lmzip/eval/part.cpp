#include "lmzip/eval/part.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/json.h"
#include "lmzip/eval/checkpoint.h"
#include "lmzip/io/file.h"

namespace lmzip::eval {
namespace {

constexpr const char* kFormat = "lmzip-eval-part";
constexpr int kVersion = 1;
constexpr const char* kMarkerFormat = "lmzip-eval-part-done";
constexpr uint32_t kMaxShards = 1'000'000;  // as bpc's --shard (score/shard.h)

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

std::string shard_label(const NamedEvalPart& p) {
  return p.name + " (shard " + std::to_string(p.part.shard_index) + "/" + std::to_string(p.part.shard_count) + ")";
}

}  // namespace

DocRange shard_documents(size_t n, size_t batch_docs, uint32_t index, uint32_t count) {
  LMZIP_CHECK(count >= 1 && index < count && batch_docs >= 1, "eval shard out of range");
  const size_t blocks = (n + batch_docs - 1) / batch_docs;
  auto boundary = [&](uint32_t i) {
    const auto b = static_cast<size_t>(static_cast<unsigned __int128>(blocks) * i / count);
    return std::min(n, b * batch_docs);
  };
  return {boundary(index), boundary(index + 1)};
}

std::string serialize_eval_part(const EvalPart& p) {
  LMZIP_CHECK(p.outcomes.size() == p.range.end - p.range.begin, "one outcome per document of the range");
  std::string out = Json{{"format", kFormat}, {"version", kVersion}, {"fingerprint", p.fingerprint},
                         {"shard_index", p.shard_index}, {"shard_count", p.shard_count},
                         {"doc_begin", p.range.begin}, {"doc_end", p.range.end}, {"documents", p.documents},
                         {"num_fewshot", p.num_fewshot}, {"run", p.run}}
                        .dump() +
                    "\n";
  for (size_t i = 0; i < p.outcomes.size(); ++i) out += outcome_line(p.range.begin + i, p.outcomes[i]);
  return out;
}

EvalPart parse_eval_part(std::string_view text, const std::string& name) {
  auto bad = [&](size_t line, const std::string& what) {
    return Error(name + ":" + std::to_string(line) + ": not a valid lmzip eval part: " + what +
                 " (rerun its shard)");
  };
  EvalPart p;
  size_t pos = 0, line = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    ++line;
    if (nl == std::string_view::npos) throw bad(line, "the last line has no newline (the file is truncated)");
    Json j;
    try {
      j = parse_ordered_json(text.substr(pos, nl - pos), name, line);
    } catch (const Error& e) {
      throw bad(line, e.what());
    }
    pos = nl + 1;
    if (line == 1) {
      try {
        if (j.at("format") != kFormat) throw Error("its format is not " + std::string(kFormat));
        if (j.at("version") != kVersion) throw Error("version " + j.at("version").dump() + ", this lmzip reads 1");
        p.fingerprint = j.at("fingerprint");
        p.run = j.at("run");
        p.shard_index = j.at("shard_index").get<uint32_t>();
        p.shard_count = j.at("shard_count").get<uint32_t>();
        p.range = {j.at("doc_begin").get<size_t>(), j.at("doc_end").get<size_t>()};
        p.documents = j.at("documents").get<size_t>();
        p.num_fewshot = j.at("num_fewshot").get<int>();
      } catch (const std::exception& e) {
        throw bad(line, std::string("header: ") + e.what());
      }
      if (p.shard_count < 1 || p.shard_count > kMaxShards || p.shard_index >= p.shard_count || p.range.begin > p.range.end ||
          p.range.end > p.documents) {
        throw bad(line, "shard " + std::to_string(p.shard_index) + "/" + std::to_string(p.shard_count) + " with documents [" +
                            std::to_string(p.range.begin) + ", " + std::to_string(p.range.end) + ") of " +
                            std::to_string(p.documents));
      }
      continue;
    }
    try {
      p.outcomes.push_back(parse_outcome(j, p.range.begin + p.outcomes.size()));
    } catch (const std::exception& e) {
      throw bad(line, std::string("not a document record (") + e.what() + ")");
    }
  }
  if (line == 0) throw bad(1, "no header line");
  if (p.outcomes.size() != p.range.end - p.range.begin) {
    throw bad(line, "it holds " + std::to_string(p.outcomes.size()) + " documents, its header says " +
                        std::to_string(p.range.end - p.range.begin));
  }
  return p;
}

void write_eval_part(const std::string& path, const EvalPart& part) {
  const std::string data = serialize_eval_part(part);
  write_file_atomic(path, data);
  const Json marker = {{"format", kMarkerFormat}, {"part", std::filesystem::path(path).filename().string()},
                       {"bytes", data.size()}, {"xxh64", hex64(xxh64(data.data(), data.size()))}};
  write_file_atomic(path + ".done", marker.dump() + "\n");
}

bool eval_part_is_complete(const std::string& path) {
  const std::string marker_path = path + ".done";
  if (!file_exists(marker_path) || !file_exists(path) || file_size(marker_path) > 4096) return false;
  try {
    const Json m = parse_ordered_json(read_file(marker_path), marker_path);
    if (!m.is_object() || m.value("format", "") != kMarkerFormat) return false;
    const std::string data = read_file(path);
    return m.value("bytes", uint64_t{0}) == data.size() &&
           m.value("xxh64", std::string()) == hex64(xxh64(data.data(), data.size()));
  } catch (const std::exception&) {
    return false;
  }
}

EvalResult merge_eval_parts(std::vector<NamedEvalPart>& parts, const std::string& task) {
  if (parts.empty()) throw UsageError("no eval part files to merge");
  std::stable_sort(parts.begin(), parts.end(),
                   [](const NamedEvalPart& a, const NamedEvalPart& b) { return a.part.shard_index < b.part.shard_index; });
  const NamedEvalPart& first = parts.front();
  for (const NamedEvalPart& p : parts) {
    std::vector<std::string> diff = fingerprint_differences(first.part.fingerprint, p.part.fingerprint);
    if (p.part.shard_count != first.part.shard_count) diff.insert(diff.begin(), "the shard count N");
    if (p.part.documents != first.part.documents) diff.insert(diff.begin(), "the document count");
    if (!diff.empty()) {
      throw Error(shard_label(p) + " does not belong with " + shard_label(first) + ": " + diff.front());
    }
  }
  const uint32_t n = first.part.shard_count;
  std::vector<const NamedEvalPart*> by_index(n, nullptr);
  for (const NamedEvalPart& p : parts) {
    const NamedEvalPart*& slot = by_index[p.part.shard_index];
    if (slot) throw Error(p.name + " and " + slot->name + " are both shard " + std::to_string(p.part.shard_index) + "/" + std::to_string(n));
    slot = &p;
  }
  std::string missing;
  size_t n_missing = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (!by_index[i] && ++n_missing <= 10) missing += (missing.empty() ? "" : ", ") + std::to_string(i) + "/" + std::to_string(n);
  }
  if (n_missing) {
    throw Error(std::to_string(n_missing) + " of " + std::to_string(n) + " shards missing: " + missing +
                (n_missing > 10 ? ", ..." : "") + " (run lmzip eval --shard I/" + std::to_string(n) + " for each, then merge again)");
  }
  std::vector<DocOutcome> outcomes;
  for (const NamedEvalPart& p : parts) {
    if (p.part.range.begin != outcomes.size()) {
      throw Error(shard_label(p) + " covers documents [" + std::to_string(p.part.range.begin) + ", " +
                  std::to_string(p.part.range.end) + ") but the previous shard ended at document " +
                  std::to_string(outcomes.size()));
    }
    outcomes.insert(outcomes.end(), p.part.outcomes.begin(), p.part.outcomes.end());
  }
  if (outcomes.size() != first.part.documents) {
    throw Error("the shards end at document " + std::to_string(outcomes.size()) + " of " + std::to_string(first.part.documents));
  }
  EvalResult r = summarize_outcomes(task, first.part.num_fewshot, outcomes);
  return r;
}

}  // namespace lmzip::eval
