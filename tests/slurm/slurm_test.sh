#!/usr/bin/env bash
# A real single-node Slurm on localhost runs what `lmzip launch slurm --submit` generates: a 4-way lmzip bpc
# job array on a zoo model and its merge job (afterok), and the merged result must equal the single-process
# result bit for bit; then again with one shard killed mid-run by `scontrol requeue` (it reruns; the merge waits).
# Its own munged (own key and socket), slurmctld and slurmd, every path in a temporary directory, free ports;
# every daemon is stopped on any exit. Exits 77 (ctest: skipped), saying why, where Slurm cannot run here.
#   tests/slurm/slurm_test.sh [LMZIP_BINARY]      (LMZIP_SHARED: the shared/ directory with zoo/)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
lmzip=$(readlink -f "${1:-${LMZIP_BIN:-$root/build/lmzip}}")
shared=${LMZIP_SHARED:-$root/../shared}
model=$shared/zoo/models/zoo-s1.gguf
corpus=$shared/zoo/corpora/cc.testA.jsonl
skip() { echo "SKIPPED: $*"; exit 77; }

for tool in munged slurmctld slurmd sbatch scontrol squeue sinfo python3; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (scripts/deps installs slurm-wlm and munge)"
done
[ -x "$lmzip" ] || { echo "FAIL: no lmzip binary at $lmzip"; exit 1; }
[ -f "$model" ] && [ -f "$corpus" ] || skip "test material missing: $model or $corpus (set LMZIP_SHARED)"
# SlurmUser and SlurmdUser are the current user; slurmd must run as root to start jobs as their owners.
[ "$(id -u)" -eq 0 ] || skip "slurmd must run as root to launch jobs (this is uid $(id -u), no single-user mode)"

tmp=$(mktemp -d /tmp/lmzip-slurm.XXXXXX)
chmod 700 "$tmp"
pids=()
cleanup() {
  local rc=$?
  if [ -f "$tmp/slurm.conf" ]; then
    scancel --quiet --user="$(id -un)" 2>/dev/null || true
    for _ in $(seq 50); do [ -z "$(squeue -h 2>/dev/null)" ] && break; sleep 0.2; done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
    for log in "$tmp"/*.log "$tmp"/run*/logs/*.out; do [ -f "$log" ] && { echo "--- $log"; tail -n 30 "$log"; }; done
  fi
  [ -n "${LMZIP_SLURM_KEEP:-}" ] && echo "kept $tmp" || rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# munged: its own key, socket, pid, log and seed files.
mkdir -m 755 "$tmp/munge"
head -c 1024 /dev/urandom > "$tmp/munge/munge.key"
chmod 400 "$tmp/munge/munge.key"
socket=$tmp/munge/munge.socket
munged --foreground --force --socket="$socket" --key-file="$tmp/munge/munge.key" \
  --pid-file="$tmp/munge/munged.pid" --log-file="$tmp/munged.log" --seed-file="$tmp/munge/seed" \
  >>"$tmp/munged.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || skip "munged did not start: $(tail -n 3 "$tmp/munged.log" 2>/dev/null | tr '\n' ' ')"

read -r ctld_port slurmd_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
host=$(hostname -s)
node=$(slurmd -C 2>/dev/null | head -n 1) || true  # the node as slurmd sees it: CPUs, sockets, cores, RealMemory
[[ "$node" == NodeName=*CPUs=* ]] || skip "slurmd -C cannot describe this machine ('$node')"
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
mkdir -p "$tmp/state" "$tmp/spool"
: > "$tmp/plugstack.conf"
cat > "$tmp/slurm.conf" <<CONF
ClusterName=lmzip-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$socket,cred_expire=5
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/slurmctld.pid
SlurmdPidFile=$tmp/slurmd.pid
SlurmctldLogFile=$tmp/slurmctld.log
SlurmdLogFile=$tmp/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
ReturnToService=2
KillWait=2
PlugStackConfig=$tmp/plugstack.conf
NodeName=$host NodeAddr=127.0.0.1 ${node#NodeName=* }
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
sed -i 's/ UpTime=.*//' "$tmp/slurm.conf"
export SLURM_CONF=$tmp/slurm.conf

slurmctld -D -i -f "$SLURM_CONF" >"$tmp/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N "$host" >"$tmp/slurmd.out" 2>&1 &
pids+=($!)
state=""
for _ in $(seq 100); do
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || skip "a Slurm daemon exited at start: $(tail -n 3 "$tmp"/slurm*.log "$tmp"/slurm*.out 2>/dev/null | tr '\n' ' ')"
  done
  sleep 0.2
done
[ "$state" = idle ] || skip "the node did not become idle (state '$state'): $(tail -n 3 "$tmp/slurmd.log" 2>/dev/null | tr '\n' ' ')"
echo "slurm up: $host, $cpus CPUs, ports $ctld_port/$slurmd_port"

bpc_args=(bpc -m "$model" "$corpus" --protocol hkust --window 64 --stride 16 --max-chunks 48 -t 1)
"$lmzip" "${bpc_args[@]}" --no-db --json > "$tmp/single.json"

state_of() { scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p' | head -n 1; }
# Waits for job $1 to end (at most $2 s); fails unless it COMPLETED.
wait_done() {
  local s=""
  for _ in $(seq $(($2 * 5))); do
    s=$(state_of "$1")
    case "$s" in COMPLETED) return 0 ;; FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY) break ;; esac
    sleep 0.2
  done
  echo "FAIL: job $1 is '$s', not COMPLETED"; scontrol show job "$1" || true; exit 1
}
# Submits the launcher's files for run directory $1 (the tasks run binary $2); sets array and merge to the job ids.
submit() {
  "$lmzip" launch slurm --shards 4 --max-parallel "$cpus" --cpus-per-task 1 --mem 1G --dir "$1" --name lmzip-test \
    --lmzip "$2" --submit -- lmzip "${bpc_args[@]}" | tee "$1.submit"
  read -r array merge < <(sed -n 's/^submitted shard array \([0-9]*\) and merge job \([0-9]*\).*/\1 \2/p' "$1.submit")
  [ -n "$array" ] && [ -n "$merge" ] || { echo "FAIL: no job ids in the launcher's output"; exit 1; }
}
# The merged result equals the single run in every number and in the plan.
same_as_single() {
  python3 - "$tmp/single.json" "$1/result.json" <<'PY'
import json, sys
single, merged = (json.loads(open(p).readline()) for p in sys.argv[1:])
keys = ["total_nats", "bpc", "bpb", "bits_per_token", "ppl", "documents", "chars", "bytes", "tokens", "windows",
        "scored_tokens", "protocol", "window", "stride", "model_id", "corpus_sha256"]
bad = [k for k in keys if k not in single or single[k] != merged.get(k)]
if bad:
    sys.exit("FAIL: merged result differs from the single run in " + ", ".join(f"{k}: {merged.get(k)!r} vs {single.get(k)!r}" for k in bad))
print(f"merged = single bit for bit: total_nats {merged['total_nats']!r}, bpc {merged['bpc']!r}")
PY
}

