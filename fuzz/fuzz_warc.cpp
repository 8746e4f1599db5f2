// libFuzzer target for WARC/WET input: the record parser (over the bytes as a file would hold them, gzip members
// included), and on the same buffer the HTTP response path (header split, chunked transfer coding, gzip/deflate
// content codings, HTML extraction) and the de-chunker alone. Any input must give documents or counted skips —
// never crash, hang, read out of bounds or allocate without bound. Build and run: see fuzz/README.md.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "lmzip/corpus/http.h"
#include "lmzip/corpus/sources.h"
#include "lmzip/corpus/stream.h"
#include "lmzip/corpus/text.h"

namespace {
constexpr uint64_t kMaxDoc = 1 << 20;  // bounds decompression; the real default (64 MB) would only slow the fuzzer

void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lmzip::corpus;
  std::string input(reinterpret_cast<const char*>(data), size);

  // 1. The record parser on the buffer as a .warc(.gz) file.
  SourceOptions o;
  o.max_document_bytes = kMaxDoc;
  SourceSink sink{[](Document&& d) {
                    check(is_valid_utf8(d.content));  // extracted text and WET text are valid UTF-8
                    check(d.content.size() <= 4 * kMaxDoc);
                    (void)d.meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
                  },
                  [](const std::string& reason, const std::string& where) { check(!reason.empty() && !where.empty()); },
                  [](const std::string& what) { check(!what.empty()); }, nullptr};
  ByteReader reader("fuzz.warc", input);
  read_warc_stream(reader, "fuzz.warc", o, sink);

  // 2. The same bytes as a response record's block.
  Document doc;
  std::string reason;
  std::string text = warc_response_text(input, kMaxDoc, doc, &reason);
  check(reason.empty() || text.empty());
  if (reason.empty()) check(is_valid_utf8(text));

  // 3. The de-chunker alone: output never exceeds the input or the cap.
  std::string out;
  bool too_large = false, first_bad = false;
  DechunkStatus st = dechunk_http_body(input, &out, 4096, &too_large, &first_bad);
  check(out.size() <= input.size() && out.size() <= 4096);
  check(!first_bad || (st == DechunkStatus::Malformed && out.empty()));
  return 0;
}
