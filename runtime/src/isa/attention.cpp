//===- attention.cpp - Flash-style scaled dot-product attention ----------===//
//
// One task is (batch b, kv head g, tile of up to BQ "rows"), where the rows
// of a kv head are the (query head in g's group, query position) pairs: the
// query heads that share a kv head (grouped-query attention) share its K and V
// tiles. Rows are vector lanes throughout:
//
//   Qt [D x nq]    the tile's queries, transposed, times scale*log2(e)
//   Ot [Dv x nq]   the output accumulator, transposed
//   for each key block of BK keys, for each chunk of CW lanes:
//     St [nk x CW]  = K_blk . Qt[:, chunk]            scores
//     masks (causal / bool / additive); online softmax in base 2: m = running
//     max, l = running sum, Ot[:, chunk] *= 2^(m_old - m_new); St = 2^(S - m)
//     Ot[:, chunk] += V_blk^T . St                     (V read in place)
//   out = Ot^T / l
//
// Both products are the same register-blocked micro-kernel: C[MR x NV*W] +=
// A . B with A broadcast from rows of K (or V) and B a row of St (or Qt), so
// every inner step is W-wide FMAs and the loads stream. Memory is
// O(BQ*(D + Dv) + BK*CW) per thread, never O(Sq*Sk). Tasks are spread over
// threads with a dynamic schedule (causal tiles differ in cost).
//
// attention_block_f32 is the same loop over one block of a longer key
// sequence (ring attention): query and key positions are shifted by global
// offsets for the causal mask, keys past kv_valid are cut off, the mask is
// read at global key columns, and each row's log-sum-exp (m + log2 l, in
// natural units) is written for attention_merge_f32.
//
// attention_layout_f32 reads and writes each tensor at its strides
// (attention_layout.h): [B, H, S, D] or [B, S, H, D]; rows are contiguous
// in both. Q rows are packed and output rows stored where they lie;
// seq-major K and V rows (H*D apart) are copied into contiguous rows first,
// a whole kv head per task (by_head) or each key block of a tile. The lse
// follows out's rows ([B, Sq, H] when out is seq-major), which is the order
// attention_merge_f32 pairs them in.
//
//===----------------------------------------------------------------------===//
#include "isa.h"

#include "../attention_layout.h"

#include <algorithm>
#include <stdlib.h>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

constexpr int64_t BQ = 64; // query rows per tile (a multiple of every W)
// Rows per tile when seq-major K / V blocks are packed (each task packs
// every block it reads once): 4x the rows share each packed block.
constexpr int64_t BQ_PACKED = 256;
constexpr int64_t BK = 96; // keys per block
constexpr float kLog2e = 1.44269504088896341f;
constexpr float kLn2 = 0.693147180559945309f;

#if DITC_RT_VEC_BYTES >= 64
constexpr int MR = 6, NV = 4; // 24 accumulators of 32 registers
#else
constexpr int MR = 6, NV = 2; // 12 accumulators of 16 registers
#endif
constexpr int64_t CW = NV * W; // lanes per chunk

