// The runner over a scripted language model: requests, verdicts and aggregated metrics worked by hand.
#include <gtest/gtest.h>

#include <map>

#include "lmzip/eval/runner.h"

namespace lmzip::eval {
namespace {

const std::string kFixtures = "tests/eval/fixtures/";

// Answers loglikelihood requests from a table keyed by continuation, and generations from a list.
class ScriptedModel : public LanguageModel {
 public:
  std::map<std::string, double> ll;
  std::vector<std::string> responses;
  std::vector<std::string> contexts;
  std::vector<Continuation> loglikelihoods(const std::string& context,
                                           const std::vector<std::string>& continuations) override {
    contexts.push_back(context);
    std::vector<Continuation> out;
    for (const auto& c : continuations) out.push_back({ll.count(c) ? ll[c] : -100.0, {1.0, 3.0}});
    return out;
  }
  std::string generate(const std::string& context, const std::vector<std::string>&, int) override {
    contexts.push_back(context);
    return responses.at(contexts.size() - 1);
  }
};

TEST(Runner, MultipleChoiceAccAndAccNorm) {
  TaskSpec t = builtin_task("arc_challenge");
  auto docs = load_documents(t, kFixtures + "arc/ARC-Challenge-Test.jsonl");
  ScriptedModel lm;
  // doc 0 (gold "dry palms", 9 chars): acc picks gold (-5 > -6); acc_norm: -5/9 vs -6/22: "palms covered with
  // lotion" wins -> 0. doc 1 (gold "sound"): " light" -1 wins both (gold -4/5 < -1/5). doc 2 (gold "Planetary days
  // will become shorter."): it has the best ll.
  lm.ll = {{" dry palms", -5}, {" wet palms", -7}, {" palms covered with oil", -8}, {" palms covered with lotion", -6},
           {" light", -1}, {" sound", -4}, {" Planetary days will become shorter.", -2}};
  EvalResult r = run_task(t, docs, nullptr, lm, {.num_fewshot = 0, .min_k = 0.5});
  ASSERT_EQ(r.n_docs, 3u);
  ASSERT_EQ(r.metrics.size(), 3u);
  EXPECT_EQ(r.metrics[0].name, "acc");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 2.0 / 3);
  EXPECT_DOUBLE_EQ(r.metrics[0].stderr_value, std::sqrt(1.0 / 3) / std::sqrt(3.0));  // sd of {1,0,1} = sqrt(1/3)
  EXPECT_EQ(r.metrics[1].name, "acc_norm");
  EXPECT_DOUBLE_EQ(r.metrics[1].value, 1.0 / 3);
  EXPECT_EQ(r.metrics[2].name, "min_k_50");
  EXPECT_DOUBLE_EQ(r.metrics[2].value, 3.0);  // the larger of the scripted token nlls {1, 3}
  EXPECT_EQ(r.samples[0]["prompt"], "Question: George wants to warm his hands quickly by rubbing them. Which skin "
                                    "surface will produce the most heat?\nAnswer:");
  EXPECT_EQ(r.samples[0]["predicted_norm"], 3);
  EXPECT_EQ(r.samples[1]["gold"], 3);
  // Min-K% scores the document's text and gold answer with no context.
  EXPECT_EQ(lm.contexts[1], "");
}

TEST(Runner, GenerationFiltersPerMetric) {
  TaskSpec t = builtin_task("gsm8k");
  auto docs = load_documents(t, kFixtures + "gsm8k/test.jsonl");
  auto train = load_documents(t, kFixtures + "gsm8k/train.jsonl");
  ScriptedModel lm;
  lm.responses = {" 16 - 3 - 4 = 9, 9 * 2 = 18.\n#### 18", " The total is 3 bolts, or $4."};
  EvalResult r = run_task(t, docs, &train, lm, {.num_fewshot = 2});
  ASSERT_EQ(r.metrics.size(), 2u);
  EXPECT_EQ(r.metrics[0].name, "exact_match,flexible-extract");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 0.5);  // "18" right; "$4." -> "4" wrong
  EXPECT_EQ(r.metrics[1].name, "exact_match,strict-match");
  EXPECT_DOUBLE_EQ(r.metrics[1].value, 0.5);  // "18" right; "[invalid]"
  EXPECT_EQ(r.samples[1]["extracted"]["strict-match"], "[invalid]");
  EXPECT_EQ(r.samples[1]["extracted"]["flexible-extract"], "$4.");
  // Two random demos from the two-document train pool: both appear, in some order.
  const std::string p = r.samples[0]["prompt"];
  EXPECT_NE(p.find("#### 72\n\nQuestion: "), std::string::npos);
  EXPECT_NE(p.find("#### 10\n\nQuestion: "), std::string::npos);
  EXPECT_TRUE(p.ends_with("How much in dollars does she make every day at the farmers' market?\nAnswer:"));
}

