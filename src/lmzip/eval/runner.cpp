#include "lmzip/eval/runner.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/core/pystr.h"
#include "lmzip/eval/sandbox.h"

namespace lmzip::eval {
namespace {

std::string where(const Json& doc) {
  std::string f = doc.contains("_file") && doc["_file"].is_string() ? doc["_file"].get<std::string>() : "document";
  return f;
}

std::vector<std::string> as_strings(const Json& v, const std::string& what, const Json& doc) {
  std::vector<std::string> out;
  if (v.is_string()) return {v.get<std::string>()};
  if (!v.is_array()) throw Error(where(doc) + ": " + what + " is neither a string nor a list: " + v.dump());
  for (const Json& e : v) out.push_back(e.is_string() ? e.get<std::string>() : e.dump());
  return out;
}

}  // namespace

std::vector<std::vector<LanguageModel::Continuation>> LanguageModel::loglikelihoods_batch(
    const std::vector<LoglikelihoodRequest>& requests) {
  std::vector<std::vector<Continuation>> out;
  for (const auto& r : requests) out.push_back(loglikelihoods(r.context, r.continuations));
  return out;
}

std::vector<std::string> LanguageModel::generate_batch(const std::vector<GenerationRequest>& requests) {
  std::vector<std::string> out;
  for (const auto& r : requests) out.push_back(generate(r.context, r.until, r.max_tokens));
  return out;
}

std::vector<std::string> choices_of(const TaskSpec& spec, const Json& doc) {
  Json v = render_value(spec.doc_to_choice, doc);
  if (!v.is_array() || v.empty()) {
    throw Error(where(doc) + ": task " + spec.name + ": doc_to_choice '" + spec.doc_to_choice +
                "' must give a non-empty list, got " + v.dump());
  }
  return as_strings(v, "doc_to_choice", doc);
}

size_t gold_of(const TaskSpec& spec, const Json& doc) {
  const std::string g = py_strip(render_text(spec.gold, doc));
  const size_t n_choices = choices_of(spec, doc).size();
  size_t index = n_choices;
  if (spec.gold_type == GoldType::Index) {
    if (!g.empty() && g.find_first_not_of("0123456789") == std::string::npos && g.size() < 9) index = std::stoul(g);
  } else if (spec.gold_type == GoldType::Letter) {
    if (g.size() == 1 && g[0] >= 'A' && g[0] <= 'Z') index = static_cast<size_t>(g[0] - 'A');
  } else {
    auto labels = as_strings(render_value(spec.gold_labels, doc), "gold_labels", doc);
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] == g) index = i;
    }
  }
  if (index >= n_choices) {
    throw Error(where(doc) + ": task " + spec.name + ": gold answer '" + g + "' does not name one of the " +
                std::to_string(n_choices) + " options");
  }
  return index;
}

std::vector<std::string> references_of(const TaskSpec& spec, const Json& doc) {
  auto refs = as_strings(render_value(spec.doc_to_target, doc), "doc_to_target", doc);
  if (refs.empty()) throw Error(where(doc) + ": task " + spec.name + ": the document has no reference answer");
  return refs;
}

std::string demo_target(const TaskSpec& spec, const Json& doc) {
  if (spec.request == RequestType::LoglikelihoodOptions) return choices_of(spec, doc)[gold_of(spec, doc)];
  return references_of(spec, doc)[0];
}

std::string build_prompt(const TaskSpec& spec, const Json& doc, const std::vector<const Json*>& demos) {
  std::string prompt = spec.description.empty() ? "" : render_text(spec.description, doc);
  for (const Json* d : demos) {
    prompt += render_text(spec.doc_to_text, *d);
    // samplers.py get_context: `if doc_target != "":` delimiter + target + fewshot_delimiter; a demo whose target
    // is the empty string shows its text alone (a list target shows its first element, even an empty one).
    if (spec.request == RequestType::GenerateUntil) {
      const Json target = render_value(spec.doc_to_target, *d);
      if (target.is_string() && target.get<std::string>().empty()) continue;
    }
    prompt += spec.target_delimiter + demo_target(spec, *d) + spec.fewshot_delimiter;
  }
  return prompt + render_text(spec.doc_to_text, doc);
}

