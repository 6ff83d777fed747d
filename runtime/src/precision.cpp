//===- precision.cpp - The entry points for any float type ---------------===//
//
// ditc compile --dtype bf16|f16 makes generated code call the dtype-taking
// entry points (ditc_kernels.def, "Any float type"). F32 forwards to the _f32
// kernels. F16 and BF16 convert their operands to f32, run the f32 kernel and
// round each result once: accumulation, softmax and norm statistics stay in
// f32, which is also what the GPU kernels do, so this is the reference the
// CUDA path is checked against. The binary op on BF16 and the reductions on
// F16 / BF16 take the same route (api.cpp forwards them here).
//
//===----------------------------------------------------------------------===//
#include "internal.h"

#include "../cuda/cache_rule.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdlib>
#include <memory>

namespace ditc_rt {
namespace {

bool is_half(int32_t dt) { return dt == DITC_RT_F16 || dt == DITC_RT_BF16; }

void check_float(const char *kernel, int32_t dt) {
  if (dt != DITC_RT_F32 && !is_half(dt))
    fatal(kernel, "dtype %d is not F32, F16 or BF16", (int)dt);
}

/// One unary op on a double, in double: the F64 path, a plain loop (f64
/// graphs are rare and small; ONNX node tests and reference checks use it).
double unary_f64(int32_t op, double v) {
  switch (op) {
  case DITC_RT_UNARY_NEG: return -v;
  case DITC_RT_UNARY_SQRT: return std::sqrt(v);
  case DITC_RT_UNARY_RECIPROCAL: return 1.0 / v;
  case DITC_RT_UNARY_EXP: return std::exp(v);
  case DITC_RT_UNARY_ERF: return std::erf(v);
  case DITC_RT_UNARY_COS: return std::cos(v);
  case DITC_RT_UNARY_SIN: return std::sin(v);
  case DITC_RT_UNARY_TANH: return std::tanh(v);
  case DITC_RT_UNARY_SIGMOID: return 1.0 / (1.0 + std::exp(-v));
  case DITC_RT_UNARY_RELU: return v > 0 ? v : 0.0;
  case DITC_RT_UNARY_GELU: return 0.5 * v * (1.0 + std::erf(v * M_SQRT1_2));
  case DITC_RT_UNARY_GELU_TANH: {
    double k = std::sqrt(2.0 / M_PI);
    return 0.5 * v * (1.0 + std::tanh(k * (v + 0.044715 * v * v * v)));
  }
  case DITC_RT_UNARY_SILU: return v / (1.0 + std::exp(-v));
  case DITC_RT_UNARY_ABS: return std::fabs(v);
  case DITC_RT_UNARY_LOG: return std::log(v);
  case DITC_RT_UNARY_FLOOR: return std::floor(v);
  case DITC_RT_UNARY_CEIL: return std::ceil(v);
  case DITC_RT_UNARY_ROUND: return std::nearbyint(v);
  }
  fatal("unary", "unknown op %d", (int)op);
}

/// An uninitialised f32 buffer.
struct Floats {
  std::unique_ptr<float[]> p;
  explicit Floats(int64_t n) : p(n > 0 ? new float[(size_t)n] : nullptr) {}
  float *get() { return p.get(); }
};

/// f32 copy of n elements of `dt` at x (null for a null x).
Floats widen(int32_t dt, const void *x, int64_t n) {
  if (!x)
    return Floats(0);
  Floats f(n);
  ditc_rt_cast(dt, DITC_RT_F32, x, f.get(), n);
  return f;
}

void narrow(const float *x, int32_t dt, void *y, int64_t n) {
  ditc_rt_cast(DITC_RT_F32, dt, x, y, n);
}

/// Elements an operand spans: 1 + sum (shape[i] - 1) * |strides[i]|.
int64_t span(const int64_t *shape, const int64_t *strides, int32_t rank) {
  int64_t s = 1;
  for (int32_t i = 0; i < rank; ++i) {
    if (shape[i] == 0)
      return 0;
    int64_t st = strides[i] < 0 ? -strides[i] : strides[i];
    s += (shape[i] - 1) * st;
  }
  return s;
}

int64_t product(const int64_t *shape, int32_t rank) {
  int64_t p = 1;
  for (int32_t i = 0; i < rank; ++i)
    p *= shape[i];
  return p;
}

} // namespace

void l1_sums(int32_t dtype, const void *x, const void *prev, int64_t n, double &num,
             double &den) {
  // Blocks widened to f32, each summed on the threads in double.
  constexpr int64_t kBlock = 1 << 16;
  size_t elem = dtype == DITC_RT_F32 ? 4 : 2;
  num = den = 0;
  for (int64_t lo = 0; lo < n; lo += kBlock) {
    int64_t m = std::min(kBlock, n - lo);
    const char *xb = static_cast<const char *>(x) + lo * (int64_t)elem;
    const char *pb = static_cast<const char *>(prev) + lo * (int64_t)elem;
    Floats fx(0), fp(0);
    const float *a = reinterpret_cast<const float *>(xb);
    const float *b = reinterpret_cast<const float *>(pb);
    if (dtype != DITC_RT_F32) {
      fx = widen(dtype, xb, m);
      fp = widen(dtype, pb, m);
      a = fx.get();
      b = fp.get();
    }
    double dn = 0, dd = 0;
#pragma omp parallel for reduction(+ : dn, dd) num_threads(num_threads()) schedule(static)
    for (int64_t i = 0; i < m; ++i) {
      dn += std::fabs((double)a[i] - (double)b[i]);
      dd += std::fabs((double)b[i]);
    }
    num += dn;
    den += dd;
  }
}

void binary_via_f32(int32_t op, int32_t dtype, const void *a,
                    const int64_t *a_strides, const void *b,
                    const int64_t *b_strides, void *out, const int64_t *shape,
                    int32_t rank) {
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    fatal("binary", "rank %d is outside [0, %d]", (int)rank, DITC_RT_MAX_RANK);
  int64_t n = product(shape, rank);
  if (n == 0)
    return;
  // An operand's elements lie at offsets [lo, lo + span) from its pointer
  // (lo < 0 with negative strides): widen that range, point into it.
  auto lowest = [&](const int64_t *strides) {
    int64_t lo = 0;
    for (int32_t i = 0; i < rank; ++i)
      if (strides[i] < 0)
        lo += (shape[i] - 1) * strides[i];
    return lo;
  };
  int64_t a_lo = lowest(a_strides), b_lo = lowest(b_strides);
  size_t half = 2; // bytes of an F16 / BF16 element
  Floats fa = widen(dtype, static_cast<const char *>(a) + a_lo * (int64_t)half,
                    span(shape, a_strides, rank));
  Floats fb = widen(dtype, static_cast<const char *>(b) + b_lo * (int64_t)half,
                    span(shape, b_strides, rank));
  const float *pa = fa.get() - a_lo, *pb = fb.get() - b_lo;
  bool compares = op >= DITC_RT_BINARY_EQUAL && op <= DITC_RT_BINARY_NOT_EQUAL;
  if (compares) {
    ditc_rt_binary(op, DITC_RT_F32, pa, a_strides, pb, b_strides, out, shape,
                   rank);
    return;
  }
  Floats y(n);
  ditc_rt_binary(op, DITC_RT_F32, pa, a_strides, pb, b_strides, y.get(), shape,
                 rank);
  narrow(y.get(), dtype, out, n);
}

void reduce_via_f32(int32_t op, int32_t dtype, const void *x,
                    const int64_t *shape, int32_t rank, int64_t axes_mask,
                    void *y) {
  if (rank < 0 || rank > DITC_RT_MAX_RANK)
    fatal("reduce", "rank %d is outside [0, %d]", (int)rank, DITC_RT_MAX_RANK);
  int64_t n = product(shape, rank), out = 1;
  for (int32_t d = 0; d < rank; ++d)
    if (!((axes_mask >> d) & 1))
      out *= shape[d];
  Floats fx = widen(dtype, x, n);
  Floats fy(out);
  ditc_rt_reduce(op, DITC_RT_F32, fx.get(), shape, rank, axes_mask, fy.get());
  narrow(fy.get(), dtype, y, out);
}

/// Attention in `dtype`: `kernel` (an f32 attention kernel taking q, k, v
/// and out) on the operands as they are for F32, else on their f32 copies,
/// its output rounded into `out`.
template <typename Kernel>
void attention_in_f32(int32_t dtype, const void *q, const void *k,
                      const void *v, void *out, int64_t batch, int64_t heads,
                      int64_t kv_heads, int64_t q_len, int64_t kv_len,
                      int64_t head_dim, int64_t v_head_dim, Kernel kernel) {
  if (dtype == DITC_RT_F32)
    return kernel(static_cast<const float *>(q), static_cast<const float *>(k),
                  static_cast<const float *>(v), static_cast<float *>(out));
  int64_t os = batch * heads * q_len * v_head_dim;
  Floats fq = widen(dtype, q, batch * heads * q_len * head_dim);
  Floats fk = widen(dtype, k, batch * kv_heads * kv_len * head_dim);
  Floats fv = widen(dtype, v, batch * kv_heads * kv_len * v_head_dim);
  Floats fo(os);
  kernel(fq.get(), fk.get(), fv.get(), fo.get());
  narrow(fo.get(), dtype, out, os);
}

/// attention_block and attention_layout (layout 0 for the former) in
/// `dtype`. Widening keeps each tensor's layout: it converts the dense
/// buffer.
void attention_layout_in(const char *name, int32_t dtype, const void *q,
                         const void *k, const void *v, const void *mask,
                         int32_t mask_kind, const int64_t *mask_strides,
                         void *out, float *lse, int64_t batch, int64_t heads,
                         int64_t kv_heads, int64_t q_len, int64_t kv_len,
                         int64_t head_dim, int64_t v_head_dim, float scale,
                         int32_t causal, int64_t q_offset, int64_t kv_offset,
                         int64_t kv_valid, int32_t layout) {
  check_float(name, dtype);
  attention_in_f32(dtype, q, k, v, out, batch, heads, kv_heads, q_len, kv_len,
                   head_dim, v_head_dim,
                   [&](const float *fq, const float *fk, const float *fv,
                       float *fo) {
                     ditc_rt_attention_layout_f32(
                         fq, fk, fv, mask, mask_kind, mask_strides, fo, lse,
                         batch, heads, kv_heads, q_len, kv_len, head_dim,
                         v_head_dim, scale, causal, q_offset, kv_offset,
                         kv_valid, layout);
                   });
}

} // namespace ditc_rt

