// lmzip corpus build|stats|overlap|merge: fresh, filtered, deduplicated evaluation corpora from raw sources.
#include <cmath>
#include <iostream>
#include <nlohmann/json.hpp>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/corpus/analysis.h"
#include "lmzip/corpus/pipeline.h"
#include "lmzip/corpus/shards.h"
#include "lmzip/io/file.h"

namespace lmzip::cli {
namespace {

using corpus::BuildOptions;

// "12", "100M", "1.5G" (decimal: K=1e3, M=1e6, G=1e9) → a count.
uint64_t parse_count(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    std::string suffix = v.substr(used);
    double mult = suffix.empty() ? 1 : suffix == "K" || suffix == "k" ? 1e3 : suffix == "M" ? 1e6 : suffix == "G" ? 1e9 : -1;
    if (mult < 0 || x < 0 || !std::isfinite(x)) throw std::invalid_argument("bad");
    return static_cast<uint64_t>(std::llround(x * mult));
  } catch (const std::exception&) {
    throw UsageError(flag + " " + v + ": expected a non-negative number (suffix K, M or G allowed)");
  }
}

double parse_real(const std::string& flag, const std::string& v) {
  try {
    size_t used = 0;
    double x = std::stod(v, &used);
    if (used != v.size() || !std::isfinite(x)) throw std::invalid_argument("bad");
    return x;
  } catch (const std::exception&) {
    throw UsageError(flag + " " + v + ": expected a number");
  }
}

// The study's recipes (PROTOCOL.md §4). Every field can be overridden by a later option.
void apply_preset(const std::string& name, BuildOptions& o, bool have_metadata) {
  if (name.empty()) return;
  o.preset = name;
  if (name == "cc") {
    o.subset = "cc";
    o.filter.min_chars = 300;
    o.filter.language = "en";
    o.filter.language_min_confidence = 0.5;
    o.filter.gopher.enabled = true;
    o.paragraphs.enabled = true;  // CCNet's paragraph dedup, then exact + MinHash on whole documents
    o.dedup.shingle = 5;
    o.sample_unit = corpus::SampleUnit::Document;
  } else if (name == "python") {
    o.subset = "python";
    o.source.extensions = {".py"};
    o.source.max_document_bytes = 1000000;  // files <= 1 MB
    o.filter.code.enabled = true;
    o.dedup.shingle = 1;  // CodeParrot near-dedup: sets of tokens
    o.sample_unit = corpus::SampleUnit::Repository;
  } else if (name == "arxiv-math") {
    o.subset = "arxiv_math";
    o.source.papers = true;
    o.filter.min_chars = 500;
    o.dedup.shingle = 5;
    if (have_metadata) o.category_prefix = "math";
    o.sample_unit = corpus::SampleUnit::Document;
  } else {
    throw UsageError("--preset " + name + ": unknown preset (cc, python, arxiv-math)");
  }
}

struct BuildFlags {
  std::string preset, output, subset, text_field, date_field, repo_field, max_doc_bytes, pandoc_timeout, repo_depth,
      shard, min_chars, max_chars, lang, lang_conf, code_max_line, code_mean_line, code_alnum, code_drop_prob,
      code_assign, gopher_min_words, gopher_max_words, gopher_stop, gopher_symbol, gopher_alpha, after, before,
      category, metadata, num_perm, bands, rows, jaccard, shingle, target, unit, seed, threads, zstd_level;
  std::vector<std::string> ext, inputs, paragraph_hashes;
  std::string write_paragraph_hashes;
  bool paragraph_dedup = false, no_paragraph_dedup = false, all_copies = false;
  bool papers = false, files = false, pandoc = false, code = false, no_code = false, gopher = false,
       no_gopher = false, keep_undated = false, no_exact = false, no_near = false, json = false, quiet = false;
};

void declare_build_flags(ArgParser& a, BuildFlags& f, bool merge) {
  a.option("-o,--output", "OUT.jsonl", &f.output, "output corpus (.jsonl or .jsonl.zst); OUT.manifest.json beside it");
  if (!merge) {
    a.option("--preset", "NAME", &f.preset, "the study's recipe: cc, python, arxiv-math (options below override)");
    a.option("--subset", "NAME", &f.subset, "subset of documents that carry none (cc, python, arxiv_math)");
    a.option("--ext", "SUFFIX", &f.ext, "directory walks keep files ending so (repeatable; e.g. .py)");
    a.option("--text-field", "NAME", &f.text_field, "JSONL text field (default content, then text)");
    a.option("--date-field", "NAME", &f.date_field, "JSONL date field (default date)");
    a.option("--repo-field", "NAME", &f.repo_field, "JSONL repository field (default repo)");
    a.option("--max-doc-bytes", "N", &f.max_doc_bytes, "skip files/records larger than N bytes (default 64M)");
    a.flag("--papers", &f.papers, "archives are LaTeX source bundles: one paper each (arXiv)");
    a.flag("--files", &f.files, "archives: one document per member file");
    a.flag("--pandoc", &f.pandoc, "convert LaTeX with pandoc (must be installed) instead of the built-in converter");
    a.option("--pandoc-timeout", "SECONDS", &f.pandoc_timeout, "pandoc time limit per paper (default 10)");
    a.option("--repo-depth", "N", &f.repo_depth, "path components below a directory root naming a repository (1)");
    a.option("--shard", "I/N", &f.shard, "process inputs i, i+N, ... of the sorted list, for `corpus merge`");
    a.option("--min-chars", "N", &f.min_chars, "drop documents shorter than N characters");
    a.option("--max-chars", "N", &f.max_chars, "drop documents longer than N characters (0: no limit)");
    a.option("--lang", "CODE", &f.lang, "keep only this CLD2 language (en, de, ...; none: off)");
    a.option("--lang-confidence", "X", &f.lang_conf, "minimum share of the text in that language (0..1, 0.5)");
    a.flag("--code-filters", &f.code, "the study's code filters");
    a.flag("--no-code-filters", &f.no_code, "disable the code filters");
    a.option("--code-max-line-length", "N", &f.code_max_line, "drop code with a longer line (1000)");
    a.option("--code-max-mean-line-length", "X", &f.code_mean_line, "drop code with a larger mean line length (100)");
    a.option("--code-min-alnum", "X", &f.code_alnum, "drop code with a smaller alphanumeric fraction (0.25)");
    a.option("--code-drop-prob", "P", &f.code_drop_prob, "drop probability of config/test and keyword-less files (0.7)");
    a.option("--code-max-assignments", "N", &f.code_assign, "drop code with at most N '=' signs (4; -1 off)");
    a.flag("--gopher", &f.gopher, "Gopher prose quality rules");
    a.flag("--no-gopher", &f.no_gopher, "disable the Gopher rules");
    a.option("--gopher-min-words", "N", &f.gopher_min_words, "Gopher: minimum words (50)");
    a.option("--gopher-max-words", "N", &f.gopher_max_words, "Gopher: maximum words (100000)");
    a.option("--gopher-min-stop-words", "N", &f.gopher_stop, "Gopher: minimum distinct stop words (2)");
    a.option("--gopher-max-symbol-ratio", "X", &f.gopher_symbol, "Gopher: maximum '#'/ellipsis per word (0.1)");
    a.option("--gopher-min-alpha-words", "X", &f.gopher_alpha, "Gopher: minimum share of words with a letter (0.8)");
    a.option("--after", "DATE", &f.after, "keep documents dated on/after DATE (ISO, e.g. 2023-09-01)");
    a.option("--before", "DATE", &f.before, "keep documents dated before DATE");
    a.flag("--keep-undated", &f.keep_undated, "with a date window, keep documents without a date");
    a.option("--category", "PREFIX", &f.category, "keep documents whose first meta category starts with PREFIX");
    a.option("--arxiv-metadata", "FILE", &f.metadata, "arXiv metadata JSONL (id, categories) joined to papers");
  }
  a.flag("--paragraph-dedup", &f.paragraph_dedup, "CCNet paragraph dedup: drop lines seen before (on in cc)");
  a.flag("--no-paragraph-dedup", &f.no_paragraph_dedup, "disable paragraph deduplication");
  a.flag("--paragraph-all-copies", &f.all_copies,
         "paragraph dedup as CCNet's mine.py: drop every copy of a line found in 2+ documents (reads twice)");
  a.option("--paragraph-hashes", "FILE", &f.paragraph_hashes,
           "paragraph hashes counted as seen (repeatable; from --write-paragraph-hashes)");
  a.option("--write-paragraph-hashes", "FILE", &f.write_paragraph_hashes,
           "write every paragraph hash seen (references included) to FILE");
  a.flag("--no-exact-dedup", &f.no_exact, "disable exact deduplication");
  a.flag("--no-near-dedup", &f.no_near, "disable MinHash near-deduplication");
  a.option("--num-perm", "N", &f.num_perm, "MinHash permutations (256)");
  a.option("--bands", "N", &f.bands, "LSH bands (32)");
  a.option("--rows", "N", &f.rows, "LSH rows per band (8)");
  a.option("--jaccard", "X", &f.jaccard, "near-duplicate threshold on estimated Jaccard (0.85)");
  a.option("--shingle", "N", &f.shingle, "tokens per shingle (python 1, prose 5)");
  a.option("--target-chars", "N", &f.target, "sample to about N characters (suffix K/M/G; 0: keep all)");
  a.option("--sample-unit", "UNIT", &f.unit, "document or repository (files of a repository together)");
  a.option("--seed", "N", &f.seed, "seed for sampling, MinHash and probabilistic filters (0)");
  a.option("--threads", "N", &f.threads, "worker threads (default: all; results do not depend on it)");
  a.option("--zstd-level", "N", &f.zstd_level, "zstd level for .zst output (10)");
  a.flag("--json", &f.json, "print the manifest as JSON on stdout");
  a.flag("-q,--quiet", &f.quiet, "no progress on stderr");
}

void apply_flags(BuildFlags& f, BuildOptions& o) {
  auto num = [&](const std::string& v, const char* flag, auto& dst) {
    if (!v.empty()) dst = static_cast<std::remove_reference_t<decltype(dst)>>(parse_count(flag, v));
  };
  auto real = [&](const std::string& v, const char* flag, double& dst) {
    if (!v.empty()) dst = parse_real(flag, v);
  };
  o.output = f.output;
  if (!f.subset.empty()) o.subset = f.subset;
  if (!f.ext.empty()) o.source.extensions = f.ext;
  if (!f.text_field.empty()) o.source.text_field = f.text_field;
  if (!f.date_field.empty()) o.source.date_field = f.date_field;
  if (!f.repo_field.empty()) o.source.repo_field = f.repo_field;
  num(f.max_doc_bytes, "--max-doc-bytes", o.source.max_document_bytes);
  if (f.papers) o.source.papers = true;
  if (f.files) o.source.papers = false;
  if (f.pandoc) o.source.use_pandoc = true;
  real(f.pandoc_timeout, "--pandoc-timeout", o.source.pandoc_timeout);
  num(f.repo_depth, "--repo-depth", o.source.repo_depth);
  if (!f.shard.empty()) {
    size_t slash = f.shard.find('/');
    if (slash == std::string::npos) throw UsageError("--shard " + f.shard + ": expected I/N, e.g. 0/8");
    num(f.shard.substr(0, slash), "--shard", o.source.shard_index);
    num(f.shard.substr(slash + 1), "--shard", o.source.shard_count);
  }
  num(f.min_chars, "--min-chars", o.filter.min_chars);
  num(f.max_chars, "--max-chars", o.filter.max_chars);
  if (!f.lang.empty()) o.filter.language = f.lang == "none" ? "" : f.lang;
  real(f.lang_conf, "--lang-confidence", o.filter.language_min_confidence);
  auto& c = o.filter.code;
  if (f.code) c.enabled = true;
  if (f.no_code) c.enabled = false;
  num(f.code_max_line, "--code-max-line-length", c.max_line_length);
  real(f.code_mean_line, "--code-max-mean-line-length", c.max_mean_line_length);
  real(f.code_alnum, "--code-min-alnum", c.min_alnum_fraction);
  if (!f.code_drop_prob.empty()) c.config_or_test_drop_prob = c.no_keyword_drop_prob = parse_real("--code-drop-prob", f.code_drop_prob);
  if (!f.code_assign.empty()) c.max_assignments_to_drop = static_cast<int>(parse_real("--code-max-assignments", f.code_assign));
  auto& g = o.filter.gopher;
  if (f.gopher) g.enabled = true;
  if (f.no_gopher) g.enabled = false;
  num(f.gopher_min_words, "--gopher-min-words", g.min_words);
  num(f.gopher_max_words, "--gopher-max-words", g.max_words);
  num(f.gopher_stop, "--gopher-min-stop-words", g.min_stop_words);
  real(f.gopher_symbol, "--gopher-max-symbol-ratio", g.max_symbol_word_ratio);
  real(f.gopher_alpha, "--gopher-min-alpha-words", g.min_alpha_word_fraction);
  if (!f.after.empty()) o.filter.date_after = f.after;
  if (!f.before.empty()) o.filter.date_before = f.before;
  if (f.keep_undated) o.filter.keep_undated = true;
  if (!f.category.empty()) o.category_prefix = f.category == "none" ? "" : f.category;
  if (!f.metadata.empty()) o.arxiv_metadata = f.metadata;
  if (f.paragraph_dedup || f.all_copies) o.paragraphs.enabled = true;
  if (f.all_copies) o.paragraphs.remove_all_copies = true;
  if (f.no_paragraph_dedup) o.paragraphs.enabled = false;
  if (!f.paragraph_hashes.empty() || !f.write_paragraph_hashes.empty()) {
    if (!o.paragraphs.enabled) {
      throw UsageError("--paragraph-hashes/--write-paragraph-hashes need paragraph dedup (--paragraph-dedup or "
                       "--preset cc)");
    }
    o.paragraphs.reference_files = f.paragraph_hashes;
    o.paragraphs.write_hashes = f.write_paragraph_hashes;
  }
  if (f.no_exact) o.dedup.exact = false;
  if (f.no_near) o.dedup.near = false;
  num(f.num_perm, "--num-perm", o.dedup.num_perm);
  num(f.bands, "--bands", o.dedup.bands);
  num(f.rows, "--rows", o.dedup.rows);
  real(f.jaccard, "--jaccard", o.dedup.threshold);
  num(f.shingle, "--shingle", o.dedup.shingle);
  num(f.target, "--target-chars", o.target_chars);
  if (!f.unit.empty()) {
    if (f.unit == "document") o.sample_unit = corpus::SampleUnit::Document;
    else if (f.unit == "repository") o.sample_unit = corpus::SampleUnit::Repository;
    else throw UsageError("--sample-unit " + f.unit + ": expected document or repository");
  }
  num(f.seed, "--seed", o.seed);
  o.dedup.seed = o.filter.seed = o.seed;
  num(f.threads, "--threads", o.threads);
  num(f.zstd_level, "--zstd-level", o.zstd_level);
  for (const auto& d : {o.filter.date_after, o.filter.date_before}) {
    if (!d.empty() && corpus::normalize_date(d).empty()) {
      throw UsageError("date " + d + ": expected an ISO date such as 2023-09-01 or 2023-09-01T12:00:00");
    }
  }
}

void print_summary(const corpus::BuildResult& r, bool json) {
  if (json) {
    std::cout << r.manifest.dump(2) << "\n";
    return;
  }
  const auto& c = r.counts;
  std::cout << "read          " << c.read << " documents\n";
  std::cout << "skipped       " << c.total(c.skipped) << "\n";
  for (const auto& [k, v] : c.skipped) std::cout << "  " << k << " " << v << "\n";
  std::cout << "filtered      " << c.total(c.filtered) << "\n";
  for (const auto& [k, v] : c.filtered) std::cout << "  " << k << " " << v << "\n";
  if (r.manifest["parameters"]["paragraph_dedup"]["enabled"].get<bool>()) {
    std::cout << "paragraphs    " << c.paragraphs.seen << " seen, " << c.paragraphs.removed << " removed ("
              << c.paragraphs.characters_removed << " characters, " << c.paragraphs.documents_changed
              << " documents changed, " << c.paragraph_duplicates << " dropped as too short)\n";
  }
  std::cout << "duplicates    " << c.exact_duplicates << " exact, " << c.near_duplicates << " near\n";
  std::cout << "sampled out   " << c.sampled_out << "\n";
  std::cout << "written       " << c.written << " documents, " << c.chars_written << " characters, "
            << c.bytes_written << " bytes\n";
  std::cout << "output        " << r.manifest["output"]["path"].get<std::string>() << " (sha256 "
            << r.manifest["output"]["sha256"].get<std::string>() << ")\n";
  std::cout << "manifest      " << r.manifest_path << "\n";
}

// Merging shards of one build: its stages and their parameters are in the shards' manifests.
void refuse_stage_flags(const BuildFlags& f) {
  std::pair<const char*, bool> given[] = {
      {"--paragraph-dedup", f.paragraph_dedup}, {"--no-paragraph-dedup", f.no_paragraph_dedup},
      {"--paragraph-all-copies", f.all_copies}, {"--paragraph-hashes", !f.paragraph_hashes.empty()},
      {"--write-paragraph-hashes", !f.write_paragraph_hashes.empty()}, {"--no-exact-dedup", f.no_exact},
      {"--no-near-dedup", f.no_near}, {"--num-perm", !f.num_perm.empty()}, {"--bands", !f.bands.empty()},
      {"--rows", !f.rows.empty()}, {"--jaccard", !f.jaccard.empty()}, {"--shingle", !f.shingle.empty()},
      {"--target-chars", !f.target.empty()}, {"--sample-unit", !f.unit.empty()}, {"--seed", !f.seed.empty()}};
  for (const auto& [flag, set] : given) {
    if (set) {
      throw UsageError(std::string(flag) + ": a merge of `corpus build --shard` outputs runs the build's own stages "
                       "with its parameters (from the shards' manifests); give it to `corpus build --shard`");
    }
  }
}

// Which merge: of the N shards of one build (each input has a shard manifest), or of finished corpora.
bool inputs_are_shards(const std::vector<std::string>& inputs) {
  size_t shards = 0;
  for (const auto& in : inputs) shards += corpus::is_shard_output(in);
  if (shards != 0 && shards != inputs.size()) {
    for (const auto& in : inputs) {
      if (!corpus::is_shard_output(in)) {
        throw UsageError(in + ": not an output of `corpus build --shard`, unlike the other inputs (merge either "
                         "the N shards of one build, or finished corpora)");
      }
    }
  }
  return shards != 0;
}

int run_build_like(int argc, char** argv, bool merge) {
  BuildFlags f;
  std::string usage = merge ? "lmzip corpus merge -o OUT.jsonl[.zst] SHARD.jsonl... [options]"
                            : "lmzip corpus build [--preset cc|python|arxiv-math] [options] -o OUT.jsonl[.zst] INPUT...";
  ArgParser a(usage, merge ? "Given the N outputs of `corpus build --shard i/N`: runs the build's own stages from paragraph\n"
                             "dedup on (its parameters, from the shards' manifests) over their documents in the build's input\n"
                             "order, giving exactly the corpus one `corpus build` gives (their paragraph, dedup, sampling\n"
                             "and seed options are then refused). Given finished corpora: joins them with a global exact + near dedup pass (and\n"
                             "optional sampling); each record's content, subset and meta are kept."
                           : "Builds a corpus from directories, globs, JSONL(.gz/.zst), WARC/WET and tar/zip archives:\n"
                             "extraction, paragraph dedup (cc), filters, exact + MinHash dedup, seeded sampling; writes OUT\n"
                             "and its manifest.");
  declare_build_flags(a, f, merge);
  a.positionals(merge ? "SHARD.jsonl" : "INPUT", &f.inputs, 1, 1000000,
                merge ? "the shards' -o files, or finished corpora (files, directories or globs)"
                      : "input files, directories or globs");
  if (!a.parse(argc, argv)) return 0;
  if (f.output.empty()) throw UsageError("-o OUT.jsonl is required");
  bool show = !f.quiet && stderr_is_terminal();
  if (merge && inputs_are_shards(f.inputs)) {
    refuse_stage_flags(f);
    corpus::MergeOptions m{.shards = f.inputs, .output = f.output};
    if (!f.threads.empty()) m.threads = static_cast<int>(parse_count("--threads", f.threads));
    if (!f.zstd_level.empty()) m.zstd_level = static_cast<int>(parse_count("--zstd-level", f.zstd_level));
    corpus::BuildResult r = corpus::merge_shards(m);
    if (!f.quiet) std::cerr << "corpus: merged " << f.inputs.size() << " shards in " << r.seconds << " s\n";
    print_summary(r, f.json);
    return 0;
  }
  BuildOptions o;
  if (merge) {
    o.preset = "merge";
    o.dedup.shingle = 5;
  }
  apply_preset(f.preset, o, !f.metadata.empty());
  apply_flags(f, o);
  o.inputs = f.inputs;
  if (o.preset == "arxiv-math" && o.arxiv_metadata.empty() && f.category.empty() && !f.quiet) {
    std::cerr << "note: no --arxiv-metadata: the category filter (math) is off\n";
  }
  auto progress = [&](const corpus::BuildProgress& p) {
    if (show) {
      std::cerr << "\r" << p.files_done << "/" << p.files_total << " files, " << p.documents << " documents, "
                << (p.bytes_total ? 100 * p.bytes_done / p.bytes_total : 100) << "%   " << std::flush;
    }
  };
  corpus::BuildResult r = corpus::build_corpus(o, progress);
  if (show) std::cerr << "\n";
  if (!f.quiet) {
    std::cerr << "corpus: " << r.input_bytes << " input bytes in " << r.seconds << " s ("
              << (r.seconds > 0 ? static_cast<double>(r.input_bytes) / 1e6 / r.seconds : 0.0) << " MB/s), dedup index "
              << r.dedup_index_bytes << " bytes\n";
  }
  print_summary(r, f.json);
  return 0;
}

int run_stats(int argc, char** argv) {
  std::vector<std::string> files;
  std::string text_field = "content";
  bool json = false;
  ArgParser a("lmzip corpus stats FILE... [--json]", "Summarises corpus files: documents, characters, bytes, subsets,\n"
                                                     "length percentiles, exact duplicates.");
  a.option("--text-field", "NAME", &text_field, "the text field (content)");
  a.flag("--json", &json, "one JSON object per file");
  a.positionals("FILE", &files, 1, 100000, "corpus JSONL files (.gz/.zst ok)");
  if (!a.parse(argc, argv)) return 0;
  for (const auto& file : files) {
    nlohmann::json s = corpus::corpus_stats(file, text_field);
    if (json) {
      std::cout << s.dump() << "\n";
      continue;
    }
    std::cout << "file               " << file << "\n"
              << "documents          " << s["documents"] << "\n"
              << "characters         " << s["characters"] << "\n"
              << "bytes              " << s["bytes"] << "\n"
              << "exact duplicates   " << s["exact_duplicates"] << "\n"
              << "empty documents    " << s["empty_documents"] << "\n"
              << "chars/document     mean " << s["chars_per_document"]["mean"] << ", median "
              << s["chars_per_document"]["median"] << ", p10 " << s["chars_per_document"]["p10"] << ", p90 "
              << s["chars_per_document"]["p90"] << ", max " << s["chars_per_document"]["max"] << "\n";
    for (auto& [k, v] : s["subsets"].items()) {
      std::cout << "subset " << (k.empty() ? "(none)" : k) << "  " << v["documents"] << " documents, "
                << v["characters"] << " characters\n";
    }
  }
  return 0;
}

int run_overlap(int argc, char** argv) {
  std::vector<std::string> files, against;
  std::string text_field = "content", output, ngram = "13", threshold_s;
  bool json = false, per_doc = false;
  ArgParser a("lmzip corpus overlap CORPUS --against FILE... [--threshold X -o CLEAN.jsonl] [--per-doc] [--json]",
              "Contamination check: per document, the share of its word 13-grams (lower-cased, punctuation\n"
              "dropped) that occur in the given benchmark or training texts (JSONL: all string values; or text).");
  a.option("--against", "FILE", &against, "benchmark/training text to compare with (repeatable)");
  a.option("--ngram", "N", &ngram, "words per n-gram (13)");
  a.option("--threshold", "X", &threshold_s, "documents with a share above X count as contaminated");
  a.option("-o,--output", "CLEAN.jsonl", &output, "write the corpus without contaminated documents");
  a.option("--text-field", "NAME", &text_field, "the text field (content)");
  a.flag("--per-doc", &per_doc, "print one line per document: line number, n-grams, found, share");
  a.flag("--json", &json, "print the summary as JSON");
  a.positionals("CORPUS", &files, 1, 1, "the corpus JSONL");
  if (!a.parse(argc, argv)) return 0;
  if (against.empty()) throw UsageError("--against FILE is required");
  double threshold = threshold_s.empty() ? 0.0 : parse_real("--threshold", threshold_s);
  if (!output.empty() && threshold_s.empty()) throw UsageError("-o needs --threshold X");
  int n = static_cast<int>(parse_count("--ngram", ngram));
  if (n < 1) throw UsageError("--ngram must be at least 1");
  corpus::NgramIndex index(n);
  for (const auto& f : against) index.add_file(f);
  std::unique_ptr<AtomicFileWriter> out;
  if (!output.empty()) out = std::make_unique<AtomicFileWriter>(output);
  uint64_t docs = 0, contaminated = 0, any = 0;
  double share_sum = 0;
  corpus::for_each_record(files[0], text_field, [&](nlohmann::json& rec, uint64_t line) {
    uint64_t total = 0, found = 0;
    double share = index.overlap(rec[text_field].get_ref<const std::string&>(), &total, &found);
    ++docs;
    share_sum += share;
    any += found > 0;
    bool bad = !threshold_s.empty() && share > threshold;
    contaminated += bad;
    if (per_doc) std::cout << line << "\t" << total << "\t" << found << "\t" << share << "\n";
    if (out && !bad) out->write(rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  });
  if (out) out->commit();
  nlohmann::json s = {{"corpus", files[0]}, {"against", against}, {"ngram", n}, {"index_ngrams", index.size()},
                      {"documents", docs}, {"documents_with_overlap", any},
                      {"mean_share", docs ? share_sum / static_cast<double>(docs) : 0.0}};
  if (!threshold_s.empty()) s["threshold"] = threshold, s["contaminated"] = contaminated;
  if (!output.empty()) s["output"] = output, s["kept"] = docs - contaminated;
  if (json) std::cout << s.dump() << "\n";
  else if (!per_doc) {
    std::cout << "documents            " << docs << "\nwith any overlap     " << any << "\nmean 13-gram share   "
              << s["mean_share"] << "\n";
    if (!threshold_s.empty()) std::cout << "contaminated (>" << threshold << ") " << contaminated << "\n";
  }
  return 0;
}

int run_corpus(int argc, char** argv) {
  std::string sub = argc >= 2 ? argv[1] : "";
  if (sub == "build") return run_build_like(argc - 1, argv + 1, false);
  if (sub == "merge") return run_build_like(argc - 1, argv + 1, true);
  if (sub == "stats") return run_stats(argc - 1, argv + 1);
  if (sub == "overlap") return run_overlap(argc - 1, argv + 1);
  std::cout << "usage: lmzip corpus build|stats|overlap|merge [options]  (lmzip corpus SUB --help)\n"
               "  build    build a corpus from raw sources (--preset cc|python|arxiv-math)\n"
               "  stats    summarise corpus files\n"
               "  overlap  13-gram contamination of a corpus against benchmark texts\n"
               "  merge    join shard outputs with a global dedup pass\n";
  if (sub.empty() || sub == "--help" || sub == "-h") return sub.empty() ? 2 : 0;
  throw UsageError("unknown corpus subcommand '" + sub + "'");
}

Registration reg{{"corpus", "build, inspect, decontaminate and merge evaluation corpora", run_corpus}};

}  // namespace
}  // namespace lmzip::cli
