//===- elementwise.cu - unary, is_nan, not_b8, cast, where, mul_add -----===//
//
// One thread per element in grid-stride loops. Half types load, compute in
// f32 (kernel_math.h) and round once on the store. y may be x (unary, cast
// between equal sizes, where and mul_add over an input of the output's
// layout): each
// element is read and written by the same thread.
//
//===----------------------------------------------------------------------===//
#include "common.cuh"

namespace ditc_cu {
namespace {

//===--- unary ------------------------------------------------------------===//

template <class S, int OP>
__global__ void __launch_bounds__(kThreads)
    unary_kernel(const S *x, S *y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += global_stride())
    y[i] = math::from_f32<S>(math::unary_f<OP>(math::to_f32(x[i])));
}

template <class S, int OP = 0>
void launch_unary(int32_t op, const void *x, void *y, int64_t n) {
  if constexpr (OP < DITC_RT_UNARY_COUNT) {
    if (op != OP)
      return launch_unary<S, OP + 1>(op, x, y, n);
    launch(unary_kernel<S, OP>, blocks_for(n, kThreads), kThreads,
           static_cast<const S *>(x), static_cast<S *>(y), n);
  }
}

//===--- is_nan, not_b8 ---------------------------------------------------===//

template <class S> __device__ __forceinline__ bool nan_of(S v) {
  return math::is_nan(math::to_f32(v));
}
template <> __device__ __forceinline__ bool nan_of<double>(double v) {
  return v != v;
}

template <class S>
__global__ void __launch_bounds__(kThreads)
    is_nan_kernel(const S *x, uint8_t *y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += global_stride())
    y[i] = nan_of(x[i]) ? 1 : 0;
}

__global__ void __launch_bounds__(kThreads)
    not_b8_kernel(const uint8_t *x, uint8_t *y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += global_stride())
    y[i] = x[i] == 0;
}

//===--- cast -------------------------------------------------------------===//

template <class S, class D>
__global__ void __launch_bounds__(kThreads)
    cast_kernel(const S *x, D *y, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += global_stride())
    y[i] = math::cast_value<D>(x[i]);
}

/// Calls f(T{}) with the storage type of a dtype cast takes.
template <class F>
void dispatch_cast(const char *kernel, const char *which, int32_t dtype,
                   F &&f) {
  switch (dtype) {
  case DITC_RT_F32:
    return f(float{});
  case DITC_RT_F16:
    return f(half_t{});
  case DITC_RT_BF16:
    return f(bfloat_t{});
  case DITC_RT_I64:
    return f(int64_t{});
  case DITC_RT_I32:
    return f(int32_t{});
  case DITC_RT_B8:
    return f(bool8{});
  }
  fatal(kernel, "%s dtype %d is not F32, F16, BF16, I64, I32 or B8", which,
        (int)dtype);
}

//===--- where ------------------------------------------------------------===//

template <class U>
__global__ void __launch_bounds__(kThreads)
    where_kernel(const __grid_constant__ Strided<4> s, int run,
                 const uint8_t *cond, const U *x, const U *y, U *out) {
  for_each_element<3>(s, run, [&](int64_t i, const int64_t(&off)[3]) {
    out[i] = cond[off[0]] ? x[off[1]] : y[off[2]]; // out is contiguous
  });
}

/// Bytes of an element of any dtype; 0 for an unknown one.
int64_t dtype_size(int32_t dtype) { return ditc_rt_dtype_bytes(dtype); }
static_assert(DITC_RT_DTYPE_COUNT == 13, "dtype_size lacks a dtype");

/// Three strided operands and a contiguous result over `shape` (where,
/// mul_add).
Strided<4> three_in_one_out(const char *name, const int64_t *shape, int32_t rank,
                            const int64_t *s0, const int64_t *s1, const int64_t *s2) {
  if (rank < 0 || rank > kMaxRank)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, kMaxRank);
  int64_t out_strides[kMaxRank];
  contiguous_strides(shape, rank, out_strides);
  const int64_t *st[4] = {s0, s1, s2, out_strides};
  return make_strided<4>(name, rank, shape, st);
}

template <class U>
void launch_where(const Strided<4> &s, const uint8_t *cond, const void *x,
                  const void *y, void *out) {
  const int run = run_length(s);
  launch(where_kernel<U>, blocks_for(s.total / run, kThreads), kThreads, s,
         run, cond, static_cast<const U *>(x),
         static_cast<const U *>(y),
         static_cast<U *>(out));
}

