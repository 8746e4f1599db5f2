// The MATH, SAT-Math and DS-1000 task definitions on their fixtures with a scripted model: documents read in
// each real format, prompts character for character against the documented templates, answer extraction, and
// metric values worked by hand. Also the task-language pieces they use (fewshot_samples, fewshot_fields, the
// json format, filters with fallbacks and transforms, math equivalence, program_requires) and lm-eval's CPython
// few-shot sampling.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "lmzip/core/error.h"
#include "lmzip/eval/metrics.h"
#include "lmzip/eval/runner.h"
#include "lmzip/eval/sandbox.h"
#include "testutil/testutil.h"

namespace lmzip::eval {
namespace {

const std::string kFixtures = "tests/eval/fixtures/";

// Answers each generation with the next scripted response; records the prompts.
class ScriptedGenerator : public LanguageModel {
 public:
  std::vector<std::string> responses, contexts;
  std::vector<Continuation> loglikelihoods(const std::string&, const std::vector<std::string>& c) override {
    return std::vector<Continuation>(c.size());
  }
  std::string generate(const std::string& context, const std::vector<std::string>&, int) override {
    contexts.push_back(context);
    return responses.at(contexts.size() - 1);
  }
};

const MetricValue& metric(const EvalResult& r, const std::string& name) {
  for (const auto& m : r.metrics) {
    if (m.name == name) return m;
  }
  throw Error("no metric " + name);
}

// ---- MATH ----

// Minerva's exemplars, transcribed from lm-eval minerva_math/utils.py list_fewshot_samples (task version 3.0).
// Exemplar 3's solution has "30n&=480\\\n\\Rightarrow" and exemplar 4's problem "6x-4y&=a,\\\n6y-9x" in that
// Python source: one backslash, then the newline (not LaTeX's "\\" line break).
const char* const kMinervaPrompt =
    "Problem:\nFind the domain of the expression  $\\frac{\\sqrt{x-2}}{\\sqrt{5-x}}$.}\n\nSolution: The expressions "
    "inside each square root must be non-negative. Therefore, $x-2 \\ge 0$, so $x\\ge2$, and $5 - x \\ge 0$, so $x "
    "\\le 5$. Also, the denominator cannot be equal to zero, so $5-x>0$, which gives $x<5$. Therefore, the domain of "
    "the expression is $\\boxed{[2,5)}$.\nFinal Answer: The final answer is $[2,5)$. I hope it is correct.\n\n"
    "Problem:\nIf $\\det \\mathbf{A} = 2$ and $\\det \\mathbf{B} = 12,$ then find $\\det (\\mathbf{A} "
    "\\mathbf{B}).$\n\nSolution: We have that $\\det (\\mathbf{A} \\mathbf{B}) = (\\det \\mathbf{A})(\\det "
    "\\mathbf{B}) = (2)(12) = \\boxed{24}.$\nFinal Answer: The final answer is $24$. I hope it is correct.\n\n"
    "Problem:\nTerrell usually lifts two 20-pound weights 12 times. If he uses two 15-pound weights instead, how many "
    "times must Terrell lift them in order to lift the same total weight?\n\nSolution: If Terrell lifts two 20-pound "
    "weights 12 times, he lifts a total of $2\\cdot 12\\cdot20=480$ pounds of weight.  If he lifts two 15-pound "
    "weights instead for $n$ times, he will lift a total of $2\\cdot15\\cdot n=30n$ pounds of weight.  Equating this "
    "to 480 pounds, we can solve for $n$:\n\\begin{align*}\n30n&=480\\\n\\Rightarrow\\qquad "
    "n&=480/30=\\boxed{16}\n\\end{align*}\nFinal Answer: The final answer is $16$. I hope it is correct.\n\n"
    "Problem:\nIf the system of equations\n\n\\begin{align*}\n6x-4y&=a,\\\n6y-9x &=b.\n\\end{align*}has a solution "
    "$(x, y)$ where $x$ and $y$ are both nonzero,\nfind $\\frac{a}{b},$ assuming $b$ is nonzero.\n\nSolution: If we "
    "multiply the first equation by $-\\frac{3}{2}$, we obtain\n\n$$6y-9x=-\\frac{3}{2}a.$$Since we also know that "
    "$6y-9x=b$, we have\n\n$$-\\frac{3}{2}a=b\\Rightarrow\\frac{a}{b}=\\boxed{-\\frac{2}{3}}.$$\nFinal Answer: The "
    "final answer is $-\\frac{2}{3}$. I hope it is correct.\n\n";

TEST(MathTask, ReadsTheDirectoryAndTheJsonlExportAlike) {
  TaskSpec t = builtin_task("math");
  auto dir = load_documents(t, kFixtures + "math/test");
  auto jsonl = load_documents(t, kFixtures + "math/math_test.jsonl");
  ASSERT_EQ(dir.size(), 4u);
  ASSERT_EQ(jsonl.size(), 4u);
  // Sorted by path; the gold answer is the normalized content of the last \boxed{} of the solution.
  const std::vector<std::string> gold = {"2", "\\dfrac{3}{4}", "\\frac{1}{4}", "1000"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(dir[i]["answer"], gold[i]) << i;
    EXPECT_EQ(jsonl[i]["answer"], gold[i]) << i;
    EXPECT_EQ(dir[i]["problem"], jsonl[i]["problem"]);
  }
  EXPECT_EQ(dir[0]["_file"], "algebra/1.json");
  EXPECT_EQ(dir[2]["_subject"], "counting_and_probability");
  EXPECT_EQ(dir[3]["_subject"], "number_theory");
}

TEST(MathTask, ErrorsNameTheFileAndTheField) {
  TaskSpec t = builtin_task("math");
  const std::string dir = test::temp_dir() + "/math-bad/test/algebra";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/7.json") << R"({"problem": "1+1?", "level": "Level 1", "type": "Algebra"})";
  try {
    load_documents(t, test::temp_dir() + "/math-bad");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("algebra/7.json"), std::string::npos) << m;
    EXPECT_NE(m.find("'solution'"), std::string::npos) << m;
  }
  std::ofstream(dir + "/7.json") << R"({"problem": "1+1?", "solution": "It is 2."})";
  try {
    load_documents(t, test::temp_dir() + "/math-bad");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("boxed"), std::string::npos) << e.what();
  }
}

