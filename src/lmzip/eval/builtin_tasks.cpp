// The built-in task definitions: data, in the format parse_task() reads (docs/TASKS.md describes each field).
// Each follows the lm-evaluation-harness task YAML named in "source" (../shared/paper/BENCHMARKS.md).
#include <map>

#include "lmzip/core/error.h"
#include "lmzip/eval/task.h"

namespace lmzip::eval {
namespace {

const char* const kArcChallenge = R"json({
  "name": "arc_challenge", "title": "ARC-Challenge",
  "source": "lm-eval arc_challenge.yaml; AI2 ARC-Challenge-{Train,Dev,Test}.jsonl",
  "format": "jsonl", "required": ["question.stem", "question.choices", "answerKey"],
  "fields": {"question_text": "{{question.stem}}", "choices": "{{question.choices[].text}}",
             "labels": "{{question.choices[].label}}"},
  "doc_to_text": "Question: {{question_text}}\nAnswer:",
  "request": "loglikelihood_options", "doc_to_choice": "{{choices}}",
  "gold": "{{answerKey}}", "gold_type": "label", "gold_labels": "{{labels}}",
  "num_fewshot": 25, "fewshot_sampler": "random"
})json";

const char* const kHellaSwag = R"json({
  "name": "hellaswag", "title": "HellaSwag",
  "source": "lm-eval hellaswag.yaml + utils.py (process_docs, preprocess); rowanz/hellaswag hellaswag_*.jsonl",
  "format": "jsonl", "required": ["activity_label", "ctx_a", "ctx_b", "endings", "label"],
  "fields": {"query": {"template": "{{activity_label}}: {{ctx_a}} {{ctx_b|capitalize}}",
                       "filter": "hellaswag_preprocess"},
             "choices": "{{endings|hellaswag_preprocess}}"},
  "doc_to_text": "{{query}}",
  "request": "loglikelihood_options", "doc_to_choice": "{{choices}}", "gold": "{{label}}", "gold_type": "index",
  "num_fewshot": 0, "fewshot_sampler": "random"
})json";

const char* const kMmlu = R"json({
  "name": "mmlu", "title": "MMLU (default multiple-choice style)",
  "source": "lm-eval mmlu/default/_default_template_yaml; hendrycks/test data/{dev,test}/<subject>_<split>.csv",
  "format": "csv", "required": ["_row[5]"],
  "fields": {"question": "{{_row[0]}}", "choices": ["{{_row[1]}}", "{{_row[2]}}", "{{_row[3]}}", "{{_row[4]}}"],
             "letters": ["A", "B", "C", "D"]},
  "description": "The following are multiple choice questions (with answers) about {{_subject}}.\n\n",
  "doc_to_text": "{{question|strip}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
  "request": "loglikelihood_options", "doc_to_choice": "{{letters}}", "gold": "{{_row[5]}}", "gold_type": "letter",
  "num_fewshot": 5, "fewshot_sampler": "first_n", "fewshot_group": "_subject"
})json";

const char* const kMmluCloze = R"json({
  "name": "mmlu_cloze", "title": "MMLU (cloze style: options not shown)",
  "source": "lm-eval mmlu/continuation/_continuation_template_yaml; hendrycks/test <subject>_<split>.csv",
  "format": "csv", "required": ["_row[5]"],
  "fields": {"question": "{{_row[0]}}", "choices": ["{{_row[1]}}", "{{_row[2]}}", "{{_row[3]}}", "{{_row[4]}}"]},
  "description": "The following are questions (with answers) about {{_subject}}.\n\n",
  "doc_to_text": "Question: {{question|strip}}\nAnswer:",
  "request": "loglikelihood_options", "doc_to_choice": "{{choices}}", "gold": "{{_row[5]}}", "gold_type": "letter",
  "num_fewshot": 5, "fewshot_sampler": "first_n", "fewshot_group": "_subject"
})json";

const char* const kMmluMath = R"json({
  "name": "mmlu_math", "title": "MMLU math subjects (cloze style)",
  "source": "mmlu_cloze on the five hendrycks/test categories.py 'math' subjects",
  "format": "csv", "required": ["_row[5]"],
  "files": "^(abstract_algebra|college_mathematics|elementary_mathematics|high_school_mathematics|high_school_statistics)_",
  "fields": {"question": "{{_row[0]}}", "choices": ["{{_row[1]}}", "{{_row[2]}}", "{{_row[3]}}", "{{_row[4]}}"]},
  "description": "The following are questions (with answers) about {{_subject}}.\n\n",
  "doc_to_text": "Question: {{question|strip}}\nAnswer:",
  "request": "loglikelihood_options", "doc_to_choice": "{{choices}}", "gold": "{{_row[5]}}", "gold_type": "letter",
  "num_fewshot": 5, "fewshot_sampler": "first_n", "fewshot_group": "_subject"
})json";

