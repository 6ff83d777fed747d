//===- api.cpp - Runtime control, ISA dispatch, the exported forwarders --===//
//
// Compiled once, for the baseline ISA. The kernels under isa/ are compiled
// once per CPU code path into their own namespaces; the table of the path in
// use is picked on first use (the best the CPU runs, or $DITC_RT_ISA) and the
// exported ditc_rt_* symbols forward to it.
//
//===----------------------------------------------------------------------===//
#include "internal.h"

#include <omp.h>

#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ditc_rt {

#define DITC_RT_DECLARE_TABLE(ns)                                             \
  namespace ns {                                                              \
  extern const IsaTable table;                                                \
  }
DITC_RT_DECLARE_TABLE(generic)
#ifdef DITC_RT_HAVE_AVX2
DITC_RT_DECLARE_TABLE(avx2)
#endif
#ifdef DITC_RT_HAVE_AVX512
DITC_RT_DECLARE_TABLE(avx512)
#endif
#ifdef DITC_RT_HAVE_AVX2_W16
DITC_RT_DECLARE_TABLE(avx2_w16)
#endif
#undef DITC_RT_DECLARE_TABLE

void fatal(const char *kernel, const char *fmt, ...) {
  std::fprintf(stderr, "ditc runtime: %s: ", kernel);
  va_list ap;
  va_start(ap, fmt);
  std::vfprintf(stderr, fmt, ap);
  va_end(ap);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  std::abort();
}

namespace {

std::atomic<int> g_threads{0}; // 0: the OpenMP default

// OMP_NUM_THREADS (its first value) or the number of processors. Not
// omp_get_max_threads(): kernels change the calling thread's OpenMP thread
// count (small GEMMs run on one thread), so a second model library loaded
// into the same process would read 1 there.
int default_threads() {
  static const int n = [] {
    if (const char *env = std::getenv("OMP_NUM_THREADS")) {
      int v = std::atoi(env);
      if (v > 0)
        return v;
    }
    int v = omp_get_num_procs();
    return v > 0 ? v : 1;
  }();
  return n;
}

// The table for `isa`, or null when it is not compiled in or the CPU lacks it.
const IsaTable *table_for(int isa) {
  switch (isa) {
  case DITC_RT_ISA_GENERIC:
    return &generic::table;
#ifdef DITC_RT_HAVE_AVX2
  case DITC_RT_ISA_AVX2:
    return __builtin_cpu_supports("x86-64-v3") ? &avx2::table : nullptr;
#endif
#ifdef DITC_RT_HAVE_AVX512
  case DITC_RT_ISA_AVX512:
    return __builtin_cpu_supports("x86-64-v4") ? &avx512::table : nullptr;
#endif
#ifdef DITC_RT_HAVE_AVX2_W16
  case DITC_RT_ISA_AVX2_W16:
    return __builtin_cpu_supports("x86-64-v3") ? &avx2_w16::table : nullptr;
#endif
  default:
    return nullptr;
  }
}

int best_isa() {
  if (const char *env = std::getenv("DITC_RT_ISA")) {
    static const struct {
      const char *name;
      int isa;
    } names[] = {{"generic", DITC_RT_ISA_GENERIC},
                 {"avx2", DITC_RT_ISA_AVX2},
                 {"avx512", DITC_RT_ISA_AVX512},
                 {"avx2_w16", DITC_RT_ISA_AVX2_W16}};
    for (const auto &n : names)
      if (std::strcmp(env, n.name) == 0 && table_for(n.isa))
        return n.isa;
    if (*env && std::strcmp(env, "auto") != 0)
      std::fprintf(stderr,
                   "ditc runtime: DITC_RT_ISA=%s is unknown or not supported "
                   "here; picking automatically\n",
                   env);
  }
  if (table_for(DITC_RT_ISA_AVX512))
    return DITC_RT_ISA_AVX512;
  if (table_for(DITC_RT_ISA_AVX2))
    return DITC_RT_ISA_AVX2;
  return DITC_RT_ISA_GENERIC;
}

std::atomic<int> g_isa{-2}; // -2: not picked yet

int active_isa() {
  int isa = g_isa.load(std::memory_order_acquire);
  if (isa == -2) {
    isa = best_isa();
    g_isa.store(isa, std::memory_order_release);
  }
  return isa;
}

const IsaTable &K() { return *table_for(active_isa()); }

} // namespace

int num_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : default_threads();
}

void apply_activation(const char *kernel, int32_t activation, float *y, int64_t n) {
  if (!ditc_rt_is_activation(activation))
    fatal(kernel, "activation %d is not GELU, GELU_TANH or SILU", (int)activation);
  if (activation != DITC_RT_ACTIVATION_NONE && n > 0)
    ditc_rt_unary_f32(activation, y, y, n);
}

} // namespace ditc_rt

using ditc_rt::K;

