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
  "alternatives": [{"name": "Hugging Face allenai/ai2_arc export", "format": "jsonl",
                    "required": ["question", "choices.text", "choices.label", "answerKey"],
                    "fields": {"question_text": "{{question}}", "labels": "{{choices.label}}",
                               "choices": "{{choices.text}}"}}],
  "doc_to_text": "Question: {{question_text}}\nAnswer:",
  "request": "loglikelihood_options", "doc_to_choice": "{{choices}}",
  "gold": "{{answerKey}}", "gold_type": "label", "gold_labels": "{{labels}}",
  "num_fewshot": 25, "fewshot_sampler": "random", "test_split": "test"
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
  "num_fewshot": 0, "fewshot_sampler": "random", "test_split": null
})json";

// What the three MMLU tasks share: the hendrycks/test CSV files (or the Hugging Face cais/mmlu export), the gold
// letter, and five demonstrations of the same subject.
const std::string kMmluData = R"json(
  "format": "csv", "required": ["_row[5]"],
  "fields": {"question": "{{_row[0]}}", "choices": ["{{_row[1]}}", "{{_row[2]}}", "{{_row[3]}}", "{{_row[4]}}"],
             "letters": ["A", "B", "C", "D"], "answer_letter": "{{_row[5]}}"},
  "alternatives": [{"name": "Hugging Face cais/mmlu export", "format": "jsonl",
                    "required": ["question", "subject", "choices", "answer"],
                    "fields": {"choices": "{{choices}}", "letters": ["A", "B", "C", "D"],
                               "answer_letter": {"template": "{{answer}}",
                                                 "map": {"0": "A", "1": "B", "2": "C", "3": "D"}},
                               "_subject": {"template": "{{subject}}", "filter": "underscores_to_spaces"}}}],
  "request": "loglikelihood_options", "gold": "{{answer_letter}}", "gold_type": "letter",
  "num_fewshot": 5, "fewshot_sampler": "first_n", "fewshot_group": "_subject",
  "test_split": "test", "fewshot_split": "dev")json";

const std::string kMmlu = R"json({
  "name": "mmlu", "title": "MMLU (default multiple-choice style)",
  "source": "lm-eval mmlu/default/_default_template_yaml; hendrycks/test data/{dev,test}/<subject>_<split>.csv",
  "description": "The following are multiple choice questions (with answers) about {{_subject}}.\n\n",
  "doc_to_text": "{{question|strip}}\nA. {{choices[0]}}\nB. {{choices[1]}}\nC. {{choices[2]}}\nD. {{choices[3]}}\nAnswer:",
  "doc_to_choice": "{{letters}}",)json" + kMmluData + "}";

const std::string kMmluCloze = R"json({
  "name": "mmlu_cloze", "title": "MMLU (cloze style: options not shown)",
  "source": "lm-eval mmlu/continuation/_continuation_template_yaml; hendrycks/test <subject>_<split>.csv",
  "description": "The following are questions (with answers) about {{_subject}}.\n\n",
  "doc_to_text": "Question: {{question|strip}}\nAnswer:", "doc_to_choice": "{{choices}}",)json" + kMmluData + "}";

const std::string kMmluMath = R"json({
  "name": "mmlu_math", "title": "MMLU math subjects (cloze style)",
  "source": "mmlu_cloze on the five hendrycks/test categories.py 'math' subjects",
  "files": "^(abstract_algebra|college_mathematics|elementary_mathematics|high_school_mathematics|high_school_statistics)_",
  "description": "The following are questions (with answers) about {{_subject}}.\n\n",
  "doc_to_text": "Question: {{question|strip}}\nAnswer:", "doc_to_choice": "{{choices}}",)json" + kMmluData + "}";

const char* const kGsm8k = R"json({
  "name": "gsm8k", "title": "GSM8K",
  "source": "lm-eval gsm8k.yaml; openai/grade-school-math {train,test}.jsonl",
  "format": "jsonl", "required": ["question", "answer"],
  "doc_to_text": "Question: {{question}}\nAnswer:", "doc_to_target": "{{answer}}",
  "request": "generate_until", "num_fewshot": 5, "fewshot_sampler": "random",
  "test_split": "test", "fewshot_split": "train",
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
  "test_split": null, "fewshot_split": null,
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
  "test_split": null, "fewshot_split": null,
  "until": ["\n", ".", ","], "max_gen_toks": 256,
  "exact_match": {"ignore_case": true, "ignore_punctuation": true,
                  "regexes_to_ignore": ["\\b(?:The |the |An |A |The |a |an )"]}
})json";

