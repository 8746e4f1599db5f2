#include "lmzip/report/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "lmzip/core/error.h"

namespace lmzip::report {
namespace {

// Pixel frame of the plotting area and the data ranges it shows.
struct Frame {
  double left = 72, right = 0, top = 44, bottom = 0;  // pixels
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;             // data
  double px(double x) const { return left + (x - x0) / (x1 - x0) * (right - left); }
  double py(double y) const { return bottom - (y - y0) / (y1 - y0) * (bottom - top); }
};

struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

std::string num(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  return s == "-0" || s.find_first_not_of("-0.") == std::string::npos ? std::string(buf).substr(s[0] == '-') : s;
}

std::string px(double v) { return num(v, 1); }

// Data range padded by 6% on each side (a range of zero width gets a unit-scale pad).
std::pair<double, double> padded_range(const std::vector<double>& v) {
  auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  double span = *hi - *lo;
  double pad = span > 0 ? 0.06 * span : std::max(0.05, std::fabs(*lo) * 0.05);
  return {*lo - pad, *hi + pad};
}

int tick_decimals(const std::vector<double>& ticks) {
  if (ticks.size() < 2) return 2;
  double step = ticks[1] - ticks[0];
  return std::max(0, static_cast<int>(-std::floor(std::log10(step) + 1e-9)));
}

void axes(std::string& out, const Frame& f, const Scatter& p) {
  out += "<rect x='" + px(f.left) + "' y='" + px(f.top) + "' width='" + px(f.right - f.left) + "' height='" +
         px(f.bottom - f.top) + "' fill='#fff' stroke='#444'/>\n";
  auto xt = nice_ticks(f.x0, f.x1), yt = nice_ticks(f.y0, f.y1);
  int xd = tick_decimals(xt), yd = tick_decimals(yt);
  for (double t : xt) {
    std::string x = px(f.px(t));
    out += "<line x1='" + x + "' y1='" + px(f.top) + "' x2='" + x + "' y2='" + px(f.bottom) + "' stroke='#eee'/>";
    out += "<text x='" + x + "' y='" + px(f.bottom + 16) + "' text-anchor='middle'>" + num(t, xd) + "</text>\n";
  }
  for (double t : yt) {
    std::string y = px(f.py(t));
    out += "<line x1='" + px(f.left) + "' y1='" + y + "' x2='" + px(f.right) + "' y2='" + y + "' stroke='#eee'/>";
    out += "<text x='" + px(f.left - 6) + "' y='" + px(f.py(t) + 4) + "' text-anchor='end'>" + num(t, yd) +
           "</text>\n";
  }
  out += "<text x='" + px((f.left + f.right) / 2) + "' y='" + px(f.bottom + 38) +
         "' text-anchor='middle' font-size='13'>" + xml_escape(p.x_label) + "</text>\n";
  out += "<text transform='translate(16," + px((f.top + f.bottom) / 2) +
         ") rotate(-90)' text-anchor='middle' font-size='13'>" + xml_escape(p.y_label) + "</text>\n";
  out += "<text x='" + px(f.left) + "' y='24' font-size='15' font-weight='bold'>" + xml_escape(p.title) +
         "</text>\n";
}

// Places each label beside its point where it collides with no placed label and no point: right, left,
// above, below; if every side collides, right.
void labels(std::string& out, const Frame& f, const std::vector<PlotPoint>& points) {
  const double char_w = 6.0, h = 11;
  std::vector<Box> taken;
  for (const auto& p : points) taken.push_back({f.px(p.x) - 3.5, f.py(p.y) - 3.5, f.px(p.x) + 3.5, f.py(p.y) + 3.5});
  for (const auto& p : points) {
    double x = f.px(p.x), y = f.py(p.y), w = char_w * static_cast<double>(p.label.size());
    struct Option { Box box; double tx, ty; const char* anchor; };
    Option options[] = {
        {{x + 5, y - h / 2, x + 5 + w, y + h / 2}, x + 5, y + 4, "start"},
        {{x - 5 - w, y - h / 2, x - 5, y + h / 2}, x - 5, y + 4, "end"},
        {{x - w / 2, y - 6 - h, x + w / 2, y - 6}, x, y - 8, "middle"},
        {{x - w / 2, y + 6, x + w / 2, y + 6 + h}, x, y + 16, "middle"},
    };
    const Option* chosen = &options[0];
    for (const auto& o : options) {
      bool inside = o.box.x0 >= f.left && o.box.x1 <= f.right && o.box.y0 >= f.top && o.box.y1 <= f.bottom;
      bool clear = std::none_of(taken.begin(), taken.end(), [&](const Box& b) { return b.overlaps(o.box); });
      if (inside && clear) {
        chosen = &o;
        break;
      }
    }
    taken.push_back(chosen->box);
    out += "<text x='" + px(chosen->tx) + "' y='" + px(chosen->ty) + "' text-anchor='" + chosen->anchor +
           "' font-size='10' fill='#333'>" + xml_escape(p.label) + "</text>\n";
  }
}

void corner_text(std::string& out, const Frame& f, const std::vector<std::string>& lines) {
  if (lines.empty()) return;
  double w = 0;
  for (const auto& l : lines) w = std::max(w, 7.5 * static_cast<double>(l.size()));
  double h = 18.0 * static_cast<double>(lines.size()) + 6;
  out += "<rect x='" + px(f.right - w - 14) + "' y='" + px(f.top + 6) + "' width='" + px(w + 8) + "' height='" +
         px(h) + "' fill='#fff' fill-opacity='0.85' stroke='#bbb'/>\n";
  for (size_t i = 0; i < lines.size(); ++i) {
    out += "<text x='" + px(f.right - 10) + "' y='" + px(f.top + 24 + 18.0 * static_cast<double>(i)) +
           "' text-anchor='end' font-size='13'>" + xml_escape(lines[i]) + "</text>\n";
  }
}

}  // namespace

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '\'': out += "&#39;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  LMZIP_CHECK(hi > lo && target > 0, "nice_ticks needs hi > lo");
  double raw = (hi - lo) / target;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * mag;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + 1e-9 * step; t += step) {
    ticks.push_back(std::fabs(t) < 1e-12 * step ? 0.0 : t);
  }
  return ticks;
}

