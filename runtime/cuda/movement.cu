//===- movement.cu - strided_copy, gather, trilu, rope -------------------===//
//
// strided_copy works in bytes: the element becomes an innermost dim of
// elem_size bytes (so any size works), dims are ordered by destination
// stride and collapsed (common.cuh), and then the copy unit is widened to
// the largest of 16 / 8 / 4 / 2 / 1 bytes that divides the innermost run
// (contiguous on both sides), every stride and both base addresses. Then:
//   - a transpose (the destination's innermost dim reads with a stride and
//     another dim reads contiguously): 32 x 32 tiles through shared memory,
//     both sides coalesced;
//   - anything else (contiguous rows, slices, broadcasts, concat pieces): one
//     thread per unit; contiguous rows are wide, coalesced copies.
// gather copies rows in the widest unit too; trilu masks elements; rope
// rotates one pair per thread (in place when y == x: each thread reads its
// pair before writing it).
//
//===----------------------------------------------------------------------===//
#include "common.cuh"

#include <stdio.h>

namespace ditc_cu {
namespace {

struct alignas(16) U16B {
  uint64_t lo, hi;
};

inline int64_t abs64(int64_t v) { return v < 0 ? -v : v; }

//===--- strided_copy -----------------------------------------------------===//

/// A copy's dims: the tensor's and one for the bytes of an element.
constexpr int kCopyRank = kMaxRank + 1;
typedef Strided<2, kCopyRank> CopyDims;

template <class U>
__global__ void __launch_bounds__(kThreads)
    copy_kernel(const __grid_constant__ CopyDims s, const U *src, U *dst) {
  for (int64_t i = global_thread(); i < s.total; i += global_stride()) {
    int64_t off[2];
    strided_offsets<2>(s, i, off);
    dst[off[1]] = src[off[0]];
  }
}

/// A transpose: dims [0, rank - 2) are outer, dim rank - 2 (p) reads
/// contiguously (src stride +-1), dim rank - 1 (l) writes contiguously (dst
/// stride 1).
struct TransposeGeom {
  int32_t outer_rank;
  int64_t outer_shape[kMaxRank];
  int64_t outer_src[kMaxRank], outer_dst[kMaxRank];
  int64_t np, nl;     // sizes of p and l
  int64_t sp, dp, sl; // src / dst stride of p, src stride of l
  int64_t tiles_p, tiles_l, tiles;
};

constexpr int kTile = 32, kTileRows = 8;

template <class U>
__global__ void __launch_bounds__(kTile *kTileRows)
    transpose_kernel(const __grid_constant__ TransposeGeom g, const U *src,
                     U *dst) {
  __shared__ U tile[kTile][kTile + 1]; // [l][p]
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t t = blockIdx.x; t < g.tiles; t += gridDim.x) {
    int64_t tl, tp;
    int64_t o = divmod(t, g.tiles_l, tl);
    o = divmod(o, g.tiles_p, tp);
    int64_t so = 0, dso = 0;
    for (int d = g.outer_rank - 1; d >= 0; --d) {
      int64_t c;
      o = divmod(o, g.outer_shape[d], c);
      so += c * g.outer_src[d];
      dso += c * g.outer_dst[d];
    }
    const int64_t p0 = tp * kTile, l0 = tl * kTile;
    // Read: threads along p (contiguous in src).
    for (int j = ty; j < kTile; j += kTileRows) {
      const int64_t ip = p0 + tx, il = l0 + j;
      if (ip < g.np && il < g.nl)
        tile[j][tx] = src[so + ip * g.sp + il * g.sl];
    }
    __syncthreads();
    // Write: threads along l (contiguous in dst).
    for (int j = ty; j < kTile; j += kTileRows) {
      const int64_t ip = p0 + j, il = l0 + tx;
      if (ip < g.np && il < g.nl)
        dst[dso + ip * g.dp + il] = tile[tx][j];
    }
    __syncthreads();
  }
}

template <class U>
void launch_copy(const CopyDims &s, int transpose, const char *src,
                 char *dst) {
  if (!transpose || sizeof(U) == 16) {
    launch(copy_kernel<U>, blocks_for(s.total, kThreads), kThreads, s,
           reinterpret_cast<const U *>(src), reinterpret_cast<U *>(dst));
    return;
  }
  if constexpr (sizeof(U) < 16) {
    const int last = s.rank - 1, p = last - 1;
    TransposeGeom g;
    g.outer_rank = p;
    for (int d = 0; d < p; ++d) {
      g.outer_shape[d] = s.shape[d];
      g.outer_src[d] = s.stride[0][d];
      g.outer_dst[d] = s.stride[1][d];
    }
    g.np = s.shape[p];
    g.nl = s.shape[last];
    g.sp = s.stride[0][p];
    g.dp = s.stride[1][p];
    g.sl = s.stride[0][last];
    g.tiles_p = (g.np + kTile - 1) / kTile;
    g.tiles_l = (g.nl + kTile - 1) / kTile;
    g.tiles = s.total / (g.np * g.nl) * g.tiles_p * g.tiles_l;
    launch(transpose_kernel<U>, blocks_for(g.tiles, 1), dim3(kTile, kTileRows),
           g, reinterpret_cast<const U *>(src), reinterpret_cast<U *>(dst));
  }
}

//===--- gather -----------------------------------------------------------===//

/// out[o, t, :] = data[o, idx[t], :] in units of U, `row` units a row.
template <class U>
__global__ void __launch_bounds__(kThreads)
    gather_kernel(const U *data, int64_t axis_len, int64_t row,
                  const void *indices, int32_t index64, int64_t num_indices,
                  U *out, int64_t total) {
  for (int64_t u = global_thread(); u < total; u += global_stride()) {
    int64_t col, t;
    const int64_t r = divmod(u, row, col);
    const int64_t o = divmod(r, num_indices, t);
    int64_t idx = index64 ? static_cast<const int64_t *>(indices)[t]
                          : static_cast<const int32_t *>(indices)[t];
    const int64_t given = idx;
    if (idx < 0)
      idx += axis_len;
    if (idx < 0 || idx >= axis_len) {
      printf("ditc cuda: gather: index %lld is outside [-%lld, %lld)\n",
             (long long)given, (long long)axis_len, (long long)axis_len);
      __trap();
    }
    out[u] = data[(o * axis_len + idx) * row + col];
  }
}

//===--- trilu ------------------------------------------------------------===//

/// x, y [batch * rows, cols] in units of U, `per` units an element.
template <class U>
__global__ void __launch_bounds__(kThreads)
    trilu_kernel(const U *x, U *y, int64_t rows, int64_t row_units,
                 int64_t per, int64_t k, int32_t upper, int64_t total) {
  for (int64_t u = global_thread(); u < total; u += global_stride()) {
    int64_t cu, i;
    const int64_t r = divmod(u, row_units, cu);
    divmod(r, rows, i);
    int64_t j = cu;
    if (per != 1) {
      int64_t unused;
      j = divmod(cu, per, unused);
    }
    const bool keep = upper ? j - i >= k : j - i <= k;
    y[u] = keep ? x[u] : U{};
  }
}

//===--- rope -------------------------------------------------------------===//

struct RopeGeom {
  int64_t n1, n2, dim, half, items, total; // items: per row
  int64_t t0, t1, t2;                      // table strides
  int32_t interleaved, copy_rest;
};

/// One item per thread: a pair (item < half) or a passed-through feature.
template <class S>
__global__ void __launch_bounds__(kThreads)
    rope_kernel(const __grid_constant__ RopeGeom g, const S *x, const S *cs,
                const S *sn, S *y) {
  for (int64_t u = global_thread(); u < g.total; u += global_stride()) {
    int64_t k, i2, i1;
    const int64_t row = divmod(u, g.items, k);
    const int64_t i0 = divmod(divmod(row, g.n2, i2), g.n1, i1);
    const S *xr = x + row * g.dim;
    S *yr = y + row * g.dim;
    if (k < g.half) {
      const int64_t a = g.interleaved ? 2 * k : k;
      const int64_t b = g.interleaved ? 2 * k + 1 : k + g.half;
      const int64_t t = i0 * g.t0 + i1 * g.t1 + i2 * g.t2;
      float ya, yb;
      math::rope_pair(math::to_f32(xr[a]), math::to_f32(xr[b]),
                      math::to_f32(cs[t + a]), math::to_f32(sn[t + a]),
                      math::to_f32(cs[t + b]), math::to_f32(sn[t + b]), &ya,
                      &yb);
      yr[a] = math::from_f32<S>(ya);
      yr[b] = math::from_f32<S>(yb);
    } else {
      const int64_t f = 2 * g.half + (k - g.half);
      yr[f] = xr[f];
    }
  }
}

/// The widest unit (bytes) dividing `bytes` and aligning both pointers.
int64_t widest_unit(int64_t bytes, const void *p, const void *q) {
  const uintptr_t a = (uintptr_t)p | (uintptr_t)q;
  for (int64_t w = 16; w > 1; w /= 2)
    if (bytes % w == 0 && a % (uintptr_t)w == 0)
      return w;
  return 1;
}

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" {

void ditc_cu_strided_copy(int64_t elem_size, const void *src,
                          int64_t src_offset, const int64_t *src_strides,
                          void *dst, const int64_t *dst_strides,
                          const int64_t *shape, int32_t rank) {
  const char *name = "strided_copy";
  if (elem_size <= 0)
    fatal(name, "element size %lld", (long long)elem_size);
  if (rank < 0 || rank > kMaxRank)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, kMaxRank);
  // Loop order: by destination stride, largest first (stable); then the
  // element's bytes as the innermost dim, strides in bytes.
  int perm[kMaxRank];
  for (int d = 0; d < rank; ++d)
    perm[d] = d;
  for (int a = 1; a < rank; ++a) {
    const int v = perm[a];
    int b = a;
    while (b > 0 && abs64(dst_strides[perm[b - 1]]) < abs64(dst_strides[v])) {
      perm[b] = perm[b - 1];
      --b;
    }
    perm[b] = v;
  }
  int64_t shp[kMaxRank], sst[kMaxRank], dstr[kMaxRank];
  for (int d = 0; d < rank; ++d) {
    shp[d] = shape[perm[d]];
    sst[d] = src_strides[perm[d]];
    dstr[d] = dst_strides[perm[d]];
  }
  const int64_t *st[2] = {sst, dstr};
  CopyDims s = make_strided<2, kCopyRank>(name, rank, shp, st);
  if (s.total == 0)
    return;
  const char *ps = static_cast<const char *>(src) + src_offset * elem_size;
  char *pd = static_cast<char *>(dst);

