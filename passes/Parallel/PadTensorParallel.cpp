//===- PadTensorParallel.cpp - pad heads and hidden units to the tp degree ===//

#include "passes/Parallel/Passes.h"
#include "passes/Parallel/TensorParallel.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_PADTENSORPARALLELPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
/// Pads the dimensions of class `cls` so that its unit (the smallest size
/// in it: the heads of an attention, the hidden units of an MLP) becomes a
/// multiple of `p`: a dimension of k units grows to k * ceil(unit / p) * p
/// (heads [B, H, S, d] and the features [B, S, H*d] they come from alike).
/// Weights in the class grow with zeros (a new `ditc.weight` NAME@pad whose
/// `ditc.global_shape` is the stored tensor's shape; the weight writer
/// fills the rest with zeros), so the padded entries are zero where they
/// start and reach the rest of the graph only through a contraction with
/// the zero rows of a padded weight: the result is exact. Fails with the
/// reason where that cannot be ensured: a graph input or output, or an op
/// other than the ones allowed below, in the class, or a class some op
/// needs whole (a softmax or a reduction over it).
LogicalResult padClass(DimClasses &classes, unsigned cls, int64_t p, std::string &why) {
  SmallVector<std::pair<Value, unsigned>> members = classes.members(cls);
  int64_t unit = 0;
  for (auto [v, d] : members)
    if (int64_t n = shapeOf(v)[d]; n > 1 && (unit == 0 || n < unit))
      unit = n;
  if (unit == 0 || unit % p == 0)
    return success();
  int64_t padded = (unit + p - 1) / p * p;
  auto opName = [](Operation *op) { return describeOp(op); };
  if (classes.isPinned(cls)) {
    // Name the op that needs them whole: its rule leaves the dimension out.
    std::string who;
    for (auto [v, d] : members)
      for (OpOperand &use : v.getUses()) {
        auto iface = dyn_cast<ShardingRuleOpInterface>(use.getOwner());
        if (!iface || !who.empty())
          continue;
        unsigned idx = use.getOperandNumber();
        ShardingRule rule = iface.getShardingRule();
        if (llvm::none_of(rule.factors, [&](const ShardingFactor &f) {
              return llvm::is_contained(f.dims, std::make_pair(idx, d));
            }))
          who = " (" + opName(use.getOwner()) + ")";
      }
    why = "an op needs all " + std::to_string(unit) + " of them on one rank" + who;
    return failure();
  }
  // Ops whose results may grow: they compute each entry of the class's
  // dimension on its own, map zeros to finite values, and (contractions)
  // meet the padded entries with the zero rows of a padded weight.
  auto allowed = [](Operation *op) {
    return isa<WeightOp, ConstantOp, ReshapeOp, TransposeOp, AddOp, SubOp, MulOp, NegOp, GeluOp,
               SiluOp, ReluOp, SigmoidOp, TanhOp, ErfOp, ExpOp, CosOp, SinOp, RopeOp,
               AttentionOp, LinearOp, LayerNormOp, RmsNormOp, BroadcastOp, ConcatOp,
               SliceOp, SplitOp, CastOp, GatherOp>(op);
  };
  llvm::DenseMap<Value, SmallVector<int64_t>> grown;
  for (auto [v, d] : members) {
    int64_t n = shapeOf(v)[d];
    if (n <= 1)
      continue;
    if (n % unit) {
      why = "a dimension of " + std::to_string(n) + " is tied to them";
      return failure();
    }
    Operation *def = v.getDefiningOp();
    if (!def) {
      why = "they reach a graph input";
      return failure();
    }
    if (!allowed(def)) {
      why = "they pass through " + opName(def);
      return failure();
    }
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user)) {
        why = "they reach a graph output";
        return failure();
      }
      auto att = dyn_cast<AttentionOp>(user);
      // A norm over them would take the zeros into its mean.
      auto rms = dyn_cast<RmsNormOp>(user);
      if (rms && use.getOperandNumber() == 0 && (int64_t)d >= rms.getAxis()) {
        why = "they are normalised together by " + opName(user);
        return failure();
      }
      if (!allowed(user) || (att && use.get() == att.getMask())) {
        why = "they reach " + opName(user);
        return failure();
      }
      // A linear layer contracting over them: the padded entries must meet
      // zero rows of a padded weight (its input's last dimension).
      if (auto l = dyn_cast<LinearOp>(user); l && use.getOperandNumber() == 0 &&
                                              d + 1 == shapeOf(v).size() &&
                                              !l.getWeight().getDefiningOp<WeightOp>()) {
        why = "a contraction over them reads " + opName(user);
        return failure();
      }
    }
    auto [it, inserted] = grown.try_emplace(v, SmallVector<int64_t>(shapeOf(v)));
    it->second[d] = n / unit * padded;
  }
  // In place (the classes name these values): results grow; weights and
  // constants too, with zeros.
  OpBuilder b(members.front().first.getContext());
  for (auto &[v, shape] : grown) {
    auto t = RankedTensorType::get(shape, cast<RankedTensorType>(v.getType()).getElementType());
    if (auto c = v.getDefiningOp<ConstantOp>()) {
      auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      if (!dense) {
        why = "they pass through a constant that is not dense";
        return failure();
      }
      // Zeros after the stored values, per dimension (row-major).
      ArrayRef<int64_t> from = dense.getType().getShape();
      SmallVector<Attribute> in(dense.getValues<Attribute>());
      SmallVector<Attribute> out(t.getNumElements(), b.getZeroAttr(t.getElementType()));
      for (int64_t i = 0; i < (int64_t)in.size(); ++i) {
        int64_t rest = i, at = 0, stride = 1;
        for (int64_t k = (int64_t)from.size() - 1; k >= 0; --k) {
          at += (rest % from[k]) * stride;
          rest /= from[k];
          stride *= shape[k];
        }
        out[at] = in[i];
      }
      c.setValueAttr(DenseElementsAttr::get(t, out));
    } else if (auto w = v.getDefiningOp<WeightOp>()) {
      // NAME@pad reads the stored tensor (ditc.global_shape), or its
      // window (a part of a joined weight), and zeros.
      if (!w->hasAttr(kGlobalShapeAttr)) {
        w->setAttr(kSourceNameAttr, w.getNameAttr());
        w->setAttr(kGlobalShapeAttr, b.getDenseI64ArrayAttr(shapeOf(w.getResult())));
      }
      if (!w.getName().ends_with("@pad"))
        w.setName((w.getName() + "@pad").str());
    }
    v.setType(t);
  }
  return success();
}

