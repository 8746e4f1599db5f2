// JSONL sources (plain, .gz, .zst, .xz), read line by line in bounded memory.
#include <nlohmann/json.hpp>

#include "lmzip/core/error.h"
#include "lmzip/corpus/sources.h"
#include "lmzip/corpus/stream.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

namespace {

const nlohmann::json* field(const nlohmann::json& rec, const std::string& name) {
  if (auto it = rec.find(name); it != rec.end()) return &*it;
  if (auto m = rec.find("meta"); m != rec.end() && m->is_object()) {
    if (auto it = m->find(name); it != m->end()) return &*it;
  }
  return nullptr;
}

// A record → document; "" on success, else the skip reason.
std::string record_to_document(nlohmann::json& rec, const SourceOptions& o, Document& doc) {
  if (!rec.is_object()) return "invalid_json";
  std::string text_key = o.text_field;
  if (!rec.contains(text_key) && text_key == "content" && rec.contains("text")) text_key = "text";
  auto t = rec.find(text_key);
  if (t == rec.end() || !t->is_string()) return "missing_text_field";
  doc.content = t->get<std::string>();
  if (auto s = rec.find("subset"); s != rec.end() && s->is_string()) doc.subset = s->get<std::string>();
  if (auto m = rec.find("meta"); m != rec.end() && m->is_object()) doc.meta = *m;
  // Other top-level scalars (id, url, categories...) travel in meta too.
  for (auto& [k, v] : rec.items()) {
    if (k != text_key && k != "subset" && k != "meta" && !v.is_structured() && !doc.meta.contains(k)) doc.meta[k] = v;
  }
  if (const auto* d = field(rec, o.date_field); d && d->is_string()) doc.date = d->get<std::string>();
  for (const std::string& name : {o.repo_field, std::string("repo_name")}) {
    if (const auto* r = field(rec, name); r && r->is_string()) {
      doc.repo = r->get<std::string>();
      break;
    }
  }
  return "";
}

}  // namespace

std::string jsonl_line_to_document(std::string_view line, const std::string& path, uint64_t line_number,
                                   const SourceOptions& o, Document& doc) {
  if (!is_valid_utf8(line)) return "invalid_utf8";
  nlohmann::json rec = nlohmann::json::parse(line, nullptr, false);
  if (rec.is_discarded()) return "invalid_json";
  doc.source = path;
  doc.locator = "line " + std::to_string(line_number);
  std::string reason = record_to_document(rec, o, doc);
  if (!reason.empty()) return reason;
  if (doc.content.size() > o.max_document_bytes) return "too_large";
  if (looks_binary(doc.content)) return "binary";
  return "";
}

void read_jsonl(const InputFile& in, const SourceOptions& o, const SourceSink& sink) {
  ByteReader reader(in.path);
  std::string line;
  size_t line_number = 0;
  // JSON escapes can double a text's size (\n, \", \uXXXX more): allow for them in the line limit.
  size_t max_line = o.max_document_bytes * 2 + 4096;
  try {
    bool too_long = false;
    while (reader.read_line(line, max_line, &too_long)) {
      ++line_number;
      if (too_long) { sink.skip("too_large", in.path + ":" + std::to_string(line_number)); continue; }
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;  // blank lines are not records
      if (sink.jsonl_line) {  // the consumer parses (in parallel)
        sink.jsonl_line(in.path, line_number, std::move(line));
        line = std::string();
        continue;
      }
      Document doc;
      std::string reason = jsonl_line_to_document(line, in.path, line_number, o, doc);
      if (!reason.empty()) { sink.skip(reason, in.path + ":" + std::to_string(line_number)); continue; }
      sink.document(std::move(doc));
    }
  } catch (const Error& e) {
    sink.skip("corrupt_input", std::string(e.what()) + " (after line " + std::to_string(line_number) + ")");
  }
}

}  // namespace lmzip::corpus
