//===- upload_plan.h - where a GPU library's tensors go, host side -*- C++ -*-//
//
// Pure host logic of DeviceMemory.cpp, tested without a GPU
// (test/Cuda/UploadPlanTest.cpp):
//  - packTensors: offsets of tensors packed into one device block, each
//    aligned (cuBLASLt and the vectorised kernels want 256-byte alignment;
//    cudaMalloc gives that much for the block itself);
//  - stagingWindows: the block cut into windows of one pinned staging
//    buffer each, and the pieces of tensors each window holds, so that the
//    weights go up in a few large copies however many small tensors there
//    are, with the next window filled while the last one is copied.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_UPLOAD_PLAN_H
#define DITC_RUNTIME_CUDA_UPLOAD_PLAN_H

#include <cstdint>
#include <string>
#include <vector>

namespace ditc_cu {

struct Packing {
  std::vector<uint64_t> offsets; // of each tensor in the block
  uint64_t bytes = 0;            // of the block (a multiple of `align`)
};

inline uint64_t alignUp(uint64_t n, uint64_t align) {
  return (n + align - 1) / align * align;
}

/// Tensors of `sizes` bytes packed in order, each at a multiple of `align`.
inline Packing packTensors(const std::vector<uint64_t> &sizes, uint64_t align = 256) {
  Packing p;
  for (uint64_t s : sizes) {
    p.offsets.push_back(p.bytes);
    p.bytes += alignUp(s, align);
  }
  return p;
}

/// `bytes` of tensor `tensor` from byte `from` of it, to byte `at` of the
/// window.
struct Piece {
  uint64_t tensor, from, at, bytes;
};

/// Bytes [start, start + bytes) of the block, staged and copied at once.
struct Window {
  uint64_t start = 0, bytes = 0;
  std::vector<Piece> pieces;
};

/// The windows of at most `windowBytes` that cover the packed block, with
/// the pieces of each tensor (of `sizes`, at `packing`) inside each. Padding
/// between tensors is in no piece (its bytes are unspecified). Empty
/// tensors are in no window.
inline std::vector<Window> stagingWindows(const std::vector<uint64_t> &sizes,
                                          const Packing &packing,
                                          uint64_t windowBytes) {
  std::vector<Window> windows;
  if (windowBytes == 0)
    return windows;
  for (uint64_t start = 0; start < packing.bytes; start += windowBytes) {
    Window w;
    w.start = start;
    w.bytes = packing.bytes - start < windowBytes ? packing.bytes - start : windowBytes;
    windows.push_back(w);
  }
  for (uint64_t t = 0; t < sizes.size(); ++t) {
    uint64_t begin = packing.offsets[t], end = begin + sizes[t];
    for (uint64_t at = begin; at < end;) {
      Window &w = windows[at / windowBytes];
      uint64_t stop = w.start + w.bytes < end ? w.start + w.bytes : end;
      w.pieces.push_back({t, at - begin, at - w.start, stop - at});
      at = stop;
    }
  }
  return windows;
}

/// The lowest architecture number of a list like {"80", "90a"} (80), or -1
/// when it has none; a GPU of compute capability major*10 + minor below it
/// cannot run the kernels (the lowest one's PTX runs on every newer GPU).
inline int lowestArch(const std::vector<std::string> &archs) {
  int lowest = -1;
  for (const std::string &a : archs) {
    int n = 0;
    size_t k = 0;
    while (k < a.size() && a[k] >= '0' && a[k] <= '9')
      n = n * 10 + (a[k++] - '0');
    if (k > 0 && (lowest < 0 || n < lowest))
      lowest = n;
  }
  return lowest;
}

} // namespace ditc_cu

#endif // DITC_RUNTIME_CUDA_UPLOAD_PLAN_H