bool same_document(const Json& a, const Json& b) {
  if (&a == &b) return true;
  if (!a.is_object() || !b.is_object()) return a == b;
  auto bookkeeping = [](const std::string& key) { return key == "_file" || key == "_subject"; };
  size_t fields = 0;
  for (auto it = a.begin(); it != a.end(); ++it) {
    if (bookkeeping(it.key())) continue;
    ++fields;
    const auto other = b.find(it.key());
    if (other == b.end() || *other != it.value()) return false;
  }
  for (auto it = b.begin(); it != b.end(); ++it) fields -= !bookkeeping(it.key());
  return fields == 0;  // b has no field a lacks
}

FewshotSampler::FewshotSampler(const TaskSpec& spec, const std::vector<Json>& pool, bool pool_is_eval_split,
                               uint64_t seed)
    : spec_(spec), pool_(&pool), pool_is_eval_(pool_is_eval_split), seed_(seed) {
  if (!spec.fewshot_samples.empty()) {
    for (size_t i = 0; i < spec.fewshot_samples.size(); ++i) {
      Json raw = spec.fewshot_samples[i];
      raw["_file"] = "fewshot_samples";
      raw["_subject"] = "";
      fixed_.push_back(derive_document(spec, std::move(raw),
                                       "task " + spec.name + " fewshot_samples[" + std::to_string(i) + "]"));
    }
    pool_ = &fixed_;
    pool_is_eval_ = false;
  }
}

std::vector<const Json*> FewshotSampler::demos_for(const Json& doc, int k) {
  if (k <= 0) return {};
  const bool random = spec_.fewshot_sampler == "random";
  const Json group = spec_.fewshot_group.empty() ? Json() : doc.value(spec_.fewshot_group, Json());
  std::vector<const Json*> candidates;
  for (const Json& d : *pool_) {
    if (!spec_.fewshot_group.empty() && d.value(spec_.fewshot_group, Json()) != group) continue;
    if (!spec_.fewshot_field.empty()) {
      const std::string v = render_text(spec_.fewshot_field, d);
      if (std::find(spec_.fewshot_values.begin(), spec_.fewshot_values.end(), v) == spec_.fewshot_values.end()) continue;
    }
    candidates.push_back(&d);
  }
  const size_t want = static_cast<size_t>(k);
  const size_t others = static_cast<size_t>(
      std::count_if(candidates.begin(), candidates.end(), [&](const Json* d) { return !same_document(*d, doc); }));
  if (others < want) {
    throw Error("task " + spec_.name + ": " + std::to_string(want) + "-shot needs " + std::to_string(want) +
                " demonstrations but the few-shot pool has " + std::to_string(others) +
                (spec_.fewshot_group.empty() ? "" : " with the same " + spec_.fewshot_group) +
                (pool_is_eval_ ? " besides the document" : " other than the document") +
                " (give --fewshot-data or fewer --shots)");
  }
  // n = k + 1 when lm-eval's config says so, or when the pool is the evaluated split; lm-eval refuses n > the
  // pool's size (random.sample raises), lmzip draws the whole pool then.
  const size_t draw = std::min(candidates.size(), want + ((spec_.fewshot_draws_one_more() || pool_is_eval_) ? 1 : 0));
  std::vector<const Json*> drawn;
  if (random) {
    auto rng = rngs_.try_emplace(group.dump(), seed_).first;
    for (size_t i : rng->second.sample(candidates.size(), draw)) drawn.push_back(candidates[i]);
  } else {
    drawn.assign(candidates.begin(), candidates.begin() + static_cast<long>(draw));
  }
  // [x for x in fewshotex if x != doc][:num_fewshot]: may leave fewer than k when the draw held copies of doc.
  std::vector<const Json*> chosen;
  for (const Json* d : drawn) {
    if (chosen.size() < want && !same_document(*d, doc)) chosen.push_back(d);
  }
  if (spec_.fewshot_fields.empty()) return chosen;
  shown_.clear();
  shown_.reserve(chosen.size());
  for (size_t i = 0; i < chosen.size(); ++i) {
    Json d = *chosen[i];
    d["_shot"] = i + 1;
    d["_next_shot"] = i + 2;
    for (const auto& [name, tmpl] : spec_.fewshot_fields.items()) {
      if (!tmpl.is_string()) throw Error("task " + spec_.name + ": fewshot_fields '" + name + "' must be a template string");
      d[name] = render_value(tmpl.get<std::string>(), d);
    }
    shown_.push_back(std::move(d));
  }
  chosen.clear();
  for (const Json& d : shown_) chosen.push_back(&d);
  return chosen;
}

