// liblmzip_cuda.so: lmzip's CUDA scoring engine (dense llama / qwen2 decoders), behind the C ABI of
// src/lmzip/device/cuda_abi.h. Loaded by lmzip at run time (dlopen); built apart from lmzip by nvcc.
//
// Per call: n_seq sequences of n_tokens tokens each (rows R = n_seq * n_tokens, row-major activations).
//   x      = token_embd[tokens]                                   fp32 residual stream
//   per layer:
//     xn   = rms_norm(x) * attn_norm                              compute type (bf16 or fp32)
//     qkv  = xn [Wq | Wk | Wv]^T                                  cuBLAS, fp32 out
//     q, k = rope(qkv + b), v = qkv + b                           compute type
//     S    = K Q^T per (sequence, head)                           batched cuBLAS, fp32 (GQA by pointers)
//     P    = causal softmax(scale S)                              fp32 math, compute type out (zeros above)
//     attn = P V                                                  batched cuBLAS, compute type out
//     x   += attn Wo^T                                            cuBLAS, fp32 accumulate into x
//     xn   = rms_norm(x) * ffn_norm
//     gu   = xn [Wgate | Wup]^T                                   cuBLAS, fp32 out
//     h    = silu(g) * u                                          compute type
//     x   += h Wdown^T
//   hs = rms_norm(x[target rows]) * output_norm; logits = hs Wout^T (blocks of 512 rows, fp32);
//   nll = max + ln(sum exp(l - max)) - l[target]  (fp32 terms, double sums).
// cuBLAS: bf16 inputs with CUBLAS_COMPUTE_32F (tensor cores, fp32 accumulation), or fp32 inputs with
// CUBLAS_COMPUTE_32F under CUBLAS_PEDANTIC_MATH (no TF32). Every CUDA and cuBLAS status is checked; launches
// are followed by cudaGetLastError; errors become messages for lmzip_cuda_last_error().
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_abi.h"

namespace {

thread_local std::string g_error;

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) {
    throw Failure(std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
}

const char* cublas_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_(unknown)";
  }
}

void check_cublas(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS) throw Failure(std::string(what) + ": " + cublas_name(s));
}

#define CK(call) check_cuda((call), #call)
#define CB(call) check_cublas((call), #call)
// After every kernel launch: launch-configuration errors and earlier asynchronous faults surface here.
#define LAUNCHED(name) check_cuda(cudaGetLastError(), "kernel " name)

template <typename T>
__device__ __forceinline__ T to_c(float v);
template <>
__device__ __forceinline__ float to_c<float>(float v) { return v; }
template <>
__device__ __forceinline__ __nv_bfloat16 to_c<__nv_bfloat16>(float v) { return __float2bfloat16_rn(v); }

__device__ __forceinline__ float warp_max(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}
__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}
__device__ __forceinline__ double warp_sum_d(double v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block reductions; blockDim.x a multiple of 32 (<= 1024); `sm` holds 32 values. Every thread gets the result.
__device__ float block_max(float v, float* sm) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_max(v);
  if (lane == 0) sm[w] = v;
  __syncthreads();
  if (w == 0) {
    float t = lane < nw ? sm[lane] : -INFINITY;
    t = warp_max(t);
    if (lane == 0) sm[0] = t;
  }
  __syncthreads();
  const float r = sm[0];
  __syncthreads();
  return r;
}
__device__ float block_sum(float v, float* sm) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum(v);
  if (lane == 0) sm[w] = v;
  __syncthreads();
  if (w == 0) {
    float t = lane < nw ? sm[lane] : 0.0f;
    t = warp_sum(t);
    if (lane == 0) sm[0] = t;
  }
  __syncthreads();
  const float r = sm[0];
  __syncthreads();
  return r;
}
__device__ double block_sum_d(double v, double* sm) {
  const int lane = threadIdx.x & 31, w = threadIdx.x >> 5, nw = blockDim.x >> 5;
  v = warp_sum_d(v);
  if (lane == 0) sm[w] = v;
  __syncthreads();
  if (w == 0) {
    double t = lane < nw ? sm[lane] : 0.0;
    t = warp_sum_d(t);
    if (lane == 0) sm[0] = t;
  }
  __syncthreads();
  const double r = sm[0];
  __syncthreads();
  return r;
}

// fp32 -> compute type, element-wise.
template <typename T>
__global__ void convert_k(const float* __restrict__ src, T* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    dst[i] = to_c<T>(src[i]);
  }
}

// x[r] = embd[tokens[r]]
__global__ void embed_k(const float* __restrict__ embd, const int32_t* __restrict__ tokens, int64_t d,
                        float* __restrict__ x) {
  const int64_t r = blockIdx.x;
  const float* e = embd + int64_t{tokens[r]} * d;
  float* xr = x + r * d;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) xr[i] = e[i];
}

// out[b] = x[rows ? rows[b] : b] / sqrt(mean(x^2) + eps) * w (sum of squares in double, as on the CPU).
template <typename T>
__global__ void rms_norm_k(const float* __restrict__ x, const int32_t* __restrict__ rows, int64_t d,
                           const float* __restrict__ w, float eps, T* __restrict__ out) {
  __shared__ double sd[32];
  const int64_t r = rows ? int64_t{rows[blockIdx.x]} : int64_t{blockIdx.x};
  const float* xr = x + r * d;
  T* yr = out + int64_t{blockIdx.x} * d;
  double ss = 0;
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) ss += static_cast<double>(xr[i]) * xr[i];
  ss = block_sum_d(ss, sd);
  const float scale = static_cast<float>(1.0 / sqrt(ss / static_cast<double>(d) + static_cast<double>(eps)));
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) yr[i] = to_c<T>(xr[i] * scale * w[i]);
}

