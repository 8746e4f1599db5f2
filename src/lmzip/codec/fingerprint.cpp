#include "lmzip/codec/fingerprint.h"

#include <string>

#include "lmzip/core/hash.h"

namespace lmzip::codec {
namespace {

// h = XXH64(bytes, seed = h): the chain the format defines.
struct Chain {
  uint64_t h = 0;
  void add(const void* data, size_t size) { h = xxh64(data, size, h); }
  void add(std::string_view s) { add(s.data(), s.size()); }
  template <typename T>
  void add_le(T value) {  // little-endian bytes of an integer
    uint8_t bytes[sizeof(T)];
    for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i));
    add(bytes, sizeof(T));
  }
};

}  // namespace

uint64_t tokenizer_fingerprint(const Vocab& v) {
  Chain c;
  c.add(v.model);
  c.add(v.pre);
  for (const std::string& t : v.tokens) c.add(t);
  for (float s : v.scores) {
    uint32_t bits;
    static_assert(sizeof bits == sizeof s);
    __builtin_memcpy(&bits, &s, sizeof bits);
    c.add_le(bits);
  }
  for (TokenType t : v.types) c.add_le(static_cast<int32_t>(t));
  for (const std::string& m : v.merges) c.add(m);
  auto id_bytes = [](std::optional<TokenId> id) { return static_cast<uint32_t>(id.value_or(-1)); };
  auto flag = [](std::optional<bool> b) { return static_cast<uint8_t>(b ? (*b ? 1 : 0) : 2); };
  uint8_t record[16] = {};
  uint32_t ids[3] = {id_bytes(v.bos), id_bytes(v.eos), id_bytes(v.unk)};
  for (int k = 0; k < 3; ++k) {
    for (int i = 0; i < 4; ++i) record[4 * k + i] = static_cast<uint8_t>(ids[k] >> (8 * i));
  }
  record[12] = flag(v.add_bos);
  record[13] = flag(v.add_eos);
  record[14] = flag(v.add_space_prefix);
  c.add(record, 16);
  return c.h;
}

uint64_t weights_fingerprint(const GgufFile& file) {
  Chain c;
  for (const GgufTensorInfo& t : file.tensors()) {
    c.add(t.name);
    c.add_le(static_cast<uint32_t>(t.type));
    for (uint64_t d : t.dims) c.add_le(d);
    c.add(t.data, t.n_bytes);
  }
  return c.h;
}

}  // namespace lmzip::codec