// C[MR x NV*W] (+)= A[MR x K] . B[K x NV*W]; A(r,k) = A[r*ars + k*acs].
template <int R, int V>
void ukernel(int64_t K, const float *__restrict A, int64_t ars, int64_t acs,
             const float *__restrict B, int64_t ldb, float *__restrict C,
             int64_t ldc, bool accumulate) {
  vf c[R][V];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      c[r][v] = accumulate ? loadu(C + r * ldc + v * W) : vf{};
  for (int64_t k = 0; k < K; ++k) {
    vf b[V];
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      b[v] = loadu(B + k * ldb + v * W);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      vf a = splat(A[r * ars + k * acs]);
#pragma GCC unroll 8
      for (int v = 0; v < V; ++v)
        c[r][v] += a * b[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < V; ++v)
      storeu(C + r * ldc + v * W, c[r][v]);
}

using UKernel = void (*)(int64_t, const float *, int64_t, int64_t,
                         const float *, int64_t, float *, int64_t, bool);

// Micro-kernels for every (rows <= MR, vectors <= NV) edge shape.
struct UKernels {
  UKernel k[MR][NV];
  template <int R, int V> static constexpr void fill(UKernels &t) {
    t.k[R - 1][V - 1] = &ukernel<R, V>;
    if constexpr (V > 1)
      fill<R, V - 1>(t);
    else if constexpr (R > 1)
      fill<R - 1, NV>(t);
  }
  constexpr UKernels() : k{} { fill<MR, NV>(*this); }
};
constexpr UKernels kUKernels;

// C[M x nv*W] (+)= A[M x K] . B[K x nv*W] for nv <= NV vectors.
void gemm(int64_t M, int64_t nv, int64_t K, const float *A, int64_t ars,
          int64_t acs, const float *B, int64_t ldb, float *C, int64_t ldc,
          bool accumulate) {
  int64_t r0 = 0;
  if (nv == NV) // full tiles: a direct (inlined) call
    for (; r0 + MR <= M; r0 += MR)
      ukernel<MR, NV>(K, A + r0 * ars, ars, acs, B, ldb, C + r0 * ldc, ldc,
                      accumulate);
  for (; r0 < M; r0 += MR) {
    int64_t mr = M - r0 < MR ? M - r0 : MR;
    kUKernels.k[mr - 1][nv - 1](K, A + r0 * ars, ars, acs, B, ldb,
                                C + r0 * ldc, ldc, accumulate);
  }
}

int64_t round_up(int64_t x, int64_t m) { return (x + m - 1) / m * m; }

// `rows` rows of `width` floats, `stride` apart from `src`, copied into
// contiguous rows at `dst`; returns dst.
float *pack_rows(float *dst, const float *src, int64_t rows, int64_t stride,
                 int64_t width) {
  for (int64_t j = 0; j < rows; ++j)
    memcpy(dst + j * width, src + j * stride, sizeof(float) * width);
  return dst;
}

struct Layout {
  int64_t nq; // lanes per tile (multiple of W, <= BQ or BQ_PACKED)
  // float offsets into the scratch block
  int64_t qt, st, ot, m, l, alpha;
  int64_t kp, vp; // packed K / V blocks (seq-major K / V), or -1
  int64_t floats;
  int64_t bytes; // + the int32 lane info
};

Layout layout(int64_t heads, int64_t kv_heads, int64_t q_len, int64_t d,
              int64_t dv, bool pack_k = false, bool pack_v = false) {
  Layout L;
  int64_t group = kv_heads > 0 ? heads / kv_heads : 1;
  int64_t rows = group * q_len;
  const int64_t bq = pack_k || pack_v ? BQ_PACKED : BQ;
  L.nq = rows < bq ? round_up(rows < 1 ? 1 : rows, W) : bq;
  int64_t off = 0;
  auto take = [&](int64_t n) {
    int64_t at = off;
    off += round_up(n, 16); // 64-byte aligned pieces
    return at;
  };
  L.qt = take(d * L.nq);
  L.st = take(BK * CW);
  L.ot = take(dv * L.nq);
  L.m = take(L.nq);
  L.l = take(L.nq);
  L.alpha = take(L.nq);
  L.kp = pack_k ? take(BK * d) : -1;
  L.vp = pack_v ? take(BK * dv) : -1;
  L.floats = off;
  L.bytes = off * 4 + 2 * L.nq * 4; // qi + head per lane
  return L;
}

struct Problem {
  const float *q, *k, *v;
  const void *mask; // at the block's first key column
  int32_t mask_kind;
  int64_t ms[4];
  float *out;
  float *lse; // in out's row order ([B,H,Sq] or [B,Sq,H]; st.lse) or null
  AttentionStrides st;
  int64_t B, H, Hkv, G, Sq, Sk, D, Dv;
  int64_t Sk_use; // keys before kv_valid (<= Sk)
  int64_t shift;  // q_offset - kv_offset: key j is causally masked for
                  // row i when j > i + shift (block-local indices)
  float c;        // scale * log2(e)
  bool causal;
};

// x clamped to the int32 range.
int32_t clamp_i32(int64_t x) {
  return x > INT32_MAX ? INT32_MAX : x < INT32_MIN ? INT32_MIN : (int32_t)x;
}

void run_tile(const Problem &P, const Layout &L, float *scratch, int64_t b,
              int64_t kvh, int64_t r0) {
  const int64_t nq = L.nq, D = P.D, Dv = P.Dv;
  float *Qt = scratch + L.qt, *St = scratch + L.st, *Ot = scratch + L.ot;
  float *M = scratch + L.m, *Ls = scratch + L.l, *alpha = scratch + L.alpha;
  int32_t *qi = reinterpret_cast<int32_t *>(scratch + L.floats);
  int32_t *hh = qi + nq;

  const int64_t rows = P.G * P.Sq;
  const int64_t nr = rows - r0 < nq ? rows - r0 : nq; // valid lanes
  int64_t imax = -1;
  for (int64_t l = 0; l < nq; ++l) {
    if (l < nr) {
      int64_t r = r0 + l, g = r / P.Sq, i = r % P.Sq;
      int64_t h = kvh * P.G + g;
      qi[l] = (int32_t)i;
      hh[l] = (int32_t)h;
      imax = i > imax ? i : imax;
      const float *qrow = P.q + P.st.q.at(b, h, i);
      for (int64_t d = 0; d < D; ++d)
        Qt[d * nq + l] = qrow[d] * P.c;
    } else {
      qi[l] = INT32_MAX; // padding lanes: never causally masked
      hh[l] = 0;
      for (int64_t d = 0; d < D; ++d)
        Qt[d * nq + l] = 0.f;
    }
    M[l] = -kInf;
    Ls[l] = 0.f;
  }
  memset(Ot, 0, sizeof(float) * Dv * nq);

  const int64_t nvq = nq / W;
  int64_t j_end = P.Sk_use;
  if (P.causal && imax + P.shift + 1 < j_end)
    j_end = imax + P.shift + 1 > 0 ? imax + P.shift + 1 : 0;
  const float *kb = P.k + P.st.k.at(b, kvh, 0);
  const float *vb = P.v + P.st.v.at(b, kvh, 0);
  // Seq-major K / V rows lie H*D apart: each block is packed into
  // contiguous rows first, so the products read it as they read a
  // [B, H, S, D] one (strided rows cost up to 1.6x at 4096 keys).
  const int64_t ks = L.kp >= 0 ? D : P.st.k.seq, vs = L.vp >= 0 ? Dv : P.st.v.seq;

  for (int64_t j0 = 0; j0 < j_end; j0 += BK) {
    const int64_t nk = j_end - j0 < BK ? j_end - j0 : BK;
    const float *kblk =
        L.kp >= 0 ? pack_rows(scratch + L.kp, kb + j0 * P.st.k.seq, nk, P.st.k.seq, D)
                  : kb + j0 * ks;
    const float *vblk =
        L.vp >= 0 ? pack_rows(scratch + L.vp, vb + j0 * P.st.v.seq, nk, P.st.v.seq, Dv)
                  : vb + j0 * vs;
    for (int64_t c0 = 0; c0 < nvq; c0 += NV) { // lane chunks
      const int64_t nv = nvq - c0 < NV ? nvq - c0 : NV;
      const int64_t l0 = c0 * W, nl = nv * W;

      // St[nk x nl] = K[j0:j0+nk, :] . Qt[:, l0:l0+nl]
      gemm(nk, nv, D, kblk, ks, 1, Qt + l0, nq, St, CW,
           /*accumulate=*/false);

      // Masks.
      if (P.mask_kind != DITC_RT_MASK_NONE) {
        const int64_t s3 = P.ms[3];
        const int64_t l_end = nr - l0 < nl ? nr - l0 : nl;
        for (int64_t l = 0; l < l_end; ++l) {
          int64_t base = b * P.ms[0] + hh[l0 + l] * P.ms[1] +
                         qi[l0 + l] * P.ms[2] + j0 * s3;
          float *col = St + l;
          if (P.mask_kind == DITC_RT_MASK_BOOL) {
            const uint8_t *mk = static_cast<const uint8_t *>(P.mask) + base;
            for (int64_t jj = 0; jj < nk; ++jj)
              if (!mk[jj * s3])
                col[jj * CW] = -kInf;
          } else {
            const float *mk = static_cast<const float *>(P.mask) + base;
            for (int64_t jj = 0; jj < nk; ++jj)
              col[jj * CW] += mk[jj * s3] * kLog2e;
          }
        }
      }
      if (P.causal) {
        int32_t cmin = INT32_MAX;
        for (int64_t l = 0; l < nl; ++l)
          cmin = qi[l0 + l] < cmin ? qi[l0 + l] : cmin;
        // Key j0 + jj against row qi: masked when j0 + jj - shift > qi
        // (padding lanes, qi = INT32_MAX, never are).
        if (j0 + nk - 1 - P.shift > cmin) {
          for (int64_t jj = 0; jj < nk; ++jj) {
            vi jv = vi{} + clamp_i32(j0 + jj - P.shift);
            float *row = St + jj * CW;
            for (int64_t v = 0; v < nv; ++v) {
              vi qv = loadu_i(qi + l0 + v * W);
              storeu(row + v * W,
                     jv > qv ? splat(-kInf) : loadu(row + v * W));
            }
          }
        }
      }

      // Online softmax, W lanes at a time.
      for (int64_t v = 0; v < nv; ++v) {
        float *mp = M + l0 + v * W;
        vf m_old = loadu(mp), mx = m_old;
        for (int64_t jj = 0; jj < nk; ++jj)
          mx = vmax(mx, loadu(St + jj * CW + v * W));
        vf m_use = mx == -kInf ? splat(0.f) : mx; // all masked so far
        vf sum = vf{};
        for (int64_t jj = 0; jj < nk; ++jj) {
          float *p = St + jj * CW + v * W;
          vf e = exp2_v(loadu(p) - m_use);
          storeu(p, e);
          sum += e;
        }
        vf a = exp2_v(m_old - m_use);
        storeu(alpha + l0 + v * W, a);
        float *lp = Ls + l0 + v * W;
        storeu(lp, loadu(lp) * a + sum);
        storeu(mp, mx);
      }
      if (j0 > 0) {
        for (int64_t d = 0; d < Dv; ++d)
          for (int64_t v = 0; v < nv; ++v) {
            float *o = Ot + d * nq + l0 + v * W;
            storeu(o, loadu(o) * loadu(alpha + l0 + v * W));
          }
      }

      // Ot[:, l0:l0+nl] += V[j0:j0+nk, :]^T . St; A(d, j) = V[j*vs + d].
      gemm(Dv, nv, nk, vblk, 1, vs, St, CW, Ot + l0, nq,
           /*accumulate=*/true);
    }
  }

  // out = Ot^T / l; rows with every key masked (l == 0) are zeros.
  for (int64_t l = 0; l < nr; ++l) {
    int64_t h = hh[l], i = qi[l];
    float *orow = P.out + P.st.out.at(b, h, i);
    float inv = Ls[l] > 0.f ? 1.f / Ls[l] : 0.f;
    for (int64_t d = 0; d < Dv; ++d)
      orow[d] = Ot[d * nq + l] * inv;
    if (P.lse)
      P.lse[P.st.lse.at(b, h, i)] =
          Ls[l] > 0.f ? (M[l] + __builtin_log2f(Ls[l])) * kLn2 : -kInf;
  }
}

} // namespace

