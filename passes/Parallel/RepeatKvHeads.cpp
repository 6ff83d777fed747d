//===- RepeatKvHeads.cpp - grouped K/V heads repeated for uneven tp -------===//

#include "passes/Parallel/Heads.h"
#include "passes/Parallel/Passes.h"
#include "passes/Parallel/TensorParallel.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_REPEATKVHEADSPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
struct RepeatKvHeadsPass : ditc::impl::RepeatKvHeadsPassBase<RepeatKvHeadsPass> {
  void runOnOperation() override {
    if (failed(runOnTensorAxis(getOperation(), [](func::FuncOp fn, const TensorAxis &tp) {
          for (AttentionOp a : attentionsOf(fn)) {
            int64_t h = shapeOf(a.getQuery())[1], hkv = shapeOf(a.getKey())[1];
            // (The attention's verifier ensures that Hkv divides H.)
            if (h % tp.size == 0 || hkv == h)
              continue;
            // One K/V head per query head: the padding of the heads then
            // adds whole groups (zero K/V heads, each with its zero query
            // heads) and keeps every query head on its K/V head.
            OpBuilder b(a);
            a.getKeyMutable().assign(repeatKvHeads(b, a.getLoc(), a.getKey(), h));
            a.getValueMutable().assign(repeatKvHeads(b, a.getLoc(), a.getValue(), h));
          }
          return success();
        })))
      signalPassFailure();
  }
};
} // namespace
