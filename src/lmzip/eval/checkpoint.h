// A checkpoint of a long `lmzip eval`: the documents finished so far, so Ctrl-C or a crash loses at most the
// block in flight, and rerunning the same command continues after the last saved document.
//
// The file is a journal of JSON lines. The first line is the header
//   {"format": "lmzip-eval-checkpoint", "version": 1, "fingerprint": {...}}
// (written atomically: temporary file + rename); every later line is one finished document, in order:
//   {"doc": i, "values": {metric: [v, ...]}, "sample": {...}}
// A block is appended with one write() and fsync, so saving costs the block's own lines, not the whole run's.
// A last line without its newline (a crash in the middle of a write) is dropped and cut off when reading;
// any other malformed line is an error naming the file and line.
#pragma once

#include <string>
#include <vector>

#include "lmzip/eval/runner.h"

namespace lmzip::eval {

// Every field of a task definition that shapes prompts, requests or scores, as JSON (a checkpoint's fingerprint
// holds it, so a changed definition is named when resuming).
Json task_definition_json(const TaskSpec& spec);

// The fields of two fingerprints that differ, as "name (checkpoint: X, this run: Y)"; nested objects are
// compared field by field ("data.sha256"). Empty when equal.
std::vector<std::string> fingerprint_differences(const Json& saved, const Json& now);

// One finished document as a journal line: {"doc": index, "values": {metric: [v, ...]}, "sample": {...}} and a
// newline (non-finite values as "nan", "inf", "-inf"); and back, checking that it is document `expected_index`
// (lmzip::Error or a JSON exception otherwise). Checkpoints and eval part files (part.h) hold these lines.
std::string outcome_line(size_t index, const DocOutcome& d);
DocOutcome parse_outcome(const Json& line, size_t expected_index);

class EvalCheckpoint {
 public:
  // Opens `path` for the run described by `fingerprint` (anything that changes prompts, requests or scores).
  // An existing file must hold the same fingerprint, else lmzip::Error names the file and each field that
  // differs; its documents become done(). A missing file is created with the header.
  EvalCheckpoint(std::string path, Json fingerprint);

  const std::string& path() const { return path_; }
  const std::vector<DocOutcome>& done() const { return done_; }  // restored when opened (not updated by append)
  // Appends finished documents (the next ones in order) with one write and an fsync.
  void append(const std::vector<DocOutcome>& block);

 private:
  void read_existing(const Json& fingerprint);
  std::string path_;
  std::vector<DocOutcome> done_;
  size_t next_doc_ = 0;
};

}  // namespace lmzip::eval