std::string line_plot_svg(const LinePlot& p) {
  std::vector<double> xs, ys;
  for (const auto& s : p.series) {
    for (const auto& [x, y] : s.points) {
      xs.push_back(x);
      ys.push_back(y);
    }
  }
  LMZIP_CHECK(!xs.empty(), "line_plot_svg needs points");
  Frame f;
  f.right = p.width - 20;
  f.bottom = p.height - 56;
  std::tie(f.x0, f.x1) = padded_range(xs);
  std::tie(f.y0, f.y1) = padded_range(ys);
  std::string out = "<svg xmlns='http://www.w3.org/2000/svg' width='" + std::to_string(p.width) + "' height='" +
                    std::to_string(p.height) + "' viewBox='0 0 " + std::to_string(p.width) + " " +
                    std::to_string(p.height) + "' font-family='Helvetica, Arial, sans-serif' font-size='11'>\n";
  out += "<rect width='100%' height='100%' fill='#fff'/>\n";
  axes(out, f, Scatter{.title = p.title, .x_label = p.x_label, .y_label = p.y_label});
  const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
  std::vector<std::string> legend;
  for (size_t i = 0; i < p.series.size(); ++i) {
    std::string pts;
    for (const auto& [x, y] : p.series[i].points) pts += (pts.empty() ? "" : " ") + px(f.px(x)) + "," + px(f.py(y));
    out += "<polyline points='" + pts + "' fill='none' stroke='" + colours[i % 6] + "' stroke-width='1.2'/>\n";
    out += "<text x='" + px(f.right - 8) + "' y='" + px(f.top + 18 + 16.0 * static_cast<double>(i)) +
           "' text-anchor='end' font-size='12' fill='" + colours[i % 6] + "'>" + xml_escape(p.series[i].name) +
           "</text>\n";
  }
  return out + "</svg>\n";
}

std::string scatter_svg(const Scatter& p) {
  LMZIP_CHECK(!p.points.empty(), "scatter_svg needs points");
  Frame f;
  f.right = p.width - 20;
  f.bottom = p.height - 56;
  std::vector<double> xs, ys;
  for (const auto& pt : p.points) {
    xs.push_back(pt.x);
    ys.push_back(pt.y);
  }
  if (p.zero_line) ys.push_back(0);
  std::tie(f.x0, f.x1) = padded_range(xs);
  std::tie(f.y0, f.y1) = padded_range(ys);
  std::string out = "<svg xmlns='http://www.w3.org/2000/svg' width='" + std::to_string(p.width) + "' height='" +
                    std::to_string(p.height) + "' viewBox='0 0 " + std::to_string(p.width) + " " +
                    std::to_string(p.height) + "' font-family='Helvetica, Arial, sans-serif' font-size='11'>\n";
  out += "<rect width='100%' height='100%' fill='#fff'/>\n";
  axes(out, f, p);
  std::string clip = "clip-" + p.id;  // ids must be unique within one HTML page
  out += "<clipPath id='" + clip + "'><rect x='" + px(f.left) + "' y='" + px(f.top) + "' width='" +
         px(f.right - f.left) + "' height='" + px(f.bottom - f.top) + "'/></clipPath>\n";
  if (p.zero_line) {
    out += "<line x1='" + px(f.left) + "' y1='" + px(f.py(0)) + "' x2='" + px(f.right) + "' y2='" + px(f.py(0)) +
           "' stroke='#d62728' stroke-width='1.5'/>\n";
  }
  if (p.line) {
    auto [b0, b1] = *p.line;
    out += "<line clip-path='url(#" + clip + ")' x1='" + px(f.px(f.x0)) + "' y1='" + px(f.py(b0 + b1 * f.x0)) +
           "' x2='" + px(f.px(f.x1)) + "' y2='" + px(f.py(b0 + b1 * f.x1)) +
           "' stroke='#d62728' stroke-width='2'/>\n";
  }
  if (p.log_curve) {
    auto [a, b] = *p.log_curve;
    std::string pts;
    const int kSegments = 64;
    for (int i = 0; i <= kSegments; ++i) {
      const double x = f.x0 + (f.x1 - f.x0) * i / kSegments;
      if (x <= 0) continue;
      pts += (pts.empty() ? "" : " ") + px(f.px(x)) + "," + px(f.py(a + b * std::log(x)));
    }
    out += "<polyline clip-path='url(#" + clip + ")' points='" + pts +
           "' fill='none' stroke='#2ca02c' stroke-width='2' stroke-dasharray='6,4'/>\n";
  }
  for (const auto& pt : p.points) {
    out += "<circle cx='" + px(f.px(pt.x)) + "' cy='" + px(f.py(pt.y)) +
           "' r='3.5' fill='#1f77b4' stroke='#fff' stroke-width='0.8'><title>" + xml_escape(pt.label) +
           "</title></circle>\n";
  }
  labels(out, f, p.points);
  corner_text(out, f, p.corner);
  return out + "</svg>\n";
}

}  // namespace lmzip::report
