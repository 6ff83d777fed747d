//===- attention.cu - The CUDA backend's own flash attention --------------===//
//
// The attention cuDNN's fused SDPA does not take (f32, head sizes that are
// not a multiple of 8 or exceed 256, masks, causal blocks it cannot band;
// cudnn_graphs.h: sdpa::ineligible) and the pieces of ring attention. Every call goes to cuDNN first (cudnn_graphs.h: sdpa::run, for
// F16 / BF16 calls it can take, DITC_CUDNN); what it hands back runs here:
//
//   ditc_cu_attention            ditc_rt_attention for F32 / F16 / BF16
//   ditc_cu_attention_block      ditc_rt_attention_block (any dtype; a
//                                chunk loop's causal rows)
//   ditc_cu_attention_block_f32  ditc_rt_attention_block_f32 (offsets,
//                                kv_valid, lse)
//   ditc_cu_attention_merge_f32  ditc_rt_attention_merge_f32
//
// Tensors are device pointers, mask_strides a host pointer read at launch.
// Everything runs on the thread's current stream (ditc_cu_get_stream());
// nothing synchronizes or allocates (the launchers may be captured in a CUDA
// graph; the one-time cudaFuncSetAttribute for more than 48 KiB of shared
// memory is not a stream operation).
//
// The kernel (CUDA cores, f32 arithmetic for every dtype) is one thread block
// of 128 threads per (batch, head, tile of BQ query rows). The tile's queries,
// converted to f32 and multiplied by scale * log2(e), stay in shared memory;
// for each tile of BK keys the K and V rows are staged there as f32 too, and
//
//   S = Q K^T        each thread a TR x TC block of scores: rows ty + 8r,
//                    keys tx + 16c (ty = 0..7, tx = 0..15; float4 reads, K
//                    rows padded to an odd number of float4 so the 16 key
//                    rows a warp reads fall in distinct banks)
//   masks            causal (global positions) and keys past kv_valid /
//                    kv_len in registers; a bool or additive mask is staged
//                    with K and V as a bias tile (0 / -inf, or the additive
//                    mask times log2(e)) in the P buffer and added
//   online softmax   the 16 lanes that share a row (half a warp) find its
//                    tile max with shuffles; attention_math.h does the rest
//                    (running max, rescale factor, weights 2^(s - m)); each
//                    lane keeps a partial running sum, reduced at the end
//   P -> shared      each half warp writes its rows' weights (read back by
//                    the same warp only: __syncwarp)
//   O += P V         each thread TR rows x TD float4 columns (4 tx + 64 t)
//
// and finally out = O / l rounded once to the dtype, lse = (m + log2 l) ln 2.
// Accumulators are f32 throughout. Shapes: any D, Dv <= 256 (a bucket per
// max(D, Dv): 64, 128, 256, which fixes BQ, BK and the register tiles), any
// Sq / Sk, GQA. Blocks are ordered costliest causal tiles first.
//
//===----------------------------------------------------------------------===//
#include "attention_math.h"
#include "../src/attention_layout.h"
#include "common.cuh" // cuda_runtime_api.h: the launchers' declarations

#include <stdint.h>
#include <string.h>

#ifndef DITC_CU_EMULATE
#include "cudnn_graphs.h" // not on the host emulation: no cuDNN there

#include <atomic>
#endif

