// The container against golden files: a checked-in .lmz that must decode (and re-encode) byte for byte, and
// malformed variants of it, each of which must fail with an error naming what is wrong (never a crash).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "codec/codec_fixture.h"
#include "lmzip/codec/container.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"

namespace lmzip::codec {
namespace {

const char* kGoldenPath = "tests/codec/golden/mixed.lmz";

// Text, a '\r' line the test tokenizer cannot round-trip, invalid UTF-8 and binary: every kind of span.
std::string golden_input() {
  std::string s = "the compression of text and a model\r\nreturn self.value\n";
  s += "\xFF\xFE binary \x00\x01\x02 tail";
  s += test::sample_text(3000, 42);
  return s;
}

std::string read_golden() {
  std::ifstream in(kGoldenPath, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void put32(std::string& f, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) f[at + i] = static_cast<char>(v >> (8 * i));
}
uint32_t get32(const std::string& f, size_t at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<uint8_t>(f[at + i])} << (8 * i);
  return v;
}

// Recomputes header_xxh64, so a test can reach the checks behind it.
void fix_header_checksum(std::string& f) {
  size_t table_end = get32(f, 12) + size_t{get32(f, 60)} * kSegmentEntryBytes;
  uint64_t h = xxh64(f.data(), table_end);
  for (int i = 0; i < 8; ++i) f[table_end + i] = static_cast<char>(h >> (8 * i));
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string decode_error(const std::string& file) {
  return error_of([&] { test::decompress_test(file); });
}

TEST(Golden, DecodesAndReencodesByteForByte) {
  if (std::getenv("LMZIP_WRITE_GOLDEN")) {  // regenerate (only with a new format version)
    std::ofstream(kGoldenPath, std::ios::binary) << test::compress_test(golden_input(), 200);
  }
  std::string golden = read_golden();
  ASSERT_FALSE(golden.empty()) << "missing " << kGoldenPath << " (run from the repository root)";
  EXPECT_EQ(test::decompress_test(golden), golden_input());
  EXPECT_EQ(test::compress_test(golden_input(), 200), golden) << "the encoder's output changed: a format change "
                                                                 "needs a new version and a new golden file";
  ParsedLmz p = parse_lmz(golden, "golden");
  EXPECT_GE(p.header.segments.size(), 3u);
}

struct Mutation {
  const char* name;
  std::function<void(std::string&)> apply;
  const char* expected;  // substring of the error
};

TEST(Golden, MalformedFilesAreRejectedWithClearErrors) {
  const std::string golden = read_golden();
  ASSERT_FALSE(golden.empty());
  const size_t header_bytes = get32(golden, 12);
  const size_t n_segments = get32(golden, 60);
  const size_t table = header_bytes, payloads = table + n_segments * kSegmentEntryBytes + 8;
  const std::vector<Mutation> cases = {
      {"empty", [](std::string& f) { f.clear(); }, "not an .lmz file"},
      {"bad magic", [](std::string& f) { f[1] = 'X'; }, "not an .lmz file"},
      {"short header", [](std::string& f) { f.resize(40); }, "truncated .lmz header"},
      {"version 2", [](std::string& f) { f[8] = 2; }, "format version 2 is not supported"},
      {"flags", [](std::string& f) { f[10] = 1; }, "unknown flags"},
      {"header bytes", [](std::string& f) { put32(f, 12, get32(f, 12) + 1); }, "header_bytes is inconsistent"},
      {"freq bits", [](std::string& f) { f[56] = 16; fix_header_checksum(f); }, "unsupported freq_bits"},
      {"vocab 0", [](std::string& f) { put32(f, 48, 0); fix_header_checksum(f); }, "vocab_size out of range"},
      {"truncated table", [&](std::string& f) { f.resize(table + 10); }, "truncated: the segment table"},
      {"header checksum", [](std::string& f) { f[70] ^= 1; }, "header checksum mismatch"},
      {"truncated payload", [&](std::string& f) { f.resize(payloads + 3); }, "truncated: segment "},
      {"trailing garbage", [](std::string& f) { f += "xyz"; }, "3 unexpected bytes after the last segment"},
      {"payload flipped", [&](std::string& f) { f[f.size() - 2] ^= 0x10; },
       "is corrupt (payload checksum mismatch)"},
      {"segment of 0 bytes",
       [&](std::string& f) { put32(f, table, 0); fix_header_checksum(f); }, "segment 0: original_bytes out of range"},
      {"sizes disagree",
       [&](std::string& f) { put32(f, table, get32(f, table) + 1); fix_header_checksum(f); },
       "do not add up to original_size"},
      {"too many tokens",
       [&](std::string& f) { put32(f, table + 8, 100000); fix_header_checksum(f); }, "exceeds segment_tokens"},
      {"table token count wrong",
       [&](std::string& f) { put32(f, table + 8, get32(f, table + 8) - 1); fix_header_checksum(f); },
       "segment 0 of"},
      {"payload corrupt behind a valid checksum",
       [&](std::string& f) {
         f[payloads + 5] ^= 0x55;
         uint32_t len = get32(f, table + 4);
         put32(f, table + 12, static_cast<uint32_t>(xxh64(f.data() + payloads, len)));
         fix_header_checksum(f);
       },
       "segment 0 of"},
  };
  for (const Mutation& m : cases) {
    std::string f = golden;
    m.apply(f);
    std::string err = decode_error(f);
    EXPECT_NE(err.find(m.expected), std::string::npos) << m.name << ": got \"" << err << "\"";
    EXPECT_EQ(err.rfind("test.lmz", 0), 0u) << m.name << ": the error must name the file: " << err;
  }
}

TEST(Golden, EveryTruncationIsAnError) {
  const std::string golden = read_golden();
  for (size_t n = 0; n < golden.size(); ++n) {
    EXPECT_NE(decode_error(golden.substr(0, n)), "(no error)") << n;
  }
}

TEST(Golden, WrongModelIsNamed) {
  const std::string golden = read_golden();
  auto with = [&](ModelIdentity id) {
    return error_of([&] {
      decompress(golden, "g.lmz", test::test_tokenizer(), test::count_factory(), id, {.threads = 1, .progress = {}});
    });
  };
  ModelIdentity id = test::count_identity();
  id.weights_hash ^= 1;
  EXPECT_NE(with(id).find("weights fingerprint differs"), std::string::npos) << with(id);
  id = test::count_identity();
  id.tokenizer_hash ^= 1;
  EXPECT_NE(with(id).find("tokenizer fingerprint differs"), std::string::npos);
  id = test::count_identity();
  id.predictor_id = "count/v2";
  EXPECT_NE(with(id).find("numerics class differs"), std::string::npos);
}

TEST(Container, HeaderRoundTrip) {
  LmzHeader h{.original_size = 10,
              .original_xxh64 = 0x0123456789abcdefull,
              .model = test::count_identity(),
              .segment_tokens = 77,
              .segments = {{.original_bytes = 4, .payload_bytes = 1, .token_count = 3, .payload_check = 9,
                            .segment_xxh64 = 5},
                           {.original_bytes = 6, .payload_bytes = 0, .token_count = 0, .payload_check = 8,
                            .segment_xxh64 = 6}}};
  std::string bytes = serialize_header(h) + "P";
  EXPECT_EQ(bytes.size(), 68 + 10 + 8 + 2 * 24 + 8 + 1u);
  ParsedLmz p = parse_lmz(bytes, "h");
  EXPECT_EQ(p.header.original_xxh64, h.original_xxh64);
  EXPECT_EQ(p.header.segment_tokens, 77u);
  EXPECT_EQ(p.header.model.predictor_id, "count/v1");
  ASSERT_EQ(p.payloads.size(), 2u);
  EXPECT_EQ(p.payloads[0], "P");
  EXPECT_EQ(p.payloads[1], "");
  EXPECT_EQ(p.header.segments[1].segment_xxh64, 6u);
}

}  // namespace
}  // namespace lmzip::codec
