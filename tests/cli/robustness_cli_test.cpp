// Outputs that never clobber what they should not, bounded work, one rule for numeric arguments, and errors
// that say where (docs/SECURITY.md): each case failed before its fix.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "lmzip/format/gguf.h"
#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

const std::string kModel = "models/zoo-m2-F16.gguf";

std::string make_dir(const std::string& name) {
  const std::string dir = test::temp_dir() + "/" + name;
  ::mkdir(dir.c_str(), 0755);
  return dir;
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

TEST(Outputs, CompressNeverWritesOntoItsInputAndOverwritesOnlyWithForce) {
  const std::string dir = make_dir("clobber");
  write(dir + "/f", "some text to keep\n");
  test::CliResult r = test::run_lmzip("compress -m " + kModel + " " + dir + "/f -o " + dir + "/f");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("is the input file"), std::string::npos) << r.err;
  EXPECT_EQ(read_file(dir + "/f"), "some text to keep\n");
  // Even with --force, and through another name for the same file.
  ASSERT_EQ(::link((dir + "/f").c_str(), (dir + "/g").c_str()), 0);
  r = test::run_lmzip("compress --force -m " + kModel + " " + dir + "/f -o " + dir + "/g");
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_EQ(read_file(dir + "/f"), "some text to keep\n");

  ASSERT_EQ(test::run_lmzip("compress -m " + kModel + " " + dir + "/f").rc, 0);
  r = test::run_lmzip("compress -m " + kModel + " " + dir + "/f");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("already exists; use --force"), std::string::npos) << r.err;
  EXPECT_EQ(test::run_lmzip("compress --force -m " + kModel + " " + dir + "/f").rc, 0);
  // decompress f.lmz would replace f: refused without --force.
  r = test::run_lmzip("decompress -m " + kModel + " " + dir + "/f.lmz");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find(dir + "/f: already exists"), std::string::npos) << r.err;
  r = test::run_lmzip("decompress --force -m " + kModel + " " + dir + "/f.lmz");
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(read_file(dir + "/f"), "some text to keep\n");
}

TEST(Outputs, DevicesAndSymlinksAreWrittenThroughNotReplaced) {
  const std::string dir = make_dir("devices");
  write(dir + "/f", "hello\n");
  test::CliResult r = test::run_lmzip("compress -m " + kModel + " " + dir + "/f -o /dev/null");
  ASSERT_EQ(r.rc, 0) << r.err;
  struct stat st;
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode)) << "/dev/null was replaced";
  ASSERT_EQ(::symlink("real.lmz", (dir + "/link.lmz").c_str()), 0);
  ASSERT_EQ(test::run_lmzip("compress -m " + kModel + " " + dir + "/f -o " + dir + "/link.lmz").rc, 0);
  ASSERT_EQ(::lstat((dir + "/link.lmz").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_GT(file_size(dir + "/real.lmz"), 0u);
}

TEST(Outputs, NanBpcIsAnErrorAfterTheResultIsPrinted) {
  // A model whose final norm is NaN: every log-probability is NaN.
  const std::string dir = make_dir("nan");
  const std::string good = dir + "/tiny.gguf", bad = dir + "/nan.gguf";
  ASSERT_EQ(test::run_lmzip("synth --arch llama -o " + good).rc, 0);
  std::string bytes = read_file(good);
  {
    GgufFile f = GgufFile::open(good);
    const GgufTensorInfo* t = f.find_tensor("output_norm.weight");
    ASSERT_NE(t, nullptr);
    const size_t offset = static_cast<size_t>(t->data - f.file_data());
    const float nan = std::nanf("");
    for (uint64_t i = 0; i < t->n_elements; ++i) std::memcpy(&bytes[offset + 4 * i], &nan, 4);
  }
  write(bad, bytes);
  write(dir + "/text.txt", "a few words of text to score\n");
  test::CliResult r = test::run_lmzip("bpc --json --protocol doc --db " + dir + "/store.sqlite -m " + bad + " " +
                                          dir + "/text.txt");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("not a finite number"), std::string::npos) << r.err;
  const auto j = nlohmann::json::parse(r.out);  // still printed, still valid JSON
  EXPECT_TRUE(j["bpc"].is_null());
}