TEST(MathTask, MinervaPromptExtractionAndEquivalence) {
  TaskSpec t = builtin_task("math");
  auto docs = load_documents(t, kFixtures + "math/test");
  ScriptedGenerator lm;
  lm.responses = {
      // "$2$" -> "2": right.
      " We subtract 3.\nFinal Answer: The final answer is $2$. I hope it is correct.\n\n",
      // "\dfrac34" -> normalize "\dfrac{3}{4}" -> strip "\frac{3}{4}" = the gold's strip: right.
      " Add them.\nFinal Answer: The final answer is $\\dfrac34$. I hope it is correct.",
      // No "Final Answer" sentence: [invalidanswer] (lm-eval has no \boxed fallback): wrong.
      " The probability is $\\boxed{\\frac{1}{4}}$.",
      // Cut off after ". ": the suffix completes the sentence; " 1,000 students" -> "1,000students" -> "1,000" ->
      // "1000": right.
      " Multiply.\nFinal Answer: The final answer is 1,000 students. "};
  EvalResult r = run_task(t, docs, nullptr, lm, {});
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].name, "exact_match,minerva");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 0.75);
  EXPECT_DOUBLE_EQ(r.metrics[0].stderr_value, 0.25);  // sd of {1,1,0,1} = 0.5, / sqrt(4)
  EXPECT_EQ(r.num_fewshot, 4);
  EXPECT_EQ(lm.contexts[0], std::string(kMinervaPrompt) + "Problem:\nIf $x + 3 = 5$, what is the value of $x$?\n\nSolution:");
  EXPECT_EQ(r.samples[0]["extracted"]["minerva"], "2");
  EXPECT_EQ(r.samples[1]["extracted"]["minerva"], "\\dfrac{3}{4}");
  EXPECT_EQ(r.samples[2]["extracted"]["minerva"], "[invalidanswer]");
  EXPECT_EQ(r.samples[3]["extracted"]["minerva"], "1000");
  EXPECT_EQ(r.samples[1]["references"][0], "\\dfrac{3}{4}");
  EXPECT_EQ(t.until, std::vector<std::string>{"Problem:"});
}

