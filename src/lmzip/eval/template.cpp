#include "lmzip/eval/template.h"

#include <regex>

#include "lmzip/core/error.h"
#include "lmzip/eval/math_answer.h"
#include "lmzip/core/pystr.h"

namespace lmzip::eval {
namespace {

std::string trim_expr(std::string_view s) { return py_strip(s); }

// One step of a path: a member name, an index, or "[]" (map over the list).
struct PathStep {
  enum Kind { Member, Index, Map } kind;
  std::string name;
  size_t index = 0;
};

std::vector<PathStep> parse_path(std::string_view path) {
  std::vector<PathStep> steps;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      ++i;
    } else if (path[i] == '[') {
      size_t close = path.find(']', i);
      if (close == std::string_view::npos) throw Error("template: unclosed '[' in path '" + std::string(path) + "'");
      std::string inside(path.substr(i + 1, close - i - 1));
      if (inside.empty()) {
        steps.push_back({PathStep::Map, "", 0});
      } else {
        if (inside.find_first_not_of("0123456789") != std::string::npos) {
          throw Error("template: index '" + inside + "' in path '" + std::string(path) + "' is not a number");
        }
        steps.push_back({PathStep::Index, "", std::stoul(inside)});
      }
      i = close + 1;
    } else {
      size_t end = path.find_first_of(".[", i);
      if (end == std::string_view::npos) end = path.size();
      steps.push_back({PathStep::Member, std::string(path.substr(i, end - i)), 0});
      i = end;
    }
  }
  return steps;
}

std::optional<Json> walk(const Json& v, const std::vector<PathStep>& steps, size_t at) {
  if (at == steps.size()) return v;
  const PathStep& s = steps[at];
  if (s.kind == PathStep::Member) {
    if (!v.is_object() || !v.contains(s.name)) return std::nullopt;
    return walk(v[s.name], steps, at + 1);
  }
  if (!v.is_array()) return std::nullopt;
  if (s.kind == PathStep::Index) {
    if (s.index >= v.size()) return std::nullopt;
    return walk(v[s.index], steps, at + 1);
  }
  Json out = Json::array();
  for (const Json& e : v) {
    auto r = walk(e, steps, at + 1);
    if (!r) return std::nullopt;
    out.push_back(std::move(*r));
  }
  return out;
}

std::string as_text_value(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The argument of a filter written name('arg') or name("arg"); std::nullopt when `name` has no argument.
std::optional<std::string> filter_argument(const std::string& filter, std::string_view tmpl) {
  const size_t open = filter.find('(');
  if (open == std::string::npos) return std::nullopt;
  const std::string inside = filter.substr(open + 1, filter.size() - open - 2);
  if (filter.back() != ')' || inside.size() < 2 || (inside[0] != '\'' && inside[0] != '"') || inside.back() != inside[0]) {
    throw Error("template '" + std::string(tmpl) + "': filter '" + filter + "' needs one quoted argument, e.g. join(' ')");
  }
  return inside.substr(1, inside.size() - 2);
}

Json apply_string_filter(const std::string& name, const Json& v, std::string_view tmpl) {
  const std::string base = name.substr(0, name.find('('));
  if (base == "or_empty" && v.is_null()) return "";
  if (v.is_array()) {
    if (name == "first") {
      if (v.empty()) throw Error("template '" + std::string(tmpl) + "': filter 'first' on an empty list");
      return v[0];
    }
    if (base == "join") {
      const auto sep = filter_argument(name, tmpl);
      std::string out;
      for (size_t i = 0; i < v.size(); ++i) out += (i ? sep.value_or(" ") : "") + as_text_value(v[i]);
      return out;
    }
    Json out = Json::array();
    for (const Json& e : v) out.push_back(apply_string_filter(name, e, tmpl));
    return out;
  }
  if (name == "first") return v;
  std::string s = v.is_string() ? v.get<std::string>() : v.dump();
  if (name == "strip") return py_strip(s);
  if (name == "capitalize") return py_capitalize(s);
  if (name == "lower") return py_lower(s);
  if (name == "hellaswag_preprocess") return hellaswag_preprocess(s);
  if (name == "or_empty") return s;
  if (name == "last_boxed") {
    auto boxed = last_boxed_only_string(s);
    return boxed ? Json(*boxed) : Json();
  }
  if (name == "remove_boxed") {
    auto inside = v.is_null() ? std::nullopt : remove_boxed(s);
    if (!inside) throw Error("filter remove_boxed: no \\boxed{...} answer in '" + (v.is_null() ? std::string("(none)") : s) + "'");
    return *inside;
  }
  if (name == "math_normalize") return normalize_final_answer(s);
  if (name == "math_strip") return strip_string(s).value_or(s);
  if (name == "ds1000_postprocess") return ds1000_postprocess(s);
  if (name == "py_repr") return py_string_literal(s);
  if (name == "underscores_to_spaces") return replace_all(s, "_", " ");  // lm-eval's ' '.join(subject.split('_'))
  throw Error("template '" + std::string(tmpl) + "': unknown filter '" + name +
              "' (known: strip, capitalize, lower, hellaswag_preprocess, first, join('sep'), or_empty, last_boxed, "
              "remove_boxed, math_normalize, math_strip, ds1000_postprocess, py_repr, underscores_to_spaces)");
}

Json eval_expr(std::string_view expr, const Json& doc, std::string_view tmpl) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t bar; (bar = expr.find('|', start)) != std::string_view::npos; start = bar + 1) {
    parts.push_back(trim_expr(expr.substr(start, bar - start)));
  }
  parts.push_back(trim_expr(expr.substr(start)));
  auto value = lookup_path(doc, parts[0]);
  if (!value) {
    throw Error("template '" + std::string(tmpl) + "': the document has no field '" + parts[0] + "'");
  }
  for (size_t i = 1; i < parts.size(); ++i) *value = apply_string_filter(parts[i], *value, tmpl);
  return *value;
}

