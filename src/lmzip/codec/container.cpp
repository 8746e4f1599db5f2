#include "lmzip/codec/container.h"

#include <cstring>

#include "lmzip/codec/freq.h"
#include "lmzip/core/checked.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"

namespace lmzip::codec {
namespace {

constexpr uint8_t kMagic[8] = {0x89, 'L', 'M', 'Z', '\r', '\n', 0x1A, '\n'};

template <typename T>
void put(std::string& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xFF));
}

template <typename T>
T get(std::string_view data, size_t offset) {
  uint64_t v = 0;
  for (size_t i = 0; i < sizeof(T); ++i) v |= uint64_t{static_cast<uint8_t>(data[offset + i])} << (8 * i);
  return static_cast<T>(v);
}

[[noreturn]] void fail(const std::string& name, const std::string& what) {
  throw Error(name + ": " + what);
}

// The fixed header fields, read and range-checked.
void parse_fixed(std::string_view file, const std::string& name, LmzHeader& h, uint32_t& segment_count,
                 uint32_t& header_bytes) {
  if (file.size() < 8 || std::memcmp(file.data(), kMagic, 8) != 0) fail(name, "not an .lmz file (bad magic)");
  if (file.size() < kFixedHeaderBytes + 8) fail(name, "truncated .lmz header");
  auto version = get<uint16_t>(file, 8);
  if (version != kFormatVersion) {
    fail(name, "format version " + std::to_string(version) + " is not supported (this lmzip reads version " +
                   std::to_string(kFormatVersion) + "; a newer lmzip wrote it?)");
  }
  if (get<uint16_t>(file, 10) != 0) fail(name, "unknown flags in the header (written by a newer lmzip?)");
  header_bytes = get<uint32_t>(file, 12);
  h.original_size = get<uint64_t>(file, 16);
  h.original_xxh64 = get<uint64_t>(file, 24);
  h.model.tokenizer_hash = get<uint64_t>(file, 32);
  h.model.weights_hash = get<uint64_t>(file, 40);
  h.model.vocab_size = get<uint32_t>(file, 48);
  h.segment_tokens = get<uint32_t>(file, 52);
  if (h.model.vocab_size == 0 || h.model.vocab_size > kMaxVocab) fail(name, "vocab_size out of range");
  if (h.segment_tokens == 0 || h.segment_tokens > kMaxSegmentTokens) fail(name, "segment_tokens out of range");
  if (static_cast<uint8_t>(file[56]) != kFreqBits) fail(name, "unsupported freq_bits (version 1 uses 28)");
  if (file[57] != 0) fail(name, "unsupported context_mode");
  if (file[58] != 0) fail(name, "unsupported raw_model");
  if (file[59] != 0) fail(name, "reserved header byte is not zero");
  segment_count = get<uint32_t>(file, 60);
  auto name_len = get<uint16_t>(file, 64);
  auto predictor_len = get<uint16_t>(file, 66);
  if (name_len > kMaxStringBytes || predictor_len > kMaxStringBytes) fail(name, "header string too long");
  if (header_bytes != kFixedHeaderBytes + name_len + predictor_len) fail(name, "header_bytes is inconsistent");
  if (file.size() < header_bytes) fail(name, "truncated .lmz header");
  h.model.name = std::string(file.substr(kFixedHeaderBytes, name_len));
  h.model.predictor_id = std::string(file.substr(kFixedHeaderBytes + name_len, predictor_len));
  if ((segment_count == 0) != (h.original_size == 0)) fail(name, "segment_count and original_size disagree");
}

void parse_entry(std::string_view file, size_t at, size_t k, const LmzHeader& h, const std::string& name,
                 SegmentEntry& e) {
  e.original_bytes = get<uint32_t>(file, at);
  e.payload_bytes = get<uint32_t>(file, at + 4);
  e.token_count = get<uint32_t>(file, at + 8);
  e.payload_check = get<uint32_t>(file, at + 12);
  e.segment_xxh64 = get<uint64_t>(file, at + 16);
  std::string seg = "segment " + std::to_string(k) + ": ";
  if (e.original_bytes == 0 || e.original_bytes > kMaxSegmentBytes) fail(name, seg + "original_bytes out of range");
  if (e.payload_bytes > (1u << 31)) fail(name, seg + "payload_bytes out of range");
  if (e.token_count > h.segment_tokens) fail(name, seg + "token_count exceeds segment_tokens");
}

}  // namespace