extern "C" {

//===--- Control ---------------------------------------------------------===//

void ditc_rt_set_num_threads(int32_t num_threads) {
  ditc_rt::g_threads.store(num_threads > 0 ? num_threads : 0,
                           std::memory_order_relaxed);
  omp_set_num_threads(ditc_rt::num_threads()); // what oneDNN reads
}

int32_t ditc_rt_get_num_threads(void) { return ditc_rt::num_threads(); }

namespace {
double *g_trace = nullptr;
int32_t g_traceSteps = 0;
std::chrono::steady_clock::time_point g_traceStart;
} // namespace

void ditc_rt_trace_begin(double *step_end_seconds, int32_t steps) {
  g_trace = steps > 0 ? step_end_seconds : nullptr;
  g_traceSteps = g_trace ? steps : 0;
  g_traceStart = std::chrono::steady_clock::now();
}

void ditc_rt_trace_step(int32_t step) {
  if (step >= 0 && step < g_traceSteps)
    g_trace[step] = std::chrono::duration<double>(
                        std::chrono::steady_clock::now() - g_traceStart)
                        .count();
}

int32_t ditc_rt_set_isa(int32_t isa) {
  if (isa == DITC_RT_ISA_AUTO) {
    ditc_rt::g_isa.store(ditc_rt::best_isa(), std::memory_order_release);
    return 1;
  }
  if (!ditc_rt::table_for(isa))
    return 0;
  ditc_rt::g_isa.store(isa, std::memory_order_release);
  return 1;
}

int32_t ditc_rt_get_isa(void) { return ditc_rt::active_isa(); }

//===--- Forwarders to the active ISA ------------------------------------===//
// Each definition must match its ditc_kernels.def declaration exactly (a
// mismatch is a compile error: two C functions of one name).

int64_t ditc_rt_attention_scratch_bytes(int64_t heads, int64_t kv_heads,
                                        int64_t q_len, int64_t kv_len,
                                        int64_t head_dim, int64_t v_head_dim) {
  return K().attention_scratch_bytes(heads, kv_heads, q_len, kv_len, head_dim,
                                     v_head_dim);
}

void ditc_rt_attention_f32(const float *q, const float *k, const float *v,
                           const void *mask, int32_t mask_kind,
                           const int64_t *mask_strides, float *out,
                           int64_t batch, int64_t heads, int64_t kv_heads,
                           int64_t q_len, int64_t kv_len, int64_t head_dim,
                           int64_t v_head_dim, float scale, int32_t causal) {
  K().attention_f32(q, k, v, mask, mask_kind, mask_strides, out, batch, heads,
                    kv_heads, q_len, kv_len, head_dim, v_head_dim, scale,
                    causal);
}

void ditc_rt_attention_block_f32(
    const float *q, const float *k, const float *v, const void *mask,
    int32_t mask_kind, const int64_t *mask_strides, float *out, float *lse,
    int64_t batch, int64_t heads, int64_t kv_heads, int64_t q_len,
    int64_t kv_len, int64_t head_dim, int64_t v_head_dim, float scale,
    int32_t causal, int64_t q_offset, int64_t kv_offset, int64_t kv_valid) {
  K().attention_block_f32(q, k, v, mask, mask_kind, mask_strides, out, lse,
                          batch, heads, kv_heads, q_len, kv_len, head_dim,
                          v_head_dim, scale, causal, q_offset, kv_offset,
                          kv_valid);
}

void ditc_rt_attention_layout_f32(
    const float *q, const float *k, const float *v, const void *mask,
    int32_t mask_kind, const int64_t *mask_strides, float *out, float *lse,
    int64_t batch, int64_t heads, int64_t kv_heads, int64_t q_len,
    int64_t kv_len, int64_t head_dim, int64_t v_head_dim, float scale,
    int32_t causal, int64_t q_offset, int64_t kv_offset, int64_t kv_valid,
    int32_t layout) {
  K().attention_layout_f32(q, k, v, mask, mask_kind, mask_strides, out, lse,
                           batch, heads, kv_heads, q_len, kv_len, head_dim,
                           v_head_dim, scale, causal, q_offset, kv_offset,
                           kv_valid, layout);
}

void ditc_rt_attention_merge_f32(float *out, float *lse,
                                 const float *block_out,
                                 const float *block_lse, int64_t rows,
                                 int64_t v_head_dim) {
  K().attention_merge_f32(out, lse, block_out, block_lse, rows, v_head_dim);
}

void ditc_rt_linear_rows_f32(const float *x, const float *w,
                             const float *bias, float *y, int64_t m, int64_t k,
                             int64_t n) {
  K().linear_rows_f32(x, w, bias, y, m, k, n);
}

void ditc_rt_layer_norm_f32(const float *x, const float *scale,
                            const float *bias, float *y, int64_t rows,
                            int64_t cols, float eps) {
  K().layer_norm_mod_f32(x, scale, bias, nullptr, nullptr, y, rows, cols, 1,
                         cols, cols, 0.f, eps);
}

void ditc_rt_layer_norm_mod_f32(const float *x, const float *scale,
                                const float *bias, const float *mod_scale,
                                const float *mod_shift, float *y,
                                int64_t rows, int64_t cols, int64_t groups,
                                int64_t scale_stride, int64_t shift_stride,
                                float scale_offset, float eps) {
  K().layer_norm_mod_f32(x, scale, bias, mod_scale, mod_shift, y, rows, cols,
                         groups, scale_stride, shift_stride, scale_offset, eps);
}

void ditc_rt_rms_norm_f32(const float *x, const float *scale, float *y,
                          int64_t rows, int64_t cols, float eps) {
  K().rms_norm_f32(x, scale, y, rows, cols, eps);
}

void ditc_rt_group_norm_f32(const float *x, const float *scale,
                            const float *bias, float *y, int64_t n, int64_t c,
                            int64_t spatial, int64_t groups, float eps) {
  K().group_norm_f32(x, scale, bias, y, n, c, spatial, groups, eps);
}

void ditc_rt_softmax_f32(const float *x, float *y, int64_t outer, int64_t len,
                         int64_t inner) {
  K().softmax_f32(x, y, outer, len, inner);
}

void ditc_rt_unary_f32(int32_t op, const float *x, float *y, int64_t n) {
  K().unary_f32(op, x, y, n);
}

void ditc_rt_is_nan(int32_t dtype, const void *x, uint8_t *y, int64_t n) {
  K().is_nan(dtype, x, y, n);
}

void ditc_rt_not_b8(const uint8_t *x, uint8_t *y, int64_t n) {
  K().not_b8(x, y, n);
}

void ditc_rt_binary(int32_t op, int32_t dtype, const void *a,
                    const int64_t *a_strides, const void *b,
                    const int64_t *b_strides, void *out, const int64_t *shape,
                    int32_t rank) {
  if (dtype == DITC_RT_BF16 && op >= 0 && op < DITC_RT_BINARY_COUNT &&
      (ditc_rt_binary_dtypes(op) & (1u << DITC_RT_BF16)))
    return ditc_rt::binary_via_f32(op, dtype, a, a_strides, b, b_strides, out, shape,
                          rank);
  K().binary(op, dtype, a, a_strides, b, b_strides, out, shape, rank);
}

void ditc_rt_where(int32_t dtype, const uint8_t *cond,
                   const int64_t *cond_strides, const void *x,
                   const int64_t *x_strides, const void *y,
                   const int64_t *y_strides, void *out, const int64_t *shape,
                   int32_t rank) {
  K().where(dtype, cond, cond_strides, x, x_strides, y, y_strides, out, shape,
            rank);
}

void ditc_rt_mul_add(int32_t dtype, const void *a, const int64_t *a_strides,
                     const void *b, const int64_t *b_strides, const void *c,
                     const int64_t *c_strides, void *out, const int64_t *shape,
                     int32_t rank) {
  K().mul_add(dtype, a, a_strides, b, b_strides, c, c_strides, out, shape, rank);
}

void ditc_rt_cast(int32_t src_dtype, int32_t dst_dtype, const void *x,
                  void *y, int64_t n) {
  K().cast(src_dtype, dst_dtype, x, y, n);
}

void ditc_rt_reduce(int32_t op, int32_t dtype, const void *x,
                    const int64_t *shape, int32_t rank, int64_t axes_mask,
                    void *y) {
  if (dtype == DITC_RT_F16 || dtype == DITC_RT_BF16)
    return ditc_rt::reduce_via_f32(op, dtype, x, shape, rank, axes_mask, y);
  K().reduce(op, dtype, x, shape, rank, axes_mask, y);
}

void ditc_rt_strided_copy(int64_t elem_size, const void *src,
                          int64_t src_offset, const int64_t *src_strides,
                          void *dst, const int64_t *dst_strides,
                          const int64_t *shape, int32_t rank) {
  K().strided_copy(elem_size, src, src_offset, src_strides, dst, dst_strides,
                   shape, rank);
}

void ditc_rt_gather(int64_t elem_size, const void *data, int64_t outer,
                    int64_t axis_len, int64_t inner, const void *indices,
                    int32_t index_dtype, int64_t num_indices, void *out) {
  K().gather(elem_size, data, outer, axis_len, inner, indices, index_dtype,
             num_indices, out);
}

void ditc_rt_rope_f32(const float *x, const float *cos_table,
                      const float *sin_table, float *y, int64_t n0, int64_t n1,
                      int64_t n2, int64_t dim, int64_t rot_dim,
                      const int64_t *table_strides, int32_t interleaved) {
  K().rope_f32(x, cos_table, sin_table, y, n0, n1, n2, dim, rot_dim,
               table_strides, interleaved);
}

void ditc_rt_trilu(int64_t elem_size, const void *x, void *y, int64_t batch,
                   int64_t rows, int64_t cols, int64_t k, int32_t upper) {
  K().trilu(elem_size, x, y, batch, rows, cols, k, upper);
}

} // extern "C"
