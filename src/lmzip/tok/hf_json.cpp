// tokenizer.json → Vocab. The file's components are checked one by one against what lmzip's tokenizers do
// exactly; whatever would tokenize differently is refused with the component named, never approximated.
#include "lmzip/tok/hf_json.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <unordered_map>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/tok/pretokenize.h"
#include "lmzip/tok/sp_common.h"

namespace lmzip {

namespace {

using json = nlohmann::json;

constexpr std::string_view kMetaSpace = "\xE2\x96\x81";  // '▁' U+2581
constexpr size_t kMaxNesting = 8;                        // Sequence inside Sequence inside ...

[[noreturn]] void fail(const std::string& file, const std::string& what) { throw Error(file + ": " + what); }

json parse_json(std::string_view text, const std::string& name) {
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    fail(name, std::string("not valid JSON (") + e.what() + ")");
  }
}

// A member that is present and not null, or nullptr.
const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return (it == obj.end() || it->is_null()) ? nullptr : &*it;
}

const std::string& as_string(const json& v, const std::string& file, const std::string& what) {
  if (!v.is_string()) fail(file, what + " is not a string");
  return v.get_ref<const std::string&>();
}

bool as_bool(const json& obj, const char* key, bool fallback, const std::string& file, const std::string& what) {
  const json* v = member(obj, key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail(file, what + "." + key + " is not true/false");
  return v->get<bool>();
}

int64_t as_id(const json& v, const std::string& file, const std::string& what) {
  if (!v.is_number_integer()) fail(file, what + " is not an integer token id");
  const int64_t id = v.get<int64_t>();
  if (id < 0 || id >= (int64_t{1} << 31) - 1) fail(file, what + " = " + std::to_string(id) + " is not a valid token id");
  return id;
}

// The "type" of a component object ("BPE", "ByteLevel", ...).
std::string type_of(const json& component, const std::string& file, const std::string& what) {
  if (!component.is_object()) fail(file, what + " is not an object");
  const json* t = member(component, "type");
  if (!t) fail(file, what + " has no \"type\"");
  return as_string(*t, file, what + ".type");
}

// ---------------------------------------------------------------------------------------------------------------
// model: BPE only.

struct AddedToken {
  int64_t id;
  std::string content;
  bool special, lstrip, rstrip;
};

struct BpeModel {
  std::vector<std::string> tokens;  // by id; "" where model.vocab has no entry
  std::vector<std::pair<std::string, std::string>> merges;
  bool byte_fallback = false;
  bool ignore_merges = false;
  std::optional<std::string> unk_token;
};

BpeModel read_model(const json& root, const std::string& file) {
  const json* model = member(root, "model");
  if (!model || !model->is_object()) fail(file, "no \"model\" object");
  // The 2020 GPT-2 files have no "type"; a vocab plus merges is BPE.
  const std::string type = member(*model, "type") ? type_of(*model, file, "model") : "BPE";
  if (type != "BPE") {
    fail(file, "model type '" + type + "' is not supported (only BPE; WordPiece, Unigram and WordLevel are not)");
  }
  BpeModel m;
  if (const json* d = member(*model, "dropout"); d && !(d->is_number() && d->get<double>() == 0.0)) {
    fail(file, "model.dropout is set (BPE dropout makes tokenization random)");
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (const json* v = member(*model, key); v && !as_string(*v, file, std::string("model.") + key).empty()) {
      fail(file, std::string("model.") + key + " is set, which is not supported");
    }
  }
  m.byte_fallback = as_bool(*model, "byte_fallback", false, file, "model");
  m.ignore_merges = as_bool(*model, "ignore_merges", false, file, "model");
  if (const json* u = member(*model, "unk_token")) m.unk_token = as_string(*u, file, "model.unk_token");

  const json* vocab = member(*model, "vocab");
  if (!vocab || !vocab->is_object() || vocab->empty()) fail(file, "model.vocab is missing or not a non-empty object");
  size_t size = 0;
  for (const auto& [text, id_value] : vocab->items()) {
    size = std::max<size_t>(size, static_cast<size_t>(as_id(id_value, file, "model.vocab[\"" + text + "\"]")) + 1);
  }
  // Ids are dense in real files; a far-off id would only make a huge table of nothing.
  if (size > 2 * vocab->size() + 1024) {
    fail(file, "model.vocab ids go up to " + std::to_string(size - 1) + " for " + std::to_string(vocab->size()) +
                   " entries (too sparse)");
  }
  m.tokens.assign(size, std::string());
  for (const auto& [text, id_value] : vocab->items()) {
    const size_t id = static_cast<size_t>(id_value.get<int64_t>());
    if (text.empty()) fail(file, "model.vocab has an empty token (id " + std::to_string(id) + ")");
    if (!m.tokens[id].empty()) {
      fail(file, "model.vocab gives id " + std::to_string(id) + " to both '" + m.tokens[id] + "' and '" + text + "'");
    }
    m.tokens[id] = text;
  }

  const json* merges = member(*model, "merges");
  if (merges && !merges->is_array()) fail(file, "model.merges is not an array");
  if (merges) {
    m.merges.reserve(merges->size());
    for (size_t rank = 0; rank < merges->size(); ++rank) {
      const json& e = (*merges)[rank];
      const std::string what = "model.merges[" + std::to_string(rank) + "]";
      if (e.is_string()) {  // "left right": exactly one space, as the tokenizers library requires
        const std::string& s = e.get_ref<const std::string&>();
        const size_t space = s.find(' ');
        if (space == std::string::npos || space == 0 || space + 1 == s.size() || s.find(' ', space + 1) != std::string::npos) {
          fail(file, what + " = '" + s + "' is not two tokens separated by one space");
        }
        m.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
      } else if (e.is_array() && e.size() == 2) {  // ["left", "right"] (tokenizers >= 0.20)
        m.merges.emplace_back(as_string(e[0], file, what + "[0]"), as_string(e[1], file, what + "[1]"));
        if (m.merges.back().first.empty() || m.merges.back().second.empty()) fail(file, what + " has an empty part");
      } else {
        fail(file, what + " is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
  }
  return m;
}

std::vector<AddedToken> read_added_tokens(const json& root, const std::string& file) {
  std::vector<AddedToken> out;
  const json* added = member(root, "added_tokens");
  if (!added) return out;
  if (!added->is_array()) fail(file, "added_tokens is not an array");
  for (size_t i = 0; i < added->size(); ++i) {
    const json& t = (*added)[i];
    const std::string what = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object()) fail(file, what + " is not an object");
    const json* id = member(t, "id");
    const json* content = member(t, "content");
    if (!id || !content) fail(file, what + " lacks \"id\" or \"content\"");
    AddedToken a{.id = as_id(*id, file, what + ".id"),
                 .content = as_string(*content, file, what + ".content"),
                 .special = as_bool(t, "special", false, file, what),
                 .lstrip = as_bool(t, "lstrip", false, file, what),
                 .rstrip = as_bool(t, "rstrip", false, file, what)};
    if (a.content.empty()) fail(file, what + ".content is empty");
    if (as_bool(t, "single_word", false, file, what)) {
      fail(file, what + " ('" + a.content + "') has single_word: true, which is not supported");
    }
    out.push_back(std::move(a));
  }
  return out;
}

// Puts an added token into the vocabulary: its id's text and type (Control when special, else UserDefined; the
// unknown token stays Unknown), growing the vocabulary when the id is past its end but below `max_size` (real
// files have no gaps to speak of; a far-off id would only make a huge table of nothing).
void add_token(Vocab& v, const AddedToken& a, size_t max_size, const std::string& file) {
  const size_t id = static_cast<size_t>(a.id);
  if (id >= v.tokens.size()) {
    if (id >= max_size) fail(file, "added token id " + std::to_string(id) + " is far past the vocabulary");
    const size_t old = v.tokens.size();
    v.tokens.resize(id + 1);
    for (size_t k = old; k < id; ++k) v.tokens[k] = "[PAD" + std::to_string(k) + "]";  // as llama.cpp's converter
    v.types.resize(id + 1, TokenType::Unused);
    if (!v.scores.empty()) v.scores.resize(id + 1, 0.0f);
  }
  v.tokens[id] = a.content;
  v.types[id] = (v.unk && static_cast<size_t>(*v.unk) == id) ? TokenType::Unknown
                : a.special                                 ? TokenType::Control
                                                            : TokenType::UserDefined;
  if (a.lstrip || a.rstrip || !v.lstrip.empty()) {
    v.lstrip.resize(v.tokens.size(), false);
    v.rstrip.resize(v.tokens.size(), false);
    v.lstrip[id] = a.lstrip;
    v.rstrip[id] = a.rstrip;
  }
}

std::optional<TokenId> find_token(const Vocab& v, std::string_view text) {
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    if (v.tokens[id] == text) return static_cast<TokenId>(id);
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------------------------
// normalizer

struct Normalizer {
  bool prepend_space = false;  // Prepend "▁"
  bool replace_space = false;  // Replace " " -> "▁"
};

void read_normalizer(const json& n, const std::string& file, const std::string& what, Normalizer& out, size_t depth) {
  if (depth > kMaxNesting) fail(file, what + ": normalizers nested too deeply");
  const std::string type = type_of(n, file, what);
  if (type == "Sequence") {
    const json* list = member(n, "normalizers");
    if (!list || !list->is_array()) fail(file, what + ".normalizers is not an array");
    for (size_t i = 0; i < list->size(); ++i) {
      read_normalizer((*list)[i], file, what + ".normalizers[" + std::to_string(i) + "]", out, depth + 1);
    }
  } else if (type == "NFC") {
    // Not applied, as llama.cpp does not and the reference vectors show (docs/TOKENIZERS-BPE.md).
  } else if (type == "Prepend") {
    const json* p = member(n, "prepend");
    if (!p || as_string(*p, file, what + ".prepend") != kMetaSpace) {
      fail(file, what + ": normalizer Prepend of anything but \"▁\" is not supported");
    }
    out.prepend_space = true;
  } else if (type == "Replace") {
    const json* pattern = member(n, "pattern");
    const json* from = pattern ? member(*pattern, "String") : nullptr;
    const json* to = member(n, "content");
    if (!from || !to || as_string(*from, file, what + ".pattern.String") != " " ||
        as_string(*to, file, what + ".content") != kMetaSpace) {
      fail(file, what + ": normalizer Replace other than \" \" -> \"▁\" is not supported");
    }
    out.replace_space = true;
  } else {
    fail(file, what + ": normalizer '" + type + "' is not supported (supported: NFC, Prepend \"▁\", Replace \" \"->\"▁\", Sequence)");
  }
}

// ---------------------------------------------------------------------------------------------------------------
// pre_tokenizer: flattened into step names, then matched against the pre-tokenizers lmzip implements.

// Split regexes, exactly as they appear (JSON-decoded) in the Hugging Face files of each family.
struct KnownRegex {
  std::string_view regex, step;
};
constexpr KnownRegex kRegexes[] = {
    // Llama 3 (llama-bpe, llama-bpe-3.2)
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "Split(llama3)"},
    // Qwen 2
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "Split(qwen2)"},
    // Qwen 3.5 (llama.cpp's qwen35 regex; no tokenizer.json fixture)
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "Split(qwen35)"},
    // deepseek-coder: the first is written "[\r\n]" in the JSON, i.e. real CR and LF characters in the class
    {"[\r\n]", "Split(newline)"},
    {R"([\r\n])", "Split(newline)"},
    {R"(\s?\p{L}+)", "Split(letters)"},
    {R"(\s?\p{P}+)", "Split(punct)"},
    {"[\xE4\xB8\x80-\xE9\xBE\xA5\xE0\xA0\x80-\xE4\xB8\x80\xEA\xB0\x80-\xED\x9F\xBF]+", "Split(cjk)"},  // [一-龥ࠀ-一가-퟿]+
    // falcon
    {"[0-9][0-9][0-9]", "Split(3digits)"},
};

struct KnownPre {
  std::vector<std::string_view> steps;
  PreTokenizerKind kind;
  const char* name;  // the tokenizer.ggml.pre name of the kind
};
const std::vector<KnownPre>& known_pres() {
  static const std::vector<KnownPre> all = {
      {{"ByteLevel(regex)"}, PreTokenizerKind::Gpt2, "gpt-2"},
      {{"Split(llama3)", "ByteLevel"}, PreTokenizerKind::Llama3, "llama-bpe"},
      {{"Split(qwen2)", "ByteLevel"}, PreTokenizerKind::Qwen2, "qwen2"},
      {{"Split(qwen35)", "ByteLevel"}, PreTokenizerKind::Qwen35, "qwen35"},
      {{"Digits(individual)", "ByteLevel(regex)"}, PreTokenizerKind::Starcoder, "starcoder"},
      // Digits after ByteLevel sees the byte-alphabet text; its cuts (a space from 1-2 digits, bytes that map to
      // '²' '½' ...) fall where falcon's merges never join anyway, as its vectors confirm.
      {{"Punctuation(contiguous)", "ByteLevel(regex)", "Digits", "Split(3digits)"}, PreTokenizerKind::Falcon, "falcon"},
      {{"Split(newline)", "Split(letters)", "Split(punct)", "Split(cjk)", "Digits(individual)", "ByteLevel"},
       PreTokenizerKind::DeepseekCoder, "deepseek-coder"},
  };
  return all;
}

struct PreTokenizerSpec {
  std::vector<std::string> steps;
  std::optional<json> metaspace;  // a Metaspace component (SentencePiece style), kept for its options
};

void read_pre_tokenizer(const json& p, const std::string& file, const std::string& what, PreTokenizerSpec& out,
                        size_t depth) {
  if (depth > kMaxNesting) fail(file, what + ": pre-tokenizers nested too deeply");
  const std::string type = type_of(p, file, what);
  if (type == "Sequence") {
    const json* list = member(p, "pretokenizers");
    if (!list || !list->is_array()) fail(file, what + ".pretokenizers is not an array");
    for (size_t i = 0; i < list->size(); ++i) {
      read_pre_tokenizer((*list)[i], file, what + ".pretokenizers[" + std::to_string(i) + "]", out, depth + 1);
    }
  } else if (type == "ByteLevel") {
    const json* aps = member(p, "add_prefix_space");
    if (!aps || !aps->is_boolean()) fail(file, what + ": ByteLevel has no add_prefix_space");
    if (aps->get<bool>()) fail(file, what + ": ByteLevel add_prefix_space: true is not supported");
    out.steps.push_back(as_bool(p, "use_regex", true, file, what) ? "ByteLevel(regex)" : "ByteLevel");
  } else if (type == "Split") {
    const json* pattern = member(p, "pattern");
    const json* regex = pattern ? member(*pattern, "Regex") : nullptr;
    if (!regex) fail(file, what + ": pre_tokenizer Split without a Regex pattern is not supported");
    const std::string& r = as_string(*regex, file, what + ".pattern.Regex");
    const json* behavior = member(p, "behavior");
    if (!behavior || as_string(*behavior, file, what + ".behavior") != "Isolated" || as_bool(p, "invert", false, file, what)) {
      fail(file, what + ": pre_tokenizer Split is supported only with behavior Isolated and invert false");
    }
    for (const KnownRegex& k : kRegexes) {
      if (r == k.regex) {
        out.steps.emplace_back(k.step);
        return;
      }
    }
    fail(file, "pre_tokenizer Split regex not recognised: " + r);
  } else if (type == "Digits") {
    out.steps.push_back(as_bool(p, "individual_digits", false, file, what) ? "Digits(individual)" : "Digits");
  } else if (type == "Punctuation") {
    const json* behavior = member(p, "behavior");
    if (!behavior || as_string(*behavior, file, what + ".behavior") != "Contiguous") {
      fail(file, what + ": pre_tokenizer Punctuation is supported only with behavior Contiguous");
    }
    out.steps.push_back("Punctuation(contiguous)");
  } else if (type == "Metaspace") {
    if (depth != 0) fail(file, what + ": pre_tokenizer Metaspace inside a Sequence is not supported");
    out.metaspace = p;
  } else {
    fail(file, what + ": pre_tokenizer '" + type + "' is not supported (supported: ByteLevel, Split, Digits, "
                      "Punctuation, Metaspace, Sequence)");
  }
}

const KnownPre& match_pre(const std::vector<std::string>& steps, const std::string& file) {
  for (const KnownPre& k : known_pres()) {
    if (std::equal(steps.begin(), steps.end(), k.steps.begin(), k.steps.end())) return k;
  }
  std::string got, known;
  for (const std::string& s : steps) got += (got.empty() ? "" : ", ") + s;
  for (const KnownPre& k : known_pres()) known += (known.empty() ? "" : "; ") + std::string(k.name);
  fail(file, "pre_tokenizer [" + got + "] is not a pre-tokenizer lmzip implements (supported: " + known + ")");
}

// ---------------------------------------------------------------------------------------------------------------
// post_processor: where BOS/EOS go.

void read_post_processor(const json& p, const std::string& file, const std::string& what, Vocab& v, size_t depth) {
  if (depth > kMaxNesting) fail(file, what + ": post-processors nested too deeply");
  const std::string type = type_of(p, file, what);
  auto special_id = [&](const json& entry, const std::string& w) -> TokenId {
    // RobertaProcessing: ["<s>", 0]
    if (!entry.is_array() || entry.size() != 2) fail(file, w + " is not [token, id]");
    const int64_t id = as_id(entry[1], file, w + "[1]");
    if (static_cast<size_t>(id) >= v.tokens.size()) fail(file, w + " names id " + std::to_string(id) + " outside the vocabulary");
    return static_cast<TokenId>(id);
  };
  if (type == "Sequence") {
    const json* list = member(p, "processors");
    if (!list || !list->is_array()) fail(file, what + ".processors is not an array");
    for (size_t i = 0; i < list->size(); ++i) {
      read_post_processor((*list)[i], file, what + ".processors[" + std::to_string(i) + "]", v, depth + 1);
    }
  } else if (type == "ByteLevel") {
    // offsets only
  } else if (type == "RobertaProcessing" || type == "BertProcessing") {
    const json* cls = member(p, "cls");
    const json* sep = member(p, "sep");
    if (!cls || !sep) fail(file, what + ": " + type + " lacks cls or sep");
    v.bos = special_id(*cls, what + ".cls");
    v.eos = special_id(*sep, what + ".sep");
    v.add_bos = v.add_eos = true;
  } else if (type == "TemplateProcessing") {
    const json* single = member(p, "single");
    if (!single || !single->is_array()) fail(file, what + ".single is not an array");
    const json* specials = member(p, "special_tokens");
    std::vector<TokenId> before, after;
    bool seen_sequence = false;
    for (size_t i = 0; i < single->size(); ++i) {
      const json& piece = (*single)[i];
      const std::string w = what + ".single[" + std::to_string(i) + "]";
      if (member(piece, "Sequence")) {
        if (seen_sequence) fail(file, w + ": more than one sequence in the template");
        seen_sequence = true;
      } else if (const json* st = member(piece, "SpecialToken")) {
        const json* name = member(*st, "id");
        if (!name) fail(file, w + ".SpecialToken has no id");
        const std::string& n = as_string(*name, file, w + ".SpecialToken.id");
        const json* entry = specials ? member(*specials, n.c_str()) : nullptr;
        const json* ids = entry ? member(*entry, "ids") : nullptr;
        if (!ids || !ids->is_array() || ids->size() != 1) {
          fail(file, w + ": special token '" + n + "' has no single id in " + what + ".special_tokens");
        }
        const int64_t id = as_id((*ids)[0], file, what + ".special_tokens[\"" + n + "\"].ids[0]");
        if (static_cast<size_t>(id) >= v.tokens.size()) fail(file, w + ": id " + std::to_string(id) + " is outside the vocabulary");
        (seen_sequence ? after : before).push_back(static_cast<TokenId>(id));
      } else {
        fail(file, w + " is neither a Sequence nor a SpecialToken");
      }
    }
    if (before.size() > 1 || after.size() > 1) fail(file, what + ": templates with more than one token before or after the text are not supported");
    if (!before.empty()) v.bos = before[0];
    if (!after.empty()) v.eos = after[0];
    v.add_bos = !before.empty();
    v.add_eos = !after.empty();
  } else {
    fail(file, what + ": post_processor '" + type + "' is not supported (supported: TemplateProcessing, ByteLevel, "
                      "RobertaProcessing, BertProcessing, Sequence)");
  }
}

// ---------------------------------------------------------------------------------------------------------------

// SentencePiece-style options from a Metaspace pre-tokenizer.
void read_metaspace(const json& m, const std::string& file, Vocab& v) {
  const json* replacement = member(m, "replacement");
  if (!replacement || as_string(*replacement, file, "pre_tokenizer.replacement") != kMetaSpace) {
    fail(file, "pre_tokenizer Metaspace with a replacement other than \"▁\" is not supported");
  }
  // "split" defaults to true in the tokenizers library; splitting at every '▁' keeps pieces like "▁▁" from forming.
  if (as_bool(m, "split", true, file, "pre_tokenizer")) {
    fail(file, "pre_tokenizer Metaspace with split: true is not supported (SentencePiece does not split at spaces)");
  }
  if (const json* scheme = member(m, "prepend_scheme")) {
    const std::string& s = as_string(*scheme, file, "pre_tokenizer.prepend_scheme");
    if (s == "always") {
      v.add_space_prefix = true;
    } else if (s == "first") {
      v.add_space_prefix = true;
      v.space_prefix_at_start_only = true;
    } else if (s == "never") {
      v.add_space_prefix = false;
    } else {
      fail(file, "pre_tokenizer Metaspace prepend_scheme '" + s + "' is not known");
    }
  } else {
    v.add_space_prefix = as_bool(m, "add_prefix_space", true, file, "pre_tokenizer");
  }
}

// SentencePiece BPE merges the pair whose merged piece has the highest score; the tokenizers library merges the
// pair of lowest rank. The converters write merges in piece-score order, so minus the first rank that produces a
// piece orders pieces the same way. Pieces no merge produces (characters, bytes, specials) never merge.
void scores_from_merges(Vocab& v, const BpeModel& m, const std::string& file) {
  std::unordered_map<std::string_view, size_t> id_of;
  id_of.reserve(v.tokens.size());
  for (size_t id = 0; id < v.tokens.size(); ++id) id_of.emplace(v.tokens[id], id);
  constexpr float kUnset = 1.0f;
  v.scores.assign(v.tokens.size(), kUnset);
  std::string joined;
  for (size_t rank = 0; rank < m.merges.size(); ++rank) {
    joined.assign(m.merges[rank].first).append(m.merges[rank].second);
    auto it = id_of.find(joined);
    if (it == id_of.end()) continue;
    if (v.scores[it->second] == kUnset) v.scores[it->second] = -static_cast<float>(rank);
  }
  if (m.merges.size() >= (size_t{1} << 24)) fail(file, "too many merges for exact float scores");
  const float lowest = -static_cast<float>(m.merges.size());
  for (float& s : v.scores) {
    if (s == kUnset) s = lowest;
  }
}

// GPT-2's byte alphabet: the text of byte b's token (bytes_to_unicode).
std::string byte_token_text(uint32_t b) {
  uint32_t cp = b;
  if (!((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)) {
    uint32_t n = 0;
    for (uint32_t c = 0; c < b; ++c) n += !((c >= 33 && c <= 126) || (c >= 161 && c <= 172) || c >= 174);
    cp = 256 + n;
  }
  std::string out;
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
  return out;
}

Vocab build_vocab(const json& root, const std::string& file) {
  if (!root.is_object()) fail(file, "not a JSON object");
  BpeModel m = read_model(root, file);
  std::vector<AddedToken> added = read_added_tokens(root, file);

  Normalizer norm;
  if (const json* n = member(root, "normalizer")) read_normalizer(*n, file, "normalizer", norm, 0);
  PreTokenizerSpec pre;
  if (const json* p = member(root, "pre_tokenizer")) read_pre_tokenizer(*p, file, "pre_tokenizer", pre, 0);
  const bool spm_style = norm.prepend_space || norm.replace_space || pre.metaspace;

  Vocab v;
  v.tokens = std::move(m.tokens);
  v.types.assign(v.tokens.size(), TokenType::Normal);
  for (size_t id = 0; id < v.tokens.size(); ++id) {
    if (v.tokens[id].empty()) {
      v.tokens[id] = "[PAD" + std::to_string(id) + "]";
      v.types[id] = TokenType::Unused;
    }
  }
  if (m.unk_token) v.unk = find_token(v, *m.unk_token);

  if (spm_style) {
    if (!pre.steps.empty()) fail(file, "pre_tokenizer " + pre.steps[0] + " with a SentencePiece-style normalizer or Metaspace is not supported");
    if (pre.metaspace && (norm.prepend_space || norm.replace_space)) {
      fail(file, "both a Metaspace pre_tokenizer and Prepend/Replace normalizers: not supported");
    }
    if (!pre.metaspace) {
      if (!norm.replace_space) fail(file, "normalizer Prepend \"▁\" without Replace \" \"->\"▁\" is not supported");
      v.add_space_prefix = norm.prepend_space;
    } else {
      read_metaspace(*pre.metaspace, file, v);
    }
    if (!m.byte_fallback) {
      fail(file, "model.byte_fallback is false: a SentencePiece-style tokenizer.json is supported only with byte fallback");
    }
    if (m.merges.empty()) fail(file, "model.merges is empty");
    v.model = "llama";
    for (size_t id = 0; id < v.tokens.size(); ++id) {
      if (v.types[id] == TokenType::Normal && sp::parse_byte_piece(v.tokens[id])) v.types[id] = TokenType::Byte;
    }
    scores_from_merges(v, m, file);
  } else {
    if (pre.steps.empty()) fail(file, "no pre_tokenizer: a BPE tokenizer.json without ByteLevel or Metaspace is not supported");
    const KnownPre& k = match_pre(pre.steps, file);
    if (m.byte_fallback) fail(file, "model.byte_fallback with a ByteLevel pre-tokenizer is not supported");
    // lmzip drops a byte without a token, as the tokenizers library does when unk_token is unset; with it set,
    // that library would emit the unknown token instead.
    if (m.unk_token) {
      std::unordered_map<std::string_view, bool> present;
      for (const std::string& t : v.tokens) present.emplace(t, true);
      for (uint32_t b = 0; b < 256; ++b) {
        if (!present.count(byte_token_text(b))) {
          fail(file, "model.unk_token is set and byte " + std::to_string(b) + " has no token (not supported)");
        }
      }
    }
    if (m.merges.empty()) fail(file, "model.merges is empty");
    v.model = "gpt2";
    v.pre = k.name;
    v.ignore_merges = m.ignore_merges;
    v.merges.reserve(m.merges.size());
    for (size_t rank = 0; rank < m.merges.size(); ++rank) {
      const auto& [a, b] = m.merges[rank];
      if (a.find(' ') != std::string::npos || b.find(' ') != std::string::npos) {
        fail(file, "model.merges[" + std::to_string(rank) + "] has a part with a space, which is not supported");
      }
      v.merges.push_back(a + " " + b);
    }
  }
  const size_t max_size = 2 * (v.tokens.size() + added.size()) + 1024;
  for (const AddedToken& a : added) add_token(v, a, max_size, file);
  if (m.unk_token && !v.unk) v.unk = find_token(v, *m.unk_token);  // an added token only
  if (m.unk_token && !v.unk) fail(file, "model.unk_token '" + *m.unk_token + "' is not in the vocabulary");
  if (v.unk) v.types[*v.unk] = TokenType::Unknown;
  if (const json* p = member(root, "post_processor")) read_post_processor(*p, file, "post_processor", v, 0);
  return v;
}

// A tokenizer_config.json token reference: "text", {"content": "text", ...} or null.
std::optional<std::string> token_ref(const json& v, const std::string& file, const std::string& what) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object()) {
    const json* c = member(v, "content");
    if (!c) fail(file, what + " has no \"content\"");
    return as_string(*c, file, what + ".content");
  }
  fail(file, what + " is neither a string nor an object with \"content\"");
}

}  // namespace

