// Extraction: HTML → text (gumbo parse tree, not regexes) and LaTeX → text that keeps the math (built in, or
// pandoc when installed and asked for, under a timeout, as the study did).
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace lmzip::corpus {

// Visible text of an HTML page: script, style, noscript, template, svg, nav, header, footer, aside, form,
// iframe and select subtrees are dropped (navigation and boilerplate); block elements end lines; runs of
// whitespace inside a line collapse; at most one blank line in a row.
std::string html_to_text(std::string_view html);
// The same text, and the page's <title> (as html_title gives it) into `*title`, from one parse. `*nesting_capped`
// tells whether the page nested tags deeper than 512 levels, so that the deeper tags were dropped (their text
// kept) to keep the parse linear.
std::string html_to_text(std::string_view html, std::string* title, bool* nesting_capped = nullptr);

// The <title> of an HTML page ("" when none).
std::string html_title(std::string_view html);

// LaTeX → Markdown-like text: comments and the preamble stripped, sectioning commands turned into '#'
// headings, formatting commands unwrapped, labels/citations/refs and float environments dropped, math
// ($...$, \[...\], \(...\), equation/align/... environments) kept verbatim.
std::string latex_to_text(std::string_view latex);

// Removes LaTeX comments ('%' to end of line, unless escaped as \%).
std::string strip_latex_comments(std::string_view latex);

// Result of running pandoc: `ok` false with `error` "timeout", "failed: ..." or "not installed".
struct PandocResult {
  bool ok = false;
  std::string text;
  std::string error;
};
// pandoc -f latex -t markdown with a wall-clock timeout; pandoc's "::: {...}" div fences are removed.
PandocResult pandoc_latex_to_markdown(std::string_view latex, double timeout_seconds);
bool pandoc_available();

// The main .tex of a LaTeX source bundle (paths → contents), by the study's rule: a file named main.tex or
// paper.tex, else the only .tex, else the first (by path) containing \title, else one containing
// \documentclass. "" when none qualifies.
std::string find_main_tex(const std::map<std::string, std::string>& files);

// Inlines \input{x} and \include{x} from `files` (relative to the main file's directory, ".tex" optional),
// at most `max_depth` levels deep.
std::string inline_latex_inputs(const std::string& main_path, const std::map<std::string, std::string>& files,
                                int max_depth = 5);

}  // namespace lmzip::corpus
