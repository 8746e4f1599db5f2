// The .lmz container (docs/FORMAT.md): header, segment table, header checksum, payloads.
// parse_lmz() trusts nothing: every size is bounds- and overflow-checked, and a malformed file is an
// lmzip::Error naming the file (and the segment, where there is one). It is the libFuzzer target's entry point.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/codec/predictor.h"

namespace lmzip::codec {

inline constexpr uint16_t kFormatVersion = 1;
inline constexpr size_t kFixedHeaderBytes = 68;
inline constexpr size_t kSegmentEntryBytes = 24;
inline constexpr size_t kMaxStringBytes = 256;
inline constexpr uint32_t kMaxSegmentTokens = 1u << 20;
inline constexpr uint32_t kMaxSegmentBytes = 1u << 30;

struct SegmentEntry {
  uint32_t original_bytes = 0;
  uint32_t payload_bytes = 0;
  uint32_t token_count = 0;
  uint32_t payload_check = 0;  // low 32 bits of XXH64(payload)
  uint64_t segment_xxh64 = 0;
};

struct LmzHeader {
  uint64_t original_size = 0;
  uint64_t original_xxh64 = 0;
  ModelIdentity model;
  uint32_t segment_tokens = 0;
  std::vector<SegmentEntry> segments;
};

// Header + segment table + header checksum (the payloads follow).
std::string serialize_header(const LmzHeader& header);

struct ParsedLmz {
  LmzHeader header;
  std::vector<std::string_view> payloads;  // into the parsed buffer
};

// Parses and validates the structure (not the payloads' content). `name` appears in errors.
ParsedLmz parse_lmz(std::string_view file, const std::string& name);

// lmzip::Error unless the file was written with the model `ours` (fingerprints, vocabulary, predictor).
void check_model(const LmzHeader& header, const ModelIdentity& ours, const std::string& name);

// Verifies payload k's checksum; lmzip::Error naming the file and segment otherwise.
void check_payload(const ParsedLmz& lmz, size_t k, const std::string& name);

}  // namespace lmzip::codec
