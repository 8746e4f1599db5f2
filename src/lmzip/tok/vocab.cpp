#include "lmzip/core/error.h"
#include "lmzip/tok/pretokenize.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {

Vocab Vocab::from_gguf(const GgufFile& f) {
  Vocab v;
  auto model = f.get_string("tokenizer.ggml.model");
  if (!model) throw Error(f.name() + ": no tokenizer (metadata key 'tokenizer.ggml.model' is missing)");
  v.model = *model;
  v.pre = f.get_string("tokenizer.ggml.pre").value_or("");
  const GgufValue* tokens = f.find_array("tokenizer.ggml.tokens", GgufType::STRING);
  if (!tokens || tokens->array_size() == 0) {
    throw Error(f.name() + ": tokenizer has no vocabulary ('tokenizer.ggml.tokens' is missing or empty)");
  }
  if (tokens->array_size() > (1u << 31) - 1) throw Error(f.name() + ": vocabulary too large");
  v.tokens.assign(tokens->array_strings().begin(), tokens->array_strings().end());
  const size_t n = v.tokens.size();

  if (const GgufValue* scores = f.find_array("tokenizer.ggml.scores", GgufType::FLOAT32, true)) {
    if (scores->array_size() != n) {
      throw Error(f.name() + ": 'tokenizer.ggml.scores' has " + std::to_string(scores->array_size()) +
                  " entries for " + std::to_string(n) + " tokens");
    }
    v.scores.resize(n);
    for (size_t i = 0; i < n; ++i) v.scores[i] = static_cast<float>(scores->array_number(i));
  }
  v.types.assign(n, TokenType::Normal);
  if (const GgufValue* types = f.find_array("tokenizer.ggml.token_type", GgufType::INT32, true)) {
    if (types->array_size() != n) {
      throw Error(f.name() + ": 'tokenizer.ggml.token_type' has " + std::to_string(types->array_size()) +
                  " entries for " + std::to_string(n) + " tokens");
    }
    for (size_t i = 0; i < n; ++i) {
      int64_t t = types->array_int(i);
      if (t < 0 || t > 6) throw Error(f.name() + ": token " + std::to_string(i) + " has unknown type " + std::to_string(t));
      v.types[i] = static_cast<TokenType>(t);
    }
  }
  if (const GgufValue* merges = f.find_array("tokenizer.ggml.merges", GgufType::STRING)) {
    v.merges.assign(merges->array_strings().begin(), merges->array_strings().end());
  }
  auto special = [&](const char* role) -> std::optional<TokenId> {
    std::string key = std::string("tokenizer.ggml.") + role + "_token_id";
    auto id = f.get_int(key);
    if (!id) return std::nullopt;
    if (*id < 0 || static_cast<uint64_t>(*id) >= n) {
      // llama.cpp's converters write -1 or out-of-range ids for "none"; treat as absent.
      return std::nullopt;
    }
    return static_cast<TokenId>(*id);
  };
  v.bos = special("bos");
  v.eos = special("eos");
  v.unk = special("unknown");
  v.pad = special("padding");
  v.sep = special("separator");
  v.eot = special("eot");
  // Defaults as llama.cpp applies them: SentencePiece vocabularies add BOS unless told otherwise.
  // Byte-level BPE of the Llama 3 family adds BOS too (llama.cpp's per-pre-tokenizer default).
  const bool bos_by_default =
      v.model == "llama" || (v.model == "gpt2" && PreTokenizer::adds_bos_by_default(v.pre));
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token").value_or(bos_by_default);
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token").value_or(false);
  v.add_space_prefix = f.get_bool("tokenizer.ggml.add_space_prefix");
  v.name = f.get_string("general.name").value_or("");
  v.architecture = f.get_string("general.architecture").value_or("");
  return v;
}

void Vocab::write_gguf(GgufWriter& w) const {
  w.set_string("tokenizer.ggml.model", model);
  if (!pre.empty()) w.set_string("tokenizer.ggml.pre", pre);
  w.set_strings("tokenizer.ggml.tokens", tokens);
  if (!scores.empty()) w.set_f32s("tokenizer.ggml.scores", scores);
  if (!types.empty()) {
    std::vector<int32_t> t(types.size());
    for (size_t i = 0; i < types.size(); ++i) t[i] = static_cast<int32_t>(types[i]);
    w.set_i32s("tokenizer.ggml.token_type", t);
  }
  if (!merges.empty()) w.set_strings("tokenizer.ggml.merges", merges);
  const std::pair<const char*, std::optional<TokenId>> ids[] = {{"bos", bos}, {"eos", eos}, {"unknown", unk},
                                                                {"padding", pad}, {"separator", sep}, {"eot", eot}};
  for (const auto& [role, id] : ids) {
    if (id) w.set_u32(std::string("tokenizer.ggml.") + role + "_token_id", static_cast<uint32_t>(*id));
  }
  w.set_bool("tokenizer.ggml.add_bos_token", add_bos);
  w.set_bool("tokenizer.ggml.add_eos_token", add_eos);
  if (add_space_prefix) w.set_bool("tokenizer.ggml.add_space_prefix", *add_space_prefix);
}

}  // namespace lmzip

namespace lmzip {
namespace {

std::string id_text(const std::optional<TokenId>& id) { return id ? std::to_string(*id) : "none"; }

}  // namespace

std::string vocab_difference(const Vocab& a, const Vocab& b) {
  if (a.model != b.model) return "tokenizer model '" + a.model + "' vs '" + b.model + "'";
  if (a.pre != b.pre) return "pre-tokenizer '" + a.pre + "' vs '" + b.pre + "'";
  if (a.tokens.size() != b.tokens.size()) {
    return std::to_string(a.tokens.size()) + " vs " + std::to_string(b.tokens.size()) + " tokens";
  }
  for (size_t i = 0; i < a.tokens.size(); ++i) {
    if (a.tokens[i] != b.tokens[i]) return "token " + std::to_string(i) + " is '" + a.tokens[i] + "' vs '" + b.tokens[i] + "'";
  }
  if (a.types != b.types) return "the token types differ";
  if (a.scores != b.scores) return "the token scores differ";
  if (a.merges != b.merges) return "the merges differ";
  if (a.bos != b.bos) return "BOS " + id_text(a.bos) + " vs " + id_text(b.bos);
  if (a.eos != b.eos) return "EOS " + id_text(a.eos) + " vs " + id_text(b.eos);
  if (a.add_bos != b.add_bos || a.add_eos != b.add_eos) return "add_bos/add_eos differ";
  if (a.add_space_prefix != b.add_space_prefix) return "add_space_prefix differs";
  return "";
}

}  // namespace lmzip
