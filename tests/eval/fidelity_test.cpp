// The built-in tasks against lm-evaluation-harness's own definitions (EleutherAI/lm-evaluation-harness, the
// snapshot ../shared/paper/BENCHMARKS.md cites): one test per rule, each naming the lm-eval file and the code the
// rule comes from, with the expected prompt written out by hand from it. CPython's random.Random draws are quoted
// with the one-liner that gives them.
#include <gtest/gtest.h>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/eval/runner.h"
#include "lmzip/eval/task.h"

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

}  // namespace
}  // namespace lmzip::eval
