// Task data: templates, readers, and the documented prompts of each built-in task, character for character.
#include <gtest/gtest.h>

#include <fstream>

#include "lmzip/core/error.h"
#include "lmzip/core/pystr.h"
#include "lmzip/eval/runner.h"
#include "lmzip/eval/task.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip::eval {
namespace {

const std::string kFixtures = "tests/eval/fixtures/";

TEST(Template, PathsListsAndFilters) {
  Json doc = Json::parse(R"({"q": {"stem": "Why?", "choices": [{"text": "a", "label": "A"}, {"text": "b", "label": "B"}]},
                             "row": ["x", " y "], "n": 3})");
  EXPECT_EQ(render_text("Q: {{q.stem}}\nA:", doc), "Q: Why?\nA:");
  EXPECT_EQ(render_value("{{q.choices[].text}}", doc), Json::parse(R"(["a", "b"])"));
  EXPECT_EQ(render_value("{{ q.choices[1].label }}", doc), "B");
  EXPECT_EQ(render_text("[{{row[1]|strip}}]", doc), "[y]");
  EXPECT_EQ(render_value("{{n}}", doc), 3);
  EXPECT_EQ(render_text("n={{n}}", doc), "n=3");
  EXPECT_EQ(render_value("{{row|strip}}", doc), Json::parse(R"(["x", "y"])"));
  EXPECT_THROW(render_text("{{missing}}", doc), Error);
  EXPECT_THROW(render_text("{{n|nope}}", doc), Error);
  EXPECT_THROW(render_text("{{n", doc), Error);
}

TEST(Template, PythonStringSemantics) {
  EXPECT_EQ(py_capitalize("YOUR plants NEED light"), "Your plants need light");
  EXPECT_EQ(py_capitalize("then"), "Then");
  EXPECT_EQ(py_strip(" \t a b \n"), "a b");
  // lm-eval hellaswag preprocess: strip, " [title]" -> ". ", drop [..], one pass of "  " -> " ".
  EXPECT_EQ(hellaswag_preprocess(" [step] Water them  daily. "), " Water them daily.");
  EXPECT_EQ(hellaswag_preprocess("a [title] b"), "a. b");
  EXPECT_EQ(hellaswag_preprocess("x   y"), "x  y");  // non-iterative, like str.replace
}

TEST(Csv, QuotesCrlfAndEmbeddedCommas) {
  auto rows = parse_csv("a,\"b, c\",\"say \"\"hi\"\"\"\r\n\"multi\nline\",2,\n", "t.csv");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"a", "b, c", "say \"hi\""}));
  EXPECT_EQ(rows[1], (std::vector<std::string>{"multi\nline", "2", ""}));
  EXPECT_THROW(parse_csv("\"open", "t.csv"), Error);
}

TEST(ArcChallenge, PromptChoicesAndGold) {
  TaskSpec t = builtin_task("arc_challenge");
  auto docs = load_documents(t, kFixtures + "arc/ARC-Challenge-Test.jsonl");
  auto train = load_documents(t, kFixtures + "arc/ARC-Challenge-Train.jsonl");
  ASSERT_EQ(docs.size(), 3u);
  EXPECT_EQ(build_prompt(t, docs[0], {&train[0], &train[1]}),
            "Question: Which object is the best conductor of electricity?\nAnswer: an iron nail\n\n"
            "Question: Which gas do plants take in from the air?\nAnswer: carbon dioxide\n\n"
            "Question: George wants to warm his hands quickly by rubbing them. Which skin surface will produce the "
            "most heat?\nAnswer:");
  EXPECT_EQ(choices_of(t, docs[0]),
            (std::vector<std::string>{"dry palms", "wet palms", "palms covered with oil", "palms covered with lotion"}));
  EXPECT_EQ(gold_of(t, docs[0]), 0u);
  EXPECT_EQ(gold_of(t, docs[1]), 3u);  // numeric labels "1".."4", answerKey "4"
  EXPECT_EQ(choices_of(t, docs[2]).size(), 3u);
  EXPECT_EQ(gold_of(t, docs[2]), 2u);
  EXPECT_EQ(t.num_fewshot, 25);
}

