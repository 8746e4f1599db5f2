// The launchers' files, as templates: {{key}} is replaced by render() (launch.cpp) with values already quoted
// for the file's language (shell words, YAML/JSON strings). Editing a scheduler's file means editing it here.
#pragma once

namespace lmzip::launch_templates {

// One Slurm array task per shard. --requeue: a node failure or `scontrol requeue` runs the task again, and a
// shard whose part is complete exits at once. --open-mode=append keeps the log of an earlier attempt.
inline constexpr const char* kSlurmShards = R"(#!/bin/bash
# lmzip launch slurm: shard $SLURM_ARRAY_TASK_ID of {{shards}} of one lmzip {{subcommand}} run (docs/CLUSTER.md).
# Submit this array first, then {{merge_file}} with --dependency=afterok:<this array's job id>.
#SBATCH --job-name={{name}}
#SBATCH --array=0-{{last_shard}}%{{max_parallel}}
#SBATCH --cpus-per-task={{cpus}}
#SBATCH --mem={{memory}}
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output={{dir}}/logs/shard-%a.out
{{extra_sbatch}}set -euo pipefail
exec {{shard_command}}
)";

inline constexpr const char* kSlurmMerge = R"(#!/bin/bash
# lmzip launch slurm: the merge of the {{shards}} shards in {{dir}}/parts, once all of them succeeded.
#SBATCH --job-name={{name}}-merge
#SBATCH --cpus-per-task=1
#SBATCH --mem=4G
#SBATCH --output={{dir}}/logs/merge.out
{{extra_sbatch}}set -euo pipefail
exec {{merge_command}}
)";

inline constexpr const char* kSlurmHowToRun = R"(array=$(sbatch --parsable {{shards_file}}) && sbatch --parsable --dependency=afterok:${array%%;*} {{merge_file}}
)";

// One pod per shard. backoffLimitPerIndex retries a failed shard alone; restartPolicy Never is what it needs.
inline constexpr const char* kK8sShards = R"(# lmzip launch k8s: {{shards}} shards of one lmzip {{subcommand}} run as an Indexed Job (docs/CLUSTER.md).
# Pod I runs shard JOB_COMPLETION_INDEX; create {{merge_file}} once this Job is complete.
apiVersion: batch/v1
kind: Job
metadata:
  name: {{name}}
  labels: {app.kubernetes.io/name: lmzip, app.kubernetes.io/component: shards}
spec:
  completionMode: Indexed
  completions: {{shards}}
  parallelism: {{max_parallel}}
  backoffLimitPerIndex: {{backoff_limit_per_index}}
  template:
    metadata:
      labels: {app.kubernetes.io/name: lmzip, app.kubernetes.io/component: shards}
    spec:
      restartPolicy: Never
      containers:
        - name: shard
          image: {{image}}
          command: {{shard_command}}
          resources:
            requests: {cpu: "{{cpus}}", memory: {{memory}}}
            limits: {memory: {{memory}}{{gpu_limit}}}
          volumeMounts:
            - {name: data, mountPath: {{mount}}}
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: {{claim}}}
)";

inline constexpr const char* kK8sMerge = R"(# lmzip launch k8s: the merge of the {{shards}} shards in {{dir}}/parts; create it once Job {{shards_job}} is complete.
apiVersion: batch/v1
kind: Job
metadata:
  name: {{name}}
  labels: {app.kubernetes.io/name: lmzip, app.kubernetes.io/component: merge}
spec:
  backoffLimit: 2
  template:
    metadata:
      labels: {app.kubernetes.io/name: lmzip, app.kubernetes.io/component: merge}
    spec:
      restartPolicy: Never
      containers:
        - name: merge
          image: {{image}}
          command: {{merge_command}}
          resources:
            requests: {cpu: "1", memory: 4Gi}
          volumeMounts:
            - {name: data, mountPath: {{mount}}}
      volumes:
        - name: data
          persistentVolumeClaim: {claimName: {{claim}}}
)";

inline constexpr const char* kK8sHowToRun = R"(kubectl apply -f {{shards_file}} && kubectl wait --for=condition=complete --timeout=-1s job/{{shards_job}} && kubectl apply -f {{merge_file}}
)";

}  // namespace lmzip::launch_templates
