#!/usr/bin/env bash
# Corpus-building throughput: MB/s of text through `lmzip corpus build` (JSON parsing, filters, MinHash dedup,
# output; CCNet paragraph dedup) on synthetic English-vocabulary documents. Usage: bench/corpus_throughput.sh [MB] [THREADS]
# LMZIP_BIN selects the binary (default build/lmzip). The load average is printed before and after: the machine
# is shared, so compare runs under similar load.
# Prints one line per configuration (wall seconds, MB/s, peak RSS). Record results in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-25}
threads=${2:-$(nproc)}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
python3 - "$dir/in.jsonl" "$mb" "$dir/lines.jsonl" <<'PY'
import json, random, sys
random.seed(1)
words = ("the of and to in is was for on that with as by it from at his an were are which this be or has had "
         "not but first one their its new after who they have her she two been other when there all during into "
         "school time may years more most only over city some world would where later up such used many can "
         "state about national out known university united then made").split()
target = int(sys.argv[2]) * 1_000_000
size = 0
# lines.jsonl: the same pages with a newline after every third sentence (CC pages are many short lines, the
# unit of CCNet's paragraph dedup).
with open(sys.argv[1], "w") as f, open(sys.argv[3], "w") as g:
    i = 0
    while size < target:
        sents = []
        for _ in range(random.randint(20, 40)):
            s = " ".join(random.choice(words) for _ in range(random.randint(8, 20)))
            sents.append(s.capitalize() + ".")
        text = " ".join(sents)
        line = json.dumps({"content": text, "meta": {"id": i}}) + "\n"
        f.write(line)
        paras = "\n".join(" ".join(sents[k:k + 3]) for k in range(0, len(sents), 3))
        g.write(json.dumps({"content": paras, "meta": {"id": i}}) + "\n")
        size += len(line)
        i += 1
PY
bytes=$(stat -c %s "$dir/in.jsonl")
bin=${LMZIP_BIN:-build/lmzip}
run() {
  local label=$1; shift
  local input=$dir/in.jsonl
  if [ "$1" = "--lines" ]; then input=$dir/lines.jsonl; shift; fi
  local bytes; bytes=$(stat -c %s "$input")
  local t0 t1
  t0=$(date +%s.%N)
  /usr/bin/time -f "%M %U %S" -o "$dir/rss" "$bin" corpus build "$@" --threads "$threads" -o "$dir/out.jsonl" "$input" >/dev/null 2>"$dir/err" || { cat "$dir/err"; exit 1; }
  t1=$(date +%s.%N)
  # CPU seconds (user + sys) say what the build costs whatever else the machine runs; wall MB/s depend on load.
  read -r rss usr sys < <(tail -n 1 "$dir/rss")
  awk -v l="$label" -v b="$bytes" -v a="$t0" -v z="$t1" -v r="$rss" -v c="$usr" -v k="$sys" \
    'BEGIN { s = z - a; printf "%-44s %6.2f s  %6.1f MB/s  cpu %5.2f s (%5.1f MB per cpu-s)  peak RSS %d MiB\n", l, s, b / s / 1e6, c + k, b / (c + k) / 1e6, r / 1024 }'
}
echo "input: $((bytes / 1000000)) MB JSONL, threads $threads, $bin; load: $(cut -d' ' -f1-3 /proc/loadavg)"
run "--preset cc --lang none --no-gopher (MinHash)" --preset cc --lang none --no-gopher
run "--preset cc --lang none (+ Gopher)" --preset cc --lang none
run "--preset cc --no-paragraph-dedup (+ CLD2)" --preset cc --no-paragraph-dedup
run "--preset cc (+ CLD2 language id)" --preset cc
run "--preset cc, 3 sentences per line" --lines --preset cc
run "--preset cc --paragraph-all-copies, 3 per line" --lines --preset cc --paragraph-all-copies
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
