// `lmzip fit`, `lmzip results` and `lmzip report` end to end, through the built binary.
#include <gtest/gtest.h>

#include <zlib.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string q(const std::string& s) { return "'" + s + "'"; }

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The --json contract: one object per reproduced row, per line, with the CSV's area and benchmark values.
TEST(FitCli, PaperJsonReproducesThePublishedRows) {
  std::string out, err;
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " fit --paper --json", &out, &err), 0) << err;
  std::istringstream lines(out);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"area", "benchmark", "n", "pearson_r", "rmse", "spearman", "slope", "intercept"}) {
      EXPECT_TRUE(j.contains(k)) << k << " missing in " << line;
    }
    EXPECT_NEAR(j["pearson_r"].get<double>(), j["published_r"].get<double>(), 0.005) << line;
    EXPECT_NEAR(j["rmse"].get<double>(), j["published_rmse"].get<double>(), 0.003) << line;
    ++rows;
  }
  EXPECT_EQ(rows, 19);
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " fit --paper", &out, &err), 0) << err;
  EXPECT_NE(out.find("largest |r - published| = 0.0035, largest |e - published| = 0.0006"), std::string::npos) << out;
}

TEST(FitCli, OneFitWithPrediction) {
  std::string out, err;
  std::string cmd = test::lmzip_bin() +
                    " fit --paper --corpus arxiv_math --benchmark math_avg --exclude 'Qwen*' --predict Qwen-72b --json";
  ASSERT_EQ(test::run_command(cmd, &out, &err), 0) << err;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["n"], 19);
  EXPECT_NEAR(j["pearson_r"].get<double>(), -0.9531, 1e-4);
  ASSERT_EQ(j["predictions"].size(), 1u);
  auto p = j["predictions"][0];
  EXPECT_EQ(p["model"], "Qwen-72b");
  EXPECT_EQ(p["bpc"], 0.415);
  double lo = p["prediction_interval"][0], hi = p["prediction_interval"][1], y = p["predicted_score"];
  EXPECT_LT(lo, y);
  EXPECT_GT(hi, y);
  EXPECT_NEAR(y, j["intercept"].get<double>() + j["slope"].get<double>() * 0.415, 1e-12);
}

