#include "lmzip/launch/launch.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>

#include "lmzip/core/error.h"
#include "lmzip/launch/templates.h"

namespace lmzip {
namespace {

// Replaces every {{key}} of `text`; a key without a value is a bug in the templates.
std::string render(std::string_view text, const std::map<std::string, std::string>& values) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find("}}", open);
    LMZIP_CHECK(close != std::string_view::npos, "unterminated {{ in a launch template");
    auto it = values.find(std::string(text.substr(open + 2, close - open - 2)));
    LMZIP_CHECK(it != values.end(), "launch template key without a value: " + std::string(text.substr(open, close - open + 2)));
    out.append(text.substr(pos, open - pos));
    out += it->second;
    pos = close + 2;
  }
  out.append(text.substr(pos));
  return out;
}

std::string join_shell(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += shell_quote(a);
  }
  return s;
}

// A YAML flow sequence of strings, each a JSON string (JSON is YAML).
std::string yaml_list(const std::vector<std::string>& items) {
  std::string s = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) s += ", ";
    s += nlohmann::json(items[i]).dump();
  }
  return s + "]";
}
std::string yaml_string(const std::string& s) { return nlohmann::json(s).dump(); }

bool has_option(const std::vector<std::string>& command, std::initializer_list<std::string_view> names) {
  for (const std::string& a : command) {
    if (a == "--") break;
    for (std::string_view n : names) {
      if (a == n || (n.starts_with("--") && a.starts_with(std::string(n) + "="))) return true;
    }
  }
  return false;
}

std::string db_path(const LaunchSpec& spec) { return spec.db.empty() ? spec.dir + "/lmzip-results.sqlite" : spec.db; }
uint32_t parallel(const LaunchSpec& spec) {
  return spec.max_parallel == 0 ? spec.shards : std::min(spec.max_parallel, spec.shards);
}

// The values both schedulers' templates share.
std::map<std::string, std::string> common_values(const LaunchSpec& spec) {
  return {{"shards", std::to_string(spec.shards)},
          {"last_shard", std::to_string(spec.shards - 1)},
          {"max_parallel", std::to_string(parallel(spec))},
          {"cpus", std::to_string(spec.cpus_per_task)},
          {"subcommand", spec.command.front()},
          {"dir", spec.dir}};
}

}  // namespace

std::string shell_quote(std::string_view s) {
  const bool safe = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("@%+=:,./_-").find(c) != std::string_view::npos;
  });
  if (safe) return std::string(s);
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string model_argument(const std::vector<std::string>& command) {
  for (size_t i = 0; i < command.size(); ++i) {
    if (command[i] == "--") break;
    if ((command[i] == "-m" || command[i] == "--model") && i + 1 < command.size()) return command[i + 1];
    if (command[i].starts_with("--model=")) return command[i].substr(8);
  }
  return "";
}

uint64_t parse_memory_mib(std::string_view text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  std::string_view unit(end, text.data() + text.size() - end);
  const std::map<std::string_view, uint64_t> per_mib = {{"", 1}, {"M", 1}, {"G", 1024}, {"T", 1024 * 1024}};
  auto it = per_mib.find(unit);
  if (ec != std::errc() || it == per_mib.end() || value == 0 || value > (uint64_t{1} << 40) / it->second) {
    throw UsageError("--mem '" + std::string(text) + "' is not a memory size (e.g. 800M, 16G, 1T)");
  }
  return value * it->second;
}

std::string memory_for_model(uint64_t model_bytes) {
  const uint64_t gib = uint64_t{1} << 30;
  const uint64_t need = (2 * model_bytes + gib - 1) / gib;
  return std::to_string(std::max<uint64_t>(need, 4)) + "G";
}

void check_launch_command(const std::vector<std::string>& command) {
  if (command.empty()) throw UsageError("no command to launch: give it after --, e.g. -- lmzip bpc -m MODEL CORPUS");
  if (command.front() != "bpc" && command.front() != "eval") {
    throw UsageError("cannot launch 'lmzip " + command.front() + "': only lmzip bpc and lmzip eval run in shards");
  }
  // What the merge does instead: write the result and its per-document or per-sample files, record it.
  const std::vector<std::string_view> merge_owns =
      command.front() == "bpc"
          ? std::vector<std::string_view>{"--shard", "--shard-dir", "--db", "--no-db", "--per-doc", "--checkpoint"}
          : std::vector<std::string_view>{"--shard", "--shard-dir", "--db", "--no-db", "--checkpoint", "--output",
                                          "--log-samples"};
  for (std::string_view opt : merge_owns) {
    if (has_option(command, {opt})) {
      throw UsageError("the launched command must not set " + std::string(opt) +
                       " (the launcher sets the shards and their directory; the merge writes the result and records it)");
    }
  }
}

void check_launch_spec(const LaunchSpec& spec) {
  check_launch_command(spec.command);
  if (spec.shards < 1 || spec.shards > 1'000'000) throw UsageError("--shards must be 1..1000000");
  if (spec.cpus_per_task < 1 || spec.cpus_per_task > 4096) throw UsageError("--cpus-per-task must be 1..4096");
  if (spec.gpus_per_task < 0 || spec.gpus_per_task > 64) throw UsageError("--gpus-per-task must be 0..64");
  if (spec.backoff_limit_per_index < 0 || spec.backoff_limit_per_index > 100) throw UsageError("--retries must be 0..100");
  parse_memory_mib(spec.memory);
  // A Kubernetes object name (a DNS label, room for "-merge") is also a safe Slurm job name.
  const bool dns_label = !spec.name.empty() && spec.name.size() <= 57 && std::isalnum(static_cast<unsigned char>(spec.name.front())) &&
                         std::isalnum(static_cast<unsigned char>(spec.name.back())) &&
                         std::all_of(spec.name.begin(), spec.name.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                         });
  if (!dns_label) throw UsageError("--name '" + spec.name + "' must be lowercase letters, digits and '-' (at most 57)");
  if (spec.dir.empty() || spec.dir.front() != '/') throw UsageError("--dir must be an absolute path every node sees");
  for (const std::string& a : spec.sbatch_args) {
    if (a.find('\n') != std::string::npos || !a.starts_with("-")) {
      throw UsageError("--sbatch '" + a + "' must be one sbatch option (e.g. --partition=gpu)");
    }
  }
}