// ---- SAT-Math ----

TEST(SatMathTask, AgievalFewShotPromptAndAnswerExtraction) {
  TaskSpec t = builtin_task("sat_math");
  auto docs = load_documents(t, kFixtures + "sat_math/sat-math.jsonl");
  auto demos = load_documents(t, kFixtures + "sat_math/few_shot.jsonl");
  ASSERT_EQ(docs.size(), 3u);
  ASSERT_EQ(demos.size(), 4u);
  ScriptedGenerator lm;
  lm.responses = {"The answer is therefore D",   // "answer is .*?([A-G])" -> D (gold D)
                  "I think (B) is right",          // no "answer is": the first of A-F -> B (gold C)
                  "The answer is therefore (B)"};  // -> B (gold B)
  EvalResult r = run_task(t, docs, &demos, lm, {});
  EXPECT_EQ(r.num_fewshot, 4);
  const MetricValue& m = metric(r, "exact_match,agieval");
  EXPECT_DOUBLE_EQ(m.value, 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.stderr_value, std::sqrt(1.0 / 3) / std::sqrt(3.0));
  EXPECT_EQ(r.samples[1]["extracted"]["agieval"], "B");
  const std::string expected =
      "Here are the answers for the problems in the exam.\n"
      "Problem 1.    $$(x-6)^{2}+(y+5)^{2}=16$$In the $x y$-plane, the graph of the equation above is a circle. Point "
      "$P$ is on the circle and has coordinates $(10,-5)$. If $\\overline{P Q}$ is a diameter of the circle, what are "
      "the coordinates of point $Q$ ?\nChoose from the following options:    (A)$(2,-5)$ (B)$(6,-1)$ (C)$(6,-5)$ "
      "(D)$(6,-9)$\nThe answer is therefore A\n\n"
      "Problem 2.    If $3 y=12$, what is the value of $y$ ?\nChoose from the following options:    (A)3 (B)4 (C)9 "
      "(D)36\nThe answer is therefore B\n\n"
      "Problem 3.    What is $15 \\%$ of 200 ?\nChoose from the following options:    (A)15 (B)20 (C)30 (D)35\n"
      "The answer is therefore C\n\n"
      "Problem 4.    Which of the following is equal to $a^{2} \\cdot a^{3}$ ?\nChoose from the following options:    "
      "(A)$a^{1}$ (B)$a^{5}$ (C)$a^{6}$ (D)$2 a^{5}$\nThe answer is therefore B\n\n"
      "Problem 5.    If $\\frac{x-1}{3}=k$ and $k=3$, what is the value of $x ?$\nChoose from the following options:    "
      "(A)2 (B)4 (C)9 (D)10\n";
  EXPECT_EQ(lm.contexts[0], expected);
  // "passage": null reads as "" (AGIEval: passage if not None else "").
  EXPECT_TRUE(lm.contexts[1].ends_with("Problem 5.    What is the value of $2 x+5$ when $x=4$ ?\nChoose from the "
                                       "following options:    (A)8 (B)11 (C)13 (D)18\n"))
      << lm.contexts[1];
}

