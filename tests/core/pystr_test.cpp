// Python 3 str.strip/lstrip/rstrip/lower/capitalize on Unicode text (pystr.h). Each expected string is derived by
// hand from CPython's definitions: Objects/unicodeobject.c (do_capitalize: _PyUnicode_ToTitleFull of the first
// character, lower_ucs4 of the rest; handle_capital_sigma; do_strip with Py_UNICODE_ISSPACE) and
// Tools/unicode/makeunicodedata.py (SPACE_MASK: category Zs or bidirectional WS/B/S), with the mappings of
// UnicodeData.txt and SpecialCasing.txt.
#include <gtest/gtest.h>

#include "lmzip/core/pystr.h"

namespace lmzip {
namespace {

TEST(PyStr, IsSpaceIsPythonsSet) {
  // Category Zs.
  for (uint32_t c : {0x20u, 0xA0u, 0x1680u, 0x2000u, 0x2005u, 0x200Au, 0x202Fu, 0x205Fu, 0x3000u}) {
    EXPECT_TRUE(py_isspace(c)) << std::hex << c;
  }
  // Bidirectional B (paragraph separators), S (segment separators), WS.
  for (uint32_t c : {0x0Au, 0x0Du, 0x1Cu, 0x1Du, 0x1Eu, 0x85u, 0x2029u, 0x09u, 0x0Bu, 0x1Fu, 0x0Cu, 0x2028u}) {
    EXPECT_TRUE(py_isspace(c)) << std::hex << c;
  }
  // Not whitespace in Python: ZERO WIDTH SPACE and BOM are Cf with bidi BN; MONGOLIAN VOWEL SEPARATOR is Cf since
  // Unicode 6.3; NUL and the other C0 controls are BN; 'x'.
  for (uint32_t c : {0x200Bu, 0xFEFFu, 0x180Eu, 0x00u, 0x08u, 0x0Eu, 0x1Bu, 0x7Fu, 0x78u, 0x110000u}) {
    EXPECT_FALSE(py_isspace(c)) << std::hex << c;
  }
}

TEST(PyStr, StripUsesUnicodeWhitespace) {
  EXPECT_EQ(py_strip(" \t a b \n"), "a b");
  // "caf\u00e9\u00a0".strip() == "caf\u00e9": NO-BREAK SPACE is Zs.
  EXPECT_EQ(py_strip("caf\u00e9\u00a0"), "caf\u00e9");
  // IDEOGRAPHIC SPACE, NEXT LINE (U+0085), EM SPACE, LINE SEPARATOR and the C0 separators FS..US all go.
  EXPECT_EQ(py_strip("\u3000\u0085\x1c\x1f x y\u2003\u2028\x1d"), "x y");
  // ZERO WIDTH SPACE is not whitespace: "\u200bword\u200b".strip() keeps both.
  EXPECT_EQ(py_strip("\u200bword\u200b "), "\u200bword\u200b");
  EXPECT_EQ(py_strip("\ufeffword"), "\ufeffword");
  EXPECT_EQ(py_lstrip("\u00a0 a \u00a0"), "a \u00a0");
  EXPECT_EQ(py_rstrip("\u00a0 a \u00a0"), "\u00a0 a");
  EXPECT_EQ(py_strip(" \u2009 "), "");
  EXPECT_EQ(py_strip(""), "");
  // Bytes that are not UTF-8 have no Python counterpart: kept, never whitespace.
  EXPECT_EQ(py_strip(" \xff \x80"), "\xff \x80");
}

TEST(PyStr, LowerIsFullLowercaseWithFinalSigma) {
  EXPECT_EQ(py_lower("YOUR plants NEED light"), "your plants need light");
  EXPECT_EQ(py_lower("\u00c9COLE"), "\u00e9cole");  // "ÉCOLE" -> "école"
  // "ΟΔΟΣ".lower() == "οδος" with the final sigma U+03C2: Σ ends the word (preceded by the cased Ο).
  EXPECT_EQ(py_lower("\u039f\u0394\u039f\u03a3"), "\u03bf\u03b4\u03bf\u03c2");
  // A sigma followed by a cased letter, or preceded by none, is the medial σ: "ΣΑ ΑΣΑ Σ".lower() == "σα ασα σ".
  EXPECT_EQ(py_lower("\u03a3\u0391 \u0391\u03a3\u0391 \u03a3"), "\u03c3\u03b1 \u03b1\u03c3\u03b1 \u03c3");
  // Case-ignorable characters (an apostrophe) are skipped in the context: "ΑΣ'".lower() == "ας'".
  EXPECT_EQ(py_lower("\u0391\u03a3'"), "\u03b1\u03c2'");
  // SpecialCasing's unconditional "0130; 0069 0307": "İ".lower() is two characters (i + COMBINING DOT ABOVE).
  EXPECT_EQ(py_lower("\u0130"), "i\u0307");
  EXPECT_EQ(py_lower("I"), "i");  // no Turkish dotless ı: the root locale, whatever the process locale
  EXPECT_EQ(py_lower("\xff"), "\xff");
}

TEST(PyStr, CapitalizeTitleCasesTheFirstCharacterAndLowersTheRest) {
  EXPECT_EQ(py_capitalize("YOUR plants NEED light"), "Your plants need light");
  EXPECT_EQ(py_capitalize("then"), "Then");
  EXPECT_EQ(py_capitalize("the \u00e9cole instructor"), "The \u00e9cole instructor");  // "the école instructor"
  EXPECT_EQ(py_capitalize("the \u00c9cole instructor"), "The \u00e9cole instructor");  // the rest is lowered
  EXPECT_EQ(py_capitalize("\u00e9cole"), "\u00c9cole");                                // "école" -> "École"
  // Title case, not upper case: "ǆemal" (U+01C6) -> "ǅemal" (U+01C5), not "Ǆemal" (U+01C4).
  EXPECT_EQ(py_capitalize("\u01c6emal"), "\u01c5emal");
  EXPECT_EQ(py_capitalize("\u01c4EMAL"), "\u01c5emal");
  // Full (SpecialCasing) title mappings can be longer: "ﬁsh" (U+FB01) -> "Fish", "ß" -> "Ss", "ŉ" -> "ʼN".
  EXPECT_EQ(py_capitalize("\ufb01sh"), "Fish");
  EXPECT_EQ(py_capitalize("\u00dfe"), "Sse");
  EXPECT_EQ(py_capitalize("\u0149"), "\u02bcN");
  // The final-sigma rule in the rest sees the first character: "ΟΔΟΣ" -> "Οδος", "ΑΣ" -> "Ας".
  EXPECT_EQ(py_capitalize("\u039f\u0394\u039f\u03a3"), "\u039f\u03b4\u03bf\u03c2");
  EXPECT_EQ(py_capitalize("\u0391\u03a3"), "\u0391\u03c2");
  // Exactly the first character, whatever it is: '"hello WORLD' -> '"hello world', " abc" -> " abc".
  EXPECT_EQ(py_capitalize("\"hello WORLD"), "\"hello world");
  EXPECT_EQ(py_capitalize(" ABC"), " abc");
  EXPECT_EQ(py_capitalize("1ST"), "1st");
  EXPECT_EQ(py_capitalize(""), "");
}

}  // namespace
}  // namespace lmzip
