//===- conv.cu - Direct NCHW convolution (conv2d) -------------------------===//
//
// y[n, o, oh, ow] = bias[o] + sum over (c of o's group, kh, kw) of
// x[n, c, oh * sh - pt + kh * dh, ow * sw - pl + kw * dw] * w[o, c, kh, kw],
// the CPU's ditc_rt_conv2d (ditc_kernels.def). F16 / BF16 calls go to
// cuDNN first (cudnn_graphs.h: conv::run, DITC_CUDNN; not on the host
// emulation); this kernel runs f32 (exact against the CPU, where cuDNN could
// use TF32), what cuDNN does not take (groups, odd alignment, sm < 80, a
// problem without an engine) and everything with DITC_CUDNN=0; where cuDNN
// takes a convolution but not with its bias fused, it runs it alone and
// add_channel_bias_kernel adds the bias. DiT's
// convolutions (the patch embedding) are small.
//
// One thread per (n, kCo consecutive output channels of one group, output
// pixel), pixels innermost: the threads of a warp read neighbouring inputs
// (coalesced up to the stride), each input value feeds kCo accumulators, and
// a weight load is one address for the whole warp (a broadcast from L1; two
// where the warp straddles two channel tiles), so staging the weights in
// shared memory would buy little. The taps that fall into the padding are
// skipped by clamping each axis' tap range once per output, so the inner
// loop has no bounds checks. Sums are f32 fused multiply-adds in the order of
// the CPU's im2col rows (c, then kh, then kw), the bias added last; half
// types round once on the store. Offsets are 64-bit.
//
//===----------------------------------------------------------------------===//
#include "common.cuh"
#include "../src/conv_shape.h"

#ifndef DITC_CU_EMULATE
#include "cudnn_graphs.h" // not on the host emulation: no cuDNN there
#endif

