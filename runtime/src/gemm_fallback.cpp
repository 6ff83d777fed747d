//===- gemm_fallback.cpp - linear, matmul and conv2d without oneDNN ------===//
//
// Built instead of onednn.cpp when the runtime is configured with
// -DDITC_RT_ONEDNN=OFF: a machine without oneDNN (the lent GPU machine, where
// these are the CPU reference of the GPU tests). The same entry points,
// argument checks, error lines and semantics as onednn.cpp; keep the two in
// step.
//
// GEMM: C = A op(B) (+ C), f32 throughout, blocked as usual: K in slices of
// kKC; each slice of B is packed once into kNR-column panels (shared by the
// threads), then tiles of C (kMC x kNC, smaller when there would be fewer
// tiles than threads) go to the threads, each packing its rows of A into
// kMR-row panels and running a kMR x kNR register-blocked micro-kernel over
// them. Every C element sums its products in the same order whatever the
// thread count (K slices in order, products within a slice in order), so
// results do not depend on the threads.
//
// The micro-kernel is written once with GCC vector extensions of VW floats
// and compiled three times on x86-64: AVX-512 (VW 16), AVX2 + FMA (VW 8) and
// the baseline (VW 4, the only one elsewhere); the widest the CPU runs is
// picked when the library loads (the ISA setting of the other kernels does
// not apply). Nothing of the AVX code is shared: the body is always inlined.
//
// conv2d: im2col per (image, group) into a scratch of at most kColFloats
// floats (output rows in chunks), then the GEMM w_g [M/G, C/G*KH*KW] x col;
// 1x1 convolutions without stride or padding read x in place. Many small
// groups (depthwise) run one (image, group) per thread.
//
//===----------------------------------------------------------------------===//
#include "conv_shape.h"
#include "internal.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace ditc_rt {
namespace {

// The same thread policy as onednn.cpp: at least kFlopsPerThread flops each.
constexpr int64_t kFlopsPerThread = int64_t(1) << 21;

int threads_for(int64_t flops) {
  return (int)std::max<int64_t>(
      1, std::min<int64_t>(num_threads(), flops / kFlopsPerThread));
}

constexpr int kMR = 6;        // rows of the micro-kernel
constexpr int kNR = 16;       // columns of the micro-kernel
constexpr int64_t kKC = 256;  // K slice
constexpr int64_t kMC = 96;   // rows of a tile (multiple of kMR)
constexpr int64_t kNC = 1024; // columns of a tile (multiple of kNR)
constexpr int64_t kColFloats = int64_t(1) << 22; // conv2d im2col scratch

#if defined(__x86_64__) && defined(__GNUC__)
#define DITC_RT_GEMM_X86 1
#else
#define DITC_RT_GEMM_X86 0
#endif

/// A 64-byte aligned float buffer that only grows.
struct Buffer {
  float *p = nullptr;
  size_t cap = 0;
  Buffer() = default;
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  ~Buffer() { std::free(p); }
  float *get(const char *kernel, size_t n) {
    if (n > cap) {
      std::free(p);
      size_t bytes = (n * sizeof(float) + 63) / 64 * 64;
      p = static_cast<float *>(std::aligned_alloc(64, bytes));
      if (!p)
        fatal(kernel, "out of memory (%zu bytes of scratch)", bytes);
      cap = n;
    }
    return p;
  }
};

/// C [m, n] (row stride ldc) = A [m, k] (row stride lda) times B, which is
/// [k, n] (row stride ldb) or, when `bt`, [n, k] (row stride ldb);
/// `accumulate` adds to C, else C is overwritten (never read: it may hold
/// NaN).
struct Gemm {
  int64_t m, n, k;
  const float *a;
  int64_t lda;
  const float *b;
  int64_t ldb;
  bool bt;
  float *c;
  int64_t ldc;
  bool accumulate;
};

/// Packs rows [i0, i0 + mc) x columns [p0, p0 + kc) of A into kMR-row panels,
/// each kc x kMR (a column of kMR values per p), rows past mc zero.
void pack_a(const Gemm &g, int64_t i0, int64_t mc, int64_t p0, int64_t kc,
            float *dst) {
  for (int64_t ip = 0; ip < mc; ip += kMR) {
    const int64_t rows = std::min<int64_t>(kMR, mc - ip);
    for (int64_t r = 0; r < kMR; ++r) {
      if (r < rows) {
        const float *src = g.a + (i0 + ip + r) * g.lda + p0;
        for (int64_t p = 0; p < kc; ++p)
          dst[p * kMR + r] = src[p];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          dst[p * kMR + r] = 0.f;
      }
    }
    dst += kc * kMR;
  }
}

/// Packs panel `jp` (columns [jp kNR, jp kNR + kNR)) of rows [p0, p0 + kc)
/// of B: kc x kNR, columns past n zero.
void pack_b_panel(const Gemm &g, int64_t jp, int64_t p0, int64_t kc,
                  float *dst) {
  const int64_t j0 = jp * kNR;
  const int64_t cols = std::min<int64_t>(kNR, g.n - j0);
  if (!g.bt) {
    for (int64_t p = 0; p < kc; ++p) {
      const float *src = g.b + (p0 + p) * g.ldb + j0;
      float *d = dst + p * kNR;
      int64_t j = 0;
      for (; j < cols; ++j)
        d[j] = src[j];
      for (; j < kNR; ++j)
        d[j] = 0.f;
    }
  } else {
    for (int64_t j = 0; j < kNR; ++j) {
      if (j < cols) {
        const float *src = g.b + (j0 + j) * g.ldb + p0;
        for (int64_t p = 0; p < kc; ++p)
          dst[p * kNR + j] = src[p];
      } else {
        for (int64_t p = 0; p < kc; ++p)
          dst[p * kNR + j] = 0.f;
      }
    }
  }
}

/// C [mc, nc] (+)= packed A [mc, kc] x packed B [kc, nc], with vectors of VW
/// floats (kNR / VW of them per row of the micro-kernel). Inlined into one
/// function per instruction set (below), which sets the vector registers.
template <int VW>
__attribute__((always_inline)) inline void
macro_kernel_body(int64_t mc, int64_t nc, int64_t kc, const float *ap,
                  const float *bp, float *c, int64_t ldc, bool accumulate) {
  typedef float vec __attribute__((vector_size(VW * sizeof(float))));
  constexpr int NV = kNR / VW;
  for (int64_t jp = 0; jp < nc; jp += kNR) {
    const vec *b = reinterpret_cast<const vec *>(bp + jp * kc);
    const int64_t cols = std::min<int64_t>(kNR, nc - jp);
    for (int64_t ip = 0; ip < mc; ip += kMR) {
      const float *a = ap + ip * kc;
      vec acc[kMR][NV];
#pragma GCC unroll 16
      for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          acc[r][v] = vec{};
      for (int64_t p = 0; p < kc; ++p) {
        const vec *bv = b + p * NV;
        const float *ar = a + p * kMR;
#pragma GCC unroll 16
        for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 16
          for (int v = 0; v < NV; ++v)
            acc[r][v] += ar[r] * bv[v];
      }
      alignas(64) float out[kMR][kNR];
#pragma GCC unroll 16
      for (int r = 0; r < kMR; ++r)
#pragma GCC unroll 16
        for (int v = 0; v < NV; ++v)
          std::memcpy(&out[r][v * VW], &acc[r][v], sizeof(vec));
      const int64_t rows = std::min<int64_t>(kMR, mc - ip);
      for (int64_t r = 0; r < rows; ++r) {
        float *cr = c + (ip + r) * ldc + jp;
        if (accumulate)
          for (int64_t j = 0; j < cols; ++j)
            cr[j] += out[r][j];
        else
          for (int64_t j = 0; j < cols; ++j)
            cr[j] = out[r][j];
      }
    }
  }
}

void macro_kernel_generic(int64_t mc, int64_t nc, int64_t kc, const float *ap,
                          const float *bp, float *c, int64_t ldc,
                          bool accumulate) {
  macro_kernel_body<4>(mc, nc, kc, ap, bp, c, ldc, accumulate);
}

#if DITC_RT_GEMM_X86
__attribute__((target("avx2,fma"))) void
macro_kernel_avx2(int64_t mc, int64_t nc, int64_t kc, const float *ap,
                  const float *bp, float *c, int64_t ldc, bool accumulate) {
  macro_kernel_body<8>(mc, nc, kc, ap, bp, c, ldc, accumulate);
}

__attribute__((target("avx512f"))) void
macro_kernel_avx512(int64_t mc, int64_t nc, int64_t kc, const float *ap,
                    const float *bp, float *c, int64_t ldc, bool accumulate) {
  macro_kernel_body<16>(mc, nc, kc, ap, bp, c, ldc, accumulate);
}
#endif

using MacroKernel = void (*)(int64_t, int64_t, int64_t, const float *,
                             const float *, float *, int64_t, bool);

/// The widest of the above the CPU runs.
MacroKernel pick_macro_kernel() {
#if DITC_RT_GEMM_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return macro_kernel_avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return macro_kernel_avx2;
#endif
  return macro_kernel_generic;
}

/// Runs `g` on `threads` OpenMP threads (1: on the calling thread, also
/// inside a parallel region).
void gemm(const char *kernel, const Gemm &g, int threads) {
  if (g.m == 0 || g.n == 0)
    return;
  if (g.k == 0) {
    if (!g.accumulate)
      for (int64_t i = 0; i < g.m; ++i)
        std::memset(g.c + i * g.ldc, 0, sizeof(float) * g.n);
    return;
  }
  auto ceil_div = [](int64_t a, int64_t b) { return (a + b - 1) / b; };
  // Tiles of at most kMC x kNC; narrower (then lower) ones while there are
  // fewer tiles than threads. The tiling does not change any sum.
  int64_t mt = kMC, nt = kNC;
  int64_t tiles_m = ceil_div(g.m, mt), tiles_n = ceil_div(g.n, nt);
  if (tiles_m * tiles_n < threads) {
    nt = std::max<int64_t>(
        kNR, ceil_div(ceil_div(g.n, ceil_div(threads, tiles_m)), kNR) * kNR);
    tiles_n = ceil_div(g.n, nt);
  }
  if (tiles_m * tiles_n < threads) {
    mt = std::max<int64_t>(
        kMR, ceil_div(ceil_div(g.m, ceil_div(threads, tiles_n)), kMR) * kMR);
    tiles_m = ceil_div(g.m, mt);
  }
  const int64_t tiles = tiles_m * tiles_n;
  const int64_t panels = ceil_div(g.n, kNR);
  const int64_t kc_max = std::min(g.k, kKC);
  threads = (int)std::min<int64_t>(threads, std::max(tiles, panels));
  static const MacroKernel macro_kernel = pick_macro_kernel();
  thread_local Buffer b_buf;
  float *bp = b_buf.get(kernel, size_t(panels * kNR * kc_max));
#pragma omp parallel num_threads(threads) if (threads > 1)
  {
    thread_local Buffer a_buf;
    float *ap = a_buf.get(kernel, size_t(kMC * kc_max));
    for (int64_t p0 = 0; p0 < g.k; p0 += kKC) {
      const int64_t kc = std::min(kKC, g.k - p0);
      const bool accumulate = g.accumulate || p0 > 0;
#pragma omp for schedule(static)
      for (int64_t jp = 0; jp < panels; ++jp)
        pack_b_panel(g, jp, p0, kc, bp + jp * kNR * kc);
#pragma omp for schedule(dynamic)
      for (int64_t t = 0; t < tiles; ++t) {
        const int64_t i0 = (t / tiles_n) * mt, j0 = (t % tiles_n) * nt;
        const int64_t mc = std::min(mt, g.m - i0);
        const int64_t nc = std::min(nt, g.n - j0);
        pack_a(g, i0, mc, p0, kc, ap);
        macro_kernel(mc, nc, kc, ap, bp + j0 * kc, g.c + i0 * g.ldc + j0,
                     g.ldc, accumulate);
      }
    }
  }
}

/// A convolution's sizes (conv2d_f32's arguments, c / m all channels).
struct ConvShape {
  int64_t c, h, w, m, kh, kw, sh, sw, pt, pl, dh, dw, g, oh, ow;
};

void im2col(const ConvShape &s, const float *x, int64_t r0, int64_t r1,
            float *col, int threads) {
  const int64_t cg = s.c / s.g, cols = (r1 - r0) * s.ow;
  const int64_t rows = cg * s.kh * s.kw;
#pragma omp parallel for num_threads(threads) if (threads > 1) schedule(static)
  for (int64_t row = 0; row < rows; ++row) {
    const int64_t ci = row / (s.kh * s.kw), u = row / s.kw % s.kh,
                  v = row % s.kw;
    const float *xc = x + ci * s.h * s.w;
    float *d = col + row * cols;
    for (int64_t i = r0; i < r1; ++i, d += s.ow) {
      const int64_t yy = i * s.sh - s.pt + u * s.dh;
      if (yy < 0 || yy >= s.h) {
        std::memset(d, 0, sizeof(float) * s.ow);
        continue;
      }
      const float *xr = xc + yy * s.w;
      for (int64_t j = 0; j < s.ow; ++j) {
        const int64_t xx = j * s.sw - s.pl + v * s.dw;
        d[j] = xx >= 0 && xx < s.w ? xr[xx] : 0.f;
      }
    }
  }
}

/// One (image, group): y_g [mg, oh*ow] = w_g x im2col(x_g) (+ bias).
void conv_group(const char *kernel, const ConvShape &s, const float *x,
                const float *w, const float *bias, float *y, int threads,
                Buffer &scratch) {
  const int64_t cg = s.c / s.g, mg = s.m / s.g, kdim = cg * s.kh * s.kw;
  const int64_t npix = s.oh * s.ow;
  if (bias)
    for (int64_t o = 0; o < mg; ++o)
      std::fill(y + o * npix, y + (o + 1) * npix, bias[o]);
  Gemm g{mg, 0, kdim, w, kdim, nullptr, 0, false, nullptr, npix,
         bias != nullptr};
  if (s.kh == 1 && s.kw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 &&
      s.pl == 0 && s.oh == s.h && s.ow == s.w) { // x_g is the col matrix
    g.n = npix;
    g.b = x;
    g.ldb = npix;
    g.c = y;
    gemm(kernel, g, threads);
    return;
  }
  const int64_t chunk_rows = std::max<int64_t>(
      1, std::min<int64_t>(s.oh, kColFloats / std::max<int64_t>(1, kdim * s.ow)));
  float *col = scratch.get(kernel, size_t(kdim * chunk_rows * s.ow));
  for (int64_t r0 = 0; r0 < s.oh; r0 += chunk_rows) {
    const int64_t r1 = std::min(s.oh, r0 + chunk_rows);
    im2col(s, x, r0, r1, col, threads);
    g.n = (r1 - r0) * s.ow;
    g.b = col;
    g.ldb = g.n;
    g.c = y + r0 * s.ow;
    gemm(kernel, g, threads);
  }
}

} // namespace
} // namespace ditc_rt