//===--- mul_add ----------------------------------------------------------===//

/// out = a * b + c in f32, rounded once: the CPU kernel's arithmetic
/// (runtime/src/isa/elementwise.cpp).
template <class S>
__global__ void __launch_bounds__(kThreads)
    mul_add_kernel(const __grid_constant__ Strided<4> s, int run, const S *a,
                   const S *b, const S *c, S *out) {
  for_each_element<3>(s, run, [&](int64_t i, const int64_t(&off)[3]) {
    out[i] = math::from_f32<S>(math::to_f32(a[off[0]]) * math::to_f32(b[off[1]]) +
                               math::to_f32(c[off[2]])); // out is contiguous
  });
}

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" {

void ditc_cu_unary(int32_t op, int32_t dtype, const void *x, void *y,
                   int64_t n) {
  const char *name = "unary";
  if (op < 0 || op >= DITC_RT_UNARY_COUNT)
    fatal(name, "unknown op %d", (int)op);
  dispatch_float(name, dtype, [&](auto t) {
    if (n > 0) {
      launch_unary<decltype(t)>(op, x, y, n);
      check_launch(name);
    }
  });
}

void ditc_cu_is_nan(int32_t dtype, const void *x, uint8_t *y, int64_t n) {
  const char *name = "is_nan";
  auto go = [&](auto t) {
    using S = decltype(t);
    if (n <= 0)
      return;
    launch(is_nan_kernel<S>, blocks_for(n, kThreads), kThreads,
           static_cast<const S *>(x), y, n);
    check_launch(name);
  };
  switch (dtype) {
  case DITC_RT_F32:
    return go(float{});
  case DITC_RT_F16:
    return go(half_t{});
  case DITC_RT_BF16:
    return go(bfloat_t{});
  case DITC_RT_F64:
    return go(double{});
  }
  fatal(name, "dtype %d is not a float dtype", (int)dtype);
}

void ditc_cu_not_b8(const uint8_t *x, uint8_t *y, int64_t n) {
  if (n <= 0)
    return;
  launch(not_b8_kernel, blocks_for(n, kThreads), kThreads, x, y, n);
  check_launch("not_b8");
}

void ditc_cu_cast(int32_t src_dtype, int32_t dst_dtype, const void *x,
                  void *y, int64_t n) {
  const char *name = "cast";
  dispatch_cast(name, "source", src_dtype, [&](auto s) {
    dispatch_cast(name, "destination", dst_dtype, [&](auto d) {
      using S = decltype(s);
      using D = decltype(d);
      if (n <= 0)
        return;
      launch(cast_kernel<S, D>, blocks_for(n, kThreads), kThreads,
             static_cast<const S *>(x), static_cast<D *>(y), n);
      check_launch(name);
    });
  });
}

void ditc_cu_where(int32_t dtype, const uint8_t *cond,
                   const int64_t *cond_strides, const void *x,
                   const int64_t *x_strides, const void *y,
                   const int64_t *y_strides, void *out, const int64_t *shape,
                   int32_t rank) {
  const char *name = "where";
  const int64_t size = dtype_size(dtype);
  if (size == 0)
    fatal(name, "unknown dtype %d", (int)dtype);
  const Strided<4> s = three_in_one_out(name, shape, rank, cond_strides, x_strides, y_strides);
  if (s.total == 0)
    return;
  switch (size) {
  case 1:
    launch_where<uint8_t>(s, cond, x, y, out);
    break;
  case 2:
    launch_where<uint16_t>(s, cond, x, y, out);
    break;
  case 4:
    launch_where<uint32_t>(s, cond, x, y, out);
    break;
  default:
    launch_where<uint64_t>(s, cond, x, y, out);
    break;
  }
  check_launch(name);
}

void ditc_cu_mul_add(int32_t dtype, const void *a, const int64_t *a_strides,
                     const void *b, const int64_t *b_strides, const void *c,
                     const int64_t *c_strides, void *out, const int64_t *shape,
                     int32_t rank) {
  const char *name = "mul_add";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    const Strided<4> s = three_in_one_out(name, shape, rank, a_strides, b_strides, c_strides);
    if (s.total == 0)
      return;
    const int run = run_length(s);
    launch(mul_add_kernel<S>, blocks_for(s.total / run, kThreads), kThreads,
           s, run, static_cast<const S *>(a),
           static_cast<const S *>(b),
           static_cast<const S *>(c), static_cast<S *>(out));
    check_launch(name);
  });
}

} // extern "C"
