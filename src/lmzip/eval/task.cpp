#include "lmzip/eval/task.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <regex>

#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/core/utf8.h"
#include "lmzip/core/pystr.h"
#include "lmzip/io/compressed.h"

namespace lmzip::eval {
namespace {

namespace fs = std::filesystem;

std::string get_string(const Json& d, const char* key, const std::string& origin, bool required,
                       std::string fallback = "") {
  if (!d.contains(key)) {
    if (required) throw Error(origin + ": task definition has no \"" + key + "\" (a string)");
    return fallback;
  }
  if (!d[key].is_string()) throw Error(origin + ": task field \"" + key + "\" must be a string");
  return d[key].get<std::string>();
}

std::vector<std::string> get_strings(const Json& d, const char* key, const std::string& origin) {
  std::vector<std::string> out;
  if (!d.contains(key)) return out;
  if (!d[key].is_array()) throw Error(origin + ": task field \"" + key + "\" must be a list of strings");
  for (const Json& e : d[key]) {
    if (!e.is_string()) throw Error(origin + ": task field \"" + key + "\" must be a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

// A split name of the lm-eval YAML: a string, or null / absent (not set).
std::optional<std::string> get_split(const Json& d, const char* key, const std::string& origin) {
  if (!d.contains(key) || d[key].is_null()) return std::nullopt;
  if (!d[key].is_string()) throw Error(origin + ": task field \"" + key + "\" must be a split name (a string) or null");
  return d[key].get<std::string>();
}

int get_int(const Json& d, const char* key, const std::string& origin, int fallback) {
  if (!d.contains(key)) return fallback;
  const Json& v = d[key];
  // (is_number_integer alone would let get<int> wrap 2^40 or a huge unsigned into a small or negative int.)
  if (!v.is_number_integer() || v.get<int64_t>() < INT32_MIN || v.get<int64_t>() > INT32_MAX ||
      (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(INT32_MAX))) {
    throw Error(origin + ": task field \"" + key + "\" must be an integer");
  }
  return v.get<int>();
}

double get_number(const Json& d, const char* key, const std::string& origin, double fallback) {
  if (!d.contains(key)) return fallback;
  if (!d[key].is_number()) throw Error(origin + ": task field \"" + key + "\" must be a number");
  return d[key].get<double>();
}

void parse_generation(const Json& d, const std::string& origin, TaskSpec& t) {
  t.until = get_strings(d, "until", origin);
  t.max_gen_toks = get_int(d, "max_gen_toks", origin, 256);
  if (d.contains("filters")) {
    for (const Json& f : d["filters"]) {
      const std::string where = origin + " filters";
      ExtractFilter e;
      e.name = get_string(f, "name", where, true);
      e.regex = get_string(f, "regex", where, false);
      e.group_select = get_int(f, "group_select", where, 0);
      e.suffix = get_string(f, "suffix", where, false);
      e.fallback = get_strings(f, "fallback", where);
      e.invalid = get_string(f, "invalid", where, false, "[invalid]");
      e.transform = get_string(f, "transform", where, false);
      t.filters.push_back(std::move(e));
    }
  }
  if (t.filters.empty()) t.filters.push_back(ExtractFilter{.name = "remove_whitespace", .regex = ""});
  if (d.contains("exact_match")) {
    const Json& em = d["exact_match"];
    t.exact_match.regexes_to_ignore = get_strings(em, "regexes_to_ignore", origin);
    t.exact_match.ignore_case = em.value("ignore_case", false);
    t.exact_match.ignore_punctuation = em.value("ignore_punctuation", false);
    const std::string equivalence = get_string(em, "equivalence", origin + " exact_match", false, "string");
    if (equivalence != "string" && equivalence != "math") {
      throw Error(origin + ": exact_match equivalence '" + equivalence + "' is not string or math");
    }
    t.exact_match.math_equivalence = equivalence == "math";
  }
}

void parse_choice(const Json& d, const std::string& origin, TaskSpec& t) {
  t.doc_to_choice = get_string(d, "doc_to_choice", origin, true);
  t.gold = get_string(d, "gold", origin, true);
  std::string type = get_string(d, "gold_type", origin, false, "index");
  if (type == "index") t.gold_type = GoldType::Index;
  else if (type == "letter") t.gold_type = GoldType::Letter;
  else if (type == "label") t.gold_type = GoldType::Label;
  else throw Error(origin + ": gold_type '" + type + "' is not one of index, letter, label");
  t.gold_labels = get_string(d, "gold_labels", origin, t.gold_type == GoldType::Label);
}

}  // namespace

TaskSpec parse_task(const Json& d, const std::string& origin) {
  if (!d.is_object()) throw Error(origin + ": a task definition must be a JSON object");
  TaskSpec t;
  t.definition = d;
  t.name = get_string(d, "name", origin, true);
  t.title = get_string(d, "title", origin, false, t.name);
  t.source = get_string(d, "source", origin, false);
  t.format = get_string(d, "format", origin, true);
  if (t.format != "jsonl" && t.format != "csv" && t.format != "json") {
    throw Error(origin + ": format '" + t.format + "' is not jsonl, json or csv");
  }
  if (d.contains("fields")) {
    if (!d["fields"].is_object()) throw Error(origin + ": \"fields\" must be an object of name: template");
    t.fields = d["fields"];
  }
  t.required = get_strings(d, "required", origin);
  t.files = get_string(d, "files", origin, false);
  if (d.contains("alternatives")) {
    if (!d["alternatives"].is_array()) throw Error(origin + ": \"alternatives\" must be a list of layouts");
    for (const Json& a : d["alternatives"]) {
      const std::string where = origin + ": alternative layout";
      if (!a.is_object()) throw Error(where + " must be an object");
      TaskSpec::Layout l{.name = get_string(a, "name", where, true), .format = get_string(a, "format", where, true),
                         .files = get_string(a, "files", where, false, t.files),  // default: the task's own
                         .required = get_strings(a, "required", where)};
      if (l.format != "jsonl" && l.format != "csv" && l.format != "json") {
        throw Error(where + " '" + l.name + "': format '" + l.format + "' is not jsonl, json or csv");
      }
      if (a.contains("fields")) {
        if (!a["fields"].is_object()) throw Error(where + " '" + l.name + "': \"fields\" must be an object");
        l.fields = a["fields"];
      }
      t.alternatives.push_back(std::move(l));
    }
  }
  t.description = get_string(d, "description", origin, false);
  t.doc_to_text = get_string(d, "doc_to_text", origin, true);
  t.doc_to_target = get_string(d, "doc_to_target", origin, false);
  t.target_delimiter = get_string(d, "target_delimiter", origin, false, " ");
  t.fewshot_delimiter = get_string(d, "fewshot_delimiter", origin, false, "\n\n");
  t.num_fewshot = get_int(d, "num_fewshot", origin, 0);
  t.fewshot_sampler = get_string(d, "fewshot_sampler", origin, false, "first_n");
  if (t.fewshot_sampler != "first_n" && t.fewshot_sampler != "random") {
    throw Error(origin + ": fewshot_sampler '" + t.fewshot_sampler + "' is not first_n or random");
  }
  t.fewshot_group = get_string(d, "fewshot_group", origin, false);
  t.test_split = get_split(d, "test_split", origin);
  t.fewshot_split = get_split(d, "fewshot_split", origin);
  t.fewshot_field = get_string(d, "fewshot_field", origin, false);
  t.fewshot_values = get_strings(d, "fewshot_values", origin);
  if (d.contains("fewshot_samples")) {
    if (!d["fewshot_samples"].is_array()) throw Error(origin + ": \"fewshot_samples\" must be a list of records");
    t.fewshot_samples = d["fewshot_samples"];
  }
  if (d.contains("fewshot_fields")) {
    if (!d["fewshot_fields"].is_object()) throw Error(origin + ": \"fewshot_fields\" must be an object of name: template");
    t.fewshot_fields = d["fewshot_fields"];
  }
  std::string request = get_string(d, "request", origin, true);
  if (request == "loglikelihood_options") {
    t.request = RequestType::LoglikelihoodOptions;
    parse_choice(d, origin, t);
    t.metrics = {"acc", "acc_norm"};
  } else if (request == "generate_until") {
    t.request = RequestType::GenerateUntil;
    if (t.doc_to_target.empty()) throw Error(origin + ": a generate_until task needs \"doc_to_target\"");
    parse_generation(d, origin, t);
    t.program = get_string(d, "program", origin, false);
    t.timeout_seconds = get_number(d, "timeout_seconds", origin, 3.0);
    // Limits that would disable a guard (0 s: every program "times out"; -1 MiB: no memory cap) are errors.
    if (!(t.timeout_seconds > 0 && t.timeout_seconds <= 86400)) {
      throw Error(origin + ": task field \"timeout_seconds\" must be in (0, 86400] seconds");
    }
    t.program_requires = get_string(d, "program_requires", origin, false);
    t.memory_mb = get_int(d, "memory_mb", origin, 1024);
    if (t.memory_mb < 1 || t.memory_mb > (1 << 20)) {
      throw Error(origin + ": task field \"memory_mb\" must be an integer in 1..1048576 (MiB)");
    }
    t.metrics = {t.program.empty() ? "exact_match" : "pass@1"};
  } else {
    throw Error(origin + ": request '" + request + "' is not loglikelihood_options or generate_until");
  }
  return t;
}

TaskSpec load_task_file(const std::string& path) {
  const Json d = parse_ordered_json(read_decompressed(path), path);
  try {
    return parse_task(d, path);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong type read by .get or .value
    throw Error(path + ": bad task definition: " + printable(e.what()));
  }
}

std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& name) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
      else if (c == '"') quoted = false;
      else field += c, line += (c == '\n');
    } else if (c == '"' && field.empty()) {
      quoted = field_started = true;
    } else if (c == ',') {
      row.push_back(std::move(field)), field.clear(), field_started = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      row.push_back(std::move(field)), field.clear(), field_started = false;
      rows.push_back(std::move(row)), row.clear();
      ++line;
    } else {
      field += c, field_started = true;
    }
  }
  if (quoted) throw Error(name + ":" + std::to_string(line) + ": unterminated quoted CSV field");
  if (field_started || !field.empty() || !row.empty()) row.push_back(std::move(field)), rows.push_back(std::move(row));
  return rows;
}