TEST(FitCli, BadInputIsAClearErrorNeverNaN) {
  std::string out, err;
  EXPECT_EQ(test::run_command(test::lmzip_bin() + " fit --paper --corpus cc --benchmark MMLU", &out, &err), 1);
  EXPECT_NE(err.find("unknown benchmark 'MMLU'"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(test::lmzip_bin() + " fit --paper --corpus cc --benchmark HellaSwag --only Falcon-7b "
                                                  "--only Yi-6b",
                              &out, &err),
            1);
  EXPECT_NE(err.find("a fit needs at least 3 models"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(test::lmzip_bin() + " fit --paper --corpus cc --benchmark HellaSwag --exclude Nobody",
                              &out, &err),
            1);
  EXPECT_NE(err.find("unknown model 'Nobody' in --exclude"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(test::lmzip_bin() + " fit --db /nonexistent/x.sqlite --corpus cc --benchmark b", &out,
                              &err),
            1);
  EXPECT_NE(err.find("no results database at /nonexistent/x.sqlite"), std::string::npos) << err;
  EXPECT_EQ(out.find("nan"), std::string::npos);
}

// Scores and runs imported into a fresh database, listed, fitted, exported and reported.
TEST(FitCli, StoreRoundTripFitAndReport) {
  std::string dir = test::temp_dir() + "/fitcli";
  ASSERT_EQ(test::run_command("mkdir -p " + q(dir), nullptr), 0);
  std::string db = dir + "/r.sqlite";
  std::string bin = test::lmzip_bin() + " ";
  write(dir + "/runs.csv",
        "model_name,corpus_name,protocol,bpc,chars\n"
        "m1,cc,hkust,0.70,1000\nm2,cc,hkust,0.65,1000\nm3,cc,hkust,0.60,1000\nm4,cc,hkust,0.55,1000\n");
  write(dir + "/scores.csv", "model,benchmark,score\nm1,arc,40\nm2,arc,45\nm3,arc,52\nm4,arc,55\n");
  std::string out, err;
  ASSERT_EQ(test::run_command(bin + "results import --db " + q(db) + " " + q(dir + "/runs.csv") + " " +
                                  q(dir + "/scores.csv"),
                              &out, &err),
            0)
      << err;
  EXPECT_NE(err.find("4 BPC runs"), std::string::npos) << err;
  EXPECT_NE(err.find("4 scores (csv, percent -> fractions)"), std::string::npos) << err;

  ASSERT_EQ(test::run_command(bin + "results list --db " + q(db) + " --json", &out, &err), 0) << err;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 4);
  ASSERT_EQ(test::run_command(bin + "results show 2 --db " + q(db) + " --json", &out, &err), 0) << err;
  EXPECT_EQ(nlohmann::json::parse(out)["bpc"], 0.65);

  ASSERT_EQ(test::run_command(bin + "fit --db " + q(db) + " --corpus cc --benchmark arc --json", &out, &err), 0)
      << err;
  auto j = nlohmann::json::parse(out);
  // x = .70 .65 .60 .55, y = .40 .45 .52 .55: Sxy = -0.013, Sxx = 0.0125 -> slope -1.04, intercept 1.13
  EXPECT_EQ(j["n"], 4);
  EXPECT_NEAR(j["slope"].get<double>(), -1.04, 1e-12);
  EXPECT_NEAR(j["intercept"].get<double>(), 1.13, 1e-12);

  ASSERT_EQ(test::run_command(bin + "results export --db " + q(db) + " --csv --scores", &out, &err), 0) << err;
  EXPECT_EQ(out.rfind("model,benchmark,score,stderr,metric,source,recorded_at\nm1,arc,0.4,,,", 0), 0u) << out;
  ASSERT_EQ(test::run_command(bin + "results export --db " + q(db) + " --json -o " + q(dir + "/all.json"), &out,
                              &err),
            0)
      << err;
  auto all = nlohmann::json::parse(slurp(dir + "/all.json"));
  EXPECT_EQ(all["bpc_runs"].size(), 4u);
  EXPECT_EQ(all["scores"].size(), 4u);

  ASSERT_EQ(test::run_command(bin + "report --db " + q(db) + " -o " + q(dir + "/rep"), &out, &err), 0) << err;
  std::string html = slurp(dir + "/rep/index.html");
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(slurp(dir + "/rep/cc-arc.svg").find(">m3</text>"), std::string::npos);
}

TEST(FitCli, ImportErrorsNameTheFileAndLine) {
  std::string dir = test::temp_dir();
  write(dir + "/bad.csv", "model,benchmark,score\nm1,arc,0.4\nm2,arc,oops\n");
  std::string out, err;
  EXPECT_EQ(test::run_command(test::lmzip_bin() + " results import --db " + q(dir + "/bad.sqlite") + " " +
                                  q(dir + "/bad.csv"),
                              &out, &err),
            1);
  EXPECT_NE(err.find(dir + "/bad.csv:3: column 'score': 'oops' is not a number"), std::string::npos) << err;
  EXPECT_EQ(test::run_command(test::lmzip_bin() + " results frobnicate", &out, &err), 2);
}

// A PNG as headless Chromium writes it (8-bit RGB or RGBA, not interlaced): IHDR read, the IDAT stream inflated
// and its rows unfiltered (PNG specification §9.2: filter types None, Sub, Up, Average, Paeth).
struct Png {
  uint32_t width = 0, height = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height rows of width * channels bytes
  size_t count(uint8_t r, uint8_t g, uint8_t b) const {
    size_t n = 0;
    for (size_t i = 0; i + 2 < pixels.size(); i += static_cast<size_t>(channels)) {
      n += pixels[i] == r && pixels[i + 1] == g && pixels[i + 2] == b;
    }
    return n;
  }
};

uint32_t be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) | (uint32_t(uint8_t(s[at + 2])) << 8) |
         uint8_t(s[at + 3]);
}

