// `lmzip corpus` end to end: the three presets on inputs the test writes, stats, overlap, merge, bad flags.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

void write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

int lmzip(const std::string& args, std::string* out, std::string* err = nullptr) {
  return test::run_command(test::lmzip_bin() + " " + args, out, err);
}

std::string english(int sentences, int seed) {
  static const char* kS[] = {"The committee met on Tuesday to discuss the budget of the public library.",
                             "Most members agreed that the reading rooms should stay open later in winter.",
                             "A local teacher said that children need a quiet place to study after school.",
                             "The mayor promised to find the money before the end of the year.",
                             "Several residents wrote letters to the newspaper in support of the plan.",
                             "Critics argued that the town has other priorities, such as roads and bridges."};
  std::string s;
  for (int i = 0; i < sentences; ++i) s += std::string(kS[(i * 7 + seed * 3 + i / 6 * seed) % 6]) + " Item " +
                                           std::to_string(seed * 1000 + i) + ".\n";
  return s;
}

TEST(CorpusCli, CcPresetFromAWetFile) {
  std::string dir = test::temp_dir() + "/cc";
  std::string wet;
  for (int i = 0; i < 6; ++i) {
    std::string body = i == 5 ? std::string("Kurzer deutscher Text über die Bibliothek und ihre Öffnungszeiten im Winter. ") + 
                                    std::string(400, 'x')
                              : english(12, i);
    wet += "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: https://e" + std::to_string(i) +
           ".example/\r\nWARC-Date: 2023-10-0" + std::to_string(i + 1) + "T00:00:00Z\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body + "\r\n\r\n";
  }
  write(dir + "/seg.warc.wet", wet);
  ASSERT_EQ(0, test::run_command("gzip " + dir + "/seg.warc.wet", nullptr));
  std::string out, err;
  ASSERT_EQ(0, lmzip("corpus build --preset cc --after 2023-10-02 -q -o " + dir + "/cc.jsonl " + dir +
                         "/seg.warc.wet.gz --json", &out, &err)) << err;
  auto m = nlohmann::json::parse(out);
  EXPECT_EQ(m["counts"]["read"], 6);
  EXPECT_EQ(m["counts"]["filtered"]["date_too_old"], 1);
  EXPECT_EQ(m["counts"]["filtered"]["language"], 1);  // the German/garbage page
  // Pages 1-4 are the same six sentences ending in "Item NNNN.", which CCNet's normalisation makes one line
  // each (digits -> 0): page 1 keeps its first 6 lines (its last 6 repeat them), pages 2-4 lose all 12.
  EXPECT_EQ(m["counts"]["paragraphs"]["seen"], 4 * 12 + 1);  // + the German page's one line; page 0, too old, is not hashed
  EXPECT_EQ(m["counts"]["paragraphs"]["removed"], 6 + 3 * 12);
  EXPECT_EQ(m["counts"]["paragraph_duplicates"], 3);
  EXPECT_EQ(m["counts"]["written"], 1);
  EXPECT_EQ(m["parameters"]["preset"], "cc");
  EXPECT_EQ(m["parameters"]["filters"]["language"], "en");
  EXPECT_EQ(m["parameters"]["paragraph_dedup"]["enabled"], true);
  EXPECT_TRUE(std::filesystem::exists(dir + "/cc.manifest.json"));
  ASSERT_EQ(0, lmzip("corpus stats --json " + dir + "/cc.jsonl", &out));
  auto s = nlohmann::json::parse(out);
  EXPECT_EQ(s["documents"], 1);
  EXPECT_EQ(s["subsets"]["cc"]["documents"], 1);
  std::string page1 = english(12, 1);
  size_t line7 = 0;
  for (int i = 0; i < 6; ++i) line7 = page1.find('\n', line7) + 1;
  std::string first_six = page1.substr(0, line7 - 1);  // without the '\n' before line 7
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/cc.jsonl"))["content"], first_six);
  // Without paragraph dedup the four pages are distinct documents (exact and MinHash dedup keep them all).
  ASSERT_EQ(0, lmzip("corpus build --preset cc --no-paragraph-dedup --after 2023-10-02 -q --json -o " + dir +
                         "/whole.jsonl " + dir + "/seg.warc.wet.gz", &out, &err)) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["counts"]["written"], 4);
  // As CCNet's mine.py: every line is in two or more pages, so no copy stays and all four pages go.
  ASSERT_EQ(0, lmzip("corpus build --preset cc --paragraph-all-copies --after 2023-10-02 -q --json -o " + dir +
                         "/all.jsonl " + dir + "/seg.warc.wet.gz", &out, &err)) << err;
  auto all = nlohmann::json::parse(out);
  EXPECT_EQ(all["counts"]["paragraph_duplicates"], 4);
  EXPECT_EQ(all["counts"]["written"], 0);
  EXPECT_EQ(all["parameters"]["paragraph_dedup"]["all_copies"], true);
}

