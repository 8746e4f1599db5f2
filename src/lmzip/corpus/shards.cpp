#include "lmzip/corpus/shards.h"

#include <algorithm>
#include <filesystem>
#include <memory>

#include "lmzip/core/error.h"
#include "lmzip/corpus/pipeline.h"
#include "lmzip/corpus/stream.h"
#include "lmzip/io/file.h"

namespace lmzip::corpus {

std::string pending_record_line(const Document& doc, InputRank rank) {
  nlohmann::json d = {{"content", doc.content}, {"subset", doc.subset},   {"source", doc.source},
                      {"locator", doc.locator}, {"date", doc.date},       {"repo", doc.repo},
                      {"meta", doc.meta},       {"html_nesting_capped", doc.html_nesting_capped}};
  nlohmann::json rec = {{"rank", {rank.file, rank.item}}, {"doc", std::move(d)}};
  return rec.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

namespace {

nlohmann::json read_manifest(const std::string& path) {
  std::string text = read_file(path);
  nlohmann::json m = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!m.is_object()) throw Error(path + ": not a corpus manifest (not a JSON object)");
  return m;
}

// The parameters of a shard with its own shard field removed: equal for every shard of one build.
nlohmann::json build_parameters(const nlohmann::json& manifest) {
  nlohmann::json p = manifest.at("parameters");
  p["source"].erase("shard");
  return p;
}

// The first key (as a path) where two JSON values differ, for the error message.
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b, const std::string& at = "") {
  if (a.is_object() && b.is_object()) {
    for (const auto& [k, v] : a.items()) {
      if (!b.contains(k)) return at + k;
      if (v != b.at(k)) return first_difference(v, b.at(k), at + k + ".");
    }
    for (const auto& [k, v] : b.items()) {
      if (!a.contains(k)) return at + k;
    }
  }
  return at.empty() ? "(the whole value)" : at.substr(0, at.size() - 1);
}

// One shard's pending records, read one ahead so the k-way merge can look at the next rank.
class PendingReader {
 public:
  explicit PendingReader(const ShardOutput& s) : shard_(s), reader_(s.path) { advance(); }
  bool has_next() const { return has_next_; }
  InputRank rank() const { return rank_; }
  Document take() {
    Document d = std::move(next_);
    advance();
    return d;
  }
  void check_complete() const {
    if (count_ != shard_.pending) {
      throw Error(shard_.path + ": " + std::to_string(count_) + " pending documents, its manifest says " +
                  std::to_string(shard_.pending) + " (the file is truncated or damaged; rerun its shard)");
    }
  }

 private:
  void advance() {
    std::string line;
    bool too_long = false;
    has_next_ = reader_.read_line(line, std::string::npos, &too_long);
    if (!has_next_) return;
    std::string where = shard_.path + ":" + std::to_string(count_ + 1);
    nlohmann::json rec = nlohmann::json::parse(line, nullptr, false);
    try {
      InputRank r{rec.at("rank").at(0).get<uint64_t>(), rec.at("rank").at(1).get<uint64_t>()};
      if (count_ > 0 && !(rank_ < r)) throw Error(where + ": pending records out of input order");
      if (r.file >= shard_.inputs_total || static_cast<int>(r.file % shard_.count) != shard_.index) {
        throw Error(where + ": input rank " + std::to_string(r.file) + " is not one of this shard's inputs");
      }
      const nlohmann::json& d = rec.at("doc");
      next_ = Document{d.at("content").get<std::string>(), d.at("subset").get<std::string>(),
                       d.at("source").get<std::string>(),  d.at("locator").get<std::string>(),
                       d.at("date").get<std::string>(),    d.at("repo").get<std::string>(),
                       d.at("meta"),                        d.at("html_nesting_capped").get<bool>()};
      if (!next_.meta.is_object()) throw Error(where + ": meta is not an object");
      rank_ = r;
    } catch (const nlohmann::json::exception&) {
      throw Error(where + ": not a pending record of `corpus build --shard` (damaged; rerun its shard)");
    }
    ++count_;
  }
  const ShardOutput& shard_;
  ByteReader reader_;
  bool has_next_ = false;
  InputRank rank_;
  Document next_;
  uint64_t count_ = 0;
};

}  // namespace

bool is_shard_output(const std::string& path) {
  std::string m = manifest_path_for(path);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(m, ec)) return false;
  nlohmann::json j = nlohmann::json::parse(read_file(m), nullptr, false);
  return j.is_object() && j.contains("shard");
}

