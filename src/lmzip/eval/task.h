// An evaluation task as data: where its documents come from, how a prompt is built, what is asked of the model
// and how the answer is scored. One runner (runner.h) executes every task; adding a task is adding a JSON
// definition (builtin_tasks.cpp, or a file passed to `lmzip eval --task-file`). docs/TASKS.md lists the fields.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lmzip/eval/template.h"

namespace lmzip::eval {

enum class RequestType { LoglikelihoodOptions, GenerateUntil };

// How the gold answer of a multiple-choice document is written in the data.
enum class GoldType {
  Index,   // an integer or a digit string ("3"): the option's index
  Letter,  // "A", "B", ...: index = letter - 'A'
  Label,   // a label that is looked up in the list `gold_labels` renders ("C" in ["A","B","C","D"])
};

// An answer-extraction filter applied to a generation (lm-eval's regex filter): the `group_select`-th match of
// `regex` (-1 = last) in response + `suffix`; when the pattern has groups, the first non-empty group; stripped.
// When the regex finds nothing, each `fallback` regex is tried in turn (its first match); then `invalid`.
// An empty regex keeps the whole response, left-stripped (lm-eval's remove_whitespace filter: resp.lstrip()). `transform`, a template filter chain ("math_normalize"),
// is applied to whatever was extracted (the invalid marker included, as lm-eval's process_results does).
struct ExtractFilter {
  std::string name;  // "strict-match", "flexible-extract", "remove_whitespace"
  std::string regex;  // ECMAScript syntax
  int group_select = 0;
  std::string suffix{};               // appended to the response first (minerva_math: "I hope it is correct.")
  std::vector<std::string> fallback{};  // AGIEval: "answer is .*?([A-G])", else the first capital letter "[A-F]"
  std::string invalid = "[invalid]";
  std::string transform{};
};

// lm-eval's exact_match (HF evaluate) normalization, applied to the prediction and each reference.
struct ExactMatchOptions {
  std::vector<std::string> regexes_to_ignore;  // ECMAScript; each match is deleted, in order
  bool ignore_case = false;
  bool ignore_punctuation = false;  // deletes Python's string.punctuation
  // "equivalence": "math": instead of the above, Hendrycks' is_equiv (math_answer.h: equal after strip_string).
  bool math_equivalence = false;
};

struct TaskSpec {
  std::string name;
  std::string title;   // e.g. "ARC-Challenge (lm-eval arc_challenge)"
  std::string source;  // where the definition comes from (the lm-eval YAML, a paper)
  // "jsonl" (one JSON object a line, .gz/.zst/.xz too), "csv" (no header; a row is the list "_row": "{{_row[0]}}")
  // or "json" (a file holds one object, or a list of objects; a directory is walked recursively for *.json and
  // *.jsonl files, as MATH/test/<subject>/<id>.json; "_subject" is then the parent directory's name).
  std::string format;
  // Derived fields, in order: name -> template (template.h) over the raw record and the fields before it;
  // a list of templates gives a list; an object {"template": T, "filter": F, "map": {from: to}} applies the named
  // filter chain to the rendered text ("lower|strip"), then replaces a result found in "map" (both optional).
  Json fields = Json::object();
  std::string files;  // a directory given as data: read only files whose names match this regex (empty: all)
  // Other layouts of the same data, e.g. a Hugging Face export of a benchmark whose authors ship another format.
  // Each replaces format, files (default: the task's), required and fields for the files it fits: by extension,
  // (.csv, .jsonl, .json), then, among those, the first layout whose required paths the file's first record has.
  struct Layout {
    std::string name, format, files;
    std::vector<std::string> required;
    Json fields = Json::object();
  };
  std::vector<Layout> alternatives;
  std::vector<std::string> required;  // raw paths every record must have (checked with the file and line)

  std::string description;  // template, rendered on the test document, before the demonstrations
  std::string doc_to_text;
  std::string doc_to_target;  // generation: string or list of references; demos show the first
  std::string doc_to_choice;  // multiple choice: a template giving the list of options
  std::string gold;           // multiple choice: template of the gold answer
  GoldType gold_type = GoldType::Index;
  std::string gold_labels;    // GoldType::Label: template giving the labels list
  std::string target_delimiter = " ";
  std::string fewshot_delimiter = "\n\n";

