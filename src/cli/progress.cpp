#include "progress.h"

#include <cstdio>

#include "command.h"

namespace lmzip::cli {

ProgressLine::ProgressLine(std::string label) : label_(std::move(label)), enabled_(stderr_is_terminal()) {}

ProgressLine::~ProgressLine() { finish(); }

std::string format_duration(double s) {
  char buf[32];
  long t = static_cast<long>(s + 0.5);
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%lds", t);
  return buf;
}

void ProgressLine::update(uint64_t done, uint64_t total, double seconds, const std::string& unit) {
  if (!enabled_ || (seconds - last_draw_ < 0.2 && done < total)) return;
  last_draw_ = seconds;
  double rate = seconds > 0 ? done / seconds : 0;
  double pct = total ? 100.0 * done / total : 100.0;
  std::string eta = rate > 0 && done < total ? format_duration((total - done) / rate) : "-";
  std::fprintf(stderr, "\r\033[K%s %5.1f%%  %llu/%llu %s  %.0f %s/s  ETA %s", label_.c_str(), pct,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), unit.c_str(), rate,
               unit.c_str(), eta.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::finish() {
  if (drawn_) {
    std::fprintf(stderr, "\r\033[K");
    std::fflush(stderr);
    drawn_ = false;
  }
}

}  // namespace lmzip::cli
