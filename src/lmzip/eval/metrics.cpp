#include "lmzip/eval/metrics.h"

#include <algorithm>
#include <cmath>
#include <regex>

#include "lmzip/core/error.h"
#include "lmzip/eval/math_answer.h"
#include "lmzip/core/pystr.h"

namespace lmzip::eval {

size_t argmax(const std::vector<double>& values) {
  LMZIP_CHECK(!values.empty(), "argmax of no values");
  return static_cast<size_t>(std::max_element(values.begin(), values.end()) - values.begin());
}

size_t utf8_length(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

OptionVerdict score_options(const std::vector<double>& loglikelihoods, const std::vector<std::string>& options,
                            size_t gold) {
  LMZIP_CHECK(loglikelihoods.size() == options.size(), "one log-likelihood per option");
  std::vector<double> normalized(options.size());
  for (size_t i = 0; i < options.size(); ++i) {
    // lm-eval divides by len(choice); an empty choice would divide by zero there too: count it as 1.
    normalized[i] = loglikelihoods[i] / static_cast<double>(std::max<size_t>(1, utf8_length(options[i])));
  }
  OptionVerdict v;
  v.predicted = argmax(loglikelihoods);
  v.predicted_norm = argmax(normalized);
  v.acc = v.predicted == gold ? 1.0 : 0.0;
  v.acc_norm = v.predicted_norm == gold ? 1.0 : 0.0;
  return v;
}

namespace {

// The group_select-th match of `pattern` in `text` (see ExtractFilter); std::nullopt when there is none.
std::optional<std::string> regex_extract(const std::string& pattern, int group_select, const std::string& text) {
  const std::regex re(pattern);
  std::vector<std::smatch> matches;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
    matches.push_back(*it);
  }
  if (matches.empty()) return std::nullopt;
  long index = group_select < 0 ? static_cast<long>(matches.size()) + group_select : group_select;
  if (index < 0 || index >= static_cast<long>(matches.size())) return std::nullopt;
  const std::smatch& m = matches[static_cast<size_t>(index)];
  if (m.size() == 1) return py_strip(m.str(0));
  if (m.size() == 2) return py_strip(m.str(1));
  // re.findall gives a tuple of groups: lm-eval takes its first non-empty element.
  for (size_t g = 1; g < m.size(); ++g) {
    if (m[g].matched && m[g].length() > 0) return py_strip(m.str(g));
  }
  return std::string();
}

}  // namespace

std::string extract_answer(const ExtractFilter& filter, const std::string& response) {
  const std::string text = response + filter.suffix;
  std::string answer;
  if (filter.regex.empty()) {
    answer = py_lstrip(text);  // lm-eval filters/extraction.py WhitespaceFilter: resp.lstrip()
  } else {
    auto found = regex_extract(filter.regex, filter.group_select, text);
    for (size_t i = 0; !found && i < filter.fallback.size(); ++i) found = regex_extract(filter.fallback[i], 0, text);
    answer = found ? *found : filter.invalid;
  }
  if (filter.transform.empty()) return answer;
  const Json holder = {{"v", answer}};
  return render_text("{{v|" + filter.transform + "}}", holder);
}

std::string normalize_for_exact_match(std::string text, const ExactMatchOptions& options) {
  for (const std::string& pattern : options.regexes_to_ignore) text = std::regex_replace(text, std::regex(pattern), "");
  if (options.ignore_case) text = py_lower(text);
  if (options.ignore_punctuation) {
    static const std::string punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
    std::erase_if(text, [](char c) { return punctuation.find(c) != std::string::npos; });
  }
  return text;
}

double exact_match(const std::string& prediction, const std::vector<std::string>& references,
                   const ExactMatchOptions& options) {
  if (options.math_equivalence) {
    for (const std::string& r : references) {
      if (math_is_equiv(prediction, r)) return 1.0;
    }
    return 0.0;
  }
  const std::string p = normalize_for_exact_match(prediction, options);
  for (const std::string& r : references) {
    if (normalize_for_exact_match(r, options) == p) return 1.0;
  }
  return 0.0;
}

std::string cut_at_stop(const std::string& text, const std::vector<std::string>& until) {
  size_t cut = text.size();
  for (const std::string& s : until) {
    if (s.empty()) continue;
    size_t at = text.find(s);
    if (at != std::string::npos) cut = std::min(cut, at);
  }
  return text.substr(0, cut);
}

MeanStderr mean_stderr(const std::vector<double>& values) {
  MeanStderr r;
  if (values.empty()) return r;
  double sum = 0;
  for (double v : values) sum += v;
  r.mean = sum / static_cast<double>(values.size());
  if (values.size() < 2) return r;
  double ss = 0;
  for (double v : values) ss += (v - r.mean) * (v - r.mean);
  const double n = static_cast<double>(values.size());
  r.stderr_value = std::sqrt(ss / (n - 1)) / std::sqrt(n);
  return r;
}

double min_k_prob(std::vector<double> token_nlls, double k) {
  if (token_nlls.empty()) return 0;
  const size_t take = std::clamp<size_t>(static_cast<size_t>(std::ceil(k * static_cast<double>(token_nlls.size()))),
                                         1, token_nlls.size());
  std::partial_sort(token_nlls.begin(), token_nlls.begin() + static_cast<long>(take), token_nlls.end(),
                    std::greater<>());
  double sum = 0;
  for (size_t i = 0; i < take; ++i) sum += token_nlls[i];
  return sum / static_cast<double>(take);
}

}  // namespace lmzip::eval
