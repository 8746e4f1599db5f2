// `lmzip launch slurm|k8s`: the generated Slurm scripts run as plain shell scripts (the array task index set by
// hand) give the single-process result through the merge script; the Kubernetes manifests parse as YAML (Python's
// yaml module) with the Indexed Job's fields; bad command lines are refused. (The scripts on a real Slurm:
// tests/slurm/slurm_test.sh.)
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "lmzip/io/file.h"
#include "testutil/testutil.h"

namespace lmzip {
namespace {

std::string model() { return test::shared_dir() + "/zoo/models/zoo-s1.gguf"; }
std::string corpus() { return test::shared_dir() + "/zoo/corpora/cc.testA.jsonl"; }
const std::string kBpc = " --protocol hkust --window 64 --stride 16 --max-chunks 20 -t 1";

// Runs a shell command; returns its standard output (the exit status in *rc).
std::string shell(const std::string& command, int* rc) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  *rc = pclose(p);
  return out;
}

TEST(LaunchCli, SlurmScriptsRunByHandMergeToTheSingleRun) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::string dir = test::temp_dir() + "/slurm-run";
  test::CliResult l = test::run_lmzip("launch slurm --shards 3 --cpus-per-task 1 --dir " + dir + " --name cc-test -- lmzip bpc -m " +
                                      model() + " " + corpus() + kBpc);
  ASSERT_EQ(l.rc, 0) << l.err;
  EXPECT_NE(l.out.find("at most 3 at once, 1 cores and 4G each"), std::string::npos) << l.out;  // 10 MB model: 4G
  EXPECT_NE(l.out.find("array=$(sbatch --parsable " + dir + "/cc-test-shards.sbatch)"), std::string::npos) << l.out;
  EXPECT_TRUE(std::filesystem::is_directory(dir + "/logs"));
  const std::string script = dir + "/cc-test-shards.sbatch";
  EXPECT_NE(read_file(script).find("#SBATCH --array=0-2%3\n"), std::string::npos);
  int rc = -1;
  for (int i = 0; i < 3; ++i) {
    shell("SLURM_ARRAY_TASK_ID=" + std::to_string(i) + " bash " + script + " 2>&1", &rc);
    ASSERT_EQ(rc, 0) << "shard " << i;
  }
  // Outside an array task the script says so instead of running shard "/3".
  std::string outside = shell("env -u SLURM_ARRAY_TASK_ID bash " + script + " 2>&1", &rc);
  EXPECT_NE(rc, 0);
  EXPECT_NE(outside.find("not inside a Slurm array task"), std::string::npos) << outside;
  shell("bash " + dir + "/cc-test-merge.sbatch >/dev/null 2>&1", &rc);
  ASSERT_EQ(rc, 0);
  test::CliResult single = test::run_lmzip("bpc --no-db --json -m " + model() + " " + corpus() + kBpc);
  ASSERT_EQ(single.rc, 0) << single.err;
  nlohmann::json s = nlohmann::json::parse(single.out), m = nlohmann::json::parse(read_file(dir + "/result.json"));
  EXPECT_EQ(m["total_nats"].get<double>(), s["total_nats"].get<double>());
  EXPECT_EQ(m["bpc"].get<double>(), s["bpc"].get<double>());
  EXPECT_EQ(m["scored_tokens"], s["scored_tokens"]);
  EXPECT_TRUE(std::filesystem::file_size(dir + "/lmzip-results.sqlite") > 0);
}

