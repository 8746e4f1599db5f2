// Safetensors files (Hugging Face checkpoints): a memory-mapped reader that trusts nothing it reads, and a
// checkpoint of one file or of shards listed in model.safetensors.index.json.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON (an object: tensor name -> {dtype, shape,
// data_offsets: [begin, end]} relative to the byte buffer after the header, plus an optional "__metadata__"
// object of strings), then the byte buffer. The reader checks N (at most 100 MB and inside the file), the JSON,
// every dtype, shape and offset pair (shape x dtype size = end - begin, no overflow, inside the buffer), that no
// two tensors overlap and that the tensors cover the buffer with no gap; any violation throws lmzip::Error naming
// the file and the tensor or field. Tensor data are views into the mapping.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lmzip/io/file.h"

namespace lmzip {

enum class SafetensorsDtype { F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, F8_E4M3, F8_E5M2 };

const char* safetensors_dtype_name(SafetensorsDtype dtype);
uint64_t safetensors_dtype_size(SafetensorsDtype dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::F32;
  std::vector<uint64_t> shape;  // as stored: row-major, the last dimension contiguous
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping

  std::string shape_string() const;  // e.g. "(4096, 11008)"
};

class SafetensorsFile {
 public:
  static constexpr uint64_t kMaxHeaderBytes = 100'000'000;

  static SafetensorsFile open(const std::string& path);
  // Parses a buffer the caller keeps alive (fuzzing, tests); `name` appears in error messages.
  static SafetensorsFile parse(const std::string& name, const uint8_t* data, size_t size);

  const std::string& name() const { return name_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // in the header's order
  const SafetensorsTensor* find(std::string_view name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::shared_ptr<const MappedFile> mapping() const { return mapping_; }

 private:
  void parse_header(const uint8_t* data, size_t size);
  std::string name_;
  std::shared_ptr<const MappedFile> mapping_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t, std::less<>> index_;
  std::map<std::string, std::string> metadata_;
};

// The weights of a Hugging Face checkpoint directory: model.safetensors, or the shards that
// model.safetensors.index.json's weight_map names (each a plain file name in the same directory; every tensor of
// the map found in its shard, every tensor of every shard in the map, none in two shards).
class SafetensorsCheckpoint {
 public:
  static SafetensorsCheckpoint open_dir(const std::string& dir);

  const std::string& dir() const { return dir_; }
  // The tensor and the file it lives in, or nullptr.
  const SafetensorsTensor* find(std::string_view name) const;
  const std::string& file_of(std::string_view name) const;  // for error messages; the tensor must exist
  std::vector<std::string> names() const;                   // sorted
  const std::vector<SafetensorsFile>& files() const { return files_; }

 private:
  std::string dir_;
  std::vector<SafetensorsFile> files_;
  std::map<std::string, std::pair<size_t, const SafetensorsTensor*>, std::less<>> tensors_;
};

// Builds a safetensors file (tests write Hugging Face checkpoints with it): tensors in the order added, the
// header padded with spaces to a multiple of 8 bytes as the reference implementation writes it.
class SafetensorsWriter {
 public:
  // `data` must hold exactly product(shape) x dtype size bytes.
  SafetensorsWriter& add(const std::string& name, SafetensorsDtype dtype, const std::vector<uint64_t>& shape,
                         std::string data);
  SafetensorsWriter& set_metadata(const std::string& key, const std::string& value);
  std::string to_bytes() const;
  void write(const std::string& path) const;  // atomically

 private:
  struct Tensor {
    std::string name;
    SafetensorsDtype dtype;
    std::vector<uint64_t> shape;
    std::string data;
  };
  std::vector<Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace lmzip