// From the fused projection qkv[R x (q_dim + 2 kv_dim)] (fp32): q and k with bias and RoPE, v with bias, in the
// compute type. One thread per (row, head of Q|K|V, pair); pairs i < n_rot/2 rotate (adjacent dims for normal
// RoPE, (i, i + n_rot/2) for NEOX), the dimensions from n_rot on are copied.
template <typename T>
__global__ void qkv_rope_k(const float* __restrict__ qkv, int64_t R, int n_tokens, int n_head, int n_head_kv,
                           int hd, int n_rot, int neox, const float* __restrict__ bq, const float* __restrict__ bk,
                           const float* __restrict__ bv, const float* __restrict__ cos_t,
                           const float* __restrict__ sin_t, T* __restrict__ qc, T* __restrict__ kc,
                           T* __restrict__ vc) {
  const int half_hd = hd / 2, half_rot = n_rot / 2, nh_all = n_head + 2 * n_head_kv;
  const int64_t total = R * nh_all * half_hd;
  const int64_t idx = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (idx >= total) return;
  const int p = static_cast<int>(idx % half_hd);
  const int64_t t = idx / half_hd;
  const int hh = static_cast<int>(t % nh_all);
  const int64_t r = t / nh_all;
  const int pos = static_cast<int>(r % n_tokens);
  const int64_t q_dim = int64_t{n_head} * hd, kv_dim = int64_t{n_head_kv} * hd;
  const float* src = qkv + r * (q_dim + 2 * kv_dim) + int64_t{hh} * hd;
  T* dst;
  const float* bias;
  bool rotate;
  if (hh < n_head) {
    dst = qc + r * q_dim + int64_t{hh} * hd;
    bias = bq ? bq + int64_t{hh} * hd : nullptr;
    rotate = true;
  } else if (hh < n_head + n_head_kv) {
    const int kh = hh - n_head;
    dst = kc + r * kv_dim + int64_t{kh} * hd;
    bias = bk ? bk + int64_t{kh} * hd : nullptr;
    rotate = true;
  } else {
    const int vh = hh - n_head - n_head_kv;
    dst = vc + r * kv_dim + int64_t{vh} * hd;
    bias = bv ? bv + int64_t{vh} * hd : nullptr;
    rotate = false;
  }
  int a, b;
  if (p < half_rot) {
    a = neox ? p : 2 * p;
    b = neox ? p + half_rot : 2 * p + 1;
  } else {
    a = n_rot + 2 * (p - half_rot);
    b = a + 1;
  }
  float x0 = src[a], x1 = src[b];
  if (bias) {
    x0 += bias[a];
    x1 += bias[b];
  }
  if (rotate && p < half_rot) {
    const float c = cos_t[int64_t{pos} * half_rot + p], s = sin_t[int64_t{pos} * half_rot + p];
    const float y0 = x0 * c - x1 * s, y1 = x0 * s + x1 * c;
    x0 = y0;
    x1 = y1;
  }
  dst[a] = to_c<T>(x0);
  dst[b] = to_c<T>(x1);
}

// Causal softmax of one score row: S is [n_seq * n_head][T][T] fp32 with S[bh][i][j] = q_i . k_j; P[bh][i][j] =
// softmax_j<=i(scale * S) in the compute type, 0 for j > i (so that P V needs no mask). grid (T, n_seq * n_head).
template <typename T>
__global__ void causal_softmax_k(const float* __restrict__ S, int n_tokens, float scale, T* __restrict__ P) {
  __shared__ float sm[32];
  const int i = blockIdx.x;
  const int64_t off = (int64_t{blockIdx.y} * n_tokens + i) * n_tokens;
  const float* s = S + off;
  T* p = P + off;
  float m = -INFINITY;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) m = fmaxf(m, s[j] * scale);
  m = block_max(m, sm);
  float sum = 0;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) sum += expf(s[j] * scale - m);
  sum = block_sum(sum, sm);
  const float inv = 1.0f / sum;
  for (int j = threadIdx.x; j < n_tokens; j += blockDim.x) {
    p[j] = to_c<T>(j <= i ? expf(s[j] * scale - m) * inv : 0.0f);
  }
}

// h = silu(g) * u from gu[R x 2 n_ff] = [g | u], in the compute type.
template <typename T>
__global__ void swiglu_k(const float* __restrict__ gu, int64_t R, int64_t n_ff, T* __restrict__ h) {
  const int64_t n = R * n_ff;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / n_ff, c = i % n_ff;
    const float g = gu[r * 2 * n_ff + c], u = gu[r * 2 * n_ff + n_ff + c];
    h[i] = to_c<T>(g / (1.0f + expf(-g)) * u);
  }
}