  // In bytes: a contiguous innermost dim takes the element's bytes, else
  // they become a dim of their own.
  for (int d = 0; d < s.rank; ++d) {
    s.stride[0][d] *= elem_size;
    s.stride[1][d] *= elem_size;
  }
  int last = s.rank - 1;
  if (s.stride[0][last] == elem_size && s.stride[1][last] == elem_size) {
    s.shape[last] *= elem_size;
    s.stride[0][last] = s.stride[1][last] = 1;
  } else if (elem_size > 1) {
    last = s.rank++;
    s.shape[last] = elem_size;
    s.stride[0][last] = s.stride[1][last] = 1;
  }
  // The widest unit dividing the contiguous innermost run, every stride and
  // both base addresses; then the copy in units of it.
  int64_t w = 1;
  if (s.stride[0][last] == 1 && s.stride[1][last] == 1) {
    w = widest_unit(s.shape[last], ps, pd);
    for (int d = 0; d < last; ++d)
      while (w > 1 && (s.stride[0][d] % w != 0 || s.stride[1][d] % w != 0))
        w /= 2;
  }
  {
    int64_t sh2[kCopyRank], s2[kCopyRank], d2[kCopyRank];
    for (int d = 0; d < s.rank; ++d) {
      sh2[d] = s.shape[d];
      s2[d] = s.stride[0][d] / w;
      d2[d] = s.stride[1][d] / w;
    }
    if (w > 1) {
      sh2[last] /= w;
      s2[last] = d2[last] = 1;
    }
    const int64_t *st2[2] = {s2, d2};
    s = make_strided<2, kCopyRank>(name, s.rank, sh2, st2);
  }

