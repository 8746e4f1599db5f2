// The safetensors reader: real values through the writer, and every malformed header rejected with a message
// that names the file and the problem.
#include "lmzip/format/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "lmzip/core/error.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string floats(std::initializer_list<float> v) {
  std::string s(v.size() * 4, '\0');
  std::memcpy(s.data(), v.begin(), s.size());
  return s;
}

// A file from a raw JSON header and buffer (for headers the writer would never produce).
std::string raw_file(const std::string& json, const std::string& buffer) {
  std::string out(8, '\0');
  const uint64_t n = json.size();
  std::memcpy(out.data(), &n, 8);
  return out + json + buffer;
}

SafetensorsFile parse(const std::string& bytes) {
  return SafetensorsFile::parse("t.safetensors", reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

std::string parse_error(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(Safetensors, WriterRoundTripGivesValuesShapesAndMetadata) {
  SafetensorsWriter w;
  w.set_metadata("format", "pt");
  w.add("model.embed_tokens.weight", SafetensorsDtype::F32, {2, 3}, floats({1, 2, 3, 4, 5, 6}));
  w.add("model.norm.weight", SafetensorsDtype::BF16, {2}, std::string("\x80\x3f\x00\x40", 4));  // 1.0, 2.0
  const std::string bytes = w.to_bytes();
  uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n % 8, 0u);  // padded like the reference writer
  SafetensorsFile f = parse(bytes);
  ASSERT_EQ(f.tensors().size(), 2u);
  EXPECT_EQ(f.metadata().at("format"), "pt");
  const SafetensorsTensor* e = f.find("model.embed_tokens.weight");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->shape, (std::vector<uint64_t>{2, 3}));
  EXPECT_EQ(e->shape_string(), "(2, 3)");
  EXPECT_EQ(e->n_bytes, 24u);
  float v[6];
  std::memcpy(v, e->data, 24);
  EXPECT_EQ(v[5], 6.0f);
  const SafetensorsTensor* norm = f.find("model.norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->dtype, SafetensorsDtype::BF16);
  EXPECT_EQ(norm->shape_string(), "(2,)");
  EXPECT_EQ(norm->data[1], 0x3f);
  EXPECT_EQ(f.find("missing"), nullptr);
}

TEST(Safetensors, ScalarsAndEmptyTensorsAreValid) {
  const std::string json = R"({"s":{"dtype":"F16","shape":[],"data_offsets":[0,2]},)"
                           R"("z":{"dtype":"I64","shape":[0,4],"data_offsets":[2,2]}})";
  SafetensorsFile f = parse(raw_file(json, std::string(2, '\0')));
  EXPECT_EQ(f.find("s")->n_elements, 1u);
  EXPECT_EQ(f.find("z")->n_bytes, 0u);
}

TEST(Safetensors, MalformedHeadersAreRefusedWithTheReason) {
  const std::string t = R"("dtype":"F32","shape":[2])";
  struct Case {
    std::string bytes, expect;
  };
  std::string huge(8, '\0');
  const uint64_t big = 200'000'000;
  std::memcpy(huge.data(), &big, 8);
  std::string past(8, '\0');
  const uint64_t ten = 10;
  std::memcpy(past.data(), &ten, 8);
  past += "{}";
  const Case cases[] = {
      {"abc", "no header length"},
      {huge, "exceeds the limit of 100000000 bytes"},
      {past, "runs past the end of the file"},
      {raw_file("{\"a\":", ""), "not valid JSON"},
      {raw_file("[1,2]", ""), "not a JSON object"},
      {raw_file("{\"a\":{" + t + ",\"data_offsets\":[0,8]},\"a\":{" + t + ",\"data_offsets\":[0,8]}}", std::string(8, 0)),
       "names tensor 'a' twice"},
      {raw_file(R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", std::string(8, 0)), "unknown dtype 'Q4'"},
      {raw_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", std::string(8, 0)), "non-negative integers"},
      {raw_file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, 0)),
       "needs 12 bytes but data_offsets span 8"},
      {raw_file("{\"a\":{" + t + ",\"data_offsets\":[0,8]}}", std::string(4, 0)), "past the data buffer"},
      {raw_file("{\"a\":{" + t + ",\"data_offsets\":[8,0]}}", std::string(8, 0)), "run backwards"},
      {raw_file("{\"a\":{" + t + ",\"data_offsets\":[0,8]},\"b\":{" + t + ",\"data_offsets\":[4,12]}}", std::string(12, 0)),
       "overlaps"},
      {raw_file("{\"a\":{" + t + ",\"data_offsets\":[4,12]}}", std::string(12, 0)), "belong to no tensor"},
      {raw_file("{\"a\":{" + t + ",\"data_offsets\":[0,8]}}", std::string(12, 0)), "4 bytes after the last tensor"},
      {raw_file(R"({"a":{"dtype":"F32","shape":[18446744073709551615,4],"data_offsets":[0,8]}})", std::string(8, 0)),
       "shape overflows"},
      {raw_file(std::string(20, '[') + std::string(20, ']'), ""), "nested too deeply"},
      {raw_file(R"({"__metadata__":{"k":1}})", ""), "__metadata__ value 'k' is not a string"},
      {raw_file(R"({"a":{"dtype":"F32","shape":[2]}})", ""), "data_offsets must be an array"},
  };
  for (const Case& c : cases) {
    const std::string message = parse_error(c.bytes);
    EXPECT_NE(message.find("t.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find(c.expect), std::string::npos) << "expected '" << c.expect << "' in: " << message;
  }
}

TEST(Safetensors, ShardedCheckpointFindsEveryTensorInExactlyOneShard) {
  namespace fs = std::filesystem;
  const std::string dir = test::temp_dir() + "/sharded";
  fs::create_directories(dir);
  SafetensorsWriter a, b;
  a.add("x", SafetensorsDtype::F32, {1}, floats({1}));
  b.add("y", SafetensorsDtype::F32, {1}, floats({2}));
  a.write(dir + "/model-00001-of-00002.safetensors");
  b.write(dir + "/model-00002-of-00002.safetensors");
  auto index = [&](const std::string& map) {
    std::ofstream(dir + "/model.safetensors.index.json") << R"({"metadata":{},"weight_map":)" << map << "}";
  };
  index(R"({"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"})");
  SafetensorsCheckpoint c = SafetensorsCheckpoint::open_dir(dir);
  ASSERT_NE(c.find("y"), nullptr);
  float y = 0;
  std::memcpy(&y, c.find("y")->data, 4);
  EXPECT_EQ(y, 2.0f);
  EXPECT_EQ(c.names(), (std::vector<std::string>{"x", "y"}));
  EXPECT_NE(c.file_of("y").find("00002"), std::string::npos);

  auto error = [&]() -> std::string {
    try {
      SafetensorsCheckpoint::open_dir(dir);
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  index(R"({"x":"model-00001-of-00002.safetensors","y":"model-00001-of-00002.safetensors"})");
  EXPECT_NE(error().find("tensor 'y' is not in its shard"), std::string::npos) << error();
  {
    SafetensorsWriter extra;  // a shard holding a tensor the map does not list
    extra.add("x", SafetensorsDtype::F32, {1}, floats({1}));
    extra.add("w", SafetensorsDtype::F32, {1}, floats({9}));
    extra.write(dir + "/model-00001-of-00002.safetensors");
    index(R"({"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"})");
    EXPECT_NE(error().find("'w' is not in the index's weight_map"), std::string::npos) << error();
    a.write(dir + "/model-00001-of-00002.safetensors");
  }
  index(R"({"x":"../elsewhere.safetensors"})");
  EXPECT_NE(error().find("not a file in the directory"), std::string::npos) << error();
  index(R"({"x":"model-00003-of-00002.safetensors"})");
  EXPECT_NE(error().find("does not exist"), std::string::npos) << error();
  // A tensor in two shards: both files hold "x", the map sends it to the first.
  b.add("x", SafetensorsDtype::F32, {1}, floats({3}));
  b.write(dir + "/model-00002-of-00002.safetensors");
  index(R"({"x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"})");
  EXPECT_NE(error().find("exactly one shard"), std::string::npos) << error();
  // A truncated shard names itself.
  fs::resize_file(dir + "/model-00002-of-00002.safetensors", 20);
  EXPECT_NE(error().find("model-00002-of-00002.safetensors"), std::string::npos) << error();
  fs::remove(dir + "/model.safetensors.index.json");
  EXPECT_NE(error().find("no model.safetensors"), std::string::npos) << error();
}

}  // namespace
}  // namespace lmzip