std::vector<std::string> shard_argv(const LaunchSpec& spec, const std::string& index) {
  std::vector<std::string> argv = {spec.lmzip};
  argv.insert(argv.end(), spec.command.begin(), spec.command.end());
  // Options first if the command ends its options with "--".
  auto at = std::find(argv.begin(), argv.end(), "--");
  std::vector<std::string> added = {"--shard", index + "/" + std::to_string(spec.shards), "--shard-dir", spec.dir + "/parts"};
  if (!has_option(spec.command, {"-t", "--threads"})) {
    added.insert(added.end(), {"-t", std::to_string(spec.cpus_per_task)});
  }
  argv.insert(at, added.begin(), added.end());
  return argv;
}

std::vector<std::string> merge_argv(const LaunchSpec& spec) {
  return {spec.lmzip, "merge", spec.dir + "/parts", "-o", spec.dir + "/result.json", "--db", db_path(spec)};
}

LaunchFiles slurm_files(const LaunchSpec& spec, const std::string& files_dir) {
  check_launch_spec(spec);
  LaunchFiles f;
  f.shards_name = spec.name + "-shards.sbatch";
  f.merge_name = spec.name + "-merge.sbatch";
  auto v = common_values(spec);
  std::string extra;
  if (spec.gpus_per_task > 0) extra += "#SBATCH --gres=gpu:" + std::to_string(spec.gpus_per_task) + "\n";
  for (const std::string& a : spec.sbatch_args) extra += "#SBATCH " + a + "\n";
  v["extra_sbatch"] = extra;
  v["name"] = spec.name;
  v["memory"] = spec.memory;
  v["merge_file"] = f.merge_name;
  // The shard index is a shell variable: the only word left unquoted (in double quotes).
  std::string command = join_shell(shard_argv(spec, "@INDEX@"));
  const std::string placeholder = shell_quote("--shard") + " " + shell_quote("@INDEX@/" + std::to_string(spec.shards));
  size_t at = command.find(placeholder);
  LMZIP_CHECK(at != std::string::npos);
  command.replace(at, placeholder.size(),
                  "--shard \"${SLURM_ARRAY_TASK_ID:?not inside a Slurm array task}/" + std::to_string(spec.shards) + "\"");
  v["shard_command"] = command;
  v["merge_command"] = join_shell(merge_argv(spec));
  f.shards = render(launch_templates::kSlurmShards, v);
  f.merge = render(launch_templates::kSlurmMerge, v);
  f.how_to_run = render(launch_templates::kSlurmHowToRun,
                        {{"shards_file", shell_quote(files_dir + "/" + f.shards_name)},
                         {"merge_file", shell_quote(files_dir + "/" + f.merge_name)}});
  return f;
}

LaunchFiles k8s_files(const LaunchSpec& spec, const std::string& files_dir) {
  check_launch_spec(spec);
  LaunchFiles f;
  f.shards_name = spec.name + "-shards.yaml";
  f.merge_name = spec.name + "-merge.yaml";
  auto v = common_values(spec);
  const std::string mem = std::to_string(parse_memory_mib(spec.memory)) + "Mi";
  v["memory"] = mem;
  v["gpu_limit"] = spec.gpus_per_task > 0 ? ", nvidia.com/gpu: " + std::to_string(spec.gpus_per_task) : "";
  v["image"] = yaml_string(spec.image);
  v["claim"] = yaml_string(spec.claim);
  v["mount"] = yaml_string(spec.mount);
  v["backoff_limit_per_index"] = std::to_string(spec.backoff_limit_per_index);
  v["merge_file"] = f.merge_name;
  v["shards_job"] = spec.name;
  // Kubernetes expands $(JOB_COMPLETION_INDEX) in command from the variable the Job controller gives each pod.
  v["shard_command"] = yaml_list(shard_argv(spec, "$(JOB_COMPLETION_INDEX)"));
  v["merge_command"] = yaml_list(merge_argv(spec));
  v["name"] = spec.name;
  f.shards = render(launch_templates::kK8sShards, v);
  v["name"] = spec.name + "-merge";
  f.merge = render(launch_templates::kK8sMerge, v);
  f.how_to_run = render(launch_templates::kK8sHowToRun,
                        {{"shards_file", shell_quote(files_dir + "/" + f.shards_name)},
                         {"merge_file", shell_quote(files_dir + "/" + f.merge_name)},
                         {"shards_job", spec.name}});
  return f;
}

uint64_t parse_sbatch_job_id(std::string_view output) {
  std::string_view s = output;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.remove_suffix(1);
  std::string_view id = s.substr(0, s.find(';'));  // "JOBID;CLUSTER" on a federation
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
  if (id.empty() || ec != std::errc() || end != id.data() + id.size() || value == 0) {
    throw Error("sbatch --parsable printed '" + std::string(s) + "', not a job id");
  }
  return value;
}

}  // namespace lmzip
