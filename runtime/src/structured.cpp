//===- structured.cpp - arg_reduce, cumsum, pool, scatters, sampling -----===//
//
// Kernels for ONNX ops that transformer and diffusion graphs use rarely
// (index reductions, running sums, pooling, transposed convolution, grid
// sampling, scatters): plain loops over a typed view of the data, parallel
// over independent rows with OpenMP. Compiled once, not per ISA.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include "ditc/runtime/det.h"
#include "ditc/runtime/ditc_kernels.h"

#include <omp.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

namespace {

using ditc_rt::fatal;

/// Calls f(T{}) with the C type of a "number" dtype (F32 F64 I8..U64).
template <class F> void withNumber(const char *who, int32_t dtype, F &&f) {
  switch (dtype) {
  case DITC_RT_F32:
    return f(float{});
  case DITC_RT_F64:
    return f(double{});
  case DITC_RT_I64:
    return f(int64_t{});
  case DITC_RT_I32:
    return f(int32_t{});
  case DITC_RT_I16:
    return f(int16_t{});
  case DITC_RT_I8:
    return f(int8_t{});
  case DITC_RT_U64:
    return f(uint64_t{});
  case DITC_RT_U32:
    return f(uint32_t{});
  case DITC_RT_U16:
    return f(uint16_t{});
  case DITC_RT_U8:
    return f(uint8_t{});
  }
  fatal(who, "dtype %d is not a number type", (int)dtype);
}

/// The accumulator of running sums and averages: double for floats, the
/// type itself for integers (which wrap).
template <class T>
using Acc = std::conditional_t<std::is_floating_point_v<T>, double, T>;

/// Index `k` of an I64 or I32 index array.
int64_t indexAt(const char *who, const void *indices, int32_t dtype,
                int64_t k) {
  if (dtype == DITC_RT_I64)
    return static_cast<const int64_t *>(indices)[k];
  if (dtype == DITC_RT_I32)
    return static_cast<const int32_t *>(indices)[k];
  fatal(who, "index dtype %d", (int)dtype);
}

/// `i` wrapped into [0, n) when negative; stops the program when outside.
int64_t wrapIndex(const char *who, int64_t i, int64_t n) {
  int64_t w = i < 0 ? i + n : i;
  if (w < 0 || w >= n)
    fatal(who, "index %lld out of range for an axis of %lld", (long long)i,
          (long long)n);
  return w;
}

int64_t product(const int64_t *s, int32_t n) {
  int64_t p = 1;
  for (int32_t i = 0; i < n; ++i)
    p *= s[i];
  return p;
}

/// Advances the row-major multi-index `idx` over `shape`; false at the end.
bool nextIndex(std::vector<int64_t> &idx, const int64_t *shape) {
  for (int64_t d = (int64_t)idx.size() - 1; d >= 0; --d) {
    if (++idx[d] < shape[d])
      return true;
    idx[d] = 0;
  }
  return false;
}

template <class T> void combine(int32_t reduction, T &dst, T v) {
  switch (reduction) {
  case 0:
    dst = v;
    return;
  case 1:
    dst = (T)(dst + v);
    return;
  case 2:
    dst = (T)(dst * v);
    return;
  case 3:
    dst = v > dst ? v : dst;
    return;
  case 4:
    dst = v < dst ? v : dst;
    return;
  }
  fatal("scatter", "reduction %d", (int)reduction);
}

/// Calls f(T{}) with the element type scatters combine in: any dtype (as
/// raw bytes of its size) when replacing, a number type otherwise.
template <class F>
void withScatterType(const char *who, int32_t reduction, int32_t dtype,
                     F &&f) {
  if (reduction == 0 && ditc_rt_dtype_bytes(dtype) > 0) {
    switch (ditc_rt_dtype_bytes(dtype)) {
    case 1:
      return f(uint8_t{});
    case 2:
      return f(uint16_t{});
    case 4:
      return f(uint32_t{});
    case 8:
      return f(uint64_t{});
    }
  }
  withNumber(who, dtype, f);
}

} // namespace

