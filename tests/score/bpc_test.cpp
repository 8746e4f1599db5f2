#include "lmzip/score/bpc.h"
#include "lmzip/score/uncertainty.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cmath>

#include "lmzip/core/utf8.h"
#include "lmzip/io/file.h"
#include <filesystem>
#include "testutil/testutil.h"

namespace lmzip {
namespace {

// A tokenizer with one token per byte (ids 0..255) and BOS = 256, EOS = 257.
class ByteTokenizer : public Tokenizer {
 public:
  explicit ByteTokenizer(bool add_bos = true) : Tokenizer(make_vocab(add_bos)) {}
  std::vector<TokenId> encode(std::string_view text, const EncodeOptions& o) const override {
    std::vector<TokenId> ids;
    if (o.add_special && vocab_.add_bos) ids.push_back(256);
    for (unsigned char c : text) ids.push_back(c);
    return ids;
  }
  std::string decode(std::span<const TokenId> ids, bool) const override {
    std::string s;
    for (TokenId id : ids) if (id < 256) s += static_cast<char>(id);
    return s;
  }

 private:
  static Vocab make_vocab(bool add_bos) {
    Vocab v;
    v.model = "test-bytes";
    for (int i = 0; i < 258; ++i) v.tokens.push_back(std::to_string(i));
    v.bos = 256;
    v.eos = 257;
    v.add_bos = add_bos;
    return v;
  }
};

// A toy model whose -ln p depends on the target token and on the context length (position + 1), so any
// misalignment of windows, positions or targets changes the sums.
double toy_nll(uint32_t position, TokenId token) { return 0.5 + 0.001 * token + 0.0001 * position; }

WindowScorer toy_scorer(size_t* calls = nullptr) {
  return [calls](std::span<const TokenId>, std::span<const ScoreTarget> targets) {
    if (calls) ++*calls;
    std::vector<double> out;
    for (const auto& t : targets) out.push_back(toy_nll(t.position, t.token));
    return out;
  };
}

Corpus make_corpus(std::vector<std::string> docs) {
  Corpus c;
  c.path = "mem";
  c.name = "mem";
  c.documents = std::move(docs);
  c.sources.assign(c.documents.size(), "mem");
  return c;
}

TEST(Bpc, HkustSumsMatchTheProtocolDefinition) {
  Corpus c = make_corpus({std::string(300, 'a'), "xyz\xc3\xa9", std::string(250, 'b')});
  ByteTokenizer tok;
  ProtocolParams p{.protocol = Protocol::Hkust, .window = 100, .stride = 30};
  ScoringPlan plan = plan_scoring(c, tok, p, 2);
  const auto& s = plan.stream.tokens;
  ASSERT_EQ(s.size(), 301u + 6u + 251u);
  BpcResult r = run_scoring(plan, toy_scorer(), {});
  // Independent expectation: first window scores targets 1..100 at positions t-1; the window starting at
  // k*30 scores targets k*30+71 .. k*30+100 at positions t-k*30-1; windows while start+101 <= N.
  double want = 0;
  uint64_t n = 0;
  for (size_t t = 1; t <= 100; ++t, ++n) want += toy_nll(t - 1, s[t]);
  for (size_t start = 30; start + 101 <= s.size(); start += 30) {
    for (size_t t = start + 71; t <= start + 100; ++t, ++n) want += toy_nll(t - start - 1, s[t]);
  }
  EXPECT_EQ(r.scored_tokens, n);
  EXPECT_NEAR(r.total_nats, want, 1e-9);
  EXPECT_EQ(r.chars, 300u + 4u + 250u);
  EXPECT_EQ(r.bytes, 300u + 5u + 250u);
  EXPECT_EQ(r.documents, 3u);
  EXPECT_NEAR(r.bpc(), want / (554 * std::log(2.0)), 1e-12);
  EXPECT_NEAR(r.bpb(), want / (555 * std::log(2.0)), 1e-12);
  EXPECT_NEAR(r.ppl(), std::exp(want / double(n)), 1e-9);
  // Per-document attribution: the BOS of document 1 (stream index 301) belongs to document 1.
  double doc_sum = 0;
  uint64_t doc_tokens = 0;
  for (const auto& d : r.per_doc) {
    doc_sum += d.nats;
    doc_tokens += d.scored_tokens;
  }
  EXPECT_NEAR(doc_sum, want, 1e-9);
  EXPECT_EQ(doc_tokens, n);
  EXPECT_EQ(r.per_doc[0].scored_tokens, 300u);  // tokens 1..300 (token 0, its BOS, is never scored)
}

TEST(Bpc, DocProtocolScoresEveryTokenOnce) {
  Corpus c = make_corpus({std::string(57, 'a'), "q", std::string(9, 'z')});
  ByteTokenizer tok;
  ScoringPlan plan = plan_scoring(c, tok, {.protocol = Protocol::Doc, .window = 16, .stride = 5}, 1);
  BpcResult r = run_scoring(plan, toy_scorer(), {});
  EXPECT_EQ(r.scored_tokens, 57u + 1u + 9u);
  EXPECT_EQ(r.per_doc[0].scored_tokens, 57u);
  EXPECT_EQ(r.per_doc[1].scored_tokens, 1u);
  EXPECT_EQ(r.per_doc[2].scored_tokens, 9u);
}

TEST(Bpc, TooShortForOneWindowSaysWhatToDo) {
  Corpus c = make_corpus({"short text"});
  ByteTokenizer tok;
  try {
    plan_scoring(c, tok, default_params(Protocol::Hkust), 1);
    FAIL();
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("fewer than one hkust window of 1901 tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("--protocol doc"), std::string::npos) << m;
  }
}

TEST(Bpc, UncheatableSumsPerChunkWithBosAdded) {
  // "abcdef" and "xyz", chunk size 4, add_default_bos: chunks [a b c d] [e f] and [x y z], each read after BOS, so
  // a chunk's k-th token is predicted by output k (its context restarts at every chunk).
  Corpus c = make_corpus({"abcdef", "xyz"});
  ByteTokenizer tok;
  ProtocolParams p = default_params(Protocol::Uncheatable);
  p.window = p.stride = 4;
  ScoringPlan plan = plan_scoring(c, tok, p, 1);
  EXPECT_EQ(plan.stream.tokens.size(), 6u + 1u + 3u + 1u);
  EXPECT_EQ(plan.windows.size(), 3u);
  BpcResult r = run_scoring(plan, toy_scorer(), {});
  double doc0 = toy_nll(0, 'a') + toy_nll(1, 'b') + toy_nll(2, 'c') + toy_nll(3, 'd') + toy_nll(0, 'e') + toy_nll(1, 'f');
  double doc1 = toy_nll(0, 'x') + toy_nll(1, 'y') + toy_nll(2, 'z');
  EXPECT_EQ(r.scored_tokens, 9u);
  EXPECT_NEAR(r.per_doc[0].nats, doc0, 1e-12);
  EXPECT_NEAR(r.per_doc[1].nats, doc1, 1e-12);
  EXPECT_NEAR(r.total_nats, doc0 + doc1, 1e-12);
  // Uncheatable Eval's compression rate: mean NLL / mean bytes / ln 2 / 8 × 100 = total / total.
  EXPECT_NEAR(r.compression_rate(), (doc0 + doc1) / 2 / (9.0 / 2) / std::log(2.0) / 8 * 100, 1e-12);
  EXPECT_NEAR(r.compression_rate(), r.bpb() * 12.5, 1e-12);

  // replace_with_bos: BOS replaces each chunk's first token (a, e, x), which is not scored.
  p.bos_mode = BosMode::ReplaceBos;
  BpcResult rr = run_scoring(plan_scoring(c, tok, p, 1), toy_scorer(), {});
  EXPECT_EQ(rr.scored_tokens, 6u);
  EXPECT_NEAR(rr.per_doc[0].nats, toy_nll(0, 'b') + toy_nll(1, 'c') + toy_nll(2, 'd') + toy_nll(0, 'f'), 1e-12);
  EXPECT_NEAR(rr.per_doc[1].nats, toy_nll(0, 'y') + toy_nll(1, 'z'), 1e-12);
}

TEST(Bpc, UncheatableChunkStartTokens) {
  ByteTokenizer with_bos(true), without_bos(false);
  EXPECT_EQ(uncheatable_prefix(BosMode::AddBos, with_bos), 256);
  EXPECT_EQ(uncheatable_prefix(BosMode::ReplaceEos, with_bos), 257);
  // tokenizer.encode("\n")[0] with the default special tokens: BOS where the tokenizer adds BOS, else "\n".
  EXPECT_EQ(uncheatable_prefix(BosMode::AddNewline, with_bos), 256);
  EXPECT_EQ(uncheatable_prefix(BosMode::ReplaceNewline, without_bos), '\n');
  // The chunk-start token is what each document's stream begins with and what replaces chunk starts.
  ProtocolParams p = default_params(Protocol::Uncheatable);
  p.bos_mode = BosMode::AddNewline;
  ScoringPlan plan = plan_scoring(make_corpus({"hi"}), without_bos, p, 1);
  EXPECT_EQ(plan.stream.tokens, (std::vector<TokenId>{'\n', 'h', 'i'}));
}

// -ln p of a byte token in whole bits: 'a' 1, 'b' 3, the two bytes of "é" 2 and 0.
WindowScorer bits_scorer() {
  return [](std::span<const TokenId>, std::span<const ScoreTarget> targets) {
    std::vector<double> out;
    for (const auto& t : targets) {
      double bits = t.token == 'a' ? 1 : t.token == 'b' ? 3 : t.token == 0xC3 ? 2 : 0;
      out.push_back(bits * std::log(2.0));
    }
    return out;
  };
}

TEST(Bpc, StandardErrorsOverDocumentsByHand) {
  // Documents "a", "bb", "é" under doc (every token scored once): bits y = 1, 6, 2; chars x = 1, 2, 1;
  // bytes = scored tokens = 1, 2, 2.
  // BPC = 9/4 = 2.25; residuals y − 2.25·x = −1.25, 1.5, −0.25; Σ d² = 3.875;
  //   SE = sqrt(3/2 · 3.875) / 4 = sqrt(5.8125) / 4 = 0.60272817256...
  // BPB = 9/5 = 1.8; residuals −0.8, 2.4, −1.6; Σ d² = 8.96; SE = sqrt(3/2 · 8.96) / 5 = 0.73321211119...
  // bits/token = BPB here; PPL = 2^1.8 = 3.48220225318..., SE = PPL · ln 2 · 0.73321... = 1.76973843626...
  // compression rate = 1.8 / 8 × 100 = 22.5 %, SE = 12.5 · 0.73321... = 9.16515138991...
  Corpus c = make_corpus({"a", "bb", "\xc3\xa9"});
  ByteTokenizer tok;
  ScoringPlan plan = plan_scoring(c, tok, {.protocol = Protocol::Doc, .window = 16, .stride = 5}, 1);
  BpcResult r = run_scoring(plan, bits_scorer(), {});
  BpcUncertainty u = estimate_uncertainty(r.per_doc, {.resamples = 0});
  EXPECT_EQ(u.units, 3u);
  EXPECT_NEAR(u.bpc.value, 2.25, 1e-12);
  EXPECT_NEAR(u.bpc.value, r.bpc(), 1e-12);
  EXPECT_NEAR(u.bpc.se, 0.6027281725620597, 1e-12);
  EXPECT_NEAR(u.bpb.value, 1.8, 1e-12);
  EXPECT_NEAR(u.bpb.se, 0.7332121111929345, 1e-12);
  EXPECT_NEAR(u.bits_per_token.se, 0.7332121111929345, 1e-12);
  EXPECT_NEAR(u.ppl.value, 3.4822022531844965, 1e-12);
  EXPECT_NEAR(u.ppl.value, r.ppl(), 1e-12);
  EXPECT_NEAR(u.ppl.se, 1.7697384362567472, 1e-12);
  EXPECT_NEAR(u.compression_rate.value, 22.5, 1e-12);
  EXPECT_NEAR(u.compression_rate.se, 9.165151389911681, 1e-12);
  EXPECT_TRUE(std::isnan(u.bpc.ci.low));  // no resamples: no interval
}

TEST(Bpc, BootstrapIntervalOverTwoDocumentsByHand) {
  // Documents "a" (1 bit) and "b" (3 bits), one character and one token each. A resample of two documents has
  // BPC 1 (both "a", p = 1/4), 2 (one of each, 1/2) or 3 (1/4); with 1000 draws the 2.5% and 97.5% quantiles
  // lie deep inside the first and last of these runs: [1, 3]. PPL = 2^(bits/token): [2, 8]; compression rate
  // [12.5, 37.5] %. The SE: residuals −1, 1 → sqrt(2/1 · 2) / 2 = 1 bit.
  Corpus c = make_corpus({"a", "b"});
  ByteTokenizer tok;
  ScoringPlan plan = plan_scoring(c, tok, {.protocol = Protocol::Doc, .window = 16, .stride = 5}, 1);
  BpcResult r = run_scoring(plan, bits_scorer(), {});
  BpcUncertainty u = estimate_uncertainty(r.per_doc, {.resamples = 1000, .seed = 7});
  EXPECT_EQ(u.resamples, 1000);
  EXPECT_NEAR(u.bpc.se, 1.0, 1e-12);
  EXPECT_DOUBLE_EQ(u.bpc.ci.low, 1.0);
  EXPECT_DOUBLE_EQ(u.bpc.ci.high, 3.0);
  EXPECT_NEAR(u.ppl.ci.low, 2.0, 1e-12);
  EXPECT_NEAR(u.ppl.ci.high, 8.0, 1e-12);
  EXPECT_NEAR(u.compression_rate.ci.low, 12.5, 1e-12);
  EXPECT_NEAR(u.compression_rate.ci.high, 37.5, 1e-12);
  // Seeded: the same seed gives the same interval.
  Corpus c3 = make_corpus({"a", "bb", "\xc3\xa9", "ab", "ba"});
  BpcResult r3 = run_scoring(plan_scoring(c3, tok, {.protocol = Protocol::Doc, .window = 16, .stride = 5}, 1),
                             bits_scorer(), {});
  BpcUncertainty a = estimate_uncertainty(r3.per_doc, {.resamples = 500, .seed = 11});
  BpcUncertainty b = estimate_uncertainty(r3.per_doc, {.resamples = 500, .seed = 11});
  EXPECT_EQ(a.bpc.ci.low, b.bpc.ci.low);
  EXPECT_EQ(a.bpc.ci.high, b.bpc.ci.high);
  EXPECT_LT(a.bpc.ci.low, a.bpc.value);
  EXPECT_GT(a.bpc.ci.high, a.bpc.value);
  // One document (llama.cpp's joined text): no spread over documents.
  BpcUncertainty one = estimate_uncertainty({r.per_doc[0]}, {.resamples = 100});
  EXPECT_TRUE(std::isnan(one.bpc.se));
  EXPECT_TRUE(std::isnan(one.bpc.ci.low));
}

TEST(Bpc, CheckpointResumesToTheSameSumsAndRefusesOtherRuns) {
  Corpus c = make_corpus({std::string(2000, 'k'), std::string(900, 'm')});
  ByteTokenizer tok;
  ScoringPlan plan = plan_scoring(c, tok, {.protocol = Protocol::Hkust, .window = 100, .stride = 20}, 1);
  BpcResult full = run_scoring(plan, toy_scorer(), {});

  std::string ckpt = test::temp_dir() + "/bpc.ckpt";
  std::atomic<bool> cancel{false};
  size_t calls = 0;
  RunOptions o{.checkpoint_path = ckpt, .run_id = "model-A", .corpus_key = "c1", .checkpoint_every_seconds = 0};
  o.cancel = &cancel;
  o.on_progress = [&](const ScoringProgress& pr) {
    if (pr.windows_done == 37) cancel = true;  // as if Ctrl-C arrived during window 37
  };
  EXPECT_THROW(run_scoring(plan, toy_scorer(&calls), o), Interrupted);
  EXPECT_EQ(calls, 37u);
  ASSERT_TRUE(file_exists(ckpt));

  cancel = false;
  calls = 0;
  o.on_progress = nullptr;
  BpcResult resumed = run_scoring(plan, toy_scorer(&calls), o);
  EXPECT_EQ(calls, plan.windows.size() - 37);
  EXPECT_TRUE(resumed.resumed);
  EXPECT_EQ(resumed.scored_tokens, full.scored_tokens);
  // Rates use only the targets this process scored (the rest came from the checkpoint).
  EXPECT_EQ(full.scored_this_run, full.scored_tokens);
  uint64_t before_resume = 0;
  for (size_t w = 0; w < 37; ++w) before_resume += plan.windows[w].n_scored;
  EXPECT_EQ(resumed.scored_this_run, full.scored_tokens - before_resume);
  EXPECT_NEAR(resumed.total_nats, full.total_nats, 1e-9 * full.total_nats);
  for (size_t i = 0; i < full.per_doc.size(); ++i) {
    EXPECT_EQ(resumed.per_doc[i].scored_tokens, full.per_doc[i].scored_tokens);
  }

  RunOptions other = o;
  other.run_id = "model-B";
  try {
    run_scoring(plan, toy_scorer(), other);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("different model or different arguments"), std::string::npos);
  }
  write_file_atomic(ckpt, "garbage");
  EXPECT_THROW(run_scoring(plan, toy_scorer(), o), Error);
}

TEST(Corpus, ReadsJsonlTextAndDirectoriesWithClearErrors) {
  std::string dir = test::temp_dir();
  write_file_atomic(dir + "/c.jsonl", "{\"content\": \"one\"}\n\n{\"content\": \"\"}\n{\"content\": \"two\", \"x\": 1}\n");
  Corpus c = load_corpus(dir + "/c.jsonl");
  EXPECT_EQ(c.name, "c");
  EXPECT_EQ(c.documents, (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(c.empty_skipped, 1u);
  EXPECT_EQ(c.sources[1], dir + "/c.jsonl:4");
  EXPECT_EQ(c.sha256.size(), 64u);

  write_file_atomic(dir + "/bad.jsonl", "{\"content\": \"ok\"}\n{\"content\": oops}\n");
  try {
    load_corpus(dir + "/bad.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:2: not valid JSON"), std::string::npos) << e.what();
  }
  write_file_atomic(dir + "/nofield.jsonl", "{\"text\": \"ok\"}\n");
  EXPECT_THROW(load_corpus(dir + "/nofield.jsonl"), Error);
  EXPECT_EQ(load_corpus(dir + "/nofield.jsonl", {.field = "text"}).documents.size(), 1u);

  write_file_atomic(dir + "/latin1.jsonl", "{\"content\": \"ok\"}\n");
  write_file_atomic(dir + "/raw.txt", std::string("caf\xe9\n"));
  EXPECT_THROW(load_corpus(dir + "/raw.txt"), Error);
  EXPECT_THROW(load_corpus(dir + "/empty-nothing.jsonl"), Error);

  std::filesystem::create_directories(dir + "/tree/sub");
  write_file_atomic(dir + "/tree/b.txt", "bee");
  write_file_atomic(dir + "/tree/a.txt", "ay");
  write_file_atomic(dir + "/tree/sub/c.txt", "sea");
  Corpus t = load_corpus(dir + "/tree");
  EXPECT_EQ(t.documents, (std::vector<std::string>{"ay", "bee", "sea"}));
  EXPECT_EQ(t.name, "tree");
}

// Issue 18 items 13 and 15: JSONL errors name FILE:LINE (a number overflow too), a line that is not UTF-8 is
// skipped with skip_invalid_utf8 and an error naming FILE:LINE without it, and inputs that never end are refused.
std::string load_error(const std::string& path, const CorpusOptions& o = {}) {
  try {
    load_corpus(path, o);
  } catch (const Error& e) {
    return e.what();
  }
  return "(loaded)";
}

TEST(Corpus, JsonlErrorsNameFileAndLine) {
  const std::string dir = test::temp_dir();
  write_file_atomic(dir + "/big.jsonl", "{\"content\": \"ok\"}\n{\"content\": \"x\", \"n\": 1e999}\n");
  std::string m = load_error(dir + "/big.jsonl");
  EXPECT_NE(m.find("big.jsonl:2: not valid JSON at column "), std::string::npos) << m;
  EXPECT_NE(m.find("number overflow"), std::string::npos) << m;

  // Latin-1 inside a JSON string: used to be "not valid JSON" even with skip_invalid_utf8.
  write_file_atomic(dir + "/latin1.jsonl", "{\"content\": \"ok\"}\n{\"content\": \"caf\xe9\"}\n{\"content\": \"two\"}\n");
  m = load_error(dir + "/latin1.jsonl");
  EXPECT_NE(m.find("latin1.jsonl:2: not valid UTF-8 (first bad byte at column 17)"), std::string::npos) << m;
  EXPECT_NE(m.find("--skip-invalid"), std::string::npos) << m;
  Corpus c = load_corpus(dir + "/latin1.jsonl", {.skip_invalid_utf8 = true});
  EXPECT_EQ(c.documents, (std::vector<std::string>{"ok", "two"}));
  EXPECT_EQ(c.invalid_skipped, 1u);

  write_file_atomic(dir + "/long.jsonl", "{\"content\": \"ok\"}\n{\"content\": \"" + std::string(200, 'a') + "\"}\n");
  m = load_error(dir + "/long.jsonl", {.max_line_bytes = 100});
  EXPECT_NE(m.find("long.jsonl:2: line longer than 100 bytes"), std::string::npos) << m;
  EXPECT_EQ(load_corpus(dir + "/long.jsonl").documents.size(), 2u);
}

TEST(Corpus, DevicesAndFifosAreRefusedAtOnce) {
  EXPECT_NE(load_error("/dev/zero").find("/dev/zero: not a regular file"), std::string::npos);
  const std::string fifo = test::temp_dir() + "/corpus.jsonl";
  ::unlink(fifo.c_str());
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  // Opening it would block until a writer came.
  EXPECT_NE(load_error(fifo).find("corpus.jsonl: not a regular file"), std::string::npos);
  ::unlink(fifo.c_str());
}

TEST(Corpus, ZooCorpusCountsMatchReference) {
  LMZIP_REQUIRE_SHARED("zoo/corpora/cc.testA.jsonl");
  Corpus c = load_corpus(test::shared_dir() + "/zoo/corpora/cc.testA.jsonl");
  // ../shared/zoo/reference.json: 11 documents, 102418 characters, 102679 bytes.
  uint64_t chars = 0, bytes = 0;
  for (const auto& d : c.documents) {
    chars += count_code_points(d);
    bytes += d.size();
  }
  EXPECT_EQ(c.documents.size(), 11u);
  EXPECT_EQ(chars, 102418u);
  EXPECT_EQ(bytes, 102679u);
}

}  // namespace
}  // namespace lmzip