  int num_fewshot = 0;
  std::string fewshot_sampler = "first_n";  // "first_n" or "random" (seeded; see runner.h)
  std::string fewshot_group;  // when set, demonstrations share this field's value with the test document
  // The lm-eval YAML's `test_split` and `fewshot_split` (std::nullopt: not set, YAML null or absent). Only their
  // equality matters: lm-eval's ContextSampler.get_context draws k + 1 demonstrations when
  // config.fewshot_split == config.test_split (two unset ones are equal) and drops the evaluated document from
  // them by equality, whichever documents the pool holds (runner.h FewshotSampler).
  std::optional<std::string> test_split, fewshot_split;
  bool fewshot_draws_one_more() const { return test_split == fewshot_split; }

  RequestType request = RequestType::LoglikelihoodOptions;
  std::vector<std::string> until;  // generation stop strings (the tokenizer's EOS also stops)
  int max_gen_toks = 256;
  std::vector<ExtractFilter> filters;  // generation: one metric value per filter
  ExactMatchOptions exact_match;
  std::vector<std::string> metrics;  // "acc", "acc_norm", "exact_match", "pass@1"

  // Code tasks: the Python program to execute, a template over the document plus "_response" (the generation);
  // pass@1 = the program exits 0 in the sandbox (sandbox.h) within timeout_seconds.
  std::string program;
  double timeout_seconds = 3.0;
  // Fixed demonstrations: only pool documents whose `fewshot_field` renders to one of `fewshot_values`.
  std::string fewshot_field;
  std::vector<std::string> fewshot_values;
  // Fixed demonstrations given in the definition (lm-eval fewshot_config.samples): raw records, derived with
  // `fields` like data records; when present they are the few-shot pool (--fewshot-data is not needed).
  Json fewshot_samples = Json::array();
  // Fields rendered on each demonstration document only, after `fields` (lm-eval fewshot_config.doc_to_target:
  // a demo can show a full solution while the test document's reference is the bare answer). The templates see
  // "_shot" (the demo's 1-based position in the prompt) and "_next_shot" (_shot + 1).
  Json fewshot_fields = Json::object();

  // Code tasks: a template giving the Python module (or list of modules) a document's program needs. Each is
  // tried once per process (`import X` in the sandbox); a document whose module is missing is not executed:
  // its sample says "execution": "skipped" and "missing_module", it counts in the "skipped" metric (the fraction
  // of documents skipped) and not in pass@1 (the mean over executed documents).
  std::string program_requires;
  // The JSON this task was parsed from (built-in or --task-file): what a checkpoint fingerprints.
  Json definition;
  int memory_mb = 1024;  // the sandbox's address-space limit (RLIMIT_AS)
};

// The document a raw record becomes: `required` paths checked, `fields` derived. lmzip::Error naming `where`
// (file:line) and the missing path.
Json derive_document(const TaskSpec& spec, Json raw, const std::string& where);

// Parses a task definition; lmzip::Error naming `origin` and the field on anything missing or mistyped.
TaskSpec parse_task(const Json& definition, const std::string& origin);
TaskSpec load_task_file(const std::string& path);

// The built-in tasks (builtin_tasks.cpp), by name; lmzip::Error listing the names when unknown.
TaskSpec builtin_task(const std::string& name);
std::vector<std::string> builtin_task_names();

// Reads the documents of `spec` from `path`: a file, or a directory whose *.csv / *.jsonl files are read in
// name order. Each document is the raw record plus the derived fields, plus "_file" (the file's name without
// directory) and "_subject" (for "<subject>_<split>.csv": the subject with "_" as " ", the MMLU layout).
// lmzip::Error naming the file, line and expected fields on malformed input.
std::vector<Json> load_documents(const TaskSpec& spec, const std::string& path);

// Parses one CSV text (RFC 4180: quoted fields with "" escapes and embedded newlines) into rows.
std::vector<std::vector<std::string>> parse_csv(std::string_view text, const std::string& name);

}  // namespace lmzip::eval