  // A transpose? (as the CPU: the innermost dst-contiguous dim reads with a
  // stride, some other dim reads contiguously: move that one next to it.)
  int transpose = 0;
  last = s.rank - 1;
  if (s.rank >= 2 && s.stride[1][last] == 1 && s.shape[last] >= 8 &&
      abs64(s.stride[0][last]) != 1 && s.stride[0][last] != 0) {
    for (int d = last - 1; d >= 0; --d) {
      if (abs64(s.stride[0][d]) == 1 && s.shape[d] >= 8) {
        const int64_t sh = s.shape[d], a = s.stride[0][d], b = s.stride[1][d];
        for (int k = d; k < last - 1; ++k) {
          s.shape[k] = s.shape[k + 1];
          s.stride[0][k] = s.stride[0][k + 1];
          s.stride[1][k] = s.stride[1][k + 1];
        }
        s.shape[last - 1] = sh;
        s.stride[0][last - 1] = a;
        s.stride[1][last - 1] = b;
        transpose = 1;
        break;
      }
    }
  }

  switch (w) {
  case 1:
    launch_copy<uint8_t>(s, transpose, ps, pd);
    break;
  case 2:
    launch_copy<uint16_t>(s, transpose, ps, pd);
    break;
  case 4:
    launch_copy<uint32_t>(s, transpose, ps, pd);
    break;
  case 8:
    launch_copy<uint64_t>(s, transpose, ps, pd);
    break;
  default:
    launch_copy<U16B>(s, transpose, ps, pd);
    break;
  }
  check_launch(name);
}