const char* const kHumanEval = R"json({
  "name": "humaneval", "title": "HumanEval (pass@1, greedy)",
  "source": "lm-eval humaneval.yaml + HF evaluate code_eval; openai/human-eval data/HumanEval.jsonl.gz",
  "format": "jsonl", "required": ["task_id", "prompt", "test", "entry_point"],
  "doc_to_text": "{{prompt}}", "doc_to_target": "{{test}}\ncheck({{entry_point}})",
  "request": "generate_until", "num_fewshot": 0, "test_split": "test",
  "until": ["\nclass", "\ndef", "\n#", "\nif", "\nprint"], "max_gen_toks": 1024,
  "program": "{{prompt}}{{_response}}\n{{test}}\ncheck({{entry_point}})", "timeout_seconds": 3.0
})json";

// MBPP's demonstrations are lm-eval's fixed fewshot_config samples (mbpp/utils.py list_fewshot_samples: task_ids
// 2, 3 and 4 of mbpp.jsonl, their code with its "\r\n" line ends, "is_fewshot": True selecting the demo target),
// not records of the data.
const char* const kMbpp = R"json({
  "name": "mbpp", "title": "MBPP (pass@1, 3-shot)",
  "source": "lm-eval mbpp.yaml + utils.py (list_fewshot_samples: task_id 2, 3, 4); google-research mbpp/mbpp.jsonl",
  "format": "jsonl", "required": ["task_id", "text", "code", "test_list[2]"],
  "doc_to_text": "You are an expert Python programmer, and here is your task: {{text}} Your code should pass these tests:\n\n{{test_list[0]}}\n{{test_list[1]}}\n{{test_list[2]}}\n[BEGIN]\n",
  "doc_to_target": "{{code}}\n[DONE]", "target_delimiter": "",
  "request": "generate_until", "num_fewshot": 3, "fewshot_sampler": "first_n", "test_split": "test",
  "fewshot_samples": [
    {"task_id": 2, "text": "Write a function to find the similar elements from the given two tuple lists.",
     "code": "def similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) ",
     "test_list": ["assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)",
                   "assert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)",
                   "assert similar_elements((11, 12, 14, 13),(17, 15, 14, 13)) == (13, 14)"],
     "is_fewshot": true},
    {"task_id": 3, "text": "Write a python function to identify non-prime numbers.",
     "code": "import math\r\ndef is_not_prime(n):\r\n    result = False\r\n    for i in range(2,int(math.sqrt(n)) + 1):\r\n        if n % i == 0:\r\n            result = True\r\n    return result",
     "test_list": ["assert is_not_prime(2) == False", "assert is_not_prime(10) == True",
                   "assert is_not_prime(35) == True"],
     "is_fewshot": true},
    {"task_id": 4, "text": "Write a function to find the largest integers from a given list of numbers using heap queue algorithm.",
     "code": "import heapq as hq\r\ndef heap_queue_largest(nums,n):\r\n  largest_nums = hq.nlargest(n, nums)\r\n  return largest_nums",
     "test_list": ["assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],3)==[85, 75, 65] ",
                   "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],2)==[85, 75] ",
                   "assert heap_queue_largest( [25, 35, 22, 85, 14, 65, 75, 22, 58],5)==[85, 75, 65, 58, 35]"],
     "is_fewshot": true}
  ],
  "until": ["[DONE]"], "max_gen_toks": 256,
  "program": "{{_response}}\n{{test_list[0]}}\n{{test_list[1]}}\n{{test_list[2]}}", "timeout_seconds": 3.0
})json";

// Minerva's four exemplars (Lewkowycz et al. 2022) character for character as lm-eval minerva_math/utils.py
// list_fewshot_samples gives them (task version 3.0, lm-eval 0.4.9.x; docs/TASKS.md): exemplar 1's problem keeps
// its double space and stray "}", and where Minerva's LaTeX has a line break "\\" before a newline, lm-eval's
// Python literal "\\\n" (exemplar 3's solution, exemplar 4's problem) leaves one backslash, so the JSON below
// has "\\\n" there too. Demos show the full solution; the reference of a test problem is its normalized boxed
// answer.
const char* const kMath = R"json({
  "name": "math", "title": "MATH (Minerva 4-shot prompt, lm-eval minerva_math)",
  "source": "lm-eval minerva_math/minerva_math_*.yaml + utils.py; hendrycks/math MATH/test/<subject>/<id>.json or EleutherAI/hendrycks_math as JSONL",
  "format": "json", "required": ["problem", "solution"],
  "fields": {"answer": {"template": "{{solution}}", "filter": "last_boxed|remove_boxed|math_normalize"},
             "target": "{{answer}}"},
  "doc_to_text": "Problem:\n{{problem}}\n\nSolution:", "doc_to_target": "{{target}}",
  "request": "generate_until", "num_fewshot": 4, "fewshot_sampler": "first_n", "test_split": "test",
  "fewshot_fields": {"target": "{{solution}}"},
  "fewshot_samples": [
    {"problem": "Find the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}",
     "solution": "The expressions inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so $x\\ge2$, and $5 - x \\ge 0$, so $x \\le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of the expression is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct."},
    {"problem": "If $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} \\mathbf{B}).$",
     "solution": "We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det \\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct."},
    {"problem": "Terrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many times must Terrell lift them in order to lift the same total weight?",
     "solution": "If Terrell lifts two 20-pound weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound weights instead for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  Equating this to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\n\\Rightarrow\\qquad n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final answer is $16$. I hope it is correct."},
    {"problem": "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\n6y-9x &=b.\n\\end{align*}has a solution $(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ assuming $b$ is nonzero.",
     "solution": "If we multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$Since we also know that $6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: The final answer is $-\\frac{2}{3}$. I hope it is correct."}
  ],
  "until": ["Problem:"], "max_gen_toks": 256,
  "filters": [{"name": "minerva", "regex": "Final Answer: The final answer is(.*?). I hope it is correct.",
               "suffix": "I hope it is correct.", "invalid": "[invalidanswer]", "transform": "math_normalize"}],
  "exact_match": {"equivalence": "math"}
})json";

