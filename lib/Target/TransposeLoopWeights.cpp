//===- TransposeLoopWeights.cpp - [N, K] weights for chunk loops ----------===//
//
// Gives the weights of linear layers inside ditc.chunk loops the [N, K]
// layout, whose product the CPU runtime runs without repacking the weight
// on every chunk (lib/Target/Passes.td).
//
//===----------------------------------------------------------------------===//

#include "lib/Target/Passes.h"
#include "dialects/Ditc/IR/DitcSharding.h"

#include "llvm/ADT/MapVector.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_TRANSPOSELOOPWEIGHTSPASS
#include "lib/Target/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// Whether every use of `w` is the weight of a linear layer in [K, N]
/// layout; `inLoop` is set when one of them is inside a chunk loop.
bool onlyLinearWeight(WeightOp w, bool &inLoop) {
  auto t = cast<RankedTensorType>(w.getType());
  if (t.getRank() != 2 || w->hasAttr(kTransposedAttr) || w->hasAttr(kShardAttr) ||
      w->hasAttr(kGlobalShapeAttr) || w->use_empty())
    return false;
  for (OpOperand &use : w->getUses()) {
    auto linear = dyn_cast<LinearOp>(use.getOwner());
    if (!linear || use.getOperandNumber() != 1 || linear.getTransposeWeight())
      return false;
    inLoop |= linear->getParentOfType<ChunkOp>() != nullptr;
  }
  return true;
}

struct TransposeLoopWeightsPass
    : ditc::impl::TransposeLoopWeightsPassBase<TransposeLoopWeightsPass> {
  void runOnOperation() override {
    // Weight ops by name, in first-use order (one stored tensor each).
    llvm::MapVector<StringRef, SmallVector<WeightOp>> byName;
    getOperation().walk([&](WeightOp w) { byName[w.getName()].push_back(w); });
    UnitAttr unit = UnitAttr::get(&getContext());
    for (auto &[name, weights] : byName) {
      bool inLoop = false;
      if (!llvm::all_of(weights, [&](WeightOp w) { return onlyLinearWeight(w, inLoop); }) ||
          !inLoop)
        continue;
      for (WeightOp w : weights) {
        auto t = cast<RankedTensorType>(w.getType());
        w.getResult().setType(
            RankedTensorType::get({t.getDimSize(1), t.getDimSize(0)}, t.getElementType()));
        w->setAttr(kTransposedAttr, unit);
        for (Operation *user : w->getUsers())
          cast<LinearOp>(user).setTransposeWeight(true);
      }
    }
  }
};

} // namespace
