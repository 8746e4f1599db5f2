#include "lmzip/tok/pretokenize.h"

#include <algorithm>
#include <array>
#include <limits>
#include <utility>

#include "lmzip/core/error.h"
#include "lmzip/tok/unicode.h"

namespace lmzip {

using namespace unicode;

namespace {

// The text of one split call as parallel arrays; every matcher works on a piece [begin, end) of it and treats
// `end` as the end of the input (that is what Hugging Face's per-piece splitting and llama.cpp's offsets do).
struct Text {
  const uint32_t* cp;
  const uint16_t* fl;
};

constexpr size_t kNoMatch = std::numeric_limits<size_t>::max();

// End of the run of code points from i that have any flag in `mask`.
size_t run(const Text& t, size_t i, size_t end, uint16_t mask) {
  while (i < end && (t.fl[i] & mask)) ++i;
  return i;
}

// End of the run of code points from i that have no flag in `mask`.
size_t run_not(const Text& t, size_t i, size_t end, uint16_t mask) {
  while (i < end && !(t.fl[i] & mask)) ++i;
  return i;
}

uint32_t ascii_lower(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

// 's|'t|'re|'ve|'m|'ll|'d at i (ASCII letters; either case when `any_case`, as (?i:...) in Llama 3's regex and
// llama.cpp's [sS] spelling of it). Returns the match end, or i.
size_t contraction(const Text& t, size_t i, size_t end, bool any_case) {
  if (t.cp[i] != '\'' || i + 1 >= end) return i;
  auto fold = [&](uint32_t c) { return any_case ? ascii_lower(c) : c; };
  const uint32_t a = fold(t.cp[i + 1]);
  if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
  if (i + 2 >= end) return i;
  const uint32_t b = fold(t.cp[i + 2]);
  if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return i + 3;
  return i;
}

// \s+(?!\S)|\s+ at a whitespace code point i: the run, less its last code point when a non-space follows and the
// run is longer than one (the lookahead backtracks one step; a lone space falls through to \s+).
size_t space_run(const Text& t, size_t i, size_t end) {
  const size_t k = run(t, i, end, kSpace);
  return (k < end && k - i >= 2) ? k - 1 : k;
}

// GPT-2 (Hugging Face ByteLevel, use_regex):
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// llama.cpp's copies drop the final \s+; the split is the same (a lone unmatched space becomes a piece anyway).
size_t gpt2_at(const Text& t, size_t i, size_t end) {
  if (size_t m = contraction(t, i, end, false); m != i) return m;
  const size_t j = (t.cp[i] == ' ' && i + 1 < end) ? i + 1 : i;  // the optional leading space
  const uint16_t f = t.fl[j];
  if (f & kLetter) return run(t, j, end, kLetter);
  if (f & kNumber) return run(t, j, end, kNumber);
  if (!(f & kSpace)) return run_not(t, j, end, kSpace | kLetter | kNumber);
  return space_run(t, i, end);
}

// Llama 3 / Qwen 2 / Qwen 3.5:
//   (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// Qwen 2 has \p{N} (single digits); Qwen 3.5 has [\p{L}\p{M}]+ for words and [^\s\p{L}\p{M}\p{N}] for punctuation.
template <size_t kMaxDigits, bool kMarks>
size_t llama3_at(const Text& t, size_t i, size_t end) {
  constexpr uint16_t kWord = kMarks ? (kLetter | kMark) : kLetter;
  constexpr uint16_t kNotPunct = kSpace | kLetter | kNumber | (kMarks ? kMark : 0);
  if (size_t m = contraction(t, i, end, true); m != i) return m;
  const uint16_t f = t.fl[i];
  // [^\r\n\p{L}\p{N}]?WORD+ : one leading non-letter, non-digit, non-newline code point joins the word.
  if (!(f & (kNewline | kLetter | kNumber)) && i + 1 < end && (t.fl[i + 1] & kWord)) return run(t, i + 1, end, kWord);
  if (f & kWord) return run(t, i, end, kWord);
  if (f & kNumber) return std::min(run(t, i, end, kNumber), i + kMaxDigits);
  // ` ?PUNCT+[\r\n]*`
  const size_t j = (t.cp[i] == ' ' && i + 1 < end && !(t.fl[i + 1] & kNotPunct)) ? i + 1 : i;
  if (!(t.fl[j] & kNotPunct)) return run(t, run_not(t, j, end, kNotPunct), end, kNewline);
  // Whitespace. \s*[\r\n]+ : the run up to and including its last newline (backtracking \s* to it).
  const size_t k = run(t, i, end, kSpace);
  for (size_t q = k; q > i; --q) {
    if (t.fl[q - 1] & kNewline) return q;
  }
  return space_run(t, i, end);
}

// The single-class rules of the multi-step pre-tokenizers.
template <uint16_t kClass>
size_t class_run_at(const Text& t, size_t i, size_t end) {  // C+
  return run(t, i, end, kClass);
}
template <uint16_t kClass>
size_t class_one_at(const Text& t, size_t i, size_t end) {  // C
  return (i < end && (t.fl[i] & kClass)) ? i + 1 : i;
}
template <uint16_t kClass>
size_t space_class_run_at(const Text& t, size_t i, size_t end) {  // \s?C+ (\s? backtracks when C+ then fails)
  if ((t.fl[i] & kSpace) && i + 1 < end && (t.fl[i + 1] & kClass)) return run(t, i + 1, end, kClass);
  return run(t, i, end, kClass);
}
size_t three_digits_at(const Text& t, size_t i, size_t end) {  // [0-9][0-9][0-9]
  return (i + 3 <= end && (t.fl[i] & t.fl[i + 1] & t.fl[i + 2] & kAsciiDigit)) ? i + 3 : i;
}

using MatchAt = size_t (*)(const Text&, size_t, size_t);

// One split step: a matcher tried at each position (leftmost match wins), or \s+$ (trailing_space).
struct Step {
  MatchAt at = nullptr;
  bool trailing_space = false;
};

// Leftmost match in [p, end): sets [ms, me) and returns true, or false when nothing matches.
bool find(const Step& step, const Text& t, size_t p, size_t end, size_t& ms, size_t& me) {
  if (step.trailing_space) {  // \s+$ : the whitespace run that reaches the end of the piece
    size_t q = end;
    while (q > p && (t.fl[q - 1] & kSpace)) --q;
    if (q == end) return false;
    ms = q, me = end;
    return true;
  }
  for (size_t i = p; i < end; ++i) {
    const size_t m = step.at(t, i, end);
    if (m > i) {
      ms = i, me = m;
      return true;
    }
  }
  return false;
}

constexpr uint16_t kFalconPunct = kPunct | kAsciiSymbol | kBacktick;  // [\p{P}\$\+<=>\^~\|`]
constexpr uint16_t kDefaultPunct = kPunct | kAsciiSymbol;            // [\p{P}\$\+<=>\^~\|]

// The regex list of each pre-tokenizer, in order (llama.cpp llm_tokenizer_bpe; Hugging Face tokenizer.json).
std::vector<Step> make_steps(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::Gpt2:
      return {{gpt2_at}};
    case PreTokenizerKind::Llama3:
      return {{llama3_at<3, false>}};
    case PreTokenizerKind::Qwen2:
      return {{llama3_at<1, false>}};
    case PreTokenizerKind::Qwen35:
      return {{llama3_at<1, true>}};
    case PreTokenizerKind::Starcoder:  // Digits(individual_digits=true), ByteLevel
      return {{class_one_at<kNumber>}, {gpt2_at}};
    case PreTokenizerKind::Falcon:  // Punctuation(contiguous), ByteLevel, [0-9][0-9][0-9]
      return {{class_run_at<kFalconPunct>}, {gpt2_at}, {three_digits_at}};
    case PreTokenizerKind::DeepseekCoder:
      return {{class_one_at<kNewline>},
              {space_class_run_at<kLetter>},
              {space_class_run_at<kPunct>},
              {class_run_at<kCjk>},
              {class_one_at<kNumber>}};
    case PreTokenizerKind::DeepseekLlm:
      return {{class_one_at<kNewline>},
              {space_class_run_at<kDsLetter>},
              {space_class_run_at<kDsPunct>},
              {nullptr, true},
              {class_run_at<kCjk>},
              {class_run_at<kNumber>}};
    case PreTokenizerKind::Default:
      return {{class_run_at<kDefaultPunct>}, {gpt2_at}, {class_run_at<kNumber>}, {three_digits_at}};
  }
  LMZIP_CHECK(false, "unhandled PreTokenizerKind");
  return {};
}

constexpr size_t kKinds = static_cast<size_t>(PreTokenizerKind::Starcoder) + 1;

const std::vector<Step>& steps_of(PreTokenizerKind kind) {
  static const std::array<std::vector<Step>, kKinds> all = [] {
    std::array<std::vector<Step>, kKinds> a;
    for (size_t k = 0; k < kKinds; ++k) a[k] = make_steps(static_cast<PreTokenizerKind>(k));
    return a;
  }();
  return all[static_cast<size_t>(kind)];
}

// Decodes `text` into the scratch arrays (code points, flags, byte offsets).
void decode(std::string_view text, PreTokenizer::Scratch& s) {
  static const std::array<uint16_t, 128> ascii = [] {
    std::array<uint16_t, 128> a{};
    for (uint32_t c = 0; c < 128; ++c) a[c] = unicode::flags(c);
    return a;
  }();
  // Sized for the worst case (one code point per byte) and written through pointers: this loop runs per byte.
  s.cps.resize(text.size());
  s.flags.resize(text.size());
  s.offsets.resize(text.size() + 1);
  uint32_t* cp = s.cps.data();
  uint16_t* fl = s.flags.data();
  uint32_t* off = s.offsets.data();
  const auto* begin = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = begin + text.size();
  size_t n = 0;
  for (const unsigned char* p = begin; p < end; ++n) {
    off[n] = static_cast<uint32_t>(p - begin);
    if (*p < 0x80) {
      cp[n] = *p;
      fl[n] = ascii[*p];
      ++p;
    } else {
      p += decode_utf8(p, end, cp[n]);
      fl[n] = unicode::flags(cp[n]);
    }
  }
  off[n] = static_cast<uint32_t>(text.size());
  s.cps.resize(n);
  s.flags.resize(n);
  s.offsets.resize(n + 1);
}

// Applies one step to every piece in `bounds` (boundaries b0=0 < b1 < ... < n), writing the finer pieces to `out`.
void apply(const Step& step, const Text& t, const std::vector<uint32_t>& bounds, std::vector<uint32_t>& out) {
  out.clear();
  out.push_back(0);
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    const size_t begin = bounds[k], end = bounds[k + 1];
    size_t p = begin, ms, me;
    while (p < end && find(step, t, p, end, ms, me)) {
      if (ms > p) out.push_back(static_cast<uint32_t>(ms));  // the unmatched gap is a piece of its own
      out.push_back(static_cast<uint32_t>(me));
      p = me;
    }
    if (p < end) out.push_back(static_cast<uint32_t>(end));
  }
}

struct Alias {
  const char* name;
  PreTokenizerKind kind;
  bool ignore_merges;  // llama.cpp sets add_bos for exactly these names too (the Llama 3 family)
};

// tokenizer.ggml.pre names, as llama.cpp's llama_vocab::impl::load maps them, for the rules implemented here.
constexpr Alias kAliases[] = {
    {"default", PreTokenizerKind::Default, false},
    {"llama3", PreTokenizerKind::Llama3, true},
    {"llama-v3", PreTokenizerKind::Llama3, true},
    {"llama-bpe", PreTokenizerKind::Llama3, true},
    {"falcon3", PreTokenizerKind::Llama3, true},
    {"falcon-h1", PreTokenizerKind::Llama3, true},
    {"pixtral", PreTokenizerKind::Llama3, true},
    {"midm-2.0", PreTokenizerKind::Llama3, true},
    {"lfm2", PreTokenizerKind::Llama3, true},
    {"dbrx", PreTokenizerKind::Llama3, false},
    {"smaug-bpe", PreTokenizerKind::Llama3, false},
    {"glm4", PreTokenizerKind::Llama3, false},
    {"chatglm-bpe", PreTokenizerKind::Llama3, false},
    {"qwen2", PreTokenizerKind::Qwen2, false},
    {"deepseek-r1-qwen", PreTokenizerKind::Qwen2, false},
    {"megrez", PreTokenizerKind::Qwen2, false},
    {"stablelm2", PreTokenizerKind::Qwen2, false},
    {"hunyuan", PreTokenizerKind::Qwen2, false},
    {"grok-2", PreTokenizerKind::Qwen2, false},
    {"qwen35", PreTokenizerKind::Qwen35, false},
    {"deepseek-llm", PreTokenizerKind::DeepseekLlm, false},
    {"deepseek-coder", PreTokenizerKind::DeepseekCoder, false},
    {"falcon", PreTokenizerKind::Falcon, false},
    {"starcoder", PreTokenizerKind::Starcoder, false},
    {"refact", PreTokenizerKind::Starcoder, false},
    {"command-r", PreTokenizerKind::Starcoder, false},
    {"smollm", PreTokenizerKind::Starcoder, false},
    {"codeshell", PreTokenizerKind::Starcoder, false},
    {"exaone", PreTokenizerKind::Starcoder, false},
    {"minerva-7b", PreTokenizerKind::Starcoder, false},
    {"gpt-2", PreTokenizerKind::Gpt2, false},
    {"phi-2", PreTokenizerKind::Gpt2, false},
    {"mpt", PreTokenizerKind::Gpt2, false},
    {"olmo", PreTokenizerKind::Gpt2, false},
    {"jais", PreTokenizerKind::Gpt2, false},
    {"gigachat", PreTokenizerKind::Gpt2, false},
    {"exaone4", PreTokenizerKind::Gpt2, false},
    {"trillion", PreTokenizerKind::Gpt2, false},
    {"granite-docling", PreTokenizerKind::Gpt2, false},
};

}  // namespace

