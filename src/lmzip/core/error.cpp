#include "lmzip/core/error.h"

#include <cstdio>
#include <cstdlib>

namespace lmzip {

void check_failed(const char* condition, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "lmzip: internal error (a bug, please report it): CHECK(%s) failed at %s:%d%s%s\n", condition,
               file, line, detail.empty() ? "" : ": ", detail.c_str());
  std::abort();
}

}  // namespace lmzip
