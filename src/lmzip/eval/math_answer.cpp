#include "lmzip/eval/math_answer.h"

#include "lmzip/eval/template.h"

#include <regex>
#include <vector>

namespace lmzip::eval {
namespace {

// Python str.split(sep) (sep non-empty).
std::vector<std::string> split(const std::string& s, const std::string& sep) {
  std::vector<std::string> parts;
  size_t pos = 0;
  for (size_t hit; (hit = s.find(sep, pos)) != std::string::npos; pos = hit + sep.size()) {
    parts.push_back(s.substr(pos, hit - pos));
  }
  parts.push_back(s.substr(pos));
  return parts;
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

// The Python int(x) of an ASCII string without spaces: optional sign, digits ("1_000" is not handled).
std::optional<long long> py_int(const std::string& s) {
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i == s.size() || s.size() > 18) return std::nullopt;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return std::nullopt;
  }
  return std::stoll(s);
}

struct PyException {};  // where the Python original raises (IndexError, AssertionError, ValueError)

std::string fix_fracs(const std::string& string) {
  std::vector<std::string> substrs = split(string, "\\frac");
  std::string new_str = substrs[0];
  for (size_t i = 1; i < substrs.size(); ++i) {
    const std::string& substr = substrs[i];
    new_str += "\\frac";
    if (substr.empty()) throw PyException{};  // substr[0]: IndexError
    if (substr[0] == '{') {
      new_str += substr;
      continue;
    }
    if (substr.size() < 2) return string;  // the AssertionError is caught: the input unchanged
    const std::string a(1, substr[0]), b(1, substr[1]);
    const std::string post = substr.substr(2);
    if (b != "{") new_str += "{" + a + "}{" + b + "}" + post;
    else new_str += "{" + a + "}" + b + post;
  }
  return new_str;
}

std::string fix_a_slash_b(const std::string& string) {
  std::vector<std::string> parts = split(string, "/");
  if (parts.size() != 2) return string;
  auto a = py_int(parts[0]), b = py_int(parts[1]);
  if (!a || !b) throw PyException{};  // int() raises ValueError, which the original does not catch
  if (string != std::to_string(*a) + "/" + std::to_string(*b)) return string;
  return "\\frac{" + std::to_string(*a) + "}{" + std::to_string(*b) + "}";
}

std::string remove_right_units(const std::string& string) {
  if (string.find("\\text{ ") == std::string::npos) return string;
  std::vector<std::string> splits = split(string, "\\text{ ");
  if (splits.size() != 2) throw PyException{};  // assert len(splits) == 2
  return splits[0];
}

std::string fix_sqrt(const std::string& string) {
  if (string.find("\\sqrt") == std::string::npos) return string;
  std::vector<std::string> splits = split(string, "\\sqrt");
  std::string new_string = splits[0];
  for (size_t i = 1; i < splits.size(); ++i) {
    const std::string& part = splits[i];
    if (part.empty()) throw PyException{};  // split[0]: IndexError
    if (part[0] != '{') new_string += "\\sqrt{" + part.substr(0, 1) + "}" + part.substr(1);
    else new_string += "\\sqrt" + part;
  }
  return new_string;
}

}  // namespace

std::optional<std::string> last_boxed_only_string(const std::string& s) {
  const size_t spaced = s.find("\\boxed ");
  if (spaced != std::string::npos) {
    const std::string after = s.substr(s.rfind("\\boxed ") + 7);
    return "\\boxed " + after.substr(0, after.find('$'));
  }
  size_t idx = s.rfind("\\boxed");
  if (idx == std::string::npos) idx = s.rfind("\\fbox");
  if (idx == std::string::npos) return std::nullopt;
  int open = 0;
  for (size_t i = idx; i < s.size(); ++i) {
    if (s[i] == '{') ++open;
    if (s[i] == '}') {
      --open;
      if (open == 0) return s.substr(idx, i - idx + 1);
    }
  }
  return std::nullopt;
}

