#include "lmzip/core/pystr.h"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/stringoptions.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <climits>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

// The root locale: no Turkish dotless i, no Lithuanian or Dutch rules, whatever the process locale is (Python's
// str methods are locale-independent).
constexpr const char* kRootLocale = "";

int32_t checked_length(std::string_view s) {
  if (s.size() > static_cast<size_t>(INT32_MAX)) throw Error("text of " + std::to_string(s.size()) + " bytes is too long to case-map");
  return static_cast<int32_t>(s.size());
}

// [begin, end) byte range of `s` left after removing leading (`left`) and trailing (`right`) whitespace.
std::string_view strip_range(std::string_view s, bool left, bool right) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const int32_t n = checked_length(s);
  int32_t begin = 0, end = n;
  if (left) {
    while (begin < end) {
      int32_t next = begin;
      UChar32 c;
      U8_NEXT(p, next, end, c);  // c < 0 for an ill-formed sequence: never whitespace
      if (c < 0 || !py_isspace(static_cast<uint32_t>(c))) break;
      begin = next;
    }
  }
  if (right) {
    while (end > begin) {
      int32_t prev = end;
      UChar32 c;
      U8_PREV(p, begin, prev, c);
      if (c < 0 || !py_isspace(static_cast<uint32_t>(c))) break;
      end = prev;
    }
  }
  return s.substr(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
}

void check(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) throw Error(std::string("ICU ") + what + " failed: " + u_errorName(status));
}

}  // namespace

bool py_isspace(uint32_t code_point) {
  if (code_point > 0x10FFFF) return false;
  const auto c = static_cast<UChar32>(code_point);
  if (u_charType(c) == U_SPACE_SEPARATOR) return true;  // Zs
  const UCharDirection bidi = u_charDirection(c);
  return bidi == U_WHITE_SPACE_NEUTRAL || bidi == U_BLOCK_SEPARATOR || bidi == U_SEGMENT_SEPARATOR;  // WS, B, S
}

std::string py_strip(std::string_view s) { return std::string(strip_range(s, true, true)); }
std::string py_lstrip(std::string_view s) { return std::string(strip_range(s, true, false)); }
std::string py_rstrip(std::string_view s) { return std::string(strip_range(s, false, true)); }
std::string_view py_strip_view(std::string_view s) { return strip_range(s, true, true); }

std::string py_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  checked_length(s);
  icu::CaseMap::utf8ToLower(kRootLocale, 0, icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink,
                            nullptr, status);
  check(status, "lower-casing");
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  icu::StringByteSink<std::string> sink(&out);
  UErrorCode status = U_ZERO_ERROR;
  checked_length(s);
  // The whole string is one title-casing segment, and its first character is the one title-cased, whatever it
  // is (no adjustment to the first letter): Python's do_capitalize. ICU then lowercases the rest with the whole
  // string as the final-sigma context, as Python's lower_ucs4 does.
  icu::CaseMap::utf8ToTitle(kRootLocale, U_TITLECASE_WHOLE_STRING | U_TITLECASE_NO_BREAK_ADJUSTMENT, nullptr,
                            icu::StringPiece(s.data(), static_cast<int32_t>(s.size())), sink, nullptr, status);
  check(status, "title-casing");
  return out;
}

}  // namespace lmzip
