// Plots drawn as SVG text by lmzip itself (no plotting library, no fonts or scripts fetched): scatter plots of
// score against BPC with labelled points, the fitted line and r / e in the corner, as the study's Figure 1, and
// residual plots. Output is a standalone <svg> element, valid both inline in HTML and as a .svg file.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lmzip::report {

struct PlotPoint {
  std::string label;
  double x = 0, y = 0;
};

struct Scatter {
  std::string id = "plot";  // unique per page: names the plot's clip path
  std::string title{};
  std::string x_label{}, y_label{};
  std::vector<PlotPoint> points{};
  std::optional<std::pair<double, double>> line{};  // (intercept, slope): y = intercept + slope * x
  std::optional<std::pair<double, double>> log_curve{};  // (a, b): y = a + b ln x, dashed, where x > 0
  bool zero_line = false;                           // a horizontal rule at y = 0 (residual plots)
  std::vector<std::string> corner{};                // text lines in the top-right corner ("r = -0.931")
  int width = 640, height = 480;
};

std::string scatter_svg(const Scatter& plot);

// Lines through (x, y) points, one per series (lmzip bpc --loss-curve: mean loss by position), unlabelled, with
// a legend of the series' names in the corner.
struct LineSeries {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
struct LinePlot {
  std::string id = "lines";
  std::string title{};
  std::string x_label{}, y_label{};
  std::vector<LineSeries> series{};
  int width = 640, height = 480;
};
std::string line_plot_svg(const LinePlot& plot);

// "Nice" axis ticks covering [lo, hi]: steps of 1, 2 or 5 times a power of ten, about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

std::string xml_escape(const std::string& s);

}  // namespace lmzip::report
