#include "lmzip/score/shard.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <bit>
#include <cinttypes>
#include <cstring>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "lmzip/core/checked.h"
#include "lmzip/core/error.h"
#include "lmzip/core/hash.h"
#include "lmzip/core/json.h"
#include "lmzip/io/file.h"

namespace lmzip {

static_assert(std::endian::native == std::endian::little, "the .lmzpart arrays are written in host order");

// ---- Shard specification and partition ------------------------------------------------------------------------

ShardSpec parse_shard(std::string_view text) {
  auto bad = [&] {
    return UsageError("--shard '" + std::string(text) + "': expected I/N with 0 <= I < N <= " +
                      std::to_string(kMaxShards) + " (e.g. 0/4 for the first of four shards)");
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == text.size()) throw bad();
  auto number = [&](std::string_view s) {
    if (s.size() > 7) throw bad();
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') throw bad();
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
  };
  uint64_t i = number(text.substr(0, slash)), n = number(text.substr(slash + 1));
  if (n < 1 || n > kMaxShards || i >= n) throw bad();
  return {static_cast<uint32_t>(i), static_cast<uint32_t>(n)};
}

std::string shard_name(const ShardSpec& s) { return std::to_string(s.index) + "/" + std::to_string(s.count); }

WindowRange shard_windows(const ScoringPlan& plan, const ShardSpec& s, size_t batch_windows) {
  LMZIP_CHECK(s.count >= 1 && s.index < s.count, "shard index out of range");
  const size_t n = plan.windows.size();
  // Where the single run's batches start (run_scoring's grouping; every window when unbatched).
  std::vector<bool> batch_start(n + 1, true);
  if (batch_windows > 1) {
    for (size_t w = 0; w < n;) {
      size_t nb = 1;
      while (nb < batch_windows && w + nb < n && plan.windows[w + nb].length == plan.windows[w].length) {
        batch_start[w + nb] = false;
        ++nb;
      }
      w += nb;
    }
  }
  // Window w's document (per-document protocols: every token of a window is the document's).
  auto doc_of_window = [&](size_t w) {
    const Window& win = plan.windows[w];
    return plan.stream.doc_of[win.begin + win.length - 1];
  };
  auto boundary = [&](uint32_t i) {
    auto b = static_cast<size_t>(static_cast<unsigned __int128>(n) * i / s.count);
    // Both rules: forward until a document start (doc) that is also a batch start.
    while (b > 0 && b < n &&
           ((plan.params.protocol == Protocol::Doc && doc_of_window(b) == doc_of_window(b - 1)) || !batch_start[b])) {
      ++b;
    }
    return b;
  };
  return {boundary(s.index), boundary(s.index + 1)};
}

PartialResult score_shard(const ScoringPlan& plan, const WindowScorer& scorer, const ShardSpec& s, RunOptions o) {
  if (!o.checkpoint_path.empty()) throw UsageError("--checkpoint does not apply to a shard (rerun the shard)");
  PartialResult p;
  p.meta.params = plan.params;
  p.meta.shard = s;
  p.range = shard_windows(plan, s, o.batch_scorer ? o.batch_windows : 1);
  p.documents = plan.docs.size();
  p.chars = plan.chars;
  p.bytes = plan.bytes;
  p.tokens = plan.stream.tokens.size();
  p.windows_total = plan.windows.size();
  p.doc_sizes = plan.docs;
  o.first_window = p.range.begin;
  o.end_window = p.range.end;
  auto user_on_window = o.on_window;
  o.on_window = [&](size_t wi, std::span<const double> nats) {
    const Window& w = plan.windows[wi];
    p.window_targets.push_back(static_cast<uint32_t>(nats.size()));
    for (size_t k = 0; k < nats.size(); ++k) {
      // The same attribution as run_scoring: the target at output position first_scored+k predicts
      // stream[begin + first_scored + k + 1].
      uint32_t doc = plan.stream.doc_of[w.begin + w.first_scored + k + 1];
      if (p.doc_runs.empty() || p.doc_runs.back().doc != doc || p.doc_runs.back().targets == UINT32_MAX) p.doc_runs.push_back({doc, 0});
      p.doc_runs.back().targets += 1;
      p.nats.push_back(nats[k]);
    }
    if (user_on_window) user_on_window(wi, nats);
  };
  BpcResult r = run_scoring(plan, scorer, o);
  p.meta.seconds = r.seconds;
  return p;
}

// ---- The .lmzpart file -----------------------------------------------------------------------------------------

namespace {

constexpr std::string_view kMagic = "LMZPART1";
constexpr uint32_t kMaxHeader = 1u << 20;
constexpr const char* kFormat = "lmzip-bpc-part";
// Version 2 added bos_mode (--protocol uncheatable); a version 1 part cannot say which chunk-start token it used.
constexpr uint64_t kVersion = 2;

template <typename T>
void append_raw(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
template <typename T>
void append_array(std::string& out, const std::vector<T>& v) {
  if (!v.empty()) out.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

nlohmann::json header_json(const PartialResult& p) {
  const PartMeta& m = p.meta;
  return {{"format", kFormat}, {"version", kVersion},
          {"model_name", m.model_name}, {"model_path", m.model_path}, {"model_id", m.model_id},
          {"model_format", m.model_format}, {"tokenizer_file", m.tokenizer_file}, {"model_bytes", m.model_bytes},
          {"corpus_name", m.corpus_name}, {"corpus_path", m.corpus_path}, {"corpus_sha256", m.corpus_sha256},
          {"field", m.field}, {"skipped_empty", m.skipped_empty}, {"skipped_invalid", m.skipped_invalid},
          {"protocol", protocol_name(m.params.protocol)}, {"window", m.params.window}, {"stride", m.params.stride},
          {"max_chunks", m.params.max_windows}, {"bos_mode", bos_mode_name(m.params.bos_mode)}, {"shard_index", m.shard.index}, {"shard_count", m.shard.count},
          {"lmzip_version", m.lmzip_version}, {"device", m.device}, {"host", m.host},
          {"started_at", m.started_at}, {"finished_at", m.finished_at}, {"threads", m.threads},
          {"seconds", m.seconds},
          {"documents", p.documents}, {"chars", p.chars}, {"bytes", p.bytes}, {"tokens", p.tokens},
          {"windows_total", p.windows_total}, {"window_begin", p.range.begin}, {"window_end", p.range.end},
          {"targets", p.nats.size()}, {"doc_runs", p.doc_runs.size()}};
}

// Typed reads of the header, each an Error naming the file and key.
struct HeaderReader {
  const nlohmann::json& j;
  const std::string& name;
  Error bad(const std::string& key, const std::string& what) const {
    return Error(name + ": not a valid lmzip part file: header key '" + key + "' " + what);
  }
  const nlohmann::json& at(const std::string& key) const {
    auto it = j.find(key);
    if (it == j.end()) throw bad(key, "is missing");
    return *it;
  }
  std::string str(const std::string& key) const {
    const auto& v = at(key);
    if (!v.is_string()) throw bad(key, "is not a string");
    return v.get<std::string>();
  }
  uint64_t u64(const std::string& key, uint64_t max = UINT64_MAX) const {
    const auto& v = at(key);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
      throw bad(key, "is not a non-negative integer");
    }
    uint64_t x = v.get<uint64_t>();
    if (x > max) throw bad(key, "is too large (" + std::to_string(x) + ")");
    return x;
  }
  double f64(const std::string& key) const {
    const auto& v = at(key);
    if (!v.is_number()) throw bad(key, "is not a number");
    return v.get<double>();
  }
};

PartMeta read_meta(const HeaderReader& h) {
  PartMeta m;
  m.model_name = h.str("model_name");
  m.model_path = h.str("model_path");
  m.model_id = h.str("model_id");
  m.model_format = h.str("model_format");
  m.tokenizer_file = h.str("tokenizer_file");
  m.model_bytes = h.u64("model_bytes");
  m.corpus_name = h.str("corpus_name");
  m.corpus_path = h.str("corpus_path");
  m.corpus_sha256 = h.str("corpus_sha256");
  m.field = h.str("field");
  m.skipped_empty = h.u64("skipped_empty");
  m.skipped_invalid = h.u64("skipped_invalid");
  auto protocol = parse_protocol(h.str("protocol"));
  if (!protocol) throw h.bad("protocol", "names no protocol");
  m.params.protocol = *protocol;
  m.params.window = h.u64("window", uint64_t{1} << 40);
  m.params.stride = h.u64("stride", uint64_t{1} << 40);
  m.params.max_windows = h.u64("max_chunks", uint64_t{1} << 40);
  auto bos_mode = parse_bos_mode(h.str("bos_mode"));
  if (!bos_mode) throw h.bad("bos_mode", "names no bos mode");
  m.params.bos_mode = *bos_mode;
  if (m.params.window < 1 || m.params.stride < 1 || m.params.stride > m.params.window) {
    throw h.bad("stride", "is not between 1 and the window");
  }
  m.shard.count = static_cast<uint32_t>(h.u64("shard_count", kMaxShards));
  m.shard.index = static_cast<uint32_t>(h.u64("shard_index", kMaxShards));
  if (m.shard.count < 1 || m.shard.index >= m.shard.count) throw h.bad("shard_index", "is not below shard_count");
  m.lmzip_version = h.str("lmzip_version");
  m.device = h.str("device");
  m.host = h.str("host");
  m.started_at = h.str("started_at");
  m.finished_at = h.str("finished_at");
  m.threads = static_cast<int>(h.u64("threads", 1u << 20));
  m.seconds = h.f64("seconds");
  return m;
}

// A bounded reader over the arrays: every read checked against the end.
struct Cursor {
  std::string_view data;
  size_t pos;
  template <typename T>
  void read_array(std::vector<T>& out, uint64_t count) {
    out.resize(count);
    if (count) std::memcpy(out.data(), data.data() + pos, count * sizeof(T));
    pos += count * sizeof(T);
  }
};

std::string hex64(uint64_t v) {
  char b[17];
  std::snprintf(b, sizeof b, "%016" PRIx64, v);
  return b;
}

}  // namespace

std::string serialize_part(const PartialResult& p) {
  LMZIP_CHECK(p.window_targets.size() == p.range.end - p.range.begin, "one target count per window");
  std::string header = header_json(p).dump();
  LMZIP_CHECK(header.size() <= kMaxHeader, "part header too large");
  std::string out(kMagic);
  append_raw(out, static_cast<uint32_t>(header.size()));
  out += header;
  append_array(out, p.window_targets);
  append_array(out, p.nats);
  for (const DocRun& r : p.doc_runs) {
    append_raw(out, r.doc);
    append_raw(out, r.targets);
  }
  for (const DocScore& d : p.doc_sizes) {
    append_raw(out, d.chars);
    append_raw(out, d.bytes);
  }
  append_raw(out, xxh64(out.data(), out.size()));
  return out;
}

PartialResult parse_part(std::string_view data, const std::string& name) {
  auto bad = [&](const std::string& what) { return Error(name + ": not a valid lmzip part file: " + what); };
  if (data.size() < kMagic.size() + 4 + 8 || data.substr(0, kMagic.size()) != kMagic) {
    throw bad("no LMZPART1 magic (a file written by lmzip bpc --shard is expected)");
  }
  uint32_t header_bytes;
  std::memcpy(&header_bytes, data.data() + kMagic.size(), 4);
  const size_t arrays_at = kMagic.size() + 4 + size_t{header_bytes};
  if (header_bytes > kMaxHeader || arrays_at + 8 > data.size()) {
    throw bad("the header length " + std::to_string(header_bytes) + " does not fit the file (" +
              std::to_string(data.size()) + " bytes; truncated?)");
  }
  uint64_t stored_sum;
  std::memcpy(&stored_sum, data.data() + data.size() - 8, 8);
  if (xxh64(data.data(), data.size() - 8) != stored_sum) {
    throw bad("checksum mismatch (the file is truncated or damaged; rerun its shard)");
  }
  nlohmann::json j;
  try {
    j = parse_json(data.substr(kMagic.size() + 4, header_bytes), name);
  } catch (const Error& e) {
    throw bad(std::string("header: ") + e.what());
  }
  if (!j.is_object()) throw bad("the header is not a JSON object");
  HeaderReader h{j, name};
  if (h.str("format") != kFormat) throw bad("its format is not lmzip-bpc-part");
  if (const uint64_t version = h.u64("version"); version != kVersion) {
    throw bad("part format version " + std::to_string(version) + ", this lmzip reads version " +
              std::to_string(kVersion) + (version < kVersion ? " (written by an older lmzip: rerun its shard)" : " (written by a newer lmzip)"));
  }
  PartialResult p;
  p.meta = read_meta(h);
  const uint64_t limit = data.size();  // no count can exceed the file's size in bytes
  p.documents = h.u64("documents", uint64_t{UINT32_MAX});
  p.chars = h.u64("chars");
  p.bytes = h.u64("bytes");
  p.tokens = h.u64("tokens");
  p.windows_total = h.u64("windows_total");
  p.range.begin = h.u64("window_begin");
  p.range.end = h.u64("window_end");
  if (p.range.begin > p.range.end || p.range.end > p.windows_total) {
    throw bad("windows [" + std::to_string(p.range.begin) + ", " + std::to_string(p.range.end) +
              ") do not lie within the plan's " + std::to_string(p.windows_total));
  }
  const uint64_t n_windows = p.range.end - p.range.begin, targets = h.u64("targets", limit),
                 runs = h.u64("doc_runs", limit);
  if (n_windows > limit || p.documents > limit) throw bad("counts larger than the file");
  // Expected size, overflow-checked: every count was bounded by the file size, so the products fit.
  std::optional<uint64_t> size = uint64_t{arrays_at};
  for (auto [count, each] : {std::pair{n_windows, 4}, {targets, 8}, {runs, 8}, {p.documents, 16}}) {
    auto bytes = checked_mul(count, static_cast<uint64_t>(each));
    size = bytes && size ? checked_add(*size, *bytes) : std::nullopt;
  }
  if (!size || *size + 8 != data.size()) {
    throw bad("its size (" + std::to_string(data.size()) + " bytes) does not match its header's counts (" +
              (size ? std::to_string(*size + 8) : std::string("overflow")) + " bytes expected)");
  }
  Cursor c{data, arrays_at};
  c.read_array(p.window_targets, n_windows);
  c.read_array(p.nats, targets);
  std::vector<uint32_t> run_words;
  c.read_array(run_words, runs * 2);
  std::vector<uint64_t> size_words;
  c.read_array(size_words, p.documents * 2);
  uint64_t sum = 0;
  for (uint32_t t : p.window_targets) sum += t;
  if (sum != targets) throw bad("its windows' target counts add up to " + std::to_string(sum) + ", not " +
                                std::to_string(targets));
  sum = 0;
  p.doc_runs.resize(runs);
  for (size_t i = 0; i < runs; ++i) {
    p.doc_runs[i] = {run_words[2 * i], run_words[2 * i + 1]};
    if (p.doc_runs[i].doc >= p.documents || p.doc_runs[i].targets == 0) {
      throw bad("document run " + std::to_string(i) + " names document " + std::to_string(p.doc_runs[i].doc) +
                " of " + std::to_string(p.documents) + " with " + std::to_string(p.doc_runs[i].targets) +
                " targets");
    }
    sum += p.doc_runs[i].targets;
  }
  if (sum != targets) throw bad("its document runs cover " + std::to_string(sum) + " targets, not " +
                                std::to_string(targets));
  p.doc_sizes.resize(p.documents);
  uint64_t chars = 0, bytes = 0;
  for (size_t d = 0; d < p.documents; ++d) {
    p.doc_sizes[d].chars = size_words[2 * d];
    p.doc_sizes[d].bytes = size_words[2 * d + 1];
    auto c2 = checked_add(chars, p.doc_sizes[d].chars), b2 = checked_add(bytes, p.doc_sizes[d].bytes);
    if (!c2 || !b2) throw bad("document sizes overflow");
    chars = *c2;
    bytes = *b2;
  }
  if (chars != p.chars || bytes != p.bytes) throw bad("the document sizes do not add up to the header's totals");
  return p;
}

std::string part_file_name(const PartMeta& m) {
  auto clean = [](std::string s) {
    for (char& c : s) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') c = '_';
    }
    return s.empty() ? std::string("_") : s;
  };
  return clean(m.model_name) + "." + clean(m.corpus_name) + "-" + clean(m.corpus_sha256.substr(0, 12)) + "." +
         protocol_name(m.params.protocol) + "." + std::to_string(m.shard.index) + "-of-" +
         std::to_string(m.shard.count) + ".lmzpart";
}

void write_part(const std::string& path, const PartialResult& part) {
  std::string data = serialize_part(part);
  write_file_atomic(path, data);
  nlohmann::json marker = {{"format", "lmzip-bpc-part-done"}, {"part", std::filesystem::path(path).filename().string()},
                           {"bytes", data.size()}, {"xxh64", hex64(xxh64(data.data(), data.size()))}};
  write_file_atomic(path + ".done", marker.dump() + "\n");
}

bool part_is_complete(const std::string& path) {
  const std::string marker_path = path + ".done";
  if (!file_exists(marker_path) || !file_exists(path) || file_size(marker_path) > 4096) return false;
  try {
    nlohmann::json m = parse_json(read_file(marker_path), marker_path);
    if (!m.is_object() || m.value("format", "") != "lmzip-bpc-part-done") return false;
    std::string data = read_file(path);
    return m.value("bytes", uint64_t{0}) == data.size() &&
           m.value("xxh64", std::string()) == hex64(xxh64(data.data(), data.size()));
  } catch (const std::exception&) {
    return false;
  }
}

// ---- Merge -----------------------------------------------------------------------------------------------------

namespace {

std::string label(const NamedPart& p) { return p.name + " (shard " + shard_name(p.part.meta.shard) + ")"; }

// Every field that must be equal across the parts of one run: name, value in `a`, value in `b`.
std::vector<std::array<std::string, 3>> identity_diffs(const PartialResult& a, const PartialResult& b) {
  std::vector<std::array<std::string, 3>> d;
  auto cmp = [&](const char* what, const std::string& x, const std::string& y) {
    if (x != y) d.push_back({what, x, y});
  };
  auto num = [](uint64_t v) { return std::to_string(v); };
  const PartMeta &x = a.meta, &y = b.meta;
  cmp("model (id)", x.model_id, y.model_id);
  cmp("tokenizer", x.tokenizer_file, y.tokenizer_file);
  cmp("corpus (sha256)", x.corpus_sha256, y.corpus_sha256);
  cmp("field", x.field, y.field);
  cmp("protocol", protocol_name(x.params.protocol), protocol_name(y.params.protocol));
  cmp("window", num(x.params.window), num(y.params.window));
  cmp("stride", num(x.params.stride), num(y.params.stride));
  cmp("max chunks", num(x.params.max_windows), num(y.params.max_windows));
  cmp("bos mode", bos_mode_name(x.params.bos_mode), bos_mode_name(y.params.bos_mode));
  cmp("shard count N", num(x.shard.count), num(y.shard.count));
  cmp("lmzip version", x.lmzip_version, y.lmzip_version);
  cmp("device", x.device, y.device);
  cmp("documents", num(a.documents), num(b.documents));
  cmp("tokens", num(a.tokens), num(b.tokens));
  cmp("windows", num(a.windows_total), num(b.windows_total));
  cmp("chars", num(a.chars), num(b.chars));
  return d;
}

}  // namespace

BpcResult merge_parts(std::vector<NamedPart>& parts) {
  if (parts.empty()) throw UsageError("no part files to merge");
  std::stable_sort(parts.begin(), parts.end(),
                   [](const NamedPart& a, const NamedPart& b) { return a.part.meta.shard.index < b.part.meta.shard.index; });
  const NamedPart& first = parts.front();
  for (const NamedPart& p : parts) {
    auto diffs = identity_diffs(first.part, p.part);
    if (!diffs.empty()) {
      const auto& [what, x, y] = diffs.front();
      throw Error(label(p) + " does not belong with " + label(first) + ": its " + what + " is '" + y +
                  "', not '" + x + "'");
    }
  }
  const uint32_t n = first.part.meta.shard.count;
  std::vector<const NamedPart*> by_index(n, nullptr);
  for (const NamedPart& p : parts) {
    const NamedPart*& slot = by_index[p.part.meta.shard.index];
    if (slot) throw Error(p.name + " and " + slot->name + " are both shard " + shard_name(p.part.meta.shard));
    slot = &p;
  }
  std::string missing;
  size_t n_missing = 0;
  for (uint32_t i = 0; i < n; ++i) {
    if (by_index[i]) continue;
    if (++n_missing <= 10) missing += (missing.empty() ? "" : ", ") + shard_name({i, n});
  }
  if (n_missing) {
    throw Error(std::to_string(n_missing) + " of " + std::to_string(n) + " shards missing: " + missing +
                (n_missing > 10 ? ", ..." : "") + " (run lmzip bpc --shard I/" + std::to_string(n) +
                " for each, then merge again)");
  }
  size_t next = 0;
  for (const NamedPart& p : parts) {
    if (p.part.range.begin != next) {
      throw Error(label(p) + " covers windows [" + std::to_string(p.part.range.begin) + ", " +
                  std::to_string(p.part.range.end) + ") but the previous shard ended at window " +
                  std::to_string(next));
    }
    if (p.part.doc_sizes.size() != first.part.doc_sizes.size() ||
        !std::equal(p.part.doc_sizes.begin(), p.part.doc_sizes.end(), first.part.doc_sizes.begin(),
                    [](const DocScore& a, const DocScore& b) { return a.chars == b.chars && a.bytes == b.bytes; })) {
      throw Error(label(p) + " does not belong with " + label(first) + ": its document sizes differ");
    }
    next = p.part.range.end;
  }
  if (next != first.part.windows_total) {
    throw Error("the shards end at window " + std::to_string(next) + " of " + std::to_string(first.part.windows_total));
  }

  // Replay every target's nats in window order: the additions run_scoring makes, in its order.
  BpcResult r;
  r.per_doc = first.part.doc_sizes;
  for (DocScore& d : r.per_doc) d.nats = 0, d.scored_tokens = 0;
  for (const NamedPart& p : parts) {
    size_t t = 0;
    for (const DocRun& run : p.part.doc_runs) {
      DocScore& d = r.per_doc[run.doc];
      for (uint32_t k = 0; k < run.targets; ++k, ++t) {
        d.nats += p.part.nats[t];
        d.scored_tokens += 1;
        r.total_nats += p.part.nats[t];
      }
    }
    r.scored_tokens += p.part.nats.size();
    r.seconds += p.part.meta.seconds;
  }
  r.documents = first.part.documents;
  r.chars = first.part.chars;
  r.bytes = first.part.bytes;
  r.tokens = first.part.tokens;
  r.windows = first.part.windows_total;
  r.scored_this_run = r.scored_tokens;
  return r;
}

}  // namespace lmzip