/// Pads the heads of every attention and the hidden units of every
/// column/row pair of `fn` to multiples of the tensor degree `p`.
LogicalResult padForTensorParallel(func::FuncOp fn, int64_t p) {
  DimClasses classes(fn);
  // Heads: padded with zero heads (grouped K/V heads were repeated by
  // -ditc-repeat-kv-heads; heads that still do not divide are an error).
  bool bad = false;
  for (AttentionOp a : attentionsOf(fn)) {
    int64_t h = shapeOf(a.getQuery())[1], hkv = shapeOf(a.getKey())[1];
    if (h % p == 0)
      continue;
    std::string why;
    if (hkv != h)
      why = "its " + std::to_string(hkv) + " key/value heads are grouped (run "
            "-ditc-repeat-kv-heads first)";
    else if (succeeded(padClass(classes, classes.classOf(a.getQuery(), 1), p, why)))
      continue;
    a.emitError("tp=") << p << " does not divide the " << h << " heads of this "
                       << "attention, and they cannot be padded: " << why;
    bad = true;
  }
  if (bad)
    return failure();
  // Hidden units between a column- and a row-parallel linear layer: padded
  // with zero units where that is exact; otherwise the pair stays whole.
  SmallVector<LinearOp> linears;
  fn.walk([&](LinearOp l) { linears.push_back(l); });
  for (LinearOp a : linears) {
    unsigned n = shapeOf(a.getResult()).size() - 1;
    unsigned cls = classes.classOf(a.getResult(), n);
    if (classes.isPinned(cls) || shapeOf(a.getResult())[n] % p == 0 ||
        !feedsRowLinear(a, linears, classes))
      continue;
    std::string why;
    if (failed(padClass(classes, cls, p, why)))
      a.emitWarning("tp=") << p << " does not divide the " << shapeOf(a.getResult())[n]
                           << " output units of this layer, and they cannot be padded ("
                           << why << "): the layer and its partner stay whole";
  }
  return success();
}

struct PadTensorParallelPass : ditc::impl::PadTensorParallelPassBase<PadTensorParallelPass> {
  void runOnOperation() override {
    if (failed(runOnTensorAxis(getOperation(), [](func::FuncOp fn, const TensorAxis &tp) {
          return padForTensorParallel(fn, tp.size);
        })))
      signalPassFailure();
  }
};
} // namespace
