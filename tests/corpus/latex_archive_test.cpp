#include <gtest/gtest.h>

#include "builders.h"
#include "lmzip/corpus/extract.h"
#include "lmzip/corpus/sources.h"
#include "testutil/testutil.h"

namespace lmzip::corpus {
namespace {

const std::string kPaper =
    "\\documentclass{amsart}\n\\usepackage{amsmath}\n\\title{On Sums}\n\\begin{document}\n\\maketitle\n"
    "\\section{Introduction}\\label{sec:intro}\nWe prove $a^2+b^2=c^2$ for \\emph{right} triangles~\\cite{euclid}. % a comment\n"
    "\\begin{equation}\\label{eq:1}\n  \\sum_{i=1}^n i = \\frac{n(n+1)}{2}\n\\end{equation}\n"
    "\\begin{theorem}Every integer is 50\\% boring.\\end{theorem}\n"
    "\\begin{figure}\\includegraphics{x.png}\\caption{Hidden}\\end{figure}\n"
    "\\input{body}\n\\end{document}\n";

TEST(Latex, KeepsMathDropsPreambleCommentsAndFloats) {
  std::string t = latex_to_text(kPaper);
  EXPECT_EQ(t,
            "# Introduction\n\nWe prove $a^2+b^2=c^2$ for right triangles .\n"
            "\\begin{equation}\\label{eq:1}\n\\sum_{i=1}^n i = \\frac{n(n+1)}{2}\n\\end{equation}\n\n"
            "**Theorem.** Every integer is 50% boring.");
}

TEST(Latex, MainFileDetectionFollowsTheStudysRule) {
  std::map<std::string, std::string> files = {{"a.tex", "\\section{A}"}, {"paper.tex", "x"}, {"b.tex", "\\title{B}"}};
  EXPECT_EQ(find_main_tex(files), "paper.tex");
  files.erase("paper.tex");
  EXPECT_EQ(find_main_tex(files), "b.tex");  // the one with \title
  EXPECT_EQ(find_main_tex({{"only.tex", "x"}, {"fig.png", "y"}}), "only.tex");
  EXPECT_EQ(find_main_tex({{"a.tex", "% \\title{commented}"}, {"b.tex", "y"}}), "");
  std::map<std::string, std::string> inputs = {{"src/main.tex", "A \\input{sec/one} Z"}, {"src/sec/one.tex", "B \\include{two}"},
                                               {"src/two.tex", "C"}};
  EXPECT_EQ(inline_latex_inputs("src/main.tex", inputs), "A B C Z");
}

struct Collected {
  std::vector<Document> docs;
  std::vector<std::string> skips;
  SourceSink sink() {
    return {[this](Document&& d) { docs.push_back(std::move(d)); },
            [this](const std::string& r, const std::string&) { skips.push_back(r); }, [](const std::string&) {},
            nullptr};
  }
};

TEST(Archives, PaperBundlesNestedBundlesAndZipsOfCode) {
  std::string dir = test::temp_dir();
  // One paper as a tar.gz with the main file, an input and a figure.
  testing::write_archive(dir + "/2310.00001.tar.gz", {{"main.tex", kPaper}, {"body.tex", "Body text."}, {"x.png", "PNG"}},
                         "tar.gz");
  SourceOptions papers;
  papers.papers = true;
  Collected one;
  read_input({dir + "/2310.00001.tar.gz", "", InputKind::Archive, 0}, papers, one.sink());
  ASSERT_EQ(one.docs.size(), 1u);
  EXPECT_NE(one.docs[0].content.find("Body text."), std::string::npos);
  EXPECT_NE(one.docs[0].content.find("\\frac{n(n+1)}{2}"), std::string::npos);
  EXPECT_EQ(one.docs[0].meta["main_tex"], "main.tex");
  EXPECT_EQ(one.docs[0].date, "2023-09-29T15:06:40Z");  // member mtime 1696000000

  // arXiv's monthly tar: per-paper .gz members (a gzipped tar, a gzipped lone .tex, and one without any .tex).
  std::string nested = testing::tar_gz_bytes(dir + "/n.tar.gz", {{"paper.tex", kPaper}, {"body.tex", "Nested."}});
  std::string lone = testing::gzip_member("\\documentclass{article}\\begin{document}Lone $x$.\\end{document}");
  std::string none = testing::tar_gz_bytes(dir + "/z.tar.gz", {{"readme.txt", "no tex"}});
  testing::write_archive(dir + "/arXiv_src_2310_001.tar",
                         {{"2310/2310.00002.gz", nested}, {"2310/2310.00003.gz", lone}, {"2310/2310.00004.gz", none}},
                         "tar");
  Collected bulk;
  read_input({dir + "/arXiv_src_2310_001.tar", "", InputKind::Archive, 0}, papers, bulk.sink());
  ASSERT_EQ(bulk.docs.size(), 2u);
  EXPECT_EQ(bulk.docs[0].meta["arxiv_id"], "2310.00002");
  EXPECT_NE(bulk.docs[0].content.find("Nested."), std::string::npos);
  EXPECT_EQ(bulk.docs[1].content, "Lone $x$.");
  EXPECT_EQ(bulk.skips, (std::vector<std::string>{"no_main_tex"}));

  // A zip of a repository in files mode: one document per member, grouped under the archive.
  testing::write_archive(dir + "/repo.zip", {{"r/a.py", "x = 1\n"}, {"r/b.py", "y = 2\n"}, {"r/logo.bin", std::string("\0\1", 2)}},
                         "zip");
  Collected zip;
  SourceOptions files;
  read_input({dir + "/repo.zip", "", InputKind::Archive, 0}, files, zip.sink());
  ASSERT_EQ(zip.docs.size(), 2u);
  EXPECT_EQ(zip.docs[1].locator, "r/b.py");
  EXPECT_EQ(zip.docs[1].repo, dir + "/repo.zip");
  EXPECT_EQ(zip.skips, (std::vector<std::string>{"binary"}));

  // A corrupt archive is counted, not fatal.
  write_file_atomic(dir + "/bad.tar.gz", testing::gzip_member("not a tar at all").substr(0, 20));
  Collected bad;
  read_input({dir + "/bad.tar.gz", "", InputKind::Archive, 0}, files, bad.sink());
  EXPECT_TRUE(bad.docs.empty());
  EXPECT_EQ(bad.skips, (std::vector<std::string>{"corrupt_input"}));
}

}  // namespace
}  // namespace lmzip::corpus
