#include "lmzip/format/ggml_types.h"

#include <cctype>

#include "lmzip/core/checked.h"
#include "lmzip/core/error.h"

namespace lmzip {
namespace {

constexpr GgmlTypeInfo kTypes[] = {
    {GgmlType::F32, "F32", 1, 4},
    {GgmlType::F16, "F16", 1, 2},
    {GgmlType::Q4_0, "Q4_0", 32, 2 + 16},
    {GgmlType::Q4_1, "Q4_1", 32, 2 + 2 + 16},
    {GgmlType::Q5_0, "Q5_0", 32, 2 + 4 + 16},
    {GgmlType::Q5_1, "Q5_1", 32, 2 + 2 + 4 + 16},
    {GgmlType::Q8_0, "Q8_0", 32, 2 + 32},
    {GgmlType::Q8_1, "Q8_1", 32, 4 + 32},
    {GgmlType::Q2_K, "Q2_K", 256, 16 + 64 + 2 + 2},
    {GgmlType::Q3_K, "Q3_K", 256, 32 + 64 + 12 + 2},
    {GgmlType::Q4_K, "Q4_K", 256, 2 + 2 + 12 + 128},
    {GgmlType::Q5_K, "Q5_K", 256, 2 + 2 + 12 + 32 + 128},
    {GgmlType::Q6_K, "Q6_K", 256, 128 + 64 + 16 + 2},
    {GgmlType::Q8_K, "Q8_K", 256, 4 + 256 + 2 * 16},
    // The i-quants and ternary types: sized so that files holding them parse and name them; lmzip reads only
    // IQ4_NL and IQ4_XS of these (kernels/dequant.h).
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 2 + 64},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 2 + 64 + 8},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 2 + 96},
    {GgmlType::IQ1_S, "IQ1_S", 256, 2 + 32 + 16},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 2 + 16},
    {GgmlType::IQ3_S, "IQ3_S", 256, 2 + 64 + 8 + 32 + 4},
    {GgmlType::IQ2_S, "IQ2_S", 256, 2 + 64 + 8 + 8},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 2 + 2 + 4 + 128},
    {GgmlType::IQ1_M, "IQ1_M", 256, 32 + 16 + 8},
    {GgmlType::TQ1_0, "TQ1_0", 256, 48 + 4 + 2},
    {GgmlType::TQ2_0, "TQ2_0", 256, 64 + 2},
    {GgmlType::MXFP4, "MXFP4", 32, 1 + 16},
    {GgmlType::I8, "I8", 1, 1},
    {GgmlType::I16, "I16", 1, 2},
    {GgmlType::I32, "I32", 1, 4},
    {GgmlType::I64, "I64", 1, 8},
    {GgmlType::F64, "F64", 1, 8},
    {GgmlType::BF16, "BF16", 1, 2},
};

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t type_id) {
  for (const auto& t : kTypes) {
    if (static_cast<uint32_t>(t.type) == type_id) return &t;
  }
  return nullptr;
}

const GgmlTypeInfo& ggml_type_info(GgmlType type) {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(type));
  LMZIP_CHECK(info != nullptr, "unknown GgmlType " + std::to_string(static_cast<uint32_t>(type)));
  return *info;
}

const char* ggml_type_name(GgmlType type) { return ggml_type_info(type).name; }

std::optional<GgmlType> ggml_type_from_name(const std::string& name) {
  std::string upper;
  for (char c : name) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (const auto& t : kTypes) {
    if (upper == t.name) return t.type;
  }
  return std::nullopt;
}

std::optional<uint64_t> ggml_bytes(GgmlType type, uint64_t n_elements) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (n_elements % info.block_elements != 0) return std::nullopt;
  return checked_mul(n_elements / info.block_elements, info.block_bytes);
}

}  // namespace lmzip
