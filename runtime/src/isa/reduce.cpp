//===- reduce.cpp - Sum / mean / max / min / prod over any axes ----------===//
//
// The shape is coalesced into alternating kept / reduced runs, then x is read
// once in memory order: an innermost reduced run folds into one accumulator,
// an innermost kept run is an elementwise update of a row of accumulators.
// Float sums and products accumulate in double.
//
//===----------------------------------------------------------------------===//
#include "isa.h"

#include <math.h>
#include <stdlib.h>
#include <limits>
#include <type_traits>

namespace ditc_rt {
namespace DITC_RT_ISA_NS {
namespace {

constexpr int64_t kGrain = 32768;

template <class T> constexpr bool kFloat = std::is_floating_point_v<T>;

template <class T> struct RSum {
  using A = std::conditional_t<kFloat<T>, double, int64_t>;
  static A init() { return 0; }
  static DITC_INLINE A step(A a, T x) {
    if constexpr (kFloat<T>)
      return a + (double)x;
    else
      return (int64_t)((uint64_t)a + (uint64_t)(int64_t)x);
  }
  static DITC_INLINE A merge(A a, A b) { return step2(a, b); }
  static DITC_INLINE A step2(A a, A b) {
    if constexpr (kFloat<T>)
      return a + b;
    else
      return (int64_t)((uint64_t)a + (uint64_t)b);
  }
};
template <class T> struct RProd {
  using A = std::conditional_t<kFloat<T>, double, int64_t>;
  static A init() { return 1; }
  static DITC_INLINE A step(A a, T x) {
    if constexpr (kFloat<T>)
      return a * (double)x;
    else
      return (int64_t)((uint64_t)a * (uint64_t)(int64_t)x);
  }
  static DITC_INLINE A merge(A a, A b) {
    if constexpr (kFloat<T>)
      return a * b;
    else
      return (int64_t)((uint64_t)a * (uint64_t)b);
  }
};
template <class T> struct RMax {
  using A = T;
  static A init() {
    if constexpr (kFloat<T>)
      return -std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::min();
  }
  static DITC_INLINE A step(A a, T x) {
    if constexpr (kFloat<T>)
      return (x > a || x != x) ? x : a; // NaN sticks
    else
      return x > a ? x : a;
  }
  static DITC_INLINE A merge(A a, A b) { return step(a, b); }
};
template <class T> struct RMin {
  using A = T;
  static A init() {
    if constexpr (kFloat<T>)
      return std::numeric_limits<T>::infinity();
    else
      return std::numeric_limits<T>::max();
  }
  static DITC_INLINE A step(A a, T x) {
    if constexpr (kFloat<T>)
      return (x < a || x != x) ? x : a;
    else
      return x < a ? x : a;
  }
  static DITC_INLINE A merge(A a, A b) { return step(a, b); }
};

// Fold a contiguous run.
template <class Op, class T>
typename Op::A fold_run(typename Op::A acc, const T *x, int64_t n) {
  using A = typename Op::A;
  if constexpr (std::is_same_v<T, float> && std::is_same_v<Op, RSum<T>>) {
    acc += sum_f(x, n);
    return acc;
  } else if constexpr (std::is_same_v<T, float> &&
                       (std::is_same_v<Op, RMax<T>> ||
                        std::is_same_v<Op, RMin<T>>)) {
    constexpr bool is_max = std::is_same_v<Op, RMax<T>>;
    vf m = splat(Op::init());
    vi nan = vi{};
    int64_t i = 0;
    for (; i + W <= n; i += W) {
      vf v = loadu(x + i);
      nan |= v != v;
      m = is_max ? vmax(m, v) : vmin(m, v);
    }
    A r = acc;
    for (int k = 0; k < W; ++k) {
      r = Op::step(r, m[k]);
      if (nan[k])
        r = __builtin_nanf("");
    }
    for (; i < n; ++i)
      r = Op::step(r, x[i]);
    return r;
  } else {
    A a = Op::init();
    for (int64_t i = 0; i < n; ++i)
      a = Op::step(a, x[i]);
    return Op::merge(acc, a);
  }
}

struct Shape {
  int rank;
  int64_t size[DITC_RT_MAX_RANK];
  bool red[DITC_RT_MAX_RANK];
  int64_t xs[DITC_RT_MAX_RANK]; // x strides (contiguous)
  int64_t as[DITC_RT_MAX_RANK]; // accumulator strides (0 when reduced)
};

template <class Op, class T>
void rec(const Shape &s, int d, const T *x, typename Op::A *acc,
         const int64_t *lo, const int64_t *hi) {
  if (d == s.rank - 1) {
    if (s.red[d]) {
      acc[0] = fold_run<Op>(acc[0], x + lo[d], hi[d] - lo[d]);
    } else {
      for (int64_t i = lo[d]; i < hi[d]; ++i)
        acc[i] = Op::step(acc[i], x[i]);
    }
    return;
  }
  for (int64_t i = lo[d]; i < hi[d]; ++i)
    rec<Op>(s, d + 1, x + i * s.xs[d], acc + i * s.as[d], lo, hi);
}

template <class T, class A>
T finish(A a, int32_t op, int64_t count) {
  if (op == DITC_RT_REDUCE_MEAN) {
    if constexpr (kFloat<T>)
      return (T)(a / (double)count);
    else
      return count ? (T)(a / count) : (T)0;
  }
  return (T)a;
}

template <class Op, class T>
void reduce_run(int32_t op, const Shape &s, const T *x, T *y,
                int64_t out_count, int64_t count) {
  using A = typename Op::A;
  A *acc = nullptr;
  bool own = !std::is_same_v<A, T>;
  if (own) {
    acc = static_cast<A *>(malloc(sizeof(A) * (size_t)out_count));
    if (!acc)
      fatal("reduce", "out of memory");
  } else {
    acc = reinterpret_cast<A *>(y);
  }
  for (int64_t i = 0; i < out_count; ++i)
    acc[i] = Op::init();

  int64_t lo[DITC_RT_MAX_RANK], hi[DITC_RT_MAX_RANK];
  for (int d = 0; d < s.rank; ++d) {
    lo[d] = 0;
    hi[d] = s.size[d];
  }
  // Split the first kept dim across threads (disjoint accumulators); with
  // none, split the first dim and merge per-thread partials.
  int kd = -1;
  for (int d = 0; d < s.rank && kd < 0; ++d)
    if (!s.red[d])
      kd = d;
  int64_t total = 1;
  for (int d = 0; d < s.rank; ++d)
    total *= s.size[d];
  if (total == 0) {
    // An empty input: every output keeps its accumulator's initial value
    // (nothing to walk, and no dim to divide the work by).
  } else if (kd >= 0) {
    int64_t per = total / s.size[kd];
    parallel_range(s.size[kd], kGrain / (per > 0 ? per : 1) + 1,
                   [&](int64_t b, int64_t e) {
                     int64_t l2[DITC_RT_MAX_RANK], h2[DITC_RT_MAX_RANK];
                     for (int d = 0; d < s.rank; ++d) {
                       l2[d] = lo[d];
                       h2[d] = hi[d];
                     }
                     l2[kd] = b;
                     h2[kd] = e;
                     rec<Op>(s, 0, x, acc, l2, h2);
                   });
  } else {
    int64_t per = total / s.size[0];
    int nt = threads_for(s.size[0], kGrain / (per > 0 ? per : 1) + 1);
    if (nt <= 1) {
      rec<Op>(s, 0, x, acc, lo, hi);
    } else {
      A part[256];
      if (nt > 256)
        nt = 256;
#pragma omp parallel num_threads(nt)
      {
        int64_t t = omp_get_thread_num(), T_ = omp_get_num_threads();
        int64_t l2[DITC_RT_MAX_RANK], h2[DITC_RT_MAX_RANK];
        for (int d = 0; d < s.rank; ++d) {
          l2[d] = lo[d];
          h2[d] = hi[d];
        }
        l2[0] = s.size[0] * t / T_;
        h2[0] = s.size[0] * (t + 1) / T_;
        part[t] = Op::init();
        rec<Op>(s, 0, x, &part[t], l2, h2);
        if (t == 0)
          for (int64_t k = T_; k < nt; ++k)
            part[k] = Op::init();
      }
      for (int t = 0; t < nt; ++t)
        acc[0] = Op::merge(acc[0], part[t]);
    }
  }
  if (own || op == DITC_RT_REDUCE_MEAN) {
    for (int64_t i = 0; i < out_count; ++i)
      y[i] = finish<T>(acc[i], op, count);
  }
  if (own)
    free(acc);
}

template <class T>
void reduce_typed(int32_t op, const Shape &s, const T *x, T *y,
                  int64_t out_count, int64_t count) {
  switch (op) {
  case DITC_RT_REDUCE_SUM:
  case DITC_RT_REDUCE_MEAN:
    return reduce_run<RSum<T>>(op, s, x, y, out_count, count);
  case DITC_RT_REDUCE_MAX:
    return reduce_run<RMax<T>>(op, s, x, y, out_count, count);
  case DITC_RT_REDUCE_MIN:
    return reduce_run<RMin<T>>(op, s, x, y, out_count, count);
  case DITC_RT_REDUCE_PROD:
    return reduce_run<RProd<T>>(op, s, x, y, out_count, count);
  }
}

} // namespace

void reduce(int32_t op, int32_t dtype, const void *x, const int64_t *shape,
            int32_t rank, int64_t axes_mask, void *y) {
  const char *name = "reduce";
  if (op < 0 || op >= DITC_RT_REDUCE_COUNT)
    fatal(name, "unknown op %d", (int)op);
  if (dtype != DITC_RT_F32 && dtype != DITC_RT_F64 && dtype != DITC_RT_I64 &&
      dtype != DITC_RT_I32)
    fatal(name, "dtype %d is not F32, F64, I64 or I32", (int)dtype);
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, DITC_RT_MAX_RANK);