TEST(SatMathTask, NumberingFollowsTheShotCountAndTheEvaluatedSplitServesAsPool) {
  TaskSpec t = builtin_task("sat_math");
  auto docs = load_documents(t, kFixtures + "sat_math/sat-math.jsonl");
  ScriptedGenerator lm;
  lm.responses = {"", ""};
  EvalResult r = run_task(t, docs, nullptr, lm, {.limit = 2, .num_fewshot = 1});
  // first_n from the evaluated split, never the document itself: doc 0 gets doc 1, doc 1 gets doc 0.
  EXPECT_EQ(lm.contexts[0],
            "Here are the answers for the problems in the exam.\nProblem 1.    What is the value of $2 x+5$ when $x=4$ "
            "?\nChoose from the following options:    (A)8 (B)11 (C)13 (D)18\nThe answer is therefore C\n\nProblem 2.  "
            "  If $\\frac{x-1}{3}=k$ and $k=3$, what is the value of $x ?$\nChoose from the following options:    (A)2 "
            "(B)4 (C)9 (D)10\n");
  EXPECT_TRUE(lm.contexts[1].starts_with("Here are the answers for the problems in the exam.\nProblem 1.    If "
                                         "$\\frac{x-1}{3}=k$"));
  EXPECT_EQ(r.samples[0]["extracted"]["agieval"], "");  // nothing found: no answer
  EXPECT_DOUBLE_EQ(metric(r, "exact_match,agieval").value, 0.0);
}

// ---- DS-1000 ----

TEST(Ds1000Task, ReferenceCodePassesWrongCodeFailsMissingLibrarySkipped) {
  TaskSpec t = builtin_task("ds1000");
  auto docs = load_documents(t, kFixtures + "ds1000/ds1000.jsonl.gz");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(docs[0]["module"], "numpy");
  EXPECT_EQ(docs[2]["module"], "lmzipfakelib");
  ASSERT_TRUE(python_can_import("numpy")) << "python3-numpy is a test dependency (scripts/deps)";
  ASSERT_TRUE(python_can_import("pandas")) << "python3-pandas is a test dependency (scripts/deps)";
  ScriptedGenerator lm;
  lm.responses = {
      // The reference code; everything from "</code>" on is cut (test_ds1000.py postprocess).
      "result = a.shape\n</code>\nEND SOLUTION\nprint('never run')",
      // Right values but a Python loop: test_execution passes, test_string (no for/while) fails.
      "```python\nresult = pd.Series([sum(x) for x in df.values])\n```\nThat is it.",
      "result = lmzipfakelib.frobnicate()\n"};
  EvalResult r = run_task(t, docs, nullptr, lm, {});
  EXPECT_EQ(lm.contexts[0], docs[0]["prompt"]);
  EXPECT_EQ(r.samples[0]["execution"], "passed") << r.samples[0]["execution_output"];
  EXPECT_EQ(r.samples[1]["execution"], "failed");
  EXPECT_NE(r.samples[1]["execution_output"].get<std::string>().find("test_string"), std::string::npos)
      << r.samples[1]["execution_output"];
  EXPECT_EQ(r.samples[2]["execution"], "skipped");
  EXPECT_EQ(r.samples[2]["missing_module"], "lmzipfakelib");
  // pass@1 over the executed documents {1, 0}; skipped = 1 of 3 documents.
  EXPECT_DOUBLE_EQ(metric(r, "pass@1").value, 0.5);
  EXPECT_DOUBLE_EQ(metric(r, "skipped").value, 1.0 / 3);
  const std::string program = r.samples[0]["program"];
  EXPECT_TRUE(program.starts_with(docs[0]["code_context"].get<std::string>() +
                                  "\ncode = \"result = a.shape\\n\"\ntest_execution(code)\n"))
      << program;
  EXPECT_NE(r.samples[1]["program"].get<std::string>().find(
                "\ncode = \"\\nresult = pd.Series([sum(x) for x in df.values])\\n\"\n"),
            std::string::npos)
      << r.samples[1]["program"];
}

