// HTTP bodies in WARC response records: chunked transfer coding (RFC 9112 §7.1), gzip/deflate content codings,
// and what malformed framing turns into. All inputs hand-written.
#include "lmzip/corpus/http.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include "builders.h"
#include "lmzip/corpus/sources.h"
#include "lmzip/corpus/stream.h"

namespace lmzip::corpus {
namespace {

DechunkStatus dechunk(std::string_view body, std::string* out, bool* first_bad = nullptr, uint64_t max = 1 << 20,
                      bool* too_large = nullptr) {
  bool tl = false, fb = false;
  DechunkStatus st = dechunk_http_body(body, out, max, &tl, &fb);
  if (first_bad) *first_bad = fb;
  if (too_large) *too_large = tl;
  return st;
}

TEST(Dechunk, SizesExtensionsTrailersAndBareLf) {
  std::string out;
  EXPECT_EQ(dechunk("5\r\nHello\r\n7\r\n, world\r\n0\r\n\r\n", &out), DechunkStatus::Ok);
  EXPECT_EQ(out, "Hello, world");
  // Upper/lower-case hex, leading zeros, chunk extensions (with and without values, with BWS), trailers.
  EXPECT_EQ(dechunk("0A;name=\"v;x\"\r\n0123456789\r\n00b ; ext\r\nabcdefghijk\r\n0;last\r\n"
                    "Expires: never\r\nX-Checksum: 1\r\n\r\nafter the message",
                    &out),
            DechunkStatus::Ok);
  EXPECT_EQ(out, "0123456789abcdefghijk");
  // Chunk data may hold CRLFs and things that look like size lines.
  EXPECT_EQ(dechunk("6\r\n1\r\nx\r\n\r\n0\r\n\r\n", &out), DechunkStatus::Ok);
  EXPECT_EQ(out, "1\r\nx\r\n");
  // Bare LF line ends are tolerated; a last chunk without its final CRLF still completes the body.
  EXPECT_EQ(dechunk("3\nabc\n1\nd\n0\n", &out), DechunkStatus::Ok);
  EXPECT_EQ(out, "abcd");
  EXPECT_EQ(dechunk("3\r\nabc\r\n0", &out), DechunkStatus::Truncated);  // no CRLF after the last chunk's size
  EXPECT_EQ(out, "abc");
}

TEST(Dechunk, TruncatedKeepsTheCompleteDataSeen) {
  std::string out;
  EXPECT_EQ(dechunk("5\r\nHello\r\n7\r\n, wo", &out), DechunkStatus::Truncated);  // inside a chunk
  EXPECT_EQ(out, "Hello, wo");
  EXPECT_EQ(dechunk("5\r\nHello\r\n", &out), DechunkStatus::Truncated);  // before the next size line
  EXPECT_EQ(out, "Hello");
  EXPECT_EQ(dechunk("5\r\nHello\r", &out), DechunkStatus::Truncated);  // inside the CRLF
  EXPECT_EQ(out, "Hello");
  EXPECT_EQ(dechunk("5\r\nHello", &out), DechunkStatus::Truncated);
  EXPECT_EQ(out, "Hello");
  EXPECT_EQ(dechunk("", &out), DechunkStatus::Truncated);
  EXPECT_EQ(out, "");
  // A huge claimed size on truncated data takes what is there, without allocating the claim.
  EXPECT_EQ(dechunk("fffffffffffffff\r\nabc", &out), DechunkStatus::Truncated);
  EXPECT_EQ(out, "abc");
}

TEST(Dechunk, MalformedSizesAndFraming) {
  std::string out;
  bool first_bad = false;
  EXPECT_EQ(dechunk("<html>not chunked</html>\r\n", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_TRUE(first_bad);
  EXPECT_EQ(dechunk("<p>one line, no newline</p>", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_TRUE(first_bad);
  EXPECT_EQ(dechunk("5\r\nHello\r\n7;ext=\"a", &out, &first_bad), DechunkStatus::Truncated);  // cut in a size line
  EXPECT_EQ(out, "Hello");
  EXPECT_EQ(dechunk("5\r\nHello\r\nzz", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_FALSE(first_bad);
  EXPECT_EQ(dechunk("\r\n5\r\nHello\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);  // empty size
  EXPECT_TRUE(first_bad);
  EXPECT_EQ(dechunk("-5\r\nHello\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_EQ(dechunk("0x5\r\nHello\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_EQ(dechunk("5 5\r\nHello\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);
  // 17 hex digits overflow 64 bits.
  EXPECT_EQ(dechunk("10000000000000000\r\nx\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_TRUE(first_bad);
  // A good first chunk, then damage: not the "stored de-chunked" case.
  EXPECT_EQ(dechunk("5\r\nHello\r\nzz\r\nworld\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);
  EXPECT_FALSE(first_bad);
  EXPECT_EQ(dechunk("5\r\nHello, world\r\n0\r\n\r\n", &out, &first_bad), DechunkStatus::Malformed);  // size too small
  EXPECT_FALSE(first_bad);
  // Output cap.
  bool too_large = false;
  EXPECT_EQ(dechunk("5\r\nHello\r\n5\r\nWorld\r\n0\r\n\r\n", &out, nullptr, 8, &too_large), DechunkStatus::Truncated);
  EXPECT_TRUE(too_large);
}

TEST(Http, CodingsListParsing) {
  EXPECT_EQ(parse_codings(" GZip , chunked"), (std::vector<std::string>{"gzip", "chunked"}));
  EXPECT_EQ(parse_codings("identity,,deflate;q=1"), (std::vector<std::string>{"deflate"}));
  EXPECT_TRUE(parse_codings("").empty());
}

std::string chunk(const std::string& data, size_t piece) {
  std::string out;
  char size[32];
  for (size_t i = 0; i < data.size(); i += piece) {
    size_t n = std::min(piece, data.size() - i);
    std::snprintf(size, sizeof size, "%zx", n);
    out += std::string(size) + ";i=" + std::to_string(i) + "\r\n" + data.substr(i, n) + "\r\n";
  }
  return out + "0\r\nX-Trailer: t\r\n\r\n";
}

const std::string kHtml = "<html><head><title>T</title></head><body><p>Chunked page text.</p></body></html>";

std::string response(const std::string& headers, const std::string& body) {
  return "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n" + headers + "\r\n" + body;
}

TEST(Http, PayloadUndoesChunkingAndContentCodings) {
  std::string payload, ct;
  EXPECT_EQ(http_payload(response("Transfer-Encoding: chunked\r\n", chunk(kHtml, 7)), 1 << 20, &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  EXPECT_EQ(ct, "text/html; charset=utf-8");
  // gzip inside chunked (the usual order: content coding, then transfer coding).
  std::string gz = testing::gzip_member(kHtml);
  EXPECT_EQ(http_payload(response("Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", chunk(gz, 10)), 1 << 20,
                         &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  // Concatenated gzip members, x-gzip.
  EXPECT_EQ(http_payload(response("Content-Encoding: x-gzip\r\n", testing::gzip_member("<p>a</p>") +
                                                                     testing::gzip_member("<p>b</p>")),
                         1 << 20, &payload, &ct), "");
  EXPECT_EQ(payload, "<p>a</p><p>b</p>");
  // deflate: zlib-wrapped (correct) and raw (common in the wild).
  EXPECT_EQ(http_payload(response("Content-Encoding: deflate\r\n", testing::zlib_compress(kHtml, MAX_WBITS)), 1 << 20, &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  EXPECT_EQ(http_payload(response("Content-Encoding: deflate\r\n", testing::zlib_compress(kHtml, -MAX_WBITS)), 1 << 20, &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  // "Transfer-Encoding: gzip, chunked" in two header lines.
  EXPECT_EQ(http_payload(response("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", chunk(gz, 16)), 1 << 20,
                         &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  // Truncated gzip keeps the decoded prefix.
  EXPECT_EQ(http_payload(response("Content-Encoding: gzip\r\n", gz.substr(0, gz.size() - 12)), 1 << 20, &payload, &ct), "");
  EXPECT_EQ(kHtml.rfind(payload, 0), 0u);
  EXPECT_FALSE(payload.empty());
}

TEST(Http, BadBodiesGiveReasonsOrTheStoredBody) {
  std::string payload, ct;
  // Stored already de-chunked although the header says chunked: taken as is.
  EXPECT_EQ(http_payload(response("Transfer-Encoding: chunked\r\n", kHtml), 1 << 20, &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  // Gzip label on a decoded body: taken as is.
  EXPECT_EQ(http_payload(response("Content-Encoding: gzip\r\n", kHtml), 1 << 20, &payload, &ct), "");
  EXPECT_EQ(payload, kHtml);
  EXPECT_EQ(http_payload(response("Transfer-Encoding: chunked\r\n", "5\r\n<html\r\nzz\r\nx\r\n0\r\n\r\n"), 1 << 20,
                         &payload, &ct), "malformed_chunked");
  EXPECT_EQ(http_payload(response("Content-Encoding: br\r\n", "\x0b\x02\x80"), 1 << 20, &payload, &ct),
            "unsupported_content_encoding");
  std::string bad_gz = testing::gzip_member(kHtml);
  bad_gz[12] ^= 0x55;  // damage the deflate stream after the header
  bad_gz[13] ^= 0x55;
  EXPECT_EQ(http_payload(response("Content-Encoding: gzip\r\n", bad_gz), 1 << 20, &payload, &ct),
            "malformed_content_encoding");
  EXPECT_EQ(http_payload(response("Content-Encoding: deflate\r\n", "\xff\xff\xff\xff"), 1 << 20, &payload, &ct),
            "malformed_content_encoding");
  // A gzip bomb stops at the cap.
  std::string bomb = testing::gzip_member(std::string(4 << 20, 'a'));
  EXPECT_EQ(http_payload(response("Content-Encoding: gzip\r\n", bomb), 1 << 20, &payload, &ct), "too_large");
  EXPECT_EQ(http_payload(response("Transfer-Encoding: chunked\r\n", chunk(std::string(3000, 'a'), 1000)), 2500,
                         &payload, &ct), "too_large");
  EXPECT_EQ(http_payload("no header end", 1 << 20, &payload, &ct), "malformed_http");
}

struct Collected {
  std::vector<Document> docs;
  std::vector<std::pair<std::string, std::string>> skips;
  SourceSink sink() {
    return {[this](Document&& d) { docs.push_back(std::move(d)); },
            [this](const std::string& r, const std::string& w) { skips.emplace_back(r, w); },
            [](const std::string&) {}, nullptr};
  }
};

TEST(Warc, ChunkedAndGzippedResponsesAreExtractedFromAStream) {
  std::string page = "<html><head><title>Chunks</title></head><body><p>First part of the page.</p>"
                     "<p>Second part.</p></body></html>";
  std::string gz = testing::gzip_member(page);
  std::string warc =
      testing::warc_record("response", "https://c.example/", "2024-01-01T00:00:00Z",
                           response("Transfer-Encoding: chunked\r\n", chunk(page, 9))) +
      testing::warc_record("response", "https://g.example/", "2024-01-01T00:00:00Z",
                           response("Transfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n", chunk(gz, 5))) +
      testing::warc_record("response", "https://bad.example/", "2024-01-01T00:00:00Z",
                           response("Transfer-Encoding: chunked\r\n", "4\r\n<htm\r\nq\r\nl>\r\n0\r\n\r\n")) +
      testing::warc_record("response", "https://t.example/", "2024-01-01T00:00:00Z",
                           response("Transfer-Encoding: chunked\r\n", chunk(page, 9).substr(0, 200)));
  Collected c;
  ByteReader reader("mem.warc", testing::gzip_member(warc));
  read_warc_stream(reader, "mem.warc", SourceOptions{}, c.sink());
  ASSERT_EQ(c.docs.size(), 3u);
  EXPECT_EQ(c.docs[0].content, "First part of the page.\n\nSecond part.");
  EXPECT_EQ(c.docs[0].meta["title"], "Chunks");
  EXPECT_EQ(c.docs[1].content, "First part of the page.\n\nSecond part.");
  EXPECT_EQ(c.docs[1].locator, "https://g.example/");
  EXPECT_EQ(c.docs[2].locator, "https://t.example/");  // truncated: the part that arrived
  EXPECT_EQ(c.docs[2].content.rfind("First part of the page.\n\nSecond", 0), 0u) << c.docs[2].content;
  EXPECT_EQ(c.docs[2].content.find("\r\n"), std::string::npos);
  EXPECT_EQ(c.docs[2].content.find(";i="), std::string::npos);
  ASSERT_EQ(c.skips.size(), 1u);
  EXPECT_EQ(c.skips[0].first, "malformed_chunked");
  EXPECT_EQ(c.skips[0].second, "mem.warc record 3");
}

}  // namespace
}  // namespace lmzip::corpus
