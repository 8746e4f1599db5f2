#!/usr/bin/env bash
# The cost of sharding one bpc job (issue 16): the job as 1 process, and as 2 and 4 shards run one after another,
# each alone on the whole machine, so the sum of the shards' times against the single run is the overhead (every
# shard loads the model and plans the whole corpus); and lmzip merge against the job. Wall and CPU (user + sys)
# seconds: on a loaded machine the CPU time is the steadier measure. Every merged result must equal the single
# run's total nats.
#   bench/shard_overhead.sh [LMZIP] [MODEL] [CORPUS]     (numbers go to docs/SCALE.md)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lmzip=${1:-$root/build/lmzip}
model=${2:-$root/../shared/zoo/models/zoo-m2.gguf}
corpus=${3:-$root/../shared/zoo/corpora/cc.testA.jsonl}
threads=${THREADS:-2}
args=(bpc -m "$model" "$corpus" --protocol hkust --window 512 --stride 128 -t "$threads" --bootstrap 0)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs a command, adds "wall cpu" seconds to the totals in file $1.
timed() {
  local total=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$tmp/t" "$@" > "$tmp/out"
  read -r w u s < "$tmp/t"
  tw=0 tc=0
  [ -f "$total" ] && read -r tw tc < "$total"
  python3 -c "print($tw + $w, $tc + $u + $s)" > "$total"
}

echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load: $(uptime | sed 's/.*load average: //')"
timed "$tmp/single" "$lmzip" "${args[@]}" --no-db --json
cp "$tmp/out" "$tmp/single.json"
read -r single_wall single_cpu < "$tmp/single"
timed "$tmp/fixed" "$lmzip" "${args[@]}" --no-db --max-chunks 1
read -r fixed_wall fixed_cpu < "$tmp/fixed"
nats=$(python3 -c "import json; print(repr(json.load(open('$tmp/single.json'))['total_nats']))")
printf "%-7s %9s %9s %10s %10s %10s %9s\n" shards "wall (s)" "cpu (s)" "wall over" "cpu over" "merge (s)" "merge/job"
printf "%-7s %9.2f %9.2f %10s %10s %10s %9s\n" 1 "$single_wall" "$single_cpu" - - - -
for n in 2 4; do
  dir=$tmp/parts-$n
  for ((i = 0; i < n; i++)); do timed "$tmp/shards-$n" "$lmzip" "${args[@]}" --shard "$i/$n" --shard-dir "$dir"; done
  timed "$tmp/merge-$n" "$lmzip" merge --no-db --json "$dir"
  merged=$(python3 -c "import json; print(repr(json.loads(open('$tmp/out').readline())['total_nats']))")
  [ "$merged" = "$nats" ] || { echo "merged total_nats $merged != single $nats" >&2; exit 1; }
  read -r wall cpu < "$tmp/shards-$n"
  read -r mwall mcpu < "$tmp/merge-$n"
  python3 -c "print('%-7s %9.2f %9.2f %9.1f%% %9.1f%% %10.3f %8.2f%%' % ($n, $wall, $cpu, 100 * ($wall / $single_wall - 1), 100 * ($cpu / $single_cpu - 1), $mwall, 100 * $mwall / $wall))"
done
echo "fixed cost of one process (open the model, plan the corpus, score 1 window): ${fixed_wall} s wall, ${fixed_cpu} s cpu"
echo "load after: $(uptime | sed 's/.*load average: //')"