// Paragraph hashes written by one build count as seen in the next; a damaged hash file or hashes without
// paragraph dedup are errors that name the problem, with nothing written.
TEST(CorpusCli, ParagraphHashesCarryOverBetweenBuilds) {
  std::string dir = test::temp_dir() + "/hashes";
  write(dir + "/a.jsonl", nlohmann::json({{"text", english(8, 1)}}).dump() + "\n");
  write(dir + "/b.jsonl", nlohmann::json({{"text", english(8, 1) + "A brand new closing line for page b.\n"}}).dump() +
                              "\n");
  std::string out, err;
  std::string common = "corpus build --paragraph-dedup --min-chars 20 -q --json ";
  ASSERT_EQ(0, lmzip(common + "--write-paragraph-hashes " + dir + "/a.hashes -o " + dir + "/a.out.jsonl " + dir +
                         "/a.jsonl", &out, &err)) << err;
  // english(8, 1): 8 lines, 6 distinct once digits are zeroed.
  EXPECT_EQ(slurp(dir + "/a.hashes").size(), 16u + 8 * 6);
  ASSERT_EQ(0, lmzip(common + "--paragraph-hashes " + dir + "/a.hashes -o " + dir + "/b.out.jsonl " + dir +
                         "/b.jsonl", &out, &err)) << err;
  auto m = nlohmann::json::parse(out);
  EXPECT_EQ(m["counts"]["paragraphs"]["reference_hashes"], 6);
  EXPECT_EQ(m["counts"]["paragraphs"]["removed"], 8);
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/b.out.jsonl"))["content"], "A brand new closing line for page b.\n");
  EXPECT_EQ(1, lmzip(common + "--paragraph-hashes " + dir + "/a.jsonl -o " + dir + "/c.jsonl " + dir + "/b.jsonl",
                     &out, &err));
  EXPECT_NE(err.find(dir + "/a.jsonl: not a paragraph hash file"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/c.jsonl"));
  EXPECT_EQ(2, lmzip("corpus build --paragraph-hashes " + dir + "/a.hashes -q -o " + dir + "/c.jsonl " + dir +
                         "/b.jsonl", &out, &err));
  EXPECT_NE(err.find("need paragraph dedup"), std::string::npos) << err;
}

// WARC responses with chunked transfer coding (extensions, trailer) and gzip content coding: the text has no
// chunk-size lines; a record whose chunk framing breaks is counted in the manifest, with where it was.
TEST(CorpusCli, ChunkedAndGzippedWarcResponses) {
  std::string dir = test::temp_dir() + "/chunked";
  auto chunked = [](const std::string& data) {
    std::string out;
    char size[16];
    for (size_t i = 0; i < data.size(); i += 100) {
      std::string piece = data.substr(i, 100);
      std::snprintf(size, sizeof size, "%zX", piece.size());
      out += std::string(size) + ";n=" + std::to_string(i) + "\r\n" + piece + "\r\n";
    }
    return out + "0\r\nX-Trailer: 1\r\n\r\n";
  };
  auto record = [](const std::string& uri, const std::string& headers, const std::string& body) {
    std::string block = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + headers + "\r\n" + body;
    return "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: " + uri +
           "\r\nWARC-Date: 2023-10-05T00:00:00Z\r\nContent-Length: " + std::to_string(block.size()) + "\r\n\r\n" +
           block + "\r\n\r\n";
  };
  std::string page = "<html><body><p>" + english(12, 1) + "</p></body></html>";
  write(dir + "/page.html", "<html><body><p>" + english(12, 2) + "</p></body></html>");
  ASSERT_EQ(0, test::run_command("gzip -n " + dir + "/page.html", nullptr));
  std::string gz = slurp(dir + "/page.html.gz");
  write(dir + "/crawl.warc",
        record("https://a.example/", "Transfer-Encoding: chunked\r\n", chunked(page)) +
            record("https://b.example/", "Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", chunked(gz)) +
            record("https://c.example/", "Transfer-Encoding: chunked\r\n", "10\r\n<html><body><p>x\r\nzz\r\n0\r\n\r\n"));
  std::string out, err;
  ASSERT_EQ(0, lmzip("corpus build --preset cc --lang none --no-gopher -q -o " + dir + "/out.jsonl " + dir +
                         "/crawl.warc --json", &out, &err)) << err;
  auto m = nlohmann::json::parse(out);
  EXPECT_EQ(m["counts"]["read"], 3);
  EXPECT_EQ(m["counts"]["written"], 2);
  EXPECT_EQ(m["counts"]["skipped"]["malformed_chunked"], 1);
  EXPECT_EQ(m["skip_examples"][0]["where"], dir + "/crawl.warc record 3");
  std::string jsonl = slurp(dir + "/out.jsonl");
  auto first = nlohmann::json::parse(jsonl.substr(0, jsonl.find('\n')));
  std::string text = english(12, 1);  // the page's text: its line breaks inside <p> collapse to spaces
  for (auto& c : text) if (c == '\n') c = ' ';
  while (!text.empty() && text.back() == ' ') text.pop_back();
  EXPECT_EQ(first["content"], text);
  EXPECT_EQ(jsonl.find(";n="), std::string::npos);
  EXPECT_NE(jsonl.find("Item 2000."), std::string::npos);  // the gzipped page's text
}

TEST(CorpusCli, PythonPresetSamplesWholeRepositories) {
  std::string dir = test::temp_dir() + "/py";
  for (int r = 0; r < 4; ++r) {
    for (int f = 0; f < 3; ++f) {
      std::string code = "import os\n\n\ndef f" + std::to_string(f) + "(path):\n";
      for (int k = 0; k < 6; ++k) code += "    v" + std::to_string(k) + " = os.path.join(path, 'r" + std::to_string(r) + "_" + std::to_string(k) + "')\n";
      code += "    for name in os.listdir(path):\n        print(name, v0)\n    return v5\n";
      write(dir + "/repos/repo" + std::to_string(r) + "/pkg/mod" + std::to_string(f) + ".py", code);
    }
  }
  write(dir + "/repos/repo0/pkg/gen_pb2.py", "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n# autogenerated\nx = 1\n");
  write(dir + "/repos/repo0/README.md", "not python\n");
  std::string out, err;
  ASSERT_EQ(0, lmzip("corpus build --preset python --target-chars 1000 --seed 1 -q --json -o " + dir +
                         "/py.jsonl.zst " + dir + "/repos", &out, &err)) << err;
  auto m = nlohmann::json::parse(out);
  EXPECT_EQ(m["counts"]["read"], 13);
  EXPECT_EQ(m["counts"]["filtered"]["code_autogenerated"], 1);
  EXPECT_EQ(m["parameters"]["sampling"]["unit"], "repository");
  // 12 files, 3 per repository; near-identical files across repositories are MinHash duplicates or not, but
  // whatever is written comes in whole repositories.
  ASSERT_EQ(0, test::run_command("zstd -dcq " + dir + "/py.jsonl.zst > " + dir + "/py.jsonl", nullptr));
  std::map<std::string, int> per_repo;
  std::istringstream lines(slurp(dir + "/py.jsonl"));
  for (std::string line; std::getline(lines, line);) {
    per_repo[nlohmann::json::parse(line)["meta"]["repo"].get<std::string>()] += 1;
  }
  int written = m["counts"]["written"];
  EXPECT_GT(written, 0);
  int total = 0;
  for (auto& [repo, n] : per_repo) total += n;
  EXPECT_EQ(total, written);
  // Same seed, same bytes.
  ASSERT_EQ(0, lmzip("corpus build --preset python --target-chars 1000 --seed 1 -q -o " + dir + "/py2.jsonl.zst " +
                         dir + "/repos", &out));
  EXPECT_EQ(slurp(dir + "/py.jsonl.zst"), slurp(dir + "/py2.jsonl.zst"));
}

TEST(CorpusCli, ArxivMathPresetFindsMainTexAndFiltersCategories) {
  std::string dir = test::temp_dir() + "/ax";
  std::string body;
  for (int i = 0; i < 40; ++i) body += "Let $x_" + std::to_string(i) + " \\in \\mathbb{R}$ be a real number. ";
  for (std::string id : {"2310.00001", "2310.00002"}) {
    write(dir + "/src/" + id + "/main.tex", "\\documentclass{article}\n\\begin{document}\n\\section{Intro}\n" +
                                               body + id + "\n\\input{extra}\n\\end{document}\n");
    write(dir + "/src/" + id + "/extra.tex", "\\begin{equation}e^{i\\pi}+1=0\\end{equation}\n");
    ASSERT_EQ(0, test::run_command("tar czf " + dir + "/" + id + ".tar.gz -C " + dir + "/src/" + id + " .", nullptr));
  }
  write(dir + "/meta.jsonl", "{\"id\": \"2310.00001\", \"categories\": \"math.NT cs.LG\"}\n"
                             "{\"id\": \"2310.00002\", \"categories\": \"cs.LG math.NT\"}\n");
  std::string out, err;
  ASSERT_EQ(0, lmzip("corpus build --preset arxiv-math --arxiv-metadata " + dir + "/meta.jsonl -q --json -o " + dir +
                         "/ax.jsonl " + dir + "/2310.00001.tar.gz " + dir + "/2310.00002.tar.gz", &out, &err)) << err;
  auto m = nlohmann::json::parse(out);
  EXPECT_EQ(m["counts"]["read"], 2);
  EXPECT_EQ(m["counts"]["filtered"]["category"], 1);  // cs.LG first
  EXPECT_EQ(m["counts"]["written"], 1);
  auto rec = nlohmann::json::parse(slurp(dir + "/ax.jsonl"));
  EXPECT_EQ(rec["subset"], "arxiv_math");
  EXPECT_EQ(rec["meta"]["categories"], "math.NT cs.LG");
  std::string content = rec["content"];
  EXPECT_EQ(content.rfind("# Intro\n\nLet $x_0 \\in \\mathbb{R}$", 0), 0u);
  EXPECT_NE(content.find("\\begin{equation}e^{i\\pi}+1=0\\end{equation}"), std::string::npos);
}

TEST(CorpusCli, OverlapMergeAndBadInput) {
  std::string dir = test::temp_dir() + "/misc";
  std::string a = english(10, 1), b = english(10, 2);
  write(dir + "/c.jsonl", nlohmann::json({{"content", a}}).dump() + "\n" + nlohmann::json({{"content", b}}).dump() + "\n");
  write(dir + "/bench.txt", a.substr(0, 400));
  std::string out, err;
  ASSERT_EQ(0, lmzip("corpus overlap " + dir + "/c.jsonl --against " + dir + "/bench.txt --threshold 0.2 -o " + dir +
                         "/clean.jsonl --json", &out, &err)) << err;
  auto s = nlohmann::json::parse(out);
  EXPECT_EQ(s["documents"], 2);
  EXPECT_EQ(s["contaminated"], 1);
  EXPECT_EQ(s["kept"], 1);
  EXPECT_EQ(nlohmann::json::parse(slurp(dir + "/clean.jsonl"))["content"], b);
  ASSERT_EQ(0, lmzip("corpus merge -q --json -o " + dir + "/m.jsonl " + dir + "/c.jsonl " + dir + "/c.jsonl", &out, &err))
      << err;
  auto m = nlohmann::json::parse(out);
  EXPECT_EQ(m["counts"]["exact_duplicates"], 2);
  EXPECT_EQ(m["counts"]["written"], 2);
  // Bad input: a clear message, non-zero exit, no output.
  EXPECT_EQ(2, lmzip("corpus build --preset nope -o " + dir + "/x.jsonl " + dir + "/c.jsonl", &out, &err));
  EXPECT_NE(err.find("unknown preset"), std::string::npos);
  EXPECT_EQ(1, lmzip("corpus build -o " + dir + "/x.jsonl " + dir + "/missing.jsonl", &out, &err));
  EXPECT_NE(err.find("missing.jsonl"), std::string::npos);
  EXPECT_EQ(2, lmzip("corpus build -o " + dir + "/x.txt " + dir + "/c.jsonl", &out, &err));
  EXPECT_EQ(2, lmzip("corpus build --jaccard abc -o " + dir + "/x.jsonl " + dir + "/c.jsonl", &out, &err));
  EXPECT_FALSE(std::filesystem::exists(dir + "/x.jsonl"));
  write(dir + "/notcorpus.jsonl", "[1,2]\n");
  EXPECT_EQ(1, lmzip("corpus stats " + dir + "/notcorpus.jsonl", &out, &err));
  EXPECT_NE(err.find("notcorpus.jsonl:1"), std::string::npos);
}

// Lines of distinct English sentences (none equal after CCNet's normalisation), varied by `seed`.
std::string story(int lines, int seed) {
  static const char* kAdj[] = {"old", "quiet", "busy", "small", "green", "long", "cold", "bright"};
  static const char* kNoun[] = {"library", "market", "bridge", "school", "garden", "river", "station", "harbour"};
  static const char* kVerb[] = {"opened", "closed", "welcomed", "watched", "crossed", "changed", "served", "joined"};
  std::string s;
  uint64_t x = 0x9e3779b9u + static_cast<uint64_t>(seed) * 104729u;
  auto pick = [&](int n) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((x >> 33) % static_cast<uint64_t>(n));
  };
  for (int i = 0; i < lines; ++i) {
    s += std::string("The ") + kAdj[pick(8)] + " " + kNoun[pick(8)] + " of the town " + kVerb[pick(8)] + " the " +
         kAdj[pick(8)] + " " + kNoun[pick(8)] + " and the people that have " + kVerb[pick(8)] + " it with " +
         kNoun[pick(8)] + " " + kNoun[pick(8)] + " " + kAdj[pick(8)] + ".\n";
  }
  return s;
}

std::string wet_page(const std::string& url, const std::string& body) {
  return "WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Target-URI: " + url +
         "\r\nWARC-Date: 2023-10-01T00:00:00Z\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body +
         "\r\n\r\n";
}

// `corpus build --shard i/3` for every i, then `corpus merge`, writes one `corpus build`'s corpus byte for byte,
// with copies, near copies and shared paragraphs spread over the shards (inputs 1 and 4, 2 and 5, 3), for
// --preset cc (paragraph dedup before the filters) and the default stages, on 1 and 2 threads.
TEST(CorpusCli, MergeOfShardsIsOneBuild) {
  std::string dir = test::temp_dir() + "/shards";
  auto jsonl = [](const std::string& text) { return nlohmann::json({{"text", text}}).dump() + "\n"; };
  std::string one_line = story(8, 40);
  for (auto& c : one_line) if (c == '\n') c = ' ';
  std::string edited = one_line;
  edited.replace(0, 3, "One");
  std::string respaced = story(10, 7);
  for (auto& c : respaced) if (c == '\n') c = ' ';
  write(dir + "/in/1.warc.wet", wet_page("https://a.example/", story(10, 1)) +
                                    wet_page("https://b.example/", story(6, 2) + story(4, 5)));
  write(dir + "/in/2.jsonl", jsonl(story(10, 5)) + jsonl(edited));
  write(dir + "/in/3.jsonl", jsonl(story(10, 7)) + "{broken\n" + jsonl("short"));
  write(dir + "/in/4.warc.wet", wet_page("https://c.example/", one_line) +
                                    wet_page("https://d.example/", story(7, 5) + story(5, 9)));
  write(dir + "/in/5.jsonl", jsonl(respaced) + jsonl(story(10, 11)));
  for (std::string preset : {"--preset cc", ""}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(preset + " -t " + std::to_string(threads));
      std::string opts = preset + " -q --json --threads " + std::to_string(threads);
      std::string out, err;
      ASSERT_EQ(0, lmzip("corpus build " + opts + " -o " + dir + "/whole.jsonl " + dir + "/in", &out, &err)) << err;
      auto whole = nlohmann::json::parse(out);
      std::string shards;
      for (int i = 0; i < 3; ++i) {
        std::string shard = dir + "/shard" + std::to_string(i) + ".jsonl.zst";
        ASSERT_EQ(0, lmzip("corpus build " + opts + " --shard " + std::to_string(i) + "/3 -o " + shard + " " + dir +
                               "/in", &out, &err)) << err;
        shards += " " + shard;
      }
      ASSERT_EQ(0, lmzip("corpus merge -q --json --threads " + std::to_string(threads) + " -o " + dir +
                             "/merged.jsonl" + shards, &out, &err)) << err;
      auto merged = nlohmann::json::parse(out);
      EXPECT_EQ(slurp(dir + "/merged.jsonl"), slurp(dir + "/whole.jsonl"));
      EXPECT_EQ(merged["counts"], whole["counts"]);
      EXPECT_EQ(merged["stages"], whole["stages"]);
      EXPECT_EQ(merged["parameters"], whole["parameters"]);
      EXPECT_EQ(merged["counts"]["read"], 11);
      EXPECT_EQ(merged["counts"]["exact_duplicates"], 1);  // 5.jsonl's respaced copy of 3.jsonl's first
      if (preset.empty()) {  // single-token shingles: the stories' small vocabulary makes most of them near copies
        EXPECT_GE(merged["counts"]["near_duplicates"], 2);
        EXPECT_GE(merged["counts"]["written"], 2);
      } else {  // 2.jsonl's first loses 4 lines to 1.warc.wet, the last page 7 to 2.jsonl
        EXPECT_EQ(merged["counts"]["near_duplicates"], 1);  // 4.warc.wet's first page, after 2.jsonl's edited copy
        std::string text = slurp(dir + "/merged.jsonl");
        EXPECT_NE(text.find(edited.substr(0, 60)), std::string::npos);
        EXPECT_EQ(text.find(one_line.substr(0, 60)), std::string::npos);
        EXPECT_EQ(merged["counts"]["paragraphs"]["removed"], 4 + 7);
        EXPECT_EQ(merged["counts"]["paragraphs"]["documents_changed"], 2);
      }
    }
  }
  // Shards are merged with their own stages: a stage option is refused, and so is a missing shard.
  std::string out, err;
  EXPECT_EQ(2, lmzip("corpus merge --jaccard 0.5 -o " + dir + "/m.jsonl " + dir + "/shard0.jsonl.zst " + dir +
                         "/shard1.jsonl.zst " + dir + "/shard2.jsonl.zst", &out, &err));
  EXPECT_NE(err.find("--jaccard: a merge of `corpus build --shard` outputs"), std::string::npos) << err;
  EXPECT_EQ(1, lmzip("corpus merge -o " + dir + "/m.jsonl " + dir + "/shard0.jsonl.zst " + dir + "/shard2.jsonl.zst",
                     &out, &err));
  EXPECT_NE(err.find("1 of 3 shards missing: 1/3"), std::string::npos) << err;
  EXPECT_EQ(2, lmzip("corpus merge -o " + dir + "/m.jsonl " + dir + "/shard0.jsonl.zst " + dir + "/whole.jsonl",
                     &out, &err));
  EXPECT_NE(err.find("whole.jsonl: not an output of `corpus build --shard`"), std::string::npos) << err;
  EXPECT_FALSE(std::filesystem::exists(dir + "/m.jsonl"));
  ASSERT_EQ(0, lmzip("corpus merge --help", &out, &err));
  EXPECT_NE(out.find("exactly the corpus one `corpus build` gives"), std::string::npos);
}

}  // namespace
}  // namespace lmzip
