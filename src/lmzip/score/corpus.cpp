#include "lmzip/score/corpus.h"

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/json.h"
#include "lmzip/core/utf8.h"
#include "lmzip/io/compressed.h"
#include "lmzip/io/file.h"

namespace lmzip {
namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string strip_compression_suffix(std::string name) {
  for (const char* ext : {".gz", ".zst", ".xz"}) {
    if (ends_with(name, ext)) return name.substr(0, name.size() - std::string(ext).size());
  }
  return name;
}

std::string corpus_name(const std::string& path) {
  std::string name = fs::path(path).filename().string();
  if (name.empty()) name = fs::path(path).parent_path().filename().string();
  name = strip_compression_suffix(name);
  for (const char* ext : {".jsonl", ".ndjson", ".json", ".txt", ".text", ".md"}) {
    if (ends_with(name, ext)) return name.substr(0, name.size() - std::string(ext).size());
  }
  return name;
}

// Adds one document, applying the empty / invalid-UTF-8 rules.
void add_document(Corpus& c, std::string text, std::string source, const CorpusOptions& o) {
  if (text.empty()) {
    ++c.empty_skipped;
    return;
  }
  size_t bad = 0;
  if (!is_valid_utf8(text, &bad)) {
    if (o.skip_invalid_utf8) {
      ++c.invalid_skipped;
      return;
    }
    throw Error(source + ": document is not valid UTF-8 (first bad byte at offset " + std::to_string(bad) +
                "); fix the file or pass --skip-invalid to skip such documents");
  }
  c.documents.push_back(std::move(text));
  c.sources.push_back(std::move(source));
}

void load_jsonl(Corpus& c, const std::string& raw, const CorpusOptions& o) {
  std::string text = decompress(raw, c.path);
  size_t line_number = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    ++line_number;
    std::string where = c.path + ":" + std::to_string(line_number);
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    if (line.size() > o.max_line_bytes) {
      throw Error(where + ": line longer than " + std::to_string(o.max_line_bytes) + " bytes (not a corpus JSONL file?)");
    }
    // Checked before parsing: the JSON parser would call raw Latin-1 in a string a syntax error, and
    // --skip-invalid must skip such lines.
    size_t bad = 0;
    if (!is_valid_utf8(line, &bad)) {
      if (o.skip_invalid_utf8) {
        ++c.invalid_skipped;
        continue;
      }
      throw Error(where + ": not valid UTF-8 (first bad byte at column " + std::to_string(bad + 1) +
                  "); fix the file or pass --skip-invalid to skip such documents");
    }
    nlohmann::json j = parse_json(line, c.path, line_number);
    if (!j.is_object()) throw Error(where + ": expected a JSON object per line");
    auto it = j.find(o.field);
    if (it == j.end()) {
      throw Error(where + ": no field \"" + o.field + "\" (choose the text field with --field)");
    }
    if (!it->is_string()) throw Error(where + ": field \"" + o.field + "\" is not a string");
    add_document(c, it->get<std::string>(), where, o);
  }
}

void load_directory(Corpus& c, const CorpusOptions& o) {
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(c.path)) {
    if (e.is_regular_file()) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) throw Error(c.path + ": directory holds no files");
  Sha256 h;
  for (const auto& f : files) {
    std::string rel = fs::relative(f, c.path).string();
    std::string content = read_file(f.string());
    h.update(rel);
    h.update("\0", 1);
    h.update(content);
    add_document(c, std::move(content), f.string(), o);
  }
  c.sha256 = h.hex_digest();
}

}  // namespace

bool is_jsonl_path(const std::string& path) {
  std::string n = strip_compression_suffix(fs::path(path).filename().string());
  return ends_with(n, ".jsonl") || ends_with(n, ".ndjson");
}

Corpus load_corpus(const std::string& path, const CorpusOptions& o) {
  Corpus c;
  c.path = path;
  c.name = corpus_name(path);
  std::error_code ec;
  if (!fs::exists(path, ec)) throw Error(path + ": no such file or directory");
  if (fs::is_directory(path, ec)) {
    load_directory(c, o);
  } else if (!fs::is_regular_file(path, ec)) {
    // A device never ends and a FIFO blocks until someone writes to it.
    throw Error(path + ": not a regular file (a corpus is a file or a directory of files)");
  } else {
    std::string raw = read_file(path);
    c.sha256 = sha256_hex(raw);
    if (is_jsonl_path(path)) {
      load_jsonl(c, raw, o);
    } else {
      add_document(c, decompress(raw, path), path, o);
    }
  }
  if (c.documents.empty()) {
    throw Error(path + ": the corpus has no non-empty documents" +
                (c.invalid_skipped ? " (" + std::to_string(c.invalid_skipped) + " skipped as invalid UTF-8)" : ""));
  }
  return c;
}

}  // namespace lmzip