void apply_hf_tokenizer_config(Vocab& v, std::string_view config_json, const std::string& file, HfConfigOptions options) {
  const json root = parse_json(config_json, file);
  if (!root.is_object()) fail(file, "not a JSON object");
  if (options.add_tokens) {
    if (const json* atd = member(root, "added_tokens_decoder")) {
      if (!atd->is_object()) fail(file, "added_tokens_decoder is not an object");
      const size_t max_size = 2 * (v.tokens.size() + atd->size()) + 1024;
      for (const auto& [key, t] : atd->items()) {
        const std::string what = "added_tokens_decoder[\"" + key + "\"]";
        if (key.empty() || key.size() > 10 || key.find_first_not_of("0123456789") != std::string::npos) {
          fail(file, what + ": the key is not a token id");
        }
        const int64_t id = std::stoll(key);
        if (id >= (int64_t{1} << 31) - 1) fail(file, what + ": the id is too large");
        if (!t.is_object()) fail(file, what + " is not an object");
        const json* content = member(t, "content");
        if (!content) fail(file, what + " has no content");
        AddedToken a{.id = id,
                     .content = as_string(*content, file, what + ".content"),
                     .special = as_bool(t, "special", false, file, what),
                     .lstrip = as_bool(t, "lstrip", false, file, what),
                     .rstrip = as_bool(t, "rstrip", false, file, what)};
        if (a.content.empty()) fail(file, what + ".content is empty");
        if (as_bool(t, "single_word", false, file, what)) fail(file, what + " has single_word: true, which is not supported");
        add_token(v, a, max_size, file);
      }
    }
  }
  if (const json* b = member(root, "add_bos_token")) {
    if (!b->is_boolean()) fail(file, "add_bos_token is not true/false");
    v.add_bos = b->get<bool>();
  }
  if (const json* e = member(root, "add_eos_token")) {
    if (!e->is_boolean()) fail(file, "add_eos_token is not true/false");
    v.add_eos = e->get<bool>();
  }
  struct Slot {
    const char* key;
    std::optional<TokenId>* id;
  };
  for (const Slot& s : {Slot{"bos_token", &v.bos}, Slot{"eos_token", &v.eos}, Slot{"unk_token", &v.unk}, Slot{"pad_token", &v.pad}}) {
    auto it = root.find(s.key);
    if (it == root.end()) continue;
    if (it->is_null()) {
      *s.id = std::nullopt;
      continue;
    }
    const std::optional<std::string> text = token_ref(*it, file, s.key);
    *s.id = find_token(v, *text);
    if (!*s.id) fail(file, std::string(s.key) + " '" + *text + "' is not in the vocabulary");
  }
  if (options.legacy_flag) {
    if (const json* legacy = member(root, "legacy")) {
      if (!legacy->is_boolean()) fail(file, "legacy is not true/false");
      // Slow LlamaTokenizer with legacy false: a '▁' before the text only, none after special tokens.
      v.space_prefix_at_start_only = !legacy->get<bool>() && v.add_space_prefix.value_or(true);
    }
  }
}

Vocab vocab_from_hf_json(std::string_view text, const std::string& source_name, std::string_view config_json,
                         const std::string& config_name) {
  const json root = parse_json(text, source_name);
  Vocab v = build_vocab(root, source_name);
  if (!config_json.empty()) apply_hf_tokenizer_config(v, config_json, config_name, {});
  return v;
}

Vocab vocab_from_hf_json_file(const std::string& path) {
  const std::string config = (std::filesystem::path(path).parent_path() / "tokenizer_config.json").string();
  std::error_code ec;
  const bool has_config = std::filesystem::is_regular_file(config, ec);
  return vocab_from_hf_json(read_file(path), path, has_config ? read_file(config) : std::string(), config);
}

}  // namespace lmzip
