//===- conv_shape.h - conv2d's argument checks and output size --*- C++ -*-===//
//
// Shared by the CPU kernels (onednn.cpp, gemm_fallback.cpp) and the CUDA one
// (runtime/cuda/conv.cu), so that they refuse the same arguments with the
// same words and agree on the output size. Host code only.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_CONV_SHAPE_H
#define DITC_RUNTIME_SRC_CONV_SHAPE_H

#include <cstdint>
#include <cstdio>
#include <string>

namespace ditc_rt {

/// Checks conv2d's sizes and sets the output's height and width; returns
/// "" or the one-line reason the kernel refuses them.
inline std::string conv2dShape(int64_t batch, int64_t in_channels, int64_t height,
                               int64_t width, int64_t out_channels, int64_t kernel_h,
                               int64_t kernel_w, int64_t stride_h, int64_t stride_w,
                               int64_t pad_top, int64_t pad_left, int64_t pad_bottom,
                               int64_t pad_right, int64_t dil_h, int64_t dil_w,
                               int64_t group, int64_t &oh, int64_t &ow) {
  char why[160];
  if (batch < 0 || in_channels < 0 || height < 0 || width < 0 || out_channels < 0)
    return "negative size";
  if (group <= 0 || in_channels % group || out_channels % group) {
    std::snprintf(why, sizeof why, "channels %lld -> %lld do not split into %lld groups",
                  (long long)in_channels, (long long)out_channels, (long long)group);
    return why;
  }
  if (stride_h <= 0 || stride_w <= 0 || dil_h <= 0 || dil_w <= 0 || kernel_h <= 0 ||
      kernel_w <= 0 || pad_top < 0 || pad_left < 0 || pad_bottom < 0 || pad_right < 0)
    return "bad kernel, stride, dilation or padding";
  oh = (height + pad_top + pad_bottom - dil_h * (kernel_h - 1) - 1) / stride_h + 1;
  ow = (width + pad_left + pad_right - dil_w * (kernel_w - 1) - 1) / stride_w + 1;
  if (oh <= 0 || ow <= 0) {
    std::snprintf(why, sizeof why, "empty output (%lld x %lld)", (long long)oh,
                  (long long)ow);
    return why;
  }
  return "";
}

} // namespace ditc_rt

#endif // DITC_RUNTIME_SRC_CONV_SHAPE_H
