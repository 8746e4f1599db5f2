// lmzip launch slurm|k8s -- lmzip bpc|eval ... : the files a cluster scheduler runs for a sharded lmzip command
// (lmzip/launch/launch.h), and with --submit (Slurm) their submission: the array, then the merge depending on it.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "command.h"
#include "lmzip/core/error.h"
#include "lmzip/io/file.h"
#include "lmzip/launch/launch.h"

extern char** environ;

namespace lmzip::cli {
namespace {

// Bytes of a model: the file, or every file of a checkpoint directory.
uint64_t model_bytes(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) return file_size(path);
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(path)) {
    if (e.is_regular_file()) total += e.file_size();
  }
  return total;
}

// Runs argv (found on PATH) and returns its standard output; its standard error goes to ours. Error when it
// cannot start or exits non-zero.
std::string run_capture(const std::vector<std::string>& args) {
  int fds[2];
  if (pipe(fds) != 0) throw Error("cannot create a pipe to run " + args.front());
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args.front().c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw Error("cannot run " + args.front() + " (is it on PATH? --submit needs Slurm's client commands)");
  }
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) throw Error(args.front() + " failed (its message is above)");
  return out;
}

std::string absolute(const std::string& path) { return std::filesystem::absolute(path).lexically_normal().string(); }

