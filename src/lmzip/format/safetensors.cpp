#include "lmzip/format/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "lmzip/core/checked.h"
#include "lmzip/core/error.h"
#include "lmzip/core/json.h"

namespace lmzip {
namespace {

struct DtypeInfo {
  SafetensorsDtype dtype;
  const char* name;
  uint64_t size;
};
constexpr DtypeInfo kDtypes[] = {
    {SafetensorsDtype::F64, "F64", 8},         {SafetensorsDtype::F32, "F32", 4},
    {SafetensorsDtype::F16, "F16", 2},         {SafetensorsDtype::BF16, "BF16", 2},
    {SafetensorsDtype::I64, "I64", 8},         {SafetensorsDtype::I32, "I32", 4},
    {SafetensorsDtype::I16, "I16", 2},         {SafetensorsDtype::I8, "I8", 1},
    {SafetensorsDtype::U64, "U64", 8},         {SafetensorsDtype::U32, "U32", 4},
    {SafetensorsDtype::U16, "U16", 2},         {SafetensorsDtype::U8, "U8", 1},
    {SafetensorsDtype::BOOL, "BOOL", 1},       {SafetensorsDtype::F8_E4M3, "F8_E4M3", 1},
    {SafetensorsDtype::F8_E5M2, "F8_E5M2", 1},
};

constexpr int kMaxNesting = 8;  // the header is 3 levels deep; deeper JSON is refused before parsing

// The deepest bracket nesting outside strings (a cheap guard before the JSON parser sees the text).
int nesting_depth(std::string_view s) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < s.size(); ++i) {
    const char ch = s[i];
    if (in_string) {
      if (ch == '\\') ++i;
      else if (ch == '"') in_string = false;
    } else if (ch == '"') {
      in_string = true;
    } else if (ch == '{' || ch == '[') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxNesting) return deepest;
    } else if (ch == '}' || ch == ']') {
      --depth;
    }
  }
  return deepest;
}

uint64_t read_u64le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

const char* safetensors_dtype_name(SafetensorsDtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.name;
  }
  return "?";
}

uint64_t safetensors_dtype_size(SafetensorsDtype dtype) {
  for (const auto& d : kDtypes) {
    if (d.dtype == dtype) return d.size;
  }
  return 0;
}

std::string SafetensorsTensor::shape_string() const {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  auto mapping = std::make_shared<MappedFile>(path);
  SafetensorsFile f;
  f.name_ = path;
  f.mapping_ = mapping;
  f.parse_header(mapping->data(), mapping->size());
  return f;
}

SafetensorsFile SafetensorsFile::parse(const std::string& name, const uint8_t* data, size_t size) {
  SafetensorsFile f;
  f.name_ = name;
  f.parse_header(data, size);
  return f;
}

