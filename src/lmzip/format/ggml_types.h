// The tensor element types of GGML/GGUF files: ids as the files store them, block sizes and byte sizes.
// (Dequantization lives in kernels/; this only says how big things are.)
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lmzip {

enum class GgmlType : uint32_t {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;
  uint32_t block_elements;  // elements per block (1 for plain types)
  uint32_t block_bytes;     // bytes per block
};

// Information about a type id as read from a file, or nullptr when lmzip does not know the id.
const GgmlTypeInfo* ggml_type_info(uint32_t type_id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
const char* ggml_type_name(GgmlType type);
// Parses a type name ("F16", "q8_0", ...), case-insensitive.
std::optional<GgmlType> ggml_type_from_name(const std::string& name);

// Bytes of `n_elements` elements of `type`, or nullopt when n_elements is not a multiple of the block size
// or the size overflows.
std::optional<uint64_t> ggml_bytes(GgmlType type, uint64_t n_elements);

}  // namespace lmzip
