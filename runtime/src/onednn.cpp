//===- onednn.cpp - linear, matmul and conv2d on oneDNN ------------------===//
//
// GEMMs go through dnnl_sgemm (oneDNN picks its JIT kernel for the CPU),
// but for linear layers of fewer than kLinearPrimitiveRows rows whose
// weight is [N, K] (transpose_w): those run oneDNN's matmul primitive,
// which does not repack the whole weight on every call as dnnl_sgemm does
// (a chunk loop calls the same layer once per chunk; -ditc-transpose-loop-
// weights stores its weights [N, K] for this). With a [K, N] weight the
// primitive runs a third as fast, so those stay on dnnl_sgemm. Primitives
// (matmul, and the convolutions) are cached by shape: creating one costs far
// more than running a small one.
// oneDNN threads with OpenMP: the calling thread's OpenMP thread count is set
// before each call to ditc_rt_get_num_threads(), or fewer for small products
// (at least kFlopsPerThread each): waking and joining OpenMP workers costs
// microseconds, and far more when the machine is busy and they were asleep.
//
// With -DDITC_RT_ONEDNN=OFF gemm_fallback.cpp replaces this file (plain C++,
// no oneDNN): keep the argument checks and error lines of the two in step.
//
//===----------------------------------------------------------------------===//
#include "conv_shape.h"
#include "internal.h"

#include <dnnl.hpp>
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace ditc_rt {
namespace {

constexpr int64_t kFlopsPerThread = int64_t(1) << 21;

// Sets the OpenMP threads for a call doing `flops` multiply-adds x 2.
void sync_threads(int64_t flops) {
  int64_t n = std::max<int64_t>(1, std::min<int64_t>(num_threads(),
                                                     flops / kFlopsPerThread));
  if (omp_get_max_threads() != n)
    omp_set_num_threads((int)n);
}

void sgemm(const char *kernel, char transb, int64_t m, int64_t n, int64_t k,
           const float *a, int64_t lda, const float *b, int64_t ldb,
           float beta, float *c, int64_t ldc) {
  dnnl_status_t st =
      dnnl_sgemm('N', transb, m, n, k, 1.f, a, lda, b, ldb, beta, c, ldc);
  if (st != dnnl_success)
    fatal(kernel, "dnnl_sgemm failed (status %d)", (int)st);
}

// c[m,n] = a[m,k] b[k,n] with care for empty sizes.
void gemm_nn(const char *kernel, int64_t m, int64_t k, int64_t n,
             const float *a, const float *b, float *c) {
  if (m == 0 || n == 0)
    return;
  if (k == 0) {
    std::memset(c, 0, sizeof(float) * m * n);
    return;
  }
  sgemm(kernel, 'N', m, n, k, a, k, b, n, 0.f, c, n);
}

//===--- Convolution primitive cache -------------------------------------===//

using Key = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                       int64_t, int64_t, int64_t, int64_t, bool>;

struct Conv {
  dnnl::convolution_forward prim;
  dnnl::memory::desc src, wei, bias, dst, scratch;
  dnnl::memory::desc src_plain, wei_plain, dst_plain;
  bool reorder_src, reorder_wei, reorder_dst;
  dnnl::reorder src_in, wei_in, dst_out; // when the layouts differ
};

dnnl::engine &engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// The cached primitive of `key` (made by `make` on a miss; a full cache is
// emptied first). oneDNN errors end the call of kernel `name`.
template <typename K, typename V, typename Make>
V cached(const char *name, std::mutex &mutex, std::map<K, V> &cache, const K &key,
         Make make) {
  try {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(key);
    if (it == cache.end()) {
      if (cache.size() >= 256)
        cache.clear();
      it = cache.emplace(key, make(key)).first;
    }
    return it->second;
  } catch (const dnnl::error &e) {
    fatal(name, "oneDNN: %s", e.what());
  }
}

// A primitive's scratchpad: this thread's buffer, grown as needed.
dnnl::memory scratchpad(const dnnl::memory::desc &desc) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < desc.get_size())
    buf.resize(desc.get_size());
  return dnnl::memory(desc, engine(), buf.data());
}

std::mutex g_conv_mutex;
std::map<Key, Conv> g_conv_cache;

