// HTTP message bodies as WARC `response` records hold them: the transfer coding (chunked, RFC 9112 §7.1) and
// content codings (gzip, deflate) undone, so extraction sees the page the server meant. Pure functions over
// bytes; malformed framing is reported, never fatal.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmzip::corpus {

enum class DechunkStatus {
  Ok,         // a last (0-size) chunk was found; trailers, if any, were skipped
  Truncated,  // the data ended before the last chunk: `out` holds the complete data seen so far
  Malformed,  // a chunk-size line is not hex, a size overflows, or chunk data is not followed by CRLF
};

// De-chunks an HTTP/1.1 chunked body: hex size, optional ";ext" chunk extensions, CRLF (a bare LF is accepted),
// data, CRLF, ..., a 0-size last chunk, optional trailer fields, CRLF. Bytes after the final CRLF are ignored.
// At most `max_out` bytes are produced; more is reported as `*too_large` (and Malformed is not returned for it).
// `*first_line_bad` tells whether the very first size line was already unparsable (the body was likely stored
// de-chunked although the header still says chunked).
DechunkStatus dechunk_http_body(std::string_view body, std::string* out, uint64_t max_out, bool* too_large,
                                bool* first_line_bad);

// Codings named in a Content-Encoding or Transfer-Encoding value, lower-cased, in order ("gzip, chunked" →
// {"gzip", "chunked"}); empty entries and "identity" are dropped.
std::vector<std::string> parse_codings(std::string_view value);

// Undoes one content coding ("gzip"/"x-gzip", "deflate" as zlib or raw deflate). "" on success, else a skip
// reason: "unsupported_content_encoding", "malformed_content_encoding", or "too_large" (output over `max_out`).
// A stream that is merely truncated keeps what it decoded (crawlers cut long bodies).
std::string decode_content_coding(const std::string& coding, std::string_view in, std::string* out,
                                  uint64_t max_out);

// The payload of a WARC response block ("HTTP/1.1 200 OK\r\nheaders\r\n\r\nbody") with its transfer and content
// codings undone. "" on success (payload in `*payload`, lower-cased Content-Type in `*content_type`), else a
// skip reason: "malformed_http", "malformed_chunked", "unsupported_content_encoding",
// "malformed_content_encoding", "too_large".
std::string http_payload(std::string_view block, uint64_t max_bytes, std::string* payload, std::string* content_type);

}  // namespace lmzip::corpus
