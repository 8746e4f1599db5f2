#include "lmzip/eval/template.h"

#include <regex>

#include "lmzip/core/error.h"

namespace lmzip::eval {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

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

Json apply_string_filter(const std::string& name, const Json& v, std::string_view tmpl) {
  if (v.is_array()) {
    if (name == "first") {
      if (v.empty()) throw Error("template '" + std::string(tmpl) + "': filter 'first' on an empty list");
      return v[0];
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
  throw Error("template '" + std::string(tmpl) + "': unknown filter '" + name +
              "' (known: strip, capitalize, lower, hellaswag_preprocess, first)");
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

std::string py_strip(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && is_space(s[b])) ++b;
  while (e > b && is_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

std::string py_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string py_capitalize(std::string_view s) {
  std::string out = py_lower(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

namespace {
std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
    out.append(s, pos, hit - pos);
    out += to;
  }
  out.append(s, pos, std::string::npos);
  return out;
}
}  // namespace

std::string hellaswag_preprocess(std::string_view s) {
  std::string t = py_strip(s);
  t = replace_all(t, " [title]", ". ");
  // Python re.sub("\\[.*?\\]", ""): "." excludes newlines, so a match is "[" up to the first "]" on one line.
  static const std::regex bracketed(R"(\[[^\]\n]*\])");
  t = std::regex_replace(t, bracketed, "");
  return replace_all(t, "  ", " ");
}

}  // namespace lmzip::eval
