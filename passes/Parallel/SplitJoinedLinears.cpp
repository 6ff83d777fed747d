//===- SplitJoinedLinears.cpp - one linear layer per joined part ----------===//
//
// A linear layer over joined features, or whose output features are taken
// apart, becomes one linear layer per part, on that part's window of the
// weight (ditc.window_offset / ditc.window_shape), where tensor parallelism
// can then split a part:
//
// - joined inputs: Flux's single blocks join the attention's output and
//   the MLP's hidden units before one projection: one layer per part on
//   its rows of the weight, summed (the bias once);
// - joined outputs: GEGLU's value and gate come from one layer, chunked:
//   one layer per part on its columns (and the bias's entries).
//
// Split whole, such a layer's features would be cut across the parts (and
// paired wrongly), so the parts stay whole on every rank. Layers whose
// parts tensor parallelism would not split stay one layer (fewer, larger
// products).
//
//===----------------------------------------------------------------------===//

#include "passes/Parallel/Passes.h"
#include "passes/Parallel/TensorParallel.h"

#include "llvm/ADT/DenseSet.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_SPLITJOINEDLINEARSPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
/// A part of a layer's joined input or output features.
struct Part {
  Value value;
  int64_t offset, size;
};

/// A layer to split: its joined input (`joinedInput`, the parts are the
/// concat's operands) or output (the parts are what its users take).
struct Candidate {
  LinearOp layer;
  bool joinedInput;
  SmallVector<Part> parts;
  SmallVector<Operation *> joins; // the concat, or the splits and slices
};

/// Whether `v` is a weight a window can be taken of (neither sharded nor
/// padded).
bool windowable(Value v) {
  auto w = v ? v.getDefiningOp<WeightOp>() : WeightOp();
  return w && !w->hasAttr(kShardAttr) &&
         ArrayRef<int64_t>(weightWindow(w).shape) == w.getType().getShape();
}

/// The parts of `l`'s output features its users take apart: a ditc.split
/// along the last dimension, or slices of it (unit steps, whole along every
/// other dimension) that together take at most every feature once. Empty
/// when some user does anything else.
SmallVector<Part> outputParts(LinearOp l, SmallVector<Operation *> &joins) {
  ArrayRef<int64_t> shape = shapeOf(l.getResult());
  unsigned last = shape.size() - 1;
  SmallVector<Part> parts;
  for (Operation *u : l->getUsers()) {
    joins.push_back(u);
    if (auto s = dyn_cast<SplitOp>(u)) {
      if (s.getAxis() != (int64_t)last)
        return {};
      int64_t at = 0;
      for (Value r : s.getResults()) {
        parts.push_back({r, at, shapeOf(r)[last]});
        at += shapeOf(r)[last];
      }
    } else if (auto s = dyn_cast<SliceOp>(u)) {
      ArrayRef<int64_t> out = shapeOf(s.getResult());
      for (unsigned d = 0; d < shape.size(); ++d)
        if (s.getSteps()[d] != 1 || (d != last && (s.getOffsets()[d] != 0 || out[d] != shape[d])))
          return {};
      parts.push_back({s.getResult(), s.getOffsets()[last], out[last]});
    } else {
      return {};
    }
  }
  llvm::stable_sort(parts, [](const Part &a, const Part &b) { return a.offset < b.offset; });
  int64_t taken = 0;
  for (const Part &p : parts)
    taken += p.size;
  if (parts.empty() || taken > shape[last])
    return {};
  return parts;
}

/// The values of `v` when it is a dense constant.
DenseElementsAttr denseConstant(Value v) {
  auto c = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  return c ? dyn_cast<DenseElementsAttr>(c.getValue()) : DenseElementsAttr();
}

SmallVector<Candidate> candidatesOf(func::FuncOp fn) {
  SmallVector<Candidate> out;
  fn.walk([&](LinearOp l) {
    if (!windowable(l.getWeight()))
      return;
    unsigned last = shapeOf(l.getInput()).size() - 1;
    // (Summed parts: an activation of the layer would apply to the sum.)
    if (auto cat = l.getInput().getDefiningOp<ConcatOp>(); cat && cat->hasOneUse() &&
                                                          cat.getAxis() == (int64_t)last) {
      if (l.getActivationAttr())
        return;
      Candidate c{l, true, {}, {cat}};
      int64_t at = 0;
      for (Value v : cat.getOperands()) {
        c.parts.push_back({v, at, shapeOf(v)[last]});
        at += shapeOf(v)[last];
      }
      out.push_back(std::move(c));
      return;
    }
    // A bias is cut too: a window of a stored one, a constant's entries.
    Value bias = l.getBias();
    if (bias && !windowable(bias) && !denseConstant(bias))
      return;
    Candidate c{l, false, {}, {}};
    c.parts = outputParts(l, c.joins);
    if (!c.parts.empty())
      out.push_back(std::move(c));
  });
  return out;
}