int64_t attention_scratch_bytes(int64_t heads, int64_t kv_heads,
                                int64_t q_len, int64_t kv_len,
                                int64_t head_dim, int64_t v_head_dim) {
  (void)kv_len; // the point: it does not matter
  return layout(heads, kv_heads, q_len, head_dim, v_head_dim).bytes;
}

namespace {

// Threads for `tasks` tasks of P, only for enough work (2 MFLOP each):
// joining OpenMP workers costs more than a small attention.
int threads(const Problem &P, int64_t tasks) {
  const int64_t flops = 2 * P.B * P.H * P.Sq * P.Sk_use * (P.D + P.Dv);
  return std::min(threads_for(tasks, 1), threads_for(flops, int64_t(1) << 21));
}

// Seq-major K / V with enough (batch, kv head) pairs for the threads: a
// task is a whole kv head, whose K / V rows the task first copies into
// contiguous scratch (once, as a transpose would), then runs every query
// tile of the head over it as over a [B, H, S, D] tensor. False (nothing
// done) when there are too few heads: then each tile packs the key blocks
// it reads (BQ_PACKED rows share them).
bool by_head(const Problem &P, bool pack_k, bool pack_v, const char *name) {
  const int64_t pairs = P.B * P.Hkv;
  const Layout L = layout(P.H, P.Hkv, P.Sq, P.D, P.Dv);
  const int64_t tiles = (P.G * P.Sq + L.nq - 1) / L.nq;
  const int nt = threads(P, pairs * tiles);
  if (pairs < 2 * nt && nt > 1)
    return false;
  const int64_t kf = pack_k ? round_up(P.Sk_use * P.D, 16) : 0;
  const int64_t vf = pack_v ? round_up(P.Sk_use * P.Dv, 16) : 0;
  const int64_t bytes = round_up(L.bytes, 64) + (kf + vf) * 4;
#pragma omp parallel num_threads(nt)
  {
    float *scratch = static_cast<float *>(aligned_alloc(64, (size_t)bytes));
    if (!scratch)
      fatal(name, "out of memory (%lld bytes of scratch)", (long long)bytes);
    float *hk = scratch + round_up(L.bytes, 64) / 4, *hv = hk + kf;
#pragma omp for schedule(dynamic, 1)
    for (int64_t bk = 0; bk < pairs; ++bk) {
      const int64_t b = bk / P.Hkv, g = bk % P.Hkv;
      Problem head = P; // this kv head's K / V, contiguous
      if (pack_k) {
        head.k = pack_rows(hk, P.k + P.st.k.at(b, g, 0), P.Sk_use, P.st.k.seq, P.D);
        head.st.k = {0, 0, P.D};
      }
      if (pack_v) {
        head.v = pack_rows(hv, P.v + P.st.v.at(b, g, 0), P.Sk_use, P.st.v.seq, P.Dv);
        head.st.v = {0, 0, P.Dv};
      }
      for (int64_t t = tiles - 1; t >= 0; --t) // costliest first
        run_tile(head, L, scratch, b, g, t * L.nq);
    }
    free(scratch);
  }
  return true;
}

// attention_f32, attention_block_f32 and attention_layout_f32 (offsets 0,
// kv_valid <= 0 and no lse for the first, layout 0 for the first two).
void attention_impl(const char *name, const float *q, const float *k,
                    const float *v, const void *mask, int32_t mask_kind,
                    const int64_t *mask_strides, float *out, float *lse,
                    int64_t batch, int64_t heads, int64_t kv_heads,
                    int64_t q_len, int64_t kv_len, int64_t head_dim,
                    int64_t v_head_dim, float scale, int32_t causal,
                    int64_t q_offset, int64_t kv_offset, int64_t kv_valid,
                    int32_t seq_major) {
  if (batch < 0 || heads < 0 || q_len < 0 || kv_len < 0 || head_dim < 0 ||
      v_head_dim < 0)
    fatal(name, "negative size");
  if (kv_heads <= 0 || heads % kv_heads != 0)
    fatal(name, "heads (%lld) must be a multiple of kv_heads (%lld)",
          (long long)heads, (long long)kv_heads);
  if (q_len > INT32_MAX)
    fatal(name, "q_len %lld is too long", (long long)q_len);
  if (q_offset < 0 || kv_offset < 0)
    fatal(name, "negative offset");
  AttentionStrides st;
  if (!attentionStrides(seq_major, heads, kv_heads, q_len, kv_len, head_dim,
                        v_head_dim, st))
    fatal(name, "unknown layout bits 0x%x", (unsigned)seq_major);
  if (mask_kind != DITC_RT_MASK_NONE && mask_kind != DITC_RT_MASK_BOOL &&
      mask_kind != DITC_RT_MASK_ADDITIVE)
    fatal(name, "unknown mask kind %d", (int)mask_kind);
  if (mask_kind != DITC_RT_MASK_NONE && (!mask || !mask_strides))
    fatal(name, "mask kind %d without a mask or its strides", (int)mask_kind);
  // Nothing to write (with v_head_dim 0, only a wanted lse is computed).
  if (batch * heads * q_len == 0 || (v_head_dim == 0 && !lse))
    return;
  int64_t sk_use = kv_len;
  if (kv_valid > 0)
    sk_use = kv_valid - kv_offset < 0        ? 0
             : kv_valid - kv_offset < kv_len ? kv_valid - kv_offset
                                             : kv_len;
  if (sk_use == 0) {
    // Dense either way: the whole of out is zeros.
    memset(out, 0, sizeof(float) * batch * heads * q_len * v_head_dim);
    if (lse)
      for (int64_t i = 0; i < batch * heads * q_len; ++i)
        lse[i] = -kInf;
    return;
  }

  Problem P;
  P.q = q;
  P.k = k;
  P.v = v;
  P.mask_kind = mask_kind;
  for (int i = 0; i < 4; ++i)
    P.ms[i] = mask_kind != DITC_RT_MASK_NONE ? mask_strides[i] : 0;
  P.mask = mask_kind == DITC_RT_MASK_BOOL
               ? (const void *)(static_cast<const uint8_t *>(mask) +
                                kv_offset * P.ms[3])
           : mask_kind == DITC_RT_MASK_ADDITIVE
               ? (const void *)(static_cast<const float *>(mask) +
                                kv_offset * P.ms[3])
               : nullptr;
  P.out = out;
  P.lse = lse;
  P.st = st;
  P.B = batch;
  P.H = heads;
  P.Hkv = kv_heads;
  P.G = heads / kv_heads;
  P.Sq = q_len;
  P.Sk = kv_len;
  P.Sk_use = sk_use;
  P.shift = q_offset - kv_offset;
  P.D = head_dim;
  P.Dv = v_head_dim;
  P.c = scale * kLog2e;
  P.causal = causal != 0;

  const bool pack_k = st.k.seq != head_dim, pack_v = st.v.seq != v_head_dim;
  if ((pack_k || pack_v) && by_head(P, pack_k, pack_v, name))
    return;
  const Layout L =
      layout(heads, kv_heads, q_len, head_dim, v_head_dim, pack_k, pack_v);
  const int64_t rows = P.G * q_len;
  const int64_t tiles = (rows + L.nq - 1) / L.nq;
  const int64_t tasks = batch * kv_heads * tiles;
  const int nt = threads(P, tasks);

#pragma omp parallel num_threads(nt)
  {
    float *scratch = static_cast<float *>(
        aligned_alloc(64, (size_t)round_up(L.bytes, 64)));
    if (!scratch)
      fatal(name, "out of memory (%lld bytes of scratch)",
            (long long)L.bytes);
#pragma omp for schedule(dynamic, 1)
    for (int64_t t = 0; t < tasks; ++t) {
      // The costliest (last, when causal) tiles first.
      int64_t tile = tiles - 1 - t % tiles;
      int64_t bk = t / tiles;
      run_tile(P, L, scratch, bk / kv_heads, bk % kv_heads, tile * L.nq);
    }
    free(scratch);
  }
}

} // namespace

