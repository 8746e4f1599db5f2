// WARC and WET sources (Common Crawl: one gzip member per record). HTML responses are extracted to text (after
// their chunked transfer coding and gzip/deflate content coding are undone: http.cpp),
// WET conversion records taken as they are; requests, metadata and warcinfo records are not documents.
#include <map>

#include "lmzip/core/error.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/http.h"
#include "lmzip/corpus/sources.h"
#include "lmzip/corpus/stream.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

namespace {

constexpr size_t kMaxHeaderLine = 64 << 10;
constexpr int kMaxHeaders = 512;

std::string strip_cr(std::string s) {
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

// "Name: value" lines up to a blank line, names lower-cased. False when the block is malformed.
bool parse_headers(std::string_view block, std::map<std::string, std::string>& out) {
  for (auto line : split_lines(block)) {
    std::string l = strip_cr(std::string(line));
    if (l.empty()) continue;
    size_t colon = l.find(':');
    if (colon == std::string::npos) {
      if (l.rfind("HTTP/", 0) == 0) continue;  // status line
      return false;
    }
    out[to_lower_ascii(trim(l.substr(0, colon)))] = trim(l.substr(colon + 1));
  }
  return true;
}

// Latin-1 → UTF-8, for pages that declare a single-byte charset and are not valid UTF-8.
std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x80) {
      out.push_back(ch);
    } else {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

bool single_byte_charset(const std::string& content_type) {
  std::string ct = to_lower_ascii(content_type);
  for (const char* cs : {"iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252", "us-ascii"}) {
    if (ct.find(cs) != std::string::npos) return true;
  }
  return false;
}

struct WarcRecord {
  std::map<std::string, std::string> headers;
  std::string body;
};

}  // namespace

std::string warc_response_text(std::string_view block, uint64_t max_bytes, Document& doc, std::string* reason) {
  std::string html, ct;
  *reason = http_payload(block, max_bytes, &html, &ct);
  if (!reason->empty()) return "";
  if (ct.find("html") == std::string::npos) { *reason = "not_html"; return ""; }
  if (looks_binary(html)) { *reason = "binary"; return ""; }
  if (!is_valid_utf8(html)) {
    if (!single_byte_charset(ct)) { *reason = "invalid_utf8"; return ""; }
    html = latin1_to_utf8(html);
  }
  std::string title;
  std::string text = html_to_text(html, &title, &doc.html_nesting_capped);  // one parse for both
  if (!title.empty()) doc.meta["title"] = title;
  return text;
}

void read_warc(const InputFile& in, const SourceOptions& o, const SourceSink& sink) {
  ByteReader reader(in.path);
  read_warc_stream(reader, in.path, o, sink);
}

void read_warc_stream(ByteReader& reader, const std::string& path, const SourceOptions& o, const SourceSink& sink) {
  std::string line;
  uint64_t record_number = 0;
  try {
    for (;;) {
      bool too_long = false;
      // Records are separated by blank lines; the next record starts at a "WARC/" version line.
      bool got = false;
      while ((got = reader.read_line(line, kMaxHeaderLine, &too_long))) {
        if (!strip_cr(line).empty()) break;
      }
      if (!got) return;
      ++record_number;
      std::string where = path + " record " + std::to_string(record_number);
      if (strip_cr(line).rfind("WARC/", 0) != 0) {
        sink.skip("corrupt_input", where + ": expected a WARC/1.x version line");
        return;  // no way to find the next record boundary reliably
      }
      WarcRecord rec;
      std::string block;
      int n_headers = 0;
      while (reader.read_line(line, kMaxHeaderLine, &too_long) && !strip_cr(line).empty()) {
        if (++n_headers > kMaxHeaders) break;
        block += line;
        block += '\n';
      }
      if (!parse_headers(block, rec.headers) || !rec.headers.count("content-length")) {
        sink.skip("corrupt_input", where + ": malformed WARC headers");
        return;
      }
      uint64_t length = 0;
      try {
        size_t used = 0;
        length = std::stoull(rec.headers["content-length"], &used);
        if (used != rec.headers["content-length"].size()) throw std::invalid_argument("junk");
      } catch (const std::exception&) {
        sink.skip("corrupt_input", where + ": bad Content-Length");
        return;
      }
      std::string type = to_lower_ascii(rec.headers["warc-type"]);
      bool is_doc = type == "response" || type == "conversion" || type == "resource";
      if (!is_doc || length > o.max_document_bytes) {
        if (reader.skip(length) != length) {
          sink.skip("corrupt_input", where + ": truncated record");
          return;
        }
        if (is_doc) sink.skip("too_large", where);
        else sink.ignored("warc_" + (type.empty() ? std::string("untyped") : type) + "_record");
        continue;
      }
      if (reader.read(rec.body, length) != length) {
        sink.skip("corrupt_input", where + ": truncated record");
        return;
      }
      Document doc;
      doc.source = path;
      doc.locator = rec.headers["warc-target-uri"];
      doc.date = rec.headers["warc-date"];
      doc.meta["warc_record_id"] = rec.headers["warc-record-id"];
      if (rec.headers.count("warc-identified-content-language")) {
        doc.meta["warc_language"] = rec.headers["warc-identified-content-language"];
      }
      std::string reason;
      if (type == "response") {
        doc.content = warc_response_text(rec.body, o.max_document_bytes, doc, &reason);
      } else {
        reason = content_problem(rec.body);
        doc.content = std::move(rec.body);
      }
      if (!reason.empty()) {
        sink.skip(reason, where);
        continue;
      }
      sink.document(std::move(doc));
    }
  } catch (const Error& e) {
    sink.skip("corrupt_input", std::string(e.what()) + " (at record " + std::to_string(record_number) + ")");
  }
}

}  // namespace lmzip::corpus