using namespace ditc_rt;

extern "C" {

void ditc_rt_linear(int32_t dtype, const void *x, const void *w,
                    const void *bias, void *y, int64_t m, int64_t k, int64_t n,
                    int32_t transpose_w, int32_t activation) {
  check_float("linear", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_linear_f32(static_cast<const float *>(x),
                              static_cast<const float *>(w),
                              static_cast<const float *>(bias),
                              static_cast<float *>(y), m, k, n, transpose_w,
                              activation);
  Floats fx = widen(dtype, x, m * k), fw = widen(dtype, w, k * n),
         fb = widen(dtype, bias, n), fy(m * n);
  // The activation on the f32 result, then one rounding (as cuBLASLt's
  // epilogue).
  ditc_rt_linear_f32(fx.get(), fw.get(), fb.get(), fy.get(), m, k, n,
                     transpose_w, activation);
  narrow(fy.get(), dtype, y, m * n);
}

void ditc_rt_matmul(int32_t dtype, const void *a, const void *b, void *c,
                    int64_t m, int64_t k, int64_t n, int32_t batch_rank,
                    const int64_t *batch_shape, const int64_t *a_batch_strides,
                    const int64_t *b_batch_strides) {
  check_float("matmul", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_matmul_f32(
        static_cast<const float *>(a), static_cast<const float *>(b),
        static_cast<float *>(c), m, k, n, batch_rank, batch_shape,
        a_batch_strides, b_batch_strides);
  if (batch_rank < 0 || batch_rank > DITC_RT_MAX_RANK)
    fatal("matmul", "batch rank %d is outside [0, %d]", (int)batch_rank,
          DITC_RT_MAX_RANK);
  // Each operand spans its last matrix's end: strides count elements.
  int64_t as = m * k - 1 + span(batch_shape, a_batch_strides, batch_rank);
  int64_t bs = k * n - 1 + span(batch_shape, b_batch_strides, batch_rank);
  int64_t cs = product(batch_shape, batch_rank) * m * n;
  Floats fa = widen(dtype, a, as), fb = widen(dtype, b, bs), fc(cs);
  ditc_rt_matmul_f32(fa.get(), fb.get(), fc.get(), m, k, n, batch_rank,
                     batch_shape, a_batch_strides, b_batch_strides);
  narrow(fc.get(), dtype, c, cs);
}

void ditc_rt_conv2d(int32_t dtype, const void *x, const void *w,
                    const void *bias, void *y, int64_t batch,
                    int64_t in_channels, int64_t height, int64_t width,
                    int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                    int64_t stride_h, int64_t stride_w, int64_t pad_top,
                    int64_t pad_left, int64_t pad_bottom, int64_t pad_right,
                    int64_t dil_h, int64_t dil_w, int64_t group) {
  check_float("conv2d", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_conv2d_f32(
        static_cast<const float *>(x), static_cast<const float *>(w),
        static_cast<const float *>(bias), static_cast<float *>(y), batch,
        in_channels, height, width, out_channels, kernel_h, kernel_w, stride_h,
        stride_w, pad_top, pad_left, pad_bottom, pad_right, dil_h, dil_w,
        group);
  if (group <= 0 || stride_h <= 0 || stride_w <= 0 || dil_h <= 0 || dil_w <= 0)
    fatal("conv2d", "group, strides and dilations must be positive");
  int64_t oh = (height + pad_top + pad_bottom - dil_h * (kernel_h - 1) - 1) /
                   stride_h + 1;
  int64_t ow = (width + pad_left + pad_right - dil_w * (kernel_w - 1) - 1) /
                   stride_w + 1;
  int64_t ys = batch * out_channels * (oh > 0 ? oh : 0) * (ow > 0 ? ow : 0);
  Floats fx = widen(dtype, x, batch * in_channels * height * width);
  Floats fw =
      widen(dtype, w, out_channels * (in_channels / group) * kernel_h * kernel_w);
  Floats fb = widen(dtype, bias, out_channels), fy(ys);
  ditc_rt_conv2d_f32(fx.get(), fw.get(), fb.get(), fy.get(), batch,
                     in_channels, height, width, out_channels, kernel_h,
                     kernel_w, stride_h, stride_w, pad_top, pad_left,
                     pad_bottom, pad_right, dil_h, dil_w, group);
  narrow(fy.get(), dtype, y, ys);
}

void ditc_rt_attention(int32_t dtype, const void *q, const void *k,
                       const void *v, const void *mask, int32_t mask_kind,
                       const int64_t *mask_strides, void *out, int64_t batch,
                       int64_t heads, int64_t kv_heads, int64_t q_len,
                       int64_t kv_len, int64_t head_dim, int64_t v_head_dim,
                       float scale, int32_t causal) {
  check_float("attention", dtype);
  attention_in_f32(dtype, q, k, v, out, batch, heads, kv_heads, q_len, kv_len,
                   head_dim, v_head_dim,
                   [&](const float *fq, const float *fk, const float *fv,
                       float *fo) {
                     ditc_rt_attention_f32(fq, fk, fv, mask, mask_kind,
                                           mask_strides, fo, batch, heads,
                                           kv_heads, q_len, kv_len, head_dim,
                                           v_head_dim, scale, causal);
                   });
}

void ditc_rt_attention_block(int32_t dtype, const void *q, const void *k,
                             const void *v, const void *mask,
                             int32_t mask_kind, const int64_t *mask_strides,
                             void *out, float *lse, int64_t batch,
                             int64_t heads, int64_t kv_heads, int64_t q_len,
                             int64_t kv_len, int64_t head_dim,
                             int64_t v_head_dim, float scale, int32_t causal,
                             int64_t q_offset, int64_t kv_offset,
                             int64_t kv_valid) {
  attention_layout_in("attention_block", dtype, q, k, v, mask, mask_kind,
                      mask_strides, out, lse, batch, heads, kv_heads, q_len,
                      kv_len, head_dim, v_head_dim, scale, causal, q_offset,
                      kv_offset, kv_valid, 0);
}

void ditc_rt_attention_layout(int32_t dtype, const void *q, const void *k,
                              const void *v, const void *mask,
                              int32_t mask_kind, const int64_t *mask_strides,
                              void *out, float *lse, int64_t batch,
                              int64_t heads, int64_t kv_heads, int64_t q_len,
                              int64_t kv_len, int64_t head_dim,
                              int64_t v_head_dim, float scale, int32_t causal,
                              int64_t q_offset, int64_t kv_offset,
                              int64_t kv_valid, int32_t layout) {
  attention_layout_in("attention_layout", dtype, q, k, v, mask, mask_kind,
                      mask_strides, out, lse, batch, heads, kv_heads, q_len,
                      kv_len, head_dim, v_head_dim, scale, causal, q_offset,
                      kv_offset, kv_valid, layout);
}

// ring_attention and double_ring_attention: ring_attention.cpp (the blocks
// travel in the dtype).

void ditc_rt_layer_norm(int32_t dtype, const void *x, const void *scale,
                        const void *bias, void *y, int64_t rows, int64_t cols,
                        float eps) {
  check_float("layer_norm", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_layer_norm_f32(
        static_cast<const float *>(x), static_cast<const float *>(scale),
        static_cast<const float *>(bias), static_cast<float *>(y), rows, cols,
        eps);
  Floats fx = widen(dtype, x, rows * cols), fs = widen(dtype, scale, cols),
         fb = widen(dtype, bias, cols);
  ditc_rt_layer_norm_f32(fx.get(), fs.get(), fb.get(), fx.get(), rows, cols,
                         eps);
  narrow(fx.get(), dtype, y, rows * cols);
}

void ditc_rt_layer_norm_mod(int32_t dtype, const void *x, const void *scale,
                            const void *bias, const void *mod_scale,
                            const void *mod_shift, void *y, int64_t rows,
                            int64_t cols, int64_t groups, int64_t scale_stride,
                            int64_t shift_stride, float scale_offset, float eps) {
  check_float("layer_norm_mod", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_layer_norm_mod_f32(
        static_cast<const float *>(x), static_cast<const float *>(scale),
        static_cast<const float *>(bias), static_cast<const float *>(mod_scale),
        static_cast<const float *>(mod_shift), static_cast<float *>(y), rows,
        cols, groups, scale_stride, shift_stride, scale_offset, eps);
  // The modulation is applied to the f32 norm: the result rounds once. Its
  // rows are widened packed (cols apart).
  if (groups <= 0 || scale_stride < 0 || shift_stride < 0)
    fatal("layer_norm_mod", "groups %lld, modulation row strides %lld, %lld",
          (long long)groups, (long long)scale_stride, (long long)shift_stride);
  auto rowsOf = [&](const void *m, int64_t stride) {
    Floats f(m ? groups * cols : 0);
    for (int64_t g = 0; m && g < groups; ++g) // 2 bytes an element
      ditc_rt_cast(dtype, DITC_RT_F32, static_cast<const char *>(m) + g * stride * 2,
                   f.get() + g * cols, cols);
    return f;
  };
  Floats fx = widen(dtype, x, rows * cols), fs = widen(dtype, scale, cols),
         fb = widen(dtype, bias, cols), fms = rowsOf(mod_scale, scale_stride),
         fmt = rowsOf(mod_shift, shift_stride);
  ditc_rt_layer_norm_mod_f32(fx.get(), fs.get(), fb.get(), fms.get(), fmt.get(), fx.get(),
                             rows, cols, groups, cols, cols, scale_offset, eps);
  narrow(fx.get(), dtype, y, rows * cols);
}

void ditc_rt_rms_norm(int32_t dtype, const void *x, const void *scale,
                      void *y, int64_t rows, int64_t cols, float eps) {
  check_float("rms_norm", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_rms_norm_f32(static_cast<const float *>(x),
                                static_cast<const float *>(scale),
                                static_cast<float *>(y), rows, cols, eps);
  Floats fx = widen(dtype, x, rows * cols), fs = widen(dtype, scale, cols);
  ditc_rt_rms_norm_f32(fx.get(), fs.get(), fx.get(), rows, cols, eps);
  narrow(fx.get(), dtype, y, rows * cols);
}

void ditc_rt_group_norm(int32_t dtype, const void *x, const void *scale,
                        const void *bias, void *y, int64_t n, int64_t c,
                        int64_t spatial, int64_t groups, float eps) {
  check_float("group_norm", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_group_norm_f32(
        static_cast<const float *>(x), static_cast<const float *>(scale),
        static_cast<const float *>(bias), static_cast<float *>(y), n, c,
        spatial, groups, eps);
  int64_t count = n * c * spatial;
  Floats fx = widen(dtype, x, count), fs = widen(dtype, scale, c),
         fb = widen(dtype, bias, c);
  ditc_rt_group_norm_f32(fx.get(), fs.get(), fb.get(), fx.get(), n, c, spatial,
                         groups, eps);
  narrow(fx.get(), dtype, y, count);
}

void ditc_rt_softmax(int32_t dtype, const void *x, void *y, int64_t outer,
                     int64_t len, int64_t inner) {
  check_float("softmax", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_softmax_f32(static_cast<const float *>(x),
                               static_cast<float *>(y), outer, len, inner);
  int64_t count = outer * len * inner;
  Floats fx = widen(dtype, x, count);
  ditc_rt_softmax_f32(fx.get(), fx.get(), outer, len, inner);
  narrow(fx.get(), dtype, y, count);
}

void ditc_rt_unary(int32_t op, int32_t dtype, const void *x, void *y,
                   int64_t n) {
  if (dtype == DITC_RT_F64) {
    if (op < 0 || op >= DITC_RT_UNARY_COUNT)
      fatal("unary", "unknown op %d", (int)op);
    const double *xd = static_cast<const double *>(x);
    double *yd = static_cast<double *>(y);
    for (int64_t i = 0; i < n; ++i)
      yd[i] = unary_f64(op, xd[i]);
    return;
  }
  check_float("unary", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_unary_f32(op, static_cast<const float *>(x),
                             static_cast<float *>(y), n);
  if (n <= 0)
    return;
  Floats fx = widen(dtype, x, n);
  ditc_rt_unary_f32(op, fx.get(), fx.get(), n);
  narrow(fx.get(), dtype, y, n);
}

void ditc_rt_rope(int32_t dtype, const void *x, const void *cos_table,
                  const void *sin_table, void *y, int64_t n0, int64_t n1,
                  int64_t n2, int64_t dim, int64_t rot_dim,
                  const int64_t *table_strides, int32_t interleaved) {
  check_float("rope", dtype);
  if (dtype == DITC_RT_F32)
    return ditc_rt_rope_f32(static_cast<const float *>(x),
                            static_cast<const float *>(cos_table),
                            static_cast<const float *>(sin_table),
                            static_cast<float *>(y), n0, n1, n2, dim, rot_dim,
                            table_strides, interleaved);
  int64_t count = n0 * n1 * n2 * dim;
  int64_t shape[3] = {n0, n1, n2};
  // The tables span the rows they are read at, plus rot_dim values.
  int64_t ts = rot_dim - 1 + span(shape, table_strides, 3);
  Floats fx = widen(dtype, x, count), fc = widen(dtype, cos_table, ts),
         fs = widen(dtype, sin_table, ts);
  ditc_rt_rope_f32(fx.get(), fc.get(), fs.get(), fx.get(), n0, n1, n2, dim,
                   rot_dim, table_strides, interleaved);
  narrow(fx.get(), dtype, y, count);
}

void ditc_rt_probe_change(int32_t dtype, const void *x, void *prev, int64_t n,
                          double *slot) {
  check_float("probe_change", dtype);
  if (n < 0)
    fatal("probe_change", "n %lld < 0", (long long)n);
  double num = 0, den = 0;
  if (slot[2] >= 1)
    ditc_rt::l1_sums(dtype, x, prev, n, num, den);
  slot[0] = num;
  slot[1] = den;
  slot[2] += 1;
  std::memcpy(prev, x, (size_t)n * (dtype == DITC_RT_F32 ? 4 : 2));
}

int32_t ditc_rt_cache_decide(int32_t kind, int32_t dtype, const void *x, void *ref,
                             int64_t n, const double *params, int32_t num_params,
                             double *slot, int32_t mode) {
  if (mode == ditc_cache::kTake)
    return ditc_cache::take(slot);
  check_float("cache_decide", dtype);
  if (kind != 0 && kind != 1)
    fatal("cache_decide", "unknown kind %d", (int)kind);
  if (mode != ditc_cache::kNow && mode != ditc_cache::kAhead)
    fatal("cache_decide", "unknown mode %d", (int)mode);
  if (num_params < 3)
    fatal("cache_decide",
          "%d params: the threshold, the fraction computed first and at least one coefficient",
          (int)num_params);
  double d = std::nan("");
  if (slot[0] >= 0 && slot[5] != 0) { // a denoising step with a reference
    double num = 0, den = 0;
    ditc_rt::l1_sums(dtype, x, ref, n, num, den);
    d = num / den;
  }
  ditc_cache::Decision r = mode == ditc_cache::kNow
                               ? ditc_cache::decide(kind, d, params, num_params, slot)
                               : ditc_cache::decideAhead(kind, d, params, num_params, slot);
  if (r.keepInput)
    std::memcpy(ref, x, (size_t)n * (dtype == DITC_RT_F32 ? 4 : 2));
  return mode == ditc_cache::kNow && r.skip;
}

void ditc_rt_cache_apply(int32_t dtype, int32_t skip, const void *computed,
                         const void *base, void *residual, void *y, int64_t n) {
  check_float("cache_apply", dtype);
  int32_t a = skip ? DITC_RT_BINARY_ADD : DITC_RT_BINARY_SUB;
  int64_t shape[1] = {n}, strides[1] = {1};
  if (skip) {
    ditc_rt_binary(a, dtype, base, strides, residual, strides, y, shape, 1);
    return;
  }
  ditc_rt_binary(a, dtype, computed, strides, base, strides, residual, shape, 1);
  if (y != computed)
    std::memmove(y, computed, (size_t)n * (dtype == DITC_RT_F32 ? 4 : 2));
}

} // extern "C"
