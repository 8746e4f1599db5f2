// The built-in tasks against lm-evaluation-harness's own definitions (EleutherAI/lm-evaluation-harness, the
// snapshot ../shared/paper/BENCHMARKS.md cites): one test per rule, each naming the lm-eval file and the code the
// rule comes from, with the expected prompt written out by hand from it. CPython's random.Random draws are quoted
// with the one-liner that gives them.
#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/eval/runner.h"
#include "lmzip/eval/task.h"
#include "lmzip/eval/template.h"

namespace lmzip::eval {
namespace {

std::vector<Json> numbered(int n, const std::function<Json(int)>& make) {
  std::vector<Json> docs;
  for (int i = 0; i < n; ++i) docs.push_back(make(i));
  return docs;
}

Json trivia(int i) {
  return {{"question", "Q" + std::to_string(i)}, {"answer", {{"aliases", {"A" + std::to_string(i), "alt"}}}}};
}

// ---- Few-shot sampling: lm_eval/api/samplers.py ContextSampler.get_context ----
//   n_samples = num_fewshot + 1 if self.config.fewshot_split == self.config.test_split else num_fewshot
//   fewshotex = self.sample(n_samples)                      # self.rnd.sample(self.docs, n)
//   selected_docs = [x for x in fewshotex if x != doc][:num_fewshot]

TEST(LmEvalFewshot, TriviaqaDrawsOneMoreFromASeparatePool) {
  // triviaqa/default.yaml sets training_split and validation_split, neither test_split nor fewshot_split: None ==
  // None, so every document draws k + 1 = 6 from the train pool (not the evaluated split), and the generator
  // (random.Random(1234), seeded once per task by evaluator.py) advances 6 draws per document.
  // python3 -c "import random; r=random.Random(1234); print([r.sample(range(30),6) for _ in range(2)])"
  // -> [[24, 14, 3, 0, 2, 18], [1, 21, 22, 2, 3, 24]]   (drawing 5 would give [29, 25, 18, 1, 21] second)
  TaskSpec t = builtin_task("triviaqa");
  EXPECT_TRUE(t.fewshot_draws_one_more());
  const auto pool = numbered(30, trivia);
  const Json doc0 = {{"question", "Who?"}, {"answer", {{"aliases", {"Me"}}}}}, doc1 = doc0;
  FewshotSampler s(t, pool, false, 1234);
  auto shown = [&](const std::vector<const Json*>& demos) {
    std::vector<std::string> q;
    for (const Json* d : demos) q.push_back((*d)["question"]);
    return q;
  };
  EXPECT_EQ(shown(s.demos_for(doc0, 5)), (std::vector<std::string>{"Q24", "Q14", "Q3", "Q0", "Q2"}));
  const auto demos1 = s.demos_for(doc1, 5);
  EXPECT_EQ(shown(demos1), (std::vector<std::string>{"Q1", "Q21", "Q22", "Q2", "Q3"}));
  // triviaqa/default.yaml: doc_to_text "Question: {{question}}?\nAnswer:", doc_to_target "{{answer.aliases}}" (a
  // list: samplers.py shows str(doc_target[0])), target_delimiter " ", fewshot_delimiter "\n\n" (the default).
  EXPECT_EQ(build_prompt(t, doc1, demos1),
            "Question: Q1?\nAnswer: A1\n\nQuestion: Q21?\nAnswer: A21\n\nQuestion: Q22?\nAnswer: A22\n\n"
            "Question: Q2?\nAnswer: A2\n\nQuestion: Q3?\nAnswer: A3\n\nQuestion: Who??\nAnswer:");
}

TEST(LmEvalFewshot, NqOpenDropsAnEqualDocumentOfAnotherFile) {
  // nq_open/nq_open.yaml: no test_split, no fewshot_split -> k + 1. `x != doc` compares the documents' fields: a
  // training question identical to the evaluated one is dropped although it comes from another file.
  // python3 -c "import random; r=random.Random(1234); print([r.sample(range(10),6) for _ in range(2)])"
  // -> [[7, 1, 0, 9, 4, 6], [1, 9, 5, 8, 0, 7]]
  TaskSpec t = builtin_task("nq_open");
  auto pool = numbered(10, [](int i) {
    return Json{{"question", "q" + std::to_string(i)}, {"answer", {"a" + std::to_string(i)}},
                {"_file", "NQ-open.train.jsonl"}, {"_subject", "NQ-open.train"}};
  });
  Json doc_a = pool[1], doc_b = pool[5];
  doc_a["_file"] = doc_b["_file"] = "NQ-open.dev.jsonl";
  doc_a["_subject"] = doc_b["_subject"] = "NQ-open.dev";
  FewshotSampler s(t, pool, false, 1234);
  EXPECT_EQ(s.demos_for(doc_a, 5), (std::vector<const Json*>{&pool[7], &pool[0], &pool[9], &pool[4], &pool[6]}));
  const auto demos_b = s.demos_for(doc_b, 5);
  EXPECT_EQ(demos_b, (std::vector<const Json*>{&pool[1], &pool[9], &pool[8], &pool[0], &pool[7]}));
  // nq_open.yaml: description "Answer these questions:\n\n", doc_to_text "Q: {{question}}?\nA:", fewshot_delimiter
  // "\n", doc_to_target "{{answer}}" (a list: its first element).
  EXPECT_EQ(build_prompt(t, doc_b, demos_b),
            "Answer these questions:\n\nQ: q1?\nA: a1\nQ: q9?\nA: a9\nQ: q8?\nA: a8\nQ: q0?\nA: a0\nQ: q7?\nA: a7\n"
            "Q: q5?\nA:");
}

TEST(LmEvalFewshot, EqualityIsOverAllFieldsNotTheQuestionAlone) {
  EXPECT_TRUE(same_document(Json{{"q", "x"}, {"a", 1}, {"_file", "f"}}, Json{{"a", 1}, {"q", "x"}, {"_file", "g"}}));
  EXPECT_FALSE(same_document(Json{{"q", "x"}, {"a", 1}}, Json{{"q", "x"}, {"a", 2}}));
  EXPECT_FALSE(same_document(Json{{"q", "x"}}, Json{{"q", "x"}, {"a", 2}}));
  EXPECT_FALSE(same_document(Json{{"q", "x"}, {"a", 2}}, Json{{"q", "x"}}));
}

TEST(LmEvalFewshot, Gsm8kAndArcDrawExactlyK) {
  // gsm8k.yaml: fewshot_split: train, test_split: test -> n = k. arc_easy.yaml (arc_challenge includes it):
  // test_split: test, no fewshot_split -> n = k.
  // python3 -c "import random; r=random.Random(1234); print([r.sample(range(30),5) for _ in range(2)])"
  // -> [[24, 14, 3, 0, 2], [29, 25, 18, 1, 21]]
  TaskSpec t = builtin_task("gsm8k");
  EXPECT_FALSE(t.fewshot_draws_one_more());
  EXPECT_FALSE(builtin_task("arc_challenge").fewshot_draws_one_more());
  const auto pool = numbered(30, [](int i) {
    return Json{{"question", "q" + std::to_string(i)}, {"answer", "r\n#### " + std::to_string(i)}};
  });
  const Json doc = {{"question", "Janet?"}, {"answer", "#### 18"}};
  FewshotSampler s(t, pool, false, 1234);
  s.demos_for(doc, 5);
  EXPECT_EQ(s.demos_for(doc, 5), (std::vector<const Json*>{&pool[29], &pool[25], &pool[18], &pool[1], &pool[21]}));
}

TEST(LmEvalFewshot, HellaswagSetsNoFewshotSplitAndANullTestSplit) {
  // hellaswag.yaml: test_split: null and no fewshot_split: None == None -> k + 1 (with --shots > 0).
  EXPECT_TRUE(builtin_task("hellaswag").fewshot_draws_one_more());
  EXPECT_TRUE(builtin_task("nq_open").fewshot_draws_one_more());
  // mmlu/default/_default_template_yaml: test_split: test, fewshot_split: dev (first_n) -> k.
  EXPECT_FALSE(builtin_task("mmlu").fewshot_draws_one_more());
  EXPECT_FALSE(builtin_task("mmlu_cloze").fewshot_draws_one_more());
}

TEST(LmEvalFewshot, ZeroShotDrawsNothing) {
  // api/task.py fewshot_context: the sampler is asked only `if num_fewshot > 0`.
  TaskSpec t = builtin_task("triviaqa");
  const auto pool = numbered(30, trivia);
  const Json doc = trivia(99);
  FewshotSampler a(t, pool, false, 1234), b(t, pool, false, 1234);
  EXPECT_TRUE(a.demos_for(doc, 0).empty());
  EXPECT_EQ(a.demos_for(doc, 5), b.demos_for(doc, 5));
}

TEST(LmEvalFewshot, OneGeneratorPerSubtask) {
  // Each lm-eval subtask (an MMLU subject) is a task of its own with its own random.Random(1234): with a
  // fewshot_group, the documents of one group draw from one generator whatever the other groups do.
  // python3 -c "import random; r=random.Random(1234); print([r.sample(range(5),2) for _ in range(2)])"
  // -> [[3, 0], [0, 4]]
  Json def = {{"name", "t"},      {"format", "jsonl"},           {"doc_to_text", "{{q}}"}, {"doc_to_target", "{{a}}"},
              {"request", "generate_until"}, {"fewshot_sampler", "random"}, {"fewshot_group", "g"},
              {"test_split", "test"}, {"fewshot_split", "dev"}};
  TaskSpec t = parse_task(def, "test");
  std::vector<Json> pool;
  for (const char* g : {"x", "y"}) {
    for (int i = 0; i < 5; ++i) pool.push_back({{"q", std::string(g) + std::to_string(i)}, {"a", "."}, {"g", g}});
  }
  FewshotSampler s(t, pool, false, 1234);
  const Json x = {{"q", "tx"}, {"a", "."}, {"g", "x"}}, y = {{"q", "ty"}, {"a", "."}, {"g", "y"}};
  EXPECT_EQ(s.demos_for(x, 2), (std::vector<const Json*>{&pool[3], &pool[0]}));
  EXPECT_EQ(s.demos_for(y, 2), (std::vector<const Json*>{&pool[5 + 3], &pool[5 + 0]}));
  EXPECT_EQ(s.demos_for(x, 2), (std::vector<const Json*>{&pool[0], &pool[4]}));
  EXPECT_EQ(s.demos_for(y, 2), (std::vector<const Json*>{&pool[5 + 0], &pool[5 + 4]}));
}

TEST(LmEvalFewshot, SplitFieldsAreNamesOrNull) {
  Json def = {{"name", "t"}, {"format", "jsonl"}, {"doc_to_text", "{{q}}"}, {"doc_to_target", "{{a}}"},
              {"request", "generate_until"}};
  EXPECT_TRUE(parse_task(def, "test").fewshot_draws_one_more());  // lm-eval's TaskConfig defaults: both None
  def["test_split"] = "test";
  EXPECT_FALSE(parse_task(def, "test").fewshot_draws_one_more());
  def["fewshot_split"] = "test";
  EXPECT_TRUE(parse_task(def, "test").fewshot_draws_one_more());
  def["fewshot_split"] = 3;
  EXPECT_THROW(parse_task(def, "test"), Error);
}


// ---- Prompts, task by task (each YAML and utils.py under lm_eval/tasks/) ----

// Records every generation prompt; answers with the scripted responses.
class Recorder : public LanguageModel {
 public:
  std::vector<std::string> responses, contexts;
  std::vector<std::vector<std::string>> untils;
  std::vector<std::string> continuations;
  std::vector<Continuation> loglikelihoods(const std::string& context, const std::vector<std::string>& c) override {
    contexts.push_back(context);
    continuations = c;
    return std::vector<Continuation>(c.size());
  }
  std::string generate(const std::string& context, const std::vector<std::string>& until, int) override {
    contexts.push_back(context);
    untils.push_back(until);
    return responses.at(contexts.size() - 1);
  }
};

TEST(LmEvalPrompts, HellaswagCapitalizesAndStripsAsPython) {
  // hellaswag/utils.py process_docs: ctx = ctx_a + " " + ctx_b.capitalize(); query = preprocess(activity_label +
  // ": " + ctx); choices = [preprocess(e) for e in endings]; preprocess: text.strip(), " [title]" -> ". ",
  // re.sub("\\[.*?\\]", ""), "  " -> " ". str.capitalize() title-cases "t" and lowers "É"; str.strip() removes
  // the trailing NO-BREAK SPACE. hellaswag.yaml: doc_to_text "{{query}}", doc_to_choice "choices" (continuations
  // target_delimiter " " + choice).
  TaskSpec t = builtin_task("hellaswag");
  const Json raw = {{"activity_label", "Cooking"}, {"ctx_a", "A chef stands in a kitchen."},
                    {"ctx_b", "the \u00c9cole instructor\u00a0"},
                    {"endings", {"[step] slices onions.\u00a0", "waves [title] Bye", "x", "y"}}, {"label", 0}};
  const Json doc = derive_document(t, raw, "test");
  EXPECT_EQ(build_prompt(t, doc, {}), "Cooking: A chef stands in a kitchen. The \u00e9cole instructor");
  EXPECT_EQ(choices_of(t, doc), (std::vector<std::string>{" slices onions.", "waves. Bye", "x", "y"}));
  Recorder lm;
  run_task(t, {doc}, nullptr, lm, {});
  EXPECT_EQ(lm.continuations, (std::vector<std::string>{"  slices onions.", " waves. Bye", " x", " y"}));
}

TEST(LmEvalPrompts, MmluStripsTheQuestionAsPython) {
  // mmlu/default/_default_template_yaml: "{{question.strip()}}\nA. {{choices[0]}}\nB. ...\nAnswer:", choices
  // ["A", "B", "C", "D"]; mmlu_abstract_algebra.yaml: description "The following are multiple choice questions
  // (with answers) about abstract algebra.\n\n". A question ending in an IDEOGRAPHIC SPACE loses it.
  TaskSpec t = builtin_task("mmlu");
  const Json raw = {{"_row", {"\u3000Find x.\u3000", "0", "1", "2", "3", "B"}},
                    {"_file", "abstract_algebra_test.csv"}, {"_subject", "abstract algebra"}};
  const Json doc = derive_document(t, raw, "test");
  EXPECT_EQ(build_prompt(t, doc, {}),
            "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
            "Find x.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:");
  EXPECT_EQ(choices_of(t, doc), (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_EQ(gold_of(t, doc), 1u);
  // mmlu/continuation/_continuation_template_yaml: "Question: {{question.strip()}}\nAnswer:", doc_to_choice
  // "{{choices}}"; mmlu_abstract_algebra.yaml there: "The following are questions (with answers) about ...".
  TaskSpec c = builtin_task("mmlu_cloze");
  const Json cdoc = derive_document(c, raw, "test");
  EXPECT_EQ(build_prompt(c, cdoc, {&cdoc}),
            "The following are questions (with answers) about abstract algebra.\n\n"
            "Question: Find x.\nAnswer: 1\n\nQuestion: Find x.\nAnswer:");
}

TEST(LmEvalPrompts, ArcQuestionAnswerAndOptionContinuations) {
  // arc/arc_easy.yaml: doc_to_text "Question: {{question}}\nAnswer:", doc_to_target
  // "{{choices.label.index(answerKey)}}", doc_to_choice "{{choices.text}}"; a demo shows the gold option's text.
  TaskSpec t = builtin_task("arc_challenge");
  // (AI2's JSONL layout; the Hugging Face layout gives the same fields: TaskLayouts.*)
  const Json raw = {{"id", "x"},
                    {"question", {{"stem", "Which is a metal?"},
                                  {"choices", {{{"text", "wood"}, {"label", "1"}}, {{"text", "iron"}, {"label", "2"}}}}}},
                    {"answerKey", "2"}};
  const Json doc = derive_document(t, raw, "test");
  EXPECT_EQ(build_prompt(t, doc, {&doc}), "Question: Which is a metal?\nAnswer: iron\n\nQuestion: Which is a metal?\nAnswer:");
}

TEST(LmEvalPrompts, Gsm8kShowsTheWholeRationale) {
  // gsm8k.yaml: "Question: {{question}}\nAnswer:", doc_to_target "{{answer}}" (the rationale and "#### N"),
  // until ["Question:", "</s>", "<|im_end|>"].
  TaskSpec t = builtin_task("gsm8k");
  const Json demo = {{"question", "1+1?"}, {"answer", "1+1=<<1+1=2>>2\n#### 2"}}, doc = {{"question", "2+2?"}, {"answer", "#### 4"}};
  EXPECT_EQ(build_prompt(t, doc, {&demo}), "Question: 1+1?\nAnswer: 1+1=<<1+1=2>>2\n#### 2\n\nQuestion: 2+2?\nAnswer:");
  EXPECT_EQ(t.until, (std::vector<std::string>{"Question:", "</s>", "<|im_end|>"}));
}

TEST(LmEvalPrompts, RemoveWhitespaceIsLstripSoATrailingSpaceFails) {
  // triviaqa/default.yaml and nq_open.yaml: filter remove_whitespace then take_first; filters/extraction.py
  // WhitespaceFilter: resp = resp.lstrip(). exact_match (api/metrics.py exact_match_hf_evaluate, ignore_case,
  // ignore_punctuation: string.punctuation deleted) compares the rest as is: " Paris " -> "Paris " != "paris".
  TaskSpec t = builtin_task("triviaqa");
  EXPECT_EQ(t.until, (std::vector<std::string>{"\n", ".", ","}));
  Recorder lm;
  lm.responses = {" Paris", "\u00a0Paris ", " PARIS!"};
  const Json doc = {{"question", "Capital of France?"}, {"answer", {{"aliases", {"Paris", "Paree"}}}}};
  EvalResult r = run_task(t, {doc, doc, doc}, nullptr, lm, {.num_fewshot = 0});
  EXPECT_EQ(r.samples[0]["extracted"]["remove_whitespace"], "Paris");
  EXPECT_EQ(r.samples[1]["extracted"]["remove_whitespace"], "Paris ");
  EXPECT_EQ(r.samples[0]["exact_match"]["remove_whitespace"], 1.0);
  EXPECT_EQ(r.samples[1]["exact_match"]["remove_whitespace"], 0.0);
  EXPECT_EQ(r.samples[2]["exact_match"]["remove_whitespace"], 1.0);  // "PARIS!" -> "paris"
  EXPECT_EQ(lm.contexts[0], "Question: Capital of France??\nAnswer:");
}

TEST(LmEvalPrompts, NqOpenArticlesRegexBeforeLowerCasing) {
  // nq_open.yaml: regexes_to_ignore ["\\b(?:The |the |An |A |The |a |an )"], then ignore_case, ignore_punctuation.
  TaskSpec t = builtin_task("nq_open");
  EXPECT_EQ(exact_match("The Beatles", {"beatles"}, t.exact_match), 1.0);
  EXPECT_EQ(exact_match("THE Beatles", {"beatles"}, t.exact_match), 0.0);  // "THE " is not in the list
}

TEST(LmEvalPrompts, DemoWithAnEmptyTargetShowsItsTextOnly) {
  // samplers.py get_context: `if doc_target != "":` target_delimiter + target + fewshot_delimiter.
  TaskSpec t = builtin_task("gsm8k");
  const Json empty = {{"question", "?"}, {"answer", ""}}, doc = {{"question", "2+2?"}, {"answer", "#### 4"}};
  EXPECT_EQ(build_prompt(t, doc, {&empty, &empty}), "Question: ?\nAnswer:Question: ?\nAnswer:Question: 2+2?\nAnswer:");
}

TEST(LmEvalPrompts, HumanevalPromptStopsAndProgram) {
  // humaneval/humaneval.yaml: doc_to_text "{{prompt}}", until ["\nclass", "\ndef", "\n#", "\nif", "\nprint"],
  // max_gen_toks 1024; utils.py build_predictions: prompt + generation; HF code_eval: candidate + "\n" + reference,
  // reference = doc_to_target "{{test}}\ncheck({{entry_point}})".
  TaskSpec t = builtin_task("humaneval");
  EXPECT_EQ(t.until, (std::vector<std::string>{"\nclass", "\ndef", "\n#", "\nif", "\nprint"}));
  EXPECT_EQ(t.max_gen_toks, 1024);
  const Json doc = {{"task_id", "HumanEval/0"}, {"prompt", "def f():\n"}, {"test", "def check(c):\n    assert c() == 1\n"},
                    {"entry_point", "f"}, {"_response", "    return 1"}};
  EXPECT_EQ(build_prompt(t, doc, {}), "def f():\n");
  EXPECT_EQ(render_text(t.program, doc), "def f():\n    return 1\ndef check(c):\n    assert c() == 1\n\ncheck(f)");
}

TEST(LmEvalPrompts, MbppDemosAreTheFixedSamples) {
  // mbpp/mbpp.yaml (after lm-eval issue #2644): doc_to_text "...Your code should pass these tests:\n\n{{test_list[0]}}
  // \n{{test_list[1]}}\n{{test_list[2]}}\n[BEGIN]\n", target_delimiter "", doc_to_target (is_fewshot defined)
  // "{{code}}\n[DONE]", until ["[DONE]"], fewshot_config first_n over utils.py list_fewshot_samples.
  TaskSpec t = builtin_task("mbpp");
  EXPECT_EQ(t.until, (std::vector<std::string>{"[DONE]"}));
  const Json doc = {{"task_id", 11}, {"text", "Write f."}, {"code", "def f(): pass"},
                    {"test_list", {"assert f() is None", "assert 1", "assert 2"}}};
  const std::vector<Json> no_data;
  FewshotSampler s(t, no_data, false, 1234);
  const std::string p = build_prompt(t, doc, s.demos_for(doc, 3));
  EXPECT_TRUE(p.starts_with(
      "You are an expert Python programmer, and here is your task: Write a function to find the similar elements from "
      "the given two tuple lists. Your code should pass these tests:\n\nassert similar_elements((3, 4, 5, 6),(5, 7, 4, "
      "10)) == (4, 5)\nassert similar_elements((1, 2, 3, 4),(5, 4, 3, 7)) == (3, 4)\nassert similar_elements((11, 12, "
      "14, 13),(17, 15, 14, 13)) == (13, 14)\n[BEGIN]\ndef similar_elements(test_tup1, test_tup2):\r\n  res = "
      "tuple(set(test_tup1) & set(test_tup2))\r\n  return (res) \n[DONE]\n\nYou are an expert Python programmer, and "
      "here is your task: Write a python function to identify non-prime numbers."))
      << p;
  EXPECT_NE(p.find("==[85, 75, 65, 58, 35]\n[BEGIN]\nimport heapq as hq\r\ndef heap_queue_largest(nums,n):\r\n  "
                   "largest_nums = hq.nlargest(n, nums)\r\n  return largest_nums\n[DONE]\n\nYou are an expert"),
            std::string::npos);
  EXPECT_TRUE(p.ends_with("here is your task: Write f. Your code should pass these tests:\n\nassert f() is None\n"
                          "assert 1\nassert 2\n[BEGIN]\n"));
}

TEST(AgievalPrompts, SatMathFewShotAsDatasetLoaderBuildsIt) {
  // Not an lm-eval task as the study ran it (4-shot generation; lm-eval's agieval_sat_math is 0-shot option
  // likelihood): ruixiangcui/AGIEval src/dataset_loader.py. combine_prompt: demo i = "Problem {i}.   " + passage +
  // " " + question + "\n" + "Choose from the following options:    " + " ".join(options) + "\n" + "The answer is
  // therefore {label}" + "\n"; concat_prompt: "Here are the answers for the problems in the exam.\n" + each demo +
  // "\n"; convert_few_shot: + "Problem {n_shot + 1}.   " + passage + " " + question + "\nChoose from the following
  // options:    " + options + "\n". post_process.py (few-shot): re.search("answer is .*?([A-G])") group 1, else
  // find_first_capital_letter over {A..F}, else "".
  TaskSpec t = builtin_task("sat_math");
  const Json demo = derive_document(t, {{"passage", nullptr}, {"question", "1+1?"}, {"options", {"(A)1", "(B)2"}}, {"label", "B"}}, "d");
  const Json doc = derive_document(t, {{"passage", "P."}, {"question", "2+2?"}, {"options", {"(A)4", "(B)5"}}, {"label", "A"}}, "t");
  const std::vector<Json> pool = {demo, demo};
  FewshotSampler s(t, pool, false, 1234);
  EXPECT_EQ(build_prompt(t, doc, s.demos_for(doc, 2)),
            "Here are the answers for the problems in the exam.\n"
            "Problem 1.    1+1?\nChoose from the following options:    (A)1 (B)2\nThe answer is therefore B\n\n"
            "Problem 2.    1+1?\nChoose from the following options:    (A)1 (B)2\nThe answer is therefore B\n\n"
            "Problem 3.   P. 2+2?\nChoose from the following options:    (A)4 (B)5\n");
  EXPECT_EQ(extract_answer(t.filters[0], "so the answer is (C) or D"), "C");
  EXPECT_EQ(extract_answer(t.filters[0], "x = 4, choice B"), "B");  // no "answer is": the first of A..F
  EXPECT_EQ(extract_answer(t.filters[0], "none"), "");
}

TEST(Ds1000Prompts, CompletionPromptStopsAndProgram) {
  // xlang-ai/DS-1000 test_ds1000.py: postprocess (cut at "</code>", drop "```python", cut at "```" and
  // "\nEND SOLUTION", drop "<code>"), program = code_context + "\n" + f"code = {repr(answer)}\n" +
  // "test_execution(code)\n" (+ "test_string(code)\n" where the context defines it); bigcode-evaluation-harness
  // ds1000 stop words ["</code>", "# SOLUTION END"]. 0-shot: the prompt is the record's prompt as is.
  TaskSpec t = builtin_task("ds1000");
  EXPECT_EQ(t.until, (std::vector<std::string>{"</code>", "# SOLUTION END"}));
  const Json doc = {{"prompt", "Problem:\n...\nBEGIN SOLUTION\n<code>\n"}, {"code_context", "def test_execution(c): pass"},
                    {"_response", "result = 1\n```\ntrailing"}};
  EXPECT_EQ(build_prompt(t, doc, {}), "Problem:\n...\nBEGIN SOLUTION\n<code>\n");
  EXPECT_EQ(render_text(t.program, doc),
            "def test_execution(c): pass\ncode = \"result = 1\\n\"\ntest_execution(code)\n"
            "if 'test_string' in globals():\n    test_string(code)\n");
}

// ---- minerva_math (lm_eval/tasks/minerva_math/utils.py, task version 3.0) ----

TEST(LmEvalMath, ExemplarsAreListFewshotSamplesCharacterForCharacter) {
  // utils.py list_fewshot_samples, exemplar 3's solution: "...$n$:\n\\begin{align*}\n30n&=480\\\n\\Rightarrow..."
  // and exemplar 4's problem: "...6x-4y&=a,\\\n6y-9x &=b...": in a Python literal "\\\n" is ONE backslash and a
  // newline. The minerva_math YAML: doc_to_text utils.doc_to_text = "Problem:\n" + problem + "\n\nSolution:",
  // doc_to_target "{{answer if few_shot is undefined else solution}}" (demos show the solution), target_delimiter
  // " ", fewshot_delimiter "\n\n", fewshot_config sampler first_n over those samples.
  TaskSpec t = builtin_task("math");
  ASSERT_EQ(t.fewshot_samples.size(), 4u);
  EXPECT_NE(t.fewshot_samples[2]["solution"].get<std::string>().find("\n30n&=480\\\n\\Rightarrow\\qquad n&=480/30="),
            std::string::npos);
  EXPECT_EQ(t.fewshot_samples[3]["problem"],
            "If the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\n6y-9x &=b.\n\\end{align*}has a solution "
            "$(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ assuming $b$ is nonzero.");
  const std::vector<Json> no_data;  // the fewshot_samples are the pool
  FewshotSampler s(t, no_data, false, 1234);
  const Json doc = {{"problem", "What is $1+1$?"}, {"solution", "$\\boxed{2}$"}, {"answer", "2"}, {"target", "2"}};
  const auto demos = s.demos_for(doc, 4);
  ASSERT_EQ(demos.size(), 4u);
  EXPECT_EQ(build_prompt(t, doc, {demos[1]}),
            "Problem:\nIf $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} "
            "\\mathbf{B}).$\n\nSolution: We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det "
            "\\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct.\n\n"
            "Problem:\nWhat is $1+1$?\n\nSolution:");
}

TEST(Fidelity, HellaswagPreprocessStripsUnicodeWhitespace) {
  // lm-eval hellaswag/utils.py preprocess: text.strip() first, so a trailing NO-BREAK SPACE goes.
  EXPECT_EQ(hellaswag_preprocess("Kite flying: \u00a0"), "Kite flying:");
}

}  // namespace
}  // namespace lmzip::eval