TEST(Ds1000Task, WrongNumpyAnswerFailsAndReferencePandasPasses) {
  TaskSpec t = builtin_task("ds1000");
  auto docs = load_documents(t, kFixtures + "ds1000/ds1000.jsonl.gz");
  ScriptedGenerator lm;
  lm.responses = {"result = a.size\n", docs[1]["reference_code"].get<std::string>(), "x = 1\n"};
  EvalResult r = run_task(t, docs, nullptr, lm, {.limit = 2});
  EXPECT_EQ(r.samples[0]["execution"], "failed");
  EXPECT_EQ(r.samples[1]["execution"], "passed") << r.samples[1]["execution_output"];
  EXPECT_DOUBLE_EQ(metric(r, "pass@1").value, 0.5);
  EXPECT_DOUBLE_EQ(metric(r, "skipped").value, 0.0);
}

TEST(Ds1000Task, SkippedFirstDocumentStillReportsPassAtOne) {
  TaskSpec t = builtin_task("ds1000");
  auto all = load_documents(t, kFixtures + "ds1000/ds1000.jsonl.gz");
  std::vector<Json> docs = {all[2], all[0]};
  ScriptedGenerator lm;
  lm.responses = {"x", "result = a.shape\n"};
  EvalResult r = run_task(t, docs, nullptr, lm, {});
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(metric(r, "pass@1").value, 1.0);
  EXPECT_DOUBLE_EQ(metric(r, "skipped").value, 0.5);
}

TEST(Sandbox, ImportAvailabilityIsAskedOncePerModule) {
  EXPECT_TRUE(python_can_import("json"));
  EXPECT_FALSE(python_can_import("lmzip_no_such_module"));
  EXPECT_FALSE(python_can_import("lmzip_no_such_module"));  // from the cache
  EXPECT_THROW(python_can_import("os; import sys"), Error);
}

// ---- Task-language pieces ----

TEST(TaskLanguage, TemplateFiltersForTheNewTasks) {
  Json doc = {{"opts", {"(A)1", "(B)2"}}, {"p", nullptr}, {"s", "so $\\boxed{\\dfrac{1}{2}}$"}, {"lib", "Pytorch"}};
  EXPECT_EQ(render_text("{{opts|join(' ')}}", doc), "(A)1 (B)2");
  EXPECT_EQ(render_text("{{opts|join(', ')}}", doc), "(A)1, (B)2");
  EXPECT_EQ(render_text("[{{p|or_empty}}]", doc), "[]");
  EXPECT_EQ(render_text("{{s|last_boxed|remove_boxed}}", doc), "\\dfrac{1}{2}");
  EXPECT_EQ(render_text("{{s|last_boxed|remove_boxed|math_strip}}", doc), "\\frac{1}{2}");
  EXPECT_THROW(render_text("{{p|last_boxed|remove_boxed}}", Json{{"p", "no box"}}), Error);
  EXPECT_EQ(render_text("{{s|py_repr}}", Json{{"s", "a\"b\\c\nd\te\x01"}}), "\"a\\\"b\\\\c\\nd\\te\\x01\"");
  EXPECT_EQ(ds1000_postprocess("```python\nx = 1\n```\ntext"), "\nx = 1\n");
  EXPECT_EQ(ds1000_postprocess("<code>y = 2\nEND SOLUTION\nmore"), "y = 2");
  EXPECT_EQ(ds1000_postprocess("z = 3\n</code>\n```"), "z = 3\n");
  EXPECT_THROW(render_text("{{opts|join( )}}", doc), Error);
}