extern "C" {

void ditc_rt_arg_reduce(int32_t op, int32_t dtype, const void *x,
                        int64_t outer, int64_t len, int64_t inner,
                        int32_t select_last, int64_t *y) {
  if (op != 0 && op != 1)
    fatal("arg_reduce", "op %d", (int)op);
  withNumber("arg_reduce", dtype, [&](auto zero) {
    using T = decltype(zero);
    const T *px = static_cast<const T *>(x);
#pragma omp parallel for if (outer * inner > 4096)
    for (int64_t r = 0; r < outer * inner; ++r) {
      int64_t o = r / inner, i = r % inner;
      const T *row = px + o * len * inner + i;
      int64_t best = 0;
      for (int64_t k = 1; k < len; ++k) {
        T v = row[k * inner], b = row[best * inner];
        bool better = op == 0 ? (select_last ? v >= b : v > b)
                              : (select_last ? v <= b : v < b);
        if (better)
          best = k;
      }
      y[r] = best;
    }
  });
}

void ditc_rt_det(int32_t dtype, const void *x, void *y, int64_t batch,
                 int64_t n) {
  if (dtype != DITC_RT_F32 && dtype != DITC_RT_F64)
    fatal("det", "dtype %d is not F32 or F64", (int)dtype);
  bool f64 = dtype == DITC_RT_F64;
#pragma omp parallel for if (batch * n * n * n > 1 << 16)
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<double> a((size_t)(n * n));
    for (int64_t k = 0; k < n * n; ++k)
      a[k] = f64 ? static_cast<const double *>(x)[b * n * n + k]
                 : static_cast<const float *>(x)[b * n * n + k];
    double det = ditc_rt::determinant(a.data(), n);
    if (f64)
      static_cast<double *>(y)[b] = det;
    else
      static_cast<float *>(y)[b] = (float)det;
  }
}

void ditc_rt_cumsum(int32_t dtype, const void *x, void *y, int64_t outer,
                    int64_t len, int64_t inner, int32_t exclusive,
                    int32_t reverse) {
  withNumber("cumsum", dtype, [&](auto zero) {
    using T = decltype(zero);
    const T *px = static_cast<const T *>(x);
    T *py = static_cast<T *>(y);
#pragma omp parallel for if (outer * inner > 4096)
    for (int64_t r = 0; r < outer * inner; ++r) {
      int64_t o = r / inner, i = r % inner;
      int64_t base = o * len * inner + i;
      Acc<T> sum = 0;
      for (int64_t s = 0; s < len; ++s) {
        int64_t k = reverse ? len - 1 - s : s;
        T v = px[base + k * inner];
        if (!exclusive)
          sum = (Acc<T>)(sum + v);
        py[base + k * inner] = (T)sum;
        if (exclusive)
          sum = (Acc<T>)(sum + v);
      }
    }
  });
}

