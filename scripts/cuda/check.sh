#!/bin/bash
# The one GPU-machine script of issue 20: build the CUDA plugin, test it against the CPU engine, compare with
# Hugging Face transformers, and measure speed. Run from the repository root of a checkout whose .dev/ holds
# payload.tar.xz (made by scripts/cuda/pack.sh on a machine that built lmzip and test_cuda):
#   bash .dev/check.sh            (the run tool: carry [".dev"]; logs under $OUT)
# Stages can be skipped with SKIP="hf speed" etc. Prints a summary table last.
set -u
OUT=${OUT:-/tmp/lmzip-cuda-out}
mkdir -p "$OUT"
W=/tmp/lmzip-cuda
rm -rf "$W" && mkdir -p "$W"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
sum() { echo "$*" | tee -a "$SUMMARY"; }

stamp "unpacking"
tar -xJf .dev/payload.tar.xz -C "$W" || { echo "FATAL: cannot unpack .dev/payload.tar.xz"; exit 1; }
export LD_LIBRARY_PATH="$W/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
LMZIP="$W/bin/lmzip"
"$LMZIP" --version || { echo "FATAL: the carried lmzip does not run"; ldd "$LMZIP" | grep -i "not found"; exit 1; }
nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.max.sm,driver_version --format=csv | tee "$OUT/gpu.txt"
nvcc --version | tail -2

# 1. The plugin: a direct nvcc line (sm_90 machine code + compute_90 PTX), and the standalone CMake build in the
#    background as a check of src/cuda/CMakeLists.txt.
stamp "building liblmzip_cuda.so"
NVCC_FLAGS="-O3 -std=c++17 -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90 -Xcompiler -fPIC -shared"
( cmake -S "$W/src/cuda" -B "$W/build-cuda" -DCMAKE_BUILD_TYPE=Release > "$OUT/cmake.log" 2>&1 &&
  cmake --build "$W/build-cuda" -j 8 >> "$OUT/cmake.log" 2>&1; echo "cmake rc $?" >> "$OUT/cmake.log" ) &
CMAKE_PID=$!
if ! nvcc $NVCC_FLAGS -Xptxas -v -I"$W/src/lmzip/device" "$W/src/cuda/lmzip_cuda.cu" -o "$W/lib/liblmzip_cuda.so" \
     -lcublas > "$W/nvcc.log" 2>&1; then
  cat "$W/nvcc.log" | grep -v "^ptxas info" | head -60
  cp "$W/nvcc.log" "$OUT/nvcc.log"
  echo "FATAL: nvcc failed"; exit 1
fi
cp "$W/nvcc.log" "$OUT/nvcc.log"
grep -E "Compiling entry|Used [0-9]+ registers|spill" "$W/nvcc.log" | sed 's/ptxas info *: //' | paste - - | \
  sed -E 's/Compiling entry function .(_Z[0-9]+)?([a-z_]+[a-z0-9_]*).* for .sm_90./\2/' | cut -c1-150 | head -20