using namespace ditc_rt;

extern "C" {

void ditc_rt_linear_f32(const float *x, const float *w, const float *bias,
                        float *y, int64_t m, int64_t k, int64_t n,
                        int32_t transpose_w, int32_t activation) {
  const char *name = "linear_f32";
  if (m < 0 || k < 0 || n < 0)
    fatal(name, "negative size");
  apply_activation(name, activation, y, 0); // checks the code
  if (m == 0 || n == 0)
    return;
  if (transpose_w && m <= DITC_RT_LINEAR_ROWS_MAX) { // [N, K] read once, streaming
    ditc_rt_linear_rows_f32(x, w, bias, y, m, k, n);
    apply_activation(name, activation, y, m * n);
    return;
  }
  if (bias) {
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(y + i * n, bias, sizeof(float) * n);
  } else if (k == 0) {
    std::memset(y, 0, sizeof(float) * m * n);
  }
  if (k > 0) {
    Gemm g{m, n, k, x, k, w, transpose_w ? k : n, transpose_w != 0, y, n,
           bias != nullptr};
    gemm(name, g, threads_for(2 * m * n * k));
  }
  apply_activation(name, activation, y, m * n);
}

void ditc_rt_matmul_f32(const float *a, const float *b, float *c, int64_t m,
                        int64_t k, int64_t n, int32_t batch_rank,
                        const int64_t *batch_shape,
                        const int64_t *a_batch_strides,
                        const int64_t *b_batch_strides) {
  const char *name = "matmul_f32";
  if (m < 0 || k < 0 || n < 0)
    fatal(name, "negative size");
  if (batch_rank < 0 || batch_rank > DITC_RT_MAX_RANK)
    fatal(name, "batch rank %d is outside [0, %d]", (int)batch_rank,
          DITC_RT_MAX_RANK);
  int64_t batches = 1;
  for (int d = 0; d < batch_rank; ++d)
    batches *= batch_shape[d];
  if (batches == 0 || m == 0 || n == 0)
    return;
  auto product = [&](int64_t bi, int threads) {
    int64_t ao = 0, bo = 0, rest = bi;
    for (int d = batch_rank - 1; d >= 0; --d) {
      int64_t i = rest % batch_shape[d];
      rest /= batch_shape[d];
      ao += i * a_batch_strides[d];
      bo += i * b_batch_strides[d];
    }
    Gemm g{m, n, k, a + ao, k, b + bo, n, false, c + bi * m * n, n, false};
    gemm(name, g, threads);
  };
  const int nt = num_threads();
  // Many small products: one per thread. Otherwise one threaded GEMM after
  // the other (the same split as onednn.cpp).
  if (nt > 1 && batches >= nt && m * n * k <= (int64_t(1) << 22) &&
      2 * batches * m * n * k >= nt * kFlopsPerThread) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t bi = 0; bi < batches; ++bi)
      product(bi, 1);
  } else {
    const int threads = threads_for(2 * m * n * k);
    for (int64_t bi = 0; bi < batches; ++bi)
      product(bi, threads);
  }
}

