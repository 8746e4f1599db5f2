#!/usr/bin/env bash
# Time to first window and peak memory, the same weights from a GGUF file and from a Hugging Face checkpoint:
# `lmzip bpc --max-chunks 1` (load, tokenize, one window of 1901 tokens) under /usr/bin/time, median of 3.
#   bench/hf_load.sh [PRESET] [ARCH] [CLASS]      (default: qwen2-0.5b qwen2 Qwen2ForCausalLM)
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-qwen2-0.5b} arch=${2:-qwen2} cls=${3:-Qwen2ForCausalLM}
tmp=${TMPDIR:-/tmp}/lmzip-hf-load
mkdir -p "$tmp"
vocab=../shared/vocab/ggml-vocab-qwen2.gguf
gguf=$tmp/$preset-BF16.gguf
[ -f "$gguf" ] || build/lmzip synth --arch "$arch" --preset "$preset" --type BF16 --vocab "$vocab" -o "$gguf"
[ -d "$tmp/$preset-hf" ] || build/bench/make_hf_checkpoint "$gguf" "$cls" "$tmp/$preset-hf" BF16
corpus=../shared/zoo/corpora/python.testA.jsonl
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p')"
for model in "$gguf" "$tmp/$preset-hf"; do
  extra=""
  [ -d "$model" ] && extra="--tokenizer $vocab"
  for i in 1 2 3; do
    /usr/bin/time -f "%e %M" build/lmzip bpc --no-db --max-chunks 1 -m "$model" $extra "$corpus" 2>&1 >/dev/null | tail -1
  done | sort -n | sed -n 2p | awk -v m="$(basename "$model")" '{printf "%-28s median wall %6.2f s   peak RSS %7.0f MB\n", m, $1, $2/1024}'
done