Conv make_conv(const Key &key) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  auto [N, C, H, Wd, M, KH, KW, sh, sw, pt, pl, pb, pr, dh, dw, G, has_bias] =
      key;
  const int64_t OH = (H + pt + pb - dh * (KH - 1) - 1) / sh + 1;
  const int64_t OW = (Wd + pl + pr - dw * (KW - 1) - 1) / sw + 1;
  Conv c;
  c.src_plain = memory::desc({N, C, H, Wd}, dt::f32, tag::nchw);
  c.dst_plain = memory::desc({N, M, OH, OW}, dt::f32, tag::nchw);
  if (G == 1)
    c.wei_plain = memory::desc({M, C, KH, KW}, dt::f32, tag::oihw);
  else
    c.wei_plain =
        memory::desc({G, M / G, C / G, KH, KW}, dt::f32, tag::goihw);
  memory::desc src_any({N, C, H, Wd}, dt::f32, tag::any);
  memory::desc dst_any({N, M, OH, OW}, dt::f32, tag::any);
  memory::desc wei_any = G == 1 ? memory::desc({M, C, KH, KW}, dt::f32,
                                               tag::any)
                                : memory::desc({G, M / G, C / G, KH, KW},
                                               dt::f32, tag::any);
  memory::desc bias_md({M}, dt::f32, tag::x);
  // oneDNN counts dilation from 0.
  memory::dims strides = {sh, sw}, dil = {dh - 1, dw - 1}, pad_l = {pt, pl},
               pad_r = {pb, pr};
  auto d = has_bias
               ? convolution_forward::desc(
                     prop_kind::forward_inference,
                     algorithm::convolution_direct, src_any, wei_any, bias_md,
                     dst_any, strides, dil, pad_l, pad_r)
               : convolution_forward::desc(
                     prop_kind::forward_inference,
                     algorithm::convolution_direct, src_any, wei_any, dst_any,
                     strides, dil, pad_l, pad_r);
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  convolution_forward::primitive_desc pd(d, attr, engine());
  c.prim = convolution_forward(pd);
  c.src = pd.src_desc();
  c.wei = pd.weights_desc();
  c.dst = pd.dst_desc();
  c.bias = bias_md;
  c.scratch = pd.scratchpad_desc();
  c.reorder_src = c.src != c.src_plain;
  c.reorder_wei = c.wei != c.wei_plain;
  c.reorder_dst = c.dst != c.dst_plain;
  if (c.reorder_src)
    c.src_in = reorder(reorder::primitive_desc(engine(), c.src_plain,
                                               engine(), c.src));
  if (c.reorder_wei)
    c.wei_in = reorder(reorder::primitive_desc(engine(), c.wei_plain,
                                               engine(), c.wei));
  if (c.reorder_dst)
    c.dst_out = reorder(reorder::primitive_desc(engine(), c.dst, engine(),
                                                c.dst_plain));
  return c;
}

//===--- Matmul primitive cache (linear layers of few rows) -------------===//

// Below this many rows dnnl_sgemm's per-call packing of the weight costs
// more than the primitive loses (docs/BENCHMARKS.md, "AutoChunk": a 2048 x
// 5632 weight as [N, K], 2 threads, 512 rows: 158 against 194 GFLOP/s).
constexpr int64_t kLinearPrimitiveRows = 1024;

using LinearKey = std::tuple<int64_t, int64_t, int64_t, bool>;

struct Linear {
  dnnl::matmul prim;
  dnnl::memory::desc src, wei, bias, dst, scratch;
};

std::mutex g_linear_mutex;
std::map<LinearKey, Linear> g_linear_cache;

// y[m, n] = x[m, k] w[n, k]^T (+ bias[n]).
Linear make_linear(const LinearKey &key) {
  using namespace dnnl;
  using tag = memory::format_tag;
  using dt = memory::data_type;
  auto [m, k, n, has_bias] = key;
  Linear l;
  l.src = memory::desc({m, k}, dt::f32, tag::ab);
  l.wei = memory::desc({k, n}, dt::f32, tag::ba); // [n, k] in memory
  l.bias = memory::desc({1, n}, dt::f32, tag::ab);
  l.dst = memory::desc({m, n}, dt::f32, tag::ab);
  primitive_attr attr;
  attr.set_scratchpad_mode(scratchpad_mode::user);
  auto d = has_bias ? matmul::desc(l.src, l.wei, l.bias, l.dst)
                    : matmul::desc(l.src, l.wei, l.dst);
  matmul::primitive_desc pd(d, attr, engine());
  l.prim = matmul(pd);
  l.scratch = pd.scratchpad_desc();
  return l;
}

