// Launchers for cluster schedulers: `lmzip launch slurm|k8s -- lmzip bpc ...` turns one lmzip command into the
// files a scheduler runs (docs/CLUSTER.md): N shard tasks, each the command with `--shard I/N`, and a merge job
// that runs once every shard has succeeded. lmzip has no cluster manager: Slurm job arrays and Kubernetes
// Indexed Jobs do the scheduling, retries and placement. Pure functions of a LaunchSpec (the texts come from
// templates.h); submitting (sbatch) is the CLI's business.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lmzip {

struct LaunchSpec {
  std::vector<std::string> command;  // the lmzip subcommand (bpc, eval) and its arguments, without "lmzip"
  std::string lmzip = "lmzip";       // the binary as the nodes/pods see it
  std::string dir;                   // the run's shared directory (absolute): parts/, logs/, result.json
  std::string db;                    // results store the merge records into (default DIR/lmzip-results.sqlite)
  std::string name = "lmzip";        // job name (Slurm) / Job name (Kubernetes: a DNS label)
  uint32_t shards = 4;
  uint32_t max_parallel = 0;  // shards running at once; 0: all
  int cpus_per_task = 8;
  int gpus_per_task = 0;
  std::string memory;  // per shard, Slurm's form "16G" (memory_for_model gives the default)
  // Slurm: extra #SBATCH lines ("--partition=gpu", "--account=x", "--time=24:00:00").
  std::vector<std::string> sbatch_args;
  // Kubernetes: the image holding lmzip, the ReadWriteMany claim and where it is mounted in the pods.
  std::string image = "lmzip:latest", claim = "lmzip-data", mount = "/data";
  int backoff_limit_per_index = 3;
};

// Checks the command a launcher shards: a subcommand that knows --shard (bpc, eval), without the options the
// launcher or the merge sets (--shard, --shard-dir, --db, --no-db, --checkpoint; bpc --per-doc; eval --output,
// --log-samples); UsageError naming the option otherwise.
void check_launch_command(const std::vector<std::string>& command);
// check_launch_command, and the spec's numbers, name, directory and memory.
void check_launch_spec(const LaunchSpec& spec);

// The model file of the command (-m / --model), or "" when it has none.
std::string model_argument(const std::vector<std::string>& command);

// Memory per shard from the model's size: twice the file (weights plus the engine's copies and activations),
// rounded up to whole GiB, at least 4G; in Slurm's form ("8G").
std::string memory_for_model(uint64_t model_bytes);

// Parses a memory size ("800M", "16G", "1T", "4096" = MiB as Slurm reads it) into MiB; UsageError otherwise.
uint64_t parse_memory_mib(std::string_view text);

// The shard task's argv: the command with --shard INDEX/N --shard-dir DIR/parts, and -t CPUS unless the command
// sets its threads. `index` is the scheduler's variable as the script or manifest writes it.
std::vector<std::string> shard_argv(const LaunchSpec& spec, const std::string& index);
// The merge's argv: lmzip merge DIR/parts -o DIR/result.json --db DB.
std::vector<std::string> merge_argv(const LaunchSpec& spec);

// `s` as one POSIX shell word (single-quoted unless it is plainly safe).
std::string shell_quote(std::string_view s);

struct LaunchFiles {
  std::string shards_name, shards;  // file name and text of the shard job
  std::string merge_name, merge;    // file name and text of the merge job
  std::string how_to_run;           // the commands a user runs to submit both, in order
};

// Slurm: a job-array script (--array=0-(N-1)%W, the shard from SLURM_ARRAY_TASK_ID, --requeue) and a merge
// script to submit with --dependency=afterok:<the array's job id>.
LaunchFiles slurm_files(const LaunchSpec& spec, const std::string& files_dir);
// Kubernetes: an Indexed Job (completionMode Indexed, the shard from JOB_COMPLETION_INDEX, backoffLimitPerIndex)
// and a merge Job to create once it has completed.
LaunchFiles k8s_files(const LaunchSpec& spec, const std::string& files_dir);

// The job id in `sbatch --parsable` output ("1234", "1234;cluster", a trailing newline); Error otherwise.
uint64_t parse_sbatch_job_id(std::string_view output);

}  // namespace lmzip
