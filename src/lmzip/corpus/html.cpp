// HTML → text with gumbo.
#include <gumbo.h>

#include <algorithm>
#include <string>
#include <vector>

#include "lmzip/corpus/extract.h"

namespace lmzip::corpus {

namespace {

bool is_dropped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT: case GUMBO_TAG_STYLE: case GUMBO_TAG_NOSCRIPT: case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG: case GUMBO_TAG_NAV: case GUMBO_TAG_HEADER: case GUMBO_TAG_FOOTER: case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_FORM: case GUMBO_TAG_IFRAME: case GUMBO_TAG_SELECT: case GUMBO_TAG_BUTTON: case GUMBO_TAG_HEAD:
    case GUMBO_TAG_MENU: case GUMBO_TAG_OBJECT: case GUMBO_TAG_CANVAS:
      return true;
    default:
      return false;
  }
}

bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_LI: case GUMBO_TAG_UL: case GUMBO_TAG_OL:
    case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4: case GUMBO_TAG_H5: case GUMBO_TAG_H6:
    case GUMBO_TAG_TR: case GUMBO_TAG_TABLE: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE: case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE: case GUMBO_TAG_MAIN: case GUMBO_TAG_DT: case GUMBO_TAG_DD: case GUMBO_TAG_HR:
    case GUMBO_TAG_TITLE: case GUMBO_TAG_FIGCAPTION: case GUMBO_TAG_BODY: case GUMBO_TAG_DL:
      return true;
    default:
      return false;
  }
}

struct TextBuilder {
  std::string out;
  bool pending_space = false;
  void text(const char* s, bool preformatted) {
    for (const char* p = s; *p; ++p) {
      char c = *p;
      if (!preformatted && (c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f')) {
        pending_space = true;
        continue;
      }
      if (pending_space && !out.empty() && out.back() != '\n') out.push_back(' ');
      pending_space = false;
      out.push_back(c);
    }
  }
  void line_break() {  // <br>: ends the line, never makes a blank one
    pending_space = false;
    if (!out.empty() && out.back() != '\n') out.push_back('\n');
  }
  void newline() {
    pending_space = false;
    // At most one blank line in a row, none at the start.
    size_t n = out.size();
    if (n == 0 || (n >= 2 && out[n - 1] == '\n' && out[n - 2] == '\n')) return;
    out.push_back('\n');
  }
};

// Iterative walk (an explicit stack): deeply nested hostile pages must not overflow the call stack.
void walk(const GumboNode* root, TextBuilder& tb) {
  struct Frame { const GumboNode* node; unsigned next_child; bool pre; };
  std::vector<Frame> stack{{root, 0, false}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    const GumboNode* n = f.node;
    if (n->type == GUMBO_NODE_TEXT || n->type == GUMBO_NODE_WHITESPACE || n->type == GUMBO_NODE_CDATA) {
      tb.text(n->v.text.text, f.pre);
      stack.pop_back();
      continue;
    }
    if (n->type != GUMBO_NODE_ELEMENT && n->type != GUMBO_NODE_DOCUMENT && n->type != GUMBO_NODE_TEMPLATE) {
      stack.pop_back();
      continue;
    }
    const GumboVector& children = n->type == GUMBO_NODE_DOCUMENT ? n->v.document.children : n->v.element.children;
    GumboTag tag = n->type == GUMBO_NODE_DOCUMENT ? GUMBO_TAG_UNKNOWN : n->v.element.tag;
    if (f.next_child == 0) {
      if (n->type != GUMBO_NODE_DOCUMENT && is_dropped(tag)) { stack.pop_back(); continue; }
      if (tag == GUMBO_TAG_BR) { tb.line_break(); stack.pop_back(); continue; }
      if (is_block(tag)) tb.newline();
    }
    if (f.next_child < children.length) {
      bool pre = f.pre || tag == GUMBO_TAG_PRE;
      const auto* child = static_cast<const GumboNode*>(children.data[f.next_child++]);
      stack.push_back({child, 0, pre});
      continue;
    }
    if (is_block(tag)) tb.newline();
    stack.pop_back();
  }
}

// Errors are not used; recording them costs time and memory on broken pages.
GumboOptions parse_options() {
  GumboOptions o = kGumboDefaultOptions;
  o.max_errors = 0;
  return o;
}

std::string text_of(const GumboOutput* out) {
  TextBuilder tb;
  walk(out->document, tb);
  // Trim trailing spaces on each line and the text's trailing newlines.
  std::string clean;
  clean.reserve(tb.out.size());
  for (char c : tb.out) {
    if (c == '\n') {
      while (!clean.empty() && clean.back() == ' ') clean.pop_back();
    }
    clean.push_back(c);
  }
  while (!clean.empty() && (clean.back() == '\n' || clean.back() == ' ')) clean.pop_back();
  return clean;
}

std::string title_of(const GumboOutput* out) {
  std::string title;
  std::vector<const GumboNode*> stack{out->root};
  while (!stack.empty() && title.empty()) {
    const GumboNode* n = stack.back();
    stack.pop_back();
    if (n->type != GUMBO_NODE_ELEMENT) continue;
    if (n->v.element.tag == GUMBO_TAG_TITLE && n->v.element.children.length > 0) {
      const auto* t = static_cast<const GumboNode*>(n->v.element.children.data[0]);
      if (t->type == GUMBO_NODE_TEXT) title = t->v.text.text;
      continue;
    }
    for (unsigned i = 0; i < n->v.element.children.length; ++i) {
      stack.push_back(static_cast<const GumboNode*>(n->v.element.children.data[i]));
    }
  }
  return title;
}

// ---- Nesting cap ----
// gumbo's tree construction costs O(depth) per tag (scope checks walk the open elements), so a hostile page of
// 200k nested <div>s takes minutes. Before parsing, one linear scan estimates the depth; past kMaxDepth the
// tags that would nest deeper are dropped (their text stays), which bounds the parse to O(n * kMaxDepth).
// Normal pages never come near it and are parsed untouched.
constexpr int kMaxDepth = 512;

bool ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

std::string lower_name(std::string_view html, size_t i) {
  std::string n;
  while (i < html.size() && (ascii_alpha(html[i]) || (html[i] >= '0' && html[i] <= '9'))) {
    n += static_cast<char>(html[i] | 0x20);
    ++i;
  }
  return n;
}

// Elements that never hold children (void) or whose end tag is usually omitted: they do not count as nesting.
bool counts_as_nesting(const std::string& name) {
  static const char* const flat[] = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                                     "param", "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th",
                                     "option", "optgroup", "thead", "tbody", "tfoot", "colgroup", "caption", "rb",
                                     "rt", "rp", "html", "head", "body"};
  for (const char* f : flat) {
    if (name == f) return false;
  }
  return true;
}