void SafetensorsFile::parse_header(const uint8_t* data, size_t size) {
  const std::string& file = name_;
  if (size < 8) throw Error(file + ": not a safetensors file (" + std::to_string(size) + " bytes, no header length)");
  const uint64_t n = read_u64le(data);
  if (n > kMaxHeaderBytes) {
    throw Error(file + ": safetensors header length " + std::to_string(n) + " exceeds the limit of " +
                std::to_string(kMaxHeaderBytes) + " bytes (not a safetensors file, or a corrupt one)");
  }
  if (n > size - 8) {
    throw Error(file + ": safetensors header length " + std::to_string(n) + " runs past the end of the file (" +
                std::to_string(size) + " bytes): truncated?");
  }
  const std::string_view text(reinterpret_cast<const char*>(data + 8), n);
  if (nesting_depth(text) > kMaxNesting) throw Error(file + ": safetensors header: JSON nested too deeply");
  // Duplicate tensor names would let two entries claim one name: the parser keeps the last, so count keys.
  std::set<std::string> keys;
  std::string duplicate;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(text, [&](int depth, nlohmann::json::parse_event_t event, nlohmann::json& v) {
      if (event == nlohmann::json::parse_event_t::key && depth == 1 && v.is_string()) {
        if (!keys.insert(v.get<std::string>()).second && duplicate.empty()) duplicate = v.get<std::string>();
      }
      return true;
    });
  } catch (const nlohmann::json::exception& e) {
    throw Error(file + ": safetensors header is not valid JSON: " + e.what());
  }
  if (!duplicate.empty()) throw Error(file + ": safetensors header names tensor '" + duplicate + "' twice");
  if (!header.is_object()) throw Error(file + ": safetensors header is not a JSON object");

  const uint8_t* buffer = data + 8 + n;
  const uint64_t buffer_size = size - 8 - n;
  struct Range {
    uint64_t begin, end;
    size_t tensor;
  };
  std::vector<Range> ranges;
  for (const auto& [key, value] : header.items()) {
    if (key == "__metadata__") {
      if (!value.is_object()) throw Error(file + ": safetensors __metadata__ is not an object");
      for (const auto& [k, v] : value.items()) {
        if (!v.is_string()) throw Error(file + ": safetensors __metadata__ value '" + k + "' is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    const std::string where = file + ": tensor '" + key + "'";
    if (!value.is_object()) throw Error(where + ": entry is not an object");
    const auto dt = value.find("dtype");
    const auto shape = value.find("shape");
    const auto offsets = value.find("data_offsets");
    if (dt == value.end() || !dt->is_string()) throw Error(where + ": missing or non-string dtype");
    if (shape == value.end() || !shape->is_array()) throw Error(where + ": missing or non-array shape");
    if (offsets == value.end() || !offsets->is_array() || offsets->size() != 2) {
      throw Error(where + ": data_offsets must be an array [begin, end]");
    }
    SafetensorsTensor t;
    t.name = key;
    const std::string dtype = dt->get<std::string>();
    const DtypeInfo* info = nullptr;
    for (const auto& d : kDtypes) {
      if (dtype == d.name) info = &d;
    }
    if (info == nullptr) throw Error(where + ": unknown dtype '" + dtype + "'");
    t.dtype = info->dtype;
    uint64_t elements = 1;
    for (const auto& d : *shape) {
      if (!d.is_number_unsigned()) throw Error(where + ": shape entries must be non-negative integers");
      t.shape.push_back(d.get<uint64_t>());
      const auto product = checked_mul(elements, t.shape.back());
      if (!product) throw Error(where + ": shape overflows");
      elements = *product;
    }
    for (const auto& o : *offsets) {
      if (!o.is_number_unsigned()) throw Error(where + ": data_offsets must be non-negative integers");
    }
    const uint64_t begin = (*offsets)[0].get<uint64_t>(), end = (*offsets)[1].get<uint64_t>();
    if (begin > end) throw Error(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] run backwards");
    if (end > buffer_size) {
      throw Error(where + ": data_offsets end " + std::to_string(end) + " is past the data buffer (" +
                  std::to_string(buffer_size) + " bytes): truncated file?");
    }
    const uint64_t bytes = checked_mul(elements, info->size).value_or(0);
    if (bytes != end - begin || (bytes == 0 && elements != 0)) {
      throw Error(where + ": shape " + t.shape_string() + " of " + dtype + " needs " +
                  (bytes ? std::to_string(bytes) : std::string("too many")) + " bytes but data_offsets span " +
                  std::to_string(end - begin));
    }
    t.n_elements = elements;
    t.n_bytes = bytes;
    t.data = buffer + begin;
    ranges.push_back({begin, end, tensors_.size()});
    tensors_.push_back(std::move(t));
  }
  // The buffer must be covered exactly: sorted by start, each tensor begins where the previous one ended.
  std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const Range& r : ranges) {
    if (r.begin < at) {
      throw Error(file + ": tensor '" + tensors_[r.tensor].name + "' overlaps another tensor's bytes");
    }
    if (r.begin > at) {
      throw Error(file + ": bytes " + std::to_string(at) + ".." + std::to_string(r.begin) +
                  " of the data buffer belong to no tensor (before '" + tensors_[r.tensor].name + "')");
    }
    at = r.end;
  }
  if (at != buffer_size) {
    throw Error(file + ": the data buffer has " + std::to_string(buffer_size - at) +
                " bytes after the last tensor that belong to no tensor");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

const SafetensorsTensor* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

// ---- Checkpoints -------------------------------------------------------------------------------------------

SafetensorsCheckpoint SafetensorsCheckpoint::open_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  SafetensorsCheckpoint c;
  c.dir_ = dir;
  const fs::path single = fs::path(dir) / "model.safetensors";
  const fs::path index_path = fs::path(dir) / "model.safetensors.index.json";
  std::error_code ec;
  if (fs::exists(index_path, ec)) {
    const std::string where = index_path.string();
    const nlohmann::json index = parse_json(read_file(where, {.max_stream_bytes = 256u << 20}), where);
    if (!index.is_object() || !index.contains("weight_map") || !index.at("weight_map").is_object()) {
      throw Error(where + ": no weight_map object");
    }
    std::map<std::string, size_t> shard_of_file;
    std::map<std::string, std::string> wanted;  // tensor -> shard file
    for (const auto& [tensor, shard] : index.at("weight_map").items()) {
      if (!shard.is_string()) throw Error(where + ": weight_map entry '" + tensor + "' is not a file name");
      const std::string s = shard.get<std::string>();
      // Shards live beside the index: a path that leaves the directory is refused.
      if (s.empty() || s.find('/') != std::string::npos || s.find('\\') != std::string::npos || s == "." || s == "..") {
        throw Error(where + ": weight_map entry '" + tensor + "' names '" + s + "', not a file in the directory");
      }
      wanted[tensor] = s;
      if (!shard_of_file.count(s)) {
        const fs::path p = fs::path(dir) / s;
        if (!fs::exists(p, ec)) throw Error(where + ": shard " + s + " (of tensor '" + tensor + "') does not exist");
        shard_of_file[s] = c.files_.size();
        c.files_.push_back(SafetensorsFile::open(p.string()));
      }
    }
    for (const auto& [tensor, shard] : wanted) {
      const size_t f = shard_of_file[shard];
      const SafetensorsTensor* t = c.files_[f].find(tensor);
      if (t == nullptr) throw Error(where + ": tensor '" + tensor + "' is not in its shard " + shard);
      c.tensors_.emplace(tensor, std::make_pair(f, t));
    }
    for (size_t f = 0; f < c.files_.size(); ++f) {
      for (const SafetensorsTensor& t : c.files_[f].tensors()) {
        const auto it = wanted.find(t.name);
        if (it == wanted.end()) {
          throw Error(c.files_[f].name() + ": tensor '" + t.name + "' is not in the index's weight_map");
        }
        if (shard_of_file[it->second] != f) {
          throw Error(c.files_[f].name() + ": tensor '" + t.name + "' is also in shard " + it->second +
                      " (a tensor must be in exactly one shard)");
        }
      }
    }
  } else if (fs::exists(single, ec)) {
    c.files_.push_back(SafetensorsFile::open(single.string()));
    for (const SafetensorsTensor& t : c.files_[0].tensors()) c.tensors_.emplace(t.name, std::make_pair(0, &t));
  } else {
    throw Error(dir + ": no model.safetensors or model.safetensors.index.json (lmzip reads safetensors "
                "checkpoints; .bin/.pt pickles are not read)");
  }
  return c;
}

const SafetensorsTensor* SafetensorsCheckpoint::find(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : it->second.second;
}

const std::string& SafetensorsCheckpoint::file_of(std::string_view name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? dir_ : files_[it->second.first].name();
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

// ---- Writer ------------------------------------------------------------------------------------------------

SafetensorsWriter& SafetensorsWriter::add(const std::string& name, SafetensorsDtype dtype,
                                          const std::vector<uint64_t>& shape, std::string data) {
  uint64_t n = safetensors_dtype_size(dtype);
  for (uint64_t d : shape) n *= d;
  LMZIP_CHECK(n == data.size(), "safetensors tensor " + name + ": data size does not match its shape");
  tensors_.push_back({name, dtype, shape, std::move(data)});
  return *this;
}

SafetensorsWriter& SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
  return *this;
}

std::string SafetensorsWriter::to_bytes() const {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t at = 0;
  for (const Tensor& t : tensors_) {
    header[t.name] = {{"dtype", safetensors_dtype_name(t.dtype)},
                      {"shape", t.shape},
                      {"data_offsets", {at, at + t.data.size()}}};
    at += t.data.size();
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += json;
  for (const Tensor& t : tensors_) out += t.data;
  return out;
}

void SafetensorsWriter::write(const std::string& path) const { write_file_atomic(path, to_bytes()); }

}  // namespace lmzip