void linear_nk_primitive(const char *name, const float *x, const float *w,
                         const float *bias, float *y, int64_t m, int64_t k,
                         int64_t n) {
  Linear l = cached(name, g_linear_mutex, g_linear_cache,
                    LinearKey{m, k, n, bias != nullptr}, make_linear);
  try {
    using dnnl::memory;
    dnnl::engine &eng = engine();
    dnnl::stream strm(eng);
    std::unordered_map<int, memory> args = {
        {DNNL_ARG_SRC, memory(l.src, eng, const_cast<float *>(x))},
        {DNNL_ARG_WEIGHTS, memory(l.wei, eng, const_cast<float *>(w))},
        {DNNL_ARG_DST, memory(l.dst, eng, y)},
        {DNNL_ARG_SCRATCHPAD, scratchpad(l.scratch)}};
    if (bias)
      args.insert({DNNL_ARG_BIAS, memory(l.bias, eng, const_cast<float *>(bias))});
    l.prim.execute(strm, args);
    strm.wait();
  } catch (const dnnl::error &e) {
    fatal(name, "oneDNN: %s", e.what());
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
  sync_threads(2 * m * n * k);
  if (transpose_w && m < kLinearPrimitiveRows && k > 0) {
    linear_nk_primitive(name, x, w, bias, y, m, k, n);
    apply_activation(name, activation, y, m * n);
    return;
  }
  float beta = 0.f;
  if (bias) {
    for (int64_t i = 0; i < m; ++i)
      std::memcpy(y + i * n, bias, sizeof(float) * n);
    beta = 1.f;
  } else if (k == 0) {
    std::memset(y, 0, sizeof(float) * m * n);
  }
  if (k > 0 && transpose_w)
    sgemm(name, 'T', m, n, k, x, k, w, k, beta, y, n);
  else if (k > 0)
    sgemm(name, 'N', m, n, k, x, k, w, n, beta, y, n);
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
  sync_threads(2 * batches * m * n * k);
  auto offsets = [&](int64_t bi, int64_t &ao, int64_t &bo) {
    ao = bo = 0;
    for (int d = batch_rank - 1; d >= 0; --d) {
      int64_t i = bi % batch_shape[d];
      bi /= batch_shape[d];
      ao += i * a_batch_strides[d];
      bo += i * b_batch_strides[d];
    }
  };
  const int nt = num_threads();
  // Many small products: one per thread (oneDNN runs single-threaded inside
  // a parallel region). Otherwise one threaded GEMM after the other.
  if (nt > 1 && batches >= nt && m * n * k <= (int64_t(1) << 22) &&
      2 * batches * m * n * k >= nt * kFlopsPerThread) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t ao, bo;
      offsets(bi, ao, bo);
      gemm_nn(name, m, k, n, a + ao, b + bo, c + bi * m * n);
    }
  } else {
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t ao, bo;
      offsets(bi, ao, bo);
      gemm_nn(name, m, k, n, a + ao, b + bo, c + bi * m * n);
    }
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
  sync_threads(2 * batch * out_channels * oh * ow * (in_channels / group) *
               kernel_h * kernel_w);

  Key key{batch,    in_channels, height,   width,      out_channels,
          kernel_h, kernel_w,    stride_h, stride_w,   pad_top,
          pad_left, pad_bottom,  pad_right, dil_h,     dil_w,
          group,    bias != nullptr};
  Conv conv = cached(name, g_conv_mutex, g_conv_cache, key, make_conv);

  try {
    using dnnl::memory;
    dnnl::engine &eng = engine();
    dnnl::stream strm(eng);
    memory src_user(conv.src_plain, eng, const_cast<float *>(x));
    memory wei_user(conv.wei_plain, eng, const_cast<float *>(w));
    memory dst_user(conv.dst_plain, eng, y);
    memory src = src_user, wei = wei_user, dst = dst_user;
    if (conv.reorder_src) {
      src = memory(conv.src, eng);
      conv.src_in.execute(strm, src_user, src);
    }
    if (conv.reorder_wei) {
      wei = memory(conv.wei, eng);
      conv.wei_in.execute(strm, wei_user, wei);
    }
    if (conv.reorder_dst)
      dst = memory(conv.dst, eng);
    memory scratch = scratchpad(conv.scratch);
    std::unordered_map<int, memory> args = {{DNNL_ARG_SRC, src},
                                            {DNNL_ARG_WEIGHTS, wei},
                                            {DNNL_ARG_DST, dst},
                                            {DNNL_ARG_SCRATCHPAD, scratch}};
    if (bias)
      args.insert(
          {DNNL_ARG_BIAS, memory(conv.bias, eng, const_cast<float *>(bias))});
    conv.prim.execute(strm, args);
    if (conv.reorder_dst)
      conv.dst_out.execute(strm, dst, dst_user);
    strm.wait();
  } catch (const dnnl::error &e) {
    fatal(name, "oneDNN: %s", e.what());
  }
}

} // extern "C"
