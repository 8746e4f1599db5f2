#include "lmzip/corpus/sources.h"

#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <ctime>
#include <filesystem>

#include "lmzip/core/error.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/filters.h"
#include "lmzip/corpus/text.h"
#include "lmzip/io/compressed.h"
#include "lmzip/io/file.h"

namespace fs = std::filesystem;

namespace lmzip::corpus {

const char* input_kind_name(InputKind kind) {
  switch (kind) {
    case InputKind::Text: return "text";
    case InputKind::Jsonl: return "jsonl";
    case InputKind::Warc: return "warc";
    case InputKind::Archive: return "archive";
  }
  return "?";
}

namespace {

bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

bool has_glob_chars(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

void add_file(const std::string& path, const std::string& root, bool papers, std::vector<InputFile>& out) {
  struct stat st{};
  if (stat(path.c_str(), &st) != 0) return;
  // Named or matched by a pattern (directory walks keep regular files only): a device would be read forever
  // and a FIFO blocks, so they are refused rather than silently left out.
  if (!S_ISREG(st.st_mode)) throw Error(path + ": not a regular file (use '-' to read standard input)");
  out.push_back({path, root, classify_input(path, papers), static_cast<uint64_t>(st.st_size)});
}

bool wanted(const std::string& path, const SourceOptions& o) {
  if (o.extensions.empty()) return true;
  for (const auto& e : o.extensions) {
    if (ends_with(path, e)) return true;
  }
  return false;
}

void walk_directory(const std::string& root, const SourceOptions& o, std::vector<InputFile>& out) {
  std::vector<std::string> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec), end;
  if (ec) throw Error(root + ": cannot read directory (" + ec.message() + ")");
  for (; it != end; it.increment(ec)) {
    if (ec) throw Error(root + ": cannot read directory (" + ec.message() + ")");
    std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {  // .git, .cache, editor files
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && wanted(it->path().string(), o)) {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());  // directory order is not deterministic; the build must be
  for (const auto& f : files) add_file(f, root, o.papers, out);
}

}  // namespace

InputKind classify_input(const std::string& path, bool papers) {
  std::string p = to_lower_ascii(path);
  for (std::string_view suf : {".gz", ".zst", ".xz"}) {
    if (ends_with(p, suf) && (ends_with(p.substr(0, p.size() - suf.size()), ".jsonl") ||
                              ends_with(p.substr(0, p.size() - suf.size()), ".ndjson"))) {
      return InputKind::Jsonl;
    }
  }
  if (ends_with(p, ".jsonl") || ends_with(p, ".ndjson")) return InputKind::Jsonl;
  for (std::string_view suf : {".warc", ".warc.gz", ".wet", ".wet.gz", ".warc.zst"}) {
    if (ends_with(p, suf)) return InputKind::Warc;
  }
  for (std::string_view suf : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar.zst", ".zip"}) {
    if (ends_with(p, suf)) return InputKind::Archive;
  }
  // arXiv ships a paper's source as a lone .gz (a gzipped tar or a gzipped .tex).
  if (papers && ends_with(p, ".gz")) return InputKind::Archive;
  return InputKind::Text;
}

std::vector<InputFile> list_inputs(const std::vector<std::string>& args, const SourceOptions& o, std::vector<InputFile>* whole) {
  if (o.shard_count < 1 || o.shard_index < 0 || o.shard_index >= o.shard_count) {
    throw Error("--shard: expected i/N with 0 <= i < N (got " + std::to_string(o.shard_index) + "/" +
                std::to_string(o.shard_count) + ")");
  }
  std::vector<InputFile> all;
  for (const auto& arg : args) {
    std::error_code ec;
    if (fs::is_directory(arg, ec)) {
      walk_directory(arg, o, all);
    } else if (fs::exists(arg, ec) || arg == "-") {
      if (arg == "-") all.push_back({arg, "", classify_input(arg, o.papers), 0});
      else add_file(arg, "", o.papers, all);
    } else if (has_glob_chars(arg)) {
      glob_t g{};
      int rc = glob(arg.c_str(), 0, nullptr, &g);
      if (rc == GLOB_NOMATCH || rc != 0) {
        globfree(&g);
        throw Error(arg + ": the pattern matches no file");
      }
      std::vector<std::string> matches(g.gl_pathv, g.gl_pathv + g.gl_pathc);
      globfree(&g);
      std::sort(matches.begin(), matches.end());
      for (const auto& m : matches) {
        if (fs::is_directory(m, ec)) walk_directory(m, o, all);
        else add_file(m, "", o.papers, all);
      }
    } else {
      throw Error(arg + ": no such file or directory");
    }
  }
  std::vector<InputFile> mine;
  for (size_t i = 0; i < all.size(); ++i) {
    all[i].rank = i;
    if (static_cast<int>(i % static_cast<size_t>(o.shard_count)) == o.shard_index) mine.push_back(all[i]);
  }
  if (whole) *whole = all;
  return mine;
}

std::string content_problem(std::string_view body) {
  if (looks_binary(body)) return "binary";
  if (!is_valid_utf8(body)) return "invalid_utf8";
  return "";
}

std::string iso_date(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool convert_latex(const std::string& latex, const SourceOptions& o, std::string* text, std::string* reason) {
  if (!o.use_pandoc) {
    *text = latex_to_text(latex);
    return true;
  }
  PandocResult r = pandoc_latex_to_markdown(latex, o.pandoc_timeout);
  if (!r.ok) {
    *reason = r.error == "timeout" ? "pandoc_timeout" : "pandoc_failed";
    return false;
  }
  *text = std::move(r.text);
  return true;
}

void read_text_file(const InputFile& in, const SourceOptions& o, const SourceSink& sink) {
  if (in.bytes > o.max_document_bytes) {
    sink.skip("too_large", in.path);
    return;
  }
  std::string body;
  try {
    body = read_decompressed(in.path);
  } catch (const Error& e) {
    sink.skip("corrupt_input", e.what());
    return;
  }
  if (auto problem = content_problem(body); !problem.empty()) {
    sink.skip(problem, in.path);
    return;
  }
  Document doc;
  doc.source = in.path;
  std::string rel = in.path;
  if (!in.root.empty()) rel = fs::path(in.path).lexically_relative(in.root).string();
  doc.locator = rel;
  // The repository: the first repo_depth components below the root (code trees), else the parent directory.
  fs::path relp(rel);
  fs::path repo = in.root.empty() ? fs::path(in.path).parent_path() : fs::path(in.root);
  int depth = 0;
  for (auto part = relp.begin(); part != relp.end() && depth < o.repo_depth; ++part, ++depth) {
    if (std::next(part) == relp.end()) break;  // the file itself is not a repository
    repo /= *part;
  }
  doc.repo = repo.string();
  struct stat st{};
  if (stat(in.path.c_str(), &st) == 0) doc.date = iso_date(st.st_mtime);
  std::string lower = to_lower_ascii(in.path);
  if (ends_with(lower, ".html") || ends_with(lower, ".htm")) {
    std::string title;
    doc.content = html_to_text(body, &title, &doc.html_nesting_capped);
    doc.meta["title"] = title;
  } else if (ends_with(lower, ".tex")) {
    std::string reason;
    if (!convert_latex(body, o, &doc.content, &reason)) {
      sink.skip(reason, in.path);
      return;
    }
  } else {
    doc.content = std::move(body);
  }
  sink.document(std::move(doc));
}

void read_input(const InputFile& input, const SourceOptions& o, const SourceSink& sink) {
  switch (input.kind) {
    case InputKind::Text: return read_text_file(input, o, sink);
    case InputKind::Jsonl: return read_jsonl(input, o, sink);
    case InputKind::Warc: return read_warc(input, o, sink);
    case InputKind::Archive: return read_archive(input, o, sink);
  }
}

}  // namespace lmzip::corpus
