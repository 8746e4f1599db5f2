// The launchers' files: the Slurm array and merge scripts, the Kubernetes Indexed Job and merge Job, the memory
// rule and the sbatch --parsable parser. (The YAML is parsed by a YAML parser in tests/cli/launch_cli_test.cpp;
// the scripts run on a real Slurm in tests/slurm/slurm_test.sh.)
#include "lmzip/launch/launch.h"

#include <gtest/gtest.h>

#include "lmzip/core/error.h"

namespace lmzip {
namespace {

LaunchSpec spec() {
  LaunchSpec s;
  s.command = {"bpc", "-m", "/shared/m.gguf", "/shared/cc.jsonl", "--protocol", "hkust"};
  s.lmzip = "/opt/lmzip/bin/lmzip";
  s.dir = "/shared/runs/cc";
  s.name = "cc-run";
  s.shards = 8;
  s.max_parallel = 3;
  s.cpus_per_task = 16;
  s.memory = "12G";
  return s;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(Launch, SlurmArrayScriptRunsShardIOfNFromTheArrayTaskId) {
  LaunchFiles f = slurm_files(spec(), "/shared/runs/cc");
  EXPECT_EQ(f.shards_name, "cc-run-shards.sbatch");
  EXPECT_TRUE(f.shards.starts_with("#!/bin/bash\n"));
  for (const char* line : {"#SBATCH --job-name=cc-run\n", "#SBATCH --array=0-7%3\n", "#SBATCH --cpus-per-task=16\n",
                           "#SBATCH --mem=12G\n", "#SBATCH --requeue\n", "#SBATCH --output=/shared/runs/cc/logs/shard-%a.out\n"}) {
    EXPECT_TRUE(contains(f.shards, line)) << line << "\n" << f.shards;
  }
  EXPECT_TRUE(contains(f.shards, "exec /opt/lmzip/bin/lmzip bpc -m /shared/m.gguf /shared/cc.jsonl --protocol hkust "
                                 "--shard \"${SLURM_ARRAY_TASK_ID:?not inside a Slurm array task}/8\" "
                                 "--shard-dir /shared/runs/cc/parts -t 16\n"))
      << f.shards;
  EXPECT_TRUE(contains(f.merge, "#SBATCH --job-name=cc-run-merge\n"));
  EXPECT_TRUE(contains(f.merge, "exec /opt/lmzip/bin/lmzip merge /shared/runs/cc/parts -o /shared/runs/cc/result.json "
                                "--db /shared/runs/cc/lmzip-results.sqlite\n"))
      << f.merge;
  EXPECT_EQ(f.how_to_run,
            "array=$(sbatch --parsable /shared/runs/cc/cc-run-shards.sbatch) && sbatch --parsable "
            "--dependency=afterok:${array%%;*} /shared/runs/cc/cc-run-merge.sbatch\n");
}

TEST(Launch, SlurmExtrasGpusAndGivenThreads) {
  LaunchSpec s = spec();
  s.max_parallel = 0;
  s.gpus_per_task = 1;
  s.sbatch_args = {"--partition=gpu", "--time=24:00:00"};
  s.command.insert(s.command.end(), {"--device", "cuda", "-t", "4"});
  LaunchFiles f = slurm_files(s, "/x");
  EXPECT_TRUE(contains(f.shards, "#SBATCH --array=0-7%8\n"));
  EXPECT_TRUE(contains(f.shards, "#SBATCH --gres=gpu:1\n#SBATCH --partition=gpu\n#SBATCH --time=24:00:00\n"));
  EXPECT_TRUE(contains(f.merge, "#SBATCH --partition=gpu\n"));
  EXPECT_TRUE(contains(f.shards, "--device cuda -t 4 --shard ")) << f.shards;
  EXPECT_FALSE(contains(f.shards, "-t 16"));
}

TEST(Launch, EvalShardsTheSameWay) {
  LaunchSpec s = spec();
  s.command = {"eval", "-m", "/shared/m.gguf", "--task", "arc_challenge", "--data", "/shared/arc.jsonl"};
  LaunchFiles f = slurm_files(s, "/x");
  EXPECT_TRUE(contains(f.shards, "# lmzip launch slurm: shard $SLURM_ARRAY_TASK_ID of 8 of one lmzip eval run"));
  EXPECT_TRUE(contains(f.shards, "exec /opt/lmzip/bin/lmzip eval -m /shared/m.gguf --task arc_challenge --data "
                                 "/shared/arc.jsonl --shard \"${SLURM_ARRAY_TASK_ID:?not inside a Slurm array task}/8\" "
                                 "--shard-dir /shared/runs/cc/parts -t 16\n"))
      << f.shards;
  EXPECT_TRUE(contains(f.merge, "exec /opt/lmzip/bin/lmzip merge /shared/runs/cc/parts "));
}

TEST(Launch, ArgumentsAreQuotedForTheShell) {
  EXPECT_EQ(shell_quote("/a/b-c_d.gguf"), "/a/b-c_d.gguf");
  EXPECT_EQ(shell_quote("my corpus.jsonl"), "'my corpus.jsonl'");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME"), "'$HOME'");
  EXPECT_EQ(shell_quote(""), "''");
  LaunchSpec s = spec();
  s.command[3] = "/shared/my $corpus.jsonl";
  EXPECT_TRUE(contains(slurm_files(s, "/x").shards, " '/shared/my $corpus.jsonl' "));
}

TEST(Launch, K8sIndexedJobTakesTheShardFromTheCompletionIndex) {
  LaunchSpec s = spec();
  s.lmzip = "lmzip";
  s.gpus_per_task = 2;
  LaunchFiles f = k8s_files(s, "k8s");
  EXPECT_EQ(f.shards_name, "cc-run-shards.yaml");
  for (const char* line : {"  name: cc-run\n", "  completionMode: Indexed\n", "  completions: 8\n", "  parallelism: 3\n",
                           "  backoffLimitPerIndex: 3\n", "      restartPolicy: Never\n",
                           "requests: {cpu: \"16\", memory: 12288Mi}", "limits: {memory: 12288Mi, nvidia.com/gpu: 2}"}) {
    EXPECT_TRUE(contains(f.shards, line)) << line << "\n" << f.shards;
  }
  EXPECT_TRUE(contains(f.shards, R"(command: ["lmzip", "bpc", "-m", "/shared/m.gguf", "/shared/cc.jsonl", "--protocol", )"
                                 R"("hkust", "--shard", "$(JOB_COMPLETION_INDEX)/8", "--shard-dir", "/shared/runs/cc/parts", )"
                                 R"("-t", "16"])"))
      << f.shards;
  EXPECT_TRUE(contains(f.merge, "  name: cc-run-merge\n"));
  EXPECT_TRUE(contains(f.merge, R"(command: ["lmzip", "merge", "/shared/runs/cc/parts", "-o", "/shared/runs/cc/result.json", )"))
      << f.merge;
  EXPECT_EQ(f.how_to_run, "kubectl apply -f k8s/cc-run-shards.yaml && kubectl wait --for=condition=complete "
                          "--timeout=-1s job/cc-run && kubectl apply -f k8s/cc-run-merge.yaml\n");
}

TEST(Launch, MemoryIsTwiceTheModelAtLeastFourGiB) {
  EXPECT_EQ(memory_for_model(10'000'000), "4G");
  EXPECT_EQ(memory_for_model(uint64_t{3} << 30), "6G");
  EXPECT_EQ(memory_for_model((uint64_t{3} << 30) + 1), "7G");
  EXPECT_EQ(memory_for_model(uint64_t{141} << 30), "282G");  // Llama-3-70B in BF16
  EXPECT_EQ(parse_memory_mib("800M"), 800u);
  EXPECT_EQ(parse_memory_mib("4096"), 4096u);
  EXPECT_EQ(parse_memory_mib("16G"), 16384u);
  EXPECT_EQ(parse_memory_mib("1T"), 1048576u);
  for (const char* bad : {"", "G", "16 G", "16g", "-1G", "0", "16GB", "99999999999999T"}) {
    EXPECT_THROW(parse_memory_mib(bad), UsageError) << bad;
  }
}

TEST(Launch, TheModelArgumentIsFoundInEitherSpelling) {
  EXPECT_EQ(model_argument({"bpc", "-m", "a.gguf", "c.jsonl"}), "a.gguf");
  EXPECT_EQ(model_argument({"bpc", "c.jsonl", "--model", "b.gguf"}), "b.gguf");
  EXPECT_EQ(model_argument({"bpc", "--model=d", "c.jsonl"}), "d");
  EXPECT_EQ(model_argument({"bpc", "c.jsonl"}), "");
}

TEST(Launch, CommandsItCannotShardAreRefusedNamingTheOption) {
  auto refused = [](std::vector<std::string> command, const std::string& what) {
    LaunchSpec s = spec();
    s.command = std::move(command);
    try {
      slurm_files(s, "/x");
      ADD_FAILURE() << "accepted: " << what;
    } catch (const UsageError& e) {
      EXPECT_TRUE(contains(e.what(), what)) << e.what();
    }
  };
  refused({}, "no command to launch");
  refused({"compress", "-m", "m.gguf", "x"}, "only lmzip bpc and lmzip eval run in shards");
  refused({"bpc", "-m", "m", "c", "--shard", "0/2"}, "--shard");
  refused({"bpc", "-m", "m", "c", "--shard-dir=x"}, "--shard-dir");
  refused({"bpc", "-m", "m", "c", "--db", "x"}, "--db");
  refused({"bpc", "-m", "m", "c", "--per-doc", "x"}, "--per-doc");
  refused({"eval", "-m", "m", "--task", "arc_challenge", "--data", "d", "--output", "r.json"}, "--output");
  refused({"eval", "-m", "m", "--task", "arc_challenge", "--data", "d", "--log-samples=s"}, "--log-samples");
  LaunchSpec s = spec();
  s.name = "Bad_Name";
  EXPECT_THROW(slurm_files(s, "/x"), UsageError);
  s = spec();
  s.dir = "relative/dir";
  EXPECT_THROW(k8s_files(s, "/x"), UsageError);
  s = spec();
  s.sbatch_args = {"--partition=gpu\nrm -rf /"};
  EXPECT_THROW(slurm_files(s, "/x"), UsageError);
}

TEST(Launch, SbatchParsableOutputGivesTheJobId) {
  EXPECT_EQ(parse_sbatch_job_id("1234\n"), 1234u);
  EXPECT_EQ(parse_sbatch_job_id("98765;cluster-a\n"), 98765u);
  for (const char* bad : {"", "\n", "sbatch: error: invalid partition", "12ab", ";x", "0"}) {
    EXPECT_THROW(parse_sbatch_job_id(bad), Error) << bad;
  }
}

}  // namespace
}  // namespace lmzip
