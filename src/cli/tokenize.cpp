// lmzip tokenize -m MODEL.gguf [-f FILE] [--no-bos] [--ids|--pieces|--json] [--batch] [--parse-special]
//
// Scripts depend on this contract: --ids prints the ids separated by single spaces on one line; --no-bos adds no
// BOS/EOS; --batch reads one JSON string per stdin line and prints one line of ids per input, in order (an empty
// line for no tokens); special-token text is only parsed as special tokens with --parse-special.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/core/json.h"
#include "lmzip/format/gguf.h"
#include "lmzip/hf/model_source.h"
#include "lmzip/io/file.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip::cli {
namespace {

enum class Output { Summary, Ids, Pieces, Json };

// A piece made printable on one line: backslash, space and control bytes escaped, everything else as is.
std::string printable(std::string_view piece) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : piece) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (b <= 0x20 || b == 0x7F) {
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string ids_line(const std::vector<TokenId>& ids) {
  std::string line;
  line.reserve(ids.size() * 6);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  return line;
}

std::string render(const Tokenizer& tok, const std::vector<TokenId>& ids, size_t text_bytes, Output output) {
  switch (output) {
    case Output::Ids:
      return ids_line(ids) + "\n";
    case Output::Pieces: {
      std::string line;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (i) line += ' ';
        line += printable(tok.piece(ids[i]));
      }
      return line + "\n";
    }
    case Output::Json: {
      nlohmann::json pieces = nlohmann::json::array();
      // Pieces can hold bytes that are not UTF-8 on their own; the JSON shows them with U+FFFD.
      for (TokenId id : ids) pieces.push_back(tok.piece(id));
      nlohmann::json j = {{"tokens", ids.size()}, {"bytes", text_bytes}, {"ids", ids}, {"pieces", pieces}};
      return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
    case Output::Summary:
    default: {
      std::ostringstream s;
      s << ids.size() << " tokens for " << text_bytes << " bytes";
      if (!ids.empty()) s << " (" << static_cast<double>(text_bytes) / static_cast<double>(ids.size()) << " bytes/token)";
      s << "\n" << ids_line(ids) << "\n";
      return s.str();
    }
  }
}

void write_stdout(std::string_view s) { std::fwrite(s.data(), 1, s.size(), stdout); }

// --batch: each stdin line is one JSON string; each gives one output line of ids.
void run_batch(const Tokenizer& tok, const EncodeOptions& options) {
  std::string line, out;
  for (size_t line_no = 1; std::getline(std::cin, line); ++line_no) {
    nlohmann::json j = parse_json(line, "<stdin>", line_no);  // a syntax error says where
    if (!j.is_string()) {
      throw Error("standard input line " + std::to_string(line_no) +
                  ": --batch expects one JSON string per line (e.g. \"Hello\\nworld\")");
    }
    out += ids_line(tok.encode(j.get_ref<const std::string&>(), options));
    out += '\n';
    if (out.size() > (1u << 16)) {
      write_stdout(out);
      out.clear();
    }
  }
  write_stdout(out);
}

int run_tokenize(int argc, char** argv) {
  std::string model_path, file_path, tokenizer_path;
  bool no_bos = false, ids = false, pieces = false, json = false, batch = false, parse_special = false;
  ArgParser args("lmzip tokenize -m MODEL.gguf [-f FILE] [--no-bos] [--ids|--pieces|--json] [--batch] [--parse-special]",
                 "Tokenizes text with the tokenizer stored in a GGUF file: the file given by -f, else standard input.\n"
                 "By default prints the token count and the ids.");
  args.option("-m, --model", "MODEL", &model_path,
              "model or vocabulary GGUF file, or a Hugging Face checkpoint directory (required)");
  args.option("--tokenizer", "FILE", &tokenizer_path,
              "tokenizer.model, tokenizer.json or a .gguf vocabulary to use instead of the model's own");
  args.option("-f, --file", "FILE", &file_path, "text to tokenize (default: standard input; '-' too)");
  args.flag("--no-bos", &no_bos, "add no BOS/EOS tokens (by default the file's add_bos/add_eos flags apply)");
  args.flag("--ids", &ids, "print only the ids, separated by single spaces, on one line");
  args.flag("--pieces", &pieces, "print the pieces, separated by spaces (space, backslash, control bytes escaped)");
  args.flag("--json", &json, "print {\"tokens\", \"bytes\", \"ids\", \"pieces\"} as one JSON object");
  args.flag("--batch", &batch, "standard input holds one JSON string per line; print one line of ids for each");
  args.flag("--parse-special", &parse_special, "recognise special-token text such as <s> in the input");
  if (!args.parse(argc, argv)) return 0;

  if (model_path.empty()) throw UsageError("tokenize needs a model: -m MODEL.gguf");
  if (ids + pieces + json > 1) throw UsageError("choose at most one of --ids, --pieces, --json");
  if (batch && (pieces || json)) throw UsageError("--batch prints ids only; drop --pieces/--json");
  if (batch && !file_path.empty()) throw UsageError("--batch reads standard input; drop -f");

  const ModelSource source = open_model_source(model_path, tokenizer_path);
  std::unique_ptr<Tokenizer> tok = source.tokenizer();
  const EncodeOptions options{.add_special = !no_bos, .parse_special = parse_special};
  if (batch) {
    run_batch(*tok, options);
    return 0;
  }
  const std::string text = read_file(file_path.empty() ? "-" : file_path);
  const Output output = ids ? Output::Ids : pieces ? Output::Pieces : json ? Output::Json : Output::Summary;
  write_stdout(render(*tok, tok->encode(text, options), text.size(), output));
  return 0;
}

Registration reg{{"tokenize", "tokenize text with a model's tokenizer (GGUF or checkpoint; ids, pieces, JSON, batch)", run_tokenize}};

}  // namespace
}  // namespace lmzip::cli
