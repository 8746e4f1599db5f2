// Prompt templates for evaluation tasks: a small subset of the Jinja syntax lm-evaluation-harness task YAMLs use.
//
//   "Question: {{question}}\nAnswer:"      substitution of a document field
//   "{{choices.text}}", "{{choices[0]}}"   object members and list indices
//   "{{ctx_b|capitalize}}"                 filters, applied left to right (strip, capitalize, lower,
//                                          hellaswag_preprocess, first, join(' '), or_empty, last_boxed,
//                                          remove_boxed, math_normalize, math_strip, ds1000_postprocess, py_repr);
//                                          on a list they apply to each element (join and first take the list)
//
// A template that is exactly one "{{...}}" yields the raw JSON value (a list stays a list), as in lm-eval,
// where a template equal to a field name returns the field. Otherwise the pieces are concatenated as text
// (strings verbatim, numbers as JSON).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace lmzip::eval {

using Json = nlohmann::ordered_json;

// Renders `tmpl` against `doc`. lmzip::Error (naming the template and the missing path) when a field is absent.
Json render_value(std::string_view tmpl, const Json& doc);
// render_value as text: a string as is, anything else as compact JSON.
std::string render_text(std::string_view tmpl, const Json& doc);

// Looks up "a.b[2].c" in `doc`; "x[]" maps the rest of the path over the list x ("choices[].text").
// Returns std::nullopt when a member or index is missing.
std::optional<Json> lookup_path(const Json& doc, std::string_view path);

// Text transforms shared with the task data (as lm-eval/Python define them; str.strip, str.lower and
// str.capitalize, with Python's Unicode semantics, are in pystr.h):
std::string replace_all(std::string_view s, std::string_view from, std::string_view to);  // str.replace
// lm-eval hellaswag utils.preprocess: strip; " [title]" -> ". "; remove "[...]" (non-greedy); "  " -> " " once.
std::string hellaswag_preprocess(std::string_view s);
// DS-1000 test_ds1000.py postprocess: cut at "</code>"; drop "```python"; cut at "```" and "\nEND SOLUTION"; drop "<code>".
std::string ds1000_postprocess(std::string_view s);
// A Python string literal whose value is `s` (double-quoted; backslash, quote and control characters escaped;
// other bytes verbatim), for embedding text in a program as test_ds1000.py does with repr().
std::string py_string_literal(std::string_view s);

}  // namespace lmzip::eval
