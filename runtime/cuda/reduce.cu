//===- reduce.cu - Sum / mean / max / min / prod over any axes -----------===//
//
// As the CPU, the shape is coalesced into alternating kept / reduced runs
// (size-1 dims dropped, neighbours of a kind merged). An output's elements
// are x[base(o) + roff(r)], r < count, with base from the kept runs and roff
// from the reduced ones. Two mappings:
//   - columns (the innermost run is kept, or few elements per output):
//     blocks of 32 x 8 threads, 32 consecutive outputs (coalesced reads
//     along the kept run), the 8 rows splitting r, combined in shared
//     memory;
//   - rows (the innermost run is reduced): a warp (count <= 4096) or a
//     block per output, threads striding over r (coalesced), combined with
//     shuffles.
// Floats (F32, F16, BF16) accumulate in f32 and round once; I64 / I32 in
// int64 with wrapping sums and products (the CPU's results); MAX / MIN
// propagate NaN. Mean of integers truncates; of no elements: NaN for
// floats, 0 for integers.
//
//===----------------------------------------------------------------------===//
#include "common.cuh"

namespace ditc_cu {
namespace {

constexpr int kMaxRuns = (kMaxRank + 1) / 2;

struct ReduceGeom {
  int32_t kr, rr; // kept / reduced runs, outer first
  int64_t ksize[kMaxRuns], kstride[kMaxRuns];
  int64_t rsize[kMaxRuns], rstride[kMaxRuns];
  int64_t out_count, count;
  int32_t mean;
};

template <class S> constexpr bool kFloatLike = math::is_float_like<S>::value;
template <class S>
using Acc = typename std::conditional<kFloatLike<S>, float, int64_t>::type;

template <class S> struct IntLimits;
template <> struct IntLimits<int64_t> : math::int_traits<int64_t> {};
template <> struct IntLimits<int32_t> : math::int_traits<int32_t> {};

template <class S, int OP> __device__ __forceinline__ Acc<S> r_init() {
  if constexpr (OP == DITC_RT_REDUCE_SUM)
    return 0;
  else if constexpr (OP == DITC_RT_REDUCE_PROD)
    return 1;
  else if constexpr (kFloatLike<S>)
    return OP == DITC_RT_REDUCE_MAX ? -math::kInf : math::kInf;
  else
    return OP == DITC_RT_REDUCE_MAX ? (int64_t)IntLimits<S>::min
                                    : (int64_t)IntLimits<S>::max;
}

template <class S> __device__ __forceinline__ Acc<S> r_load(S v) {
  if constexpr (kFloatLike<S>)
    return math::to_f32(v);
  else
    return (int64_t)v;
}

/// a combined with b (a the left operand: fixed order, same bits).
template <class S, int OP>
__device__ __forceinline__ Acc<S> r_comb(Acc<S> a, Acc<S> b) {
  if constexpr (OP == DITC_RT_REDUCE_SUM) {
    if constexpr (kFloatLike<S>)
      return a + b;
    else
      return (int64_t)((uint64_t)a + (uint64_t)b);
  } else if constexpr (OP == DITC_RT_REDUCE_PROD) {
    if constexpr (kFloatLike<S>)
      return a * b;
    else
      return (int64_t)((uint64_t)a * (uint64_t)b);
  } else if constexpr (OP == DITC_RT_REDUCE_MAX) {
    if constexpr (kFloatLike<S>)
      return (b > a || math::is_nan(b)) && !math::is_nan(a) ? b : a;
    else
      return b > a ? b : a;
  } else {
    if constexpr (kFloatLike<S>)
      return (b < a || math::is_nan(b)) && !math::is_nan(a) ? b : a;
    else
      return b < a ? b : a;
  }
}

template <class S>
__device__ __forceinline__ S r_finish(Acc<S> a, int32_t mean, int64_t count) {
  if constexpr (kFloatLike<S>) {
    return math::from_f32<S>(mean ? a / (float)count : a);
  } else {
    if (mean)
      return count ? (S)(a / count) : (S)0;
    return (S)a;
  }
}

template <class S, int OP> struct RComb {
  __device__ Acc<S> operator()(Acc<S> a, Acc<S> b) const {
    return r_comb<S, OP>(a, b);
  }
};

__device__ __forceinline__ int64_t kept_offset(const ReduceGeom &g,
                                               int64_t o) {
  int64_t off = 0;
  for (int d = g.kr - 1; d > 0; --d) {
    int64_t c;
    o = divmod(o, g.ksize[d], c);
    off += c * g.kstride[d];
  }
  return g.kr > 0 ? off + o * g.kstride[0] : off;
}

__device__ __forceinline__ int64_t red_offset(const ReduceGeom &g,
                                              int64_t r) {
  int64_t off = 0;
  for (int d = g.rr - 1; d > 0; --d) {
    int64_t c;
    r = divmod(r, g.rsize[d], c);
    off += c * g.rstride[d];
  }
  return g.rr > 0 ? off + r * g.rstride[0] : off;
}

constexpr int kColX = 32, kColY = 8;

template <class S, int OP>
__global__ void __launch_bounds__(kColX *kColY)
    reduce_cols_kernel(const __grid_constant__ ReduceGeom g, const S *x,
                       S *y) {
  __shared__ Acc<S> part[kColY][kColX + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  for (int64_t ob = (int64_t)blockIdx.x * kColX; ob < g.out_count;
       ob += (int64_t)gridDim.x * kColX) {
    const int64_t o = ob + tx;
    Acc<S> acc = r_init<S, OP>();
    if (o < g.out_count) {
      const int64_t base = kept_offset(g, o);
      for (int64_t r = ty; r < g.count; r += kColY)
        acc = r_comb<S, OP>(acc, r_load(x[base + red_offset(g, r)]));
    }
    part[ty][tx] = acc;
    __syncthreads();
    if (ty == 0 && o < g.out_count) {
      Acc<S> a = part[0][tx];
#pragma unroll
      for (int j = 1; j < kColY; ++j)
        a = r_comb<S, OP>(a, part[j][tx]);
      y[o] = r_finish<S>(a, g.mean, g.count);
    }
    __syncthreads();
  }
}

template <class S, int OP>
__global__ void __launch_bounds__(1024)
    reduce_rows_kernel(const __grid_constant__ ReduceGeom g, const S *x, S *y,
                       int G) {
  __shared__ Acc<S> smem[32];
  const int rpb = blockDim.x / G, t = threadIdx.x % G;
  for (int64_t o0 = (int64_t)blockIdx.x * rpb; o0 < g.out_count;
       o0 += (int64_t)gridDim.x * rpb) {
    const int64_t o = o0 + threadIdx.x / G;
    if (o >= g.out_count) // only whole warps (G == 32) get here
      continue;
    const int64_t base = kept_offset(g, o);
    Acc<S> acc = r_init<S, OP>();
    for (int64_t r = t; r < g.count; r += G)
      acc = r_comb<S, OP>(acc, r_load(x[base + red_offset(g, r)]));
    acc = group_reduce(acc, RComb<S, OP>(), r_init<S, OP>(), G, smem);
    if (t == 0)
      y[o] = r_finish<S>(acc, g.mean, g.count);
  }
}

template <class S, int OP>
void launch_reduce(const ReduceGeom &g, bool rows, const void *x, void *y) {
  const S *px = static_cast<const S *>(x);
  S *py = static_cast<S *>(y);
  if (!rows) {
    launch(reduce_cols_kernel<S, OP>, blocks_for(g.out_count, kColX),
           dim3(kColX, kColY), g, px, py);
    return;
  }
  int G = 32, threads = kThreads;
  unsigned blocks = blocks_for(g.out_count, kThreads / 32);
  if (g.count > 4096) {
    int64_t th = (g.count / 16 + 31) / 32 * 32;
    G = threads = (int)(th > 1024 ? 1024 : th);
    blocks = blocks_for(g.out_count, 1);
  }
  launch(reduce_rows_kernel<S, OP>, blocks, threads, g, px, py, G);
}

template <class S>
void launch_reduce_op(int32_t op, const ReduceGeom &g, bool rows,
                      const void *x, void *y) {
  switch (op) {
  case DITC_RT_REDUCE_SUM:
  case DITC_RT_REDUCE_MEAN:
    return launch_reduce<S, DITC_RT_REDUCE_SUM>(g, rows, x, y);
  case DITC_RT_REDUCE_MAX:
    return launch_reduce<S, DITC_RT_REDUCE_MAX>(g, rows, x, y);
  case DITC_RT_REDUCE_MIN:
    return launch_reduce<S, DITC_RT_REDUCE_MIN>(g, rows, x, y);
  default:
    return launch_reduce<S, DITC_RT_REDUCE_PROD>(g, rows, x, y);
  }
}

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" void ditc_cu_reduce(int32_t op, int32_t dtype, const void *x,
                               const int64_t *shape, int32_t rank,
                               int64_t axes_mask, void *y) {
  const char *name = "reduce";
  if (op < 0 || op >= DITC_RT_REDUCE_COUNT)
    fatal(name, "unknown op %d", (int)op);
  if (dtype != DITC_RT_F32 && dtype != DITC_RT_F16 && dtype != DITC_RT_BF16 &&
      dtype != DITC_RT_I64 && dtype != DITC_RT_I32)
    fatal(name, "dtype %d is not F32, F16, BF16, I64 or I32", (int)dtype);
  if (rank < 0 || rank > kMaxRank)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, kMaxRank);

