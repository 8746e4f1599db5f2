// Text helpers shared by extractors, filters and dedup: UTF-8 validation, normalisation for exact hashing,
// word and identifier-token splitting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmzip::corpus {

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// True when the first `probe` bytes hold a NUL byte: treated as a binary file.
bool looks_binary(std::string_view s, size_t probe = 8192);

// Text normalised for exact deduplication: runs of ASCII whitespace collapse to one space, leading and trailing
// whitespace is dropped. Two documents differing only in spacing or line endings hash alike.
std::string normalize_for_hash(std::string_view s);

// 64-bit fingerprint of normalize_for_hash(s).
uint64_t exact_fingerprint(std::string_view s);

// Tokens split on non-identifier characters (ASCII [A-Za-z0-9_] and all non-ASCII bytes form tokens), as the
// study's MinHash dedup splits code and text.
std::vector<std::string_view> identifier_tokens(std::string_view s);

// Whitespace-separated words.
std::vector<std::string_view> whitespace_words(std::string_view s);

// Lower-cased words of letters and digits (everything else separates), for 13-gram contamination checks.
std::vector<std::string> normalized_words(std::string_view s);

// Number of Unicode code points (UTF-8 lead bytes) in valid UTF-8.
uint64_t count_chars(std::string_view s);

// Splits on '\n' (a trailing "\r" is kept on the line); an empty final line after a trailing '\n' is dropped.
std::vector<std::string_view> split_lines(std::string_view s);

std::string trim(std::string_view s);
std::string to_lower_ascii(std::string_view s);

}  // namespace lmzip::corpus