// AGIEval's few-shot prompt (dataset_loader.py combine_prompt / concat_prompt / convert_few_shot): the header,
// then "Problem i.   " + passage + " " + question + "\nChoose from the following options:    " + options + "\n"
// + "The answer is therefore X" + "\n\n" per demo. Each "Problem i.   " is written by the piece before it (the
// header, or the previous demo's target), so the test problem gets its number k+1 for any k.
const char* const kSatMath = R"json({
  "name": "sat_math", "title": "SAT-Math (AGIEval few-shot, generation)",
  "source": "AGIEval src/dataset_loader.py + src/post_process.py; ruixiangcui/AGIEval data/v1/sat-math.jsonl",
  "format": "jsonl", "required": ["passage", "question", "options", "label"],
  "fields": {"passage_text": "{{passage|or_empty}}", "options_text": "{{options|join(' ')}}", "target": "{{label}}"},
  "description": "Here are the answers for the problems in the exam.\nProblem 1.   ",
  "doc_to_text": "{{passage_text}} {{question}}\nChoose from the following options:    {{options_text}}\n",
  "doc_to_target": "{{target}}", "target_delimiter": "", "fewshot_delimiter": "",
  "fewshot_fields": {"target": "The answer is therefore {{label}}\n\nProblem {{_next_shot}}.   "},
  "request": "generate_until", "num_fewshot": 4, "fewshot_sampler": "first_n",
  "test_split": "test", "fewshot_split": "few_shot_prompts",
  "until": ["\n\n", "\nProblem "], "max_gen_toks": 256,
  "filters": [{"name": "agieval", "regex": "answer is .*?([A-G])", "fallback": ["[A-F]"], "invalid": ""}]
})json";

// DS-1000 (simplified format) scored as test_ds1000.py does: the postprocessed completion embedded with repr()
// after code_context, then test_execution(code) and, when the context defines it, test_string(code).
const char* const kDs1000 = R"json({
  "name": "ds1000", "title": "DS-1000 (completion, pass@1)",
  "source": "xlang-ai/DS-1000 data/ds1000.jsonl.gz (= HF xlangai/DS-1000 test.jsonl) + test_ds1000.py",
  "format": "jsonl", "required": ["prompt", "reference_code", "code_context", "metadata.library"],
  "fields": {"module": {"template": "{{metadata.library}}", "filter": "lower", "map": {"pytorch": "torch"}}},
  "doc_to_text": "{{prompt}}", "doc_to_target": "{{reference_code}}",
  "request": "generate_until", "num_fewshot": 0, "test_split": "test",
  "until": ["</code>", "# SOLUTION END"], "max_gen_toks": 1024,
  "program": "{{code_context}}\ncode = {{_response|ds1000_postprocess|py_repr}}\ntest_execution(code)\nif 'test_string' in globals():\n    test_string(code)\n",
  "program_requires": "{{module}}", "timeout_seconds": 120.0, "memory_mb": 8192
})json";

const std::map<std::string, std::string>& definitions() {
  static const std::map<std::string, std::string> defs = {
      {"arc_challenge", kArcChallenge}, {"hellaswag", kHellaSwag}, {"mmlu", kMmlu},
      {"mmlu_cloze", kMmluCloze},       {"mmlu_math", kMmluMath},  {"gsm8k", kGsm8k},
      {"triviaqa", kTriviaQa},          {"nq_open", kNqOpen},      {"humaneval", kHumanEval},
      {"mbpp", kMbpp},                  {"math", kMath},           {"sat_math", kSatMath},
      {"ds1000", kDs1000}};
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
