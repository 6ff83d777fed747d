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
/// Seeds the tensor-parallel splits of `fn` over `tp`.
LogicalResult seedTensorParallel(func::FuncOp fn, const TensorAxis &tp) {
  int64_t p = tp.size;
  std::string axis = tp.name;
  DimClasses classes(fn);
  // Attention heads: the query's, and grouped K/V heads that divide too
  // (others are gathered and repeated by the partitioner).
  bool bad = false;
  for (AttentionOp a : attentionsOf(fn)) {
    int64_t h = shapeOf(a.getQuery())[1], hkv = shapeOf(a.getKey())[1];
    if (h % p) {
      a.emitError("tp=") << p << " does not divide the " << h << " heads of this attention "
                         << "(-ditc-repeat-kv-heads and -ditc-pad-tensor-parallel pad them)";
      bad = true;
      continue;
    }
    addSplit(a.getQuery(), 1, {axis});
    if (hkv != h && hkv % p == 0)
      addSplit(a.getKey(), 1, {axis});
  }
  if (bad)
    return failure();
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
  return success();
}

struct SeedTensorParallelPass
    : ditc::impl::SeedTensorParallelPassBase<SeedTensorParallelPass> {
  void runOnOperation() override {
    if (failed(runOnTensorAxis(getOperation(), seedTensorParallel)))
      signalPassFailure();
  }
};
} // namespace
