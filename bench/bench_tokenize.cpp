// bench_tokenize: single-thread encode throughput (MB of input text per second) of the tokenizers on English
// prose and on Python code.
//   Texts: the `content` fields of ../shared/zoo/corpora/cc.testA.jsonl (prose, ~100 KB) and python.testA.jsonl
//   (code, ~120 KB), each document encoded separately without BOS/EOS, as lmzip bpc does.
//   Tokenizers: ../shared/vocab/ggml-vocab-{llama-spm,qwen2,gemma-4}.gguf (and any given with --vocab NAME=PATH).
//   Each measurement is the median of --runs passes over the whole corpus; both wall time and the thread's CPU
//   time are reported (on a shared machine wall time also measures the other jobs).
// Usage: bench_tokenize [--shared DIR] [--runs N] [--vocab NAME=PATH ...]
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lmzip/core/error.h"
#include "lmzip/format/gguf.h"
#include "lmzip/tok/tokenizer.h"

namespace lmzip {
namespace {

double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double wall_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

struct Corpus {
  std::string name;
  std::vector<std::string> docs;
  size_t bytes = 0;
};

Corpus read_corpus(const std::string& name, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open (pass --shared DIR, the directory holding zoo/ and vocab/)");
  Corpus c;
  c.name = name;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    c.docs.push_back(nlohmann::json::parse(line).at("content").get<std::string>());
    c.bytes += c.docs.back().size();
  }
  return c;
}

struct Result {
  double wall_mbps, cpu_mbps;
  size_t tokens;
};

Result measure(const Tokenizer& tok, const Corpus& corpus, int runs) {
  std::vector<double> wall, cpu;
  size_t tokens = 0;
  for (int r = 0; r < runs; ++r) {
    tokens = 0;
    const double w0 = wall_seconds(), c0 = thread_cpu_seconds();
    for (const std::string& doc : corpus.docs) tokens += tok.encode(doc, {.add_special = false}).size();
    wall.push_back(wall_seconds() - w0);
    cpu.push_back(thread_cpu_seconds() - c0);
  }
  const double mb = static_cast<double>(corpus.bytes) / 1e6;
  return {mb / median(wall), mb / median(cpu), tokens};
}

int run(int argc, char** argv) {
  std::string shared = "../shared";
  int runs = 7;
  std::vector<std::pair<std::string, std::string>> vocabs;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw Error(arg + " needs a value");
      return argv[++i];
    };
    if (arg == "--shared") {
      shared = value();
    } else if (arg == "--runs") {
      runs = std::max(1, std::stoi(value()));
    } else if (arg == "--vocab") {
      const std::string v = value();
      const size_t eq = v.find('=');
      if (eq == std::string::npos) throw Error("--vocab expects NAME=PATH, got " + v);
      vocabs.emplace_back(v.substr(0, eq), v.substr(eq + 1));
    } else {
      throw Error("unknown argument " + arg + " (usage: bench_tokenize [--shared DIR] [--runs N] [--vocab NAME=PATH])");
    }
  }
  if (vocabs.empty()) {
    for (const char* name : {"llama-spm", "qwen2", "gemma-4"}) {
      vocabs.emplace_back(name, shared + "/vocab/ggml-vocab-" + name + ".gguf");
    }
  }
  const Corpus corpora[] = {read_corpus("prose (cc.testA)", shared + "/zoo/corpora/cc.testA.jsonl"),
                            read_corpus("code (python.testA)", shared + "/zoo/corpora/python.testA.jsonl")};

  std::printf("single-thread encode, median of %d runs; MB = 10^6 bytes of input text\n\n", runs);
  std::printf("%-12s %-8s %-20s %10s %10s %9s %12s %12s\n", "vocab", "model", "text", "bytes", "tokens", "B/token",
              "MB/s (wall)", "MB/s (cpu)");
  for (const auto& [name, path] : vocabs) {
    std::unique_ptr<Tokenizer> tok;
    std::string model = "?";
    try {
      GgufFile file = GgufFile::open(path);
      tok = Tokenizer::from_gguf(file);
      model = tok->vocab().model;
    } catch (const Error& e) {
      std::printf("%-12s %s\n", name.c_str(), (std::string("skipped: ") + e.what()).c_str());
      continue;
    }
    for (const Corpus& c : corpora) {
      const Result r = measure(*tok, c, runs);
      std::printf("%-12s %-8s %-20s %10zu %10zu %9.2f %12.2f %12.2f\n", name.c_str(), model.c_str(), c.name.c_str(),
                  c.bytes, r.tokens, static_cast<double>(c.bytes) / static_cast<double>(r.tokens), r.wall_mbps,
                  r.cpu_mbps);
    }
  }
  return 0;
}

}  // namespace
}  // namespace lmzip

int main(int argc, char** argv) {
  try {
    return lmzip::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_tokenize: %s\n", e.what());
    return 1;
  }
}