void ditc_rt_pool(int32_t kind, int32_t dtype, const void *x, void *y,
                  int64_t *indices, int64_t planes, int32_t rank,
                  const int64_t *in_shape, const int64_t *out_shape,
                  const int64_t *kernel, const int64_t *strides,
                  const int64_t *pads, const int64_t *dilations,
                  int32_t count_include_pad, int32_t p) {
  if (kind < 0 || kind > 2 || rank < 1)
    fatal("pool", "kind %d, rank %d", (int)kind, (int)rank);
  int64_t inSize = product(in_shape, rank), outSize = product(out_shape, rank);
  withNumber("pool", dtype, [&](auto zero) {
    using T = decltype(zero);
    const T *px = static_cast<const T *>(x);
    T *py = static_cast<T *>(y);
#pragma omp parallel for if (planes * outSize > 1024)
    for (int64_t plane = 0; plane < planes; ++plane) {
      std::vector<int64_t> o(rank, 0), k(rank, 0);
      const T *in = px + plane * inSize;
      for (int64_t j = 0; j < outSize; ++j) {
        // Window taps of output position o.
        double acc = 0;
        T best = std::numeric_limits<T>::lowest();
        int64_t bestAt = -1, counted = 0;
        std::fill(k.begin(), k.end(), 0);
        do {
          int64_t flat = 0;
          bool inside = true, padded = true;
          for (int32_t a = 0; a < rank; ++a) {
            int64_t pos = o[a] * strides[a] - pads[a] + k[a] * dilations[a];
            inside &= pos >= 0 && pos < in_shape[a];
            padded &= pos >= -pads[a] && pos < in_shape[a] + pads[rank + a];
            flat = flat * in_shape[a] + pos;
          }
          if (kind == 1 && (count_include_pad ? padded : inside))
            ++counted;
          if (!inside)
            continue;
          T v = in[flat];
          if (kind == 0) {
            if (bestAt < 0 || v > best) {
              best = v;
              bestAt = flat;
            }
          } else if (kind == 1) {
            acc += (double)v;
          } else {
            acc += std::pow(std::fabs((double)v), (double)p);
          }
        } while (nextIndex(k, kernel));
        if (kind == 0) {
          py[plane * outSize + j] = best;
          if (indices)
            indices[plane * outSize + j] =
                bestAt < 0 ? -1 : plane * inSize + bestAt;
        } else if (kind == 1) {
          py[plane * outSize + j] = (T)(counted ? acc / counted : 0.0);
        } else {
          py[plane * outSize + j] = (T)std::pow(acc, 1.0 / p);
        }
        nextIndex(o, out_shape);
      }
    }
  });
}

void ditc_rt_conv_transpose_f32(const float *x, const float *w,
                                const float *bias, float *y, int64_t batch,
                                int64_t in_channels, int64_t out_channels,
                                int32_t rank, const int64_t *in_shape,
                                const int64_t *out_shape,
                                const int64_t *kernel, const int64_t *strides,
                                const int64_t *pads, const int64_t *dilations,
                                int64_t group) {
  if (group < 1 || in_channels % group || out_channels % group)
    fatal("conv_transpose_f32", "channels %lld -> %lld, group %lld",
          (long long)in_channels, (long long)out_channels, (long long)group);
  int64_t inSize = product(in_shape, rank), outSize = product(out_shape, rank);
  int64_t kSize = product(kernel, rank);
  int64_t cin = in_channels / group, cout = out_channels / group;
  // One output plane per (sample, output channel): no two threads write
  // the same element.
#pragma omp parallel for
  for (int64_t plane = 0; plane < batch * out_channels; ++plane) {
    int64_t b = plane / out_channels, oc = plane % out_channels;
    int64_t g = oc / cout, ocg = oc % cout;
    float *out = y + plane * outSize;
    float init = bias ? bias[oc] : 0.f;
    for (int64_t j = 0; j < outSize; ++j)
      out[j] = init;
    std::vector<int64_t> i(rank), k(rank);
    for (int64_t ic = g * cin; ic < (g + 1) * cin; ++ic) {
      const float *in = x + (b * in_channels + ic) * inSize;
      const float *wk = w + (ic * cout + ocg) * kSize;
      std::fill(i.begin(), i.end(), 0);
      for (int64_t ii = 0; ii < inSize; ++ii, nextIndex(i, in_shape)) {
        float v = in[ii];
        std::fill(k.begin(), k.end(), 0);
        for (int64_t kk = 0; kk < kSize; ++kk, nextIndex(k, kernel)) {
          int64_t flat = 0;
          bool inside = true;
          for (int32_t a = 0; a < rank && inside; ++a) {
            int64_t pos = i[a] * strides[a] - pads[a] + k[a] * dilations[a];
            inside = pos >= 0 && pos < out_shape[a];
            flat = flat * out_shape[a] + pos;
          }
          if (inside)
            out[flat] += v * wk[kk];
        }
      }
    }
  }
}

} // extern "C"

