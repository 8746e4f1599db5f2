// LaTeX → text that keeps the math; main-file detection and \input inlining for source bundles.
#include <cctype>
#include <set>
#include <string>

#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/text.h"

namespace lmzip::corpus {

namespace {

const std::set<std::string, std::less<>> kMathEnvs = {
    "equation", "equation*", "align", "align*", "gather", "gather*", "multline", "multline*", "eqnarray",
    "eqnarray*", "displaymath", "math", "flalign", "flalign*", "alignat", "alignat*", "split", "cases"};
const std::set<std::string, std::less<>> kDroppedEnvs = {
    "figure", "figure*", "table", "table*", "tikzpicture", "comment", "thebibliography", "picture", "wrapfigure"};
const std::set<std::string, std::less<>> kDroppedCommands = {
    "label", "cite", "citep", "citet", "citealp", "nocite", "bibliography", "bibliographystyle", "includegraphics",
    "vspace", "hspace", "vskip", "hskip", "newcommand", "renewcommand", "providecommand", "def", "usepackage",
    "documentclass", "setlength", "addtolength", "pagestyle", "thispagestyle", "newtheorem", "input", "include",
    "ref", "eqref", "cref", "Cref", "autoref", "pageref", "footnotemark", "thanks", "setcounter", "DeclareMathOperator",
    "author", "date", "keywords", "email", "address", "affiliation", "subjclass", "maketitle", "tableofcontents"};
const std::set<std::string, std::less<>> kTheoremLike = {
    "theorem", "lemma", "proposition", "corollary", "definition", "remark", "example", "proof", "conjecture",
    "claim", "abstract", "notation", "assumption", "exercise"};

int section_level(std::string_view cmd) {
  if (cmd == "part" || cmd == "chapter" || cmd == "title") return 1;
  if (cmd == "section") return 1;
  if (cmd == "subsection") return 2;
  if (cmd == "subsubsection") return 3;
  if (cmd == "paragraph" || cmd == "subparagraph") return 4;
  return 0;
}

// Position just after the group that opens at `open` ('{' or '['), honouring nesting and escapes;
// npos when unbalanced.
size_t group_end(std::string_view s, size_t open) {
  char o = s[open], c = o == '{' ? '}' : ']';
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    if (s[i] == '\\') { ++i; continue; }
    if (s[i] == o) ++depth;
    else if (s[i] == c && --depth == 0) return i + 1;
  }
  return std::string_view::npos;
}

size_t skip_spaces(std::string_view s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return i;
}

class LatexConverter {
 public:
  std::string convert(std::string_view s, int depth = 0) {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      if (depth > 50) return out;  // pathological nesting: stop rather than recurse without bound
      char ch = s[i];
      if (ch == '$') { i = copy_dollar_math(s, i, out); continue; }
      if (ch == '\\' && i + 1 < s.size()) { i = command(s, i, out, depth); continue; }
      if (ch == '{' || ch == '}') { ++i; continue; }
      if (ch == '~') { out.push_back(' '); ++i; continue; }
      out.push_back(ch);
      ++i;
    }
    return out;
  }

 private:
  size_t copy_dollar_math(std::string_view s, size_t i, std::string& out) {
    std::string_view delim = s.substr(i, 2) == "$$" ? "$$" : "$";
    size_t j = i + delim.size();
    while (j < s.size()) {
      if (s[j] == '\\') { j += 2; continue; }
      if (s.substr(j, delim.size()) == delim) break;
      ++j;
    }
    size_t end = std::min(s.size(), j + delim.size());
    out.append(s.substr(i, end - i));
    return end;
  }

