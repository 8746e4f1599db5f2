#include <gtest/gtest.h>

#include <regex>

#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/report/html.h"
#include "lmzip/report/svg.h"
#include "testutil/testutil.h"

namespace lmzip::report {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(Svg, NiceTicks) {
  EXPECT_EQ(nice_ticks(0.52, 0.66).size(), 3u);
  EXPECT_NEAR(nice_ticks(0.52, 0.66)[0], 0.55, 1e-12);
  EXPECT_NEAR(nice_ticks(0.52, 0.66)[2], 0.65, 1e-12);
  auto t = nice_ticks(0, 1);
  ASSERT_EQ(t.size(), 6u);
  EXPECT_DOUBLE_EQ(t[0], 0.0);
  EXPECT_NEAR(t[5], 1.0, 1e-12);
  t = nice_ticks(-0.031, 0.042);  // range/6 = 0.012 -> steps of 0.02
  ASSERT_EQ(t.size(), 4u);
  EXPECT_NEAR(t[0], -0.02, 1e-12);
  EXPECT_EQ(t[1], 0.0);
  EXPECT_NEAR(t[3], 0.04, 1e-12);
}

TEST(Svg, ScatterHasPointsLabelsLineAndCorner) {
  Scatter s{.id = "t", .title = "T<1>", .x_label = "BPC cc", .y_label = "score"};
  s.points = {{"a&b", 0.5, 0.6}, {"c", 0.6, 0.5}, {"d", 0.7, 0.41}};
  s.line = std::make_pair(1.1, -1.0);
  s.corner = {"r = -0.998,  e = 0.004"};
  std::string svg = scatter_svg(s);
  EXPECT_EQ(svg.rfind("<svg xmlns='http://www.w3.org/2000/svg'", 0), 0u);
  EXPECT_EQ(count(svg, "<circle"), 3u);
  EXPECT_NE(svg.find(">a&amp;b</text>"), std::string::npos);
  EXPECT_NE(svg.find(">T&lt;1&gt;</text>"), std::string::npos);
  EXPECT_NE(svg.find(">r = -0.998,  e = 0.004</text>"), std::string::npos);
  EXPECT_EQ(count(svg, "clip-path='url(#clip-t)'"), 1u);  // the fitted line, clipped to the plot
  // Frame: x from 0.488 to 0.712 onto pixels 72..620; the point at x = 0.6 sits in the middle.
  EXPECT_NE(svg.find("<circle cx='346.0'"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

TEST(Report, PaperReportIsFigureOneAndTheNineteenRows) {
  ReportInput in = paper_report();
  ASSERT_EQ(in.plots.size(), 4u);
  EXPECT_EQ(in.plots[0].id, "overall");
  EXPECT_EQ(in.plots[3].id, "math");
  EXPECT_EQ(in.plots[3].fit.n, 19);
  EXPECT_EQ(in.correlations.size(), 19u);
  EXPECT_EQ(in.notes.size(), 4u);
  std::string html = report_html(in);
  EXPECT_NE(html.find("r = -0.931,  e = 0.031"), std::string::npos);  // overall, as in Figure 1
  EXPECT_NE(html.find("r = -0.953,  e = 0.031"), std::string::npos);  // math without Qwen
  EXPECT_EQ(count(html, "<svg"), 8u);  // 4 scatter + 4 residual plots, inline
  // Self-contained: nothing fetched (the SVG namespace URI is a name, never loaded).
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("src="), std::string::npos);
  EXPECT_EQ(html.find("href="), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  EXPECT_EQ(std::regex_replace(html, std::regex("http://www.w3.org/2000/svg"), "").find("http"), std::string::npos);
  EXPECT_NE(html.find("<td class='name'>Mixtral-8x7b</td><td>0.559</td><td>0.274</td><td>0.394</td>"),
            std::string::npos);  // the BPC table
}

TEST(Report, WritesThePageAndEverySvg) {
  std::string dir = test::temp_dir() + "/report";
  auto files = write_report(dir, paper_report());
  ASSERT_EQ(files.size(), 9u);
  for (const auto& f : files) EXPECT_GT(file_size(f), 1000u) << f;
  EXPECT_EQ(read_file(dir + "/coding.svg").rfind("<?xml", 0), 0u);
  EXPECT_TRUE(file_exists(dir + "/knowledge-residuals.svg"));
}

TEST(Report, StoreReportFitsWhatItCanAndNotesTheRest) {
  stats::Dataset d;
  d.name = "test.sqlite";
  for (int i = 0; i < 4; ++i) {
    std::string m = "m" + std::to_string(i);
    d.add_bpc(m, "cc", 0.5 + 0.05 * i);
    d.add_score(m, "arc", 0.7 - 0.1 * i + (i == 2 ? 0.02 : 0));
  }
  d.add_score("m0", "rare", 0.5);
  ReportInput in = store_report(d, {});
  ASSERT_EQ(in.plots.size(), 1u);
  EXPECT_EQ(in.plots[0].id, "cc-arc");
  ASSERT_EQ(in.notes.size(), 1u);
  EXPECT_NE(in.notes[0].find("No fit of rare against BPC cc: a fit needs at least 3 models"), std::string::npos);
  d.add_score("m0", "a r c", 0.7);  // slugs to "cc-a-r-c", distinct from "cc-arc"
  d.add_score("m1", "a r c", 0.6);
  d.add_score("m2", "a r c", 0.52);
  d.add_score("m0", "arc!", 0.7);  // slugs to "cc-arc" as well: numbered
  d.add_score("m1", "arc!", 0.6);
  d.add_score("m2", "arc!", 0.52);
  in = store_report(d, {});
  ASSERT_EQ(in.plots.size(), 3u);
  EXPECT_EQ(in.plots[0].id, "cc-a-r-c");
  EXPECT_EQ(in.plots[1].id, "cc-arc");
  EXPECT_EQ(in.plots[2].id, "cc-arc-2");
  stats::Dataset empty;
  empty.name = "e.sqlite";
  EXPECT_THROW(store_report(empty, {}), Error);
}

}  // namespace
}  // namespace lmzip::report

namespace lmzip::report {
namespace {

TEST(Svg, LogCurveIsADashedPolylineOverTheFrame) {
  Scatter s{.id = "l", .title = "log", .x_label = "BPC", .y_label = "score"};
  s.points = {{"a", 0.5, 0.69}, {"b", 0.6, 0.51}, {"c", 0.7, 0.36}};
  s.line = std::make_pair(1.1, -1.0);
  s.log_curve = std::make_pair(0.0, -1.0);  // y = -ln x
  const std::string svg = scatter_svg(s);
  ASSERT_EQ(count(svg, "<polyline"), 1u);
  EXPECT_EQ(count(svg, "clip-path='url(#clip-l)'"), 2u);  // the line and the curve
  const size_t at = svg.find("points='"), end = svg.find('\'', at + 8);
  EXPECT_EQ(count(svg.substr(at, end - at), ","), 65u);  // 64 segments
  EXPECT_NE(svg.find("stroke-dasharray"), std::string::npos);
}

TEST(Report, FitPlotsShowTheLineAndTheLogCurve) {
  const std::string html = report_html(paper_report());
  EXPECT_EQ(count(html, "<polyline"), 4u);  // one log curve per scatter plot, none on the residual plots
  EXPECT_NE(html.find("a + b ln BPC (dashed): e = "), std::string::npos);
}

}  // namespace
}  // namespace lmzip::report

namespace lmzip::report {
namespace {

// Two series; x 0..2 and y 1..3 padded by 6%: x 0 sits at 72 + 0.12/2.24 · 548 = 101.4 px.
TEST(Svg, LinePlotHasOnePolylinePerSeriesAndALegend) {
  LinePlot p{.id = "c", .title = "loss", .x_label = "position", .y_label = "mean nats"};
  p.series = {{"cc", {{0, 3}, {1, 2}, {2, 1}}}, {"py<1>", {{0, 2}, {1, 1.5}}}};
  const std::string svg = line_plot_svg(p);
  EXPECT_EQ(count(svg, "<polyline"), 2u);
  EXPECT_NE(svg.find("points='101.4,"), std::string::npos) << svg;
  EXPECT_NE(svg.find(">cc</text>"), std::string::npos);
  EXPECT_NE(svg.find(">py&lt;1&gt;</text>"), std::string::npos);
  EXPECT_EQ(svg.find("nan"), std::string::npos);
}

}  // namespace
}  // namespace lmzip::report
