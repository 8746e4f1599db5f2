// Sources: which input files a build reads (directories, globs, JSONL, WARC/WET, archives) and how each
// becomes documents. Every document read is delivered either to `document` or, when it cannot be read
// (corrupt, binary, invalid UTF-8, too large), to `skip` with a reason, so the manifest accounts for all.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/corpus/document.h"

namespace lmzip::corpus {

enum class InputKind { Text, Jsonl, Warc, Archive };
const char* input_kind_name(InputKind kind);

struct InputFile {
  std::string path;
  std::string root;  // the directory given on the command line ("" for a file named directly)
  InputKind kind = InputKind::Text;
  uint64_t bytes = 0;
  uint64_t rank = 0;  // index in the whole sorted input list (before --shard keeps its share)
};

struct SourceOptions {
  std::vector<std::string> extensions;  // directory walks keep only files ending so (".py"); empty: all files
  std::string text_field = "content";   // JSONL text field ("text" is tried when it is absent)
  std::string date_field = "date";      // JSONL date field (top level or in "meta")
  std::string repo_field = "repo";      // JSONL repository field (top level or in "meta")
  uint64_t max_document_bytes = 64ull << 20;  // larger files/records are skipped as "too_large"
  bool papers = false;         // archives hold LaTeX papers (arXiv): one document per bundle, main .tex found
  bool use_pandoc = false;     // LaTeX through pandoc (else the built-in converter)
  double pandoc_timeout = 10;  // seconds
  int repo_depth = 1;          // directory walks: path components below the root that name a repository
  int shard_index = 0, shard_count = 1;  // this process reads inputs i, i+N, i+2N, ... of the sorted list
};

// Expands directories (recursively, hidden entries skipped, sorted) and glob patterns, classifies each file by
// name, and keeps this shard's share (`*whole`, when given: the whole list). A named input that does not exist
// is an lmzip::Error.
std::vector<InputFile> list_inputs(const std::vector<std::string>& args, const SourceOptions& options,
                                   std::vector<InputFile>* whole = nullptr);

InputKind classify_input(const std::string& path, bool papers);

struct SourceSink {
  std::function<void(Document&&)> document;
  std::function<void(const std::string& reason, const std::string& where)> skip;
  std::function<void(const std::string& what)> ignored;  // records that are not documents (WARC requests...)
  // Optional: when set, JSONL sources hand each non-blank line here unparsed (path, line number, line) and the
  // consumer turns it into a document or a skip with jsonl_line_to_document, in input order (the pipeline
  // parses in parallel this way). Lines over the size limit are still skipped by the reader.
  std::function<void(const std::string& path, uint64_t line_number, std::string&& line)> jsonl_line;
};

// One JSONL line → `doc`; "" when it is a document, else the skip reason (invalid_utf8, invalid_json,
// missing_text_field, too_large, binary). Thread-safe.
std::string jsonl_line_to_document(std::string_view line, const std::string& path, uint64_t line_number,
                                   const SourceOptions& options, Document& doc);

// Reads one input file into the sink. Corrupt or truncated data ends the file with a "corrupt_input" skip; the
// documents before it are kept.
void read_input(const InputFile& input, const SourceOptions& options, const SourceSink& sink);

// Per-kind readers (exposed for tests).
void read_jsonl(const InputFile& input, const SourceOptions& options, const SourceSink& sink);
void read_warc(const InputFile& input, const SourceOptions& options, const SourceSink& sink);
void read_archive(const InputFile& input, const SourceOptions& options, const SourceSink& sink);
void read_text_file(const InputFile& input, const SourceOptions& options, const SourceSink& sink);

class ByteReader;
// WARC/WET records from an open reader (`path` names it in skips); read_warc opens the file and calls this.
void read_warc_stream(ByteReader& reader, const std::string& path, const SourceOptions& options,
                      const SourceSink& sink);
// The text of a WARC `response` block (HTTP status line, headers, body): transfer and content codings undone
// (http.h), HTML extracted, the <title> put in doc.meta. "" with `*reason` set when it is not a document
// (not_html, binary, invalid_utf8, malformed_http, malformed_chunked, unsupported_content_encoding,
// malformed_content_encoding, too_large).
std::string warc_response_text(std::string_view block, uint64_t max_bytes, Document& doc, std::string* reason);

// Checks a raw document body: "" when usable, else "binary" / "invalid_utf8".
std::string content_problem(std::string_view body);

// Converts a LaTeX source to text per the options; returns false (with `reason`) when pandoc failed.
bool convert_latex(const std::string& latex, const SourceOptions& options, std::string* text, std::string* reason);

// "YYYY-MM-DDTHH:MM:SSZ" for a Unix time.
std::string iso_date(int64_t unix_seconds);

}  // namespace lmzip::corpus