  size_t command(std::string_view s, size_t i, std::string& out, int depth) {
    char next = s[i + 1];
    if (!std::isalpha(static_cast<unsigned char>(next))) {
      if (next == '[' || next == '(') {  // display / inline math: copied verbatim
        std::string_view close = next == '[' ? "\\]" : "\\)";
        size_t end = s.find(close, i + 2);
        end = end == std::string_view::npos ? s.size() : end + 2;
        out.append(s.substr(i, end - i));
        return end;
      }
      if (next == '\\') out.push_back('\n');
      else if (next == ' ' || next == ',') out.push_back(' ');
      else if (std::string_view("%&$#_{}").find(next) != std::string_view::npos) out.push_back(next);
      return i + 2;
    }
    size_t j = i + 1;
    while (j < s.size() && std::isalpha(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view name = s.substr(i + 1, j - i - 1);
    if (j < s.size() && s[j] == '*') ++j;
    if (name == "begin" || name == "end") return environment(s, i, j, name == "begin", out);
    if (int level = section_level(name)) {
      j = skip_spaces(s, j);
      if (j < s.size() && s[j] == '[') j = std::min(s.size(), group_end(s, j));
      if (j < s.size() && s[j] == '{') {
        size_t e = group_end(s, j);
        if (e == std::string_view::npos) e = s.size();
        std::string title = trim(convert(s.substr(j + 1, std::max(e, j + 2) - j - 2), depth + 1));
        out += "\n\n" + std::string(static_cast<size_t>(level), '#') + " " + title + "\n\n";
        return e;
      }
      return j;
    }
    if (kDroppedCommands.count(name)) return skip_arguments(s, j, name == "newcommand" || name == "renewcommand" ? 2 : 1);
    if (name == "href") {  // \href{url}{text}: keep the text
      j = skip_spaces(s, j);
      if (j < s.size() && s[j] == '{') {
        size_t e = group_end(s, j);
        return e == std::string_view::npos ? s.size() : e;
      }
    }
    if (name == "item") out += "\n- ";
    if (name == "par") out += "\n\n";
    return j;  // other commands unwrap: their braces are dropped, their text stays
  }

  size_t skip_arguments(std::string_view s, size_t j, int groups) {
    for (;;) {
      size_t k = skip_spaces(s, j);
      if (k < s.size() && s[k] == '[') {
        size_t e = group_end(s, k);
        if (e == std::string_view::npos) return s.size();
        j = e;
        continue;
      }
      if (groups > 0 && k < s.size() && s[k] == '{') {
        size_t e = group_end(s, k);
        if (e == std::string_view::npos) return s.size();
        j = e;
        --groups;
        continue;
      }
      return j;
    }
  }

  size_t environment(std::string_view s, size_t cmd_start, size_t j, bool begin, std::string& out) {
    if (j >= s.size() || s[j] != '{') return j;
    size_t e = group_end(s, j);
    if (e == std::string_view::npos) return s.size();
    std::string name(s.substr(j + 1, e - j - 2));
    if (begin && (kMathEnvs.count(name) || kDroppedEnvs.count(name))) {
      std::string closing = "\\end{" + name + "}";
      size_t end = s.find(closing, e);
      end = end == std::string_view::npos ? s.size() : end + closing.size();
      if (kMathEnvs.count(name)) out.append("\n").append(s.substr(cmd_start, end - cmd_start)).append("\n");
      return end;
    }
    if (begin && kTheoremLike.count(name)) {
      std::string label = name;
      label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
      out += "\n\n**" + label + ".** ";
      return skip_arguments(s, e, 0);
    }
    out += "\n";
    return e;
  }
};

}  // namespace

std::string strip_latex_comments(std::string_view latex) {
  std::string out;
  out.reserve(latex.size());
  size_t i = 0;
  while (i < latex.size()) {
    char c = latex[i];
    if (c == '\\' && i + 1 < latex.size()) {
      out.append(latex.substr(i, 2));
      i += 2;
      continue;
    }
    if (c == '%') {
      size_t nl = latex.find('\n', i);
      if (nl == std::string_view::npos) break;
      i = nl + 1;  // a comment line joins the next, as TeX reads it
      continue;
    }
    out.push_back(c);
    ++i;
  }
  return out;
}

std::string latex_to_text(std::string_view latex) {
  std::string body = strip_latex_comments(latex);
  std::string_view v(body);
  size_t b = v.find("\\begin{document}");
  if (b != std::string_view::npos) v = v.substr(b + 16);
  size_t e = v.find("\\end{document}");
  if (e != std::string_view::npos) v = v.substr(0, e);
  std::string raw = LatexConverter().convert(v);
  // Tidy: trailing spaces off each line, at most one blank line in a row.
  std::string out;
  int newlines = 0;
  for (auto line : split_lines(raw)) {
    std::string t(line);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.pop_back();
    size_t lead = 0;
    while (lead < t.size() && t[lead] == ' ') ++lead;
    if (lead == t.size()) {
      if (!out.empty() && newlines < 2) out.push_back('\n'), ++newlines;
      continue;
    }
    out += t.substr(lead);
    out.push_back('\n');
    newlines = 1;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

namespace {
std::string basename_of(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}
bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}
}  // namespace

std::string find_main_tex(const std::map<std::string, std::string>& files) {
  std::vector<std::string> tex;
  for (const auto& [path, content] : files) {
    if (ends_with(to_lower_ascii(path), ".tex")) tex.push_back(path);
  }
  for (const auto& p : tex) {
    std::string base = to_lower_ascii(basename_of(p));
    if (base == "main.tex" || base == "paper.tex") return p;
  }
  if (tex.size() == 1) return tex[0];
  for (const auto& p : tex) {
    if (strip_latex_comments(files.at(p)).find("\\title") != std::string::npos) return p;
  }
  for (const auto& p : tex) {
    if (strip_latex_comments(files.at(p)).find("\\documentclass") != std::string::npos) return p;
  }
  return "";
}

std::string inline_latex_inputs(const std::string& main_path, const std::map<std::string, std::string>& files,
                                int max_depth) {
  auto it = files.find(main_path);
  if (it == files.end()) return "";
  std::string dir = main_path.find('/') == std::string::npos ? "" : main_path.substr(0, main_path.rfind('/') + 1);
  std::string text = strip_latex_comments(it->second);
  for (int depth = 0; depth < max_depth; ++depth) {
    std::string out;
    bool changed = false;
    size_t i = 0;
    while (i < text.size()) {
      size_t a = text.find("\\input{", i), b = text.find("\\include{", i);
      size_t p = std::min(a, b);
      if (p == std::string::npos) break;
      size_t open = text.find('{', p);
      size_t close = text.find('}', open);
      if (close == std::string::npos) break;
      std::string name = trim(text.substr(open + 1, close - open - 1));
      out += text.substr(i, p - i);
      const std::string* found = nullptr;
      for (const std::string& cand : {dir + name, dir + name + ".tex", name, name + ".tex"}) {
        if (auto f = files.find(cand); f != files.end()) { found = &f->second; break; }
      }
      if (found) {
        out += strip_latex_comments(*found);
        changed = true;
      }
      i = close + 1;
    }
    out += text.substr(std::min(i, text.size()));
    text = std::move(out);
    if (!changed) break;
  }
  return text;
}

}  // namespace lmzip::corpus
