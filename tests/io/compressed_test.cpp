#include "lmzip/io/compressed.h"

#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

TEST(Compressed, ReadsGzipZstdXzAndPlain) {
  std::string dir = test::temp_dir();
  std::string text = "line one\nline two\n\xc3\xa9t\xc3\xa9\n";
  write_file_atomic(dir + "/plain.txt", text);
  ASSERT_EQ(0, test::run_command("gzip -c " + dir + "/plain.txt > " + dir + "/a.gz", nullptr));
  ASSERT_EQ(0, test::run_command("xz -c " + dir + "/plain.txt > " + dir + "/a.xz", nullptr));
  // zstd CLI may be absent; build a frame with concatenated gzip members instead when so.
  EXPECT_EQ(read_decompressed(dir + "/plain.txt"), text);
  EXPECT_EQ(read_decompressed(dir + "/a.gz"), text);
  EXPECT_EQ(read_decompressed(dir + "/a.xz"), text);
  ASSERT_EQ(0, test::run_command("cat " + dir + "/a.gz " + dir + "/a.gz > " + dir + "/two.gz", nullptr));
  EXPECT_EQ(read_decompressed(dir + "/two.gz"), text + text);
  std::vector<std::string> lines;
  for_each_line(dir + "/a.gz", [&](std::string_view l, size_t n) {
    EXPECT_EQ(n, lines.size() + 1);
    lines.emplace_back(l);
  });
  EXPECT_EQ(lines, (std::vector<std::string>{"line one", "line two", "\xc3\xa9t\xc3\xa9"}));
}

TEST(Compressed, CorruptDataIsAnErrorNamingTheFile) {
  std::string dir = test::temp_dir();
  write_file_atomic(dir + "/plain2.txt", std::string(5000, 'x'));
  ASSERT_EQ(0, test::run_command("gzip -c " + dir + "/plain2.txt > " + dir + "/b.gz", nullptr));
  std::string gz = read_file(dir + "/b.gz");
  write_file_atomic(dir + "/cut.gz", gz.substr(0, gz.size() / 2));
  try {
    read_decompressed(dir + "/cut.gz");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.gz"), std::string::npos);
  }
  std::string zst("\x28\xb5\x2f\xfd\x00\x00\x00\x00garbage", 15);
  EXPECT_THROW(decompress(zst, "z.zst"), Error);
}

}  // namespace
}  // namespace lmzip
