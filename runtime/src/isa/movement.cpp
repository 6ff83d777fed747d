//===- movement.cpp - strided_copy, gather, rope, trilu ------------------===//
//
// strided_copy is an elementwise map between two strided views, so its loops
// may run in any order. It orders dims by the destination's strides (writes
// in memory order), drops size-1 dims and merges contiguous ones, then picks:
//   - rows contiguous on both sides: memcpy per row;
//   - destination rows contiguous and another dim contiguous in the source
//     (a transpose): cache-blocked tiles over those two dims;
//   - otherwise an element loop (a broadcast source row is a fill).
// Large copies are split across threads.
//
// rope rotates each row of [n0, n1, n2, dim] with full-width cos / sin rows
// located by three table strides (0 broadcasts): rotate-half pairs as two
// vectors a and b = a + W/2, interleaved pairs as one vector and its
// pair-swapped copy.
//
//===----------------------------------------------------------------------===//
#include "isa.h"

#include <algorithm>
#include <type_traits>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

constexpr int64_t kGrainBytes = 1 << 18; // per thread, at least

struct B16 {
  uint64_t lo, hi;
};

template <class T>
void copy_run(const char *src, int64_t ss, char *dst, int64_t ds, int64_t n) {
  const T *s = reinterpret_cast<const T *>(src);
  T *d = reinterpret_cast<T *>(dst);
  if (ss == 0) {
    const T v = s[0];
    if (ds == 1) {
      for (int64_t i = 0; i < n; ++i)
        d[i] = v;
    } else {
      for (int64_t i = 0; i < n; ++i)
        d[i * ds] = v;
    }
  } else if (ds == 1) {
    if (ss == -1) {
      for (int64_t i = 0; i < n; ++i)
        d[i] = s[-i];
    } else {
      for (int64_t i = 0; i < n; ++i)
        d[i] = s[i * ss];
    }
  } else {
    for (int64_t i = 0; i < n; ++i)
      d[i * ds] = s[i * ss];
  }
}

void copy_run_bytes(int64_t es, const char *src, int64_t ss, char *dst,
                    int64_t ds, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    memcpy(dst + i * ds * es, src + i * ss * es, (size_t)es);
}

template <class T>
void tile_run(const char *src, int64_t sp, int64_t sl, char *dst, int64_t dp,
              int64_t ni, int64_t nj) {
  const T *s = reinterpret_cast<const T *>(src);
  T *d = reinterpret_cast<T *>(dst);
  constexpr int64_t TB = 32;
  for (int64_t j0 = 0; j0 < nj; j0 += TB) {
    int64_t j1 = j0 + TB < nj ? j0 + TB : nj;
    for (int64_t i = 0; i < ni; ++i) {
      const T *si = s + i * sp;
      T *di = d + i * dp;
      for (int64_t j = j0; j < j1; ++j)
        di[j] = si[j * sl];
    }
  }
}

template <class T>
void strided_copy_typed(const Strided<2> &s, int64_t es, const char *src,
                        char *dst, int tile_dim) {
  const int last = s.rank - 1;
  const int64_t ss = s.stride[0][last], ds = s.stride[1][last];
  const int64_t grain = kGrainBytes / es;
  if (tile_dim < 0) {
    parallel_walk(s, grain, [&](const int64_t *off, int64_t n) {
      const char *ps = src + off[0] * es;
      char *pd = dst + off[1] * es;
      if (ss == 1 && ds == 1)
        memcpy(pd, ps, (size_t)(n * es));
      else if constexpr (std::is_void_v<T>)
        copy_run_bytes(es, ps, ss, pd, ds, n);
      else
        copy_run<T>(ps, ss, pd, ds, n);
    });
    return;
  }
  // Transpose: dim `last` has dst stride 1, dim `tile_dim` (== last - 1
  // after reordering) has src stride +-1. Tasks: outer index x row block.
  constexpr int64_t RB = 32;
  const int p = tile_dim;
  const int64_t np = s.shape[p], nl = s.shape[last];
  const int64_t sp = s.stride[0][p], dp = s.stride[1][p];
  int64_t outer = 1;
  for (int d = 0; d < p; ++d)
    outer *= s.shape[d];
  const int64_t blocks = (np + RB - 1) / RB;
  parallel_range(outer * blocks, grain / (RB * nl) + 1,
                 [&](int64_t b, int64_t e) {
    for (int64_t t = b; t < e; ++t) {
      int64_t o = t / blocks, i0 = (t % blocks) * RB;
      int64_t ni = np - i0 < RB ? np - i0 : RB;
      int64_t so = 0, dso = 0, rem = o;
      for (int d = p - 1; d >= 0; --d) {
        int64_t i = rem % s.shape[d];
        rem /= s.shape[d];
        so += i * s.stride[0][d];
        dso += i * s.stride[1][d];
      }
      so += i0 * sp;
      dso += i0 * dp;
      if constexpr (std::is_void_v<T>) {
        for (int64_t i = 0; i < ni; ++i)
          copy_run_bytes(es, src + (so + i * sp) * es, ss,
                         dst + (dso + i * dp) * es, 1, nl);
      } else {
        tile_run<T>(src + so * es, sp, ss, dst + dso * es, dp, ni, nl);
      }
    }
  });
}

