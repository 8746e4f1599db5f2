#!/usr/bin/env python3
"""Writes tiny random Hugging Face checkpoints, one per architecture lmzip reads, with transformers' own
per-token negative log-likelihoods computed in float64 (tests/data/hf/). Run where torch + transformers are
installed (it ran on the GPU machine of the session that added it; CPU is enough):
    python3 scripts/hf-fixtures/make.py OUTDIR
Each OUTDIR/<name>/ holds config.json and model.safetensors as save_pretrained writes them; OUTDIR/reference.json
holds, per name, the architecture, the dtype, the token ids and -ln p(token[t+1] | token[..t]) for every t."""
import json, math, os, sys, traceback
import torch, transformers
from transformers import AutoModelForCausalLM

V = 512
common = dict(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
              max_position_embeddings=256, bos_token_id=1, eos_token_id=2, pad_token_id=None)

def cfgs():
    C = transformers
    yield "llama", torch.bfloat16, C.LlamaConfig(**common, num_key_value_heads=2, tie_word_embeddings=False, rms_norm_eps=1e-5)
    yield "llama3-scaled", torch.float32, C.LlamaConfig(**common, num_key_value_heads=2, rope_theta=500000.0,
        rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                      "original_max_position_embeddings": 32}, tie_word_embeddings=True)
    yield "mistral", torch.float16, C.MistralConfig(**common, num_key_value_heads=2, sliding_window=None, tie_word_embeddings=False)
    yield "mixtral", torch.bfloat16, C.MixtralConfig(**common, num_key_value_heads=2, num_local_experts=4,
        num_experts_per_tok=2, sliding_window=None, tie_word_embeddings=False)
    yield "qwen2", torch.bfloat16, C.Qwen2Config(**common, num_key_value_heads=2, tie_word_embeddings=True, use_sliding_window=False)
    yield "qwen2moe", torch.bfloat16, C.Qwen2MoeConfig(**common, num_key_value_heads=4, moe_intermediate_size=32,
        shared_expert_intermediate_size=64, num_experts=4, num_experts_per_tok=2, norm_topk_prob=False,
        decoder_sparse_step=1, mlp_only_layers=[], tie_word_embeddings=False, use_sliding_window=False)
    yield "falcon-7b", torch.bfloat16, C.FalconConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        multi_query=True, new_decoder_architecture=False, parallel_attn=True, bias=False, alibi=False,
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
    yield "falcon-40b", torch.bfloat16, C.FalconConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        num_kv_heads=2, new_decoder_architecture=True, parallel_attn=True, bias=False, alibi=False,
        tie_word_embeddings=True, bos_token_id=1, eos_token_id=2)
    yield "starcoder", torch.float32, C.GPTBigCodeConfig(vocab_size=V, n_embd=32, n_layer=2, n_head=4, n_inner=64,
        n_positions=256, multi_query=True, activation_function="gelu_pytorch_tanh", tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2)
    yield "starcoder2", torch.bfloat16, C.Starcoder2Config(**common, num_key_value_heads=2, use_bias=True,
        hidden_act="gelu_pytorch_tanh", sliding_window=None, tie_word_embeddings=True)
    yield "gemma", torch.bfloat16, C.GemmaConfig(**common, num_key_value_heads=1, head_dim=16,
        hidden_act="gelu_pytorch_tanh", hidden_activation="gelu_pytorch_tanh")
    yield "gemma2", torch.bfloat16, C.Gemma2Config(**{**common, "num_hidden_layers": 4}, num_key_value_heads=2, head_dim=16,
        query_pre_attn_scalar=16, sliding_window=16, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
        hidden_activation="gelu_pytorch_tanh")
    yield "phi3", torch.bfloat16, C.Phi3Config(**common, num_key_value_heads=2, rope_scaling=None, sliding_window=None,
        original_max_position_embeddings=256, tie_word_embeddings=False)
    yield "gptneox", torch.float16, C.GPTNeoXConfig(vocab_size=V, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, rotary_pct=0.25, use_parallel_residual=True, hidden_act="gelu_new",
        max_position_embeddings=256, tie_word_embeddings=False, bos_token_id=1, eos_token_id=2)
    yield "stablelm", torch.bfloat16, C.StableLmConfig(**common, num_key_value_heads=4, partial_rotary_factor=0.25,
        use_qkv_bias=True, qk_layernorm=False, use_parallel_residual=False, hidden_act="silu", tie_word_embeddings=False)
    yield "mamba", torch.float32, C.MambaConfig(vocab_size=V, hidden_size=32, state_size=8, num_hidden_layers=2,
        expand=2, conv_kernel=4, time_step_rank=4, use_bias=False, use_conv_bias=True, tie_word_embeddings=True,
        bos_token_id=1, eos_token_id=2)
    yield "jamba", torch.bfloat16, C.JambaConfig(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, num_experts=4, num_experts_per_tok=2, expert_layer_period=2,
        expert_layer_offset=1, attn_layer_period=4, attn_layer_offset=2, mamba_d_state=8, mamba_d_conv=4,
        mamba_expand=2, mamba_dt_rank=4, use_mamba_kernels=False, tie_word_embeddings=False, bos_token_id=1,
        eos_token_id=2, pad_token_id=0)