void ditc_cu_gather(int64_t elem_size, const void *data, int64_t outer,
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
  const int64_t w = widest_unit(row_bytes, data, out);
  const int64_t row = row_bytes / w, total = rows * row;
  const int32_t i64 = index_dtype == DITC_RT_I64;
  auto go = [&](auto unit) {
    using U = decltype(unit);
    launch(gather_kernel<U>, blocks_for(total, kThreads), kThreads,
           static_cast<const U *>(data), axis_len, row, indices, i64,
           num_indices, static_cast<U *>(out), total);
  };
  switch (w) {
  case 1:
    go(uint8_t{});
    break;
  case 2:
    go(uint16_t{});
    break;
  case 4:
    go(uint32_t{});
    break;
  case 8:
    go(uint64_t{});
    break;
  default:
    go(U16B{});
    break;
  }
  check_launch(name);
}

void ditc_cu_trilu(int64_t elem_size, const void *x, void *y, int64_t batch,
                   int64_t rows, int64_t cols, int64_t k, int32_t upper) {
  const char *name = "trilu";
  if (elem_size <= 0)
    fatal(name, "element size %lld", (long long)elem_size);
  if (batch * rows <= 0 || cols <= 0)
    return;
  // Whole elements when they are 1, 2, 4 or 8 aligned bytes, else bytes.
  int64_t w = 1;
  if (elem_size <= 8 && (elem_size & (elem_size - 1)) == 0 &&
      widest_unit(elem_size, x, y) >= elem_size)
    w = elem_size;
  const int64_t per = elem_size / w, row_units = cols * per;
  const int64_t total = batch * rows * row_units;
  auto go = [&](auto unit) {
    using U = decltype(unit);
    launch(trilu_kernel<U>, blocks_for(total, kThreads), kThreads,
           static_cast<const U *>(x), static_cast<U *>(y), rows, row_units, per,
           k, upper, total);
  };
  switch (w) {
  case 1:
    go(uint8_t{});
    break;
  case 2:
    go(uint16_t{});
    break;
  case 4:
    go(uint32_t{});
    break;
  default:
    go(uint64_t{});
    break;
  }
  check_launch(name);
}

void ditc_cu_rope(int32_t dtype, const void *x, const void *cos_table,
                  const void *sin_table, void *y, int64_t n0, int64_t n1,
                  int64_t n2, int64_t dim, int64_t rot_dim,
                  const int64_t *table_strides, int32_t interleaved) {
  const char *name = "rope";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    if (n0 < 0 || n1 < 0 || n2 < 0 || dim < 0)
      fatal(name, "negative size [%lld, %lld, %lld, %lld]", (long long)n0,
            (long long)n1, (long long)n2, (long long)dim);
    if (rot_dim < 0 || rot_dim % 2 || rot_dim > dim)
      fatal(name, "rotated features %lld must be even and at most dim %lld",
            (long long)rot_dim, (long long)dim);
    const int64_t rows = n0 * n1 * n2;
    if (rows == 0 || dim == 0)
      return;
    RopeGeom g;
    g.n1 = n1;
    g.n2 = n2;
    g.dim = dim;
    g.half = rot_dim / 2;
    g.copy_rest = x != y;
    g.items = g.half + (g.copy_rest ? dim - rot_dim : 0);
    if (g.items == 0)
      return;
    g.total = rows * g.items;
    g.t0 = table_strides[0];
    g.t1 = table_strides[1];
    g.t2 = table_strides[2];
    g.interleaved = interleaved != 0;
    launch(rope_kernel<S>, blocks_for(g.total, kThreads), kThreads, g,
           static_cast<const S *>(x), static_cast<const S *>(cos_table),
           static_cast<const S *>(sin_table), static_cast<S *>(y));
    check_launch(name);
  });
}

} // extern "C"
