//===- InsertProbes.cpp - redundancy probes at attentions and blocks -----===//
//
// -ditc-insert-probes: see Passes.td. The blocks are the profiler's
// (findLayers over the schedule); an attention's K/V streams are the
// operands of the concat its K/V come from, its output streams the slices
// its result is cut into; a block's residual follows the chain of adds from
// a value leaving the block back to one entering it.
//
//===----------------------------------------------------------------------===//

#include "passes/Transforms/Passes.h"

#include "passes/Analysis/Layers.h"
#include "passes/Analysis/MemoryPlan.h"
#include "passes/Analysis/Profile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_INSERTPROBESPASS
#include "passes/Transforms/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// A probed value and what it measures.
struct Probe {
  Value value;
  std::string layer;
  ProbeQuantity quantity;
};

int64_t elementsOf(Value v) { return cast<RankedTensorType>(v.getType()).getNumElements(); }

/// Orders two streams of a joint layer: the first is the image's (more
/// tokens; with equal counts, the first).
bool imageFirst(Value a, Value b) { return elementsOf(a) >= elementsOf(b); }

/// Appends `stream`'s probes, or the image's and the text's for a joint
/// pair (`parts` of two).
void addStreams(ArrayRef<Value> parts, const std::string &layer, ProbeQuantity image,
                ProbeQuantity text, std::vector<Probe> &out) {
  if (parts.size() != 2) {
    for (Value v : parts)
      out.push_back({v, layer, image});
    return;
  }
  bool first = imageFirst(parts[0], parts[1]);
  out.push_back({parts[first ? 0 : 1], layer, image});
  out.push_back({parts[first ? 1 : 0], layer, text});
}

/// Ops between a joint concat and an attention's K or V that keep the
/// joined token axis where it is (transposes move it).
bool keepsTokens(Operation *op) {
  return isa<TransposeOp, ReshapeOp, RopeOp, RmsNormOp, LayerNormOp>(op);
}

/// K or V of an attention: the two streams of a joint concat it comes from
/// (through transposes, reshapes, rope and norms), else the value itself.
/// With only transposes and reshapes on the way the concat's operands are
/// the streams; else `v` is cut into them with two slices (after rope, say,
/// they are what the attention reads).
SmallVector<Value, 2> kvStreams(Value v) {
  SmallVector<Operation *> chain; // from v back to the concat
  Value at = v;
  ConcatOp concat;
  while (Operation *def = at.getDefiningOp()) {
    if ((concat = dyn_cast<ConcatOp>(def)))
      break;
    if (!keepsTokens(def))
      return {v};
    chain.push_back(def);
    at = def->getOperand(0);
  }
  if (!concat || concat.getInputs().size() != 2)
    return {v};
  Value a = concat.getInputs()[0], b = concat.getInputs()[1];
  if (llvm::all_of(chain, [](Operation *op) { return isa<TransposeOp, ReshapeOp>(op); }))
    return {a, b};
  // The token axis in v's layout: through the chain's transposes (a
  // reshape loses it).
  int64_t axis = concat.getAxis();
  for (Operation *op : llvm::reverse(chain)) {
    if (isa<ReshapeOp>(op))
      return {v};
    if (auto t = dyn_cast<TransposeOp>(op))
      axis = llvm::find(t.getPermutation(), axis) - t.getPermutation().begin();
  }
  auto type = cast<RankedTensorType>(v.getType());
  int64_t first = cast<RankedTensorType>(a.getType()).getDimSize(concat.getAxis());
  SmallVector<Value, 2> parts;
  OpBuilder builder(v.getContext());
  builder.setInsertionPointAfterValue(v);
  for (auto [lo, hi] : {std::pair<int64_t, int64_t>{0, first},
                        std::pair<int64_t, int64_t>{first, type.getDimSize(axis)}}) {
    SmallVector<int64_t> shape(type.getShape()), offsets(type.getRank(), 0),
        steps(type.getRank(), 1);
    shape[axis] = hi - lo;
    offsets[axis] = lo;
    parts.push_back(SliceOp::create(builder, v.getLoc(),
                                    RankedTensorType::get(shape, type.getElementType()), v,
                                    offsets, steps));
  }
  return parts;
}