PreTokenizer PreTokenizer::from_name(const std::string& name, const std::string& source_name) {
  if (name.empty()) return PreTokenizer(PreTokenizerKind::Default);  // llama.cpp's fallback (with a warning)
  for (const Alias& a : kAliases) {
    if (name == a.name) return PreTokenizer(a.kind, a.ignore_merges);
  }
  std::string known;
  for (const Alias& a : kAliases) known += (known.empty() ? "" : ", ") + std::string(a.name);
  throw Error(source_name + ": tokenizer.ggml.pre = '" + name + "' is not a supported pre-tokenizer (supported: " +
              known + ")");
}

// The first position at or after `from` where every pre-tokenizer here must end a word whatever follows, or the
// text size: an ASCII letter after a newline that follows a printable ASCII non-space character. No rule lets a
// word run from a newline into a letter (the Llama 3 family excludes \r\n from a word's leading character;
// GPT-2's ' ?\p{L}+' takes only a space; deepseek isolates newlines first), and since the newline is a whitespace
// run of one, no lookahead or \s+$ decision depends on what comes after it. So the pieces on either side of the
// cut are the same whether split together or apart.
size_t safe_cut(std::string_view text, size_t from) {
  for (size_t p = std::max<size_t>(from, 2); p < text.size(); ++p) {
    const unsigned char c = static_cast<unsigned char>(text[p]), before = static_cast<unsigned char>(text[p - 2]);
    if (text[p - 1] == '\n' && ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') && before >= 0x21 && before <= 0x7E) {
      return p;
    }
  }
  return text.size();
}