namespace ditc_cu {
namespace {

constexpr int kCo = 4; // output channels a thread computes

/// A convolution's sizes, passed by value. cg / og: input / output channels
/// of a group; otiles: kCo-channel tiles per group (the last may be
/// partial); total: work items (n, group, tile, pixel).
struct ConvGeom {
  int64_t c, h, w, o, kh, kw;
  int64_t sh, sw, pt, pl, dh, dw;
  int64_t groups, cg, og, oh, ow, otiles, total;
};

/// The taps t of one axis (kernel size k, dilation d) whose input i0 + t * d
/// lies in [0, size): t in [lo, hi), possibly empty (lo >= hi).
__device__ __forceinline__ void tap_range(int64_t i0, int64_t size,
                                          int64_t d, int64_t k, int64_t &lo,
                                          int64_t &hi) {
  int64_t r;
  lo = i0 >= 0 ? 0 : divmod(d - 1 - i0, d, r);
  hi = size > i0 ? divmod(size - i0 + d - 1, d, r) : 0;
  hi = hi < k ? hi : k;
}

template <class S>
__global__ void __launch_bounds__(kThreads)
    conv2d_kernel(const __grid_constant__ ConvGeom g, const S *__restrict__ x,
                  const S *__restrict__ w, const S *__restrict__ bias,
                  S *__restrict__ y) {
  const int64_t npix = g.oh * g.ow, plane = g.h * g.w;
  const int64_t wsize = g.cg * g.kh * g.kw; // one output channel's weights
  for (int64_t u = global_thread(); u < g.total; u += global_stride()) {
    int64_t pix, ow, tile, gi;
    const int64_t item = divmod(u, npix, pix);
    const int64_t oh = divmod(pix, g.ow, ow);
    const int64_t ng = divmod(item, g.otiles, tile);
    const int64_t n = divmod(ng, g.groups, gi);
    const int64_t o0 = gi * g.og + tile * kCo;
    const int64_t nco = g.og - tile * kCo; // channels of this tile, if < kCo

    // Channels past a partial tile read the tile's last one (valid memory,
    // never stored): the inner loop stays branch-free.
    int64_t koff[kCo];
#pragma unroll
    for (int k = 0; k < kCo; ++k)
      koff[k] = (k < nco ? k : nco - 1) * wsize;

    const int64_t ih0 = oh * g.sh - g.pt, iw0 = ow * g.sw - g.pl;
    int64_t kh0, kh1, kw0, kw1;
    tap_range(ih0, g.h, g.dh, g.kh, kh0, kh1);
    tap_range(iw0, g.w, g.dw, g.kw, kw0, kw1);

    float acc[kCo];
#pragma unroll
    for (int k = 0; k < kCo; ++k)
      acc[k] = 0.f;
    if (kh0 < kh1 && kw0 < kw1) {
      const int64_t nh = kh1 - kh0, nw = kw1 - kw0, xrow = g.dh * g.w;
      // The first tap in range of channel 0 of the group, in x and in the
      // weights of channel o0.
      const S *xc = x + ((n * g.c + gi * g.cg) * plane +
                         (ih0 + kh0 * g.dh) * g.w + iw0 + kw0 * g.dw);
      const S *wc = w + (o0 * wsize + kh0 * g.kw + kw0);
      for (int64_t c = 0; c < g.cg; ++c, xc += plane, wc += g.kh * g.kw) {
        const S *xr = xc, *wr = wc;
        for (int64_t i = 0; i < nh; ++i, xr += xrow, wr += g.kw) {
          const S *xp = xr;
          for (int64_t j = 0; j < nw; ++j, xp += g.dw) {
            const float xv = math::to_f32(*xp);
#pragma unroll
            for (int k = 0; k < kCo; ++k)
              acc[k] = fmaf(xv, math::to_f32(wr[koff[k] + j]), acc[k]);
          }
        }
      }
    }

    S *yp = y + (n * g.o + o0) * npix + pix;
#pragma unroll
    for (int k = 0; k < kCo; ++k) {
      if (k < nco) {
        const float b = bias ? math::to_f32(bias[o0 + k]) : 0.f;
        yp[k * npix] = math::from_f32<S>(acc[k] + b);
      }
    }
  }
}

#ifndef DITC_CU_EMULATE
/// y[n, o, :, :] += bias[o] over a convolution cuDNN ran without it, in f32,
/// rounded once more (the fused path rounds once).
template <class S>
__global__ void __launch_bounds__(kThreads)
    add_channel_bias_kernel(S *__restrict__ y, const S *__restrict__ bias,
                            int64_t channels, int64_t npix, int64_t total) {
  for (int64_t u = global_thread(); u < total; u += global_stride()) {
    int64_t pix, o; // y is [N, O, npix]
    divmod(divmod(u, npix, pix), channels, o);
    y[u] = math::from_f32<S>(math::to_f32(y[u]) + math::to_f32(bias[o]));
  }
}
#endif

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" {

void ditc_cu_conv2d(int32_t dtype, const void *x, const void *w,
                    const void *bias, void *y, int64_t batch,
                    int64_t in_channels, int64_t height, int64_t width,
                    int64_t out_channels, int64_t kernel_h, int64_t kernel_w,
                    int64_t stride_h, int64_t stride_w, int64_t pad_top,
                    int64_t pad_left, int64_t pad_bottom, int64_t pad_right,
                    int64_t dil_h, int64_t dil_w, int64_t group) {
  const char *name = "conv2d";
  dispatch_float(name, dtype, [&](auto t) {
    using S = decltype(t);
    // The CPU's checks and messages (conv2d_f32).
    int64_t oh = 0, ow = 0;
    const std::string why = ditc_rt::conv2dShape(
        batch, in_channels, height, width, out_channels, kernel_h, kernel_w,
        stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right, dil_h,
        dil_w, group, oh, ow);
    if (!why.empty())
      fatal(name, "%s", why.c_str());
    if (batch == 0 || out_channels == 0)
      return;
#ifndef DITC_CU_EMULATE
    if constexpr (!std::is_same<S, float>::value) {
      conv::Call c;
      c.dtype = dtype;
      c.x = x;
      c.w = w;
      c.bias = bias;
      c.y = y;
      c.N = batch;
      c.C = in_channels;
      c.H = height;
      c.W = width;
      c.O = out_channels;
      c.kh = kernel_h;
      c.kw = kernel_w;
      c.stride_h = stride_h;
      c.stride_w = stride_w;
      c.pad_top = pad_top;
      c.pad_left = pad_left;
      c.pad_bottom = pad_bottom;
      c.pad_right = pad_right;
      c.dil_h = dil_h;
      c.dil_w = dil_w;
      c.groups = group;
      c.OH = oh;
      c.OW = ow;
      bool bias_left = false;
      if (conv::run(c, stream(), nullptr, &bias_left)) {
        if (bias_left) {
          const int64_t total = batch * out_channels * oh * ow;
          launch(add_channel_bias_kernel<S>, blocks_for(total, kThreads),
                 kThreads, static_cast<S *>(y), static_cast<const S *>(bias),
                 out_channels, oh * ow, total);
          check_launch(name);
        }
        return;
      }
    }
#endif
    ConvGeom g;
    g.c = in_channels;
    g.h = height;
    g.w = width;
    g.o = out_channels;
    g.kh = kernel_h;
    g.kw = kernel_w;
    g.sh = stride_h;
    g.sw = stride_w;
    g.pt = pad_top;
    g.pl = pad_left;
    g.dh = dil_h;
    g.dw = dil_w;
    g.groups = group;
    g.cg = in_channels / group;
    g.og = out_channels / group;
    g.oh = oh;
    g.ow = ow;
    g.otiles = (g.og + kCo - 1) / kCo;
    g.total = batch * group * g.otiles * oh * ow;
    launch(conv2d_kernel<S>, blocks_for(g.total, kThreads), kThreads, g,
           static_cast<const S *>(x), static_cast<const S *>(w),
           static_cast<const S *>(bias), static_cast<S *>(y));
    check_launch(name);
  });
}

} // extern "C"
