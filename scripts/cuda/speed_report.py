#!/usr/bin/env python3
"""Speed table of scripts/cuda/check.sh: scored tokens/s of hkust windows on the GPU, the FLOPs the protocol needs
(2 x non-embedding params x tokens forwarded + attention 4 x n_layer x d x T^2/2 per window + output layer
2 x d x vocab x scored rows), the share of the bf16 peak, and the Llama-3-70B projection for the study's corpora.
usage: speed_report.py speed.jsonl peak.txt"""
import json
import sys

SHAPES = {  # n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab (lmzip synth presets; Llama-3-70B's config)
    'qwen2-0.5b': (896, 24, 14, 2, 4864, 151936),
    'llama-7b': (4096, 32, 32, 32, 11008, 32000),
    'llama-3-70b': (8192, 80, 64, 8, 28672, 128256),
}


def layer_params(d, nh, nkv, ff):
    hd = d // nh
    return d * (nh * hd + 2 * nkv * hd) + nh * hd * d + 3 * d * ff


def flops(shape, layers, windows, T, scored):
    d, L, nh, nkv, ff, V = SHAPES[shape]
    L = layers or L
    per_window = 2 * layer_params(d, nh, nkv, ff) * L * T + 4 * L * d * T * T / 2
    return windows * per_window + 2 * d * V * scored


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    peak = 790.0
    try:
        for l in open(sys.argv[2]):
            if l.startswith('PEAK_TFLOPS'):
                peak = float(l.split()[1])
    except OSError:
        pass
    print(f"bf16 peak (torch 8192^3 matmul): {peak:.0f} TFLOP/s")
    print(f"{'shape':12} {'layers':>6} {'batch':>5} {'windows':>7} {'scored':>8} {'s':>7} {'tok/s':>9} {'TFLOP/s':>8} {'% peak':>7}")
    best = {}
    for r in rows:
        shape, layers = r['preset'], r['layers']
        windows = r['windows'] if not r.get('max_chunks') else min(r['windows'], r['max_chunks'])
        f = flops(shape, layers, windows, r['window'], r['scored_tokens'])
        rate = f / r['seconds'] / 1e12
        tps = r['scored_tokens'] / r['seconds']
        print(f"{shape:12} {layers or SHAPES[shape][1]:>6} {r['batch']:>5} {windows:>7} {r['scored_tokens']:>8} "
              f"{r['seconds']:7.2f} {tps:9.0f} {rate:8.1f} {100 * rate / peak:6.1f}%")
        if rate > best.get(shape, (0,))[0]:
            best[shape] = (rate, r)
    if 'llama-7b' in best:
        rate, r = best['llama-7b']
        full = SHAPES['llama-7b'][1]
        per_tok = flops('llama-7b', full, 1, 1900, 512) / 512  # a later hkust window: 1900 forwarded, 512 scored
        print(f"llama-7b full 32 layers at the 8-layer rate: {rate * 1e12 / per_tok:.0f} scored tokens/s (projected)")
    if best:
        rate = max(v[0] for v in best.values()) if 'llama-7b' not in best else best['llama-7b'][0]
        per_window = flops('llama-3-70b', 0, 1, 1900, 512)
        tokens = 3 * 100e6 / 4  # the study's three 100M-character corpora, ~4 characters per token
        total = tokens / 512 * per_window
        hours = total / (rate * 1e12) / 3600
        print(f"Llama-3-70B projection: {per_window / 1e12:.0f} TFLOP per hkust window (512 scored), "
              f"{total:.2e} FLOP for 3 x 100M chars (~{tokens / 1e6:.0f}M tokens) -> {hours:.1f} GPU-hours at "
              f"{rate:.0f} TFLOP/s ({100 * rate / peak:.0f}% of peak); bf16 weights 141 GB need 2 such GPUs")


if __name__ == '__main__':
    main()