TEST(HellaSwag, LmEvalPreprocessing) {
  TaskSpec t = builtin_task("hellaswag");
  auto docs = load_documents(t, kFixtures + "hellaswag/hellaswag_val.jsonl");
  ASSERT_EQ(docs.size(), 2u);
  EXPECT_EQ(build_prompt(t, docs[0], {}),
            "Removing ice from car: Then, the man writes over the snow covering the window of a car, and a woman "
            "wearing winter clothes smiles. Then");
  EXPECT_EQ(choices_of(t, docs[0])[3], ", the man continues removing the snow on his car.");
  EXPECT_EQ(gold_of(t, docs[0]), 3u);
  EXPECT_EQ(build_prompt(t, docs[1], {}),
            "Home and Garden: How to grow tomatoes. Pick a sunny spot. Your plants need light");
  EXPECT_EQ(choices_of(t, docs[1]),
            (std::vector<std::string>{" Water them daily.", "Plant them in a closet forever.",
                                      "Give them six hours of sun.", "Paint the pots blue."}));
  // Demonstration: query + " " + gold ending.
  EXPECT_EQ(build_prompt(t, docs[1], {&docs[0]}),
            "Removing ice from car: Then, the man writes over the snow covering the window of a car, and a woman "
            "wearing winter clothes smiles. Then , the man continues removing the snow on his car.\n\n"
            "Home and Garden: How to grow tomatoes. Pick a sunny spot. Your plants need light");
}

TEST(Mmlu, DefaultStyleFirstNDemosOfTheSameSubject) {
  TaskSpec t = builtin_task("mmlu");
  auto docs = load_documents(t, kFixtures + "mmlu/test");
  auto dev = load_documents(t, kFixtures + "mmlu/dev");
  ASSERT_EQ(docs.size(), 3u);  // abstract_algebra (2, CRLF) then high_school_mathematics (1), by file name
  FewshotSampler sampler(t, dev, false, 1234);
  EXPECT_EQ(build_prompt(t, docs[0], sampler.demos_for(docs[0], 2)),
            "The following are multiple choice questions (with answers) about abstract algebra.\n\n"
            "Find the characteristic of the ring 2Z.\nA. 0\nB. 3\nC. 12\nD. 30\nAnswer: A\n\n"
            "Statement 1 | Every element of a group generates a cyclic subgroup of the group. Statement 2 | The "
            "symmetric group S_10 has 10 elements.\nA. True, True\nB. False, False\nC. True, False\nD. False, True\n"
            "Answer: C\n\n"
            "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer:");
  EXPECT_EQ(choices_of(t, docs[0]), (std::vector<std::string>{"A", "B", "C", "D"}));
  EXPECT_EQ(gold_of(t, docs[0]), 1u);
  EXPECT_EQ(docs[1]["choices"][0], "True, True");  // quoted CSV field with a comma
  EXPECT_EQ(build_prompt(t, docs[2], sampler.demos_for(docs[2], 1)),
            "The following are multiple choice questions (with answers) about high school mathematics.\n\n"
            "What is 1 + 1?\nA. 2\nB. 3\nC. 4\nD. 5\nAnswer: A\n\n"
            "What is 2 + 3?\nA. 4\nB. 5\nC. 6\nD. 7\nAnswer:");
  EXPECT_THROW(sampler.demos_for(docs[2], 5), Error);  // only 2 dev rows for the subject
}

TEST(Mmlu, ClozeStyleShowsNoOptions) {
  TaskSpec t = builtin_task("mmlu_cloze");
  auto docs = load_documents(t, kFixtures + "mmlu/test");
  auto dev = load_documents(t, kFixtures + "mmlu/dev");
  FewshotSampler sampler(t, dev, false, 1234);
  EXPECT_EQ(build_prompt(t, docs[0], sampler.demos_for(docs[0], 1)),
            "The following are questions (with answers) about abstract algebra.\n\n"
            "Question: Find the characteristic of the ring 2Z.\nAnswer: 0\n\n"
            "Question: Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nAnswer:");
  EXPECT_EQ(choices_of(t, docs[0]), (std::vector<std::string>{"0", "1", "2", "3"}));
  auto math = load_documents(builtin_task("mmlu_math"), kFixtures + "mmlu/test");
  EXPECT_EQ(math.size(), 3u);  // both fixture subjects are math subjects
}

TEST(Gsm8k, PromptShowsTheFullRationale) {
  TaskSpec t = builtin_task("gsm8k");
  auto docs = load_documents(t, kFixtures + "gsm8k/test.jsonl");
  auto train = load_documents(t, kFixtures + "gsm8k/train.jsonl");
  EXPECT_EQ(build_prompt(t, docs[1], {&train[0]}),
            "Question: Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
            "How many clips did Natalia sell altogether in April and May?\nAnswer: Natalia sold 48/2 = <<48/2=24>>24 "
            "clips in May.\nNatalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May.\n#### 72\n\n"
            "Question: A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total "
            "does it take?\nAnswer:");
  EXPECT_EQ(t.until, (std::vector<std::string>{"Question:", "</s>", "<|im_end|>"}));
  EXPECT_EQ(t.num_fewshot, 5);
}