namespace ditc_cu {
namespace attention {
namespace {

// float4 / uint2 on the device; in test/Cuda's host emulation (which has no
// vector types) structs of the same size and alignment.
#ifdef DITC_CU_EMULATE
struct alignas(16) F4 {
  float x, y, z, w;
};
struct alignas(8) U2 {
  uint32_t x, y;
};
template <class T> inline T ldg(const T *p) { return *p; }
// Every thread reaches the kernel's one __syncwarp (and the emulation has
// none): a block barrier is as good there.
#define DITC_ATT_SYNCWARP() __syncthreads()
#else
typedef float4 F4;
typedef uint2 U2;
template <class T> __device__ __forceinline__ T ldg(const T *p) {
  return __ldg(p);
}
#define DITC_ATT_SYNCWARP() __syncwarp()
#endif

__device__ __forceinline__ F4 f4(float x, float y, float z, float w) {
  F4 r;
  r.x = x;
  r.y = y;
  r.z = z;
  r.w = w;
  return r;
}

constexpr int kAttThreads = 128; // 4 warps; 8 row groups (ty) x 16 lanes (tx)

// Tile sizes per head-dim bucket (DMAX >= max(D, Dv)). TR = BQ / 8 rows and
// TC = BK / 16 keys of scores per thread, TD = DMAX / 64 float4 columns of
// the output per row: the accumulators are TR x TD float4 (32 floats at 64,
// 64 at 128 and 256). kMinBlocks is the occupancy the register budget is cut
// for (__launch_bounds__), what shared memory allows on an H100 / H200
// (227 KiB a block, 228 KiB an SM): at 64, 68 KiB a block, 3 blocks (168
// registers); at 128, 75 KiB, 3 would fit but the tile needs ~200 registers
// (2 blocks); at 256, 102 KiB, 2 blocks.
template <int DMAX> struct Tile;
template <> struct Tile<64> {
  static constexpr int BQ = 64, BK = 64, kMinBlocks = 3;
};
template <> struct Tile<128> {
  static constexpr int BQ = 64, BK = 32, kMinBlocks = 2;
};
template <> struct Tile<256> {
  static constexpr int BQ = 32, BK = 32, kMinBlocks = 2;
};

constexpr int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// Shared-memory row strides: Q and K rows are padded to an odd number of
// float4 (the 16 K rows a half warp reads then start in distinct bank
// groups); V rows to a multiple of 64 floats, the output tile's columns.
constexpr int32_t ld_qk(int64_t d) {
  return (int32_t)((round_up(d, 4) / 4) | 1) * 4;
}
constexpr int32_t ld_v(int64_t dv) { return (int32_t)round_up(dv, 64); }

template <int DMAX> constexpr size_t smem_bytes(int64_t d, int64_t dv) {
  return sizeof(float) * ((size_t)Tile<DMAX>::BQ * ld_qk(d) +
                          (size_t)Tile<DMAX>::BK * ld_qk(d) +
                          (size_t)Tile<DMAX>::BK * ld_v(dv) +
                          (size_t)Tile<DMAX>::BQ * (Tile<DMAX>::BK + 4));
}

struct Params {
  const void *q, *k, *v;
  const void *mask; // at key column kv_offset
  int64_t ms0, ms1, ms2, ms3;
  void *out;
  float *lse; // in out's row order ([B,H,Sq] or [B,Sq,H]) or null
  int64_t B, H, Sq, Sk;
  // Element strides of the batch, head and sequence dims of q, k, v, out
  // and lse (attention_layout.h; rows are contiguous).
  int64_t qs[3], ks[3], vs[3], os[3], ls[3];
  int64_t group; // H / Hkv
  int64_t Hkv;
  int64_t sk_use; // keys before kv_valid (<= Sk)
  int64_t shift;  // q_offset - kv_offset: key j is causally masked for
                  // query row i when j > i + shift
  int32_t D, Dv;
  int32_t ldq, ldk, ldv; // shared-memory row strides (floats)
  int32_t tiles;         // query tiles per (batch, head)
  float c;               // scale * log2(e)
  int32_t mask_kind;
  int32_t causal;
  int32_t vec_q, vec_k, vec_v, vec_o; // rows are 4-element aligned
};

// Elements d .. d+3 of a row of n elements as f32 (zeros past n). vec: the
// row start is aligned to 4 elements (and n % 4 == 0).
__device__ __forceinline__ F4 load4(const float *row, int d, int n, bool vec) {
  if (vec)
    return ldg(reinterpret_cast<const F4 *>(row + d));
  return f4(d < n ? ldg(row + d) : 0.f, d + 1 < n ? ldg(row + d + 1) : 0.f,
            d + 2 < n ? ldg(row + d + 2) : 0.f,
            d + 3 < n ? ldg(row + d + 3) : 0.f);
}

// F16 / BF16 (half_t / bfloat_t: 16-bit storage, math::to_f32 widens).
template <typename T>
__device__ __forceinline__ F4 load4(const T *row, int d, int n, bool vec) {
  if (vec) {
    const U2 u = ldg(reinterpret_cast<const U2 *>(row + d));
    T e[4];
    memcpy(e, &u, 8);
    return f4(math::to_f32(e[0]), math::to_f32(e[1]), math::to_f32(e[2]),
              math::to_f32(e[3]));
  }
  return f4(d < n ? math::to_f32(row[d]) : 0.f,
            d + 1 < n ? math::to_f32(row[d + 1]) : 0.f,
            d + 2 < n ? math::to_f32(row[d + 2]) : 0.f,
            d + 3 < n ? math::to_f32(row[d + 3]) : 0.f);
}

// Stores x[0 .. 3] at row[d ..] (those below n), rounded once to T.
template <typename T>
__device__ __forceinline__ void store4(T *row, int d, int n, F4 x, bool vec) {
  if (vec) {
    if constexpr (sizeof(T) == 4) {
      *reinterpret_cast<F4 *>(row + d) = x;
    } else {
      const T e[4] = {math::from_f32<T>(x.x), math::from_f32<T>(x.y),
                      math::from_f32<T>(x.z), math::from_f32<T>(x.w)};
      U2 u;
      memcpy(&u, e, 8);
      *reinterpret_cast<U2 *>(row + d) = u;
    }
    return;
  }
  if (d < n)
    row[d] = math::from_f32<T>(x.x);
  if (d + 1 < n)
    row[d + 1] = math::from_f32<T>(x.y);
  if (d + 2 < n)
    row[d + 2] = math::from_f32<T>(x.z);
  if (d + 3 < n)
    row[d + 3] = math::from_f32<T>(x.w);
}

__device__ __forceinline__ float dot4(F4 a, F4 b, float acc) {
  acc = fmaf(a.x, b.x, acc);
  acc = fmaf(a.y, b.y, acc);
  acc = fmaf(a.z, b.z, acc);
  return fmaf(a.w, b.w, acc);
}

__device__ __forceinline__ float comp(F4 a, int i) {
  return i == 0 ? a.x : i == 1 ? a.y : i == 2 ? a.z : a.w;
}

template <typename T, int DMAX>
__global__ void __launch_bounds__(kAttThreads, Tile<DMAX>::kMinBlocks)
    attention_kernel(const Params p) {
  constexpr int BQ = Tile<DMAX>::BQ, BK = Tile<DMAX>::BK;
  constexpr int TR = BQ / 8, TC = BK / 16, TD = DMAX / 64;
  constexpr int LDP = BK + 4;
  static_assert(TR * 8 == BQ && TC * 16 == BK && TD * 64 == DMAX, "tiles");

#ifdef DITC_CU_EMULATE
  static F4 smem4[smem_bytes<DMAX>(DMAX, DMAX) / sizeof(F4)];
#else
  extern __shared__ F4 smem4[];
#endif
  float *const Qs = reinterpret_cast<float *>(smem4); // [BQ][ldq]
  float *const Ks = Qs + BQ * p.ldq;                  // [BK][ldk]
  float *const Vs = Ks + BK * p.ldk;                  // [BK][ldv]
  float *const Ps = Vs + BK * p.ldv;                  // [BQ][LDP]

  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int tx = lane & 15, ty = warp * 2 + (lane >> 4);

  // Block -> (query tile, batch, head); the last query tiles (the costliest
  // when causal) first.
  const int64_t bh_count = p.B * p.H;
  const int64_t bx = blockIdx.x;
  const int tile = p.tiles - 1 - (int)(bx / bh_count);
  const int64_t bh = bx % bh_count;
  const int64_t b = bh / p.H, h = bh % p.H, g = h / p.group;
  const int64_t q0 = (int64_t)tile * BQ;
  const int nq = (int)(p.Sq - q0 < BQ ? p.Sq - q0 : BQ);
  const int D = p.D, Dv = p.Dv;
  const int Dp = (D + 3) & ~3;

  const T *qb =
      static_cast<const T *>(p.q) + b * p.qs[0] + h * p.qs[1] + q0 * p.qs[2];
  const T *kb = static_cast<const T *>(p.k) + b * p.ks[0] + g * p.ks[1];
  const T *vb = static_cast<const T *>(p.v) + b * p.vs[0] + g * p.vs[1];

  // Q tile -> shared, times scale * log2(e); padding rows and columns zero.
  for (int r = warp; r < BQ; r += kAttThreads / 32)
    for (int d = lane * 4; d < Dp; d += 128) {
      F4 x = f4(0.f, 0.f, 0.f, 0.f);
      if (r < nq) {
        x = load4(qb + (int64_t)r * p.qs[2], d, D, p.vec_q);
        x.x *= p.c;
        x.y *= p.c;
        x.z *= p.c;
        x.w *= p.c;
      }
      *reinterpret_cast<F4 *>(Qs + r * p.ldq + d) = x;
    }

  // Keys this tile's rows may attend to: [0, j_end).
  int64_t j_end = p.sk_use;
  if (p.causal) {
    const int64_t last = q0 + nq - 1 + p.shift + 1;
    j_end = last < j_end ? (last > 0 ? last : 0) : j_end;
  }

  float m[TR], l[TR];
  F4 o[TR][TD];
#pragma unroll
  for (int r = 0; r < TR; ++r) {
    m[r] = -INFINITY;
    l[r] = 0.f;
#pragma unroll
    for (int t = 0; t < TD; ++t)
      o[r][t] = f4(0.f, 0.f, 0.f, 0.f);
  }

  const int64_t mask_bh = b * p.ms0 + h * p.ms1;
  const bool has_mask = p.mask_kind != DITC_RT_MASK_NONE;

  for (int64_t j0 = 0; j0 < j_end; j0 += BK) {
    const int nk = (int)(j_end - j0 < BK ? j_end - j0 : BK);
    __syncthreads(); // the previous tile's K / V reads are done

    // K and V tiles -> shared as f32; rows past nk and padding columns zero.
    for (int r = warp; r < BK; r += kAttThreads / 32) {
      const T *kr = kb + (j0 + r) * p.ks[2];
      for (int d = lane * 4; d < Dp; d += 128) {
        F4 x = f4(0.f, 0.f, 0.f, 0.f);
        if (r < nk)
          x = load4(kr, d, D, p.vec_k);
        *reinterpret_cast<F4 *>(Ks + r * p.ldk + d) = x;
      }
      const T *vr = vb + (j0 + r) * p.vs[2];
      for (int d = lane * 4; d < p.ldv; d += 128) {
        F4 x = f4(0.f, 0.f, 0.f, 0.f);
        if (r < nk && d < Dv)
          x = load4(vr, d, Dv, p.vec_v);
        *reinterpret_cast<F4 *>(Vs + r * p.ldv + d) = x;
      }
    }
    // The mask as a bias -> Ps (0 / -inf for bool masks, the additive mask
    // times log2(e)); rows past nq and keys past nk are left at 0.
    if (has_mask) {
      for (int e = tid; e < BQ * BK; e += kAttThreads) {
        const int row = e / BK, col = e % BK;
        float bias = 0.f;
        if (row < nq && col < nk) {
          const int64_t at = mask_bh + (q0 + row) * p.ms2 + (j0 + col) * p.ms3;
          if (p.mask_kind == DITC_RT_MASK_BOOL)
            bias = static_cast<const uint8_t *>(p.mask)[at] ? 0.f : -INFINITY;
          else
            bias =
                ldg(static_cast<const float *>(p.mask) + at) * DITC_ATT_LOG2E;
        }
        Ps[row * LDP + col] = bias;
      }
    }
    __syncthreads();

    // Scores (already in base 2: Q carries scale * log2(e)).
    float s[TR][TC];
#pragma unroll
    for (int r = 0; r < TR; ++r)
#pragma unroll
      for (int c = 0; c < TC; ++c)
        s[r][c] = 0.f;
#pragma unroll 1
    for (int d = 0; d < Dp; d += 4) {
      F4 kk[TC];
#pragma unroll
      for (int c = 0; c < TC; ++c)
        kk[c] = *reinterpret_cast<const F4 *>(Ks + (tx + 16 * c) * p.ldk + d);
#pragma unroll
      for (int r = 0; r < TR; ++r) {
        const F4 qq =
            *reinterpret_cast<const F4 *>(Qs + (ty + 8 * r) * p.ldq + d);
#pragma unroll
        for (int c = 0; c < TC; ++c)
          s[r][c] = dot4(qq, kk[c], s[r][c]);
      }
    }

    // Masks, online softmax, weights -> shared. Key jl of this tile is
    // causally masked for row `row` when jl - row > climit.
    const int64_t cl64 = q0 + p.shift - j0;
    const int climit = (int)(cl64 < -4096 ? -4096 : cl64 > 4096 ? 4096 : cl64);
#pragma unroll
    for (int r = 0; r < TR; ++r) {
      const int row = ty + 8 * r;
      float mx = -INFINITY;
#pragma unroll
      for (int c = 0; c < TC; ++c) {
        const int jl = tx + 16 * c;
        const bool ok = jl < nk && !(p.causal && jl - row > climit);
        float v = s[r][c];
        if (has_mask) // the mask's bias, staged in Ps
          v += Ps[row * LDP + jl];
        v = ok ? v : -INFINITY;
        s[r][c] = v;
        mx = fmaxf(mx, v);
      }
#pragma unroll
      for (int off = 8; off > 0; off >>= 1)
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
      const float alpha = ditc_att_update_max(&m[r], mx);
      float sum = 0.f;
#pragma unroll
      for (int c = 0; c < TC; ++c) {
        const float w = ditc_att_weight(s[r][c], m[r]);
        sum += w;
        Ps[row * LDP + tx + 16 * c] = w;
      }
      l[r] = fmaf(l[r], alpha, sum);
#pragma unroll
      for (int t = 0; t < TD; ++t) {
        o[r][t].x *= alpha;
        o[r][t].y *= alpha;
        o[r][t].z *= alpha;
        o[r][t].w *= alpha;
      }
    }
    DITC_ATT_SYNCWARP();

    // O += P V over the tile's keys (rows past nk have P = 0 and V = 0).
    const int nk4 = (nk + 3) & ~3;
    for (int j = 0; j < nk4; j += 4) {
      F4 pp[TR];
#pragma unroll
      for (int r = 0; r < TR; ++r)
        pp[r] = *reinterpret_cast<const F4 *>(Ps + (ty + 8 * r) * LDP + j);
#pragma unroll
      for (int jj = 0; jj < 4; ++jj) {
        const float *vrow = Vs + (j + jj) * p.ldv + 4 * tx;
#pragma unroll
        for (int t = 0; t < TD; ++t) {
          if (64 * t < p.ldv) { // uniform
            const F4 vv = *reinterpret_cast<const F4 *>(vrow + 64 * t);
#pragma unroll
            for (int r = 0; r < TR; ++r) {
              const float w = comp(pp[r], jj);
              o[r][t].x = fmaf(w, vv.x, o[r][t].x);
              o[r][t].y = fmaf(w, vv.y, o[r][t].y);
              o[r][t].z = fmaf(w, vv.z, o[r][t].z);
              o[r][t].w = fmaf(w, vv.w, o[r][t].w);
            }
          }
        }
      }
    }
  }

  // out = O / l (zeros for a row that attended to nothing), lse.
  T *const ob =
      static_cast<T *>(p.out) + b * p.os[0] + h * p.os[1] + q0 * p.os[2];
#pragma unroll
  for (int r = 0; r < TR; ++r) {
    float lt = l[r];
#pragma unroll
    for (int off = 8; off > 0; off >>= 1)
      lt += __shfl_xor_sync(0xffffffffu, lt, off);
    const int row = ty + 8 * r;
    if (row >= nq)
      continue;
    const float inv = ditc_att_inv_sum(lt);
    T *orow = ob + (int64_t)row * p.os[2];
#pragma unroll
    for (int t = 0; t < TD; ++t) {
      const int d = 4 * tx + 64 * t;
      if (d < Dv) {
        F4 x = o[r][t];
        x.x *= inv;
        x.y *= inv;
        x.z *= inv;
        x.w *= inv;
        store4(orow, d, Dv, x, p.vec_o);
      }
    }
    if (p.lse && tx == 0)
      p.lse[b * p.ls[0] + h * p.ls[1] + (q0 + row) * p.ls[2]] =
          ditc_att_lse(m[r], lt);
  }
}

// attention_merge: one warp per row. Lane 0 reads the row's two
// log-sum-exps and alone writes the new one; the others get the weights from
// it through shuffles (x + 0 = x), so no lane reads lse[r] after it changed.
// The block's result is read as T (a 16-bit block attended to in its type)
// and widened.
constexpr int kMergeRowsPerBlock = 8;

template <typename T>
__global__ void __launch_bounds__(32 * kMergeRowsPerBlock)
    attention_merge_kernel(float *out, float *lse, const T *block_out,
                           const float *block_lse, int64_t rows, int64_t dv) {
  const int lane = threadIdx.x & 31;
  const int64_t r =
      (int64_t)blockIdx.x * kMergeRowsPerBlock + (threadIdx.x >> 5);
  if (r >= rows) // the whole warp
    return;
  float fa = 0.f, fb = 0.f, nl = 0.f;
  if (lane == 0)
    nl = ditc_att_merge(lse[r], block_lse[r], &fa, &fb);
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) {
    fa += __shfl_xor_sync(0xffffffffu, fa, off);
    fb += __shfl_xor_sync(0xffffffffu, fb, off);
    nl += __shfl_xor_sync(0xffffffffu, nl, off);
  }
  float *o = out + r * dv;
  const T *ob = block_out + r * dv;
  if (nl == -INFINITY) { // neither attends to a key
    for (int64_t d = lane; d < dv; d += 32)
      o[d] = 0.f;
  } else {
    for (int64_t d = lane; d < dv; d += 32)
      o[d] = o[d] * fa + math::to_f32(ob[d]) * fb;
  }
  if (lane == 0)
    lse[r] = nl;
}

template <typename T> constexpr const char *type_name() {
  return sizeof(T) == 4                   ? "f32"
         : std::is_same<T, half_t>::value ? "f16"
                                          : "bf16";
}

template <typename T, int DMAX>
void launch_kernel(const char *name, Params &p, cudaStream_t stream) {
  constexpr int BQ = Tile<DMAX>::BQ;
  p.tiles = (int32_t)((p.Sq + BQ - 1) / BQ);
  const int64_t blocks = (int64_t)p.tiles * p.B * p.H;
  if (blocks > INT32_MAX)
    fatal(name, "too many blocks (%lld query tiles x batch x heads)",
          (long long)blocks);
  const size_t bytes = smem_bytes<DMAX>(p.D, p.Dv);
  auto kernel = attention_kernel<T, DMAX>;
#ifndef DITC_CU_EMULATE
  if (bytes > 48 * 1024) {
    // Opt in to the bucket's largest tile, once per device (not a stream
    // operation: fine while a graph is captured).
    static std::atomic<uint64_t> done{0};
    int dev = 0;
    if (cudaGetDevice(&dev) != cudaSuccess)
      fatal(name, "cudaGetDevice failed");
    const uint64_t bit = dev < 64 ? uint64_t(1) << dev : 0;
    if (!bit || !(done.load(std::memory_order_relaxed) & bit)) {
      const cudaError_t e = cudaFuncSetAttribute(
          kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
          (int)smem_bytes<DMAX>(DMAX, DMAX));
      if (e != cudaSuccess)
        fatal(name, "%zu bytes of shared memory: %s",
              smem_bytes<DMAX>(DMAX, DMAX), cudaGetErrorString(e));
      done.fetch_or(bit, std::memory_order_relaxed);
    }
  }
#endif
#ifdef DITC_CU_EMULATE
  (void)stream; // launches are synchronous there
  (void)bytes;  // smem4 is a static array of the bucket's largest size
  ditc_emu::launch(dim3((unsigned)blocks), dim3(kAttThreads),
                   [=] { kernel(p); });
#else
  kernel<<<(unsigned)blocks, kAttThreads, bytes, stream>>>(p);
#endif
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess)
    fatal(name, "attention_kernel<%s, %d> launch failed: %s (%s)",
          type_name<T>(), DMAX, cudaGetErrorString(e), cudaGetErrorName(e));
}

template <typename T>
void launch_dtype(const char *name, Params &p, cudaStream_t stream) {
  const int32_t dmax = p.D > p.Dv ? p.D : p.Dv;
  if (dmax <= 64)
    launch_kernel<T, 64>(name, p, stream);
  else if (dmax <= 128)
    launch_kernel<T, 128>(name, p, stream);
  else
    launch_kernel<T, 256>(name, p, stream);
}

bool aligned(const void *ptr, size_t bytes) {
  return reinterpret_cast<uintptr_t>(ptr) % bytes == 0;
}

// attention, attention_block(_f32) and attention_layout (offsets 0,
// kv_valid <= 0 and no lse for the first, layout 0 for all but the last).
void attention_impl(const char *name, int32_t dtype, const void *q,
                    const void *k, const void *v, const void *mask,
                    int32_t mask_kind, const int64_t *mask_strides, void *out,
                    float *lse, int64_t batch, int64_t heads, int64_t kv_heads,
                    int64_t q_len, int64_t kv_len, int64_t head_dim,
                    int64_t v_head_dim, float scale, int32_t causal,
                    int64_t q_offset, int64_t kv_offset, int64_t kv_valid,
                    int32_t layout) {
  if (dtype != DITC_RT_F32 && dtype != DITC_RT_F16 && dtype != DITC_RT_BF16)
    fatal(name, "dtype %d is not F32, F16 or BF16", (int)dtype);
  if (batch < 0 || heads < 0 || q_len < 0 || kv_len < 0 || head_dim < 0 ||
      v_head_dim < 0)
    fatal(name, "negative size");
  if (kv_heads <= 0 || heads % kv_heads != 0)
    fatal(name, "heads (%lld) must be a multiple of kv_heads (%lld)",
          (long long)heads, (long long)kv_heads);
  if (head_dim > 256 || v_head_dim > 256)
    fatal(name, "head_dim %lld / v_head_dim %lld: at most 256",
          (long long)head_dim, (long long)v_head_dim);
  if (q_len > INT32_MAX)
    fatal(name, "q_len %lld is too long", (long long)q_len);
  if (q_offset < 0 || kv_offset < 0)
    fatal(name, "negative offset");
  ditc_rt::AttentionStrides strides;
  if (!ditc_rt::attentionStrides(layout, heads, kv_heads, q_len, kv_len,
                                 head_dim, v_head_dim, strides))
    fatal(name, "unknown layout bits 0x%x", (unsigned)layout);
  if (mask_kind != DITC_RT_MASK_NONE && mask_kind != DITC_RT_MASK_BOOL &&
      mask_kind != DITC_RT_MASK_ADDITIVE)
    fatal(name, "unknown mask kind %d", (int)mask_kind);
  if (mask_kind != DITC_RT_MASK_NONE && (!mask || !mask_strides))
    fatal(name, "mask kind %d without a mask or its strides", (int)mask_kind);
  // Nothing to write (with v_head_dim 0, only a wanted lse is computed).
  if (batch * heads * q_len == 0 || (v_head_dim == 0 && !lse))
    return;

  cudaStream_t st = stream();
#ifndef DITC_CU_EMULATE
  {
    sdpa::Call c;
    c.dtype = dtype;
    c.q = q;
    c.k = k;
    c.v = v;
    c.out = out;
    c.lse = lse;
    c.B = batch;
    c.H = heads;
    c.Hkv = kv_heads;
    c.Sq = q_len;
    c.Skv = kv_len;
    c.D = head_dim;
    c.Dv = v_head_dim;
    const ditc_rt::HeadStrides *hs[5] = {&strides.q, &strides.k, &strides.v,
                                         &strides.out, &strides.lse};
    int64_t *cs[5] = {c.q_stride, c.k_stride, c.v_stride, c.o_stride,
                      c.lse_stride};
    for (int t = 0; t < 5; ++t) {
      cs[t][0] = hs[t]->batch;
      cs[t][1] = hs[t]->head;
      cs[t][2] = hs[t]->seq;
    }
    c.scale = scale;
    c.causal = causal != 0;
    c.mask_kind = mask_kind;
    c.q_offset = q_offset;
    c.kv_offset = kv_offset;
    c.kv_valid = kv_valid;
    if (sdpa::run(c, st, nullptr))
      return;
  }
#endif

  Params p;
  p.q = q;
  p.k = k;
  p.v = v;
  p.mask_kind = mask_kind;
  p.ms0 = p.ms1 = p.ms2 = p.ms3 = 0;
  p.mask = nullptr;
  if (mask_kind != DITC_RT_MASK_NONE) {
    p.ms0 = mask_strides[0];
    p.ms1 = mask_strides[1];
    p.ms2 = mask_strides[2];
    p.ms3 = mask_strides[3];
    p.mask = mask_kind == DITC_RT_MASK_BOOL
                 ? (const void *)(static_cast<const uint8_t *>(mask) +
                                  kv_offset * p.ms3)
                 : (const void *)(static_cast<const float *>(mask) +
                                  kv_offset * p.ms3);
  }
  p.out = out;
  p.lse = lse;
  p.B = batch;
  p.H = heads;
  p.Hkv = kv_heads;
  p.group = heads / kv_heads;
  p.Sq = q_len;
  p.Sk = kv_len;
  const ditc_rt::HeadStrides *from[5] = {&strides.q, &strides.k, &strides.v,
                                         &strides.out, &strides.lse};
  int64_t *to[5] = {p.qs, p.ks, p.vs, p.os, p.ls};
  for (int t = 0; t < 5; ++t) {
    to[t][0] = from[t]->batch;
    to[t][1] = from[t]->head;
    to[t][2] = from[t]->seq;
  }
  p.sk_use = kv_len;
  if (kv_valid > 0)
    p.sk_use = kv_valid - kv_offset < 0        ? 0
               : kv_valid - kv_offset < kv_len ? kv_valid - kv_offset
                                               : kv_len;
  p.shift = q_offset - kv_offset;
  p.D = (int32_t)head_dim;
  p.Dv = (int32_t)v_head_dim;
  p.ldq = p.ldk = ld_qk(head_dim);
  p.ldv = ld_v(v_head_dim);
  p.c = scale * DITC_ATT_LOG2E;
  p.causal = causal != 0;
  const size_t es = dtype == DITC_RT_F32 ? 4 : 2;
  p.vec_q = head_dim % 4 == 0 && aligned(q, 4 * es);
  p.vec_k = head_dim % 4 == 0 && aligned(k, 4 * es);
  p.vec_v = v_head_dim % 4 == 0 && aligned(v, 4 * es);
  p.vec_o = v_head_dim % 4 == 0 && aligned(out, 4 * es);
  p.tiles = 0;

  if (dtype == DITC_RT_F32)
    launch_dtype<float>(name, p, st);
  else if (dtype == DITC_RT_F16)
    launch_dtype<half_t>(name, p, st);
  else
    launch_dtype<bfloat_t>(name, p, st);
}

} // namespace
} // namespace attention
} // namespace ditc_cu

