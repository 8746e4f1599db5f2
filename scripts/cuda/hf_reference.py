#!/usr/bin/env python3
"""Scores a zoo GGUF model with Hugging Face transformers exactly as the study's code does and compares with lmzip.

The GGUF (F32 tensors) is read with a tiny numpy reader; llama.cpp's Q/K permutation (for its adjacent-pair RoPE)
is undone for Hugging Face's half-split RoPE; a LlamaForCausalLM is built from the GGUF metadata and run in bf16
(the study's setting) and fp32. The study's windowing (hkust, PROTOCOL.md section 2): documents tokenized
separately with BOS (SentencePiece, the zoo's zoo-spm.model), concatenated; windows of block 1900 every 512 tokens,
the loss masked to the new targets (the first window all 1900, later ones their last 512); BPC = nats / chars / ln 2.
usage: hf_reference.py --gguf M.gguf --spm zoo-spm.model [--lmzip-json bpc.jsonl] CORPUS.jsonl..."""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np


def read_gguf(path):
    data = open(path, 'rb').read()
    off = 0

    def take(fmt):
        nonlocal off
        v = struct.unpack_from('<' + fmt, data, off)
        off += struct.calcsize('<' + fmt)
        return v[0]

    def string():
        nonlocal off
        n = take('Q')
        s = data[off:off + n].decode('utf-8', 'replace')
        off += n
        return s

    scalar = {0: 'B', 1: 'b', 2: 'H', 3: 'h', 4: 'I', 5: 'i', 6: 'f', 7: '?', 10: 'Q', 11: 'q', 12: 'd'}

    def value(t):
        if t in scalar:
            return take(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take('I'), take('Q')
            return [value(et) for _ in range(n)]
        raise ValueError(f'GGUF value type {t}')

    assert data[:4] == b'GGUF', 'not a GGUF file'
    off = 4
    take('I')  # version
    n_tensors, n_kv = take('Q'), take('Q')
    meta = {}
    for _ in range(n_kv):
        k = string()
        meta[k] = value(take('I'))
    infos = []
    for _ in range(n_tensors):
        name = string()
        nd = take('I')
        dims = [take('Q') for _ in range(nd)]
        infos.append((name, dims, take('I'), take('Q')))
    align = meta.get('general.alignment', 32)
    base = (off + align - 1) // align * align
    tensors = {}
    for name, dims, typ, toff in infos:
        if typ != 0:
            raise SystemExit(f'{path}: tensor {name} is not F32 (type {typ}); use an F32 zoo model')
        n = int(np.prod(dims))
        a = np.frombuffer(data, dtype='<f4', count=n, offset=base + toff)
        tensors[name] = a.reshape(list(reversed(dims))).copy()  # GGUF ne[0] innermost = numpy's last axis
    return meta, tensors


def unpermute(w, n_head):
    # Inverse of convert_hf_to_gguf.py's permute(): rows of each head back from (pairs, 2) to (2, half).
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def build_model(meta, t, torch, transformers):
    a = meta['general.architecture']
    assert a == 'llama', f'architecture {a}: this reference builds llama only'
    g = lambda k, d=None: meta.get(f'{a}.{k}', d)
    n_head, n_kv = g('attention.head_count'), g('attention.head_count_kv', g('attention.head_count'))
    d = g('embedding_length')
    kw = dict(vocab_size=t['token_embd.weight'].shape[0], hidden_size=d, intermediate_size=g('feed_forward_length'),
              num_hidden_layers=g('block_count'), num_attention_heads=n_head, num_key_value_heads=n_kv,
              max_position_embeddings=g('context_length', 2048), rms_norm_eps=g('attention.layer_norm_rms_epsilon'),
              tie_word_embeddings='output.weight' not in t, attention_bias=False, mlp_bias=False,
              bos_token_id=1, eos_token_id=2)
    theta = float(g('rope.freq_base', 10000.0))
    cfg = transformers.LlamaConfig(**kw)
    if hasattr(cfg, 'rope_parameters') and isinstance(getattr(cfg, 'rope_parameters'), dict):
        cfg.rope_parameters = {'rope_type': 'default', 'rope_theta': theta}
    else:
        cfg.rope_theta = theta
    sd = {'model.embed_tokens.weight': t['token_embd.weight'], 'model.norm.weight': t['output_norm.weight']}
    if 'output.weight' in t:
        sd['lm_head.weight'] = t['output.weight']
    for i in range(kw['num_hidden_layers']):
        p, q = f'blk.{i}.', f'model.layers.{i}.'
        sd[q + 'input_layernorm.weight'] = t[p + 'attn_norm.weight']
        sd[q + 'self_attn.q_proj.weight'] = unpermute(t[p + 'attn_q.weight'], n_head)
        sd[q + 'self_attn.k_proj.weight'] = unpermute(t[p + 'attn_k.weight'], n_kv)
        sd[q + 'self_attn.v_proj.weight'] = t[p + 'attn_v.weight']
        sd[q + 'self_attn.o_proj.weight'] = t[p + 'attn_output.weight']
        sd[q + 'post_attention_layernorm.weight'] = t[p + 'ffn_norm.weight']
        sd[q + 'mlp.gate_proj.weight'] = t[p + 'ffn_gate.weight']
        sd[q + 'mlp.up_proj.weight'] = t[p + 'ffn_up.weight']
        sd[q + 'mlp.down_proj.weight'] = t[p + 'ffn_down.weight']
    model = transformers.LlamaForCausalLM(cfg)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()},
                                                strict=False)
    missing = [m for m in missing if not (m == 'lm_head.weight' and kw['tie_word_embeddings'])]
    assert not missing and not unexpected, (missing, unexpected)
    return model.eval()