namespace {

/// ONNX GridSample's reflection of a coordinate into [lo, hi].
float reflect(float v, float lo, float hi) {
  float range = hi - lo;
  if (range <= 0)
    return lo;
  if (v < lo) {
    float d = lo - v;
    int64_t n = (int64_t)(d / range);
    float r = d - n * range;
    return n % 2 == 0 ? lo + r : hi - r;
  }
  if (v > hi) {
    float d = v - hi;
    int64_t n = (int64_t)(d / range);
    float r = d - n * range;
    return n % 2 == 0 ? hi - r : lo + r;
  }
  return v;
}

/// Keys' cubic convolution weights (a = -0.75) for fractional offset t.
void cubicWeights(float t, float c[4]) {
  const float a = -0.75f;
  float x = t + 1;
  c[0] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  x = t;
  c[1] = ((a + 2) * x - (a + 3)) * x * x + 1;
  x = 1 - t;
  c[2] = ((a + 2) * x - (a + 3)) * x * x + 1;
  x = 2 - t;
  c[3] = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
}

struct GridSampler {
  const float *plane;
  const int64_t *dims; // spatial sizes, outermost first
  int32_t rank;
  int32_t padding;
  std::vector<float> lo, hi; // reflection borders per axis

  /// The element at integer position `pos` (outermost axis first) under the
  /// padding mode.
  float at(const int64_t *pos) const {
    int64_t flat = 0;
    for (int32_t a = 0; a < rank; ++a) {
      int64_t i = pos[a], d = dims[a];
      if (i < 0 || i >= d) {
        if (padding == 0)
          return 0.f;
        if (padding == 1)
          i = i < 0 ? 0 : d - 1;
        else
          i = (int64_t)reflect((float)i, lo[a], hi[a]);
        if (i < 0 || i >= d) // reflection of an edge outside the borders
          i = i < 0 ? 0 : d - 1;
      }
      flat = flat * d + i;
    }
    return plane[flat];
  }

  /// Separable interpolation with `taps` weights per axis starting at
  /// `first[a]`: sum over the tap grid of prod weights * at(position).
  float interpolate(const int64_t *first, const float *weights,
                    int32_t taps) const {
    std::vector<int64_t> t(rank, 0), pos(rank);
    int64_t tapsTotal = 1;
    for (int32_t a = 0; a < rank; ++a)
      tapsTotal *= taps;
    std::vector<int64_t> tapShape(rank, taps);
    float sum = 0.f;
    for (int64_t n = 0; n < tapsTotal; ++n, nextIndex(t, tapShape.data())) {
      float wgt = 1.f;
      for (int32_t a = 0; a < rank; ++a) {
        pos[a] = first[a] + t[a];
        wgt *= weights[a * taps + t[a]];
      }
      sum += wgt * at(pos.data());
    }
    return sum;
  }
};

} // namespace