void attention_f32(const float *q, const float *k, const float *v,
                   const void *mask, int32_t mask_kind,
                   const int64_t *mask_strides, float *out, int64_t batch,
                   int64_t heads, int64_t kv_heads, int64_t q_len,
                   int64_t kv_len, int64_t head_dim, int64_t v_head_dim,
                   float scale, int32_t causal) {
  attention_impl("attention_f32", q, k, v, mask, mask_kind, mask_strides, out,
                 nullptr, batch, heads, kv_heads, q_len, kv_len, head_dim,
                 v_head_dim, scale, causal, 0, 0, 0, 0);
}

void attention_block_f32(const float *q, const float *k, const float *v,
                         const void *mask, int32_t mask_kind,
                         const int64_t *mask_strides, float *out, float *lse,
                         int64_t batch, int64_t heads, int64_t kv_heads,
                         int64_t q_len, int64_t kv_len, int64_t head_dim,
                         int64_t v_head_dim, float scale, int32_t causal,
                         int64_t q_offset, int64_t kv_offset,
                         int64_t kv_valid) {
  attention_impl("attention_block_f32", q, k, v, mask, mask_kind,
                 mask_strides, out, lse, batch, heads, kv_heads, q_len, kv_len,
                 head_dim, v_head_dim, scale, causal, q_offset, kv_offset,
                 kv_valid, 0);
}