void ditc_rt_conv2d_f32(const float *x, const float *w, const float *bias,
                        float *y, int64_t batch, int64_t in_channels,
                        int64_t height, int64_t width, int64_t out_channels,
                        int64_t kernel_h, int64_t kernel_w, int64_t stride_h,
                        int64_t stride_w, int64_t pad_top, int64_t pad_left,
                        int64_t pad_bottom, int64_t pad_right, int64_t dil_h,
                        int64_t dil_w, int64_t group) {
  const char *name = "conv2d_f32";
  int64_t oh = 0, ow = 0;
  std::string why = ditc_rt::conv2dShape(
      batch, in_channels, height, width, out_channels, kernel_h, kernel_w,
      stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dil_h, dil_w,
      group, oh, ow);
  if (!why.empty())
    fatal(name, "%s", why.c_str());
  if (batch == 0 || out_channels == 0)
    return;
  const ConvShape s{in_channels, height,  width,    out_channels, kernel_h,
                    kernel_w,    stride_h, stride_w, pad_top,      pad_left,
                    dil_h,       dil_w,    group,    oh,           ow};
  const int64_t cg = in_channels / group, mg = out_channels / group;
  const int64_t npix = oh * ow;
  const int64_t items = batch * group;
  const int64_t item_flops = 2 * mg * npix * cg * kernel_h * kernel_w;
  const int threads = threads_for(items * item_flops);
  auto item = [&](int64_t it, int inner, Buffer &scratch) {
    const int64_t n = it / group, gi = it % group;
    conv_group(name, s, x + (n * in_channels + gi * cg) * height * width,
               w + gi * mg * cg * kernel_h * kernel_w,
               bias ? bias + gi * mg : nullptr,
               y + (n * out_channels + gi * mg) * npix, inner, scratch);
  };
  if (threads > 1 && items >= threads && item_flops <= (int64_t(1) << 24)) {
    // Many small (image, group) products (depthwise): one per thread.
#pragma omp parallel num_threads(threads)
    {
      thread_local Buffer scratch;
#pragma omp for schedule(dynamic)
      for (int64_t it = 0; it < items; ++it)
        item(it, 1, scratch);
    }
  } else {
    thread_local Buffer scratch;
    for (int64_t it = 0; it < items; ++it)
      item(it, threads, scratch);
  }
}

} // extern "C"