std::string serialize_header(const LmzHeader& h) {
  LMZIP_CHECK(h.model.name.size() <= kMaxStringBytes && h.model.predictor_id.size() <= kMaxStringBytes,
              "header string too long");
  std::string out(reinterpret_cast<const char*>(kMagic), 8);
  put<uint16_t>(out, kFormatVersion);
  put<uint16_t>(out, 0);
  put<uint32_t>(out, static_cast<uint32_t>(kFixedHeaderBytes + h.model.name.size() + h.model.predictor_id.size()));
  put<uint64_t>(out, h.original_size);
  put<uint64_t>(out, h.original_xxh64);
  put<uint64_t>(out, h.model.tokenizer_hash);
  put<uint64_t>(out, h.model.weights_hash);
  put<uint32_t>(out, h.model.vocab_size);
  put<uint32_t>(out, h.segment_tokens);
  put<uint8_t>(out, kFreqBits);
  put<uint8_t>(out, 0);  // context_mode
  put<uint8_t>(out, 0);  // raw_model
  put<uint8_t>(out, 0);  // reserved
  put<uint32_t>(out, static_cast<uint32_t>(h.segments.size()));
  put<uint16_t>(out, static_cast<uint16_t>(h.model.name.size()));
  put<uint16_t>(out, static_cast<uint16_t>(h.model.predictor_id.size()));
  out += h.model.name;
  out += h.model.predictor_id;
  for (const SegmentEntry& e : h.segments) {
    put<uint32_t>(out, e.original_bytes);
    put<uint32_t>(out, e.payload_bytes);
    put<uint32_t>(out, e.token_count);
    put<uint32_t>(out, e.payload_check);
    put<uint64_t>(out, e.segment_xxh64);
  }
  put<uint64_t>(out, xxh64(out.data(), out.size()));
  return out;
}

ParsedLmz parse_lmz(std::string_view file, const std::string& name) {
  ParsedLmz result;
  LmzHeader& h = result.header;
  uint32_t segment_count = 0, header_bytes = 0;
  parse_fixed(file, name, h, segment_count, header_bytes);
  // header + table + checksum; segment_count < 2^32 so this cannot overflow 64 bits.
  uint64_t table_end = header_bytes + uint64_t{segment_count} * kSegmentEntryBytes;
  if (file.size() < table_end + 8) {
    fail(name, "truncated: the segment table needs " + std::to_string(table_end + 8) + " bytes, the file has " +
                   std::to_string(file.size()));
  }
  if (get<uint64_t>(file, table_end) != xxh64(file.data(), table_end)) {
    fail(name, "header checksum mismatch: the header or segment table is corrupt");
  }
  h.segments.resize(segment_count);
  uint64_t original_sum = 0, payload_sum = 0;
  for (size_t k = 0; k < segment_count; ++k) {
    parse_entry(file, header_bytes + k * kSegmentEntryBytes, k, h, name, h.segments[k]);
    original_sum += h.segments[k].original_bytes;  // < 2^32 * 2^30: no overflow
    payload_sum += h.segments[k].payload_bytes;
  }
  if (original_sum != h.original_size) fail(name, "the segments' sizes do not add up to original_size");
  uint64_t available = file.size() - (table_end + 8);
  uint64_t at = table_end + 8;
  if (payload_sum != available) {
    // Name the first segment whose payload is cut off, when the file is short.
    uint64_t end = at;
    for (size_t k = 0; k < segment_count && payload_sum > available; ++k) {
      end += h.segments[k].payload_bytes;
      if (end > file.size()) fail(name, "truncated: segment " + std::to_string(k) + " of " +
                                            std::to_string(segment_count) + " is cut off");
    }
    fail(name, std::to_string(available - payload_sum) + " unexpected bytes after the last segment");
  }
  result.payloads.reserve(segment_count);
  for (const SegmentEntry& e : h.segments) {
    result.payloads.push_back(file.substr(at, e.payload_bytes));
    at += e.payload_bytes;
  }
  return result;
}

void check_model(const LmzHeader& h, const ModelIdentity& ours, const std::string& name) {
  auto differs = [&](const std::string& what) {
    fail(name, "compressed with a different model (" + what + " differs): it was written with '" + h.model.name +
                   "' [" + h.model.predictor_id + "], this is '" + ours.name + "' [" + ours.predictor_id +
                   "]; decompress with the same model file");
  };
  if (h.model.tokenizer_hash != ours.tokenizer_hash) differs("tokenizer fingerprint");
  if (h.model.weights_hash != ours.weights_hash) differs("weights fingerprint");
  if (h.model.vocab_size != ours.vocab_size) differs("vocabulary size");
  if (h.model.predictor_id != ours.predictor_id) differs("predictor / numerics class");
}

void check_payload(const ParsedLmz& lmz, size_t k, const std::string& name) {
  std::string_view p = lmz.payloads[k];
  if (static_cast<uint32_t>(xxh64(p.data(), p.size())) != lmz.header.segments[k].payload_check) {
    fail(name, "segment " + std::to_string(k) + " of " + std::to_string(lmz.payloads.size()) +
                   " is corrupt (payload checksum mismatch)");
  }
}

}  // namespace lmzip::codec
