// Archive sources through libarchive: tar (plain/gz/xz/bz2/zst) and zip. In "files" mode each member is a
// document; in "papers" mode (arXiv) a bundle is one paper: its main .tex found, \input files inlined,
// converted to text. A bundle of bundles (arXiv's monthly tars of per-paper .gz files) yields one paper each.
#include <archive.h>
#include <archive_entry.h>

#include <filesystem>
#include <map>
#include <memory>

#include "lmzip/core/error.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/sources.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

namespace {

using ArchivePtr = std::unique_ptr<struct archive, decltype(&archive_read_free)>;

ArchivePtr open_reader(bool allow_raw) {
  ArchivePtr a(archive_read_new(), &archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_all(a.get());
  // "raw" lets a lone gzipped file (arXiv's single-.tex papers) read as one member named "data".
  if (allow_raw) archive_read_support_format_raw(a.get());
  return a;
}

struct Member {
  std::string path;
  std::string data;
  int64_t mtime = 0;
};

// Reads every regular member (up to `max_bytes` each; larger ones are reported through `too_large`).
// Throws lmzip::Error on a corrupt archive.
template <typename OnMember>
void for_each_member(struct archive* a, const std::string& name, uint64_t max_bytes, OnMember on_member) {
  struct archive_entry* entry;
  for (;;) {
    int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) return;
    if (rc < ARCHIVE_WARN) throw Error(name + ": corrupt archive (" + archive_error_string(a) + ")");
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    Member m;
    const char* p = archive_entry_pathname(entry);
    m.path = p ? p : "";
    m.mtime = archive_entry_mtime_is_set(entry) ? archive_entry_mtime(entry) : 0;
    bool too_large = archive_entry_size_is_set(entry) && static_cast<uint64_t>(archive_entry_size(entry)) > max_bytes;
    if (!too_large) {
      char buf[1 << 16];
      la_ssize_t n;
      while ((n = archive_read_data(a, buf, sizeof buf)) > 0) {
        if (m.data.size() + static_cast<size_t>(n) > max_bytes) { too_large = true; break; }
        m.data.append(buf, static_cast<size_t>(n));
      }
      if (n < 0) throw Error(name + ": corrupt archive member " + m.path + " (" + archive_error_string(a) + ")");
    }
    if (too_large) m.data.clear();
    on_member(std::move(m), too_large);
  }
}

bool is_nested_bundle(const std::string& path) {
  std::string p = to_lower_ascii(path);
  for (std::string_view suf : {".gz", ".tgz", ".tar", ".zip"}) {
    if (p.size() >= suf.size() && p.compare(p.size() - suf.size(), suf.size(), suf) == 0) return true;
  }
  return false;
}

std::string stem(const std::string& path) {
  std::string s = std::filesystem::path(path).filename().string();
  for (std::string_view suf : {".tar.gz", ".tgz", ".tar", ".gz", ".zip"}) {
    if (s.size() > suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0) {
      return s.substr(0, s.size() - suf.size());
    }
  }
  return s;
}

// One paper from its files; skips with a reason when no main .tex is found or conversion fails.
void emit_paper(std::map<std::string, std::string>& files, const std::string& source, const std::string& locator,
                int64_t mtime, const SourceOptions& o, const SourceSink& sink) {
  // A lone gzipped file read through "raw" is named "data": it is the .tex when it looks like LaTeX.
  if (files.size() == 1 && files.begin()->first == "data") {
    std::string body = std::move(files.begin()->second);
    files.clear();
    files["main.tex"] = std::move(body);
  }
  std::string main = find_main_tex(files);
  if (main.empty()) { sink.skip("no_main_tex", source + ":" + locator); return; }
  if (auto problem = content_problem(files[main]); !problem.empty()) {
    sink.skip(problem, source + ":" + locator);
    return;
  }
  Document doc;
  doc.source = source;
  doc.locator = locator;
  if (mtime > 0) doc.date = iso_date(mtime);
  doc.meta["main_tex"] = main;
  doc.meta["arxiv_id"] = stem(locator);
  std::string reason;
  if (!convert_latex(inline_latex_inputs(main, files), o, &doc.content, &reason)) {
    sink.skip(reason, source + ":" + locator);
    return;
  }
  sink.document(std::move(doc));
}

void read_paper_bundle(const std::string& data, const std::string& source, const std::string& locator, int64_t mtime,
                       const SourceOptions& o, const SourceSink& sink) {
  ArchivePtr a = open_reader(true);
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
    sink.skip("corrupt_input", source + ":" + locator + ": " + archive_error_string(a.get()));
    return;
  }
  std::map<std::string, std::string> files;
  try {
    for_each_member(a.get(), source + ":" + locator, o.max_document_bytes, [&](Member m, bool too_large) {
      if (!too_large) files[m.path] = std::move(m.data);
    });
  } catch (const Error& e) {
    sink.skip("corrupt_input", e.what());
    return;
  }
  emit_paper(files, source, locator, mtime, o, sink);
}

}  // namespace

void read_archive(const InputFile& in, const SourceOptions& o, const SourceSink& sink) {
  ArchivePtr a = open_reader(o.papers);
  if (archive_read_open_filename(a.get(), in.path.c_str(), 1 << 16) != ARCHIVE_OK) {
    sink.skip("corrupt_input", in.path + ": " + archive_error_string(a.get()));
    return;
  }
  std::map<std::string, std::string> paper_files;  // papers mode, when the archive is itself one paper
  int64_t newest = 0;
  try {
    for_each_member(a.get(), in.path, o.max_document_bytes, [&](Member m, bool too_large) {
      std::string where = in.path + ":" + m.path;
      if (too_large) { sink.skip("too_large", where); return; }
      if (o.papers) {
        if (is_nested_bundle(m.path)) read_paper_bundle(m.data, in.path, m.path, m.mtime, o, sink);
        else paper_files[m.path] = std::move(m.data), newest = std::max(newest, m.mtime);
        return;
      }
      if (!o.extensions.empty()) {
        bool ok = false;
        for (const auto& e : o.extensions) ok |= m.path.size() >= e.size() && m.path.ends_with(e);
        if (!ok) { sink.ignored("archive_member_other_extension"); return; }
      }
      if (auto problem = content_problem(m.data); !problem.empty()) { sink.skip(problem, where); return; }
      Document doc;
      doc.source = in.path;
      doc.locator = m.path;
      doc.repo = in.path;  // a zip or tarball of a repository keeps its files together
      if (m.mtime > 0) doc.date = iso_date(m.mtime);
      std::string lower = to_lower_ascii(m.path);
      if (lower.ends_with(".html") || lower.ends_with(".htm")) {
        doc.content = html_to_text(m.data, nullptr, &doc.html_nesting_capped);
      } else {
        doc.content = std::move(m.data);
      }
      sink.document(std::move(doc));
    });
  } catch (const Error& e) {
    sink.skip("corrupt_input", e.what());
    return;
  }
  bool has_tex = false;
  for (const auto& [path, data] : paper_files) has_tex |= to_lower_ascii(path).ends_with(".tex") || path == "data";
  if (o.papers && !paper_files.empty() && !has_tex) sink.ignored("archive_without_tex");
  if (o.papers && has_tex) {
    emit_paper(paper_files, in.path, std::filesystem::path(in.path).filename().string(), newest, o, sink);
  }
}

}  // namespace lmzip::corpus