using ditc_cu::attention::attention_impl;

extern "C" void
ditc_cu_attention(int32_t dtype, const void *q, const void *k, const void *v,
                  const void *mask, int32_t mask_kind,
                  const int64_t *mask_strides, void *out, int64_t batch,
                  int64_t heads, int64_t kv_heads, int64_t q_len,
                  int64_t kv_len, int64_t head_dim, int64_t v_head_dim,
                  float scale, int32_t causal) {
  attention_impl("attention", dtype, q, k, v, mask, mask_kind, mask_strides,
                 out, nullptr, batch, heads, kv_heads, q_len, kv_len, head_dim,
                 v_head_dim, scale, causal, 0, 0, 0, 0);
}

extern "C" void ditc_cu_attention_block(
    int32_t dtype, const void *q, const void *k, const void *v,
    const void *mask, int32_t mask_kind, const int64_t *mask_strides,
    void *out, float *lse, int64_t batch, int64_t heads, int64_t kv_heads,
    int64_t q_len, int64_t kv_len, int64_t head_dim, int64_t v_head_dim,
    float scale, int32_t causal, int64_t q_offset, int64_t kv_offset,
    int64_t kv_valid) {
  attention_impl("attention_block", dtype, q, k, v, mask, mask_kind,
                 mask_strides, out, lse, batch, heads, kv_heads, q_len, kv_len,
                 head_dim, v_head_dim, scale, causal, q_offset, kv_offset,
                 kv_valid, 0);
}