export LMZIP_CUDA_PLUGIN="$W/lib/liblmzip_cuda.so"
export LMZIP_SHARED="$W/shared"
MODELS=$(ls "$W"/shared/zoo/models/*.gguf | tr '\n' ':')
CORPORA="$W/shared/zoo/corpora/cc.testA.jsonl $W/shared/zoo/corpora/python.testA.jsonl $W/shared/zoo/corpora/arxiv_math.testA.jsonl"

# 2. test_cuda: every carried zoo model x corpus, GPU vs CPU.
stamp "test_cuda"
LMZIP_CUDA_MODELS="$MODELS" timeout 240 "$W/bin/test_cuda" 2>&1 | tee "$OUT/test_cuda.log" | \
  grep -E "CUDA-|^\[  (FAILED|PASSED|SKIPPED) |Failure|error|Expected|Which is|rel " | head -80
grep -E "^\[  PASSED|^\[  FAILED" "$OUT/test_cuda.log" | tee -a "$SUMMARY"

# 3. lmzip bpc --device cpu / cuda / cuda fp32 on each model x corpus.
stamp "lmzip bpc table"
: > "$OUT/bpc.jsonl"
for m in "$W"/shared/zoo/models/*.gguf; do
  for dev in "--device cpu" "--device cuda" "--device cuda --compute fp32"; do
    timeout 120 "$LMZIP" bpc --json --no-db -m "$m" $CORPORA $dev 2>> "$OUT/bpc.err" | \
      python3 -c "import sys,json
for l in sys.stdin:
  j=json.loads(l); j['dev']='$dev'; print(json.dumps(j))" >> "$OUT/bpc.jsonl"
  done
done
python3 - "$OUT/bpc.jsonl" <<'PY' | tee -a "$SUMMARY"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
cpu = {(r['model'], r['corpus']): r for r in rows if r['dev'] == '--device cpu'}
print(f"{'model':14} {'corpus':18} {'cpu BPC':>11} {'cuda bf16':>11} {'rel':>9} {'cuda fp32':>11} {'rel':>9}  tok/s cpu/bf16/fp32")
for (m, c), r in sorted(cpu.items()):
    out = [f"{m:14} {c:18} {r['bpc']:11.7f}"]
    tps = [f"{r['scored_tokens_per_s']:.0f}"]
    for dev in ('--device cuda', '--device cuda --compute fp32'):
        g = [x for x in rows if x['dev'] == dev and x['model'] == m and x['corpus'] == c]
        if g:
            out.append(f"{g[0]['bpc']:11.7f} {abs(g[0]['bpc'] - r['bpc']) / r['bpc']:9.2e}")
            tps.append(f"{g[0]['scored_tokens_per_s']:.0f}")
        else:
            out.append(f"{'-':>11} {'-':>9}")
    print(' '.join(out), ' ', '/'.join(tps))
devs = sorted({r.get('device', '?') for r in rows})
print('devices recorded:', ', '.join(devs))
PY
grep -v "^$" "$OUT/bpc.err" | grep -v "warning" | head -5

# 4. transformers: zoo-s2 (F32 GGUF) as LlamaForCausalLM, bf16 and fp32, the study's windowing.
if [[ " ${SKIP:-} " != *" hf "* ]]; then
  stamp "transformers reference"
  HFM="$W/shared/zoo/models/zoo-s2.gguf"
  [ -f "$HFM" ] || HFM=$(ls "$W"/shared/zoo/models/*.gguf | head -1)
  timeout 150 env PYTHONUNBUFFERED=1 python3 "$W/scripts/cuda/hf_reference.py" --gguf "$HFM" \
    --spm "$W/shared/zoo/models/zoo-spm.model" --lmzip-json "$OUT/bpc.jsonl" $CORPORA 2>&1 | \
    tee "$OUT/hf.log" | grep -vi "warn" | tail -14
  grep "^HF " "$OUT/hf.log" >> "$SUMMARY"
fi

# 5. Speed: qwen2-0.5b shape and a 7B (llama-7b) shape, random bf16 weights, hkust windows, >= 50 windows.
if [[ " ${SKIP:-} " != *" speed "* ]]; then
  stamp "speed"
  python3 - "$W/speed.jsonl" $CORPORA <<'PY'
import sys
out = open(sys.argv[1], 'w')
for rep in range(3):
    for p in sys.argv[2:]:
        out.write(open(p).read())
PY
  timeout 60 python3 -c "
import torch, time
a = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16); b = torch.randn_like(a)
for _ in range(3): a @ b
torch.cuda.synchronize(); e0 = torch.cuda.Event(enable_timing=True); e1 = torch.cuda.Event(enable_timing=True)
e0.record()
for _ in range(20): a @ b
e1.record(); torch.cuda.synchronize()
print('PEAK_TFLOPS %.1f' % (2 * 8192**3 * 20 / (e0.elapsed_time(e1) / 1e3) / 1e12))
" 2>&1 | tee "$OUT/peak.txt"
  for spec in "qwen2 qwen2-0.5b 0" "llama llama-7b 8"; do
    set -- $spec
    LAYERS=""; [ "$3" != 0 ] && LAYERS="--layers $3"
    F="$W/$2.gguf"
    stamp "synth $2 $LAYERS"
    timeout 90 "$LMZIP" synth --arch "$1" --preset "$2" $LAYERS --type BF16 -o "$F" > /dev/null 2>> "$OUT/speed.err" || echo "synth $2 failed"
    for b in 1 4; do
      timeout 75 "$LMZIP" bpc --json --no-db -m "$F" "$W/speed.jsonl" --max-chunks 64 --device cuda --batch $b 2>> "$OUT/speed.err" | \
        python3 -c "import sys,json
for l in sys.stdin:
  j=json.loads(l); j['preset']='$2'; j['layers']=$3; j['batch']=$b; print(json.dumps(j))" >> "$OUT/speed.jsonl"
    done
    rm -f "$F"
  done
  python3 "$W/scripts/cuda/speed_report.py" "$OUT/speed.jsonl" "$OUT/peak.txt" | tee -a "$SUMMARY"
  tail -3 "$OUT/speed.err"
fi

wait $CMAKE_PID 2>/dev/null
sum "standalone cmake build of src/cuda: $(tail -1 "$OUT/cmake.log")"
stamp "done"
echo "=============== SUMMARY ==============="
cat "$SUMMARY"