//===--- RoPE ------------------------------------------------------------===//

// Pairs (i, i + h): each member has its own cos / sin (full-width tables).
DITC_INLINE void rope_row_half(const float *x, const float *c, const float *s,
                               float *y, int64_t h) {
  int64_t i = 0;
  for (; i + W <= h; i += W) {
    vf xa = loadu(x + i), xb = loadu(x + h + i);
    vf ya = xa * loadu(c + i) - xb * loadu(s + i);
    vf yb = xb * loadu(c + h + i) + xa * loadu(s + h + i);
    storeu(y + i, ya);
    storeu(y + h + i, yb);
  }
  if (i < h) {
    int64_t n = h - i;
    vf xa = load_part(x + i, n, 0.f), xb = load_part(x + h + i, n, 0.f);
    vf ya = xa * load_part(c + i, n, 0.f) - xb * load_part(s + i, n, 0.f);
    vf yb =
        xb * load_part(c + h + i, n, 0.f) + xa * load_part(s + h + i, n, 0.f);
    store_part(y + i, ya, n);
    store_part(y + h + i, yb, n);
  }
}

template <size_t... I>
DITC_INLINE vf swap_pairs_(vf v, std::index_sequence<I...>) {
#if defined(__clang__) || __GNUC__ >= 12
  return __builtin_shufflevector(v, v, (I ^ 1)...);
#else
  return __builtin_shuffle(v, vi{(int32_t)(I ^ 1)...});
#endif
}
// {v1, v0, v3, v2, ...}
DITC_INLINE vf swap_pairs(vf v) {
  return swap_pairs_(v, std::make_index_sequence<W>());
}
template <size_t... I> DITC_INLINE vf alt_sign_(std::index_sequence<I...>) {
  return vf{((I & 1) ? 1.f : -1.f)...};
}

// Pairs (2i, 2i + 1): y = x * c + swap_pairs(x) * s * {-1, 1, -1, 1, ...}.
DITC_INLINE void rope_row_interleaved(const float *x, const float *c,
                                      const float *s, float *y, int64_t w) {
  const vf sign = alt_sign_(std::make_index_sequence<W>());
  int64_t i = 0;
  for (; i + W <= w; i += W) {
    vf v = loadu(x + i);
    storeu(y + i, v * loadu(c + i) + swap_pairs(v) * (loadu(s + i) * sign));
  }
  if (i < w) { // an even number of lanes: whole pairs
    int64_t n = w - i;
    vf v = load_part(x + i, n, 0.f);
    store_part(y + i, v * load_part(c + i, n, 0.f) +
                          swap_pairs(v) * (load_part(s + i, n, 0.f) * sign),
               n);
  }
}

} // namespace