extern "C" void ditc_cu_attention_block_f32(
    const float *q, const float *k, const float *v, const void *mask,
    int32_t mask_kind, const int64_t *mask_strides, float *out, float *lse,
    int64_t batch, int64_t heads, int64_t kv_heads, int64_t q_len,
    int64_t kv_len, int64_t head_dim, int64_t v_head_dim, float scale,
    int32_t causal, int64_t q_offset, int64_t kv_offset, int64_t kv_valid) {
  attention_impl("attention_block_f32", DITC_RT_F32, q, k, v, mask, mask_kind,
                 mask_strides, out, lse, batch, heads, kv_heads, q_len, kv_len,
                 head_dim, v_head_dim, scale, causal, q_offset, kv_offset,
                 kv_valid, 0);
}

extern "C" void ditc_cu_attention_layout(
    int32_t dtype, const void *q, const void *k, const void *v,
    const void *mask, int32_t mask_kind, const int64_t *mask_strides,
    void *out, float *lse, int64_t batch, int64_t heads, int64_t kv_heads,
    int64_t q_len, int64_t kv_len, int64_t head_dim, int64_t v_head_dim,
    float scale, int32_t causal, int64_t q_offset, int64_t kv_offset,
    int64_t kv_valid, int32_t layout) {
  attention_impl("attention_layout", dtype, q, k, v, mask, mask_kind,
                 mask_strides, out, lse, batch, heads, kv_heads, q_len, kv_len,
                 head_dim, v_head_dim, scale, causal, q_offset, kv_offset,
                 kv_valid, layout);
}

