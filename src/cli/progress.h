// A one-line progress display on stderr (only when stderr is a terminal): done/total, rate and ETA.
#pragma once

#include <cstdint>
#include <string>

namespace lmzip::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string label);  // enabled only when stderr is a terminal
  ~ProgressLine();
  // `done` of `total` units (e.g. scored tokens) after `seconds`; redrawn at most ~5 times a second.
  void update(uint64_t done, uint64_t total, double seconds, const std::string& unit);
  void finish();  // clears the line

 private:
  std::string label_;
  bool enabled_;
  double last_draw_ = -1;
  bool drawn_ = false;
};

std::string format_duration(double seconds);  // "1h02m", "3m05s", "12s"

}  // namespace lmzip::cli