namespace {

/// strided_copy_typed for the element size.
void copy_typed(const Strided<2> &s, int64_t elem_size, const char *ps, char *pd,
                int tile_dim) {
  switch (elem_size) {
  case 1:
    return strided_copy_typed<uint8_t>(s, 1, ps, pd, tile_dim);
  case 2:
    return strided_copy_typed<uint16_t>(s, 2, ps, pd, tile_dim);
  case 4:
    return strided_copy_typed<uint32_t>(s, 4, ps, pd, tile_dim);
  case 8:
    return strided_copy_typed<uint64_t>(s, 8, ps, pd, tile_dim);
  case 16:
    return strided_copy_typed<B16>(s, 16, ps, pd, tile_dim);
  default:
    return strided_copy_typed<void>(s, elem_size, ps, pd, tile_dim);
  }
}

/// Short rows, contiguous on both sides, that the destination orders
/// differently from the source (a head swap, [B, H, S, D] -> [B, S, H, D]):
/// in source order (as strided_copy arranges them) consecutive rows land a
/// destination stride apart, and a row that fills part of a cache line
/// leaves the line to be fetched again when its neighbour (the next head's
/// row) comes, a whole sweep later: on a 2-core Xeon the swap above ran at
/// a third of the streaming rate. Blocks the source-innermost outer dim r
/// instead, so that a block's destination rows (every head of a few
/// positions, about kBlockBytes) are all written while they are cached:
/// [.., r / bk, the dims nearer in the destination, bk, row], then the
/// positions the blocks leave in the source order. Returns false when the
/// copy is not of that kind.
bool copy_rows_blocked(const Strided<2> &s, int64_t es, const char *ps, char *pd) {
  constexpr int64_t kBlockBytes = 1 << 16, kShortRowBytes = 1 << 10;
  auto absl = [](int64_t v) { return v < 0 ? -v : v; };
  const int last = s.rank - 1, r = s.rank - 2;
  if (s.rank < 3 || s.rank >= DITC_RT_MAX_RANK || s.stride[0][last] != 1 ||
      s.stride[1][last] != 1 || s.shape[last] * es >= kShortRowBytes)
    return false;
  const int64_t dr = absl(s.stride[1][r]);
  int near = -1; // the first outer dim the destination holds closer than r
  for (int d = 0; d < r && near < 0; ++d)
    if (absl(s.stride[1][d]) < dr)
      near = d;
  const int64_t n = s.shape[r];
  const int64_t bk = std::min<int64_t>(n, std::max<int64_t>(1, kBlockBytes / (dr * es)));
  if (near < 0 || bk < 2 || n / bk < 2)
    return false;
  Strided<2> b;
  b.rank = s.rank + 1;
  b.total = s.total / n * (n / bk * bk);
  int at = 0;
  auto put = [&](int64_t shape, int64_t s0, int64_t s1) {
    b.shape[at] = shape;
    b.stride[0][at] = s0;
    b.stride[1][at] = s1;
    ++at;
  };
  for (int d = 0; d < near; ++d)
    put(s.shape[d], s.stride[0][d], s.stride[1][d]);
  put(n / bk, s.stride[0][r] * bk, s.stride[1][r] * bk);
  for (int d = near; d < r; ++d)
    put(s.shape[d], s.stride[0][d], s.stride[1][d]);
  put(bk, s.stride[0][r], s.stride[1][r]);
  put(s.shape[last], 1, 1);
  copy_typed(b, es, ps, pd, -1);
  if (const int64_t tail = n % bk) {
    Strided<2> t = s;
    t.shape[r] = tail;
    t.total = s.total / n * tail;
    const int64_t first = n - tail;
    copy_typed(t, es, ps + first * s.stride[0][r] * es, pd + first * s.stride[1][r] * es, -1);
  }
  return true;
}

} // namespace