namespace {

using Continuation = LanguageModel::Continuation;

// ---- The requests of a document ----
// A multiple-choice document asks the log-likelihood of each option after the prompt; a generation document asks
// one greedy generation; with Min-K%, a document also asks the token NLLs of its text + gold answer alone.

LanguageModel::LoglikelihoodRequest options_request(const TaskSpec& spec, const Json& doc, const std::string& prompt) {
  LanguageModel::LoglikelihoodRequest r{.context = prompt, .continuations = {}};
  for (const auto& c : choices_of(spec, doc)) r.continuations.push_back(spec.target_delimiter + c);
  return r;
}

LanguageModel::GenerationRequest generation_request(const TaskSpec& spec, const std::string& prompt) {
  return {.context = prompt, .until = spec.until, .max_tokens = spec.max_gen_toks};
}

LanguageModel::LoglikelihoodRequest min_k_request(const TaskSpec& spec, const Json& doc) {
  return {.context = "", .continuations = {render_text(spec.doc_to_text, doc) + spec.target_delimiter + demo_target(spec, doc)}};
}

std::string min_k_name(double min_k) { return "min_k_" + std::to_string(static_cast<int>(std::lround(min_k * 100))); }

// ---- Scoring a document from its answers ----

void score_choice_doc(const TaskSpec& spec, const Json& doc, const std::vector<Continuation>& scored, Json& sample,
                      std::map<std::string, std::vector<double>>& values) {
  auto choices = choices_of(spec, doc);
  const size_t gold = gold_of(spec, doc);
  if (scored.size() != choices.size()) {
    throw Error("task " + spec.name + ": the model answered " + std::to_string(scored.size()) + " log-likelihoods for " +
                std::to_string(choices.size()) + " options");
  }
  std::vector<double> lls;
  for (const auto& s : scored) lls.push_back(s.loglikelihood);
  OptionVerdict v = score_options(lls, choices, gold);
  values["acc"].push_back(v.acc);
  values["acc_norm"].push_back(v.acc_norm);
  sample["choices"] = choices;
  sample["loglikelihoods"] = lls;
  sample["gold"] = gold;
  sample["predicted"] = v.predicted;
  sample["predicted_norm"] = v.predicted_norm;
  sample["acc"] = v.acc;
  sample["acc_norm"] = v.acc_norm;
}

void score_generation_doc(const TaskSpec& spec, const Json& doc, const std::string& response, bool unsafe_exec,
                          Json& sample, std::map<std::string, std::vector<double>>& values) {
  sample["response"] = response;
  if (!spec.program.empty()) {
    Json with_response = doc;
    with_response["_response"] = response;
    const std::string program = render_text(spec.program, with_response);
    // The task file's limits were range-checked by parse_task; the sandbox checks them again.
    SandboxLimits limits;
    limits.wall_seconds = spec.timeout_seconds;
    limits.cpu_seconds = static_cast<int>(std::ceil(spec.timeout_seconds));
    limits.memory_bytes = static_cast<uint64_t>(std::max(spec.memory_mb, 0)) << 20;
    limits.allow_unsafe = unsafe_exec;
    if (!spec.program_requires.empty()) {
      // A document whose library is missing is reported as skipped: never a pass, never a fail.
      values.try_emplace("pass@1");  // the metric exists even when document 0 is skipped
      for (const std::string& module : as_strings(render_value(spec.program_requires, doc), "program_requires", doc)) {
        if (!python_can_import(module, limits)) {
          values["skipped"].push_back(1.0);
          sample["program"] = program;
          sample["execution"] = "skipped";
          sample["missing_module"] = module;
          return;
        }
      }
      values["skipped"].push_back(0.0);
    }
    SandboxResult run = run_python_sandboxed(program, limits);
    values["pass@1"].push_back(run.status == SandboxStatus::Passed ? 1.0 : 0.0);
    sample["program"] = program;
    sample["execution"] = status_name(run.status);
    sample["execution_output"] = run.output;
    sample["network_isolated"] = run.network_isolated;
    sample["isolation"] = run.isolation;
    return;
  }
  auto refs = references_of(spec, doc);
  sample["references"] = refs;
  for (const ExtractFilter& f : spec.filters) {
    std::string answer = extract_answer(f, response);
    double em = exact_match(answer, refs, spec.exact_match);
    values["exact_match," + f.name].push_back(em);
    sample["extracted"][f.name] = answer;
    sample["exact_match"][f.name] = em;
  }
}

// A document of the current block: its prompt and where its requests sit in the block's batched calls.
struct PendingDoc {
  size_t index = 0;
  std::string prompt;
  size_t options = 0, generation = 0, min_k = 0;  // positions in the block's request lists (when asked)
};

struct BlockRequests {
  std::vector<LanguageModel::LoglikelihoodRequest> loglikelihood;
  std::vector<LanguageModel::GenerationRequest> generation;
};

// Adds the requests of document `index` to the block's lists.
PendingDoc request_document(const TaskSpec& spec, const Json& doc, size_t index, std::string prompt,
                            const EvalOptions& options, BlockRequests& block) {
  PendingDoc p{.index = index, .prompt = std::move(prompt)};
  if (spec.request == RequestType::LoglikelihoodOptions) {
    p.options = block.loglikelihood.size();
    block.loglikelihood.push_back(options_request(spec, doc, p.prompt));
  } else {
    p.generation = block.generation.size();
    block.generation.push_back(generation_request(spec, p.prompt));
  }
  if (options.min_k > 0) {
    p.min_k = block.loglikelihood.size();
    block.loglikelihood.push_back(min_k_request(spec, doc));
  }
  return p;
}

// Scores one document from the block's answers.
DocOutcome score_document(const TaskSpec& spec, const Json& doc, const PendingDoc& p, const EvalOptions& options,
                          const std::vector<std::vector<Continuation>>& loglikelihoods,
                          const std::vector<std::string>& generations) {
  DocOutcome out;
  out.sample = {{"doc_index", p.index}, {"prompt", p.prompt}};
  if (spec.request == RequestType::LoglikelihoodOptions) {
    score_choice_doc(spec, doc, loglikelihoods[p.options], out.sample, out.values);
  } else {
    score_generation_doc(spec, doc, generations[p.generation], options.unsafe_exec, out.sample, out.values);
  }
  if (options.min_k > 0) {
    const auto& answer = loglikelihoods[p.min_k];
    if (answer.size() != 1) throw Error("task " + spec.name + ": the model gave no answer to a Min-K% request");
    const double mk = min_k_prob(answer[0].token_nlls, options.min_k);
    const std::string name = min_k_name(options.min_k);
    out.values[name].push_back(mk);
    out.sample[name] = mk;
  }
  return out;
}

}  // namespace

