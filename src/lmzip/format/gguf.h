// GGUF files (v2 and v3): a memory-mapped reader that trusts nothing it reads, and a writer for v3.
//
// The reader checks every count, length, offset, dimension and byte size against the file size with
// overflow-safe arithmetic; a malformed file throws lmzip::Error naming the file, the field or tensor and what
// is wrong. Strings, string arrays and tensor data are views into the mapping: a GgufFile must outlive them.
// A GgufFile is immutable after open and safe to read from many threads.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lmzip/format/ggml_types.h"
#include "lmzip/io/file.h"

namespace lmzip {

enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};

const char* gguf_type_name(GgufType type);

// One metadata value. Scalars are held by value; strings and arrays point into the file mapping.
class GgufValue {
 public:
  GgufType type() const { return type_; }
  bool is_integer() const;  // any of the 8 integer types
  bool is_number() const { return is_integer() || type_ == GgufType::FLOAT32 || type_ == GgufType::FLOAT64; }

  // Scalars, converted where the conversion is exact; throw lmzip::Error (via the owning file) otherwise.
  std::optional<int64_t> as_int() const;     // integer types (and bool), if representable
  std::optional<double> as_double() const;   // any number
  std::optional<bool> as_bool() const;       // BOOL only
  std::optional<std::string_view> as_string() const;

  // Arrays.
  GgufType array_type() const { return array_type_; }
  uint64_t array_size() const { return array_size_; }
  const std::vector<std::string_view>& array_strings() const { return strings_; }  // STRING arrays
  const std::vector<GgufValue>& array_values() const { return nested_; }           // arrays of arrays
  // Numeric arrays element by element (converted to double / int64); index must be < array_size().
  double array_number(uint64_t index) const;
  int64_t array_int(uint64_t index) const;

  // A short human-readable rendering (arrays abbreviated), for `lmzip info`.
  std::string to_display(size_t max_items = 8) const;

 private:
  friend class GgufParser;
  GgufType type_ = GgufType::UINT8;
  uint64_t u_ = 0;  // unsigned integers and bool
  int64_t i_ = 0;   // signed integers
  double f_ = 0;    // floats
  std::string_view s_;
  GgufType array_type_ = GgufType::UINT8;
  uint64_t array_size_ = 0;
  const uint8_t* array_data_ = nullptr;  // numeric arrays: packed little-endian elements
  std::vector<std::string_view> strings_;
  std::vector<GgufValue> nested_;
};

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ne[0] first: ne[0] is the contiguous (row) dimension
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;         // relative to the start of the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  uint64_t rows() const;  // product of dims[1..]
  std::string shape_string() const;  // e.g. "[4096, 32000]"
};

class GgufFile {
 public:
  // Opens and validates a file (memory-mapped).
  static GgufFile open(const std::string& path);
  // Parses a buffer that the caller keeps alive (fuzzing, tests). `name` appears in error messages.
  static GgufFile parse(const std::string& name, const uint8_t* data, size_t size);
  // A file assembled in memory (a Hugging Face checkpoint read as the GGUF a converter would write): the
  // metadata from `header` (a GGUF without tensors, e.g. GgufWriter::to_bytes()), the tensors as given, with data
  // wherever it lives (each `data` pointer must hold n_bytes, checked against its type and dims here). `keep`
  // holds what the pointers point into (mappings, owned buffers) for as long as the file (or a copy) lives.
  // file_data()/file_size() then cover the header only.
  static GgufFile assemble(const std::string& name, std::shared_ptr<const std::string> header,
                           std::vector<GgufTensorInfo> tensors, std::vector<std::shared_ptr<const void>> keep);

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return size_; }
  const uint8_t* file_data() const { return data_; }

  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return metadata_; }
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed lookups: nullopt when the key is absent; lmzip::Error when present with an incompatible type.
  std::optional<int64_t> get_int(std::string_view key) const;
  std::optional<double> get_double(std::string_view key) const;
  std::optional<bool> get_bool(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  // As above, but a missing key is an lmzip::Error naming the file and key.
  int64_t require_int(std::string_view key) const;
  double require_double(std::string_view key) const;
  std::string require_string(std::string_view key) const;
  // An array value, or nullptr when absent; lmzip::Error when present but not an array of `element_type`
  // (any numeric element type is accepted when `element_type` is a number type and `numeric_ok`).
  const GgufValue* find_array(std::string_view key, GgufType element_type, bool numeric_ok = false) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;

  // "general.architecture", or an error.
  std::string architecture() const { return require_string("general.architecture"); }

 private:
  friend class GgufParser;
  std::string name_;
  std::shared_ptr<MappedFile> mapping_;  // null for parse()
  std::shared_ptr<const std::string> header_;       // assemble(): the metadata bytes
  std::vector<std::shared_ptr<const void>> keep_;   // assemble(): what tensor data points into
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<GgufTensorInfo> tensors_;
};