TEST(LaunchCli, K8sManifestsAreYamlWithTheIndexedJobFields) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::string out = test::temp_dir() + "/k8s";
  test::CliResult l = test::run_lmzip("launch k8s --shards 6 --max-parallel 2 --cpus-per-task 4 --gpus-per-task 1 --mem 3G "
                                      "--retries 5 --image reg.example/lmzip:0.1 --claim runs --mount /mnt/d -o " + out +
                                      " --name cc-70b -- lmzip bpc -m '/mnt/d/my model.gguf' /mnt/d/cc.jsonl --protocol hkust");
  ASSERT_EQ(l.rc, 0) << l.err;
  int rc = -1;
  const std::string py = "python3 -c 'import json, sys, yaml; print(json.dumps([d for f in sys.argv[1:] "
                         "for d in yaml.safe_load_all(open(f))]))' ";
  std::string parsed = shell(py + out + "/cc-70b-shards.yaml " + out + "/cc-70b-merge.yaml", &rc);
  if (rc != 0 && parsed.empty()) GTEST_SKIP() << "python3 with yaml is missing (scripts/deps installs python3-yaml)";
  ASSERT_EQ(rc, 0) << parsed;
  nlohmann::json docs = nlohmann::json::parse(parsed);
  ASSERT_EQ(docs.size(), 2u);
  const nlohmann::json& job = docs[0];
  EXPECT_EQ(job["apiVersion"], "batch/v1");
  EXPECT_EQ(job["kind"], "Job");
  EXPECT_EQ(job["metadata"]["name"], "cc-70b");
  EXPECT_EQ(job["spec"]["completionMode"], "Indexed");
  EXPECT_EQ(job["spec"]["completions"], 6);
  EXPECT_EQ(job["spec"]["parallelism"], 2);
  EXPECT_EQ(job["spec"]["backoffLimitPerIndex"], 5);
  const nlohmann::json& pod = job["spec"]["template"]["spec"];
  EXPECT_EQ(pod["restartPolicy"], "Never");
  const nlohmann::json& c = pod["containers"][0];
  EXPECT_EQ(c["image"], "reg.example/lmzip:0.1");
  EXPECT_EQ(c["command"], nlohmann::json({"lmzip", "bpc", "-m", "/mnt/d/my model.gguf", "/mnt/d/cc.jsonl", "--protocol",
                                          "hkust", "--shard", "$(JOB_COMPLETION_INDEX)/6", "--shard-dir",
                                          "/mnt/d/runs/cc-70b/parts", "-t", "4"}));
  EXPECT_EQ(c["resources"]["requests"]["cpu"], "4");
  EXPECT_EQ(c["resources"]["requests"]["memory"], "3072Mi");
  EXPECT_EQ(c["resources"]["limits"]["nvidia.com/gpu"], 1);
  EXPECT_EQ(c["volumeMounts"][0]["mountPath"], "/mnt/d");
  EXPECT_EQ(pod["volumes"][0]["persistentVolumeClaim"]["claimName"], "runs");
  const nlohmann::json& merge = docs[1];
  EXPECT_EQ(merge["metadata"]["name"], "cc-70b-merge");
  EXPECT_EQ(merge["spec"]["template"]["spec"]["containers"][0]["command"],
            nlohmann::json({"lmzip", "merge", "/mnt/d/runs/cc-70b/parts", "-o", "/mnt/d/runs/cc-70b/result.json", "--db",
                            "/mnt/d/runs/cc-70b/lmzip-results.sqlite"}));
  EXPECT_NE(l.out.find("kubectl wait --for=condition=complete --timeout=-1s job/cc-70b"), std::string::npos) << l.out;
}

TEST(LaunchCli, BadCommandLinesAreRefused) {
  LMZIP_REQUIRE_SHARED("zoo/models/zoo-s1.gguf");
  const std::string dir = " --dir " + test::temp_dir() + "/bad";
  struct Bad {
    std::string args, message;
  };
  const Bad cases[] = {
      {"launch pbs -- lmzip bpc -m " + model() + " x", "unknown scheduler 'pbs'"},
      {"launch slurm" + dir, "no command to launch"},
      {"launch slurm" + dir + " -- lmzip compress -m " + model() + " x", "only lmzip bpc and lmzip eval run in shards"},
      {"launch slurm" + dir + " -- lmzip bpc -m " + model() + " x --shard 0/2", "must not set --shard"},
      {"launch slurm" + dir + " -- lmzip bpc x", "no -m MODEL"},
      {"launch slurm" + dir + " -- lmzip bpc -m /no/such.gguf x", "/no/such.gguf: no such model here"},
      {"launch slurm --shards 0" + dir + " -- lmzip bpc -m " + model() + " x", "--shards must be 1..1000000"},
      {"launch slurm --mem 4GB" + dir + " -- lmzip bpc -m " + model() + " x", "--mem '4GB' is not a memory size"},
      {"launch k8s --submit -- lmzip bpc -m " + model() + " x", "--submit is for slurm"},
  };
  for (const Bad& b : cases) {
    test::CliResult r = test::run_lmzip(b.args);
    EXPECT_NE(r.rc, 0) << b.args;
    EXPECT_NE(r.err.find(b.message), std::string::npos) << b.args << "\n" << r.err;
  }
  EXPECT_FALSE(std::filesystem::exists(test::temp_dir() + "/bad/lmzip-bpc-shards.sbatch"));
}

}  // namespace
}  // namespace lmzip
