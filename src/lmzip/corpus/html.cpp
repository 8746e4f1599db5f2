// HTML → text with gumbo.
#include <gumbo.h>

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

}  // namespace

std::string html_to_text(std::string_view html, std::string* title) {
  GumboOptions options = parse_options();
  GumboOutput* out = gumbo_parse_with_options(&options, html.data(), html.size());
  std::string text = text_of(out);
  if (title) *title = title_of(out);
  gumbo_destroy_output(&options, out);
  return text;
}

std::string html_to_text(std::string_view html) { return html_to_text(html, nullptr); }

std::string html_title(std::string_view html) {
  GumboOptions options = parse_options();
  GumboOutput* out = gumbo_parse_with_options(&options, html.data(), html.size());
  std::string title = title_of(out);
  gumbo_destroy_output(&options, out);
  return title;
}

}  // namespace lmzip::corpus