def randomize(model, gen):
    # Larger than the default init, so that every tensor visibly changes the numbers.
    with torch.no_grad():
        for name, p in model.named_parameters():
            n = name.lower()
            if "a_log" in n:
                p.copy_(torch.log(torch.rand(p.shape, generator=gen) * 15 + 1))
            elif p.dim() == 1 and n.endswith("weight") and ("norm" in n or "ln" in n):
                gemma = isinstance(model, (transformers.GemmaForCausalLM, transformers.Gemma2ForCausalLM))
                p.copy_((0 if gemma else 1) + 0.3 * torch.randn(p.shape, generator=gen))
            elif p.dim() == 1:
                p.copy_(0.3 * torch.randn(p.shape, generator=gen))
            else:
                fan_in = p.shape[-1] if p.dim() >= 2 else 1
                std = 1.0 if ("embed" in n or "wte" in n or "wpe" in n or "word_embeddings" in n) else 1.5 / math.sqrt(fan_in)
                p.copy_(std * torch.randn(p.shape, generator=gen))

def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    ref = {"transformers": transformers.__version__, "torch": torch.__version__, "models": {}}
    names = open(os.path.join(out, "names.txt"), "w")
    gen = torch.Generator().manual_seed(1234)
    tokens = [1] + torch.randint(3, V, (63,), generator=gen).tolist()
    for name, dtype, cfg in cfgs():
        try:
            torch.manual_seed(0)
            model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
            randomize(model, gen)
            model = model.to(dtype)
            d = os.path.join(out, name)
            shard = "40KB" if name in ("mixtral", "llama") else "2GB"
            model.save_pretrained(d, safe_serialization=True, max_shard_size=shard)
            m64 = model.to(torch.float64).eval()
            with torch.no_grad():
                logits = m64(torch.tensor([tokens])).logits[0]
            lp = torch.log_softmax(logits, dim=-1)
            nll = [-lp[t, tokens[t + 1]].item() for t in range(len(tokens) - 1)]
            ref["models"][name] = {"architecture": cfg.architectures[0] if cfg.architectures else type(model).__name__,
                                   "dtype": str(dtype).replace("torch.", ""), "tokens": tokens, "nll": nll,
                                   "nll_sum": sum(nll)}
            names.write(f"== {name} {type(model).__name__}\n")
            from safetensors import safe_open
            for f in sorted(os.listdir(d)):
                if f.endswith(".safetensors"):
                    with safe_open(os.path.join(d, f), "pt") as st:
                        for k in st.keys():
                            names.write(f"{f} {k} {list(st.get_slice(k).get_shape())} {st.get_slice(k).get_dtype()}\n")
            print(name, "ok", sum(nll) / len(nll), flush=True)
        except Exception:
            print(name, "FAILED", flush=True)
            traceback.print_exc()
    json.dump(ref, open(os.path.join(out, "reference.json"), "w"), indent=1)

main()
