// AtomicFileWriter: a regular file is replaced atomically; devices, FIFOs and stdout are written through (never
// replaced by a regular file); a symbolic link is followed and stays a link; a directory is an error.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

TEST(AtomicFileWriter, ReplacesRegularFilesAndLeavesNoTemporaries) {
  const std::string dir = test::temp_dir() + "/afw-regular";
  ::mkdir(dir.c_str(), 0755);
  write_file_atomic(dir + "/a", "old");
  write_file_atomic(dir + "/a", "new");
  EXPECT_EQ(read_file(dir + "/a"), "new");
  {
    AtomicFileWriter w(dir + "/b");
    w.write("never committed");
  }
  EXPECT_FALSE(file_exists(dir + "/b"));
  std::string out, err;
  ASSERT_EQ(test::run_command("ls " + dir, &out, &err), 0);
  EXPECT_EQ(out, "a\n");  // no .tmp files left behind
}

TEST(AtomicFileWriter, WritesThroughDevicesAndFifos) {
  // /dev/null stays a character device (renaming a temporary over it would destroy it when run as root).
  write_file_atomic("/dev/null", "discarded");
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  const std::string fifo = test::temp_dir() + "/afw.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string got;
  std::thread reader([&] { got = read_file(fifo); });
  write_file_atomic(fifo, "through the pipe");
  reader.join();
  EXPECT_EQ(got, "through the pipe");
  ASSERT_EQ(::lstat(fifo.c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST(AtomicFileWriter, FollowsSymlinksAndRefusesDirectories) {
  const std::string dir = test::temp_dir() + "/afw-link";
  ::mkdir(dir.c_str(), 0755);
  write_file_atomic(dir + "/target", "old");
  ASSERT_EQ(::symlink("target", (dir + "/link").c_str()), 0);
  write_file_atomic(dir + "/link", "new");
  struct stat st;
  ASSERT_EQ(::lstat((dir + "/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(read_file(dir + "/target"), "new");
  try {
    write_file_atomic(dir, "x");
    FAIL() << "wrote onto a directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("is a directory"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmzip
