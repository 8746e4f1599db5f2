// Errors: the two kinds of failure.
//  - lmzip::Error: bad input from outside (a corrupt file, a bad flag, a missing field). Thrown by the library,
//    caught at the CLI boundary, printed as one line, non-zero exit. The message names the file/field and the fix.
//  - LMZIP_CHECK: a broken internal invariant (a bug). Always on; aborts with file:line and the condition.
#pragma once

#include <stdexcept>
#include <string>

namespace lmzip {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown for a bad command line (the CLI prints usage help with it).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

[[noreturn]] void check_failed(const char* condition, const char* file, int line, const std::string& detail);

}  // namespace lmzip

#define LMZIP_CHECK(cond, ...)                                                         \
  do {                                                                                 \
    if (!(cond)) ::lmzip::check_failed(#cond, __FILE__, __LINE__, std::string{__VA_ARGS__}); \
  } while (0)