  int64_t total = 1, out_count = 1;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] < 0)
      fatal(name, "negative dimension %lld", (long long)shape[d]);
    total *= shape[d];
    if (!((axes_mask >> d) & 1))
      out_count *= shape[d];
  }
  if (out_count == 0)
    return;

  // Coalesce into alternating runs, then split them by kind.
  int nruns = 0;
  int64_t size[kMaxRank];
  bool red[kMaxRank];
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    const bool r = (axes_mask >> d) & 1;
    if (nruns > 0 && red[nruns - 1] == r) {
      size[nruns - 1] *= shape[d];
    } else {
      size[nruns] = shape[d];
      red[nruns] = r;
      ++nruns;
    }
  }
  ReduceGeom g;
  g.kr = g.rr = 0;
  g.out_count = out_count;
  g.count = total / out_count;
  g.mean = op == DITC_RT_REDUCE_MEAN;
  int64_t stride = 1;
  int64_t ks[kMaxRank], kst[kMaxRank], rs[kMaxRank], rst[kMaxRank];
  int nk = 0, nr = 0;
  for (int d = nruns - 1; d >= 0; --d) { // inner to outer
    if (red[d]) {
      rs[nr] = size[d];
      rst[nr++] = stride;
    } else {
      ks[nk] = size[d];
      kst[nk++] = stride;
    }
    stride *= size[d];
  }
  for (int i = 0; i < nk; ++i) { // outer first
    g.ksize[i] = ks[nk - 1 - i];
    g.kstride[i] = kst[nk - 1 - i];
  }
  for (int i = 0; i < nr; ++i) {
    g.rsize[i] = rs[nr - 1 - i];
    g.rstride[i] = rst[nr - 1 - i];
  }
  g.kr = nk;
  g.rr = nr;
  // Rows when the innermost run is reduced and each output has enough.
  const bool rows = nruns > 0 && red[nruns - 1] && g.count > 32;

  switch (dtype) {
  case DITC_RT_F32:
    launch_reduce_op<float>(op, g, rows, x, y);
    break;
  case DITC_RT_F16:
    launch_reduce_op<half_t>(op, g, rows, x, y);
    break;
  case DITC_RT_BF16:
    launch_reduce_op<bfloat_t>(op, g, rows, x, y);
    break;
  case DITC_RT_I64:
    launch_reduce_op<int64_t>(op, g, rows, x, y);
    break;
  default:
    launch_reduce_op<int32_t>(op, g, rows, x, y);
    break;
  }
  check_launch(name);
}