int run_launch(int argc, char** argv) {
  LaunchSpec spec;
  std::vector<std::string> positionals;
  long long shards = 4, max_parallel = 0;
  std::string files_dir, lmzip_binary;
  bool submit = false;
  spec.name = "";
  ArgParser args(
      "lmzip launch slurm|k8s [options] -- lmzip bpc|eval -m MODEL ... [its options]",
      "Writes the files a cluster scheduler runs for a sharded lmzip bpc or eval (docs/CLUSTER.md): N shard tasks,\n"
      "each the command with --shard I/N --shard-dir DIR/parts, and a merge job that runs once all of them\n"
      "succeeded and writes DIR/result.json (recorded in DIR/lmzip-results.sqlite or --db). Shards are\n"
      "requeue-safe: a shard whose part is complete is skipped.\n"
      "  slurm: NAME-shards.sbatch (a job array --array=0-(N-1)%W, the shard from SLURM_ARRAY_TASK_ID) and\n"
      "         NAME-merge.sbatch (submit with --dependency=afterok:<array job>); --submit submits both.\n"
      "  k8s:   NAME-shards.yaml (an Indexed Job, the shard from JOB_COMPLETION_INDEX, backoffLimitPerIndex)\n"
      "         and NAME-merge.yaml (create it once the first Job is complete).\n"
      "Paths in the command and --dir must be the same on every node (Slurm) or in every pod (Kubernetes).");
  args.option("--shards", "N", &shards, "shards (default 4)");
  args.option("--max-parallel", "W", &max_parallel, "shards running at once (default: all)");
  args.option("--cpus-per-task", "C", &spec.cpus_per_task, "cores per shard, also its -t unless given (default 8)");
  args.option("--gpus-per-task", "G", &spec.gpus_per_task, "GPUs per shard (Slurm --gres=gpu:G, Kubernetes nvidia.com/gpu)");
  args.option("--mem", "SIZE", &spec.memory, "memory per shard, e.g. 16G (default: twice the model's size, at least 4G)");
  args.option("--dir", "DIR", &spec.dir,
              "the run's shared directory: parts/, logs/, result.json (default: slurm ./NAME, k8s MOUNT/runs/NAME)");
  args.option("--name", "NAME", &spec.name, "job name: lowercase letters, digits, '-' (default lmzip-bpc or lmzip-eval)");
  args.option("--db", "FILE", &spec.db, "results store the merge records into (default DIR/lmzip-results.sqlite)");
  args.option("--lmzip", "PATH", &lmzip_binary, "the lmzip binary on the nodes (default: slurm this binary, k8s lmzip)");
  args.option("-o, --output", "DIR", &files_dir, "where the files are written (default: slurm DIR, k8s .)");
  args.option("--sbatch", "OPTION", &spec.sbatch_args, "slurm: an extra sbatch option for both jobs, e.g. --partition=gpu (repeatable)");
  args.flag("--submit", &submit, "slurm: submit the array and the merge after it with sbatch");
  args.option("--image", "IMAGE", &spec.image, "k8s: the container image holding lmzip (default lmzip:latest)");
  args.option("--claim", "PVC", &spec.claim, "k8s: the ReadWriteMany PersistentVolumeClaim (default lmzip-data)");
  args.option("--mount", "PATH", &spec.mount, "k8s: where the claim is mounted in the pods (default /data)");
  args.option("--retries", "N", &spec.backoff_limit_per_index, "k8s: retries of a failed shard, backoffLimitPerIndex (default 3)");
  args.positionals("slurm|k8s -- COMMAND", &positionals, 1, 1'000'000, "the scheduler, then the lmzip command after --");
  if (!args.parse(argc, argv)) return 0;

  const std::string scheduler = positionals.front();
  if (scheduler != "slurm" && scheduler != "k8s") throw UsageError("unknown scheduler '" + scheduler + "' (slurm or k8s)");
  spec.command.assign(positionals.begin() + 1, positionals.end());
  if (!spec.command.empty() && std::filesystem::path(spec.command.front()).filename() == "lmzip") {
    spec.command.erase(spec.command.begin());
  }
  check_launch_command(spec.command);
  if (shards < 1 || shards > 1'000'000) throw UsageError("--shards must be 1..1000000");
  if (max_parallel > 1'000'000) throw UsageError("--max-parallel must be at most 1000000");
  if (submit && scheduler != "slurm") throw UsageError("--submit is for slurm (for k8s run the printed kubectl commands)");
  spec.shards = static_cast<uint32_t>(shards);
  spec.max_parallel = static_cast<uint32_t>(max_parallel);
  if (spec.name.empty()) spec.name = "lmzip-" + spec.command.front();
  if (spec.memory.empty()) {
    const std::string model = model_argument(spec.command);
    if (model.empty()) throw UsageError("the launched command has no -m MODEL (give it, or --mem)");
    if (!file_exists(model) && !std::filesystem::is_directory(model)) {
      throw Error(model + ": no such model here, so its size is unknown: give --mem");
    }
    spec.memory = memory_for_model(model_bytes(model));
  }

  LaunchFiles files;
  if (scheduler == "slurm") {
    spec.dir = absolute(spec.dir.empty() ? spec.name : spec.dir);
    spec.lmzip = lmzip_binary.empty() ? std::filesystem::read_symlink("/proc/self/exe").string() : lmzip_binary;
    if (files_dir.empty()) files_dir = spec.dir;
    files_dir = absolute(files_dir);
    files = slurm_files(spec, files_dir);
    // sbatch opens the logs there before the task starts; a missing directory loses them.
    std::filesystem::create_directories(spec.dir + "/parts");
    std::filesystem::create_directories(spec.dir + "/logs");
  } else {
    if (spec.dir.empty()) spec.dir = spec.mount + "/runs/" + spec.name;
    spec.lmzip = lmzip_binary.empty() ? "lmzip" : lmzip_binary;
    if (files_dir.empty()) files_dir = ".";
    files = k8s_files(spec, files_dir);
  }
  std::filesystem::create_directories(files_dir);
  const std::string shards_path = files_dir + "/" + files.shards_name, merge_path = files_dir + "/" + files.merge_name;
  write_file_atomic(shards_path, files.shards);
  write_file_atomic(merge_path, files.merge);
  std::cout << "wrote " << shards_path << " (" << spec.shards << " shards, at most "
            << (spec.max_parallel ? std::min(spec.max_parallel, spec.shards) : spec.shards) << " at once, "
            << spec.cpus_per_task << " cores and " << spec.memory << " each) and " << merge_path << "\n";
  if (!submit) {
    std::cout << "to run:\n  " << files.how_to_run << "result: " << spec.dir << "/result.json\n";
    return 0;
  }
  const uint64_t array = parse_sbatch_job_id(run_capture({"sbatch", "--parsable", shards_path}));
  const uint64_t merge = parse_sbatch_job_id(
      run_capture({"sbatch", "--parsable", "--dependency=afterok:" + std::to_string(array), merge_path}));
  std::cout << "submitted shard array " << array << " and merge job " << merge << " (after array " << array
            << " succeeds)\nresult: " << spec.dir << "/result.json\n";
  return 0;
}

Registration reg{{"launch", "write (and submit) Slurm job-array or Kubernetes Indexed Job files for a sharded lmzip bpc or eval",
                  run_launch}};

}  // namespace
}  // namespace lmzip::cli
