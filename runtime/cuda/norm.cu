//===- norm.cu - layer / RMS / group norm, softmax ------------------------===//
//
// A row (a norm's row, a group norm's (n, group), a softmax row) belongs to
// a group of G threads: one warp (G = 32, eight rows a block) for rows of at
// most 32 * kVpt elements, else the whole block (G = blockDim.x, up to 1024).
// The group reads the row in tiles of G * kVpt elements, each thread kVpt
// values (coalesced: value k of thread t is element t + k * G), takes their
// statistics exactly in registers and combines them into its running ones
// (kernel_math.h: Chan's mean / M2 combine, the sum of squares, the softmax
// max / sum); the group combines with warp shuffles (and shared memory
// across warps) in a fixed order, so every thread gets the same bits. A row
// of one tile is normalised from the registers, a longer one is read again.
// All statistics are f32; half types round once on the store (after a
// layer norm's adaLN modulation, when it has one).
//
// Softmax over a middle axis (inner > 1): one thread per (outer, inner)
// column, the online max / sum over len, then a second pass.
//
//===----------------------------------------------------------------------===//
#include "common.cuh"

namespace ditc_cu {
namespace {

constexpr int kVpt = 8;         // values a thread holds per tile
constexpr int kMaxGroup = 1024; // threads of a block-wide group
// ... of a modulated layer norm: the modulation's rows and loads spill
// under 64 registers (f32), and ptxas kept bf16 at 64 on sm_90a even for
// 512 threads; 256 leave it 255.
constexpr int kMaxModGroup = 256;

struct CombineMeanM2 {
  __device__ math::MeanM2 operator()(math::MeanM2 a, math::MeanM2 b) const {
    return math::meanm2_combine(a, b);
  }
};
struct CombineSum {
  __device__ float operator()(float a, float b) const { return a + b; }
};
struct CombineMaxSum {
  __device__ math::MaxSum operator()(math::MaxSum a, math::MaxSum b) const {
    return math::maxsum_combine(a, b);
  }
};

/// Loads tile values k = 0..kVpt-1 of thread t (elements base + t + k*G)
/// as f32; returns how many are in the row (a prefix).
template <class S>
__device__ __forceinline__ int load_tile(const S *xr, int64_t base, int t,
                                         int G, int64_t cols,
                                         float (&v)[kVpt]) {
  int cnt = 0;
#pragma unroll
  for (int k = 0; k < kVpt; ++k) {
    const int64_t i = base + t + (int64_t)k * G;
    const bool in = i < cols;
    v[k] = in ? math::to_f32(xr[i]) : 0.f;
    cnt += in;
  }
  return cnt;
}

/// A layer norm's adaLN modulation: row g of ms / mt (either may be null)
/// at g * ms_stride / g * mt_stride elements modulates rows
/// [g * per_group, (g + 1) * per_group); v * (ms + offset) + mt.
template <class S> struct Modulation {
  const S *ms = nullptr, *mt = nullptr;
  int64_t per_group = 1, ms_stride = 0, mt_stride = 0;
  float offset = 0.f;
};

/// Layer norm (GROUP false: scale / bias per column; MOD: then the
/// modulation) or group norm (GROUP true: per channel, the row being
/// (n, group) of cpg channels x spatial).
template <class S, bool GROUP, bool MOD>
__global__ void __launch_bounds__(MOD ? kMaxModGroup : kMaxGroup)
    meanvar_norm_kernel(const S *x, const S *scale, const S *bias,
                        const __grid_constant__ Modulation<S> mod, S *y,
                        int64_t rows, int64_t cols, float eps, int G,
                        int64_t spatial, int64_t cpg, int64_t groups) {
  __shared__ math::MeanM2 smem[32];
  const int rpb = blockDim.x / G, t = threadIdx.x % G;
  const int64_t tile = (int64_t)G * kVpt;
  for (int64_t row0 = (int64_t)blockIdx.x * rpb; row0 < rows;
       row0 += (int64_t)gridDim.x * rpb) {
    const int64_t row = row0 + threadIdx.x / G;
    if (row >= rows) // only whole warps (G == 32) get here
      continue;
    const S *xr = x + row * cols;
    S *yr = y + row * cols;
    float v[kVpt];
    math::MeanM2 st{0.f, 0.f, 0.f};
    for (int64_t base = 0; base < cols; base += tile) {
      const int cnt = load_tile(xr, base, t, G, cols, v);
      st = math::meanm2_combine(st, math::meanm2_of(v, cnt));
    }
    st = group_reduce(st, CombineMeanM2(), math::MeanM2{0.f, 0.f, 0.f}, G,
                      smem);
    const float mean = st.mean, rstd = math::meanm2_rstd(st, eps);
    const int64_t ch0 = GROUP ? (row % groups) * cpg : 0;
    // 32-bit: the host refuses 2^32 rows or more (no 64-bit division).
    const int64_t mrow = MOD ? (int64_t)((uint32_t)row / (uint32_t)mod.per_group) : 0;
    const S *ms = MOD && mod.ms ? mod.ms + mrow * mod.ms_stride : nullptr;
    const S *mt = MOD && mod.mt ? mod.mt + mrow * mod.mt_stride : nullptr;
    auto apply = [&](float xv, int64_t i) {
      if (GROUP) {
        int64_t unused;
        const int64_t ch = ch0 + divmod(i, spatial, unused);
        const float a = rstd * (scale ? math::to_f32(scale[ch]) : 1.f);
        const float b = bias ? math::to_f32(bias[ch]) : 0.f;
        return math::group_norm_apply(xv, mean, a, b);
      }
      const float v = math::norm_apply(xv, mean, rstd, scale != nullptr,
                                       scale ? math::to_f32(scale[i]) : 1.f,
                                       bias != nullptr,
                                       bias ? math::to_f32(bias[i]) : 0.f);
      if (!MOD)
        return v;
      return math::modulate_apply(v, ms != nullptr,
                                  ms ? math::to_f32(ms[i]) : 1.f, mod.offset,
                                  mt != nullptr,
                                  mt ? math::to_f32(mt[i]) : 0.f);
    };
    if (cols <= tile) {
#pragma unroll
      for (int k = 0; k < kVpt; ++k) {
        const int64_t i = t + (int64_t)k * G;
        if (i < cols)
          yr[i] = math::from_f32<S>(apply(v[k], i));
      }
    } else {
      for (int64_t i = t; i < cols; i += G)
        yr[i] = math::from_f32<S>(apply(math::to_f32(xr[i]), i));
    }
  }
}

template <class S>
__global__ void __launch_bounds__(kMaxGroup)
    rms_norm_kernel(const S *x, const S *scale, S *y, int64_t rows,
                    int64_t cols, float eps, int G) {
  __shared__ float smem[32];
  const int rpb = blockDim.x / G, t = threadIdx.x % G;
  const int64_t tile = (int64_t)G * kVpt;
  for (int64_t row0 = (int64_t)blockIdx.x * rpb; row0 < rows;
       row0 += (int64_t)gridDim.x * rpb) {
    const int64_t row = row0 + threadIdx.x / G;
    if (row >= rows)
      continue;
    const S *xr = x + row * cols;
    S *yr = y + row * cols;
    float v[kVpt];
    float ss = 0.f;
    for (int64_t base = 0; base < cols; base += tile) {
      const int cnt = load_tile(xr, base, t, G, cols, v);
      ss += math::sum_sq_of(v, cnt);
    }
    ss = group_reduce(ss, CombineSum(), 0.f, G, smem);
    const float rstd = math::rms_rstd(ss, (float)cols, eps);
    auto apply = [&](float xv, int64_t i) {
      return math::norm_apply(xv, 0.f, rstd, scale != nullptr,
                              scale ? math::to_f32(scale[i]) : 1.f, false,
                              0.f);
    };
    if (cols <= tile) {
#pragma unroll
      for (int k = 0; k < kVpt; ++k) {
        const int64_t i = t + (int64_t)k * G;
        if (i < cols)
          yr[i] = math::from_f32<S>(apply(v[k], i));
      }
    } else {
      for (int64_t i = t; i < cols; i += G)
        yr[i] = math::from_f32<S>(apply(math::to_f32(xr[i]), i));
    }
  }
}

template <class S>
__global__ void __launch_bounds__(kMaxGroup)
    softmax_rows_kernel(const S *x, S *y, int64_t rows, int64_t cols, int G) {
  __shared__ math::MaxSum smem[32];
  const int rpb = blockDim.x / G, t = threadIdx.x % G;
  const int64_t tile = (int64_t)G * kVpt;
  for (int64_t row0 = (int64_t)blockIdx.x * rpb; row0 < rows;
       row0 += (int64_t)gridDim.x * rpb) {
    const int64_t row = row0 + threadIdx.x / G;
    if (row >= rows)
      continue;
    const S *xr = x + row * cols;
    S *yr = y + row * cols;
    float v[kVpt];
    math::MaxSum st{-math::kInf, 0.f};
    for (int64_t base = 0; base < cols; base += tile) {
      const int cnt = load_tile(xr, base, t, G, cols, v);
      st = math::maxsum_combine(st, math::maxsum_of(v, cnt));
    }
    st = group_reduce(st, CombineMaxSum(), math::MaxSum{-math::kInf, 0.f}, G,
                      smem);
    const float m = st.m, inv = 1.f / st.s;
    if (cols <= tile) {
#pragma unroll
      for (int k = 0; k < kVpt; ++k) {
        const int64_t i = t + (int64_t)k * G;
        if (i < cols)
          yr[i] = math::from_f32<S>(math::softmax_apply(v[k], m, inv));
      }
    } else {
      for (int64_t i = t; i < cols; i += G)
        yr[i] = math::from_f32<S>(
            math::softmax_apply(math::to_f32(xr[i]), m, inv));
    }
  }
}

/// Softmax over the middle axis of [outer, len, inner], inner > 1: one
/// thread per column.
template <class S>
__global__ void __launch_bounds__(kThreads)
    softmax_inner_kernel(const S *x, S *y, int64_t outer, int64_t len,
                         int64_t inner) {
  const int64_t total = outer * inner;
  for (int64_t u = global_thread(); u < total; u += global_stride()) {
    int64_t c;
    const int64_t o = divmod(u, inner, c);
    const int64_t base = o * len * inner + c;
    math::MaxSum st{-math::kInf, 0.f};
    for (int64_t l = 0; l < len; ++l)
      st = math::maxsum_push(st, math::to_f32(x[base + l * inner]));
    const float inv = 1.f / st.s;
    for (int64_t l = 0; l < len; ++l) {
      const int64_t i = base + l * inner;
      y[i] = math::from_f32<S>(math::softmax_apply(math::to_f32(x[i]), st.m,
                                                   inv));
    }
  }
}

/// The group size and block size for rows of `cols` elements.
struct RowLaunch {
  int G, threads;
  unsigned blocks;
};
RowLaunch row_launch(int64_t rows, int64_t cols, int max_group = kMaxGroup) {
  RowLaunch l;
  if (cols <= 32 * kVpt) {
    l.G = 32;
    l.threads = kThreads;
    l.blocks = blocks_for(rows, kThreads / 32);
    return l;
  }
  int64_t th = (cols + kVpt - 1) / kVpt;
  th = (th + 31) / 32 * 32;
  l.threads = (int)(th > max_group ? max_group : th);
  l.G = l.threads;
  l.blocks = blocks_for(rows, 1);
  return l;
}

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" {

void ditc_cu_layer_norm_mod(int32_t dtype, const void *x, const void *scale,
                            const void *bias, const void *mod_scale,
                            const void *mod_shift, void *y, int64_t rows,
                            int64_t cols, int64_t groups, int64_t scale_stride,
                            int64_t shift_stride, float scale_offset, float eps) {
  const char *name = "layer_norm_mod";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    if (groups <= 0 || (rows > 0 && rows % groups != 0))
      fatal(name, "rows (%lld) must be a multiple of the modulation's "
            "groups (%lld)", (long long)rows, (long long)groups);
    if ((mod_scale || mod_shift) && rows > (int64_t)UINT32_MAX)
      fatal(name, "%lld rows: a modulated norm takes fewer than 2^32",
            (long long)rows);
    if (scale_stride < 0 || shift_stride < 0)
      fatal(name, "negative modulation row stride (%lld, %lld)",
            (long long)scale_stride, (long long)shift_stride);
    if (rows <= 0 || cols <= 0)
      return;
    Modulation<S> m;
    m.ms = static_cast<const S *>(mod_scale);
    m.mt = static_cast<const S *>(mod_shift);
    m.per_group = rows / groups;
    m.ms_stride = scale_stride;
    m.mt_stride = shift_stride;
    m.offset = scale_offset;
    const bool modulated = mod_scale || mod_shift;
    const RowLaunch l = row_launch(rows, cols, modulated ? kMaxModGroup : kMaxGroup);
    launch(modulated ? meanvar_norm_kernel<S, false, true>
                     : meanvar_norm_kernel<S, false, false>,
           l.blocks, l.threads, static_cast<const S *>(x),
           static_cast<const S *>(scale), static_cast<const S *>(bias), m,
           static_cast<S *>(y), rows, cols, eps, l.G, 1, 1, 1);
    check_launch(name);
  });
}