namespace {

std::string subject_of(const std::string& file_name) {
  std::string stem = fs::path(file_name).stem().string();
  size_t us = stem.rfind('_');
  if (us != std::string::npos) stem.resize(us);
  std::replace(stem.begin(), stem.end(), '_', ' ');
  return stem;
}

}  // namespace

Json derive_document(const TaskSpec& spec, Json doc, const std::string& where) {
  for (const std::string& path : spec.required) {
    if (!lookup_path(doc, path)) {
      std::string expected;
      for (const std::string& p : spec.required) expected += (expected.empty() ? "" : ", ") + p;
      std::string others;
      for (const auto& l : spec.alternatives) {
        std::string fields;
        for (const std::string& p : l.required) fields += (fields.empty() ? "" : ", ") + p;
        others += "; or, as " + l.name + " (" + l.format + "): " + fields;
      }
      throw Error(where + ": record has no '" + path + "' (task " + spec.name + " expects " + expected + others +
                  ")");
    }
  }
  try {
    for (const auto& [name, def] : spec.fields.items()) {
      if (def.is_string()) {
        doc[name] = render_value(def.get<std::string>(), doc);
      } else if (def.is_array()) {
        Json list = Json::array();
        for (const Json& item : def) list.push_back(render_value(item.get<std::string>(), doc));
        doc[name] = std::move(list);
      } else {
        if (!def.is_object() || !def.contains("template")) {
          throw Error("task " + spec.name + ": field '" + name + "' must be a template, a list, or {\"template\": ...}");
        }
        Json value = render_text(def.at("template").get<std::string>(), doc);
        if (def.contains("filter")) {
          Json holder = {{"v", std::move(value)}};
          value = render_value("{{v|" + def.at("filter").get<std::string>() + "}}", holder);
        }
        if (def.contains("map") && value.is_string() && def["map"].contains(value.get<std::string>())) {
          value = def["map"][value.get<std::string>()];
        }
        doc[name] = std::move(value);
      }
    }
  } catch (const Error& e) {
    throw Error(where + ": " + e.what());
  } catch (const nlohmann::json::exception& e) {  // a field definition of the wrong type
    throw Error(where + ": task " + spec.name + ": " + printable(e.what()));
  }
  return doc;
}