void PreTokenizer::split(std::string_view text, std::vector<std::string_view>& words, Scratch& s) const {
  // Long texts go in chunks cut where the split is known not to change: the scratch arrays (10 bytes per input
  // byte) stay small and in cache, and a huge input needs no huge buffers.
  for (size_t begin = 0; begin < text.size();) {
    const size_t end = chunk_end(text, begin);
    split_chunk(text.substr(begin, end - begin), words, s);
    begin = end;
  }
}

size_t PreTokenizer::chunk_end(std::string_view text, size_t begin) const {
  return safe_cut(text, begin + std::max<size_t>(chunk_bytes_, 1));
}

void PreTokenizer::split_chunk(std::string_view text, std::vector<std::string_view>& words, Scratch& s) const {
  if (text.size() >= std::numeric_limits<uint32_t>::max()) {
    throw Error("pre-tokenizer: a text of " + std::to_string(text.size()) +
                " bytes has no line break followed by a letter within 4 GiB; split it into smaller pieces");
  }
  decode(text, s);
  const Text t{s.cps.data(), s.flags.data()};
  const size_t n = s.cps.size();
  s.bounds.assign({0, static_cast<uint32_t>(n)});
  for (const Step& step : steps_of(kind_)) {
    apply(step, t, s.bounds, s.next_bounds);
    s.bounds.swap(s.next_bounds);
  }
  for (size_t k = 0; k + 1 < s.bounds.size(); ++k) {
    const uint32_t b = s.offsets[s.bounds[k]], e = s.offsets[s.bounds[k + 1]];
    words.push_back(text.substr(b, e - b));
  }
}

bool PreTokenizer::adds_bos_by_default(std::string_view name) {
  for (const Alias& a : kAliases) {
    if (name == a.name) return a.ignore_merges;
  }
  return false;
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  Scratch scratch;
  std::vector<std::string_view> views;
  split(text, views, scratch);
  return {views.begin(), views.end()};
}

}  // namespace lmzip
