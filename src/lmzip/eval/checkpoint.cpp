#include "lmzip/eval/checkpoint.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/io/file.h"

namespace lmzip::eval {
namespace {

constexpr const char* kFormat = "lmzip-eval-checkpoint";
constexpr int kVersion = 1;

std::string errno_text() { return std::strerror(errno); }

std::string shown(const Json& v) {
  std::string s = v.is_null() ? "none" : v.dump();
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

void differences(const Json& a, const Json& b, const std::string& prefix, std::vector<std::string>& out) {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      differences(v, b.contains(k) ? b[k] : Json(), prefix.empty() ? k : prefix + "." + k, out);
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) differences(Json(), v, prefix.empty() ? k : prefix + "." + k, out);
    }
    return;
  }
  if (a != b) out.push_back(prefix + " (checkpoint: " + shown(a) + ", this run: " + shown(b) + ")");
}

// Metric values as JSON numbers; the non-finite ones as strings (JSON has no NaN).
Json value_json(double v) {
  if (std::isfinite(v)) return v;
  return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

double value_of(const Json& v) {
  if (v.is_number()) return v.get<double>();
  const std::string s = v.is_string() ? v.get<std::string>() : "";
  if (s == "nan") return std::nan("");
  if (s == "inf") return INFINITY;
  if (s == "-inf") return -INFINITY;
  throw Error("not a metric value: " + v.dump());
}

}  // namespace

std::string outcome_line(size_t index, const DocOutcome& d) {
  Json values = Json::object();
  for (const auto& [name, vs] : d.values) {
    Json list = Json::array();
    for (double v : vs) list.push_back(value_json(v));
    values[name] = list;
  }
  return Json{{"doc", index}, {"values", values}, {"sample", d.sample}}.dump() + "\n";
}

DocOutcome parse_outcome(const Json& j, size_t expected_index) {
  if (j.at("doc").get<size_t>() != expected_index) {
    throw Error("document " + j.at("doc").dump() + " where document " + std::to_string(expected_index) + " was expected");
  }
  DocOutcome d;
  d.sample = j.at("sample");
  for (const auto& [name, vs] : j.at("values").items()) {
    auto& list = d.values[name];  // kept even when empty: the metric exists
    for (const Json& v : vs) list.push_back(value_of(v));
  }
  return d;
}

Json task_definition_json(const TaskSpec& t) {
  if (!t.definition.is_null()) return t.definition;  // every field, including ones added after this code
  Json filters = Json::array();
  for (const auto& f : t.filters) filters.push_back({{"name", f.name}, {"regex", f.regex}, {"group_select", f.group_select}});
  const char* gold_type = t.gold_type == GoldType::Index ? "index" : t.gold_type == GoldType::Letter ? "letter" : "label";
  return {{"name", t.name}, {"format", t.format}, {"fields", t.fields}, {"files", t.files}, {"required", t.required},
          {"description", t.description}, {"doc_to_text", t.doc_to_text}, {"doc_to_target", t.doc_to_target},
          {"doc_to_choice", t.doc_to_choice}, {"gold", t.gold}, {"gold_type", gold_type}, {"gold_labels", t.gold_labels},
          {"target_delimiter", t.target_delimiter}, {"fewshot_delimiter", t.fewshot_delimiter},
          {"num_fewshot", t.num_fewshot}, {"fewshot_sampler", t.fewshot_sampler}, {"fewshot_group", t.fewshot_group},
          {"fewshot_field", t.fewshot_field}, {"fewshot_values", t.fewshot_values},
          {"request", t.request == RequestType::LoglikelihoodOptions ? "loglikelihood_options" : "generate_until"},
          {"until", t.until}, {"max_gen_toks", t.max_gen_toks}, {"filters", filters},
          {"exact_match", {{"regexes_to_ignore", t.exact_match.regexes_to_ignore},
                           {"ignore_case", t.exact_match.ignore_case},
                           {"ignore_punctuation", t.exact_match.ignore_punctuation}}},
          {"metrics", t.metrics}, {"program", t.program}, {"timeout_seconds", t.timeout_seconds}};
}

