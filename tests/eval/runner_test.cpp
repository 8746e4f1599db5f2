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

// ---- Blocks of documents (batched requests), and resuming from saved outcomes ----
#include <algorithm>
#include <atomic>
#include <functional>

#include "lmzip/eval/part.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip::eval {
namespace {

// Answers from the text of each request alone (so answers do not depend on the call order), and records every
// batched call and every single request in the order the runner asked.
class ContentModel : public LanguageModel {
 public:
  std::vector<std::string> calls;     // "ll:N" / "gen:N" per batched call (N requests)
  std::vector<std::string> requests;  // "ll|context|continuation" / "gen|context", in order
  static double pseudo(const std::string& s) { return static_cast<double>(std::hash<std::string>{}(s) % 1000) / 100.0; }
  std::vector<Continuation> loglikelihoods(const std::string& context,
                                           const std::vector<std::string>& continuations) override {
    std::vector<Continuation> out;
    for (const auto& c : continuations) {
      requests.push_back("ll|" + context + "|" + c);
      out.push_back({-pseudo(context + c), {pseudo(c), pseudo(c + "x"), pseudo(c + "y")}});
    }
    return out;
  }
  std::string generate(const std::string& context, const std::vector<std::string>&, int) override {
    requests.push_back("gen|" + context);
    return " so the answer is\n#### " + std::to_string(std::hash<std::string>{}(context) % 3 + 1);
  }
  std::vector<std::vector<Continuation>> loglikelihoods_batch(const std::vector<LoglikelihoodRequest>& r) override {
    calls.push_back("ll:" + std::to_string(r.size()));
    return LanguageModel::loglikelihoods_batch(r);
  }
  std::vector<std::string> generate_batch(const std::vector<GenerationRequest>& r) override {
    calls.push_back("gen:" + std::to_string(r.size()));
    return LanguageModel::generate_batch(r);
  }
};

// 20 ARC-style questions (the options differ per question) and 11 GSM8K-style ones (answers 1, 2 or 3).
std::vector<Json> arc_docs() {
  std::string text;
  for (int i = 0; i < 20; ++i) {
    Json d = {{"id", "q" + std::to_string(i)},
              {"question", {{"stem", "Question number " + std::to_string(i) + "?"},
                            {"choices", Json::array()}}},
              {"answerKey", std::string(1, static_cast<char>('A' + i % 4))}};
    for (int c = 0; c < 4; ++c) {
      d["question"]["choices"].push_back({{"text", "option " + std::to_string(c) + " of " + std::to_string(i * 7 % 5)},
                                          {"label", std::string(1, static_cast<char>('A' + c))}});
    }
    text += d.dump() + "\n";
  }
  const std::string path = test::temp_dir() + "/arc20.jsonl";
  write_file_atomic(path, text);
  return load_documents(builtin_task("arc_challenge"), path);
}

std::vector<Json> gsm_docs() {
  std::string text;
  for (int i = 0; i < 11; ++i) {
    text += Json{{"question", "How many apples are in basket " + std::to_string(i) + "?"},
                 {"answer", "Count them.\n#### " + std::to_string(i % 3 + 1)}}
                .dump() + "\n";
  }
  const std::string path = test::temp_dir() + "/gsm11.jsonl";
  write_file_atomic(path, text);
  return load_documents(builtin_task("gsm8k"), path);
}

void expect_same_result(const EvalResult& a, const EvalResult& b) {
  EXPECT_EQ(a.n_docs, b.n_docs);
  ASSERT_EQ(a.samples.size(), b.samples.size());
  for (size_t i = 0; i < a.samples.size(); ++i) EXPECT_EQ(a.samples[i], b.samples[i]) << "document " << i;
  ASSERT_EQ(a.metrics.size(), b.metrics.size());
  for (size_t m = 0; m < a.metrics.size(); ++m) {
    EXPECT_EQ(a.metrics[m].name, b.metrics[m].name);
    EXPECT_EQ(a.metrics[m].value, b.metrics[m].value) << a.metrics[m].name;  // bit for bit
    EXPECT_EQ(a.metrics[m].stderr_value, b.metrics[m].stderr_value) << a.metrics[m].name;
  }
}

TEST(RunnerBlocks, MultipleChoiceBatchSizesGiveIdenticalResultsAndRequests) {
  const TaskSpec t = builtin_task("arc_challenge");
  const auto docs = arc_docs();
  ContentModel one;
  const EvalResult r1 = run_task(t, docs, nullptr, one, {.num_fewshot = 2, .min_k = 0.2, .batch_docs = 1});
  ASSERT_EQ(r1.n_docs, 20u);
  ASSERT_EQ(r1.metrics.size(), 3u);
  EXPECT_EQ(r1.metrics[2].name, "min_k_20");
  // One batched call per document: its options request, then its Min-K% request.
  ASSERT_EQ(one.calls.size(), 20u);
  EXPECT_EQ(one.calls[0], "ll:2");
  ASSERT_EQ(one.requests.size(), 20u * 5);
  EXPECT_TRUE(one.requests[0].starts_with("ll|Question: Question number ")) << one.requests[0];
  EXPECT_TRUE(one.requests[4].starts_with("ll||Question: Question number 0?\nAnswer: option ")) << one.requests[4];
  for (size_t batch : {3, 8, 64}) {
    ContentModel lm;
    const EvalResult r = run_task(t, docs, nullptr, lm, {.num_fewshot = 2, .min_k = 0.2, .batch_docs = batch});
    SCOPED_TRACE("batch " + std::to_string(batch));
    expect_same_result(r1, r);
    EXPECT_EQ(lm.requests, one.requests);  // the same requests in the same order
    const size_t blocks = (20 + batch - 1) / batch;
    ASSERT_EQ(lm.calls.size(), blocks);  // one batched call per block: every option and Min-K% request of it
    EXPECT_EQ(lm.calls[0], "ll:" + std::to_string(2 * std::min<size_t>(batch, 20)));
    EXPECT_EQ(lm.calls.back(), "ll:" + std::to_string(2 * (20 - (blocks - 1) * batch)));
  }
  // The values are real: acc is the mean of the per-document verdicts.
  double acc = 0;
  for (const auto& s : r1.samples) acc += s["acc"].get<double>();
  EXPECT_DOUBLE_EQ(r1.metrics[0].value, acc / 20);
}

TEST(RunnerBlocks, GenerationBatchSizesGiveIdenticalResults) {
  const TaskSpec t = builtin_task("gsm8k");
  const auto docs = gsm_docs();
  ContentModel one;
  const EvalResult r1 = run_task(t, docs, nullptr, one, {.num_fewshot = 3, .min_k = 0.5, .batch_docs = 1});
  ASSERT_EQ(r1.metrics.size(), 3u);
  EXPECT_EQ(one.calls[0], "gen:1");
  EXPECT_EQ(one.calls[1], "ll:1");
  double em = 0;
  for (const auto& s : r1.samples) em += s["exact_match"]["strict-match"].get<double>();
  EXPECT_GT(em, 0);
  EXPECT_LT(em, 11);
  EXPECT_EQ(r1.metrics[1].name, "exact_match,strict-match");
  EXPECT_DOUBLE_EQ(r1.metrics[1].value, em / 11);
  EXPECT_EQ(r1.metrics[2].name, "min_k_50");
  for (size_t batch : {3, 8}) {
    ContentModel lm;
    const EvalResult r = run_task(t, docs, nullptr, lm, {.num_fewshot = 3, .min_k = 0.5, .batch_docs = batch});
    SCOPED_TRACE("batch " + std::to_string(batch));
    expect_same_result(r1, r);
    // Per block: one generate_batch with the block's generations, then one loglikelihoods_batch (Min-K%).
    EXPECT_EQ(lm.calls[0], "gen:" + std::to_string(batch));
    EXPECT_EQ(lm.calls[1], "ll:" + std::to_string(batch));
    EXPECT_EQ(lm.calls.size(), 2 * ((11 + batch - 1) / batch));
    auto only = [](const std::vector<std::string>& v, const std::string& kind) {
      std::vector<std::string> out;
      for (const auto& s : v) if (s.starts_with(kind)) out.push_back(s);
      return out;
    };
    EXPECT_EQ(only(lm.requests, "gen|"), only(one.requests, "gen|"));
    EXPECT_EQ(only(lm.requests, "ll|"), only(one.requests, "ll|"));
  }
}

// Runs until `stop_after_blocks` blocks are done (cancel set from on_block), then resumes from the saved outcomes.
EvalResult interrupted_then_resumed(const TaskSpec& t, const std::vector<Json>& docs, EvalOptions o,
                                    size_t stop_after_blocks, size_t* saved_docs) {
  std::vector<DocOutcome> saved;
  std::atomic<bool> cancel{false};
  size_t blocks = 0;
  {
    ContentModel lm;
    EvalOptions first = o;
    first.cancel = &cancel;
    first.on_block = [&](const std::vector<DocOutcome>& b) {
      saved.insert(saved.end(), b.begin(), b.end());
      if (++blocks == stop_after_blocks) cancel = true;
    };
    try {
      run_task(t, docs, nullptr, lm, first);
      ADD_FAILURE() << "not interrupted";
    } catch (const EvalInterrupted& e) {
      EXPECT_EQ(e.done_docs, saved.size());
    }
  }
  *saved_docs = saved.size();
  // Round-trip through JSON text, as a checkpoint does.
  for (auto& d : saved) d.sample = Json::parse(d.sample.dump());
  ContentModel lm;
  EvalOptions second = o;
  second.resume = &saved;
  std::vector<size_t> new_docs;
  second.on_block = [&](const std::vector<DocOutcome>& b) {
    for (const auto& d : b) new_docs.push_back(d.sample["doc_index"].get<size_t>());
  };
  EvalResult r = run_task(t, docs, nullptr, lm, second);
  EXPECT_EQ(r.resumed_docs, saved.size());
  EXPECT_EQ(new_docs.front(), saved.size());  // the resumed run asks only the documents after the saved ones
  return r;
}

TEST(RunnerBlocks, InterruptedAndResumedEqualsUninterrupted) {
  {
    const TaskSpec t = builtin_task("arc_challenge");  // random demos: the sampler is replayed over saved documents
    const auto docs = arc_docs();
    const EvalOptions o{.num_fewshot = 3, .min_k = 0.2, .batch_docs = 3};
    ContentModel lm;
    const EvalResult full = run_task(t, docs, nullptr, lm, o);
    size_t saved = 0;
    expect_same_result(full, interrupted_then_resumed(t, docs, o, 2, &saved));
    EXPECT_EQ(saved, 6u);
  }
  {
    const TaskSpec t = builtin_task("gsm8k");
    const auto docs = gsm_docs();
    const EvalOptions o{.num_fewshot = 2, .batch_docs = 4};
    ContentModel lm;
    const EvalResult full = run_task(t, docs, nullptr, lm, o);
    size_t saved = 0;
    expect_same_result(full, interrupted_then_resumed(t, docs, o, 1, &saved));
    EXPECT_EQ(saved, 4u);
  }
}

TEST(RunnerBlocks, ResumeRefusesOutcomesWithAnotherPrompt) {
  const TaskSpec t = builtin_task("arc_challenge");
  const auto docs = arc_docs();
  ContentModel lm;
  EvalResult r = run_task(t, docs, nullptr, lm, {.limit = 4, .num_fewshot = 2});
  std::vector<DocOutcome> saved;
  for (const auto& s : r.samples) saved.push_back({s, {{"acc", {s["acc"].get<double>()}}}});
  saved[2].sample["prompt"] = "something else";
  try {
    run_task(t, docs, nullptr, lm, {.num_fewshot = 2, .resume = &saved});
    FAIL() << "resumed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("document 2"), std::string::npos) << e.what();
  }
  try {
    run_task(t, docs, nullptr, lm, {.num_fewshot = 3, .resume = &saved});  // other shots: other prompts
    FAIL() << "resumed";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("document 0"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmzip::eval

namespace lmzip::eval {
namespace {

// N shards (first_doc/end_doc), each part through its file text, merge to the single run: the same samples
// and bit-identical metrics and standard errors; random demos come out the same because every shard replays
// the sampler over the documents before it.
std::vector<NamedEvalPart> eval_shards(const TaskSpec& t, const std::vector<Json>& docs, EvalOptions o, uint32_t n) {
  std::vector<NamedEvalPart> parts;
  for (uint32_t i = 0; i < n; ++i) {
    const DocRange range = shard_documents(docs.size(), o.batch_docs, i, n);
    o.first_doc = range.begin;
    o.end_doc = range.end;
    ContentModel lm;
    EvalResult r = run_task(t, docs, nullptr, lm, o);
    EXPECT_EQ(r.n_docs, range.end - range.begin);
    EvalPart part{.fingerprint = {{"task", t.name}, {"seed", 1}}, .run = {{"task", t.name}}, .shard_index = i,
                  .shard_count = n, .range = range, .documents = docs.size(), .num_fewshot = r.num_fewshot,
                  .outcomes = r.outcomes};
    const std::string name = "p" + std::to_string(i) + ".lmzeval";
    parts.push_back({name, parse_eval_part(serialize_eval_part(part), name)});
  }
  return parts;
}

TEST(EvalShards, MergedShardsEqualTheSingleRun) {
  struct Case {
    TaskSpec task;
    std::vector<Json> docs;
    EvalOptions options;
  };
  const Case cases[] = {{builtin_task("arc_challenge"), arc_docs(), {.num_fewshot = 3, .min_k = 0.2, .batch_docs = 3}},
                        {builtin_task("gsm8k"), gsm_docs(), {.num_fewshot = 2, .batch_docs = 2}}};
  for (const Case& c : cases) {
    ContentModel lm;
    const EvalResult single = run_task(c.task, c.docs, nullptr, lm, c.options);
    for (uint32_t n : {1u, 2u, 3u, 5u}) {
      SCOPED_TRACE(c.task.name + " N=" + std::to_string(n));
      std::vector<NamedEvalPart> parts = eval_shards(c.task, c.docs, c.options, n);
      std::reverse(parts.begin(), parts.end());  // the order given does not matter
      const EvalResult merged = merge_eval_parts(parts, c.task.name);
      expect_same_result(single, merged);
      EXPECT_EQ(merged.num_fewshot, single.num_fewshot);
    }
  }
}

TEST(EvalShards, ShardsAreWholeBlocksThatTileTheDocuments) {
  for (size_t n : {0u, 1u, 7u, 20u, 101u}) {
    for (size_t batch : {1u, 3u, 8u}) {
      for (uint32_t count : {1u, 2u, 3u, 7u, 50u}) {
        size_t next = 0;
        for (uint32_t i = 0; i < count; ++i) {
          const DocRange r = shard_documents(n, batch, i, count);
          EXPECT_EQ(r.begin, next);
          EXPECT_TRUE(r.begin % batch == 0 || r.begin == n) << r.begin;
          next = r.end;
        }
        EXPECT_EQ(next, n);
      }
    }
  }
  EXPECT_EQ(shard_documents(20, 3, 1, 2).begin, 9u);  // 7 blocks: [0, 3) and [3, 7)
}

TEST(EvalShards, MissingForeignAndDamagedPartsAreErrorsNamingTheShard) {
  const TaskSpec t = builtin_task("gsm8k");
  const auto docs = gsm_docs();
  const EvalOptions o{.num_fewshot = 1, .batch_docs = 2};
  auto expect_error = [&](std::vector<NamedEvalPart> parts, const std::string& needle) {
    try {
      merge_eval_parts(parts, t.name);
      ADD_FAILURE() << "no error; expected " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  std::vector<NamedEvalPart> parts = eval_shards(t, docs, o, 3);
  parts.erase(parts.begin() + 2);
  expect_error(parts, "1 of 3 shards missing: 2/3");
  parts = eval_shards(t, docs, o, 3);
  parts[1].part.fingerprint["seed"] = 2;
  expect_error(parts, "p1.lmzeval (shard 1/3) does not belong with p0.lmzeval (shard 0/3): seed");
  parts = eval_shards(t, docs, o, 3);
  parts.push_back(parts[0]);
  parts.back().name = "again";
  expect_error(parts, "are both shard 0/3");

  const std::string text = serialize_eval_part(eval_shards(t, docs, o, 2)[1].part);
  EXPECT_NO_THROW(parse_eval_part(text, "p"));
  for (size_t cut : {size_t{0}, size_t{10}, text.find('\n') + 1, text.size() - 1}) {
    EXPECT_THROW(parse_eval_part(text.substr(0, cut), "cut.lmzeval"), Error) << cut;
  }
  try {
    parse_eval_part(text.substr(0, text.size() - 1), "cut.lmzeval");
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cut.lmzeval:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace lmzip::eval
