// Scoring of evaluation requests, as lm-evaluation-harness computes it (lm_eval/api/metrics.py,
// lm_eval/filters/extraction.py): option accuracy, answer extraction, exact match, and standard errors.
#pragma once

#include <string>
#include <vector>

#include "lmzip/eval/task.h"

namespace lmzip::eval {

// The first index of the largest value (numpy.argmax); ties go to the lower index.
size_t argmax(const std::vector<double>& values);

// Option log-likelihoods (ln p, not nats) and the options' text: acc uses argmax of ll; acc_norm argmax of
// ll / length, the length in Unicode code points (Python len) of the option without the target delimiter.
struct OptionVerdict {
  size_t predicted = 0, predicted_norm = 0;
  double acc = 0, acc_norm = 0;
};
OptionVerdict score_options(const std::vector<double>& loglikelihoods, const std::vector<std::string>& options,
                            size_t gold);

// lm-eval's regex filter (then .strip()) on response + suffix, the fallback regexes in turn, else the filter's
// invalid marker ("[invalid]"); an empty regex: response.strip(). Then the filter's transform (template filters).
std::string extract_answer(const ExtractFilter& filter, const std::string& response);

// HF evaluate exact_match normalization: delete regexes_to_ignore matches, lower-case, delete punctuation.
std::string normalize_for_exact_match(std::string text, const ExactMatchOptions& options);
// 1 when the prediction matches any reference after normalization (or, with math_equivalence, when
// math_is_equiv(prediction, reference) for some reference).
double exact_match(const std::string& prediction, const std::vector<std::string>& references,
                   const ExactMatchOptions& options);

// Cuts a generation at the earliest occurrence of any stop string (lm-eval: for s in until: text.split(s)[0]).
std::string cut_at_stop(const std::string& text, const std::vector<std::string>& until);

// Mean and its standard error: sample standard deviation (n - 1) / sqrt(n), lm-eval's mean_stderr.
struct MeanStderr {
  double mean = 0, stderr_value = 0;
};
MeanStderr mean_stderr(const std::vector<double>& values);

// Min-K% Prob (Shi et al. 2023): the mean of the ceil(k * n) largest per-token negative log-likelihoods.
double min_k_prob(std::vector<double> token_nlls, double k);

size_t utf8_length(const std::string& s);  // Unicode code points (Python len of the decoded str)

}  // namespace lmzip::eval