extern "C" void ditc_cu_attention_merge(int32_t block_dtype, float *out,
                                        float *lse, const void *block_out,
                                        const float *block_lse, int64_t rows,
                                        int64_t v_head_dim) {
  using namespace ditc_cu::attention;
  if (rows < 0 || v_head_dim < 0)
    ditc_cu::fatal("attention_merge", "negative size");
  if (rows == 0)
    return;
  const int64_t blocks = (rows + kMergeRowsPerBlock - 1) / kMergeRowsPerBlock;
  if (blocks > INT32_MAX)
    ditc_cu::fatal("attention_merge", "too many rows (%lld)", (long long)rows);
  ditc_cu::dispatch_float("attention_merge", block_dtype, [&](auto t) {
    using T = decltype(t);
    ditc_cu::launch(attention_merge_kernel<T>, dim3((unsigned)blocks),
                    dim3(32 * kMergeRowsPerBlock), out, lse,
                    static_cast<const T *>(block_out), block_lse, rows,
                    v_head_dim);
  });
  ditc_cu::check_launch("attention_merge");
}

extern "C" void ditc_cu_attention_merge_f32(float *out, float *lse,
                                            const float *block_out,
                                            const float *block_lse,
                                            int64_t rows, int64_t v_head_dim) {
  ditc_cu_attention_merge(DITC_RT_F32, out, lse, block_out, block_lse, rows,
                          v_head_dim);
}