TEST(NqOpenAndTriviaQa, PromptsAndReferences) {
  TaskSpec nq = builtin_task("nq_open");
  auto dev = load_documents(nq, kFixtures + "nq_open/NQ-open.dev.jsonl");
  auto train = load_documents(nq, kFixtures + "nq_open/NQ-open.train.jsonl");
  EXPECT_EQ(build_prompt(nq, dev[0], {&train[0]}),
            "Answer these questions:\n\nQ: where is the capital of france?\nA: Paris\n"
            "Q: when was the last time anyone was on the moon?\nA:");
  EXPECT_EQ(references_of(nq, dev[0]), (std::vector<std::string>{"14 December 1972 UTC", "December 1972"}));
  TaskSpec tq = builtin_task("triviaqa");
  auto val = load_documents(tq, kFixtures + "triviaqa/validation.jsonl");
  EXPECT_EQ(build_prompt(tq, val[0], {&val[0]}),
            "Question: Which Lloyd Webber musical premiered in the US on 10th December 1993??\nAnswer: Sunset Blvd\n\n"
            "Question: Which Lloyd Webber musical premiered in the US on 10th December 1993??\nAnswer:");
  EXPECT_EQ(references_of(tq, val[0]).size(), 3u);
}

TEST(TaskData, ErrorsNameTheFileAndExpectedFields) {
  TaskSpec t = builtin_task("arc_challenge");
  try {
    load_documents(t, kFixtures + "gsm8k/test.jsonl");
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("gsm8k/test.jsonl:1"), std::string::npos) << m;
    EXPECT_NE(m.find("question.stem, question.choices, answerKey"), std::string::npos) << m;
  }
  try {
    load_documents(t, kFixtures + "nope.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.jsonl: no such file"), std::string::npos);
  }
  EXPECT_THROW(builtin_task("no_such_task"), Error);
  EXPECT_THROW(parse_task(Json::parse(R"({"name": "x", "format": "xml"})"), "x.json"), Error);
  EXPECT_THROW(parse_task(Json::parse(R"({"name": "x", "format": "jsonl", "doc_to_text": "{{q}}", "request": "generate_until"})"),
                          "x.json"),
               Error);  // generation needs doc_to_target
}

// Issue 18 item 15: a task file or data line nlohmann cannot parse (a number overflow included, which it
// reports without a position) and a field of the wrong type name the file and line, never a bare json.exception.
TEST(TaskData, JsonErrorsNameTheFileAndLine) {
  const std::string dir = test::temp_dir();
  auto error_of = [](auto f) -> std::string {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    return "(no error)";
  };
  write_file_atomic(dir + "/t.json", "{\n  \"name\": \"x\",\n  \"num_fewshot\": 1e999\n}\n");
  std::string m = error_of([&] { load_task_file(dir + "/t.json"); });
  EXPECT_NE(m.find("t.json:3: not valid JSON at column "), std::string::npos) << m;
  EXPECT_NE(m.find("number overflow"), std::string::npos) << m;
  write_file_atomic(dir + "/syntax.json", "{\n  \"name\": \"x\",\n  \"format\" \"jsonl\"\n}\n");
  m = error_of([&] { load_task_file(dir + "/syntax.json"); });
  EXPECT_NE(m.find("syntax.json:3: not valid JSON at column "), std::string::npos) << m;

  write_file_atomic(dir + "/d2.jsonl", "\n{\"id\": 1e999}\n");
  m = error_of([&] { load_documents(builtin_task("arc_challenge"), dir + "/d2.jsonl"); });
  EXPECT_NE(m.find("d2.jsonl:2: not valid JSON at column "), std::string::npos) << m;

  // Wrong types the validation does not look at still name the file, not just "type must be string".
  write_file_atomic(dir + "/types.json", R"({"name": "x", "format": "jsonl", "doc_to_text": "{{q}}",
    "doc_to_target": "{{a}}", "request": "generate_until", "exact_match": {"ignore_case": "yes"}})");
  m = error_of([&] { load_task_file(dir + "/types.json"); });
  EXPECT_NE(m.find("types.json: bad task definition: "), std::string::npos) << m;
  const TaskSpec t = parse_task(Json::parse(R"({"name": "x", "format": "jsonl", "doc_to_text": "{{q}}",
    "doc_to_target": "{{a}}", "request": "generate_until", "fields": {"y": [1]}})"), "x.json");
  write_file_atomic(dir + "/qa.jsonl", "{\"q\": \"a\", \"a\": \"b\"}\n");
  m = error_of([&] { load_documents(t, dir + "/qa.jsonl"); });
  EXPECT_NE(m.find("qa.jsonl:1: task x: "), std::string::npos) << m;
}

