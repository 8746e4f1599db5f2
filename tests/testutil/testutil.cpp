#include "testutil/testutil.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lmzip::test {

std::string shared_dir() {
  const char* env = std::getenv("LMZIP_SHARED");
  if (env && *env) return env;
  return "../shared";
}

bool shared_has(const std::string& sub) {
  struct stat st;
  return ::stat((shared_dir() + "/" + sub).c_str(), &st) == 0;
}

namespace {
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/lmzip-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    path = p ? p : "/tmp";
  }
  ~TempDir() {
    if (path != "/tmp") {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  }
};
}  // namespace

std::string temp_dir() {
  static TempDir dir;
  return dir.path;
}

std::string lmzip_bin() {
  const char* env = std::getenv("LMZIP_BIN");
  if (env && *env) return env;
  return "build/lmzip";
}

int run_command(const std::string& command, std::string* out, std::string* err) {
  // Commands get a results store private to this test process (unless the test chose one): parallel tests never
  // contend for one database file, and nothing is written into the working directory.
  static const bool private_db = ::setenv("LMZIP_DB", (temp_dir() + "/results.sqlite").c_str(), 0) == 0;
  (void)private_db;
  std::string err_file = temp_dir() + "/stderr." + std::to_string(::getpid());
  std::string full = command + (err ? " 2>" + err_file : "");
  FILE* p = ::popen(full.c_str(), "r");
  if (!p) return -1;
  std::string captured;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) captured.append(buf, n);
  int status = ::pclose(p);
  if (out) *out = captured;
  if (err) {
    std::ifstream f(err_file);
    std::stringstream ss;
    ss << f.rdbuf();
    *err = ss.str();
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

CliResult run_lmzip(const std::string& args) {
  CliResult r;
  r.rc = run_command(lmzip_bin() + " " + args, &r.out, &r.err);
  return r;
}

}  // namespace lmzip::test