// Calls on_tag(begin, end, opening, nesting) for every tag [begin, end) outside comments and raw text.
template <typename OnTag>
void scan_tags(std::string_view html, OnTag on_tag) {
  size_t i = 0;
  while ((i = html.find('<', i)) != std::string_view::npos) {
    if (html.compare(i, 4, "<!--") == 0) {
      const size_t e = html.find("-->", i + 4);
      i = e == std::string_view::npos ? html.size() : e + 3;
      continue;
    }
    const bool closing = i + 1 < html.size() && html[i + 1] == '/';
    const size_t name_at = i + (closing ? 2 : 1);
    if (name_at >= html.size() || !ascii_alpha(html[name_at])) {
      ++i;
      continue;
    }
    const std::string name = lower_name(html, name_at);
    const size_t gt = html.find('>', name_at);
    const size_t end = gt == std::string_view::npos ? html.size() : gt + 1;
    const bool self_closing = end >= 2 && html[end - 2] == '/';
    on_tag(i, end, !closing, counts_as_nesting(name) && !self_closing);
    i = end;
    if (!closing && (name == "script" || name == "style")) {  // raw text up to the end tag
      const size_t e = html.find("</" + name, i);
      i = e == std::string_view::npos ? html.size() : e;
    }
  }
}

// The page with the tags that nest deeper than kMaxDepth removed (only called when some do).
std::string cap_nesting(std::string_view html) {
  std::string out;
  out.reserve(html.size());
  int depth = 0, dropped = 0;  // dropped: open tags removed whose end tags are still to come
  size_t copied = 0;
  scan_tags(html, [&](size_t begin, size_t end, bool opening, bool nesting) {
    if (!nesting) return;
    bool drop = false;
    if (opening) {
      if (depth >= kMaxDepth) drop = true, ++dropped;
      else ++depth;
    } else if (dropped > 0) {
      drop = true, --dropped;
    } else if (depth > 0) {
      --depth;
    }
    if (drop) {
      out.append(html.substr(copied, begin - copied));
      copied = end;
    }
  });
  out.append(html.substr(copied));
  return out;
}

int max_nesting(std::string_view html) {
  int depth = 0, deepest = 0;
  scan_tags(html, [&](size_t, size_t, bool opening, bool nesting) {
    if (!nesting) return;
    depth = opening ? depth + 1 : std::max(0, depth - 1);
    deepest = std::max(deepest, depth);
  });
  return deepest;
}

GumboOutput* parse_capped(const GumboOptions& options, std::string_view html, std::string& storage,
                          bool* capped = nullptr) {
  const bool deep = max_nesting(html) > kMaxDepth;
  if (capped) *capped = deep;
  if (deep) {
    storage = cap_nesting(html);
    html = storage;
  }
  return gumbo_parse_with_options(&options, html.data(), html.size());
}

}  // namespace

std::string html_to_text(std::string_view html, std::string* title, bool* nesting_capped) {
  GumboOptions options = parse_options();
  std::string storage;
  GumboOutput* out = parse_capped(options, html, storage, nesting_capped);
  std::string text = text_of(out);
  if (title) *title = title_of(out);
  gumbo_destroy_output(&options, out);
  return text;
}

std::string html_to_text(std::string_view html) { return html_to_text(html, nullptr); }

std::string html_title(std::string_view html) {
  GumboOptions options = parse_options();
  std::string storage;
  GumboOutput* out = parse_capped(options, html, storage);
  std::string title = title_of(out);
  gumbo_destroy_output(&options, out);
  return title;
}

}  // namespace lmzip::corpus
