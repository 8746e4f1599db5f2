#!/usr/bin/env python3
"""An independent PyTorch forward for the recurrent families (mamba, jamba), written from the published
Hugging Face definitions (transformers' MambaMixer.slow_forward, JambaAttention, JambaMambaMixer,
JambaSparseMoeBlock), in float64. Reads an F32/F16 GGUF with its own small parser (no lmzip code).

  torch_forward.py MODEL.gguf ID ID ID ...   -> prints the total nats of ids[1:] given the prefix (one float)

Used by tests/cli/torch_reference_test.cpp, which skips (and says so) when python3-torch is not installed.
"""
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F


def read_gguf(path):
    data = open(path, "rb").read()
    off = 0

    def take(fmt):
        nonlocal off
        vals = struct.unpack_from("<" + fmt, data, off)
        off += struct.calcsize("<" + fmt)
        return vals[0] if len(vals) == 1 else vals

    def string():
        nonlocal off
        n = take("Q")
        s = data[off:off + n].decode("utf-8", "replace")
        off += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        return take(scalar[t])

    assert data[:4] == b"GGUF", path
    off = 4
    take("I")  # version
    n_tensors, n_kv = take("Q"), take("Q")
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take("I")
        dims = [take("Q") for _ in range(nd)]
        infos.append((name, dims, take("I"), take("Q")))
    align = meta.get("general.alignment", 32)
    base = (off + align - 1) // align * align
    tensors = {}
    for name, dims, ty, o in infos:
        n = int(np.prod(dims))
        dt = {0: np.float32, 1: np.float16}[ty]
        arr = np.frombuffer(data, dtype=dt, count=n, offset=base + o).astype(np.float64)
        tensors[name] = torch.from_numpy(arr.reshape(list(reversed(dims))).copy())  # ne[0] is the last axis
    return meta, tensors


def rms_norm(x, w, eps):
    y = x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps)
    return y * w if w is not None else y


def mamba_mixer(x, T, p, eps, jamba_norms):
    # transformers MambaMixer.slow_forward (and JambaMambaMixer: RMSNorms on time_step, B, C).
    L = x.shape[0]
    proj = x @ T[p + "ssm_in.weight"].T  # [L, 2 d_inner]
    d_inner = proj.shape[1] // 2
    hidden, gate = proj[:, :d_inner], proj[:, d_inner:]
    w = T[p + "ssm_conv1d.weight"]  # [d_inner, d_conv]
    d_conv = w.shape[1]
    conv = F.conv1d(hidden.T[None], w[:, None, :], T[p + "ssm_conv1d.bias"], padding=d_conv - 1,
                    groups=d_inner)[0, :, :L]
    hidden = F.silu(conv).T  # [L, d_inner]
    ssm = hidden @ T[p + "ssm_x.weight"].T
    A = T[p + "ssm_a"]  # [d_inner, d_state]: the converter stores -exp(A_log)
    d_state = A.shape[1]
    dt_rank = ssm.shape[1] - 2 * d_state
    time_step, B, C = ssm[:, :dt_rank], ssm[:, dt_rank:dt_rank + d_state], ssm[:, dt_rank + d_state:]
    if jamba_norms:
        time_step = rms_norm(time_step, T.get(p + "ssm_dt_norm.weight"), eps)
        B = rms_norm(B, T.get(p + "ssm_b_norm.weight"), eps)
        C = rms_norm(C, T.get(p + "ssm_c_norm.weight"), eps)
    dt = F.softplus(time_step @ T[p + "ssm_dt.weight"].T + T[p + "ssm_dt.bias"])  # [L, d_inner]
    state = torch.zeros(d_inner, d_state, dtype=torch.float64)
    ys = []
    for i in range(L):
        state = torch.exp(A * dt[i][:, None]) * state + (dt[i][:, None] * B[i][None, :]) * hidden[i][:, None]
        ys.append(state @ C[i])
    y = torch.stack(ys) + hidden * T[p + "ssm_d"]
    return (y * F.silu(gate)) @ T[p + "ssm_out.weight"].T


def attention(x, T, p, n_head, n_kv):
    # JambaAttention: no positional encoding; grouped-query heads; causal softmax(q k^T / sqrt(d)).
    L, _ = x.shape
    q, k, v = x @ T[p + "attn_q.weight"].T, x @ T[p + "attn_k.weight"].T, x @ T[p + "attn_v.weight"].T
    hd = q.shape[1] // n_head
    q = q.view(L, n_head, hd).transpose(0, 1)
    k = k.view(L, n_kv, hd).transpose(0, 1).repeat_interleave(n_head // n_kv, 0)
    v = v.view(L, n_kv, hd).transpose(0, 1).repeat_interleave(n_head // n_kv, 0)
    s = q @ k.transpose(1, 2) / hd ** 0.5
    s = s.masked_fill(torch.triu(torch.ones(L, L, dtype=torch.bool), 1), float("-inf"))
    o = (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(L, n_head * hd)
    return o @ T[p + "attn_output.weight"].T


def ffn(x, T, p, top_k):
    def mlp(x, g, u, d):
        return (F.silu(x @ g.T) * (x @ u.T)) @ d.T

    if p + "ffn_gate_inp.weight" not in T:
        return mlp(x, T[p + "ffn_gate.weight"], T[p + "ffn_up.weight"], T[p + "ffn_down.weight"])
    # JambaSparseMoeBlock: softmax over the experts, top-k, weights not renormalized.
    probs = torch.softmax(x @ T[p + "ffn_gate_inp.weight"].T, -1)
    w, idx = torch.topk(probs, top_k, -1)
    out = torch.zeros_like(x)
    G, U, D = T[p + "ffn_gate_exps.weight"], T[p + "ffn_up_exps.weight"], T[p + "ffn_down_exps.weight"]
    for r in range(x.shape[0]):
        for j in range(top_k):
            e = int(idx[r, j])
            out[r] += w[r, j] * mlp(x[r:r + 1], G[e], U[e], D[e])[0]
    return out


def forward_nats(path, ids):
    meta, T = read_gguf(path)
    arch = meta["general.architecture"]
    eps = meta[arch + ".attention.layer_norm_rms_epsilon"]
    n_layer = meta[arch + ".block_count"]
    n_head = meta.get(arch + ".attention.head_count", 0)
    kv = meta.get(arch + ".attention.head_count_kv", n_head)
    top_k = meta.get(arch + ".expert_used_count", 0)
    x = T["token_embd.weight"][ids]
    for il in range(n_layer):
        p = f"blk.{il}."
        h = rms_norm(x, T[p + "attn_norm.weight"], eps)
        if p + "ssm_in.weight" in T:
            x = x + mamba_mixer(h, T, p, eps, jamba_norms=arch == "jamba")
        else:
            n_kv = kv[il] if isinstance(kv, list) else kv
            x = x + attention(h, T, p, n_head, n_kv)
        if p + "ffn_norm.weight" in T:
            x = x + ffn(rms_norm(x, T[p + "ffn_norm.weight"], eps), T, p, top_k)
    h = rms_norm(x, T["output_norm.weight"], eps)
    logits = h @ T.get("output.weight", T["token_embd.weight"]).T
    logp = torch.log_softmax(logits, -1)
    return float(-logp[torch.arange(len(ids) - 1), torch.tensor(ids[1:])].sum())


if __name__ == "__main__":
    print(repr(forward_nats(sys.argv[1], [int(t) for t in sys.argv[2:]])))