void attention_layout_f32(const float *q, const float *k, const float *v,
                          const void *mask, int32_t mask_kind,
                          const int64_t *mask_strides, float *out, float *lse,
                          int64_t batch, int64_t heads, int64_t kv_heads,
                          int64_t q_len, int64_t kv_len, int64_t head_dim,
                          int64_t v_head_dim, float scale, int32_t causal,
                          int64_t q_offset, int64_t kv_offset,
                          int64_t kv_valid, int32_t layout) {
  attention_impl("attention_layout_f32", q, k, v, mask, mask_kind,
                 mask_strides, out, lse, batch, heads, kv_heads, q_len, kv_len,
                 head_dim, v_head_dim, scale, causal, q_offset, kv_offset,
                 kv_valid, layout);
}

void attention_merge_f32(float *out, float *lse, const float *block_out,
                         const float *block_lse, int64_t rows,
                         int64_t v_head_dim) {
  if (rows < 0 || v_head_dim < 0)
    fatal("attention_merge_f32", "negative size");
  const int64_t Dv = v_head_dim;
  parallel_range(rows, std::max<int64_t>(1, (int64_t(1) << 15) / (Dv + 1)),
                 [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float la = lse[r], lb = block_lse[r];
      float *o = out + r * Dv;
      const float *ob = block_out + r * Dv;
      const float m = la > lb ? la : lb;
      if (m == -kInf) { // neither attends to a key
        memset(o, 0, sizeof(float) * Dv);
        continue;
      }
      // One of the weights is 1; s is in [1, 2].
      const float wa = __builtin_expf(la - m), wb = __builtin_expf(lb - m);
      const float s = wa + wb, fa = wa / s, fb = wb / s;
      int64_t d = 0;
      for (; d + W <= Dv; d += W)
        storeu(o + d, loadu(o + d) * fa + loadu(ob + d) * fb);
      for (; d < Dv; ++d)
        o[d] = o[d] * fa + ob[d] * fb;
      lse[r] = m + __builtin_logf(s);
    }
  });
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