  int64_t total = 1, out_count = 1;
  for (int d = 0; d < rank; ++d) {
    total *= shape[d];
    if (!((axes_mask >> d) & 1))
      out_count *= shape[d];
  }
  if (out_count == 0)
    return;
  const int64_t count = total / out_count; // elements per output

  // Coalesce: drop size-1 dims, merge neighbours of the same kind.
  Shape s;
  s.rank = 0;
  for (int d = 0; d < rank; ++d) {
    if (shape[d] == 1)
      continue;
    bool r = (axes_mask >> d) & 1;
    if (s.rank > 0 && s.red[s.rank - 1] == r) {
      s.size[s.rank - 1] *= shape[d];
    } else {
      s.size[s.rank] = shape[d];
      s.red[s.rank] = r;
      ++s.rank;
    }
  }
  if (s.rank == 0) {
    s.rank = 1;
    s.size[0] = 1;
    s.red[0] = false;
  }
  int64_t xs = 1, as = 1;
  for (int d = s.rank - 1; d >= 0; --d) {
    s.xs[d] = xs;
    xs *= s.size[d];
    s.as[d] = s.red[d] ? 0 : as;
    if (!s.red[d])
      as *= s.size[d];
  }

  switch (dtype) {
  case DITC_RT_F32:
    return reduce_typed(op, s, static_cast<const float *>(x),
                        static_cast<float *>(y), out_count, count);
  case DITC_RT_F64:
    return reduce_typed(op, s, static_cast<const double *>(x),
                        static_cast<double *>(y), out_count, count);
  case DITC_RT_I64:
    return reduce_typed(op, s, static_cast<const int64_t *>(x),
                        static_cast<int64_t *>(y), out_count, count);
  case DITC_RT_I32:
    return reduce_typed(op, s, static_cast<const int32_t *>(x),
                        static_cast<int32_t *>(y), out_count, count);
  }
}

} // namespace DITC_RT_ISA_NS
} // namespace ditc_rt