std::string as_text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

}  // namespace

std::optional<Json> lookup_path(const Json& doc, std::string_view path) { return walk(doc, parse_path(path), 0); }

Json render_value(std::string_view tmpl, const Json& doc) {
  std::string text;
  std::optional<Json> single;
  size_t pos = 0, n_exprs = 0;
  bool only_expr = true;
  while (pos < tmpl.size()) {
    size_t open = tmpl.find("{{", pos);
    if (open == std::string_view::npos) {
      text += tmpl.substr(pos);
      only_expr = false;
      break;
    }
    if (open > pos) only_expr = false;
    text += tmpl.substr(pos, open - pos);
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) throw Error("template '" + std::string(tmpl) + "': unclosed '{{'");
    Json v = eval_expr(tmpl.substr(open + 2, close - open - 2), doc, tmpl);
    text += as_text(v);
    single = std::move(v);
    ++n_exprs;
    pos = close + 2;
  }
  if (only_expr && n_exprs == 1) return *single;
  return text;
}

std::string render_text(std::string_view tmpl, const Json& doc) { return as_text(render_value(tmpl, doc)); }

std::string replace_all(std::string_view s, std::string_view from, std::string_view to) {
  if (from.empty()) return std::string(s);
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos, std::string::npos);
  return out;
}

std::string hellaswag_preprocess(std::string_view s) {
  std::string t = py_strip(s);
  t = replace_all(t, " [title]", ". ");
  // Python re.sub("\\[.*?\\]", ""): "." excludes newlines, so a match is "[" up to the first "]" on one line.
  static const std::regex bracketed(R"(\[[^\]\n]*\])");
  t = std::regex_replace(t, bracketed, "");
  return replace_all(t, "  ", " ");
}

std::string ds1000_postprocess(std::string_view text) {
  std::string code(text);
  auto cut = [&](std::string_view at) {
    const size_t p = code.find(at);
    if (p != std::string::npos) code.resize(p);
  };
  cut("</code>");
  code = replace_all(code, "```python", "");
  cut("```");
  cut("\nEND SOLUTION");
  return replace_all(code, "<code>", "");
}

std::string py_string_literal(std::string_view s) {
  static const char* const hex = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) out += std::string("\\x") + hex[c >> 4] + hex[c & 15];
    else out += ch;
  }
  return out + "\"";
}

}  // namespace lmzip::eval