/// The single user of `v`, or null.
Operation *soleUser(Value v) {
  return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
}

/// The linear that reads `v` (through single-use transposes and reshapes)
/// as its input, or null.
Value projectionOf(Value v) {
  while (Operation *u = soleUser(v)) {
    if (isa<TransposeOp, ReshapeOp>(u)) {
      v = u->getResult(0);
      continue;
    }
    if (auto l = dyn_cast<LinearOp>(u); l && l.getInput() == v)
      return l.getResult();
    return {};
  }
  return {};
}

/// An attention's output after its projection(s): one linear, or one per
/// slice of the (layout-changed) result; else the result itself.
SmallVector<Value, 2> outStreams(AttentionOp attn) {
  Value v = attn.getResult();
  while (Operation *u = soleUser(v)) {
    if (!isa<TransposeOp, ReshapeOp>(u))
      break;
    v = u->getResult(0);
  }
  if (Value p = projectionOf(attn.getResult()))
    return {p};
  // Joint attention: the result cut into its streams by slices or a split.
  SmallVector<Value, 2> cuts;
  for (Operation *u : v.getUsers()) {
    if (isa<SliceOp, SplitOp>(u))
      cuts.append(u->result_begin(), u->result_end());
    else
      return {attn.getResult()};
  }
  SmallVector<Value, 2> parts;
  for (Value c : cuts) {
    Value p = projectionOf(c);
    if (!p)
      return {attn.getResult()};
    parts.push_back(p);
  }
  if (parts.size() != 2)
    return {attn.getResult()};
  return parts;
}

struct InsertProbes : ditc::impl::InsertProbesPassBase<InsertProbes> {
  void runOnOperation() override {
    func::FuncOp fn = getMainFunc(getOperation());
    if (!fn) {
      getOperation().emitError("no single-block @main to probe");
      return signalPassFailure();
    }
    Profile profile(fn);
    ArrayRef<OpCost> ops = profile.ops();
    std::vector<LayerSpan> spans = findLayers(ops);
    std::vector<Probe> probes;
    // Spans cover the schedule in order: each attention's probes, then the
    // block's residual.
    for (const LayerSpan &span : spans) {
      int64_t attentions = 0;
      for (int64_t k = span.begin; k < span.end; ++k) {
        auto attn = dyn_cast<AttentionOp>(ops[k].op);
        if (!attn)
          continue;
        std::string layer = span.name + ".attn" + std::to_string(attentions++);
        addStreams(kvStreams(attn.getKey()), layer, ProbeQuantity::k, ProbeQuantity::k_text,
                   probes);
        addStreams(kvStreams(attn.getValue()), layer, ProbeQuantity::v, ProbeQuantity::v_text,
                   probes);
        addStreams(outStreams(attn), layer, ProbeQuantity::out, ProbeQuantity::out_text, probes);
      }
      if (span.kind < 0)
        continue;
      for (auto [k, st] : llvm::enumerate(blockStreams(ops, span))) {
        if (k > 1)
          break;
        OpBuilder b(st.out.getContext());
        b.setInsertionPointAfterValue(st.out);
        Value r = SubOp::create(b, st.out.getLoc(), st.out.getType(), st.out, st.in);
        probes.push_back({r, span.name,
                          k == 0 ? ProbeQuantity::residual : ProbeQuantity::residual_text});
      }
    }

    // Each probe right after its value; numbered in program order.
    MLIRContext *ctx = fn.getContext();
    for (const Probe &p : probes) {
      OpBuilder b(ctx);
      b.setInsertionPointAfterValue(p.value);
      ProbeOp::create(b, p.value.getLoc(), p.value, 0, b.getStringAttr(p.layer),
                      ProbeQuantityAttr::get(ctx, p.quantity));
    }
    int64_t index = 0;
    fn.walk([&](ProbeOp p) { p.setIndex(index++); });
  }
};

} // namespace
