#include "lmzip/core/utf8.h"

namespace lmzip {
namespace {

// Length of the sequence starting at s[pos] and its code point, or 0 when malformed.
size_t sequence(std::string_view s, size_t pos, uint32_t& cp) {
  auto b = [&](size_t i) { return static_cast<uint8_t>(s[pos + i]); };
  uint8_t c = b(0);
  size_t n;
  uint32_t min;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2; cp = c & 0x1F; min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3; cp = c & 0x0F; min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4; cp = c & 0x07; min = 0x10000;
  } else {
    return 0;
  }
  if (pos + n > s.size()) return 0;
  for (size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

}  // namespace

bool is_valid_utf8(std::string_view s, size_t* error_offset) {
  size_t pos = 0;
  while (pos < s.size()) {
    // Fast path over ASCII.
    if (static_cast<uint8_t>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    uint32_t cp;
    size_t n = sequence(s, pos, cp);
    if (n == 0) {
      if (error_offset) *error_offset = pos;
      return false;
    }
    pos += n;
  }
  return true;
}

size_t count_code_points(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
  return n;
}

uint32_t decode_utf8(std::string_view s, size_t& pos) {
  uint32_t cp;
  size_t n = sequence(s, pos, cp);
  if (n == 0) {
    ++pos;
    return 0xFFFD;
  }
  pos += n;
  return cp;
}

std::string escape_invalid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    size_t bad = 0;
    if (is_valid_utf8(s.substr(pos), &bad)) bad = s.size() - pos;
    for (size_t i = pos; i < pos + bad; ++i) {
      out += s[i];
      if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'x') out += '\\';  // "\x" stays distinguishable
    }
    pos += bad;
    if (pos < s.size()) {
      static const char* hex = "0123456789ABCDEF";
      const auto b = static_cast<unsigned char>(s[pos]);
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 15];
      ++pos;
    }
  }
  return out;
}

std::string printable(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    uint32_t cp = 0;
    size_t n = sequence(s, pos, cp);
    // Controls move the cursor or start terminal escapes; bidi overrides reorder what is shown.
    const bool shown = n > 0 && cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0) &&
                       !(cp >= 0x202A && cp <= 0x202E) && !(cp >= 0x2066 && cp <= 0x2069);
    if (n == 0) n = 1;
    for (size_t i = pos; i < pos + n; ++i) {
      if (shown) {
        out += s[i];
      } else {
        const auto b = static_cast<unsigned char>(s[i]);
        out += "\\x";
        out += hex[b >> 4];
        out += hex[b & 15];
      }
    }
    pos += n;
  }
  return out;
}

}  // namespace lmzip