void strided_copy(int64_t elem_size, const void *src, int64_t src_offset,
                  const int64_t *src_strides, void *dst,
                  const int64_t *dst_strides, const int64_t *shape,
                  int32_t rank) {
  const char *name = "strided_copy";
  if (elem_size <= 0)
    fatal(name, "element size %lld", (long long)elem_size);
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, DITC_RT_MAX_RANK);
  // Loop order: by destination stride, largest first (stable).
  int perm[DITC_RT_MAX_RANK];
  for (int d = 0; d < rank; ++d)
    perm[d] = d;
  auto absl = [](int64_t v) { return v < 0 ? -v : v; };
  for (int a = 1; a < rank; ++a) {
    int v = perm[a], b = a;
    while (b > 0 && absl(dst_strides[perm[b - 1]]) < absl(dst_strides[v])) {
      perm[b] = perm[b - 1];
      --b;
    }
    perm[b] = v;
  }
  int64_t shp[DITC_RT_MAX_RANK], sst[DITC_RT_MAX_RANK], dst_[DITC_RT_MAX_RANK];
  for (int d = 0; d < rank; ++d) {
    shp[d] = shape[perm[d]];
    sst[d] = src_strides[perm[d]];
    dst_[d] = dst_strides[perm[d]];
  }
  const int64_t *st[2] = {sst, dst_};
  Strided<2> s = make_strided<2>(name, rank, shp, st);
  if (s.total == 0)
    return;

  // Rows contiguous on both sides, under two or more outer dims (a head
  // split, say): run the outer dims in source order instead, so the reads
  // stream (short rows far apart defeat the prefetchers) and the writes go
  // to a few sequential streams.
  if (s.rank >= 3 && s.stride[0][s.rank - 1] == 1 &&
      s.stride[1][s.rank - 1] == 1) {
    const int outer = s.rank - 1;
    for (int a = 1; a < outer; ++a) { // stable insertion sort, by |src|
      int64_t sh = s.shape[a], s0 = s.stride[0][a], s1 = s.stride[1][a];
      int b = a;
      while (b > 0 && absl(s.stride[0][b - 1]) < absl(s0)) {
        s.shape[b] = s.shape[b - 1];
        s.stride[0][b] = s.stride[0][b - 1];
        s.stride[1][b] = s.stride[1][b - 1];
        --b;
      }
      s.shape[b] = sh;
      s.stride[0][b] = s0;
      s.stride[1][b] = s1;
    }
  }

  const char *ps = static_cast<const char *>(src) + src_offset * elem_size;
  char *pd = static_cast<char *>(dst);
  if (copy_rows_blocked(s, elem_size, ps, pd))
    return;

  // A transpose? The innermost dst-contiguous dim reads with a stride, and
  // some other dim reads contiguously: move that one next to it.
  int tile_dim = -1;
  const int last = s.rank - 1;
  if (s.rank >= 2 && s.stride[1][last] == 1 && s.shape[last] >= 8 &&
      absl(s.stride[0][last]) != 1 && s.stride[0][last] != 0) {
    for (int d = last - 1; d >= 0; --d) {
      if (absl(s.stride[0][d]) == 1 && s.shape[d] >= 8) {
        // rotate dim d to position last - 1
        int64_t sh = s.shape[d], a = s.stride[0][d], b = s.stride[1][d];
        for (int k = d; k < last - 1; ++k) {
          s.shape[k] = s.shape[k + 1];
          s.stride[0][k] = s.stride[0][k + 1];
          s.stride[1][k] = s.stride[1][k + 1];
        }
        s.shape[last - 1] = sh;
        s.stride[0][last - 1] = a;
        s.stride[1][last - 1] = b;
        tile_dim = last - 1;
        break;
      }
    }
  }

  copy_typed(s, elem_size, ps, pd, tile_dim);
}

void gather(int64_t elem_size, const void *data, int64_t outer,
            int64_t axis_len, int64_t inner, const void *indices,
            int32_t index_dtype, int64_t num_indices, void *out) {
  const char *name = "gather";
  if (index_dtype != DITC_RT_I64 && index_dtype != DITC_RT_I32)
    fatal(name, "index dtype %d is not I64 or I32", (int)index_dtype);
  if (elem_size <= 0)
    fatal(name, "element size %lld", (long long)elem_size);
  const int64_t rows = outer * num_indices, row_bytes = inner * elem_size;
  if (rows <= 0 || row_bytes <= 0)
    return;
  const char *src = static_cast<const char *>(data);
  char *dst = static_cast<char *>(out);
  parallel_range(rows, kGrainBytes / row_bytes + 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t o = r / num_indices, t = r % num_indices;
      int64_t idx = index_dtype == DITC_RT_I64
                        ? static_cast<const int64_t *>(indices)[t]
                        : static_cast<const int32_t *>(indices)[t];
      if (idx < 0)
        idx += axis_len;
      if (idx < 0 || idx >= axis_len)
        fatal(name, "index %lld is outside [-%lld, %lld)",
              (long long)(idx < 0 ? idx - axis_len : idx),
              (long long)axis_len, (long long)axis_len);
      const char *s = src + (o * axis_len + idx) * row_bytes;
      char *d = dst + r * row_bytes;
      switch (row_bytes) {
      case 4:
        memcpy(d, s, 4);
        break;
      case 8:
        memcpy(d, s, 8);
        break;
      default:
        memcpy(d, s, (size_t)row_bytes);
      }
    }
  });
}

