// HTTP bodies from WARC response records: chunked transfer coding and gzip/deflate content codings undone.
#include "lmzip/corpus/http.h"

#include <zlib.h>

#include <algorithm>
#include <map>

#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// chunk-size [ BWS ";" chunk-ext ] with the line's CR already removed. False when it is not one.
bool parse_chunk_size(std::string_view line, uint64_t* size) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < line.size() && hex_value(line[i]) >= 0) {
    if (v >> 60) return false;  // would overflow 64 bits
    v = v * 16 + static_cast<uint64_t>(hex_value(line[i]));
    ++i;
  }
  if (i == 0) return false;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < line.size() && line[i] != ';') return false;  // extensions are skipped, not interpreted
  *size = v;
  return true;
}

constexpr size_t kInflateChunk = 64 << 10;

// Inflates `in` with zlib window bits `wbits`. 0 on success (or a merely truncated stream), else the zlib error;
// `*too_large` when the output would pass `max_out`. Concatenated gzip members are all inflated.
int inflate_all(std::string_view in, int wbits, std::string* out, uint64_t max_out, bool* too_large) {
  z_stream zs{};
  if (inflateInit2(&zs, wbits) != Z_OK) return Z_MEM_ERROR;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(std::min<size_t>(in.size(), UINT32_MAX));
  int result = 0;
  for (;;) {
    size_t have = out->size();
    out->resize(have + kInflateChunk);
    zs.next_out = reinterpret_cast<Bytef*>(out->data() + have);
    zs.avail_out = kInflateChunk;
    int rc = inflate(&zs, Z_NO_FLUSH);
    out->resize(have + kInflateChunk - zs.avail_out);
    if (out->size() > max_out) {
      *too_large = true;
      break;
    }
    if (rc == Z_STREAM_END) {
      // Another gzip member may follow (a gzip body of concatenated members); anything else is ignored.
      if (wbits > MAX_WBITS && zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
        if (inflateReset(&zs) != Z_OK) { result = Z_STREAM_ERROR; break; }
        continue;
      }
      break;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;  // truncated: keep what was decoded
    result = rc == Z_BUF_ERROR ? Z_DATA_ERROR : rc;
    break;
  }
  inflateEnd(&zs);
  return result;
}

}  // namespace

DechunkStatus dechunk_http_body(std::string_view body, std::string* out, uint64_t max_out, bool* too_large,
                                bool* first_line_bad) {
  out->clear();
  *too_large = false;
  *first_line_bad = false;
  size_t pos = 0;
  bool first = true;
  for (;;) {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl == std::string_view::npos ? body.size() - pos : nl - pos);
    if (nl == std::string_view::npos) {  // no complete size line: truncated, unless what is there cannot be one
      if (line.empty() || line == "\r") return DechunkStatus::Truncated;
      uint64_t ignored = 0;
      if (line.back() == '\r') line.remove_suffix(1);
      if (parse_chunk_size(line, &ignored)) return DechunkStatus::Truncated;
      *first_line_bad = first;
      return DechunkStatus::Malformed;
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    uint64_t size = 0;
    if (!parse_chunk_size(line, &size)) {
      *first_line_bad = first;
      return DechunkStatus::Malformed;
    }
    first = false;
    pos = nl + 1;
    if (size == 0) return DechunkStatus::Ok;  // trailer fields (if any) carry no payload
    size_t avail = body.size() - pos;
    size_t take = static_cast<size_t>(std::min<uint64_t>(size, avail));
    if (out->size() + take > max_out) {
      *too_large = true;
      return DechunkStatus::Truncated;
    }
    out->append(body.substr(pos, take));
    if (take < size) return DechunkStatus::Truncated;
    pos += take;
    // The chunk's data ends with CRLF (a bare LF is tolerated).
    if (pos == body.size() || (body[pos] == '\r' && pos + 1 == body.size())) return DechunkStatus::Truncated;
    if (body[pos] == '\n') pos += 1;
    else if (body[pos] == '\r' && body[pos + 1] == '\n') pos += 2;
    else return DechunkStatus::Malformed;
  }
}

