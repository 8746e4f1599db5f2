#include "lmzip/tok/unicode.h"

#include <utf8proc.h>

#include <array>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

namespace lmzip::unicode {

namespace {

struct Range {
  uint32_t first, last;
};

// The White_Space property (Unicode PropList.txt): what \s matches in Oniguruma (Hugging Face tokenizers), Rust's
// regex and llama.cpp's unicode tables. Not the same as the Z* categories: it includes \t..\r and U+0085.
constexpr Range kWhiteSpace[] = {{0x0009, 0x000D}, {0x0020, 0x0020}, {0x0085, 0x0085}, {0x00A0, 0x00A0},
                                 {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F},
                                 {0x205F, 0x205F}, {0x3000, 0x3000}};

// deepseek-llm's letter class, transcribed from the regex in its tokenizer.json (as llama.cpp's
// LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM copies it). Note the ranges that end in a character with a canonical singleton
// decomposition (U+1F7D, U+1FD3, U+1FDB; U+1FBE, U+2126 and U+212A alone): copied through an NFC-normalizing
// channel they silently turn into U+03CE, U+0390, ... and the class changes.
constexpr Range kDsLetterRanges[] = {
    {0x0041, 0x005A},   {0x0061, 0x007A},   {0x00B5, 0x00B5},   {0x00C0, 0x00D6},   {0x00D8, 0x00F6},
    {0x00F8, 0x01BA},   {0x01BC, 0x01BF},   {0x01C4, 0x0293},   {0x0295, 0x02AF},   {0x0370, 0x0373},
    {0x0376, 0x0377},   {0x037B, 0x037D},   {0x037F, 0x037F},   {0x0386, 0x0386},   {0x0388, 0x038A},
    {0x038C, 0x038C},   {0x038E, 0x03A1},   {0x03A3, 0x03F5},   {0x03F7, 0x0481},   {0x048A, 0x052F},
    {0x0531, 0x0556},   {0x10A0, 0x10C5},   {0x13A0, 0x13F5},   {0x13F8, 0x13FD},   {0x1C90, 0x1CBA},
    {0x1CBD, 0x1CBF},   {0x1D00, 0x1D2B},   {0x1D6B, 0x1D77},   {0x1D79, 0x1D9A},   {0x1E00, 0x1F15},
    {0x1F18, 0x1F1D},   {0x1F20, 0x1F45},   {0x1F48, 0x1F4D},   {0x1F50, 0x1F57},   {0x1F59, 0x1F59},
    {0x1F5B, 0x1F5B},   {0x1F5D, 0x1F5D},   {0x1F5F, 0x1F7D},   {0x1F80, 0x1FB4},   {0x1FB6, 0x1FBC},
    {0x1FBE, 0x1FBE},   {0x1FC2, 0x1FC4},   {0x1FC6, 0x1FCC},   {0x1FD0, 0x1FD3},   {0x1FD6, 0x1FDB},
    {0x1FE0, 0x1FEC},   {0x1FF2, 0x1FF4},   {0x1FF6, 0x1FFC},   {0x2102, 0x2102},   {0x2107, 0x2107},
    {0x210A, 0x2113},   {0x2115, 0x2115},   {0x2119, 0x211D},   {0x2124, 0x2124},   {0x2126, 0x2126},
    {0x2128, 0x2128},   {0x212A, 0x212D},   {0x212F, 0x2134},   {0x2139, 0x2139},   {0x213C, 0x213F},
    {0x2145, 0x2149},   {0x214E, 0x214E},   {0x2183, 0x2184},   {0x2C00, 0x2C7B},   {0x2C7E, 0x2CE4},
    {0x2CEB, 0x2CEE},   {0x2CF2, 0x2CF3},   {0xA640, 0xA66D},   {0xA680, 0xA69B},   {0xA722, 0xA76F},
    {0xA771, 0xA787},   {0xA78B, 0xA78E},   {0xAB70, 0xABBF},   {0xFB00, 0xFB06},   {0xFB13, 0xFB17},
    {0xFF21, 0xFF3A},   {0xFF41, 0xFF5A},   {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};

// deepseek-llm's punctuation class [!-/:-~！-／：-～‘-‟　-。].
constexpr Range kDsPunctRanges[] = {{0x0021, 0x002F}, {0x003A, 0x007E}, {0xFF01, 0xFF0F},
                              {0xFF1A, 0xFF5E}, {0x2018, 0x201F}, {0x3000, 0x3002}};

// deepseek's [一-龥ࠀ-一가-퟿]: U+4E00..U+9FA5, U+0800..U+4E00 (sic, a wide range) and U+AC00..U+D7FF.
constexpr Range kCjkRanges[] = {{0x4E00, 0x9FA5}, {0x0800, 0x4E00}, {0xAC00, 0xD7FF}};

uint16_t category_flags(uint32_t cp) {
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return kLetter;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
      return kMark;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return kNumber;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
      return kPunct;
    case UTF8PROC_CATEGORY_SM:
    case UTF8PROC_CATEGORY_SC:
    case UTF8PROC_CATEGORY_SK:
    case UTF8PROC_CATEGORY_SO:
      return kSymbol;
    default:
      return 0;
  }
}

template <size_t N>
void mark_ranges(std::vector<uint16_t>& flat, const Range (&ranges)[N], uint16_t flag) {
  for (const Range& r : ranges) {
    for (uint32_t cp = r.first; cp <= r.last; ++cp) flat[cp] |= flag;
  }
}

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kBlockBits = 8;
constexpr uint32_t kBlockSize = 1u << kBlockBits;
constexpr uint32_t kBlocks = (kMaxCodePoint + 1) / kBlockSize;

// Two-stage lookup: block_of[cp >> 8] selects a 256-entry block of flags; identical blocks are stored once, so the
// table is ~100 KB instead of 2 MB and stays in cache.
struct Table {
  std::array<uint16_t, kBlocks> block_of{};
  std::vector<uint16_t> blocks;