std::optional<std::string> remove_boxed(const std::string& s) {
  if (s.find("\\boxed ") != std::string::npos) {
    if (!s.starts_with("\\boxed ")) return std::nullopt;
    return s.substr(7);
  }
  for (const char* left : {"\\boxed{", "\\fbox{"}) {
    const std::string l(left);
    if (s.starts_with(l) && s.size() > l.size() && s.back() == '}') return s.substr(l.size(), s.size() - l.size() - 1);
  }
  return std::nullopt;
}

std::string normalize_final_answer(std::string s) {
  s = split(s, "=").back();
  static const std::pair<const char*, const char*> kSubstitutions[] = {
      {"an ", ""}, {"a ", ""}, {".$", "$"}, {"\\$", ""}, {"\\ ", ""}, {" ", ""}, {"mbox", "text"},
      {",\\text{and}", ","}, {"\\text{and}", ","}, {"\\text{m}", "\\text{}"}};
  static const char* const kRemoved[] = {
      "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units", "\\ldots", "sue",
      "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm", "pounds", "meters", "meals", "edges",
      "students", "childrentickets", "multiples", "\\text{s}", "\\text{.}", "\\text{\ns}", "\\text{}^2",
      "\\text{}^3", "\\text{\n}", "\\text{}", "\\mathrm{th}", "^\\circ", "^{\\circ}", "\\;", ",\\!", "{,}", "\"",
      "\\dots"};
  for (const auto& [before, after] : kSubstitutions) s = replace_all(s, before, after);
  for (const char* expr : kRemoved) s = replace_all(s, expr, "");
  // Python re.sub; "." matches anything but "\n" there and anything but "\n", "\r" here.
  static const std::regex dollars(R"((.*?)(\$)(.*?)(\$)(.*))"), text(R"((\\text\{)(.*?)(\}))"),
      textbf(R"((\\textbf\{)(.*?)(\}))"), overline(R"((\\overline\{)(.*?)(\}))"), boxed(R"((\\boxed\{)(.*)(\}))"),
      frac(R"((frac)([^{])(.))"), sqrt(R"((sqrt)([^{]))");
  s = std::regex_replace(s, dollars, "$$$3$$");
  s = std::regex_replace(s, text, "$2");
  s = std::regex_replace(s, textbf, "$2");
  s = std::regex_replace(s, overline, "$2");
  s = std::regex_replace(s, boxed, "$2");
  s = std::regex_replace(s, frac, "frac{$2}{$3}");
  s = std::regex_replace(s, sqrt, "sqrt{$2}");
  s = replace_all(s, "$", "");
  // str.isdigit() after removing ","; Python also counts non-ASCII digits (e.g. superscripts), lmzip only 0-9.
  const std::string no_commas = replace_all(s, ",", "");
  if (!no_commas.empty() && no_commas.find_first_not_of("0123456789") == std::string::npos) s = no_commas;
  return s;
}

std::optional<std::string> strip_string(const std::string& input) {
  try {
    std::string s = replace_all(input, "\n", "");
    s = replace_all(s, "\\!", "");
    s = replace_all(s, "\\\\", "\\");
    s = replace_all(s, "tfrac", "frac");
    s = replace_all(s, "dfrac", "frac");
    s = replace_all(s, "\\left", "");
    s = replace_all(s, "\\right", "");
    s = replace_all(s, "^{\\circ}", "");
    s = replace_all(s, "^\\circ", "");
    s = replace_all(s, "\\$", "");
    s = remove_right_units(s);
    s = replace_all(s, "\\%", "");  // the original removes "\\%" and "\%": both are the two characters \%
    s = replace_all(s, " .", " 0.");
    s = replace_all(s, "{.", "{0.");
    if (s.empty()) return s;
    if (s[0] == '.') s = "0" + s;
    std::vector<std::string> eq = split(s, "=");
    if (eq.size() == 2 && code_points(eq[0]) <= 2) s = eq[1];
    s = fix_sqrt(s);
    s = replace_all(s, " ", "");
    s = fix_fracs(s);
    if (s == "0.5") s = "\\frac{1}{2}";
    return fix_a_slash_b(s);
  } catch (const PyException&) {
    return std::nullopt;
  }
}

bool math_is_equiv(const std::string& a, const std::string& b) {
  auto sa = strip_string(a), sb = strip_string(b);
  if (!sa || !sb) return a == b;
  return *sa == *sb;
}

}  // namespace lmzip::eval
