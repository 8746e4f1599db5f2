// The one runner every task goes through: documents -> prompts (with demonstrations) -> requests to a
// LanguageModel -> extraction -> metrics with standard errors, and a log record per document.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/eval/py_random.h"
#include "lmzip/eval/task.h"

namespace lmzip::eval {

// What the runner asks of a model. Implementations: EngineLanguageModel (lmzip's engine), fakes in tests.
class LanguageModel {
 public:
  virtual ~LanguageModel() = default;
  struct Continuation {
    double loglikelihood = 0;        // sum of ln p over the continuation's tokens
    std::vector<double> token_nlls;  // -ln p of each continuation token, nats
  };
  // Scores each continuation after the shared `context` (lm-eval loglikelihood requests).
  virtual std::vector<Continuation> loglikelihoods(const std::string& context,
                                                   const std::vector<std::string>& continuations) = 0;
  // Greedy continuation of `context`, at most max_tokens tokens, cut at the first stop string.
  virtual std::string generate(const std::string& context, const std::vector<std::string>& until,
                               int max_tokens) = 0;

  // The batched forms: the runner hands over the requests of several documents at once, so an engine can
  // run them together (options of many examples in one pass, several generations in flight). Answers come
  // in request order and equal what the single-request forms give, up to floating-point rounding (an engine
  // may pack requests into shared passes). The defaults ask one at a time.
  struct LoglikelihoodRequest {
    std::string context;
    std::vector<std::string> continuations;
  };
  struct GenerationRequest {
    std::string context;
    std::vector<std::string> until;
    int max_tokens = 256;
  };
  virtual std::vector<std::vector<Continuation>> loglikelihoods_batch(const std::vector<LoglikelihoodRequest>& requests);
  virtual std::vector<std::string> generate_batch(const std::vector<GenerationRequest>& requests);
};

// The prompt pieces of lm-eval's plain-text (no chat template) format:
//   description + for each demo: text(demo) + target_delimiter + target(demo) + fewshot_delimiter + text(doc)
// (a generation demo whose target is "" adds its text only, as lm-eval's samplers.py does).
std::string build_prompt(const TaskSpec& spec, const Json& doc, const std::vector<const Json*>& demos);
std::vector<std::string> choices_of(const TaskSpec& spec, const Json& doc);
size_t gold_of(const TaskSpec& spec, const Json& doc);                       // multiple choice
std::vector<std::string> references_of(const TaskSpec& spec, const Json& doc);  // generation
std::string demo_target(const TaskSpec& spec, const Json& doc);  // the answer a demonstration shows

// Picks demonstrations as lm-eval's ContextSampler.get_context does (lm_eval/api/samplers.py): it draws
// n = k + 1 documents when the task's fewshot_split equals its test_split (TaskSpec::fewshot_draws_one_more:
// triviaqa, nq_open and hellaswag set neither), else n = k; then drops every drawn document equal to the evaluated
// one (`x != doc`: here equal fields, lmzip's "_file" and "_subject" aside) and keeps the first k of the rest.
// When `pool` is the evaluated documents themselves (no --fewshot-data: a split lm-eval would not draw from for
// the other tasks), n = k + 1 too, so a document is never its own demonstration.
// `pool` is the few-shot documents (the task's fewshot_samples instead, when it has them), restricted to those of
// the document's fewshot_group and to the fewshot_field values. first_n (FirstNSampler): the first n of them, the
// same for every document. random (the default sampler): rnd.sample(pool, n) with CPython's random.Random(seed)
// (py_random.h), one generator seeded once per fewshot_group value (lm-eval: one per subtask, for the whole run),
// advancing from document to document: documents must come in lm-eval's order for the same draws. k = 0 draws
// nothing (lm-eval does not call the sampler). With the task's fewshot_fields, the demos are copies carrying
// "_shot", "_next_shot" and those fields, valid until the next demos_for call.
class FewshotSampler {
 public:
  FewshotSampler(const TaskSpec& spec, const std::vector<Json>& pool, bool pool_is_eval_split, uint64_t seed);
  std::vector<const Json*> demos_for(const Json& doc, int k);

