//===- KernelLayout.cpp - how ops map onto runtime kernels' layouts -------===//

#include "lib/Target/KernelLayout.h"

#include "dialects/Ditc/IR/DitcShapes.h"

using namespace mlir;
using namespace mlir::ditc;

std::optional<RopeKernelLayout> mlir::ditc::ropeKernelLayout(RopeOp op) {
  // One float type the kernels take (f32, f16 or bf16) for all three.
  Type et = typeOf(op.getInput()).getElementType();
  if (!et.isF32() && !et.isF16() && !et.isBF16())
    return std::nullopt;
  for (Value v : {op.getCos(), op.getSin()})
    if (typeOf(v).getElementType() != et)
      return std::nullopt;
  ArrayRef<int64_t> x = shapeOf(op.getInput()), t = shapeOf(op.getCos());
  RopeKernelLayout l;
  l.dim = x.back();
  l.rotDim = t.back();
  l.rows = {1, 1, 1};
  l.tableStrides = {0, 0, 0};
  // The tables' leading dims aligned with the input's (numpy broadcasting),
  // with their contiguous element strides.
  size_t lead = x.size() - 1, off = x.size() - t.size();
  Shape ts(lead, 1), tstride(lead, 0);
  int64_t acc = t.back();
  for (size_t k = lead; k-- > off;) {
    ts[k] = t[k - off];
    tstride[k] = acc;
    acc *= ts[k];
  }
  // Runs of input dims over which the tables all broadcast or all vary;
  // size-1 input dims join any run. A run folds into one kernel dim whose
  // table stride is that of its innermost dim (or 0).
  SmallVector<std::pair<int64_t, int64_t>, 4> runs; // (rows, table stride)
  bool lastBroadcast = false;
  for (size_t k = 0; k < lead; ++k) {
    if (x[k] == 1)
      continue;
    bool broadcast = ts[k] == 1;
    if (runs.empty() || broadcast != lastBroadcast)
      runs.push_back({1, 0});
    runs.back().first *= x[k];
    runs.back().second = broadcast ? 0 : tstride[k];
    lastBroadcast = broadcast;
  }
  if (runs.size() > 3)
    return std::nullopt;
  size_t first = 3 - runs.size();
  for (auto [k, r] : llvm::enumerate(runs)) {
    l.rows[first + k] = r.first;
    l.tableStrides[first + k] = r.second;
  }
  return l;
}