std::vector<std::string> fingerprint_differences(const Json& saved, const Json& now) {
  std::vector<std::string> out;
  differences(saved, now, "", out);
  return out;
}

EvalCheckpoint::EvalCheckpoint(std::string path, Json fingerprint) : path_(std::move(path)) {
  if (::access(path_.c_str(), F_OK) == 0) {
    read_existing(fingerprint);
    return;
  }
  write_file_atomic(path_, Json{{"format", kFormat}, {"version", kVersion}, {"fingerprint", fingerprint}}.dump() + "\n");
}

void EvalCheckpoint::read_existing(const Json& fingerprint) {
  const std::string text = read_file(path_);
  const std::string start_over = "; delete the file (or choose another --checkpoint) to start over";
  size_t pos = 0, line_no = 0, good_end = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    ++line_no;
    if (nl == std::string::npos) break;  // a torn last line: dropped below
    const std::string where = path_ + ":" + std::to_string(line_no);
    Json j;
    try {
      j = parse_ordered_json(std::string_view(text).substr(pos, nl - pos), path_, line_no);
    } catch (const Error& e) {
      throw Error(std::string(e.what()) + " (not a valid checkpoint line)" + start_over);
    }
    if (line_no == 1) {
      if (!j.is_object() || j.value("format", "") != kFormat || j.value("version", 0) != kVersion ||
          !j.contains("fingerprint")) {
        throw Error(path_ + ": not an lmzip eval checkpoint (version " + std::to_string(kVersion) + ")" + start_over);
      }
      const auto diff = fingerprint_differences(j["fingerprint"], fingerprint);
      if (!diff.empty()) {
        std::string list;
        for (const auto& d : diff) list += (list.empty() ? "" : "; ") + d;
        throw Error(path_ + ": this checkpoint is of another run: " + list +
                    ". Rerun the original command to resume it, or delete the file (or choose another --checkpoint) "
                    "to start over");
      }
    } else {
      DocOutcome d;
      try {
        d = parse_outcome(j, done_.size());
      } catch (const std::exception& e) {
        throw Error(where + ": not a document record (" + e.what() + ")" + start_over);
      }
      done_.push_back(std::move(d));
    }
    pos = good_end = nl + 1;
  }
  if (line_no == 0 || good_end == 0) throw Error(path_ + ": the checkpoint has no header line" + start_over);
  if (good_end < text.size() && ::truncate(path_.c_str(), static_cast<off_t>(good_end)) != 0) {
    throw Error(path_ + ": cannot cut off the incomplete last line: " + errno_text());
  }
  next_doc_ = done_.size();
}

void EvalCheckpoint::append(const std::vector<DocOutcome>& block) {
  if (block.empty()) return;
  std::string lines;
  for (const auto& d : block) lines += outcome_line(next_doc_++, d);
  const int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) throw Error(path_ + ": cannot open the checkpoint to append: " + errno_text());
  const off_t before = ::lseek(fd, 0, SEEK_END);
  size_t written = 0;
  while (written < lines.size()) {
    const ssize_t w = ::write(fd, lines.data() + written, lines.size() - written);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const std::string why = errno_text();
      if (before >= 0 && ::ftruncate(fd, before) != 0) {}  // best effort: no half block left behind
      ::close(fd);
      next_doc_ -= block.size();
      throw Error(path_ + ": writing the checkpoint failed: " + why);
    }
    written += static_cast<size_t>(w);
  }
  if (::fsync(fd) != 0) {
    const std::string why = errno_text();
    ::close(fd);
    next_doc_ -= block.size();
    throw Error(path_ + ": fsync of the checkpoint failed: " + why);
  }
  ::close(fd);
}

}  // namespace lmzip::eval