 private:
  const TaskSpec& spec_;
  std::vector<Json> fixed_;  // spec.fewshot_samples, derived
  const std::vector<Json>* pool_;
  bool pool_is_eval_;
  uint64_t seed_;
  std::map<std::string, PyRandom> rngs_;  // by fewshot_group value ("" without a group)
  std::vector<Json> shown_;  // the last call's demos with fewshot_fields
};

// lm-eval's `x != doc` negated: the same document, or one whose fields all equal the document's (in any order),
// ignoring "_file" and "_subject" (lmzip's record of the file it came from).
bool same_document(const Json& a, const Json& b);

// What one document gave: its log record (prompt, responses, extracted answers, verdicts) and the metric values
// it adds (usually one per metric; values[name] is appended to that metric's list). A checkpoint stores these.
struct DocOutcome {
  Json sample;
  std::map<std::string, std::vector<double>> values;
};

struct EvalOptions {
  long long limit = -1;     // evaluate the first N documents (-1: all)
  int num_fewshot = -1;     // -1: the task's own
  uint64_t seed = 1234;     // lm-eval's fewshot_random_seed
  double min_k = 0;         // > 0: also report Min-K% Prob with this fraction (0.2 = Min-20%)
  std::function<void(size_t done, size_t total)> progress = nullptr;
  // Documents are run in blocks of batch_docs: the requests of all of a block's documents (options, generations,
  // Min-K%) go to the model in one loglikelihoods_batch and one generate_batch call; then each document is
  // scored in order. Results do not depend on the block size.
  size_t batch_docs = 8;
  // Resuming: the outcomes of documents 0..k-1 from an earlier run (a checkpoint); run_task continues at k. The
  // few-shot sampler is replayed over them and each saved prompt must equal the one this run builds.
  const std::vector<DocOutcome>* resume = nullptr;
  // Called after each block with that block's outcomes, in document order (e.g. to append them to a checkpoint).
  std::function<void(const std::vector<DocOutcome>& block)> on_block = nullptr;
  // Checked after each block (after on_block): when set, run_task throws EvalInterrupted.
  const std::atomic<bool>* cancel = nullptr;
  // Code tasks: run generated programs even where the kernel refuses the sandbox's namespaces (lmzip eval
  // --unsafe-exec; sandbox.h). Off: such a task fails with an error instead.
  bool unsafe_exec = false;
  // A shard (part.h): run only documents [first_doc, end_doc) of the evaluated ones; the documents before only
  // advance the few-shot sampler, as in the single run. first_doc must be a multiple of batch_docs, so the
  // blocks are the single run's. Not with resume.
  size_t first_doc = 0;
  size_t end_doc = SIZE_MAX;
};

// Thrown by run_task when EvalOptions::cancel was set; every finished block has gone to on_block.
class EvalInterrupted : public Error {
 public:
  EvalInterrupted(size_t done, size_t total)
      : Error("interrupted after " + std::to_string(done) + " of " + std::to_string(total) + " documents"),
        done_docs(done), total_docs(total) {}
  size_t done_docs, total_docs;
};

struct MetricValue {
  std::string name;  // "acc", "acc_norm", "exact_match,strict-match", "min_k_20"
  double value = 0, stderr_value = 0;
  size_t n = 0;  // documents the metric is over (pass@1: the executed ones; code documents may be skipped)
};

struct EvalResult {
  std::string task;
  size_t n_docs = 0;
  size_t resumed_docs = 0;  // of n_docs, restored from EvalOptions::resume
  int num_fewshot = 0;
  std::vector<MetricValue> metrics;
  std::vector<Json> samples;  // one per document: prompt, responses, extracted answers, verdicts
  std::vector<DocOutcome> outcomes;  // run_task: one per document run (resumed ones included)
};

// The result of documents' outcomes, in document order: their samples, and per metric (in the order of the
// names the first document gave) the mean and standard error of every value (mean_stderr).
EvalResult summarize_outcomes(const std::string& task, int num_fewshot, const std::vector<DocOutcome>& outcomes);

// pool: the few-shot documents (nullptr: the evaluated documents themselves). With first_doc/end_doc the result
// (n_docs, samples, metrics) is that of the shard's documents; EvalResult::outcomes holds them for a part file.
EvalResult run_task(const TaskSpec& spec, const std::vector<Json>& docs, const std::vector<Json>* pool,
                    LanguageModel& lm, const EvalOptions& options);

}  // namespace lmzip::eval
