// Helpers shared by the test executables.
#pragma once

#include <string>

namespace lmzip::test {

// ../shared (from $LMZIP_SHARED, set by ctest). Fails the calling test loudly (GTEST_FAIL via the returned
// empty string check) when absent: use LMZIP_REQUIRE_SHARED("vocab") at the top of a test.
std::string shared_dir();
// True when <shared>/<sub> exists.
bool shared_has(const std::string& sub);

// A fresh temporary directory for this test process (removed at exit).
std::string temp_dir();

// Path of the built `lmzip` binary (from $LMZIP_BIN, else build/lmzip).
std::string lmzip_bin();

// Runs a shell command; returns its exit status and captures stdout (and stderr into `err` when given).
int run_command(const std::string& command, std::string* out, std::string* err = nullptr);

// Runs the built `lmzip` with `args` (a shell-quoted argument string).
struct CliResult {
  int rc = -1;
  std::string out, err;
};
CliResult run_lmzip(const std::string& args);

}  // namespace lmzip::test

// Fails the test with a clear message when ../shared/<sub> is missing (CI has it; a missing copy is an error,
// never a silent skip).
#define LMZIP_REQUIRE_SHARED(sub)                                                                       \
  do {                                                                                                  \
    if (!::lmzip::test::shared_has(sub)) {                                                              \
      GTEST_FAIL() << "test material missing: " << ::lmzip::test::shared_dir() << "/" << (sub)          \
                   << " (the ../shared directory beside the checkout; set LMZIP_SHARED to its path)";    \
    }                                                                                                   \
  } while (0)