/// Keeps the candidates with a part that tensor parallelism would split
/// once every candidate is split (-ditc-seed-tensor-parallel's rule: the
/// part's features, not needed whole by any op, are a column layer's output
/// and a row layer's contraction).
SmallVector<Candidate> usefulOf(func::FuncOp fn, SmallVector<Candidate> all) {
  if (all.empty()) // (the classes cost a walk of the function)
    return all;
  llvm::SmallPtrSet<Operation *, 32> ignored;
  for (const Candidate &c : all) {
    ignored.insert(c.layer);
    ignored.insert(c.joins.begin(), c.joins.end());
  }
  DimClasses classes(fn, /*parallelOnly=*/false, /*joinedMeasures=*/false, &ignored);
  // The classes of the features layers produce and contract, the split
  // layers' included.
  llvm::DenseSet<unsigned> produced, contracted;
  auto lastClass = [&](Value v) { return classes.classOf(v, shapeOf(v).size() - 1); };
  fn.walk([&](LinearOp l) {
    if (ignored.contains(l))
      return;
    produced.insert(lastClass(l.getResult()));
    contracted.insert(lastClass(l.getInput()));
  });
  for (const Candidate &c : all)
    for (const Part &p : c.parts)
      (c.joinedInput ? contracted : produced).insert(lastClass(p.value));
  SmallVector<Candidate> kept;
  for (Candidate &c : all)
    if (llvm::any_of(c.parts, [&](const Part &p) {
          unsigned cls = lastClass(p.value);
          return !classes.isPinned(cls) && produced.contains(cls) && contracted.contains(cls);
        }))
      kept.push_back(std::move(c));
  return kept;
}

/// A copy of layer `l` on `input`, `w` and `bias` (null: none) with result
/// type `type`, keeping its activation.
LinearOp cloneLinear(OpBuilder &b, LinearOp l, Value input, Value w, Value bias, Type type) {
  return LinearOp::create(b, l.getLoc(), type, input, w, bias, l.getTransposeWeight(),
                          l.getActivationAttr());
}

void split(const Candidate &c) {
  LinearOp l = c.layer;
  auto w = l.getWeight().getDefiningOp<WeightOp>();
  // The weight's dimension of the contraction, and of the output features.
  unsigned rows = l.getTransposeWeight() ? 1 : 0, cols = 1 - rows;
  OpBuilder b(l);
  if (c.joinedInput) {
    Value sum;
    for (auto [k, p] : llvm::enumerate(c.parts)) {
      WeightOp pw = weightPart(b, w, rows, p.offset, p.size, "rows");
      Value y = cloneLinear(b, l, p.value, pw, k == 0 ? l.getBias() : Value(), l.getType());
      sum = sum ? AddOp::create(b, l.getLoc(), l.getType(), sum, y).getResult() : y;
    }
    // A split planned for the joined result (-ditc-plan's batch or token
    // seeds) moves to the sum that replaces it.
    if (std::optional<Sharding> s = getSharding(l.getResult()))
      setSharding(sum, *s);
    l.getResult().replaceAllUsesWith(sum);
  } else {
    for (const Part &p : c.parts) {
      WeightOp pw = weightPart(b, w, cols, p.offset, p.size, "cols");
      // The bias's entries: a window of a stored bias, a constant's.
      Value bias;
      if (windowable(l.getBias())) {
        bias = weightPart(b, l.getBias().getDefiningOp<WeightOp>(), 0, p.offset, p.size, "cols");
      } else if (DenseElementsAttr dense = denseConstant(l.getBias())) {
        SmallVector<Attribute> all(dense.getValues<Attribute>());
        auto t = RankedTensorType::get({p.size}, dense.getElementType());
        bias = ConstantOp::create(
            b, l.getLoc(), DenseElementsAttr::get(t, ArrayRef(all).slice(p.offset, p.size)));
      }
      LinearOp y = cloneLinear(b, l, l.getInput(), pw, bias, p.value.getType());
      std::optional<Sharding> s = getSharding(p.value);
      if (!s)
        s = getSharding(l.getResult());
      if (s)
        setSharding(y.getResult(), *s);
      Value(p.value).replaceAllUsesWith(y.getResult());
    }
    for (Operation *u : llvm::reverse(c.joins))
      if (u->use_empty())
        u->erase();
  }
  Value bias = l.getBias();
  l.erase();
  if (c.joinedInput)
    c.joins.front()->erase();
  for (Value v : {Value(w), bias})
    if (v && v.use_empty() && isa_and_nonnull<WeightOp, ConstantOp>(v.getDefiningOp()))
      v.getDefiningOp()->erase();
}

struct SplitJoinedLinearsPass
    : ditc::impl::SplitJoinedLinearsPassBase<SplitJoinedLinearsPass> {
  void runOnOperation() override {
    if (failed(runOnTensorAxis(getOperation(), [](func::FuncOp fn, const TensorAxis &) {
          for (const Candidate &c : usefulOf(fn, candidatesOf(fn)))
            split(c);
          return success();
        })))
      signalPassFailure();
  }
};
} // namespace