std::vector<std::string> parse_codings(std::string_view value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string_view::npos) comma = value.size();
    std::string c = to_lower_ascii(trim(value.substr(start, comma - start)));
    if (size_t semi = c.find(';'); semi != std::string::npos) c = trim(c.substr(0, semi));  // parameters
    if (!c.empty() && c != "identity") out.push_back(std::move(c));
    start = comma + 1;
  }
  return out;
}

std::string decode_content_coding(const std::string& coding, std::string_view in, std::string* out,
                                  uint64_t max_out) {
  out->clear();
  bool too_large = false;
  int rc = 0;
  if (coding == "gzip" || coding == "x-gzip") {
    rc = inflate_all(in, 16 + MAX_WBITS, out, max_out, &too_large);
  } else if (coding == "deflate") {
    // "deflate" means zlib-wrapped deflate (RFC 9110 §8.4.1.2), but some servers send raw deflate.
    rc = inflate_all(in, MAX_WBITS, out, max_out, &too_large);
    if (rc != 0 && !too_large) {
      out->clear();
      rc = inflate_all(in, -MAX_WBITS, out, max_out, &too_large);
    }
  } else {
    return "unsupported_content_encoding";
  }
  if (too_large) return "too_large";
  if (rc != 0) return "malformed_content_encoding";
  return "";
}

std::string http_payload(std::string_view block, uint64_t max_bytes, std::string* payload, std::string* content_type) {
  size_t split = block.find("\r\n\r\n");
  size_t skip = 4;
  if (split == std::string_view::npos) split = block.find("\n\n"), skip = 2;
  if (split == std::string_view::npos) return "malformed_http";
  // Header fields; a repeated field is a list (RFC 9110 §5.3), so repeated codings accumulate.
  std::map<std::string, std::string> h;
  for (auto line : split_lines(block.substr(0, split))) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // status line, obs-fold junk
    std::string& v = h[to_lower_ascii(trim(line.substr(0, colon)))];
    if (!v.empty()) v += ", ";
    v += trim(line.substr(colon + 1));
  }
  *content_type = to_lower_ascii(h["content-type"]);
  std::string_view body = block.substr(split + skip);
  std::vector<std::string> transfer = parse_codings(h["transfer-encoding"]);
  std::vector<std::string> content = parse_codings(h["content-encoding"]);
  std::string data;
  auto chunked = std::find(transfer.begin(), transfer.end(), "chunked");
  if (chunked != transfer.end()) {
    transfer.erase(std::remove(transfer.begin(), transfer.end(), "chunked"), transfer.end());
    bool too_large = false, first_bad = false;
    DechunkStatus st = dechunk_http_body(body, &data, max_bytes, &too_large, &first_bad);
    if (too_large) return "too_large";
    if (st == DechunkStatus::Malformed) {
      // The very first size line unparsable: the record holds the body already de-chunked (some crawlers store
      // it so and keep the header). A break later in the framing is damage.
      if (!first_bad) return "malformed_chunked";
      data.assign(body);
    }
  } else {
    data.assign(body);
  }
  // Codings are undone in the reverse order of their application: transfer codings (outermost) first.
  std::vector<std::string> codings = content;
  codings.insert(codings.end(), transfer.begin(), transfer.end());
  for (auto it = codings.rbegin(); it != codings.rend(); ++it) {
    // A gzip-labelled body without the gzip magic was stored decoded (as with chunking above).
    if ((*it == "gzip" || *it == "x-gzip") &&
        !(data.size() >= 2 && static_cast<unsigned char>(data[0]) == 0x1f && static_cast<unsigned char>(data[1]) == 0x8b)) {
      continue;
    }
    std::string decoded;
    std::string reason = decode_content_coding(*it, data, &decoded, max_bytes);
    if (!reason.empty()) return reason;
    data = std::move(decoded);
  }
  if (data.size() > max_bytes) return "too_large";
  *payload = std::move(data);
  return "";
}

}  // namespace lmzip::corpus