namespace {

// `relative`: the file's path below a directory given as data (json format: "algebra/1.json", whose parent
// directory names the subject).
bool format_fits(const std::string& format, const std::string& file_name) {
  const bool jsonl = file_name.find(".jsonl") != std::string::npos;
  if (format == "csv") return file_name.find(".csv") != std::string::npos;
  if (format == "jsonl") return jsonl;
  return !jsonl && file_name.find(".json") != std::string::npos;
}

// The first JSON object of a JSONL file, or null.
Json first_record(const std::string& path) {
  Json first;
  try {
    for_each_line(path, [&](std::string_view line, size_t) {
      if (!first.is_null() || py_strip(line).empty()) return;
      first = Json::parse(line, nullptr, false);
      if (first.is_discarded()) first = Json::object();
      throw std::out_of_range("found");  // stop reading
    });
  } catch (const std::out_of_range&) {
  }
  return first;
}

// The spec with the layout (of the spec's own and its alternatives) that fits this file.
TaskSpec layout_for(const TaskSpec& spec, const std::string& path) {
  if (spec.alternatives.empty()) return spec;
  const std::string file = fs::path(path).filename().string();
  std::vector<TaskSpec::Layout> layouts = {{"", spec.format, spec.files, spec.required, spec.fields}};
  layouts.insert(layouts.end(), spec.alternatives.begin(), spec.alternatives.end());
  std::vector<const TaskSpec::Layout*> fitting;
  for (const auto& l : layouts) {
    if (format_fits(l.format, file)) fitting.push_back(&l);
  }
  const TaskSpec::Layout* chosen = fitting.empty() ? &layouts[0] : fitting[0];
  if (fitting.size() > 1 && fitting[0]->format == "jsonl") {
    const Json first = first_record(path);
    for (const auto* l : fitting) {
      if (std::all_of(l->required.begin(), l->required.end(),
                      [&](const std::string& p) { return first.is_object() && lookup_path(first, p); })) {
        chosen = l;
        break;
      }
    }
  }
  TaskSpec t = spec;
  t.format = chosen->format;
  t.files = chosen->files;
  t.required = chosen->required;
  t.fields = chosen->fields;
  return t;
}

void read_file(const TaskSpec& task, const std::string& path, std::vector<Json>& docs, const fs::path& relative = {}) {
  const TaskSpec spec = layout_for(task, path);
  std::string file = fs::path(path).filename().string();
  const bool nested = spec.format == "json" && relative.has_parent_path();
  auto add = [&](Json raw, size_t line) {
    Json doc = raw.is_object() ? std::move(raw) : Json::object({{"_row", std::move(raw)}});
    doc["_file"] = nested ? relative.generic_string() : file;
    doc["_subject"] = nested ? relative.parent_path().filename().string() : subject_of(file);
    docs.push_back(derive_document(spec, std::move(doc), path + ":" + std::to_string(line)));
  };
  if (spec.format == "json" && file.find(".jsonl") == std::string::npos) {
    Json raw = parse_ordered_json(read_decompressed(path), path);
    if (raw.is_object()) {
      add(std::move(raw), 1);
    } else if (raw.is_array()) {
      for (size_t i = 0; i < raw.size(); ++i) {
        if (!raw[i].is_object()) throw Error(path + ": element " + std::to_string(i) + " is not a JSON object (task " + spec.name + ")");
        add(std::move(raw[i]), i + 1);
      }
    } else {
      throw Error(path + ": not a JSON object or list of objects (task " + spec.name + " reads one record a file)");
    }
    return;
  }
  if (spec.format == "csv") {
    auto rows = parse_csv(read_decompressed(path), path);
    for (size_t i = 0; i < rows.size(); ++i) {
      Json row = Json::array();
      for (auto& f : rows[i]) row.push_back(std::move(f));
      add(std::move(row), i + 1);
    }
    return;
  }
  for_each_line(path, [&](std::string_view line, size_t number) {
    if (py_strip(line).empty()) return;
    Json raw = parse_ordered_json(line, path, number);
    if (!raw.is_object()) {
      throw Error(path + ":" + std::to_string(number) + ": not a JSON object (task " + spec.name +
                  " reads JSONL, one record a line)");
    }
    add(std::move(raw), number);
  });
}

}  // namespace

