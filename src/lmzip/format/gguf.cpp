#include "lmzip/format/gguf.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <unordered_set>

#include "lmzip/core/checked.h"
#include "lmzip/core/error.h"

namespace lmzip {
namespace {

constexpr uint32_t kMaxDims = 4;           // GGML_MAX_DIMS
constexpr int kMaxArrayNesting = 4;        // arrays of arrays of ...: deeper is refused
constexpr uint64_t kMaxStringLength = 1ull << 30;
// Counts read from the file are bounded by the bytes left, but a claimed count is only reserved up to this many
// elements ahead: a lying count then costs a failed parse, never an allocation of a multiple of the file size.
constexpr uint64_t kMaxReserve = 1u << 16;

uint64_t scalar_size(GgufType t) {
  switch (t) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::BOOL: return 1;
    case GgufType::UINT16: case GgufType::INT16: return 2;
    case GgufType::UINT32: case GgufType::INT32: case GgufType::FLOAT32: return 4;
    case GgufType::UINT64: case GgufType::INT64: case GgufType::FLOAT64: return 8;
    default: return 0;
  }
}

bool valid_type_id(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::FLOAT64); }

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

const char* gguf_type_name(GgufType type) {
  static const char* kNames[] = {"uint8", "int8",   "uint16", "int16",  "uint32", "int32", "float32",
                                 "bool",  "string", "array",  "uint64", "int64",  "float64"};
  auto i = static_cast<uint32_t>(type);
  return i < 13 ? kNames[i] : "unknown";
}

// ---- GgufValue ---------------------------------------------------------------------------------------------

bool GgufValue::is_integer() const {
  switch (type_) {
    case GgufType::UINT8: case GgufType::INT8: case GgufType::UINT16: case GgufType::INT16:
    case GgufType::UINT32: case GgufType::INT32: case GgufType::UINT64: case GgufType::INT64: return true;
    default: return false;
  }
}

std::optional<int64_t> GgufValue::as_int() const {
  switch (type_) {
    case GgufType::UINT8: case GgufType::UINT16: case GgufType::UINT32: case GgufType::UINT64: case GgufType::BOOL:
      if (u_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
      return static_cast<int64_t>(u_);
    case GgufType::INT8: case GgufType::INT16: case GgufType::INT32: case GgufType::INT64: return i_;
    default: return std::nullopt;
  }
}

std::optional<double> GgufValue::as_double() const {
  if (type_ == GgufType::FLOAT32 || type_ == GgufType::FLOAT64) return f_;
  switch (type_) {
    case GgufType::UINT8: case GgufType::UINT16: case GgufType::UINT32: case GgufType::UINT64:
      return static_cast<double>(u_);
    case GgufType::INT8: case GgufType::INT16: case GgufType::INT32: case GgufType::INT64:
      return static_cast<double>(i_);
    default: return std::nullopt;
  }
}

std::optional<bool> GgufValue::as_bool() const {
  if (type_ != GgufType::BOOL) return std::nullopt;
  return u_ != 0;
}

std::optional<std::string_view> GgufValue::as_string() const {
  if (type_ != GgufType::STRING) return std::nullopt;
  return s_;
}

double GgufValue::array_number(uint64_t index) const {
  LMZIP_CHECK(type_ == GgufType::ARRAY && index < array_size_ && array_data_ != nullptr);
  const uint8_t* p = array_data_ + index * scalar_size(array_type_);
  switch (array_type_) {
    case GgufType::UINT8: return load<uint8_t>(p);
    case GgufType::INT8: return load<int8_t>(p);
    case GgufType::UINT16: return load<uint16_t>(p);
    case GgufType::INT16: return load<int16_t>(p);
    case GgufType::UINT32: return load<uint32_t>(p);
    case GgufType::INT32: return load<int32_t>(p);
    case GgufType::FLOAT32: return load<float>(p);
    case GgufType::BOOL: return load<uint8_t>(p) != 0;
    case GgufType::UINT64: return static_cast<double>(load<uint64_t>(p));
    case GgufType::INT64: return static_cast<double>(load<int64_t>(p));
    case GgufType::FLOAT64: return load<double>(p);
    default: LMZIP_CHECK(false, "not a numeric array");
  }
  return 0;
}

int64_t GgufValue::array_int(uint64_t index) const {
  LMZIP_CHECK(type_ == GgufType::ARRAY && index < array_size_ && array_data_ != nullptr);
  const uint8_t* p = array_data_ + index * scalar_size(array_type_);
  switch (array_type_) {
    case GgufType::UINT8: return load<uint8_t>(p);
    case GgufType::INT8: return load<int8_t>(p);
    case GgufType::UINT16: return load<uint16_t>(p);
    case GgufType::INT16: return load<int16_t>(p);
    case GgufType::UINT32: return load<uint32_t>(p);
    case GgufType::INT32: return load<int32_t>(p);
    case GgufType::BOOL: return load<uint8_t>(p) != 0;
    case GgufType::UINT64: return static_cast<int64_t>(load<uint64_t>(p));
    case GgufType::INT64: return load<int64_t>(p);
    case GgufType::FLOAT32: return static_cast<int64_t>(load<float>(p));
    case GgufType::FLOAT64: return static_cast<int64_t>(load<double>(p));
    default: LMZIP_CHECK(false, "not a numeric array");
  }
  return 0;
}

namespace {

std::string quote(std::string_view s, size_t max_len = 60) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < max_len; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') out += "\\n";
    else if (c == '"') out += "\\\"";
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\x%02x", c); out += b; }
    else out += static_cast<char>(c);
  }
  if (s.size() > max_len) out += "...";
  return out + "\"";
}

