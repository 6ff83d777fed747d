//===- SplitJoinedLinears.cpp - one linear layer per joined part ----------===//

#include "passes/Parallel/Passes.h"
#include "passes/Parallel/TensorParallel.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_SPLITJOINEDLINEARSPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
/// A linear layer over features joined along their last dimension (Flux's
/// single blocks join the attention's output and the MLP's hidden units
/// before one projection) becomes one linear layer per part, on the
/// weight's rows for that part (contiguous: a sub-tensor of the stored
/// weight at a later offset), summed. Exact, and each part can then be
/// split by tensor parallelism on its own (and padded) instead of being
/// gathered whole before the join.
void splitJoinedLinears(func::FuncOp fn) {
  SmallVector<LinearOp> linears;
  fn.walk([&](LinearOp l) { linears.push_back(l); });
  for (LinearOp l : linears) {
    auto cat = l.getInput().getDefiningOp<ConcatOp>();
    auto w = l.getWeight().getDefiningOp<WeightOp>();
    if (!cat || !w || l.getTransposeWeight() || !cat->hasOneUse() ||
        w->hasAttr("ditc.global_shape") ||
        cat.getAxis() + 1 != (int64_t)shapeOf(cat.getResult()).size())
      continue;
    auto wt = w.getType();
    Type et = wt.getElementType();
    if (!et.isIntOrFloat() || et.getIntOrFloatBitWidth() % 8)
      continue;
    int64_t n = wt.getDimSize(1), bytes = et.getIntOrFloatBitWidth() / 8;
    OpBuilder b(l);
    Value sum;
    int64_t row = 0;
    for (auto [k, part] : llvm::enumerate(cat.getOperands())) {
      int64_t rows = shapeOf(part).back();
      auto pw = WeightOp::create(
          b, w.getLoc(), RankedTensorType::get({rows, n}, et),
          (w.getName() + "@rows" + Twine(row) + "+" + Twine(rows)).str(), w.getFile(),
          w.getOffset() + row * n * bytes);
      pw->setAttr("ditc.source_name", w.getNameAttr());
      Value y = LinearOp::create(b, l.getLoc(), l.getType(), part, pw,
                                 k == 0 ? l.getBias() : Value(), false);
      sum = sum ? AddOp::create(b, l.getLoc(), l.getType(), sum, y).getResult() : y;
      row += rows;
    }
    // A split planned for the joined result (-ditc-plan's batch or token
    // seeds) moves to the sum that replaces it.
    if (std::optional<Sharding> s = getSharding(l.getResult()))
      setSharding(sum, *s);
    l.getResult().replaceAllUsesWith(sum);
    l.erase();
    cat.erase();
    if (w->use_empty())
      w.erase();
  }
}

struct SplitJoinedLinearsPass
    : ditc::impl::SplitJoinedLinearsPassBase<SplitJoinedLinearsPass> {
  void runOnOperation() override {
    if (failed(runOnTensorAxis(getOperation(), [](func::FuncOp fn, const TensorAxis &) {
          splitJoinedLinears(fn);
          return success();
        })))
      signalPassFailure();
  }
};
} // namespace
