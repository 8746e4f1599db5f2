#include "lmzip/corpus/paragraphs.h"

#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/pystr.h"
#include "lmzip/io/file.h"

namespace lmzip::corpus {
namespace {

// text_normalizer.UNICODE_PUNCT's keys (removed by normalize_for_dedup) and NON_PRINTING_CHARS (0-31, 127-159).
bool ccnet_removed(UChar32 c) {
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F)) return true;
  switch (c) {
    case 0xFF0C: case 0x3002: case 0x3001: case 0x201E: case 0x201D: case 0x201C: case 0x00AB: case 0x00BB:
    case 0xFF11: case 0x300D: case 0x300C: case 0x300A: case 0x300B: case 0x00B4: case 0x2236: case 0xFF1A:
    case 0xFF1F: case 0xFF01: case 0xFF08: case 0xFF09: case 0xFF1B: case 0x2013: case 0x2014: case 0xFF0E:
    case 0xFF5E: case 0x2019: case 0x2026: case 0x2501: case 0x3008: case 0x3009: case 0x3010: case 0x3011:
    case 0xFF05: case 0x25BA:
      return true;
    default:
      return false;
  }
}

void append_utf8(std::string& out, UChar32 c) {
  char buf[4];
  int32_t n = 0;
  U8_APPEND_UNSAFE(reinterpret_cast<uint8_t*>(buf), n, c);  // c is a valid code point
  out.append(buf, static_cast<size_t>(n));
}

// The general path: ICU's full lower-casing with the root locale (as Python's str.lower(): SpecialCasing's
// unconditional mappings and the final-sigma rule), then digits and CCNet's removals per code point.
std::string normalize_unicode(std::string_view line) {
  const std::string lower = py_lower(line);
  const auto* p = reinterpret_cast<const uint8_t*>(lower.data());
  const int32_t n = static_cast<int32_t>(lower.size());
  std::string out;
  out.reserve(lower.size());
  for (int32_t i = 0; i < n;) {
    UChar32 c;
    U8_NEXT(p, i, n, c);
    if (c < 0) c = 0xFFFD;  // documents are valid UTF-8; an ill-formed byte would decode as U+FFFD in Python
    if (u_charType(c) == U_DECIMAL_DIGIT_NUMBER) c = '0';
    if (!ccnet_removed(c)) append_utf8(out, c);
  }
  return out;
}

}  // namespace

namespace {

// normalize_for_dedup into `out` (reused between lines: no allocation per paragraph).
void normalize_into(std::string_view line, std::string& out) {
  line = py_strip_view(line);
  out.resize(line.size());
  size_t n = 0;
  for (char ch : line) {  // the common case, byte by byte: the same result as the general path
    auto c = static_cast<uint8_t>(ch);
    if (c >= 0x80) {
      out = normalize_unicode(line);
      return;
    }
    if (static_cast<unsigned>(c - 'A') < 26u) out[n++] = static_cast<char>(c + ('a' - 'A'));
    else if (static_cast<unsigned>(c - '0') < 10u) out[n++] = '0';
    else if (c >= 0x20 && c != 0x7F) out[n++] = ch;
  }
  out.resize(n);
}

}  // namespace

std::string normalize_for_dedup(std::string_view line) {
  std::string out;
  normalize_into(line, out);
  return out;
}

uint64_t paragraph_hash(std::string_view line) {
  thread_local std::string normalized;
  normalize_into(line, normalized);
  std::array<uint8_t, 20> digest = sha1(normalized);
  uint64_t h = 0;
  for (int i = 7; i >= 0; --i) h = (h << 8) | digest[static_cast<size_t>(i)];  // numpy uint64 on the bytes
  return h;
}

std::vector<Paragraph> split_paragraphs(std::string_view text) {
  std::vector<Paragraph> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    if (!py_strip_view(line).empty()) {
      out.push_back({begin, end, paragraph_hash(line)});
    }
    begin = end + 1;
  }
  return out;
}

std::string remove_paragraphs(std::string_view text, const std::vector<Paragraph>& paragraphs,
                              const std::vector<bool>& keep) {
  std::string out;
  bool written = false;
  for (size_t i = 0; i < paragraphs.size(); ++i) {
    if (!keep[i]) continue;
    size_t gap_begin = i == 0 ? 0 : paragraphs[i - 1].end;
    if (written || i == 0) out.append(text.substr(gap_begin, paragraphs[i].begin - gap_begin));
    out.append(text.substr(paragraphs[i].begin, paragraphs[i].end - paragraphs[i].begin));
    written = true;
  }
  if (!paragraphs.empty() && keep.back()) out.append(text.substr(paragraphs.back().end));
  return out;
}

bool ParagraphIndex::seen_before(uint64_t hash) {
  if (hash == 0) {
    bool seen = has_zero_;
    has_zero_ = true;
    return seen;
  }
  if (2 * (used_ + 1) > slots_.size()) grow();
  size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(hash * 0x9E3779B97F4A7C15ull >> 20) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == hash) return true;
    if (slots_[i] == 0) {
      slots_[i] = hash;
      ++used_;
      return false;
    }
  }
}

bool ParagraphIndex::contains(uint64_t hash) const {
  if (hash == 0) return has_zero_;
  if (slots_.empty()) return false;
  size_t mask = slots_.size() - 1;
  for (size_t i = static_cast<size_t>(hash * 0x9E3779B97F4A7C15ull >> 20) & mask;; i = (i + 1) & mask) {
    if (slots_[i] == hash) return true;
    if (slots_[i] == 0) return false;
  }
}

void ParagraphIndex::grow() {
  std::vector<uint64_t> old = std::move(slots_);
  slots_.assign(std::max<size_t>(1024, old.size() * 2), 0);
  used_ = 0;
  for (uint64_t h : old) {
    if (h != 0) seen_before(h);
  }
}

void ParagraphIndex::load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw Error(path + ": cannot open the paragraph hash file");
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto u64 = [&](size_t at) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(bytes[at + static_cast<size_t>(i)]);
    return v;
  };
  if (bytes.size() < 16 || bytes.compare(0, 8, kParagraphHashMagic) != 0) {
    throw Error(path + ": not a paragraph hash file (expected the magic LMZPARH1; written by corpus build "
                       "--write-paragraph-hashes)");
  }
  uint64_t n = u64(8);
  if (n > (bytes.size() - 16) / 8 || bytes.size() != 16 + 8 * n) {
    throw Error(path + ": paragraph hash file of " + std::to_string(bytes.size()) + " bytes, but its header says " +
                std::to_string(n) + " hashes (" + std::to_string(16 + 8 * n) + " bytes): truncated or damaged");
  }
  uint64_t previous = 0;
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t h = u64(16 + 8 * i);
    if (i > 0 && h <= previous) {
      throw Error(path + ": hash " + std::to_string(i) + " is not above the one before it (the file keeps them "
                         "distinct and ascending): damaged");
    }
    seen_before(h);
    previous = h;
  }
}

void ParagraphIndex::write(const std::string& path) const {
  std::vector<uint64_t> hashes;
  hashes.reserve(size());
  if (has_zero_) hashes.push_back(0);
  for (uint64_t h : slots_) {
    if (h != 0) hashes.push_back(h);
  }
  std::sort(hashes.begin(), hashes.end());
  std::string bytes(kParagraphHashMagic, 8);
  auto put = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>(v >> (8 * i)));
  };
  put(hashes.size());
  for (uint64_t h : hashes) put(h);
  write_file_atomic(path, bytes);
}

}  // namespace lmzip::corpus