std::vector<Json> load_documents(const TaskSpec& spec, const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or directory (task " + spec.name + " data)");
  std::vector<Json> docs;
  if (!fs::is_directory(path, ec)) {
    read_file(spec, path, docs);
    return docs;
  }
  std::vector<std::string> files;
  auto consider = [&](const fs::directory_entry& e) {
    std::string n = e.path().filename().string();
    bool csv = n.find(".csv") != std::string::npos, jsonl = n.find(".jsonl") != std::string::npos;
    bool json = n.find(".json") != std::string::npos;  // .json and .jsonl
    auto named = [&](const std::string& regex) { return regex.empty() || std::regex_search(n, std::regex(regex)); };
    bool fits = (spec.format == "csv" ? csv : spec.format == "json" ? json : jsonl) && named(spec.files);
    for (const auto& l : spec.alternatives) fits = fits || (format_fits(l.format, n) && named(l.files));
    if (!e.is_regular_file() || !fits) return;
    files.push_back(e.path().string());
  };
  if (spec.format == "json") {
    for (const auto& e : fs::recursive_directory_iterator(path)) consider(e);
  } else {
    for (const auto& e : fs::directory_iterator(path)) consider(e);
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(path + ": directory has no ." + spec.format + " files (task " + spec.name + ")");
  for (const auto& f : files) read_file(spec, f, docs, fs::relative(f, path));
  return docs;
}

}  // namespace lmzip::eval