const char* const kGsm8k = R"json({
  "name": "gsm8k", "title": "GSM8K",
  "source": "lm-eval gsm8k.yaml; openai/grade-school-math {train,test}.jsonl",
  "format": "jsonl", "required": ["question", "answer"],
  "doc_to_text": "Question: {{question}}\nAnswer:", "doc_to_target": "{{answer}}",
  "request": "generate_until", "num_fewshot": 5, "fewshot_sampler": "random",
  "until": ["Question:", "</s>", "<|im_end|>"], "max_gen_toks": 256,
  "filters": [{"name": "strict-match", "regex": "#### (-?[0-9.,]+)", "group_select": 0},
              {"name": "flexible-extract", "regex": "(-?[$0-9.,]{2,})|(-?[0-9]+)", "group_select": -1}],
  "exact_match": {"ignore_case": true, "ignore_punctuation": false,
                  "regexes_to_ignore": [",", "\\$", "[\\s\\S]*#### ", "\\.$"]}
})json";

const char* const kTriviaQa = R"json({
  "name": "triviaqa", "title": "TriviaQA (rc.nocontext)",
  "source": "lm-eval triviaqa/default.yaml; HF mandarjoshi/trivia_qa rc.nocontext exported as JSONL",
  "format": "jsonl", "required": ["question", "answer.aliases"],
  "doc_to_text": "Question: {{question}}?\nAnswer:", "doc_to_target": "{{answer.aliases}}",
  "request": "generate_until", "num_fewshot": 5, "fewshot_sampler": "random",
  "until": ["\n", ".", ","], "max_gen_toks": 256,
  "exact_match": {"ignore_case": true, "ignore_punctuation": true}
})json";

const char* const kNqOpen = R"json({
  "name": "nq_open", "title": "NaturalQuestions-Open",
  "source": "lm-eval nq_open.yaml; google-research-datasets/natural-questions nq_open/NQ-open.{train,dev}.jsonl",
  "format": "jsonl", "required": ["question", "answer"],
  "description": "Answer these questions:\n\n",
  "doc_to_text": "Q: {{question}}?\nA:", "doc_to_target": "{{answer}}", "fewshot_delimiter": "\n",
  "request": "generate_until", "num_fewshot": 5, "fewshot_sampler": "random",
  "until": ["\n", ".", ","], "max_gen_toks": 256,
  "exact_match": {"ignore_case": true, "ignore_punctuation": true,
                  "regexes_to_ignore": ["\\b(?:The |the |An |A |The |a |an )"]}
})json";

const char* const kHumanEval = R"json({
  "name": "humaneval", "title": "HumanEval (pass@1, greedy)",
  "source": "lm-eval humaneval.yaml + HF evaluate code_eval; openai/human-eval data/HumanEval.jsonl.gz",
  "format": "jsonl", "required": ["task_id", "prompt", "test", "entry_point"],
  "doc_to_text": "{{prompt}}", "doc_to_target": "{{test}}\ncheck({{entry_point}})",
  "request": "generate_until", "num_fewshot": 0,
  "until": ["\nclass", "\ndef", "\n#", "\nif", "\nprint"], "max_gen_toks": 1024,
  "program": "{{prompt}}{{_response}}\n{{test}}\ncheck({{entry_point}})", "timeout_seconds": 3.0
})json";

const char* const kMbpp = R"json({
  "name": "mbpp", "title": "MBPP (pass@1, 3-shot)",
  "source": "lm-eval mbpp.yaml + utils.py (demos task_id 2, 3, 4); google-research mbpp/mbpp.jsonl",
  "format": "jsonl", "required": ["task_id", "text", "code", "test_list[2]"],
  "doc_to_text": "You are an expert Python programmer, and here is your task: {{text}} Your code should pass these tests:\n\n{{test_list[0]}}\n{{test_list[1]}}\n{{test_list[2]}}\n[BEGIN]\n",
  "doc_to_target": "{{code}}\n[DONE]", "target_delimiter": "",
  "request": "generate_until", "num_fewshot": 3, "fewshot_sampler": "first_n",
  "fewshot_field": "{{task_id}}", "fewshot_values": ["2", "3", "4"],
  "until": ["[DONE]"], "max_gen_toks": 256,
  "program": "{{_response}}\n{{test_list[0]}}\n{{test_list[1]}}\n{{test_list[2]}}", "timeout_seconds": 3.0
})json";

const std::map<std::string, const char*>& definitions() {
  static const std::map<std::string, const char*> defs = {
      {"arc_challenge", kArcChallenge}, {"hellaswag", kHellaSwag}, {"mmlu", kMmlu},
      {"mmlu_cloze", kMmluCloze},       {"mmlu_math", kMmluMath},  {"gsm8k", kGsm8k},
      {"triviaqa", kTriviaQa},          {"nq_open", kNqOpen},      {"humaneval", kHumanEval},
      {"mbpp", kMbpp}};
  return defs;
}

}  // namespace

TaskSpec builtin_task(const std::string& name) {
  auto it = definitions().find(name);
  if (it == definitions().end()) {
    std::string known;
    for (const auto& n : builtin_task_names()) known += (known.empty() ? "" : ", ") + n;
    throw Error("unknown task '" + name + "' (built-in tasks: " + known + "; or --task-file FILE.json)");
  }
  return parse_task(Json::parse(it->second), "built-in task " + name);
}

std::vector<std::string> builtin_task_names() {
  std::vector<std::string> names;
  for (const auto& [n, d] : definitions()) names.push_back(n);
  return names;
}

}  // namespace lmzip::eval