// Issue "eval code sandbox" item 5: a code task's limits are checked when the task file is read: a zero or
// negative timeout (every program "times out"), memory_mb -1 (no memory cap) and strings where numbers belong
// are errors naming the field, not raw JSON library messages.
TEST(TaskData, CodeTaskLimitsAreValidated) {
  const Json base = Json::parse(R"({"name": "x", "format": "jsonl", "doc_to_text": "{{q}}", "doc_to_target": "{{a}}",
                                    "request": "generate_until", "program": "{{_response}}"})");
  EXPECT_NO_THROW(parse_task(base, "x.json"));
  auto message = [&](const char* key, const Json& value) -> std::string {
    Json d = base;
    d[key] = value;
    try {
      parse_task(d, "x.json");
    } catch (const Error& e) {
      return e.what();
    }
    return "(accepted)";
  };
  for (const Json& bad : {Json(0), Json(-1.5), Json("3"), Json(nullptr), Json(1e9)}) {
    const std::string m = message("timeout_seconds", bad);
    EXPECT_NE(m.find("x.json"), std::string::npos) << bad << ": " << m;
    EXPECT_NE(m.find("timeout_seconds"), std::string::npos) << bad << ": " << m;
    EXPECT_EQ(m.find("json.exception"), std::string::npos) << m;
  }
  for (const Json& bad : {Json(-1), Json(0), Json("1024"), Json(2.5), Json(1 << 30)}) {
    const std::string m = message("memory_mb", bad);
    EXPECT_NE(m.find("memory_mb"), std::string::npos) << bad << ": " << m;
    EXPECT_EQ(m.find("json.exception"), std::string::npos) << m;
  }
  Json ok = base;
  ok["timeout_seconds"] = 0.5;
  ok["memory_mb"] = 8192;
  TaskSpec t = parse_task(ok, "x.json");
  EXPECT_EQ(t.timeout_seconds, 0.5);
  EXPECT_EQ(t.memory_mb, 8192);
}

TEST(TaskData, EveryBuiltinTaskParses) {
  for (const auto& name : builtin_task_names()) EXPECT_EQ(builtin_task(name).name, name);
}

// The Hugging Face exports lm-eval reads (allenai/ai2_arc, cais/mmlu), written as JSONL, give the very same
// prompts, options and gold answers as the authors' files of the same questions (fixtures converted from them).
TEST(TaskLayouts, HuggingFaceExportsGiveTheSamePromptsAsTheOriginalFiles) {
  struct Pair {
    std::string task, original, original_demos, exported, exported_demos;
  };
  const std::vector<Pair> pairs = {
      {"arc_challenge", "arc/ARC-Challenge-Test.jsonl", "", "arc_hf/ARC-Challenge_test.jsonl", ""},
      {"mmlu", "mmlu/test", "mmlu/dev", "mmlu_hf/cais_mmlu_all_test.jsonl", "mmlu_hf/cais_mmlu_all_dev.jsonl"},
      {"mmlu_cloze", "mmlu/test", "mmlu/dev", "mmlu_hf/cais_mmlu_all_test.jsonl", "mmlu_hf/cais_mmlu_all_dev.jsonl"},
  };
  for (const Pair& p : pairs) {
    const TaskSpec t = builtin_task(p.task);
    const auto a = load_documents(t, kFixtures + p.original);
    const auto b = load_documents(t, kFixtures + p.exported);
    ASSERT_EQ(a.size(), b.size()) << p.task;
    ASSERT_GE(a.size(), 2u) << p.task;
    const auto a_pool = p.original_demos.empty() ? a : load_documents(t, kFixtures + p.original_demos);
    const auto b_pool = p.exported_demos.empty() ? b : load_documents(t, kFixtures + p.exported_demos);
    FewshotSampler sa(t, a_pool, p.original_demos.empty(), 1234), sb(t, b_pool, p.exported_demos.empty(), 1234);
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(build_prompt(t, b[i], sb.demos_for(b[i], 1)), build_prompt(t, a[i], sa.demos_for(a[i], 1)))
          << p.task << " document " << i;
      EXPECT_EQ(choices_of(t, b[i]), choices_of(t, a[i])) << p.task;
      EXPECT_EQ(gold_of(t, b[i]), gold_of(t, a[i])) << p.task;
    }
  }
  // A record in neither layout names both.
  const std::string bad = ::testing::TempDir() + "/bad_arc.jsonl";
  { std::ofstream(bad) << "{\"question\": \"Why?\"}\n"; }
  try {
    load_documents(builtin_task("arc_challenge"), bad);
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("expects question.stem, question.choices, answerKey; or, as Hugging Face allenai/ai2_arc "
                     "export (jsonl): question, choices.text, choices.label, answerKey"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace lmzip::eval