// nll[b] = max + ln(sum exp(l - max)) - l[target[b]] over one row of logits[rows x V].
__global__ void nll_k(const float* __restrict__ logits, int64_t V, const int32_t* __restrict__ target,
                      double* __restrict__ out) {
  __shared__ float sm[32];
  __shared__ double sd[32];
  const float* l = logits + int64_t{blockIdx.x} * V;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) m = fmaxf(m, l[j]);
  m = block_max(m, sm);
  float s = 0;
  for (int64_t j = threadIdx.x; j < V; j += blockDim.x) s += expf(l[j] - m);
  const double total = block_sum_d(static_cast<double>(s), sd);
  if (threadIdx.x == 0) {
    out[blockIdx.x] = static_cast<double>(m) + log(total) - static_cast<double>(l[target[blockIdx.x]]);
  }
}

__global__ void fill_nan_k(double* p, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    p[i] = __longlong_as_double(0x7ff8000000000000LL);
  }
}

unsigned grid_for(int64_t n, int block) {
  // One thread per item (qkv_rope_k relies on it; the other kernels also loop grid-stride): grid.x <= 2^31 - 1.
  int64_t g = (n + block - 1) / block;
  if (g > 2147483647LL) throw Failure("kernel launch of more than 2^31 - 1 blocks");
  return static_cast<unsigned>(g < 1 ? 1 : g);
}

constexpr int kLogitRows = 512;

struct LayerBuf {
  float *attn_norm = nullptr, *ffn_norm = nullptr, *bqkv = nullptr;
  void *wqkv = nullptr, *wo = nullptr, *w_gu = nullptr, *w_down = nullptr;
  bool have[LMZIP_CUDA_T_LAYER_COUNT] = {};
};

}  // namespace

struct lmzip_cuda_engine {
  lmzip_cuda_config c{};
  bool bf16 = true;
  size_t esize = 2;  // bytes per compute-type element
  cudaDataType_t dt = CUDA_R_16BF;
  int64_t q_dim = 0, kv_dim = 0, qkv_dim = 0, max_rows = 0;
  cublasHandle_t blas = nullptr;
  cudaStream_t stream = nullptr;
  std::vector<void*> allocations;
  std::vector<LayerBuf> layers;
  float *tok_embd = nullptr, *out_norm = nullptr, *rope_cos = nullptr, *rope_sin = nullptr;
  void* output = nullptr;
  bool have_tok = false, have_onorm = false, have_out = false, have_cos = false, have_sin = false;
  float* staging = nullptr;  // fp32 upload buffer, freed at the first score call
  size_t staging_elems = 0;
  // Activations for max_rows = max_seq * max_tokens rows.
  int32_t* tokens = nullptr;
  float *x = nullptr, *qkv = nullptr, *gu = nullptr, *scores = nullptr, *logits = nullptr;
  void *xn = nullptr, *qc = nullptr, *kc = nullptr, *vc = nullptr, *probs = nullptr, *attn = nullptr,
       *hff = nullptr, *hs = nullptr;
  int32_t *trow = nullptr, *ttok = nullptr;
  double* nll = nullptr;
  // Batched-GEMM pointer arrays for the current (n_seq, n_tokens).
  const void** ptrs = nullptr;
  std::vector<const void*> host_ptrs;
  int ptr_seq = -1, ptr_tokens = -1;

