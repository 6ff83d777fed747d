//===- KernelLayout.h - how ops map onto runtime kernels' layouts -*- C++ -*-//
//
// Shared by ditc-legalize-runtime (which keeps an op only when its kernel
// can take it) and ditc-lower-to-runtime (which passes the same layout to
// the kernel), so the two cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_TARGET_KERNELLAYOUT_H
#define DITC_LIB_TARGET_KERNELLAYOUT_H

#include "dialects/Ditc/IR/DitcOps.h"

#include <array>
#include <optional>

namespace mlir::ditc {

/// ditc.rope as ditc_rt_rope_f32 sees it: the input's leading dims folded
/// into rows [n0, n1, n2] (contiguous), and the element strides of the
/// cos / sin rows along them (0 where the tables broadcast).
struct RopeKernelLayout {
  std::array<int64_t, 3> rows;
  std::array<int64_t, 3> tableStrides;
  int64_t dim = 0, rotDim = 0;
};

/// The layout of `op` for ditc_rt_rope_f32, or nullopt when the kernel
/// cannot take it: element types other than one of f32, f16 or bf16 for
/// the input and both tables, or tables that broadcast
/// over the input's leading dims in more than three alternating runs of
/// broadcast and non-broadcast dims (say [B, 1, S, 1, W] against
/// [B, H, S, K, D]).
std::optional<RopeKernelLayout> ropeKernelLayout(RopeOp op);

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_KERNELLAYOUT_H