// Builds a GGUF v3 file: metadata in insertion order, tensors aligned to general.alignment (default 32).
class GgufWriter {
 public:
  GgufWriter& set_u8(const std::string& key, uint8_t v);
  GgufWriter& set_i8(const std::string& key, int8_t v);
  GgufWriter& set_u16(const std::string& key, uint16_t v);
  GgufWriter& set_i16(const std::string& key, int16_t v);
  GgufWriter& set_u32(const std::string& key, uint32_t v);
  GgufWriter& set_i32(const std::string& key, int32_t v);
  GgufWriter& set_u64(const std::string& key, uint64_t v);
  GgufWriter& set_i64(const std::string& key, int64_t v);
  GgufWriter& set_f32(const std::string& key, float v);
  GgufWriter& set_f64(const std::string& key, double v);
  GgufWriter& set_bool(const std::string& key, bool v);
  GgufWriter& set_string(const std::string& key, std::string_view v);
  GgufWriter& set_strings(const std::string& key, const std::vector<std::string>& v);
  GgufWriter& set_f32s(const std::string& key, const std::vector<float>& v);
  GgufWriter& set_i32s(const std::string& key, const std::vector<int32_t>& v);
  GgufWriter& set_alignment(uint32_t alignment);  // writes general.alignment
  // A value read from another file, with its exact type (arrays of any element type; nested arrays refused).
  GgufWriter& set_value(const std::string& key, const GgufValue& value);

  // Adds a tensor; `data` must hold exactly ggml_bytes(type, product(dims)) bytes.
  GgufWriter& add_tensor(const std::string& name, GgmlType type, const std::vector<uint64_t>& dims,
                         std::string data);
  GgufWriter& add_tensor_f32(const std::string& name, const std::vector<uint64_t>& dims,
                             const std::vector<float>& values);
  // Adds a tensor whose data is produced by `generate` only while the file is written (write() streams, so
  // multi-GB synthetic models never sit in memory whole). generate() must return ggml_bytes(type, n) bytes.
  GgufWriter& add_tensor_generated(const std::string& name, GgmlType type, const std::vector<uint64_t>& dims,
                                   std::function<std::string()> generate);

  std::string to_bytes() const;
  void write(const std::string& path) const;  // atomically

 private:
  struct Tensor {
    std::string name;
    GgmlType type;
    std::vector<uint64_t> dims;
    std::string data;
    uint64_t n_bytes = 0;                    // generated tensors: the size generate() returns
    std::function<std::string()> generate;  // empty for tensors given with their data
  };
  std::string header_bytes() const;
  uint64_t tensor_size(const Tensor& t) const;
  std::string generated_data(const Tensor& t) const;
  GgufWriter& set_raw(const std::string& key, GgufType type, std::string payload);
  std::vector<std::pair<std::string, std::string>> kv_;  // key -> type id + payload, serialized
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace lmzip