TEST(Outputs, FileNamesThatAreNotUtf8KeepTheStoreAndJsonValid) {
  const std::string dir = make_dir("names");
  const std::string corpus = dir + "/caf\xe9.txt";  // Latin-1 bytes, not UTF-8
  write(corpus, "a few words of text to score\n");
  const std::string db = dir + "/store.sqlite";
  test::CliResult r = test::run_lmzip("bpc --json --protocol doc --db " + db + " -m " + kModel + " '" + corpus + "'");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["corpus_path"], dir + "/caf\\xE9.txt");
  r = test::run_lmzip("results list --json --db " + db);
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("caf\\\\xE9"), std::string::npos) << r.out;  // the JSON text holds caf\\xE9
}

TEST(BoundedWork, OneTokenSegmentsTerminate) {
  const std::string dir = make_dir("tiny-budget");
  write(dir + "/h", "a\nb");
  test::CliResult r = test::run_lmzip("compress --segment-tokens 1 -t 1 -m " + kModel + " " + dir + "/h");
  ASSERT_EQ(r.rc, 0) << r.err;
  r = test::run_lmzip("decompress --force -m " + kModel + " " + dir + "/h.lmz");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(read_file(dir + "/h"), "a\nb");
}

TEST(BoundedWork, EndlessInputsAndFifoModelsAreRefusedAtOnce) {
  test::CliResult r = test::run_lmzip("decompress -m " + kModel + " /dev/zero -o /dev/null");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("/dev/zero: is a device, not a file"), std::string::npos) << r.err;
  r = test::run_lmzip("compress -m " + kModel + " /dev/zero -o /dev/null");
  EXPECT_NE(r.err.find("is a device"), std::string::npos) << r.err;
  // A stream that is not .lmz is refused after its first 8 bytes, not after reading it all.
  std::string out, err;
  const int rc = test::run_command("timeout 20 sh -c 'cat /dev/zero | " + test::lmzip_bin() + " decompress -m " +
                                       kModel + " - -o /dev/null'", &out, &err);
  EXPECT_EQ(rc, 1) << err;
  EXPECT_NE(err.find("<stdin>: not an .lmz file (bad magic bytes)"), std::string::npos) << err;
  // A FIFO as the model: an error naming it, at once (it used to block, then report a wrong "missing magic").
  const std::string fifo = make_dir("fifo") + "/model.gguf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  r = test::run_lmzip("bpc --no-db -m " + fifo + " data/cc.testA.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("is not a regular file"), std::string::npos) << r.err;
}

TEST(BoundedWork, CorpusReadersRefuseDevicesAndFifos) {
  // corpus stats read /dev/zero forever; bpc waited on a FIFO; corpus build left them out silently.
  const std::string fifo = make_dir("corpus-fifo") + "/c.jsonl";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string out = make_dir("corpus-fifo") + "/out.jsonl";
  for (const std::string& input : {std::string("/dev/zero"), fifo}) {
    for (const std::string& cmd : {"timeout 20 " + test::lmzip_bin() + " corpus stats " + input,
                                   "timeout 20 " + test::lmzip_bin() + " corpus build -o " + out + " " + input,
                                   "timeout 20 " + test::lmzip_bin() + " bpc --no-db -m " + kModel + " " + input}) {
      std::string o, err;
      EXPECT_EQ(test::run_command(cmd, &o, &err), 1) << cmd << ": " << err;
      EXPECT_NE(err.find(input + ": not a regular file"), std::string::npos) << cmd << ": " << err;
    }
  }
}

