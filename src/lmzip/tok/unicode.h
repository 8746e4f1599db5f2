// Unicode character classes for the pre-tokenizers, and a lenient UTF-8 decoder.
//
// Pre-tokenizer regexes (\p{L}, \p{N}, \s, ...) are matched by hand-written code over code points; each code point
// gets a 16-bit set of class flags from a two-stage table built once from utf8proc's general categories. The
// table is immutable after its first use and safe to read from many threads.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lmzip::unicode {

// Class flags of one code point. The first five are Unicode general categories; the rest are the literal character
// sets some pre-tokenizers name (bracketed ranges in their regexes).
enum Flag : uint16_t {
  kLetter = 1u << 0,       // \p{L}: Lu Ll Lt Lm Lo
  kNumber = 1u << 1,       // \p{N}: Nd Nl No
  kPunct = 1u << 2,        // \p{P}: Pc Pd Ps Pe Pi Pf Po
  kMark = 1u << 3,         // \p{M}: Mn Mc Me
  kSymbol = 1u << 4,       // \p{S}: Sm Sc Sk So
  kSpace = 1u << 5,        // \s: the White_Space property (as Oniguruma, Rust regex and llama.cpp define \s)
  kNewline = 1u << 6,      // [\r\n]
  kAsciiDigit = 1u << 7,   // [0-9]
  kAsciiSymbol = 1u << 8,  // [$+<=>^~|]: ASCII punctuation outside \p{P} (falcon's and the default's class)
  kBacktick = 1u << 9,     // ` (in falcon's punctuation class, not in the default's)
  kDsLetter = 1u << 10,    // deepseek-llm's explicit letter ranges [A-Za-zµÀ-ÖØ-ö...]
  kDsPunct = 1u << 11,     // deepseek-llm's punctuation ranges [!-/:-~！-／：-～‘-‟　-。]
  kCjk = 1u << 12,         // deepseek's CJK/Hangul ranges [一-龥ࠀ-一가-퟿]
};

// The flags of code point `cp` (0 for unassigned code points and anything above U+10FFFF).
uint16_t flags(uint32_t cp);

// Decodes one UTF-8 sequence at [p, end) (p < end). Returns its length in bytes and sets `cp`. Malformed input
// (a stray continuation byte, a truncated or overlong sequence, a surrogate, a value above U+10FFFF) decodes as one
// byte with cp = kInvalidByte: such a byte belongs to no class (flags 0), so byte-level BPE keeps it as a byte.
inline constexpr uint32_t kInvalidByte = 0xFFFFFFFFu;
size_t decode_utf8(const unsigned char* p, const unsigned char* end, uint32_t& cp);

}  // namespace lmzip::unicode
