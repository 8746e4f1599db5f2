/* The C ABI between lmzip and its CUDA plugin (liblmzip_cuda.so, loaded at run time with dlopen).
 *
 * Plain C: the plugin is built by nvcc apart from the rest of lmzip (src/cuda/), and lmzip builds and runs
 * without it. Everything crossing the boundary is a plain struct of host pointers, shapes and numbers.
 * Weights are handed over as host fp32 arrays, one tensor at a time (the host dequantizes any GGUF type to fp32);
 * the plugin converts them to bf16 on upload (compute LMZIP_CUDA_BF16) or keeps fp32 (LMZIP_CUDA_FP32).
 *
 * Every function returns 0 on success, else non-zero; lmzip_cuda_last_error() then gives a message naming the
 * call and the CUDA / cuBLAS error (thread-local, valid until the next call on that thread).
 */
#ifndef LMZIP_DEVICE_CUDA_ABI_H
#define LMZIP_DEVICE_CUDA_ABI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LMZIP_CUDA_ABI_VERSION 1

enum { LMZIP_CUDA_BF16 = 0, LMZIP_CUDA_FP32 = 1 };
enum { LMZIP_CUDA_ROPE_NORMAL = 0, LMZIP_CUDA_ROPE_NEOX = 1 };

/* The model and the largest call the engine must take. Row-major matrices as GGUF stores them: a weight of
 * n_out rows of n_in contiguous elements, y = x W^T. */
typedef struct lmzip_cuda_config {
  int32_t abi_version; /* LMZIP_CUDA_ABI_VERSION */
  int32_t n_vocab, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff;
  int32_t n_rot;      /* rotated dimensions of each head (<= head_dim, even) */
  int32_t rope_kind;  /* LMZIP_CUDA_ROPE_* */
  float norm_eps;     /* RMSNorm epsilon */
  float attn_scale;   /* query scale, 1/sqrt(head_dim) for llama and qwen2 */
  int32_t has_qkv_bias; /* qwen2: Q/K/V biases */
  int32_t compute;      /* LMZIP_CUDA_BF16 or LMZIP_CUDA_FP32 */
  int32_t max_seq;      /* largest number of sequences in one score call */
  int32_t max_tokens;   /* largest sequence length (every sequence of a call has the same length) */
  int32_t device;       /* CUDA device ordinal */
} lmzip_cuda_config;

/* Tensor ids for lmzip_cuda_upload. Per layer (layer >= 0): */
enum {
  LMZIP_CUDA_T_ATTN_NORM = 0, /* [n_embd] */
  LMZIP_CUDA_T_WQ,            /* [q_dim x n_embd], q_dim = n_head * head_dim */
  LMZIP_CUDA_T_WK,            /* [kv_dim x n_embd], kv_dim = n_head_kv * head_dim */
  LMZIP_CUDA_T_WV,            /* [kv_dim x n_embd] */
  LMZIP_CUDA_T_BQ,            /* [q_dim] (has_qkv_bias) */
  LMZIP_CUDA_T_BK,            /* [kv_dim] */
  LMZIP_CUDA_T_BV,            /* [kv_dim] */
  LMZIP_CUDA_T_WO,            /* [n_embd x q_dim] */
  LMZIP_CUDA_T_FFN_NORM,      /* [n_embd] */
  LMZIP_CUDA_T_W_GATE,        /* [n_ff x n_embd] */
  LMZIP_CUDA_T_W_UP,          /* [n_ff x n_embd] */
  LMZIP_CUDA_T_W_DOWN,        /* [n_embd x n_ff] */
  LMZIP_CUDA_T_LAYER_COUNT
};
/* Model-level (layer = -1): */
enum {
  LMZIP_CUDA_T_TOKEN_EMBD = 100, /* [n_vocab x n_embd], kept in fp32 on the device */
  LMZIP_CUDA_T_OUTPUT_NORM,      /* [n_embd] */
  LMZIP_CUDA_T_OUTPUT,           /* [n_vocab x n_embd] (token_embd again when tied) */
  LMZIP_CUDA_T_ROPE_COS,         /* [max_tokens x n_rot/2]: cos of position p, pair i (the host's RopeTable) */
  LMZIP_CUDA_T_ROPE_SIN          /* [max_tokens x n_rot/2] */
};

typedef struct lmzip_cuda_engine lmzip_cuda_engine;

typedef struct lmzip_cuda_device_props {
  char name[256];
  int32_t major, minor;
  int64_t total_memory;
  int32_t driver_version, runtime_version;
} lmzip_cuda_device_props;

typedef struct lmzip_cuda_request {
  int32_t n_seq;              /* sequences, 1..max_seq */
  int32_t n_tokens;           /* tokens per sequence, 1..max_tokens (positions 0..n_tokens-1, fresh context) */
  const int32_t* tokens;      /* [n_seq x n_tokens] */
  int32_t n_targets;
  const int32_t* target_row;  /* [n_targets]: s * n_tokens + position: that output predicts target_token */
  const int32_t* target_token;
  double* nats_out;           /* [n_targets]: -ln p(target) */
} lmzip_cuda_request;

typedef int32_t (*lmzip_cuda_abi_version_fn)(void);
typedef const char* (*lmzip_cuda_last_error_fn)(void);
typedef int (*lmzip_cuda_device_info_fn)(int32_t device, lmzip_cuda_device_props* out);
typedef int (*lmzip_cuda_create_fn)(const lmzip_cuda_config* config, lmzip_cuda_engine** out);
typedef int (*lmzip_cuda_upload_fn)(lmzip_cuda_engine* e, int32_t layer, int32_t tensor, const float* data,
                                    int64_t n_elements);
typedef int (*lmzip_cuda_score_fn)(lmzip_cuda_engine* e, const lmzip_cuda_request* request);
typedef void (*lmzip_cuda_destroy_fn)(lmzip_cuda_engine* e);

/* The exported symbols (the plugin defines them with these names). */
int32_t lmzip_cuda_abi_version(void);
const char* lmzip_cuda_last_error(void);
/* Fills *out for `device`; an error when there is no CUDA device or driver. */
int lmzip_cuda_device_info(int32_t device, lmzip_cuda_device_props* out);
/* Allocates every buffer for the config's largest call. */
int lmzip_cuda_create(const lmzip_cuda_config* config, lmzip_cuda_engine** out);
/* Copies one tensor to the device (converting to the compute type); n_elements must match the tensor's shape.
 * Every tensor (biases only with has_qkv_bias) must be uploaded once before the first score call. */
int lmzip_cuda_upload(lmzip_cuda_engine* e, int32_t layer, int32_t tensor, const float* data, int64_t n_elements);
/* One causal forward pass per sequence, output layer at the target rows only; blocks until done. */
int lmzip_cuda_score(lmzip_cuda_engine* e, const lmzip_cuda_request* request);
void lmzip_cuda_destroy(lmzip_cuda_engine* e);

#ifdef __cplusplus
}
#endif

#endif /* LMZIP_DEVICE_CUDA_ABI_H */