std::string number_text(double v) {
  char b[64];
  std::snprintf(b, sizeof b, "%.9g", v);
  return b;
}

}  // namespace

std::string GgufValue::to_display(size_t max_items) const {
  switch (type_) {
    case GgufType::STRING: return quote(s_);
    case GgufType::BOOL: return u_ ? "true" : "false";
    case GgufType::FLOAT32: case GgufType::FLOAT64: return number_text(f_);
    case GgufType::ARRAY: {
      std::string out = "[";
      uint64_t shown = std::min<uint64_t>(array_size_, max_items);
      for (uint64_t i = 0; i < shown; ++i) {
        if (i) out += ", ";
        if (array_type_ == GgufType::STRING) out += quote(strings_[i], 20);
        else if (array_type_ == GgufType::ARRAY) out += nested_[i].to_display(max_items);
        else out += number_text(array_number(i));
      }
      if (array_size_ > shown) out += ", ... (" + std::to_string(array_size_) + " " + gguf_type_name(array_type_) + ")";
      return out + "]";
    }
    default:
      if (auto v = as_int()) return std::to_string(*v);
      return std::to_string(u_);
  }
}

// ---- Parsing -----------------------------------------------------------------------------------------------

class GgufParser {
 public:
  GgufParser(GgufFile& file) : f_(file), data_(file.data_), size_(file.size_) {}