def score(model, tokens, torch, block=1900, stride=512):
    # The study's loop: windows of block+1 tokens every stride while they fit; inputs the first block tokens,
    # labels masked (-100) to the new targets; the loss summed over the unmasked targets.
    n = len(tokens)
    ids = torch.tensor(tokens, dtype=torch.long, device='cuda')
    total, scored = 0.0, 0
    begin = 0
    with torch.no_grad():
        while begin + block + 1 <= n:
            inp = ids[begin:begin + block].unsqueeze(0)
            tgt = ids[begin + 1:begin + block + 1].clone()
            if begin > 0:
                tgt[:block - stride] = -100
            logits = model(input_ids=inp).logits[0].float()
            loss = torch.nn.functional.cross_entropy(logits, tgt, ignore_index=-100, reduction='sum')
            total += float(loss)
            scored += int((tgt != -100).sum())
            begin += stride
    return total, scored


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--gguf', required=True)
    ap.add_argument('--spm', required=True)
    ap.add_argument('--lmzip-json')
    ap.add_argument('corpora', nargs='+')
    a = ap.parse_args()
    import sentencepiece
    import torch
    import transformers
    meta, t = read_gguf(a.gguf)
    sp = sentencepiece.SentencePieceProcessor(model_file=a.spm)
    base = build_model(meta, t, torch, transformers).cuda()
    name = os.path.basename(a.gguf)[:-5]
    lm = {}
    if a.lmzip_json and os.path.exists(a.lmzip_json):
        for l in open(a.lmzip_json):
            r = json.loads(l)
            if r['model'] == name:
                lm[(r['corpus'], r['dev'])] = r
    print(f'transformers {transformers.__version__}, torch {torch.__version__}, model {name}')
    for dtype_name, dtype in (('fp32', torch.float32), ('bf16', torch.bfloat16)):
        model = base.to(dtype)
        if dtype == torch.float32:
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        for c in a.corpora:
            docs = [json.loads(l)['content'] for l in open(c, encoding='utf-8') if l.strip()]
            docs = [d for d in docs if d]
            tokens = []
            for d in docs:
                tokens += [sp.bos_id()] + sp.encode(d)
            chars = sum(len(d) for d in docs)
            nats, scored = score(model, tokens, torch)
            bpc = nats / chars / math.log(2)
            cname = os.path.basename(c)
            for suffix in ('.jsonl',):
                cname = cname[:-len(suffix)] if cname.endswith(suffix) else cname
            line = f'HF {name} {cname:18} {dtype_name} tokens {len(tokens)} scored {scored} BPC {bpc:.7f}'
            for key, label in (('--device cpu', 'cpu'), ('--device cuda', 'cuda-bf16'),
                               ('--device cuda --compute fp32', 'cuda-fp32')):
                r = lm.get((cname, key))
                if r:
                    if r['tokens'] != len(tokens) or r['scored_tokens'] != scored:
                        line += f' [{label}: tokens {r["tokens"]} scored {r["scored_tokens"]} differ]'
                    line += f' | {label} {r["bpc"]:.7f} rel {abs(r["bpc"] - bpc) / bpc:.2e}'
            print(line)


if __name__ == '__main__':
    main()