std::vector<ShardOutput> load_shard_outputs(const std::vector<std::string>& paths) {
  std::vector<ShardOutput> shards;
  for (const auto& path : paths) {
    ShardOutput s;
    s.path = path;
    s.manifest_path = manifest_path_for(path);
    std::error_code ec;
    if (!std::filesystem::is_regular_file(s.manifest_path, ec)) {
      throw Error(path + ": no manifest " + s.manifest_path + " beside it (not an output of `corpus build --shard`)");
    }
    s.manifest = read_manifest(s.manifest_path);
    try {
      const nlohmann::json& sh = s.manifest.at("shard");
      s.index = sh.at("index").get<int>();
      s.count = sh.at("count").get<int>();
      s.inputs_total = sh.at("inputs_total").get<uint64_t>();
      s.pending = sh.at("pending").get<uint64_t>();
      build_parameters(s.manifest);
      s.manifest.at("counts");
      s.manifest.at("inputs");
      s.manifest.at("lmzip_version");
    } catch (const nlohmann::json::exception&) {
      throw Error(s.manifest_path + ": not the manifest of `corpus build --shard` (a field is missing or of the "
                  "wrong type)");
    }
    if (s.count < 1 || s.index < 0 || s.index >= s.count) {
      throw Error(s.manifest_path + ": shard " + std::to_string(s.index) + "/" + std::to_string(s.count) + " is out of range");
    }
    shards.push_back(std::move(s));
  }
  if (shards.empty()) throw Error("corpus merge: no shard outputs given");
  auto name = [](const ShardOutput& s) {
    return s.path + " (shard " + std::to_string(s.index) + "/" + std::to_string(s.count) + ")";
  };
  const ShardOutput& first = shards.front();
  for (const auto& s : shards) {
    auto refuse = [&](const std::string& what) {
      throw Error(name(s) + " does not belong with " + name(first) + ": " + what);
    };
    if (s.count != first.count) refuse("another shard count");
    if (s.manifest["lmzip_version"] != first.manifest["lmzip_version"]) refuse("written by another lmzip version");
    if (s.manifest["shard"].value("inputs_sha256", "") != first.manifest["shard"].value("inputs_sha256", "")) {
      refuse("another input list (paths or sizes differ)");
    }
    if (s.inputs_total != first.inputs_total) refuse("another input list (" + std::to_string(s.inputs_total) + " inputs, not " +
                                                     std::to_string(first.inputs_total) + ")");
    nlohmann::json a = build_parameters(s.manifest), b = build_parameters(first.manifest);
    if (a != b) refuse("another parameter set (" + first_difference(a, b) + " differs)");
  }
  std::sort(shards.begin(), shards.end(), [](const ShardOutput& a, const ShardOutput& b) { return a.index < b.index; });
  std::vector<std::string> missing;
  for (size_t i = 0, k = 0; i < static_cast<size_t>(first.count); ++i) {
    if (k < shards.size() && shards[k].index == static_cast<int>(i)) {
      if (k + 1 < shards.size() && shards[k + 1].index == static_cast<int>(i)) {
        throw Error(shards[k].path + " and " + shards[k + 1].path + " are both shard " + std::to_string(i) + "/" +
                    std::to_string(first.count));
      }
      ++k;
    } else {
      missing.push_back(std::to_string(i) + "/" + std::to_string(first.count));
    }
  }
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    throw Error(std::to_string(missing.size()) + " of " + std::to_string(first.count) + " shards missing: " + list);
  }
  // Inputs: shard i holds ranks i, i+N, ... of the whole list, each once.
  for (const auto& s : shards) {
    uint64_t expected = static_cast<uint64_t>(s.index);
    for (const auto& in : s.manifest["inputs"]) {
      if (!in.contains("rank") || in["rank"] != expected || expected >= s.inputs_total) {
        throw Error(name(s) + ": its inputs are not ranks " + std::to_string(s.index) + ", " +
                    std::to_string(s.index + s.count) + ", ... of the whole input list");
      }
      expected += static_cast<uint64_t>(s.count);
    }
    if (expected < s.inputs_total) throw Error(name(s) + ": its manifest lists fewer inputs than its share");
  }
  return shards;
}

void read_pending_in_input_order(const std::vector<ShardOutput>& shards, const std::function<void(Document&&)>& f) {
  std::vector<std::unique_ptr<PendingReader>> readers;
  for (const auto& s : shards) readers.push_back(std::make_unique<PendingReader>(s));
  // Each input belongs to one shard (rank mod N), and each shard's records are in input order.
  size_t n = shards.size();
  for (uint64_t file = 0; file < shards.front().inputs_total; ++file) {
    PendingReader& r = *readers[file % n];
    while (r.has_next() && r.rank().file == file) f(r.take());
  }
  for (size_t i = 0; i < n; ++i) {
    if (readers[i]->has_next()) throw Error(shards[i].path + ": a pending record after its last input");
    readers[i]->check_complete();
  }
}

nlohmann::json merged_inputs(const std::vector<ShardOutput>& shards) {
  std::vector<nlohmann::json> all;
  for (const auto& s : shards) {
    for (const auto& in : s.manifest["inputs"]) all.push_back(in);
  }
  std::sort(all.begin(), all.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
    return a["rank"].get<uint64_t>() < b["rank"].get<uint64_t>();
  });
  nlohmann::json out = nlohmann::json::array();
  for (auto& in : all) {
    in.erase("rank");
    out.push_back(std::move(in));
  }
  return out;
}

nlohmann::json merged_skip_examples(const std::vector<ShardOutput>& shards, size_t limit) {
  std::vector<std::pair<InputRank, nlohmann::json>> all;
  for (const auto& s : shards) {
    for (const auto& e : s.manifest.value("skip_examples", nlohmann::json::array())) {
      try {
        nlohmann::json x = e;
        InputRank r{x.at("rank").at(0).get<uint64_t>(), x.at("rank").at(1).get<uint64_t>()};
        x.erase("rank");
        all.emplace_back(r, std::move(x));
      } catch (const nlohmann::json::exception&) {
        throw Error(s.manifest_path + ": a skip example without its input rank");
      }
    }
  }
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < all.size() && i < limit; ++i) out.push_back(std::move(all[i].second));
  return out;
}

}  // namespace lmzip::corpus
