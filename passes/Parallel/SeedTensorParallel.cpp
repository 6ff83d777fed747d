//===- SeedTensorParallel.cpp - seed the tensor-parallel splits -----------===//

#include "passes/Parallel/Passes.h"
#include "passes/Parallel/TensorParallel.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_SEEDTENSORPARALLELPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
struct SeedTensorParallelPass
    : ditc::impl::SeedTensorParallelPassBase<SeedTensorParallelPass> {
  void runOnOperation() override {
    func::FuncOp fn;
    FailureOr<std::optional<TensorAxis>> tp = tensorAxisOf(getOperation(), fn);
    if (failed(tp))
      return signalPassFailure();
    if (!*tp)
      return;
    int64_t p = (*tp)->size;
    std::string axis = (*tp)->name;
    DimClasses classes(fn);
    // Attention heads: the query's, and grouped K/V heads that divide too
    // (others are gathered and repeated by the partitioner).
    bool bad = false;
    fn.walk([&](AttentionOp a) {
      int64_t h = shapeOf(a.getQuery())[1], hkv = shapeOf(a.getKey())[1];
      if (h % p) {
        a.emitError("tp=") << p << " does not divide the " << h << " heads of this attention "
                           << "(-ditc-repeat-kv-heads and -ditc-pad-tensor-parallel pad them)";
        bad = true;
        return;
      }
      addSplit(a.getQuery(), 1, {axis});
      if (hkv != h && hkv % p == 0)
        addSplit(a.getKey(), 1, {axis});
    });
    if (bad)
      return signalPassFailure();
    // Column-parallel linear A feeding row-parallel linear B: A's output
    // units and B's contraction are one class nobody needs whole.
    SmallVector<LinearOp> linears;
    fn.walk([&](LinearOp l) { linears.push_back(l); });
    SmallVector<Value> outputs(fn.getBody().front().getTerminator()->getOperands());
    for (LinearOp a : linears) {
      unsigned n = shapeOf(a.getResult()).size() - 1;
      unsigned cls = classes.classOf(a.getResult(), n);
      if (classes.isPinned(cls) || shapeOf(a.getResult())[n] % p)
        continue;
      bool feedsRow = feedsRowLinear(a, linears, classes);
      // A last layer whose units reach an output unreduced (an LM head's
      // vocabulary, a DiT's unpatchify): split by columns, gathered at the
      // end (vocabulary-parallel head).
      unsigned k = shapeOf(a.getInput()).size() - 1;
      bool isRow = llvm::any_of(linears, [&](LinearOp b) {
        return b != a && classes.classOf(b.getResult(), shapeOf(b.getResult()).size() - 1) ==
                             classes.classOf(a.getInput(), k);
      });
      bool feedsOutput = !feedsRow && !isRow && llvm::any_of(classes.members(cls), [&](auto m) {
        return llvm::is_contained(outputs, m.first);
      });
      if (feedsRow || feedsOutput)
        addSplit(a.getResult(), n, {axis});
    }
  }
};
} // namespace