TEST(Runner, RandomDemosAreSeededAndNeverTheDocumentItself) {
  TaskSpec t = builtin_task("arc_challenge");
  auto docs = load_documents(t, kFixtures + "arc/ARC-Challenge-Test.jsonl");
  FewshotSampler a(t, docs, true, 1234), b(t, docs, true, 1234);
  for (const Json& d : docs) {
    auto da = a.demos_for(d, 2), db = b.demos_for(d, 2);
    EXPECT_EQ(da, db);
    for (const Json* x : da) EXPECT_NE(x, &d);
  }
}

TEST(Runner, LimitTakesTheFirstDocuments) {
  TaskSpec t = builtin_task("hellaswag");
  auto docs = load_documents(t, kFixtures + "hellaswag/hellaswag_val.jsonl");
  ScriptedModel lm;
  EvalResult r = run_task(t, docs, nullptr, lm, {.limit = 1});
  EXPECT_EQ(r.n_docs, 1u);
  EXPECT_EQ(r.samples.size(), 1u);
}

}  // namespace
}  // namespace lmzip::eval

namespace lmzip::eval {
namespace {

TEST(CodeTasks, HumanEvalPassAtOneRunsTheProgramInTheSandbox) {
  TaskSpec t = builtin_task("humaneval");
  auto docs = load_documents(t, "tests/eval/fixtures/humaneval/HumanEval.jsonl.gz");
  ASSERT_EQ(docs.size(), 2u);
  ScriptedModel lm;
  // A correct body for HumanEval/0, a wrong one for HumanEval/2.
  lm.responses = {"    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n",
                  "    return number\n"};
  EvalResult r = run_task(t, docs, nullptr, lm, {});
  ASSERT_EQ(r.metrics.size(), 1u);
  EXPECT_EQ(r.metrics[0].name, "pass@1");
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 0.5);
  EXPECT_EQ(r.samples[0]["execution"], "passed");
  EXPECT_EQ(r.samples[1]["execution"], "failed");
  EXPECT_EQ(lm.contexts[0], docs[0]["prompt"]);
  const std::string program = r.samples[1]["program"];
  EXPECT_TRUE(program.starts_with(docs[1]["prompt"].get<std::string>() + "    return number\n\n"));
  EXPECT_TRUE(program.ends_with("\ncheck(truncate_number)"));
}

TEST(CodeTasks, MbppFixedDemosAndPrompt) {
  TaskSpec t = builtin_task("mbpp");
  auto all = load_documents(t, "tests/eval/fixtures/mbpp/mbpp.jsonl");
  std::vector<Json> test = {all[3]};
  ScriptedModel lm;
  lm.responses = {"def remove_Occ(s,ch):\n    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n"};
  EvalResult r = run_task(t, test, &all, lm, {});
  const std::string p = r.samples[0]["prompt"];
  EXPECT_TRUE(p.starts_with("You are an expert Python programmer, and here is your task: Write a function to find the "
                            "similar elements from the given two tuple lists. Your code should pass these tests:\n\n"
                            "assert similar_elements((3, 4, 5, 6),(5, 7, 4, 10)) == (4, 5)\n"))
      << p;
  EXPECT_NE(p.find("[BEGIN]\ndef similar_elements(test_tup1, test_tup2):\r\n  res = tuple(set(test_tup1) & "
                   "set(test_tup2))\r\n  return (res) \n[DONE]\n\nYou are an expert"),
            std::string::npos);
  EXPECT_TRUE(p.ends_with("assert remove_Occ(\"PHP\",\"P\") == \"H\"\n[BEGIN]\n"));
  EXPECT_DOUBLE_EQ(r.metrics[0].value, 1.0);
}

}  // namespace
}  // namespace lmzip::eval