# 1. The array and its merge.
submit "$tmp/run1" "$lmzip"
wait_done "$merge" 60
for i in 0 1 2 3; do [ -f "$tmp/run1/parts/"*".$i-of-4.lmzpart.done" ] || { echo "FAIL: no marker of shard $i"; exit 1; }; done
same_as_single "$tmp/run1"
[ -s "$tmp/run1/lmzip-results.sqlite" ] || { echo "FAIL: the merge recorded nothing in run1/lmzip-results.sqlite"; exit 1; }

# 2. Shard 1 killed mid-run and requeued: it runs again, the merge waits for it, and the result is the same.
# So that it is surely mid-run when killed, its first attempt starts lmzip and stops it at once (SIGSTOP) until
# the requeue kills it; the second attempt runs as usual.
pausing=$tmp/lmzip-pausing
cat > "$pausing" <<WRAPPER
#!/bin/bash
if [[ " \$* " == *" --shard 1/4 "* ]] && mkdir "$tmp/paused" 2>/dev/null; then
  "$lmzip" "\$@" &
  kill -STOP \$!
  echo \$! > "$tmp/paused/pid"
  wait
  exit 1
fi
exec "$lmzip" "\$@"
WRAPPER
chmod +x "$pausing"
submit "$tmp/run2" "$pausing"
for _ in $(seq 300); do [ -s "$tmp/paused/pid" ] && break; sleep 0.1; done
[ -s "$tmp/paused/pid" ] || { echo "FAIL: shard 1 never started"; exit 1; }
[ "$(state_of "${array}_1")" = RUNNING ] || { echo "FAIL: shard 1 is '$(state_of "${array}_1")', not RUNNING"; exit 1; }
ls "$tmp/run2/parts/"*".1-of-4.lmzpart"* >/dev/null 2>&1 && { echo "FAIL: shard 1 wrote its part before it was killed"; exit 1; }
scontrol requeue "${array}_1"
echo "requeued shard 1 (job ${array}_1) while it ran"
wait_done "$merge" 60
restarts=$(scontrol show job "${array}_1" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
[ "${restarts:-0}" -ge 1 ] || { echo "FAIL: shard 1 was not requeued (Restarts=${restarts:-?})"; exit 1; }
same_as_single "$tmp/run2"
echo "PASS"
