#include "lmzip/core/json.h"

#include <algorithm>

#include "lmzip/core/error.h"
#include "lmzip/core/utf8.h"

namespace lmzip {
namespace {

// Finds where parsing fails: nlohmann's out_of_range (number overflow) carries no position, the SAX callback does.
struct Locator : nlohmann::json_sax<nlohmann::json> {
  size_t position = 0;
  std::string what;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t pos, const std::string&, const nlohmann::detail::exception& e) override {
    position = pos;
    what = e.what();
    return false;
  }
};

// "[json.exception.parse_error.101] parse error at line 1, column 6: syntax error ..." -> "syntax error ...".
std::string reason(std::string what) {
  if (what.starts_with("[json.exception.")) {
    if (size_t close = what.find("] "); close != std::string::npos) what.erase(0, close + 2);
  }
  if (what.starts_with("parse error")) {
    if (size_t colon = what.find(": "); colon != std::string::npos) what.erase(0, colon + 2);
  }
  return printable(what);
}

}  // namespace

std::string json_error(std::string_view text, const std::string& file, size_t line) {
  Locator loc;
  if (nlohmann::json::sax_parse(text, &loc)) return "";
  // nlohmann counts the offending byte as read; the column is 1-based, in bytes.
  const size_t at = std::min(loc.position > 0 ? loc.position - 1 : 0, text.size());
  const size_t nl = text.substr(0, at).rfind('\n');
  const size_t line_start = nl == std::string_view::npos ? 0 : nl + 1;
  if (line == 0) line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + at, '\n'));
  return printable(file) + ":" + std::to_string(line) + ": not valid JSON at column " +
         std::to_string(at - line_start + 1) + ": " + reason(loc.what);
}

namespace {
template <typename Json>
Json parse_as(std::string_view text, const std::string& file, size_t line) {
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    std::string message = json_error(text, file, line);
    // (Unreachable unless the two parsers disagree; still an Error naming the file.)
    if (message.empty()) {
      message = printable(file) + (line ? ":" + std::to_string(line) : "") + ": not valid JSON: " + reason(e.what());
    }
    throw Error(message);
  }
}
}  // namespace

nlohmann::json parse_json(std::string_view text, const std::string& file, size_t line) {
  return parse_as<nlohmann::json>(text, file, line);
}

nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& file, size_t line) {
  return parse_as<nlohmann::ordered_json>(text, file, line);
}

}  // namespace lmzip