TEST(Errors, JsonErrorsNameFileLineAndColumn) {
  const std::string dir = make_dir("json-errors");
  write(dir + "/overflow.jsonl", "{\"content\": \"fine\"}\n{\"text\": \"x\", \"n\": 1e999}\n");
  // It said "[json.exception.out_of_range.406] number overflow parsing '1e999'", naming no file.
  test::CliResult r = test::run_lmzip("corpus stats " + dir + "/overflow.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("overflow.jsonl:2: not valid JSON at column "), std::string::npos) << r.err;
  r = test::run_lmzip("bpc --no-db --protocol doc -m " + kModel + " " + dir + "/overflow.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("overflow.jsonl:2: not valid JSON at column "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("json.exception"), std::string::npos) << r.err;
  write(dir + "/task.json", "{\n  \"name\": \"x\",\n  \"num_fewshot\": 1e999\n}\n");
  r = test::run_lmzip("eval --no-db -m " + kModel + " --task-file " + dir + "/task.json --data " + dir +
                      "/overflow.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("task.json:3: not valid JSON at column "), std::string::npos) << r.err;

  // corpus stats said "not a JSON object" for every syntax error; now only for JSON that is not an object.
  write(dir + "/syntax.jsonl", "{\"content\": \"a\"}\n{\"content\": \"b\",}\n");
  r = test::run_lmzip("corpus stats " + dir + "/syntax.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("syntax.jsonl:2: not valid JSON at column "), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("not a JSON object"), std::string::npos) << r.err;
}

TEST(Errors, QuotedInputIsEscapedOnTheTerminal) {
  const std::string dir = make_dir("escapes");
  // A Latin-1 byte and an ANSI "clear screen" inside a bad line, a field name from the command line.
  write(dir + "/bad.jsonl", "{\"content\": \"caf\xe9\x1b[2J\" oops}\n");
  test::CliResult r = test::run_lmzip("corpus stats " + dir + "/bad.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err.find('\xe9'), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("bad.jsonl:1: not valid JSON"), std::string::npos) << r.err;
  write(dir + "/ok.jsonl", "{\"content\": \"a\"}\n");
  r = test::run_lmzip("corpus stats --text-field \"$(printf 't\\033[2J\\377')\" " + dir + "/ok.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("t\\x1B[2J\\xFF"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
}

TEST(Errors, SkipInvalidSkipsLinesThatAreNotUtf8) {
  const std::string dir = make_dir("skip-invalid");
  write(dir + "/mixed.jsonl", "{\"content\": \"a few words of text\"}\n{\"content\": \"caf\xe9\"}\n"
                              "{\"content\": \"more words to score\"}\n");
  // Without --skip-invalid: an error naming FILE:LINE (it was "not valid JSON", and with --skip-invalid too).
  test::CliResult r = test::run_lmzip("bpc --no-db --protocol doc -m " + kModel + " " + dir + "/mixed.jsonl");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("mixed.jsonl:2: not valid UTF-8"), std::string::npos) << r.err;
  r = test::run_lmzip("bpc --no-db --json --skip-invalid --protocol doc -m " + kModel + " " + dir + "/mixed.jsonl");
  ASSERT_EQ(r.rc, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["skipped_invalid"], 1);
  EXPECT_EQ(j["documents"], 2);
}

TEST(BoundedWork, ThreadCountIsCappedWithAWarning) {
  const test::CliResult r = test::run_lmzip("bpc --no-db -t 100000 -m " + kModel + " data/cc.testA.jsonl --protocol "
                                            "llama.cpp --window 64 --max-chunks 1");
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.err.find("-t 100000 is more than 4 threads per hardware thread"), std::string::npos) << r.err;
}

TEST(Arguments, NegativeNumbersAreRefusedWithTheOptionNamed) {
  for (const char* args : {"bpc --no-db --window -5", "bpc --no-db --stride -1", "bpc --no-db -t -1",
                           "compress --segment-tokens -3"}) {
    const test::CliResult r = test::run_lmzip(std::string(args) + " -m " + kModel + " data/cc.testA.jsonl");
    EXPECT_EQ(r.rc, 2) << args;
    EXPECT_NE(r.err.find("must not be negative"), std::string::npos) << args << ": " << r.err;
  }
}

TEST(Arguments, MeaninglessOrConflictingOptionsAreRefused) {
  const std::string bpc = "bpc -m " + kModel + " data/cc.testA.jsonl ";
  test::CliResult r = test::run_lmzip(bpc + "--db /tmp/x.sqlite --no-db");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--db and --no-db contradict"), std::string::npos) << r.err;
  const std::string eval = "eval --no-db -m " + kModel + " --data tests/eval/fixtures/arc/ARC-Challenge-Test.jsonl ";
  r = test::run_lmzip(eval + "--task arc_challenge --limit 0");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--limit 0 evaluates nothing"), std::string::npos) << r.err;
  r = test::run_lmzip(eval + "--task arc_challenge --task-file tasks/x.json");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--task or --task-file, not both"), std::string::npos) << r.err;
  r = test::run_lmzip(eval + "--task arc_challenge --shots -1");
  EXPECT_EQ(r.rc, 2);
  EXPECT_NE(r.err.find("--shots must not be negative"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace lmzip
