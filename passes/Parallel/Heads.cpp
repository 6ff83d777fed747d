//===- Heads.cpp - attention head rewrites shared by the parallel passes --===//

#include "passes/Parallel/Heads.h"

#include "dialects/Ditc/IR/DitcOps.h"

using namespace mlir;
using namespace mlir::ditc;

Value mlir::ditc::repeatKvHeads(OpBuilder &b, Location loc, Value kv, int64_t heads) {
  auto t = cast<RankedTensorType>(kv.getType());
  ArrayRef<int64_t> e = t.getShape();
  auto typed = [&](ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, t.getElementType());
  };
  SmallVector<int64_t> five = {e[0], e[1], 1, e[2], e[3]};
  Value v = ReshapeOp::create(b, loc, typed(five), kv);
  five[2] = heads / e[1];
  v = BroadcastOp::create(b, loc, typed(five), v);
  return ReshapeOp::create(b, loc, typed({e[0], heads, e[2], e[3]}), v);
}
