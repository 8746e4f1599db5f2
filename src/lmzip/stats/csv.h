// A small RFC 4180 CSV reader for the tables lmzip reads (paper tables, imported benchmark scores):
// a header line, comma-separated fields, optional double quotes ("" inside quotes is a quote), LF or CRLF.
// Every error names the source and line, and, for fields, the column.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lmzip::stats {

struct CsvTable {
  std::string source;                         // file name (or embedded table name) for messages
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // each row has header.size() fields
  std::vector<int> line_numbers;               // 1-based line of each row in the source

  // Index of a column; throws lmzip::Error naming the source and the columns it has.
  size_t column(const std::string& name) const;
  bool has_column(const std::string& name) const;
  // The field as a finite double; throws "source:line: column 'c': 'text' is not a number".
  double number(size_t row, size_t col) const;
  std::string where(size_t row) const;  // "source:line"
};

// Parses `text`; blank lines are skipped. Throws lmzip::Error for a row whose field count differs from the
// header's, an unterminated quote, or an empty/duplicate header.
CsvTable parse_csv(std::string_view text, const std::string& source);

}  // namespace lmzip::stats