TEST(TaskLanguage, ExtractionWithSuffixFallbackAndTransform) {
  ExtractFilter minerva;
  minerva.name = "minerva";
  minerva.regex = "Final Answer: The final answer is(.*?). I hope it is correct.";
  minerva.suffix = "I hope it is correct.";
  minerva.invalid = "[invalidanswer]";
  minerva.transform = "math_normalize";
  EXPECT_EQ(extract_answer(minerva, "Final Answer: The final answer is $\\frac12$. I hope it is correct."), "\\frac{1}{2}");
  EXPECT_EQ(extract_answer(minerva, "Final Answer: The final answer is 7. "), "7");  // + "I hope it is correct."
  EXPECT_EQ(extract_answer(minerva, "Final Answer: The final answer is 7."), "[invalidanswer]");  // ".I hope": no
  EXPECT_EQ(extract_answer(minerva, "no sentence"), "[invalidanswer]");
  ExtractFilter agieval;
  agieval.name = "agieval";
  agieval.regex = "answer is .*?([A-G])";
  agieval.fallback = {"[A-F]"};
  agieval.invalid = "";
  EXPECT_EQ(extract_answer(agieval, "so the answer is therefore (C), not A"), "C");
  EXPECT_EQ(extract_answer(agieval, "xyz E then B"), "E");
  EXPECT_EQ(extract_answer(agieval, "none"), "");
  ExactMatchOptions math;
  math.math_equivalence = true;
  EXPECT_EQ(exact_match("0.5", {"\\frac{1}{2}"}, math), 1.0);
  EXPECT_EQ(exact_match("0.75", {"\\frac{3}{4}"}, math), 0.0);
}

TEST(TaskLanguage, UnknownEquivalenceIsAnError) {
  Json d = {{"name", "t"}, {"format", "jsonl"}, {"doc_to_text", "{{q}}"}, {"doc_to_target", "{{a}}"},
            {"request", "generate_until"}, {"exact_match", {{"equivalence", "sympy"}}}};
  EXPECT_THROW(parse_task(d, "test"), Error);
}

// ---- lm-eval's few-shot sampling ----

TEST(FewshotSampling, RandomDemosAreCPythonsSample) {
  // A pool of 30 separate documents, k = 3: each document's demos are rnd.sample(pool, 3) of one
  // random.Random(1234) that advances from document to document:
  // python3 -c "import random; r=random.Random(1234); print([r.sample(range(30),3) for _ in range(2)])"
  // -> [[24, 14, 3], [0, 2, 29]]. (test_split set, fewshot_split not: lm-eval draws k, as for arc_challenge.)
  Json def = {{"name", "t"}, {"format", "jsonl"}, {"doc_to_text", "{{q}}"}, {"doc_to_target", "{{a}}"},
              {"request", "generate_until"}, {"fewshot_sampler", "random"}, {"test_split", "test"}};
  TaskSpec t = parse_task(def, "test");
  std::vector<Json> pool;
  for (int i = 0; i < 30; ++i) pool.push_back({{"q", std::to_string(i)}, {"a", "x"}});
  FewshotSampler s(t, pool, false, 1234);
  Json doc = {{"q", "test"}, {"a", "y"}};
  auto a = s.demos_for(doc, 3), b = s.demos_for(doc, 3);
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a, (std::vector<const Json*>{&pool[24], &pool[14], &pool[3]}));
  EXPECT_EQ(b, (std::vector<const Json*>{&pool[0], &pool[2], &pool[29]}));
}

TEST(FewshotSampling, EvaluatedSplitDrawsOneMoreAndDropsTheDocument) {
  // The pool is the evaluated split: rnd.sample(docs, k + 1), the document removed, the first k kept.
  // python3 -c "import random; r=random.Random(1234); print(r.sample(range(20),3), r.sample(range(20),3))"
  // -> [14, 3, 0] [2, 18, 1]: document 3 drops itself from the first draw; document 0 keeps the first two.
  Json def = {{"name", "t"}, {"format", "jsonl"}, {"doc_to_text", "{{q}}"}, {"doc_to_target", "{{a}}"},
              {"request", "generate_until"}, {"fewshot_sampler", "random"}};
  TaskSpec t = parse_task(def, "test");
  std::vector<Json> docs;
  for (int i = 0; i < 20; ++i) docs.push_back({{"q", std::to_string(i)}, {"a", "x"}});
  FewshotSampler s(t, docs, true, 1234);
  EXPECT_EQ(s.demos_for(docs[3], 2), (std::vector<const Json*>{&docs[14], &docs[0]}));
  EXPECT_EQ(s.demos_for(docs[0], 2), (std::vector<const Json*>{&docs[2], &docs[18]}));
}

}  // namespace
}  // namespace lmzip::eval