  Table() {
    std::vector<uint16_t> flat(kMaxCodePoint + 1);
    for (uint32_t cp = 0; cp <= kMaxCodePoint; ++cp) flat[cp] = category_flags(cp);
    mark_ranges(flat, kWhiteSpace, kSpace);
    flat['\r'] |= kNewline;
    flat['\n'] |= kNewline;
    for (uint32_t c = '0'; c <= '9'; ++c) flat[c] |= kAsciiDigit;
    for (char c : std::string("$+<=>^~|")) flat[static_cast<unsigned char>(c)] |= kAsciiSymbol;
    flat['`'] |= kBacktick;
    mark_ranges(flat, kDsLetterRanges, kDsLetter);
    mark_ranges(flat, kDsPunctRanges, kDsPunct);
    mark_ranges(flat, kCjkRanges, kCjk);

    std::unordered_map<std::string, uint16_t> seen;  // block contents -> block index
    for (uint32_t b = 0; b < kBlocks; ++b) {
      std::string key(reinterpret_cast<const char*>(&flat[b * kBlockSize]), kBlockSize * sizeof(uint16_t));
      auto [it, inserted] = seen.emplace(std::move(key), static_cast<uint16_t>(blocks.size() / kBlockSize));
      if (inserted) blocks.insert(blocks.end(), flat.begin() + b * kBlockSize, flat.begin() + (b + 1) * kBlockSize);
      block_of[b] = it->second;
    }
  }
};

const Table& table() {
  static const Table t;  // built on first use; C++ guarantees thread-safe initialization
  return t;
}

}  // namespace

uint16_t flags(uint32_t cp) {
  if (cp > kMaxCodePoint) return 0;
  const Table& t = table();
  return t.blocks[static_cast<size_t>(t.block_of[cp >> kBlockBits]) * kBlockSize + (cp & (kBlockSize - 1))];
}

size_t decode_utf8(const unsigned char* p, const unsigned char* end, uint32_t& cp) {
  const unsigned char b0 = p[0];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  size_t len;
  uint32_t min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, min = 0x80, cp = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, min = 0x800, cp = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, min = 0x10000, cp = b0 & 0x07;
  } else {
    cp = kInvalidByte;  // a continuation byte or 0xF8..0xFF where a sequence should start
    return 1;
  }
  if (static_cast<size_t>(end - p) < len) {
    cp = kInvalidByte;
    return 1;
  }
  for (size_t i = 1; i < len; ++i) {
    if ((p[i] & 0xC0) != 0x80) {
      cp = kInvalidByte;
      return 1;
    }
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > kMaxCodePoint || (cp >= 0xD800 && cp <= 0xDFFF)) {
    cp = kInvalidByte;
    return 1;
  }
  return len;
}

}  // namespace lmzip::unicode