void rope_f32(const float *x, const float *cos_table, const float *sin_table,
              float *y, int64_t n0, int64_t n1, int64_t n2, int64_t dim,
              int64_t rot_dim, const int64_t *table_strides,
              int32_t interleaved) {
  const char *name = "rope_f32";
  if (n0 < 0 || n1 < 0 || n2 < 0 || dim < 0)
    fatal(name, "negative size [%lld, %lld, %lld, %lld]", (long long)n0,
          (long long)n1, (long long)n2, (long long)dim);
  if (rot_dim < 0 || rot_dim % 2 || rot_dim > dim)
    fatal(name, "rotated features %lld must be even and at most dim %lld",
          (long long)rot_dim, (long long)dim);
  const int64_t rows = n0 * n1 * n2;
  if (rows == 0 || dim == 0)
    return;
  const int64_t t0 = table_strides[0], t1 = table_strides[1],
                t2 = table_strides[2];
  // Memory bound: a thread takes at least kRopeGrain elements of x.
  constexpr int64_t kRopeGrain = 1 << 15;
  parallel_range(rows, kRopeGrain / dim + 1, [&](int64_t b, int64_t e) {
    int64_t i2 = b % n2, i1 = b / n2 % n1, i0 = b / (n1 * n2);
    for (int64_t r = b; r < e; ++r) {
      int64_t t = i0 * t0 + i1 * t1 + i2 * t2;
      const float *xr = x + r * dim;
      float *yr = y + r * dim;
      if (interleaved)
        rope_row_interleaved(xr, cos_table + t, sin_table + t, yr, rot_dim);
      else
        rope_row_half(xr, cos_table + t, sin_table + t, yr, rot_dim / 2);
      if (yr != xr && rot_dim < dim)
        memcpy(yr + rot_dim, xr + rot_dim, (size_t)(dim - rot_dim) * 4);
      if (++i2 == n2) {
        i2 = 0;
        if (++i1 == n1) {
          i1 = 0;
          ++i0;
        }
      }
    }
  });
}

void trilu(int64_t elem_size, const void *x, void *y, int64_t batch,
           int64_t rows, int64_t cols, int64_t k, int32_t upper) {
  if (elem_size <= 0)
    fatal("trilu", "element size %lld", (long long)elem_size);
  const int64_t n = batch * rows;
  if (n <= 0 || cols <= 0)
    return;
  const char *src = static_cast<const char *>(x);
  char *dst = static_cast<char *>(y);
  const int64_t rb = cols * elem_size;
  parallel_range(n, kGrainBytes / rb + 1, [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t i = r % rows;
      // kept columns [lo, hi)
      int64_t lo = upper ? i + k : 0, hi = upper ? cols : i + k + 1;
      lo = lo < 0 ? 0 : (lo > cols ? cols : lo);
      hi = hi < 0 ? 0 : (hi > cols ? cols : hi);
      if (hi < lo)
        hi = lo;
      char *d = dst + r * rb;
      const char *s = src + r * rb;
      memset(d, 0, (size_t)(lo * elem_size));
      if (d != s)
        memcpy(d + lo * elem_size, s + lo * elem_size,
               (size_t)((hi - lo) * elem_size));
      memset(d + hi * elem_size, 0, (size_t)((cols - hi) * elem_size));
    }
  });
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
