// UTF-8 validation and code point counting (characters in the study's sense: Python len(str)).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lmzip {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). On failure and when
// `error_offset` is given, it receives the byte offset of the first bad sequence.
bool is_valid_utf8(std::string_view s, size_t* error_offset = nullptr);

// Number of code points in valid UTF-8 (every byte that is not a continuation byte starts one).
size_t count_code_points(std::string_view s);

// `s` with every byte that is not part of valid UTF-8 written as the four characters \xNN (and a backslash
// that would start such an escape doubled), so that names from the file system stay valid in JSON and in the
// results store, and the original bytes can be read back.
std::string escape_invalid_utf8(std::string_view s);

// `s` made safe to quote in a message on a terminal: invalid UTF-8 bytes, control characters (C0, DEL, C1) and
// bidirectional overrides written as \xNN per byte; everything else, backslashes included, unchanged. For
// display only (escape_invalid_utf8 is the reversible form).
std::string printable(std::string_view s);

// Decodes one code point at s[pos] (valid UTF-8 assumed by the caller or checked): returns the code point and
// advances pos; malformed input yields U+FFFD and advances by one byte.
uint32_t decode_utf8(std::string_view s, size_t& pos);

// Appends the UTF-8 encoding of `cp` to `out`.
template <typename String>
void append_utf8(String& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace lmzip