  void parse() {
    context_ = "header";
    if (size_ < 4 || std::memcmp(data_, "GGUF", 4) != 0) fail("not a GGUF file (the magic bytes \"GGUF\" are missing)");
    pos_ = 4;
    uint32_t version = u32();
    if (version == 1) fail("GGUF version 1 is not supported (only v2 and v3); reconvert the model with a current converter");
    if (version != 2 && version != 3) {
      if ((version & 0xffff) == 0 && version != 0) fail("big-endian GGUF files are not supported");
      fail("unsupported GGUF version " + std::to_string(version) + " (supported: 2, 3)");
    }
    f_.version_ = version;
    uint64_t n_tensors = u64();
    uint64_t n_kv = u64();
    // Each key-value needs at least 8 (key length) + 4 (type) + 1 bytes; each tensor info at least 8+4+4+8.
    if (n_kv > remaining() / 13) fail("metadata count " + std::to_string(n_kv) + " cannot fit in the file");
    if (n_tensors > remaining() / 24) fail("tensor count " + std::to_string(n_tensors) + " cannot fit in the file");

    std::unordered_set<std::string> keys;
    f_.metadata_.reserve(std::min(n_kv, kMaxReserve));
    for (uint64_t i = 0; i < n_kv; ++i) {
      context_ = "metadata entry " + std::to_string(i);
      std::string key(str());
      context_ = "metadata key '" + key + "'";
      if (!keys.insert(key).second) fail("duplicate key");
      uint32_t type = u32();
      GgufValue v = value(type, 0);
      f_.metadata_.emplace_back(std::move(key), std::move(v));
    }

    if (const GgufValue* a = f_.find("general.alignment")) {
      context_ = "metadata key 'general.alignment'";
      auto al = a->as_int();
      if (!a->is_integer() || !al || *al <= 0 || (*al & (*al - 1)) != 0 || *al > (1 << 24)) {
        fail("must be a positive power-of-two integer, got " + a->to_display());
      }
      f_.alignment_ = static_cast<uint64_t>(*al);
    }

    std::unordered_set<std::string> names;
    f_.tensors_.reserve(std::min(n_tensors, kMaxReserve));
    for (uint64_t i = 0; i < n_tensors; ++i) {
      context_ = "tensor info " + std::to_string(i);
      GgufTensorInfo t;
      t.name = std::string(str());
      context_ = "tensor '" + t.name + "'";
      if (!names.insert(t.name).second) fail("duplicate tensor name");
      uint32_t n_dims = u32();
      if (n_dims == 0 || n_dims > kMaxDims) fail("has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
      t.n_elements = 1;
      for (uint32_t d = 0; d < n_dims; ++d) {
        uint64_t dim = u64();
        if (dim == 0) fail("dimension " + std::to_string(d) + " is zero");
        t.dims.push_back(dim);
        auto n = checked_mul(t.n_elements, dim);
        if (!n || *n > (1ull << 50)) fail("element count overflows");
        t.n_elements = *n;
      }
      uint32_t type_id = u32();
      const GgmlTypeInfo* info = ggml_type_info(type_id);
      if (!info) fail("unknown tensor type id " + std::to_string(type_id));
      t.type = info->type;
      if (t.dims[0] % info->block_elements != 0) {
        fail("row length " + std::to_string(t.dims[0]) + " is not a multiple of the " + info->name + " block size " +
             std::to_string(info->block_elements));
      }
      auto bytes = ggml_bytes(t.type, t.n_elements);
      if (!bytes) fail("byte size overflows");
      t.n_bytes = *bytes;
      t.offset = u64();
      f_.tensors_.push_back(std::move(t));
    }

    context_ = "data section";
    auto data_offset = checked_align_up(pos_, f_.alignment_);
    if (!data_offset || *data_offset > size_) {
      // A file with no tensors may end right after the header without padding.
      if (n_tensors != 0) fail("the data section starts beyond the end of the file");
      data_offset = size_;
    }
    f_.data_offset_ = *data_offset;
    uint64_t data_size = size_ - f_.data_offset_;
    for (auto& t : f_.tensors_) {
      context_ = "tensor '" + t.name + "'";
      if (t.offset % f_.alignment_ != 0) {
        fail("data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(f_.alignment_));
      }
      auto end = checked_add(t.offset, t.n_bytes);
      if (!end || *end > data_size) {
        fail("data [" + std::to_string(t.offset) + ", +" + std::to_string(t.n_bytes) +
             ") extends beyond the end of the file (data section holds " + std::to_string(data_size) +
             " bytes; the file is truncated or corrupt)");
      }
      t.data = data_ + f_.data_offset_ + t.offset;
    }
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(f_.name_ + ": invalid GGUF: " + context_ + ": " + what);
  }
  uint64_t remaining() const { return size_ - pos_; }
  void need(uint64_t n) const {
    if (n > remaining()) {
      fail("needs " + std::to_string(n) + " bytes at offset " + std::to_string(pos_) + " but the file ends at " +
           std::to_string(size_) + " (truncated?)");
    }
  }
  template <typename T>
  T read() {
    need(sizeof(T));
    T v = load<T>(data_ + pos_);
    pos_ += sizeof(T);
    return v;
  }
  uint32_t u32() { return read<uint32_t>(); }
  uint64_t u64() { return read<uint64_t>(); }
  std::string_view str() {
    uint64_t len = u64();
    if (len > kMaxStringLength) fail("string length " + std::to_string(len) + " is implausible");
    need(len);
    std::string_view s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return s;
  }

  GgufValue value(uint32_t type_id, int depth) {
    if (!valid_type_id(type_id)) fail("unknown value type " + std::to_string(type_id));
    GgufValue v;
    v.type_ = static_cast<GgufType>(type_id);
    switch (v.type_) {
      case GgufType::UINT8: v.u_ = read<uint8_t>(); break;
      case GgufType::INT8: v.i_ = read<int8_t>(); break;
      case GgufType::UINT16: v.u_ = read<uint16_t>(); break;
      case GgufType::INT16: v.i_ = read<int16_t>(); break;
      case GgufType::UINT32: v.u_ = read<uint32_t>(); break;
      case GgufType::INT32: v.i_ = read<int32_t>(); break;
      case GgufType::UINT64: v.u_ = read<uint64_t>(); break;
      case GgufType::INT64: v.i_ = read<int64_t>(); break;
      case GgufType::FLOAT32: v.f_ = read<float>(); break;
      case GgufType::FLOAT64: v.f_ = read<double>(); break;
      case GgufType::BOOL: {
        uint8_t b = read<uint8_t>();
        if (b > 1) fail("bool value " + std::to_string(b) + " is neither 0 nor 1");
        v.u_ = b;
        break;
      }
      case GgufType::STRING: v.s_ = str(); break;
      case GgufType::ARRAY: array(v, depth); break;
    }
    return v;
  }

  void array(GgufValue& v, int depth) {
    if (depth >= kMaxArrayNesting) fail("arrays nested deeper than " + std::to_string(kMaxArrayNesting));
    uint32_t elem = u32();
    if (!valid_type_id(elem)) fail("unknown array element type " + std::to_string(elem));
    v.array_type_ = static_cast<GgufType>(elem);
    uint64_t n = u64();
    v.array_size_ = n;
    if (v.array_type_ == GgufType::STRING) {
      if (n > remaining() / 8) fail("array of " + std::to_string(n) + " strings cannot fit in the file");
      v.strings_.reserve(std::min(n, kMaxReserve));
      for (uint64_t i = 0; i < n; ++i) v.strings_.push_back(str());
    } else if (v.array_type_ == GgufType::ARRAY) {
      if (n > remaining() / 12) fail("array of " + std::to_string(n) + " arrays cannot fit in the file");
      v.nested_.reserve(std::min(n, kMaxReserve));
      for (uint64_t i = 0; i < n; ++i) v.nested_.push_back(value(static_cast<uint32_t>(GgufType::ARRAY), depth + 1));
    } else {
      auto bytes = checked_mul(n, scalar_size(v.array_type_));
      if (!bytes || *bytes > remaining()) fail("array of " + std::to_string(n) + " elements cannot fit in the file");
      if (v.array_type_ == GgufType::BOOL) {
        for (uint64_t i = 0; i < n; ++i) {
          if (data_[pos_ + i] > 1) fail("bool array element " + std::to_string(i) + " is neither 0 nor 1");
        }
      }
      v.array_data_ = data_ + pos_;
      pos_ += *bytes;
    }
  }

  GgufFile& f_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string context_;
};

GgufFile GgufFile::open(const std::string& path) {
  GgufFile f;
  f.name_ = path;
  f.mapping_ = std::make_shared<MappedFile>(path);
  f.data_ = f.mapping_->data();
  f.size_ = f.mapping_->size();
  GgufParser(f).parse();
  return f;
}

GgufFile GgufFile::parse(const std::string& name, const uint8_t* data, size_t size) {
  GgufFile f;
  f.name_ = name;
  f.data_ = data;
  f.size_ = size;
  GgufParser(f).parse();
  return f;
}

GgufFile GgufFile::assemble(const std::string& name, std::shared_ptr<const std::string> header,
                            std::vector<GgufTensorInfo> tensors, std::vector<std::shared_ptr<const void>> keep) {
  LMZIP_CHECK(header != nullptr, "GgufFile::assemble needs a header");
  GgufFile f = parse(name, reinterpret_cast<const uint8_t*>(header->data()), header->size());
  if (!f.tensors_.empty()) throw Error(name + ": an assembled file's header must not hold tensors");
  f.header_ = std::move(header);
  f.keep_ = std::move(keep);
  std::unordered_set<std::string> seen;
  for (GgufTensorInfo& t : tensors) {
    uint64_t n = 1;
    for (uint64_t d : t.dims) {
      const auto product = checked_mul(n, d);
      if (!product) throw Error(name + ": tensor " + t.name + " has too many elements");
      n = *product;
    }
    const auto bytes = ggml_bytes(t.type, n);
    if (t.dims.empty() || t.dims.size() > kMaxDims || !bytes || *bytes != t.n_bytes || t.data == nullptr) {
      throw Error(name + ": tensor " + t.name + " " + t.shape_string() + " of type " + ggml_type_name(t.type) +
                  " does not match its " + std::to_string(t.n_bytes) + " bytes of data");
    }
    if (!seen.insert(t.name).second) throw Error(name + ": tensor " + t.name + " appears twice");
    t.n_elements = n;
    f.tensors_.push_back(std::move(t));
  }
  return f;
}

// ---- Lookups -----------------------------------------------------------------------------------------------

const GgufValue* GgufFile::find(std::string_view key) const {
  for (const auto& [k, v] : metadata_) {
    if (k == key) return &v;
  }
  return nullptr;
}

namespace {
[[noreturn]] void wrong_type(const std::string& file, std::string_view key, const GgufValue& v, const char* want) {
  throw Error(file + ": metadata key '" + std::string(key) + "' should be " + want + " but is " +
              gguf_type_name(v.type()) + (v.type() == GgufType::ARRAY ? "" : " " + v.to_display()));
}
[[noreturn]] void missing(const std::string& file, std::string_view key) {
  throw Error(file + ": required metadata key '" + std::string(key) + "' is missing");
}
}  // namespace

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto i = v->is_integer() ? v->as_int() : std::nullopt;
  if (!i) wrong_type(name_, key, *v, "an integer");
  return i;
}

std::optional<double> GgufFile::get_double(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto d = v->as_double();
  if (!d) wrong_type(name_, key, *v, "a number");
  return d;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto b = v->as_bool();
  if (!b) wrong_type(name_, key, *v, "a bool");
  return b;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  auto s = v->as_string();
  if (!s) wrong_type(name_, key, *v, "a string");
  return std::string(*s);
}

int64_t GgufFile::require_int(std::string_view key) const {
  auto v = get_int(key);
  if (!v) missing(name_, key);
  return *v;
}

double GgufFile::require_double(std::string_view key) const {
  auto v = get_double(key);
  if (!v) missing(name_, key);
  return *v;
}

std::string GgufFile::require_string(std::string_view key) const {
  auto v = get_string(key);
  if (!v) missing(name_, key);
  return *v;
}

const GgufValue* GgufFile::find_array(std::string_view key, GgufType element_type, bool numeric_ok) const {
  const GgufValue* v = find(key);
  if (!v) return nullptr;
  bool ok = v->type() == GgufType::ARRAY &&
            (v->array_type() == element_type ||
             (numeric_ok && scalar_size(v->array_type()) != 0 && scalar_size(element_type) != 0));
  if (!ok) {
    throw Error(name_ + ": metadata key '" + std::string(key) + "' should be an array of " +
                gguf_type_name(element_type) + " but is " +
                (v->type() == GgufType::ARRAY ? std::string("an array of ") + gguf_type_name(v->array_type())
                                              : std::string(gguf_type_name(v->type()))));
  }
  return v;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  for (const auto& t : tensors_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

uint64_t GgufTensorInfo::rows() const {
  uint64_t r = 1;
  for (size_t i = 1; i < dims.size(); ++i) r *= dims[i];
  return r;
}

std::string GgufTensorInfo::shape_string() const {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// ---- Writer ------------------------------------------------------------------------------------------------

namespace {

template <typename T>
void put(std::string& out, T v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_string(std::string& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out.append(s);
}

}  // namespace

GgufWriter& GgufWriter::set_raw(const std::string& key, GgufType type, std::string payload) {
  std::string entry;
  put<uint32_t>(entry, static_cast<uint32_t>(type));
  entry += payload;
  for (auto& [k, v] : kv_) {
    if (k == key) {
      v = std::move(entry);
      return *this;
    }
  }
  kv_.emplace_back(key, std::move(entry));
  return *this;
}

#define LMZIP_GGUF_SETTER(fn, ctype, gtype)                              \
  GgufWriter& GgufWriter::fn(const std::string& key, ctype v) {          \
    std::string p;                                                       \
    put<ctype>(p, v);                                                    \
    return set_raw(key, GgufType::gtype, std::move(p));                  \
  }
LMZIP_GGUF_SETTER(set_u8, uint8_t, UINT8)
LMZIP_GGUF_SETTER(set_i8, int8_t, INT8)
LMZIP_GGUF_SETTER(set_u16, uint16_t, UINT16)
LMZIP_GGUF_SETTER(set_i16, int16_t, INT16)
LMZIP_GGUF_SETTER(set_u32, uint32_t, UINT32)
LMZIP_GGUF_SETTER(set_i32, int32_t, INT32)
LMZIP_GGUF_SETTER(set_u64, uint64_t, UINT64)
LMZIP_GGUF_SETTER(set_i64, int64_t, INT64)
LMZIP_GGUF_SETTER(set_f32, float, FLOAT32)
LMZIP_GGUF_SETTER(set_f64, double, FLOAT64)
#undef LMZIP_GGUF_SETTER

GgufWriter& GgufWriter::set_bool(const std::string& key, bool v) {
  std::string p;
  put<uint8_t>(p, v ? 1 : 0);
  return set_raw(key, GgufType::BOOL, std::move(p));
}

GgufWriter& GgufWriter::set_string(const std::string& key, std::string_view v) {
  std::string p;
  put_string(p, v);
  return set_raw(key, GgufType::STRING, std::move(p));
}

GgufWriter& GgufWriter::set_strings(const std::string& key, const std::vector<std::string>& v) {
  std::string p;
  put<uint32_t>(p, static_cast<uint32_t>(GgufType::STRING));
  put<uint64_t>(p, v.size());
  for (const auto& s : v) put_string(p, s);
  return set_raw(key, GgufType::ARRAY, std::move(p));
}

GgufWriter& GgufWriter::set_f32s(const std::string& key, const std::vector<float>& v) {
  std::string p;
  put<uint32_t>(p, static_cast<uint32_t>(GgufType::FLOAT32));
  put<uint64_t>(p, v.size());
  p.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  return set_raw(key, GgufType::ARRAY, std::move(p));
}

GgufWriter& GgufWriter::set_i32s(const std::string& key, const std::vector<int32_t>& v) {
  std::string p;
  put<uint32_t>(p, static_cast<uint32_t>(GgufType::INT32));
  put<uint64_t>(p, v.size());
  p.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int32_t));
  return set_raw(key, GgufType::ARRAY, std::move(p));
}

GgufWriter& GgufWriter::set_alignment(uint32_t alignment) {
  LMZIP_CHECK(alignment > 0 && (alignment & (alignment - 1)) == 0, "alignment must be a power of two");
  alignment_ = alignment;
  return set_u32("general.alignment", alignment);
}

GgufWriter& GgufWriter::add_tensor(const std::string& name, GgmlType type, const std::vector<uint64_t>& dims,
                                   std::string data) {
  LMZIP_CHECK(!dims.empty() && dims.size() <= kMaxDims, "tensor " + name + ": 1 to 4 dimensions");
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  auto bytes = ggml_bytes(type, n);
  LMZIP_CHECK(bytes && *bytes == data.size(), "tensor " + name + ": data size does not match its shape and type");
  for (const auto& t : tensors_) LMZIP_CHECK(t.name != name, "duplicate tensor " + name);
  tensors_.push_back({name, type, dims, std::move(data), 0, {}});
  return *this;
}

GgufWriter& GgufWriter::add_tensor_f32(const std::string& name, const std::vector<uint64_t>& dims,
                                       const std::vector<float>& values) {
  return add_tensor(name, GgmlType::F32, dims,
                    std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float)));
}

GgufWriter& GgufWriter::add_tensor_generated(const std::string& name, GgmlType type,
                                             const std::vector<uint64_t>& dims,
                                             std::function<std::string()> generate) {
  LMZIP_CHECK(!dims.empty() && dims.size() <= kMaxDims, "tensor " + name + ": 1 to 4 dimensions");
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  auto bytes = ggml_bytes(type, n);
  LMZIP_CHECK(bytes.has_value(), "tensor " + name + ": element count not a multiple of the block size");
  for (const auto& t : tensors_) LMZIP_CHECK(t.name != name, "duplicate tensor " + name);
  tensors_.push_back({name, type, dims, std::string(), 0, {}});
  tensors_.back().n_bytes = *bytes;
  tensors_.back().generate = std::move(generate);
  return *this;
}

GgufWriter& GgufWriter::set_value(const std::string& key, const GgufValue& v) {
  auto scalar = [&](GgufType t, const GgufValue& x) -> std::string {
    std::string out;
    switch (t) {
      case GgufType::UINT8: put<uint8_t>(out, static_cast<uint8_t>(*x.as_int())); break;
      case GgufType::INT8: put<int8_t>(out, static_cast<int8_t>(*x.as_int())); break;
      case GgufType::UINT16: put<uint16_t>(out, static_cast<uint16_t>(*x.as_int())); break;
      case GgufType::INT16: put<int16_t>(out, static_cast<int16_t>(*x.as_int())); break;
      case GgufType::UINT32: put<uint32_t>(out, static_cast<uint32_t>(*x.as_int())); break;
      case GgufType::INT32: put<int32_t>(out, static_cast<int32_t>(*x.as_int())); break;
      case GgufType::UINT64: put<uint64_t>(out, static_cast<uint64_t>(*x.as_int())); break;
      case GgufType::INT64: put<int64_t>(out, *x.as_int()); break;
      case GgufType::FLOAT32: put<float>(out, static_cast<float>(*x.as_double())); break;
      case GgufType::FLOAT64: put<double>(out, *x.as_double()); break;
      case GgufType::BOOL: put<uint8_t>(out, *x.as_bool() ? 1 : 0); break;
      case GgufType::STRING: put_string(out, *x.as_string()); break;
      default: throw Error("metadata " + key + ": cannot copy a value of type " + gguf_type_name(t));
    }
    return out;
  };
  if (v.type() != GgufType::ARRAY) return set_raw(key, v.type(), scalar(v.type(), v));
  std::string payload;
  put<uint32_t>(payload, static_cast<uint32_t>(v.array_type()));
  put<uint64_t>(payload, v.array_size());
  if (v.array_type() == GgufType::STRING) {
    for (std::string_view s : v.array_strings()) put_string(payload, s);
  } else if (v.array_type() == GgufType::ARRAY) {
    throw Error("metadata " + key + ": nested arrays cannot be copied");
  } else {
    for (uint64_t i = 0; i < v.array_size(); ++i) {
      switch (v.array_type()) {
        case GgufType::FLOAT32: put<float>(payload, static_cast<float>(v.array_number(i))); break;
        case GgufType::FLOAT64: put<double>(payload, v.array_number(i)); break;
        case GgufType::BOOL: case GgufType::UINT8: put<uint8_t>(payload, static_cast<uint8_t>(v.array_int(i))); break;
        case GgufType::INT8: put<int8_t>(payload, static_cast<int8_t>(v.array_int(i))); break;
        case GgufType::UINT16: put<uint16_t>(payload, static_cast<uint16_t>(v.array_int(i))); break;
        case GgufType::INT16: put<int16_t>(payload, static_cast<int16_t>(v.array_int(i))); break;
        case GgufType::UINT32: put<uint32_t>(payload, static_cast<uint32_t>(v.array_int(i))); break;
        case GgufType::INT32: put<int32_t>(payload, static_cast<int32_t>(v.array_int(i))); break;
        case GgufType::UINT64: put<uint64_t>(payload, static_cast<uint64_t>(v.array_int(i))); break;
        case GgufType::INT64: put<int64_t>(payload, v.array_int(i)); break;
        default: throw Error("metadata " + key + ": cannot copy an array of " + gguf_type_name(v.array_type()));
      }
    }
  }
  return set_raw(key, GgufType::ARRAY, std::move(payload));
}

// Header, metadata and tensor infos, padded to the alignment: everything before the tensor data.
std::string GgufWriter::header_bytes() const {
  std::string out = "GGUF";
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors_.size());
  put<uint64_t>(out, kv_.size());
  for (const auto& [key, entry] : kv_) {
    put_string(out, key);
    out += entry;
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) put<uint64_t>(out, d);
    put<uint32_t>(out, static_cast<uint32_t>(t.type));
    put<uint64_t>(out, offset);
    offset = *checked_align_up(offset + tensor_size(t), alignment_);
  }
  out.resize(*checked_align_up(out.size(), alignment_), '\0');
  return out;
}

uint64_t GgufWriter::tensor_size(const Tensor& t) const { return t.generate ? t.n_bytes : t.data.size(); }

// A generated tensor's data, checked against its declared size.
std::string GgufWriter::generated_data(const Tensor& t) const {
  std::string data = t.generate();
  LMZIP_CHECK(data.size() == t.n_bytes, "generated tensor " + t.name + ": data size does not match its shape");
  return data;
}

std::string GgufWriter::to_bytes() const {
  std::string out = header_bytes();
  for (const auto& t : tensors_) {
    out += t.generate ? generated_data(t) : t.data;
    out.resize(*checked_align_up(out.size(), alignment_), '\0');
  }
  return out;
}

// Streams tensor by tensor, so a generated tensor's data exists only while it is written.
void GgufWriter::write(const std::string& path) const {
  AtomicFileWriter file(path);
  std::string header = header_bytes();
  file.write(header);
  const std::string padding(alignment_, '\0');
  for (const auto& t : tensors_) {
    const std::string generated = t.generate ? generated_data(t) : std::string();
    const std::string& data = t.generate ? generated : t.data;
    file.write(data);
    file.write(padding.data(), *checked_align_up(data.size(), alignment_) - data.size());
  }
  file.commit();
}

}  // namespace lmzip