void ditc_cu_layer_norm(int32_t dtype, const void *x, const void *scale,
                        const void *bias, void *y, int64_t rows, int64_t cols,
                        float eps) {
  ditc_cu_layer_norm_mod(dtype, x, scale, bias, nullptr, nullptr, y, rows,
                         cols, 1, cols, cols, 0.f, eps);
}

void ditc_cu_rms_norm(int32_t dtype, const void *x, const void *scale,
                      void *y, int64_t rows, int64_t cols, float eps) {
  const char *name = "rms_norm";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    if (rows <= 0 || cols <= 0)
      return;
    const RowLaunch l = row_launch(rows, cols);
    launch(rms_norm_kernel<S>, l.blocks, l.threads, static_cast<const S *>(x),
           static_cast<const S *>(scale), static_cast<S *>(y), rows, cols, eps,
           l.G);
    check_launch(name);
  });
}

void ditc_cu_group_norm(int32_t dtype, const void *x, const void *scale,
                        const void *bias, void *y, int64_t n, int64_t c,
                        int64_t spatial, int64_t groups, float eps) {
  const char *name = "group_norm";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    if (groups <= 0 || c % groups != 0)
      fatal(name, "channels (%lld) must be a multiple of groups (%lld)",
            (long long)c, (long long)groups);
    if (n <= 0 || c <= 0 || spatial <= 0)
      return;
    const int64_t cpg = c / groups, rows = n * groups, len = cpg * spatial;
    const RowLaunch l = row_launch(rows, len);
    launch(meanvar_norm_kernel<S, true, false>, l.blocks, l.threads,
           static_cast<const S *>(x), static_cast<const S *>(scale),
           static_cast<const S *>(bias), Modulation<S>(), static_cast<S *>(y),
           rows, len, eps, l.G, spatial, cpg, groups);
    check_launch(name);
  });
}

void ditc_cu_softmax(int32_t dtype, const void *x, void *y, int64_t outer,
                     int64_t len, int64_t inner) {
  const char *name = "softmax";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    if (outer <= 0 || len <= 0 || inner <= 0)
      return;
    if (inner == 1) {
      const RowLaunch l = row_launch(outer, len);
      launch(softmax_rows_kernel<S>, l.blocks, l.threads,
             static_cast<const S *>(x), static_cast<S *>(y), outer, len, l.G);
    } else {
      launch(softmax_inner_kernel<S>, blocks_for(outer * inner, kThreads),
             kThreads, static_cast<const S *>(x), static_cast<S *>(y), outer,
             len, inner);
    }
    check_launch(name);
  });
}

} // extern "C"