// Empty `error` on success.
Png decode_png(const std::string& bytes, std::string& error) {
  Png png;
  if (bytes.size() < 33 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 || bytes.compare(12, 4, "IHDR") != 0) {
    error = "not a PNG (signature or IHDR missing)";
    return png;
  }
  png.width = be32(bytes, 16);
  png.height = be32(bytes, 20);
  int depth = uint8_t(bytes[24]), color = uint8_t(bytes[25]), interlace = uint8_t(bytes[28]);
  png.channels = color == 2 ? 3 : color == 6 ? 4 : 0;
  if (depth != 8 || png.channels == 0 || interlace != 0) {
    error = "unexpected PNG layout: depth " + std::to_string(depth) + ", colour type " + std::to_string(color);
    return png;
  }
  std::string idat;
  for (size_t at = 8; at + 12 <= bytes.size();) {
    uint32_t len = be32(bytes, at);
    if (at + 12 + len > bytes.size()) break;
    if (bytes.compare(at + 4, 4, "IDAT") == 0) idat.append(bytes, at + 8, len);
    at += 12 + len;
  }
  size_t stride = size_t(png.width) * png.channels;
  std::vector<uint8_t> raw((stride + 1) * png.height);
  uLongf raw_size = raw.size();
  if (uncompress(raw.data(), &raw_size, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) != Z_OK ||
      raw_size != raw.size()) {
    error = "IDAT does not inflate to " + std::to_string(raw.size()) + " bytes";
    return png;
  }
  png.pixels.assign(stride * png.height, 0);
  const size_t bpp = static_cast<size_t>(png.channels);
  for (size_t y = 0; y < png.height; ++y) {
    const uint8_t* in = &raw[y * (stride + 1)];
    uint8_t* row = &png.pixels[y * stride];
    const uint8_t* up = y ? row - stride : nullptr;
    for (size_t x = 0; x < stride; ++x) {
      int a = x >= bpp ? row[x - bpp] : 0, b = up ? up[x] : 0, c = up && x >= bpp ? up[x - bpp] : 0;
      int p = a + b - c, pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
      int pred = in[0] == 1 ? a : in[0] == 2 ? b : in[0] == 3 ? (a + b) / 2
               : in[0] == 4 ? (pa <= pb && pa <= pc ? a : pb <= pc ? b : c) : 0;
      row[x] = static_cast<uint8_t>(in[1 + x] + pred);
    }
  }
  return png;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The report as a reader sees it: headless Chromium (Debian's `chromium`, installed by scripts/deps) renders the
// paper report. The screenshot has the window's size and shows the plots' points and fitted lines; the page logs
// nothing to the console (an SVG attribute Chromium cannot parse, such as cx='nan', logs an error there); the DOM
// after rendering holds every plot and table.
TEST(FitCli, PaperReportRendersInChromium) {
  std::string dir = test::temp_dir() + "/paper-report";
  std::string out, err;
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " report --paper -o " + q(dir), &out, &err), 0) << err;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 9);  // index.html and 4 areas x (fit, residuals) SVGs
  ASSERT_EQ(test::run_command("command -v chromium", nullptr), 0)
      << "chromium is not installed: scripts/deps installs it (apt-get install chromium)";
  const std::string chromium = "timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
                               "--user-data-dir=" + q(dir + "/profile") + " --enable-logging=stderr --v=0 ";
  const std::string url = q("file://" + dir + "/index.html");
  std::string dom, log;
  ASSERT_EQ(test::run_command(chromium + "--dump-dom " + url, &dom, &log), 0) << log;
  EXPECT_EQ(log.find(":CONSOLE"), std::string::npos) << "the page logged to the console:\n" << log;
  EXPECT_EQ(count_of(dom, "</html>"), 1u);  // the whole page was parsed, not a truncated one
  EXPECT_EQ(count_of(dom, "<svg"), 8u);     // 4 areas x (fit, residuals)
  EXPECT_EQ(count_of(dom, "<table"), 2u);   // correlations, BPC by model
  EXPECT_EQ(count_of(dom, "<script"), 0u);
  size_t points = count_of(dom, "<circle");
  EXPECT_EQ(points, 170u);  // the 4 fits' models (19 + 19 + 28 + 19), twice

  // 1360 x 3800 holds the whole page (about 3600 px tall at this width).
  std::string png_path = dir + "/shot.png";
  ASSERT_EQ(test::run_command(chromium + "--window-size=1360,3800 --screenshot=" + q(png_path) + " " + url, &out,
                              &log),
            0)
      << log;
  EXPECT_EQ(log.find(":CONSOLE"), std::string::npos) << "the page logged to the console:\n" << log;
  std::string error;
  Png png = decode_png(slurp(png_path), error);
  ASSERT_EQ(error, "");
  EXPECT_EQ(png.width, 1360u);
  EXPECT_EQ(png.height, 3800u);
  // Every point is a disc of radius 3.5 px in #1f77b4 (~15 pixels of exactly that colour inside its white rim);
  // the 4 fitted lines and 4 zero lines are #d62728. A page whose plots did not render has neither colour.
  EXPECT_GT(png.count(0x1f, 0x77, 0xb4), points * 10) << "points";
  EXPECT_GT(png.count(0xd6, 0x27, 0x28), 8u * 200) << "lines";
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// --form both on the study's coding table: both fits on the same 28 models, the log one on ln(BPC), a verdict
// by each criterion, predictions reported at the BPC asked for.
TEST(FitCli, FormBothComparesLinearAndLog) {
  std::string out, err;
  const std::string cmd = test::lmzip_bin() +
                          " fit --paper --table coding --corpus python --benchmark HumanEval --form both --bpc 0.3 --json";
  ASSERT_EQ(test::run_command(cmd, &out, &err), 0) << err;
  auto j = nlohmann::json::parse(out);
  ASSERT_EQ(j["forms"].size(), 2u);
  const auto &lin = j["forms"][0], &log = j["forms"][1];
  EXPECT_EQ(lin["form"], "linear");
  EXPECT_EQ(log["form"], "log");
  EXPECT_EQ(log["x"], "ln(BPC python)");
  EXPECT_EQ(lin["n"], log["n"]);
  const auto& p = log["predictions"][0];
  EXPECT_EQ(p["bpc"], 0.3);
  EXPECT_NEAR(p["predicted_score"].get<double>(),
              log["intercept"].get<double>() + log["slope"].get<double>() * std::log(0.3), 1e-12);
  const double loo_lin = lin["loo_rmse"], loo_log = log["loo_rmse"];
  EXPECT_EQ(j["better_by_loo_rmse"], loo_log < loo_lin ? "log" : "linear");
  EXPECT_EQ(j["better_by_aic"], log["aic"].get<double>() < lin["aic"].get<double>() ? "log" : "linear");
  // AIC = n ln(RMSE^2) + 6 for each form.
  for (const auto* f : {&lin, &log}) {
    const double n = (*f)["n"], rmse = (*f)["rmse"];
    EXPECT_NEAR((*f)["aic"].get<double>(), n * std::log(rmse * rmse) + 6, 1e-9);
  }
  EXPECT_NE(test::run_command(test::lmzip_bin() + " fit --paper --corpus python --benchmark HumanEval --form cubic",
                              &out, &err), 0);
  EXPECT_NE(err.find("--form"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

// --propagate-se through the store: the runs' bpc_stderr (their extra JSON) reaches the fit.
TEST(FitCli, PropagatesBpcStandardErrorsFromTheStore) {
  std::string dir = test::temp_dir() + "/fitse";
  ASSERT_EQ(test::run_command("mkdir -p " + q(dir), nullptr), 0);
  const std::string db = dir + "/r.sqlite", bin = test::lmzip_bin() + " ";
  std::string runs = "model_name,corpus_name,protocol,bpc,chars,extra_json\n";
  const double bpc[] = {0.70, 0.65, 0.60, 0.55, 0.50}, se[] = {0.01, 0.02, 0.01, 0.03, 0.01};
  for (int i = 0; i < 5; ++i) {
    runs += "m" + std::to_string(i) + ",cc,hkust," + std::to_string(bpc[i]) + ",1000,\"{\"\"bpc_stderr\"\": " +
            std::to_string(se[i]) + "}\"\n";
  }
  write(dir + "/runs.csv", runs);
  write(dir + "/scores.csv", "model,benchmark,score\nm0,arc,40\nm1,arc,45\nm2,arc,52\nm3,arc,55\nm4,arc,61\n");
  write(dir + "/plain.csv", "model_name,corpus_name,protocol,bpc,chars\nm9,cc,hkust,0.45,1000\n");
  std::string out, err;
  ASSERT_EQ(test::run_command(bin + "results import --db " + q(db) + " " + q(dir + "/runs.csv") + " " +
                                  q(dir + "/scores.csv"), &out, &err), 0) << err;
  ASSERT_EQ(test::run_command(bin + "fit --db " + q(db) + " --corpus cc --benchmark arc --propagate-se --json", &out,
                              &err), 0) << err;
  auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["points"][3]["bpc_stderr"], 0.03);
  const auto ci = j["pearson_ci_propagated"], plain = j["pearson_ci_bootstrap"];
  ASSERT_TRUE(ci.is_array());
  EXPECT_LT(ci[0].get<double>(), j["pearson_r"].get<double>());
  EXPECT_GT(ci[1].get<double>(), j["pearson_r"].get<double>());
  EXPECT_GT(ci[1].get<double>(), plain[1].get<double>());  // the errors pull r towards 0
  // Without --propagate-se there is no such interval; a model without a standard error is named.
  ASSERT_EQ(test::run_command(bin + "fit --db " + q(db) + " --corpus cc --benchmark arc --json", &out, &err), 0);
  EXPECT_FALSE(nlohmann::json::parse(out).contains("pearson_ci_propagated"));
  ASSERT_EQ(test::run_command(bin + "results import --db " + q(db) + " " + q(dir + "/plain.csv"), &out, &err), 0);
  ASSERT_EQ(test::run_command(bin + "results import --db " + q(db) + " " + q(dir + "/scores.csv"), &out, &err), 0);
  write(dir + "/s9.csv", "model,benchmark,score\nm9,arc,66\n");
  ASSERT_EQ(test::run_command(bin + "results import --db " + q(db) + " " + q(dir + "/s9.csv"), &out, &err), 0);
  EXPECT_NE(test::run_command(bin + "fit --db " + q(db) + " --corpus cc --benchmark arc --propagate-se", &out, &err), 0);
  EXPECT_NE(err.find("m9 has no BPC standard error"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip

namespace lmzip {
namespace {

TEST(ReportCli, PlotsALossCurveFile) {
  const std::string dir = test::temp_dir() + "/curve";
  ASSERT_EQ(test::run_command("mkdir -p " + q(dir), nullptr), 0);
  write(dir + "/c.json",
        R"({"model":"m","unit":"nats","corpora":[)"
        R"({"corpus":"cc","token_position":{"mean_nats":[3,2,1.5],"count":[2,2,1]},"byte_position":{"mean_nats":[1,0.5],"count":[2,2]}},)"
        R"({"corpus":"py","token_position":{"mean_nats":[2,1],"count":[1,1]},"byte_position":{"mean_nats":[0.7],"count":[1]}}]})");
  std::string out, err;
  ASSERT_EQ(test::run_command(test::lmzip_bin() + " report -o " + q(dir + "/rep") + " --loss-curve " +
                                  q(dir + "/c.json"), &out, &err), 0) << err;
  EXPECT_NE(out.find("loss-token.svg"), std::string::npos);
  for (const char* name : {"/rep/loss-token.svg", "/rep/loss-byte.svg"}) {
    const std::string svg = slurp(dir + name);
    EXPECT_EQ(std::count(svg.begin(), svg.end(), '\n') > 0, true);
    size_t lines = 0;
    for (size_t at = 0; (at = svg.find("<polyline", at)) != std::string::npos; ++at) ++lines;
    EXPECT_EQ(lines, 2u) << name;
    EXPECT_NE(svg.find(">py</text>"), std::string::npos) << name;
  }
  write(dir + "/bad.json", "{\"corpora\": 3}");
  EXPECT_NE(test::run_command(test::lmzip_bin() + " report -o " + q(dir + "/rep2") + " --loss-curve " +
                                  q(dir + "/bad.json"), &out, &err), 0);
  EXPECT_NE(err.find("bad.json"), std::string::npos) << err;
}

}  // namespace
}  // namespace lmzip