extern "C" {

void ditc_rt_grid_sample_f32(const float *x, const float *grid, float *y,
                             int64_t n, int64_t c, int32_t rank,
                             const int64_t *in_shape,
                             const int64_t *out_shape, int32_t mode,
                             int32_t padding, int32_t align_corners) {
  if (rank < 1 || mode < 0 || mode > 2 || padding < 0 || padding > 2)
    fatal("grid_sample_f32", "rank %d, mode %d, padding %d", (int)rank,
          (int)mode, (int)padding);
  int64_t inSize = product(in_shape, rank), outSize = product(out_shape, rank);
#pragma omp parallel for
  for (int64_t plane = 0; plane < n * c; ++plane) {
    int64_t b = plane / c;
    GridSampler s{x + plane * inSize, in_shape, rank, padding, {}, {}};
    for (int32_t a = 0; a < rank; ++a) {
      s.lo.push_back(align_corners ? 0.f : -0.5f);
      s.hi.push_back(align_corners ? in_shape[a] - 1.f : in_shape[a] - 0.5f);
    }
    std::vector<float> coord(rank), weights(4 * rank);
    std::vector<int64_t> first(rank);
    for (int64_t j = 0; j < outSize; ++j) {
      const float *g = grid + (b * outSize + j) * rank;
      for (int32_t a = 0; a < rank; ++a) {
        // The grid's last axis lists the innermost spatial axis first.
        float v = g[rank - 1 - a];
        float d = (float)in_shape[a];
        float u = align_corners ? (v + 1) / 2.f * (d - 1)
                                : ((v + 1) * d - 1) / 2.f;
        if (mode == 1)
          u = std::nearbyint(u);
        if (u < s.lo[a] || u > s.hi[a]) {
          if (padding == 1)
            u = u < 0 ? 0.f : (u > d - 1 ? d - 1 : u);
          else if (padding == 2)
            u = reflect(u, s.lo[a], s.hi[a]);
        }
        coord[a] = u;
      }
      float out;
      if (mode == 1) {
        for (int32_t a = 0; a < rank; ++a)
          first[a] = (int64_t)coord[a];
        out = s.at(first.data());
      } else {
        int32_t taps = mode == 0 ? 2 : 4;
        for (int32_t a = 0; a < rank; ++a) {
          float f = std::floor(coord[a]), t = coord[a] - f;
          if (mode == 0) {
            first[a] = (int64_t)f;
            weights[a * 2] = 1 - t;
            weights[a * 2 + 1] = t;
          } else {
            first[a] = (int64_t)f - 1;
            cubicWeights(t, &weights[a * 4]);
          }
        }
        out = s.interpolate(first.data(), weights.data(), taps);
      }
      y[plane * outSize + j] = out;
    }
  }
}

void ditc_rt_scatter_elements(int32_t reduction, int32_t dtype,
                              const void *data, const void *indices,
                              int32_t index_dtype, const void *updates,
                              void *out, const int64_t *data_shape,
                              const int64_t *index_shape, int32_t rank,
                              int32_t axis) {
  if (axis < 0 || axis >= rank)
    fatal("scatter_elements", "axis %d of rank %d", (int)axis, (int)rank);
  withScatterType("scatter_elements", reduction, dtype, [&](auto zero) {
    using T = decltype(zero);
    int64_t total = product(data_shape, rank);
    if (out != data)
      std::memcpy(out, data, total * sizeof(T));
    T *po = static_cast<T *>(out);
    const T *pu = static_cast<const T *>(updates);
    int64_t count = product(index_shape, rank);
    std::vector<int64_t> p(rank, 0);
    // In order: later updates of a replace win, as ONNX's reference.
    for (int64_t k = 0; k < count; ++k, nextIndex(p, index_shape)) {
      int64_t flat = 0;
      for (int32_t a = 0; a < rank; ++a) {
        int64_t i = p[a];
        if (a == axis)
          i = wrapIndex("scatter_elements",
                        indexAt("scatter_elements", indices, index_dtype, k),
                        data_shape[a]);
        flat = flat * data_shape[a] + i;
      }
      combine(reduction, po[flat], pu[k]);
    }
  });
}

void ditc_rt_scatter_nd(int32_t reduction, int32_t dtype, const void *data,
                        const void *indices, int32_t index_dtype,
                        const void *updates, void *out,
                        const int64_t *data_shape, int32_t data_rank,
                        int64_t count, int32_t depth) {
  if (depth < 1 || depth > data_rank)
    fatal("scatter_nd", "index depth %d for data of rank %d", (int)depth,
          (int)data_rank);
  withScatterType("scatter_nd", reduction, dtype, [&](auto zero) {
    using T = decltype(zero);
    int64_t total = product(data_shape, data_rank);
    int64_t slice = product(data_shape + depth, data_rank - depth);
    if (out != data)
      std::memcpy(out, data, total * sizeof(T));
    T *po = static_cast<T *>(out);
    const T *pu = static_cast<const T *>(updates);
    for (int64_t k = 0; k < count; ++k) {
      int64_t flat = 0;
      for (int32_t a = 0; a < depth; ++a)
        flat = flat * data_shape[a] +
               wrapIndex("scatter_nd",
                         indexAt("scatter_nd", indices, index_dtype,
                                 k * depth + a),
                         data_shape[a]);
      for (int64_t e = 0; e < slice; ++e)
        combine(reduction, po[flat * slice + e], pu[k * slice + e]);
    }
  });
}

} // extern "C"
