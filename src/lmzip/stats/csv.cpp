#include "lmzip/stats/csv.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "lmzip/core/error.h"

namespace lmzip::stats {
namespace {

// Splits one record starting at `pos`; advances `pos` past its line end and `line` by the lines consumed
// (a quoted field may span lines).
std::vector<std::string> parse_record(std::string_view text, size_t& pos, int& line, const std::string& source) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  int start_line = line;
  while (pos < text.size()) {
    char c = text[pos++];
    if (quoted) {
      if (c == '"') {
        if (pos < text.size() && text[pos] == '"') {
          fields.back() += '"';
          ++pos;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        fields.back() += c;
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else if (c == '\n') {
      ++line;
      break;
    } else if (c == '\r' && pos < text.size() && text[pos] == '\n') {
      continue;  // CRLF: the LF ends the record
    } else {
      fields.back() += c;
    }
  }
  if (quoted) throw Error(source + ":" + std::to_string(start_line) + ": unterminated quoted field");
  return fields;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

CsvTable parse_csv(std::string_view text, const std::string& source) {
  CsvTable t;
  t.source = source;
  if (text.size() >= 3 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
  size_t pos = 0;
  int line = 1;
  bool have_header = false;
  while (pos < text.size()) {
    int record_line = line;
    std::vector<std::string> fields = parse_record(text, pos, line, source);
    if (fields.size() == 1 && trim(fields[0]).empty()) continue;  // blank line
    for (auto& f : fields) f = trim(f);
    if (!have_header) {
      std::set<std::string> seen;
      for (const auto& h : fields) {
        if (h.empty()) throw Error(source + ":" + std::to_string(record_line) + ": empty column name in the header");
        if (!seen.insert(h).second) {
          throw Error(source + ":" + std::to_string(record_line) + ": duplicate column '" + h + "' in the header");
        }
      }
      t.header = std::move(fields);
      have_header = true;
      continue;
    }
    if (fields.size() != t.header.size()) {
      throw Error(source + ":" + std::to_string(record_line) + ": " + std::to_string(fields.size()) +
                  " fields, but the header has " + std::to_string(t.header.size()));
    }
    t.rows.push_back(std::move(fields));
    t.line_numbers.push_back(record_line);
  }
  if (!have_header) throw Error(source + ": empty CSV (no header line)");
  return t;
}

bool CsvTable::has_column(const std::string& name) const {
  for (const auto& h : header) {
    if (h == name) return true;
  }
  return false;
}

size_t CsvTable::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == name) return i;
  }
  std::string have;
  for (const auto& h : header) have += (have.empty() ? "" : ", ") + h;
  throw Error(source + ": no column '" + name + "' (columns: " + have + ")");
}

std::string CsvTable::where(size_t row) const { return source + ":" + std::to_string(line_numbers.at(row)); }

double CsvTable::number(size_t row, size_t col) const {
  const std::string& s = rows.at(row).at(col);
  const char* begin = s.c_str();
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(begin, &end);
  if (s.empty() || end != begin + s.size() || errno == ERANGE || !std::isfinite(v)) {
    throw Error(where(row) + ": column '" + header.at(col) + "': '" + s + "' is not a number");
  }
  return v;
}

}  // namespace lmzip::stats