  void* alloc(size_t bytes, const char* what) {
    void* p = nullptr;
    const cudaError_t e = cudaMalloc(&p, bytes == 0 ? 1 : bytes);
    if (e != cudaSuccess) {
      throw Failure(std::string("cudaMalloc of ") + std::to_string(bytes) + " bytes for " + what + ": " +
                    cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
    }
    allocations.push_back(p);
    return p;
  }
  template <typename U>
  U* alloc_n(int64_t n, const char* what) {
    return static_cast<U*>(alloc(static_cast<size_t>(n) * sizeof(U), what));
  }
  void* alloc_c(int64_t n, const char* what) { return alloc(static_cast<size_t>(n) * esize, what); }

  void release() {
    for (void* p : allocations) cudaFree(p);
    allocations.clear();
    staging = nullptr;
    if (blas) cublasDestroy(blas);
    blas = nullptr;
    if (stream) cudaStreamDestroy(stream);
    stream = nullptr;
  }

  // C[m x n] (col-major, ldc) = alpha * op(A) B + beta C with op(A) = A^T: the row-major Y[n x m] = X W^T for
  // W[m x k] and X[n x k].
  void gemm_xwt(int m, int n, int k, const void* W, int ldw, const void* X, int ldx, float beta, void* Y,
                cudaDataType_t yt, int ldy, const char* what) {
    const float alpha = 1.0f;
    check_cublas(cublasGemmEx(blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, W, dt, ldw, X, dt, ldx, &beta, Y, yt,
                              ldy, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                 what);
  }
};

namespace {

void fail_if(bool bad, const std::string& msg) {
  if (bad) throw Failure(msg);
}

template <typename F>
int guarded(const char* fn, F&& f) {
  try {
    f();
    g_error.clear();
    return 0;
  } catch (const std::exception& e) {
    g_error = std::string("lmzip_cuda: ") + fn + ": " + e.what();
  } catch (...) {
    g_error = std::string("lmzip_cuda: ") + fn + ": unknown error";
  }
  return 1;
}

void create_engine(const lmzip_cuda_config* cfg, lmzip_cuda_engine* e) {
  fail_if(cfg == nullptr, "null config");
  fail_if(cfg->abi_version != LMZIP_CUDA_ABI_VERSION,
          "ABI version " + std::to_string(cfg->abi_version) + " requested, the plugin has " +
              std::to_string(LMZIP_CUDA_ABI_VERSION));
  const lmzip_cuda_config& c = *cfg;
  fail_if(c.n_vocab <= 0 || c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 ||
              c.head_dim <= 0 || c.n_ff <= 0 || c.max_seq <= 0 || c.max_tokens <= 0,
          "every dimension must be positive");
  fail_if(c.n_head % c.n_head_kv != 0, "n_head is not a multiple of n_head_kv");
  fail_if(c.head_dim % 2 != 0 || c.n_rot % 2 != 0 || c.n_rot < 0 || c.n_rot > c.head_dim,
          "head_dim and n_rot must be even, n_rot <= head_dim");
  fail_if(c.rope_kind != LMZIP_CUDA_ROPE_NORMAL && c.rope_kind != LMZIP_CUDA_ROPE_NEOX, "unknown rope kind");
  fail_if(c.compute != LMZIP_CUDA_BF16 && c.compute != LMZIP_CUDA_FP32, "unknown compute type");
  e->c = c;
  e->bf16 = c.compute == LMZIP_CUDA_BF16;
  e->esize = e->bf16 ? 2 : 4;
  e->dt = e->bf16 ? CUDA_R_16BF : CUDA_R_32F;
  e->q_dim = int64_t{c.n_head} * c.head_dim;
  e->kv_dim = int64_t{c.n_head_kv} * c.head_dim;
  e->qkv_dim = e->q_dim + 2 * e->kv_dim;
  e->max_rows = int64_t{c.max_seq} * c.max_tokens;
  fail_if(e->max_rows > (int64_t{1} << 30), "max_seq * max_tokens too large");
  int n_dev = 0;
  CK(cudaGetDeviceCount(&n_dev));
  fail_if(c.device < 0 || c.device >= n_dev,
          "CUDA device " + std::to_string(c.device) + " does not exist (" + std::to_string(n_dev) + " found)");
  CK(cudaSetDevice(c.device));
  CK(cudaStreamCreate(&e->stream));  // blocking: ordered with the legacy stream too
  CB(cublasCreate(&e->blas));
  CB(cublasSetStream(e->blas, e->stream));
  // fp32: no TF32 or other reduced-precision shortcuts; bf16: tensor cores with fp32 accumulation.
  CB(cublasSetMathMode(e->blas, e->bf16 ? CUBLAS_DEFAULT_MATH : CUBLAS_PEDANTIC_MATH));

  const int64_t d = c.n_embd, ff = c.n_ff, V = c.n_vocab, R = e->max_rows, T = c.max_tokens;
  e->layers.resize(static_cast<size_t>(c.n_layer));
  for (LayerBuf& L : e->layers) {
    L.attn_norm = e->alloc_n<float>(d, "attn_norm");
    L.ffn_norm = e->alloc_n<float>(d, "ffn_norm");
    if (c.has_qkv_bias) L.bqkv = e->alloc_n<float>(e->qkv_dim, "qkv bias");
    L.wqkv = e->alloc_c(e->qkv_dim * d, "attn_qkv");
    L.wo = e->alloc_c(d * e->q_dim, "attn_output");
    L.w_gu = e->alloc_c(2 * ff * d, "ffn_gate|up");
    L.w_down = e->alloc_c(d * ff, "ffn_down");
  }
  e->tok_embd = e->alloc_n<float>(V * d, "token_embd");
  e->out_norm = e->alloc_n<float>(d, "output_norm");
  e->output = e->alloc_c(V * d, "output");
  const int64_t half_rot = c.n_rot / 2;
  e->rope_cos = e->alloc_n<float>(std::max<int64_t>(1, T * half_rot), "rope cos");
  e->rope_sin = e->alloc_n<float>(std::max<int64_t>(1, T * half_rot), "rope sin");

  e->tokens = e->alloc_n<int32_t>(R, "tokens");
  e->x = e->alloc_n<float>(R * d, "x");
  e->xn = e->alloc_c(R * d, "xn");
  e->qkv = e->alloc_n<float>(R * e->qkv_dim, "qkv");
  e->qc = e->alloc_c(R * e->q_dim, "q");
  e->kc = e->alloc_c(R * e->kv_dim, "k");
  e->vc = e->alloc_c(R * e->kv_dim, "v");
  const int64_t n_bh = int64_t{c.max_seq} * c.n_head;
  e->scores = e->alloc_n<float>(n_bh * T * T, "attention scores");
  e->probs = e->alloc_c(n_bh * T * T, "attention probabilities");
  e->attn = e->alloc_c(R * e->q_dim, "attention output");
  e->gu = e->alloc_n<float>(R * 2 * ff, "ffn gate|up");
  e->hff = e->alloc_c(R * ff, "ffn hidden");
  e->hs = e->alloc_c(R * d, "scored rows");
  e->logits = e->alloc_n<float>(int64_t{kLogitRows} * V, "logits");
  e->trow = e->alloc_n<int32_t>(R, "target rows");
  e->ttok = e->alloc_n<int32_t>(R, "target tokens");
  e->nll = e->alloc_n<double>(R, "nll");
  e->ptrs = static_cast<const void**>(e->alloc(static_cast<size_t>(6 * n_bh) * sizeof(void*), "pointer arrays"));
  e->staging_elems = static_cast<size_t>(std::max({V * d, e->qkv_dim * d, 2 * ff * d, d * e->q_dim}));
  e->staging = e->alloc_n<float>(static_cast<int64_t>(e->staging_elems), "upload staging");
}

// Copies n fp32 values to dst: as they are (fp32 destination), or through the staging buffer and a conversion.
void upload_to(lmzip_cuda_engine* e, void* dst, bool dst_is_compute, const float* src, int64_t n) {
  if (!dst_is_compute || !e->bf16) {
    CK(cudaMemcpyAsync(dst, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyHostToDevice, e->stream));
    CK(cudaStreamSynchronize(e->stream));
    return;
  }
  fail_if(e->staging == nullptr, "upload after the first score call");
  fail_if(static_cast<size_t>(n) > e->staging_elems, "tensor larger than the staging buffer");
  CK(cudaMemcpyAsync(e->staging, src, static_cast<size_t>(n) * sizeof(float), cudaMemcpyHostToDevice, e->stream));
  convert_k<__nv_bfloat16><<<grid_for(n, 256), 256, 0, e->stream>>>(e->staging, static_cast<__nv_bfloat16*>(dst), n);
  LAUNCHED("convert");
  CK(cudaStreamSynchronize(e->stream));
}

void do_upload(lmzip_cuda_engine* e, int32_t layer, int32_t tensor, const float* data, int64_t n) {
  fail_if(e == nullptr || data == nullptr, "null engine or data");
  const lmzip_cuda_config& c = e->c;
  const int64_t d = c.n_embd, ff = c.n_ff, V = c.n_vocab;
  auto expect = [&](int64_t want, const char* name) {
    fail_if(n != want, std::string(name) + ": " + std::to_string(n) + " elements given, " + std::to_string(want) +
                           " expected");
  };
  char* base;
  if (layer < 0) {
    switch (tensor) {
      case LMZIP_CUDA_T_TOKEN_EMBD:
        expect(V * d, "token_embd");
        upload_to(e, e->tok_embd, false, data, n);
        e->have_tok = true;
        return;
      case LMZIP_CUDA_T_OUTPUT_NORM:
        expect(d, "output_norm");
        upload_to(e, e->out_norm, false, data, n);
        e->have_onorm = true;
        return;
      case LMZIP_CUDA_T_OUTPUT:
        expect(V * d, "output");
        upload_to(e, e->output, true, data, n);
        e->have_out = true;
        return;
      case LMZIP_CUDA_T_ROPE_COS:
      case LMZIP_CUDA_T_ROPE_SIN: {
        const int64_t want = int64_t{c.max_tokens} * (c.n_rot / 2);
        expect(want, "rope table");
        if (want == 0) {
          (tensor == LMZIP_CUDA_T_ROPE_COS ? e->have_cos : e->have_sin) = true;
          return;
        }
        upload_to(e, tensor == LMZIP_CUDA_T_ROPE_COS ? e->rope_cos : e->rope_sin, false, data, n);
        (tensor == LMZIP_CUDA_T_ROPE_COS ? e->have_cos : e->have_sin) = true;
        return;
      }
      default:
        throw Failure("unknown model tensor id " + std::to_string(tensor));
    }
  }
  fail_if(layer >= c.n_layer, "layer " + std::to_string(layer) + " out of range");
  LayerBuf& L = e->layers[static_cast<size_t>(layer)];
  fail_if(tensor < 0 || tensor >= LMZIP_CUDA_T_LAYER_COUNT, "unknown layer tensor id " + std::to_string(tensor));
  switch (tensor) {
    case LMZIP_CUDA_T_ATTN_NORM:
      expect(d, "attn_norm");
      upload_to(e, L.attn_norm, false, data, n);
      break;
    case LMZIP_CUDA_T_FFN_NORM:
      expect(d, "ffn_norm");
      upload_to(e, L.ffn_norm, false, data, n);
      break;
    case LMZIP_CUDA_T_WQ:
      expect(e->q_dim * d, "attn_q");
      upload_to(e, L.wqkv, true, data, n);
      break;
    case LMZIP_CUDA_T_WK:
      expect(e->kv_dim * d, "attn_k");
      base = static_cast<char*>(L.wqkv) + static_cast<size_t>(e->q_dim * d) * e->esize;
      upload_to(e, base, true, data, n);
      break;
    case LMZIP_CUDA_T_WV:
      expect(e->kv_dim * d, "attn_v");
      base = static_cast<char*>(L.wqkv) + static_cast<size_t>((e->q_dim + e->kv_dim) * d) * e->esize;
      upload_to(e, base, true, data, n);
      break;
    case LMZIP_CUDA_T_BQ:
    case LMZIP_CUDA_T_BK:
    case LMZIP_CUDA_T_BV: {
      fail_if(!c.has_qkv_bias, "a Q/K/V bias given for a model configured without biases");
      const int64_t off = tensor == LMZIP_CUDA_T_BQ ? 0 : tensor == LMZIP_CUDA_T_BK ? e->q_dim : e->q_dim + e->kv_dim;
      expect(tensor == LMZIP_CUDA_T_BQ ? e->q_dim : e->kv_dim, "qkv bias");
      upload_to(e, L.bqkv + off, false, data, n);
      break;
    }
    case LMZIP_CUDA_T_WO:
      expect(d * e->q_dim, "attn_output");
      upload_to(e, L.wo, true, data, n);
      break;
    case LMZIP_CUDA_T_W_GATE:
      expect(ff * d, "ffn_gate");
      upload_to(e, L.w_gu, true, data, n);
      break;
    case LMZIP_CUDA_T_W_UP:
      expect(ff * d, "ffn_up");
      base = static_cast<char*>(L.w_gu) + static_cast<size_t>(ff * d) * e->esize;
      upload_to(e, base, true, data, n);
      break;
    case LMZIP_CUDA_T_W_DOWN:
      expect(d * ff, "ffn_down");
      upload_to(e, L.w_down, true, data, n);
      break;
    default:
      throw Failure("unknown layer tensor id " + std::to_string(tensor));
  }
  L.have[tensor] = true;
}

void check_complete(lmzip_cuda_engine* e) {
  fail_if(!e->have_tok || !e->have_onorm || !e->have_out || !e->have_cos || !e->have_sin,
          "a model tensor (token_embd, output_norm, output or the rope tables) was never uploaded");
  for (size_t il = 0; il < e->layers.size(); ++il) {
    for (int t = 0; t < LMZIP_CUDA_T_LAYER_COUNT; ++t) {
      const bool bias = t == LMZIP_CUDA_T_BQ || t == LMZIP_CUDA_T_BK || t == LMZIP_CUDA_T_BV;
      if (bias && !e->c.has_qkv_bias) continue;
      fail_if(!e->layers[il].have[t],
              "tensor " + std::to_string(t) + " of layer " + std::to_string(il) + " was never uploaded");
    }
  }
}

template <typename T>
void forward(lmzip_cuda_engine* e, const lmzip_cuda_request& q) {
  const lmzip_cuda_config& c = e->c;
  const int B = q.n_seq, Tn = q.n_tokens;
  const int64_t R = int64_t{B} * Tn, d = c.n_embd, ff = c.n_ff, V = c.n_vocab;
  const int nbh = B * c.n_head, group = c.n_head / c.n_head_kv, hd = c.head_dim;
  cudaStream_t st = e->stream;

  CK(cudaMemcpyAsync(e->tokens, q.tokens, static_cast<size_t>(R) * sizeof(int32_t), cudaMemcpyHostToDevice, st));
  CK(cudaMemcpyAsync(e->trow, q.target_row, static_cast<size_t>(q.n_targets) * sizeof(int32_t),
                     cudaMemcpyHostToDevice, st));
  CK(cudaMemcpyAsync(e->ttok, q.target_token, static_cast<size_t>(q.n_targets) * sizeof(int32_t),
                     cudaMemcpyHostToDevice, st));
  // Poison the outputs: a target the kernels never reach stays NaN and is refused below.
  fill_nan_k<<<grid_for(q.n_targets, 256), 256, 0, st>>>(e->nll, q.n_targets);
  LAUNCHED("fill_nan");

  if (e->ptr_seq != B || e->ptr_tokens != Tn) {
    // Six arrays of nbh pointers: [K, Q, S] for S = K Q^T and [V, P, O] for O = P V, per (sequence, head).
    e->host_ptrs.assign(static_cast<size_t>(6 * nbh), nullptr);
    const char* kc = static_cast<const char*>(e->kc);
    const char* qc = static_cast<const char*>(e->qc);
    const char* vc = static_cast<const char*>(e->vc);
    const char* pc = static_cast<const char*>(e->probs);
    const char* oc = static_cast<const char*>(e->attn);
    for (int b = 0; b < B; ++b) {
      for (int h = 0; h < c.n_head; ++h) {
        const size_t bh = static_cast<size_t>(b) * c.n_head + h;
        const int kvh = h / group;
        const size_t row0 = static_cast<size_t>(b) * Tn;
        e->host_ptrs[0 * nbh + bh] = kc + (row0 * e->kv_dim + static_cast<size_t>(kvh) * hd) * e->esize;
        e->host_ptrs[1 * nbh + bh] = qc + (row0 * e->q_dim + static_cast<size_t>(h) * hd) * e->esize;
        e->host_ptrs[2 * nbh + bh] = e->scores + bh * Tn * Tn;
        e->host_ptrs[3 * nbh + bh] = vc + (row0 * e->kv_dim + static_cast<size_t>(kvh) * hd) * e->esize;
        e->host_ptrs[4 * nbh + bh] = pc + bh * Tn * Tn * e->esize;
        e->host_ptrs[5 * nbh + bh] = oc + (row0 * e->q_dim + static_cast<size_t>(h) * hd) * e->esize;
      }
    }
    CK(cudaMemcpyAsync(e->ptrs, e->host_ptrs.data(), e->host_ptrs.size() * sizeof(void*), cudaMemcpyHostToDevice,
                       st));
    e->ptr_seq = B;
    e->ptr_tokens = Tn;
  }
  const void* const* pK = e->ptrs;
  const void* const* pQ = e->ptrs + nbh;
  void* const* pS = reinterpret_cast<void* const*>(e->ptrs + 2 * nbh);
  const void* const* pV = e->ptrs + 3 * nbh;
  const void* const* pP = e->ptrs + 4 * nbh;
  void* const* pO = reinterpret_cast<void* const*>(e->ptrs + 5 * nbh);

  embed_k<<<static_cast<unsigned>(R), 256, 0, st>>>(e->tok_embd, e->tokens, d, e->x);
  LAUNCHED("embed");
  const float one = 1.0f, zero = 0.0f;
  const int64_t n_pairs = R * (c.n_head + 2 * c.n_head_kv) * (hd / 2);
  for (int il = 0; il < c.n_layer; ++il) {
    const LayerBuf& L = e->layers[static_cast<size_t>(il)];
    rms_norm_k<T><<<static_cast<unsigned>(R), 256, 0, st>>>(e->x, nullptr, d, L.attn_norm, c.norm_eps,
                                                            static_cast<T*>(e->xn));
    LAUNCHED("rms_norm (attention)");
    e->gemm_xwt(static_cast<int>(e->qkv_dim), static_cast<int>(R), static_cast<int>(d), L.wqkv,
                static_cast<int>(d), e->xn, static_cast<int>(d), 0.0f, e->qkv, CUDA_R_32F,
                static_cast<int>(e->qkv_dim), "cublasGemmEx (attn_qkv)");
    const float* bq = L.bqkv;
    const float* bk = L.bqkv ? L.bqkv + e->q_dim : nullptr;
    const float* bv = L.bqkv ? L.bqkv + e->q_dim + e->kv_dim : nullptr;
    qkv_rope_k<T><<<grid_for(n_pairs, 256), 256, 0, st>>>(
        e->qkv, R, Tn, c.n_head, c.n_head_kv, hd, c.n_rot, c.rope_kind == LMZIP_CUDA_ROPE_NEOX, bq, bk, bv,
        e->rope_cos, e->rope_sin, static_cast<T*>(e->qc), static_cast<T*>(e->kc), static_cast<T*>(e->vc));
    LAUNCHED("qkv_rope");
    // S[bh] (col-major T x T, element (j, i) = k_j . q_i) = K Q^T.
    CB(cublasGemmBatchedEx(e->blas, CUBLAS_OP_T, CUBLAS_OP_N, Tn, Tn, hd, &one, pK, e->dt,
                           static_cast<int>(e->kv_dim), pQ, e->dt, static_cast<int>(e->q_dim), &zero, pS, CUDA_R_32F,
                           Tn, nbh, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    causal_softmax_k<T><<<dim3(static_cast<unsigned>(Tn), static_cast<unsigned>(nbh)), 256, 0, st>>>(
        e->scores, Tn, c.attn_scale, static_cast<T*>(e->probs));
    LAUNCHED("causal_softmax");
    // O[bh] (col-major hd x T in the attention rows, ld q_dim) = V^T P^T, i.e. row i = sum_j p_ij v_j.
    CB(cublasGemmBatchedEx(e->blas, CUBLAS_OP_N, CUBLAS_OP_N, hd, Tn, Tn, &one, pV, e->dt,
                           static_cast<int>(e->kv_dim), pP, e->dt, Tn, &zero, pO, e->dt, static_cast<int>(e->q_dim),
                           nbh, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    e->gemm_xwt(static_cast<int>(d), static_cast<int>(R), static_cast<int>(e->q_dim), L.wo,
                static_cast<int>(e->q_dim), e->attn, static_cast<int>(e->q_dim), 1.0f, e->x, CUDA_R_32F,
                static_cast<int>(d), "cublasGemmEx (attn_output)");
    rms_norm_k<T><<<static_cast<unsigned>(R), 256, 0, st>>>(e->x, nullptr, d, L.ffn_norm, c.norm_eps,
                                                            static_cast<T*>(e->xn));
    LAUNCHED("rms_norm (ffn)");
    e->gemm_xwt(static_cast<int>(2 * ff), static_cast<int>(R), static_cast<int>(d), L.w_gu, static_cast<int>(d),
                e->xn, static_cast<int>(d), 0.0f, e->gu, CUDA_R_32F, static_cast<int>(2 * ff),
                "cublasGemmEx (ffn_gate|up)");
    swiglu_k<T><<<grid_for(R * ff, 256), 256, 0, st>>>(e->gu, R, ff, static_cast<T*>(e->hff));
    LAUNCHED("swiglu");
    e->gemm_xwt(static_cast<int>(d), static_cast<int>(R), static_cast<int>(ff), L.w_down, static_cast<int>(ff),
                e->hff, static_cast<int>(ff), 1.0f, e->x, CUDA_R_32F, static_cast<int>(d),
                "cublasGemmEx (ffn_down)");
  }
  if (q.n_targets > 0) {
    rms_norm_k<T><<<static_cast<unsigned>(q.n_targets), 256, 0, st>>>(e->x, e->trow, d, e->out_norm, c.norm_eps,
                                                                      static_cast<T*>(e->hs));
    LAUNCHED("rms_norm (output)");
    for (int r0 = 0; r0 < q.n_targets; r0 += kLogitRows) {
      const int nr = std::min(kLogitRows, q.n_targets - r0);
      const char* hs = static_cast<const char*>(e->hs) + static_cast<size_t>(r0) * d * e->esize;
      e->gemm_xwt(static_cast<int>(V), nr, static_cast<int>(d), e->output, static_cast<int>(d), hs,
                  static_cast<int>(d), 0.0f, e->logits, CUDA_R_32F, static_cast<int>(V), "cublasGemmEx (output)");
      nll_k<<<static_cast<unsigned>(nr), 1024, 0, st>>>(e->logits, V, e->ttok + r0, e->nll + r0);
      LAUNCHED("nll");
    }
  }
  CK(cudaMemcpyAsync(q.nats_out, e->nll, static_cast<size_t>(q.n_targets) * sizeof(double), cudaMemcpyDeviceToHost,
                     st));
  CK(cudaStreamSynchronize(st));
}

void do_score(lmzip_cuda_engine* e, const lmzip_cuda_request* q) {
  fail_if(e == nullptr || q == nullptr, "null engine or request");
  const lmzip_cuda_config& c = e->c;
  fail_if(q->n_seq < 1 || q->n_seq > c.max_seq,
          "n_seq " + std::to_string(q->n_seq) + " outside 1.." + std::to_string(c.max_seq));
  fail_if(q->n_tokens < 1 || q->n_tokens > c.max_tokens,
          "n_tokens " + std::to_string(q->n_tokens) + " outside 1.." + std::to_string(c.max_tokens));
  const int64_t R = int64_t{q->n_seq} * q->n_tokens;
  fail_if(q->n_targets < 0 || q->n_targets > R, "n_targets outside 0..n_seq * n_tokens");
  fail_if(q->tokens == nullptr || (q->n_targets > 0 && (q->target_row == nullptr || q->target_token == nullptr ||
                                                        q->nats_out == nullptr)),
          "null request array");
  for (int64_t i = 0; i < R; ++i) {
    fail_if(q->tokens[i] < 0 || q->tokens[i] >= c.n_vocab, "token id " + std::to_string(q->tokens[i]) +
                                                               " outside the vocabulary of " +
                                                               std::to_string(c.n_vocab));
  }
  for (int32_t t = 0; t < q->n_targets; ++t) {
    fail_if(q->target_row[t] < 0 || q->target_row[t] >= R, "target row outside the request");
    fail_if(q->target_token[t] < 0 || q->target_token[t] >= c.n_vocab, "target token outside the vocabulary");
  }
  check_complete(e);
  if (e->staging) {
    // Every tensor is in place: give the staging buffer back (it is as large as the output matrix).
    CK(cudaStreamSynchronize(e->stream));
    for (auto it = e->allocations.begin(); it != e->allocations.end(); ++it) {
      if (*it == e->staging) {
        e->allocations.erase(it);
        break;
      }
    }
    CK(cudaFree(e->staging));
    e->staging = nullptr;
  }
  if (e->bf16) {
    forward<__nv_bfloat16>(e, *q);
  } else {
    forward<float>(e, *q);
  }
  for (int32_t t = 0; t < q->n_targets; ++t) {
    fail_if(std::isnan(q->nats_out[t]),
            "target " + std::to_string(t) + " came back NaN (unwritten output or a NaN in the model)");
  }
}

}  // namespace

extern "C" {

int32_t lmzip_cuda_abi_version(void) { return LMZIP_CUDA_ABI_VERSION; }

const char* lmzip_cuda_last_error(void) { return g_error.c_str(); }

int lmzip_cuda_device_info(int32_t device, lmzip_cuda_device_props* out) {
  return guarded("device_info", [&] {
    fail_if(out == nullptr, "null output");
    std::memset(out, 0, sizeof *out);
    int n = 0;
    const cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      throw Failure(std::string("no usable CUDA driver or device: ") + cudaGetErrorName(err) + " (" +
                    cudaGetErrorString(err) + ")");
    }
    fail_if(n == 0, "no CUDA device");
    fail_if(device < 0 || device >= n,
            "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(n) + " found)");
    cudaDeviceProp p{};
    CK(cudaGetDeviceProperties(&p, device));
    std::snprintf(out->name, sizeof out->name, "%s", p.name);
    out->major = p.major;
    out->minor = p.minor;
    out->total_memory = static_cast<int64_t>(p.totalGlobalMem);
    CK(cudaDriverGetVersion(&out->driver_version));
    CK(cudaRuntimeGetVersion(&out->runtime_version));
  });
}

int lmzip_cuda_create(const lmzip_cuda_config* config, lmzip_cuda_engine** out) {
  if (out) *out = nullptr;
  lmzip_cuda_engine* e = nullptr;
  const int rc = guarded("create", [&] {
    fail_if(out == nullptr, "null output");
    e = new lmzip_cuda_engine();
    create_engine(config, e);
  });
  if (rc != 0) {
    if (e) {
      e->release();
      delete e;
    }
    return rc;
  }
  *out = e;
  return 0;
}

int lmzip_cuda_upload(lmzip_cuda_engine* e, int32_t layer, int32_t tensor, const float* data, int64_t n) {
  return guarded("upload", [&] { do_upload(e, layer, tensor, data, n); });
}

int lmzip_cuda_score(lmzip_cuda_engine* e, const lmzip_cuda_request* request) {
  return guarded("score", [&] { do_score(e, request); });
}

void lmzip_cuda_destroy(lmzip_cuda_engine* e) {
  if (!e) return;
  e->release();
  delete e;
}

}  // extern "C"