EvalResult summarize_outcomes(const std::string& task, int num_fewshot, const std::vector<DocOutcome>& outcomes) {
  EvalResult result;
  result.task = task;
  result.num_fewshot = num_fewshot;
  result.n_docs = outcomes.size();
  // The per-metric values of all documents, and the metric order (the names the first document gave).
  std::map<std::string, std::vector<double>> values;
  std::vector<std::string> order;
  for (size_t i = 0; i < outcomes.size(); ++i) {
    for (const auto& [name, v] : outcomes[i].values) {
      auto& dst = values[name];
      dst.insert(dst.end(), v.begin(), v.end());
    }
    if (i == 0) {
      for (const auto& [name, v] : values) order.push_back(name);
    }
    result.samples.push_back(outcomes[i].sample);
  }
  for (const auto& name : order) {
    MeanStderr m = mean_stderr(values[name]);
    result.metrics.push_back({name, m.mean, m.stderr_value, values[name].size()});
  }
  return result;
}

EvalResult run_task(const TaskSpec& spec, const std::vector<Json>& docs, const std::vector<Json>* pool,
                    LanguageModel& lm, const EvalOptions& options) {
  const int num_fewshot = options.num_fewshot >= 0 ? options.num_fewshot : spec.num_fewshot;
  size_t n = docs.size();
  if (options.limit >= 0) n = std::min(n, static_cast<size_t>(options.limit));
  FewshotSampler sampler(spec, pool ? *pool : docs, pool == nullptr, options.seed);
  auto prompt_of = [&](size_t i) { return build_prompt(spec, docs[i], sampler.demos_for(docs[i], num_fewshot)); };
  std::vector<DocOutcome> outcomes;
  const size_t batch = std::max<size_t>(1, options.batch_docs);
  const size_t first = std::min(options.first_doc, n), end_doc = std::min(options.end_doc, n);
  LMZIP_CHECK(first <= end_doc && (first % batch == 0 || first == n) && (first == 0 || !options.resume),
              "a shard's documents start at a block boundary, without resume");
  // A shard: the sampler advances over the documents before it exactly as in the single run.
  for (size_t i = 0; i < first; ++i) prompt_of(i);

  // Documents done in an earlier run: replay the sampler (it advances from document to document) and check that
  // each saved prompt is the one this run builds.
  size_t start = 0;
  if (options.resume) {
    if (options.resume->size() > n) {
      throw Error("the checkpoint holds " + std::to_string(options.resume->size()) + " documents but this run has " +
                  std::to_string(n));
    }
    for (const DocOutcome& d : *options.resume) {
      const std::string prompt = prompt_of(start);
      if (!d.sample.contains("prompt") || d.sample["prompt"] != prompt) {
        throw Error("the checkpoint's document " + std::to_string(start) +
                    " was asked with another prompt than this run builds (the data, task or few-shot sampling changed)");
      }
      outcomes.push_back(d);
      ++start;
    }
    if (options.progress && start > 0) options.progress(start, n);
  }
  const size_t resumed = start;
  start = std::max(start, first);

  for (size_t begin = start; begin < end_doc; begin += batch) {
    const size_t end = std::min(end_doc, begin + batch);
    BlockRequests requests;
    std::vector<PendingDoc> pending;
    for (size_t i = begin; i < end; ++i) pending.push_back(request_document(spec, docs[i], i, prompt_of(i), options, requests));
    std::vector<std::string> generations;
    std::vector<std::vector<Continuation>> loglikelihoods;
    if (!requests.generation.empty()) generations = lm.generate_batch(requests.generation);
    if (!requests.loglikelihood.empty()) loglikelihoods = lm.loglikelihoods_batch(requests.loglikelihood);
    if (generations.size() != requests.generation.size() || loglikelihoods.size() != requests.loglikelihood.size()) {
      throw Error("task " + spec.name + ": the model answered " + std::to_string(generations.size()) + " of " +
                  std::to_string(requests.generation.size()) + " generation and " +
                  std::to_string(loglikelihoods.size()) + " of " + std::to_string(requests.loglikelihood.size()) +
                  " log-likelihood requests");
    }
    std::vector<DocOutcome> block;
    for (const PendingDoc& p : pending) {
      block.push_back(score_document(spec, docs[p.index], p, options, loglikelihoods, generations));
      outcomes.push_back(block.back());
      if (options.progress) options.progress(p.index + 1, n);
    }
    if (options.on_block) options.on_block(block);
    if (options.cancel && options.cancel->load() && end < end_doc) throw EvalInterrupted(end, n);
  }
  EvalResult result = summarize_outcomes(spec.name, num_fewshot, outcomes);
  result.resumed_docs = resumed;
  result.outcomes = std::move(outcomes);
  return result;
}

}  // namespace lmzip::eval
