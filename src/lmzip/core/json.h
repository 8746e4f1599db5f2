// JSON from outside lmzip (corpus lines, task files and data, results files, checkpoints). Every failure
// nlohmann raises while parsing (syntax, number overflow such as 1e999, bad UTF-8 in a string) becomes one
// lmzip::Error "FILE:LINE: not valid JSON at column C: what", with the quoted input made printable.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace lmzip {

// `text` is the whole of `file` (line 0: the line is found from the error's offset) or its line `line` (JSONL).
nlohmann::json parse_json(std::string_view text, const std::string& file, size_t line = 0);
nlohmann::ordered_json parse_ordered_json(std::string_view text, const std::string& file, size_t line = 0);

// The Error parse_json would throw for `text` ("" when it parses): for readers that skip bad lines and report them.
std::string json_error(std::string_view text, const std::string& file, size_t line = 0);

}  // namespace lmzip
