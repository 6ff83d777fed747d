//===- InsertCache.cpp - a step cache over the transformer blocks ---------===//
//
// -ditc-insert-cache: see Passes.td. The stack is the span of the
// profiler's blocks; the decision's input and the bases of the residuals
// come from the first block's streams; every other op of the stack that
// they do not need is marked ditc.cached.
//
//===----------------------------------------------------------------------===//

#include "passes/Transforms/Passes.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/Layers.h"
#include "passes/Analysis/MemoryPlan.h"
#include "passes/Analysis/Profile.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_INSERTCACHEPASS
#include "passes/Transforms/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// TeaCache's measure: the input of the first linear of the first block
/// that reads a value of the image stream's type other than the stream
/// itself (its modulated input: norm, then scale and shift).
Value modulatedInput(ArrayRef<OpCost> ops, const LayerSpan &block, Value stream) {
  for (int64_t k = block.begin; k < block.end; ++k)
    if (auto l = dyn_cast<LinearOp>(ops[k].op))
      if (l.getInput().getType() == stream.getType() && l.getInput() != stream)
        return l.getInput();
  return {};
}

/// Flux-like: some attention's keys are two streams joined along the
/// tokens, then rotated (rope) as one. TeaCache's rescaling polynomial for
/// them is the one published for Flux (xDiT's flux_coef).
bool fluxLike(func::FuncOp fn) {
  bool found = false;
  fn.walk([&](AttentionOp attn) {
    bool rotated = false;
    for (Operation *def = attn.getKey().getDefiningOp(); def && !found;
         def = def->getNumOperands() ? def->getOperand(0).getDefiningOp() : nullptr) {
      if (isa<RopeOp>(def))
        rotated = true;
      else if (auto c = dyn_cast<ConcatOp>(def))
        found = rotated && c.getInputs().size() == 2;
      else if (!isa<TransposeOp, ReshapeOp>(def))
        break;
      if (isa<ConcatOp>(def))
        break;
    }
  });
  return found;
}
constexpr double kFluxCoefficients[] = {498.651651, -283.781631, 55.8554382, -3.82021401,
                                        0.264230861};

struct InsertCache : ditc::impl::InsertCachePassBase<InsertCache> {
  using InsertCachePassBase::InsertCachePassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &why) {
      module.emitError("--cache ") << kind << ": " << why;
      signalPassFailure();
    };
    std::optional<CacheKind> cacheKind = symbolizeCacheKind(kind);
    if (!cacheKind)
      return fail("unknown kind (expected fbcache or teacache)");
    func::FuncOp fn = getMainFunc(module);
    if (!fn)
      return fail("no single-block @main");
    Profile profile(fn);
    ArrayRef<OpCost> ops = profile.ops();
    std::vector<LayerSpan> spans = findLayers(ops);
    const LayerSpan *first = nullptr, *last = nullptr;
    for (const LayerSpan &s : spans)
      if (s.kind >= 0) {
        first = first ? first : &s;
        last = &s;
      }
    if (!first)
      return fail("the graph has no repeated transformer blocks to skip");
    int64_t begin = first->begin, end = last->end;
    SmallVector<BlockStream, 2> streams = blockStreams(ops, *first);
    if (streams.empty())
      return fail("the first block (" + first->name +
                  ") has no residual stream (a value leaving it that adds up from one entering "
                  "it)");

    // The measure and the bases of the residuals.
    OpBuilder b(module.getContext());
    Value measure;
    SmallVector<Value, 2> bases;
    if (*cacheKind == CacheKind::fbcache) {
      b.setInsertionPointAfterValue(streams[0].out);
      measure = SubOp::create(b, streams[0].out.getLoc(), streams[0].out.getType(),
                              streams[0].out, streams[0].in);
      for (const BlockStream &s : streams)
        bases.push_back(s.out);
    } else {
      measure = modulatedInput(ops, *first, streams[0].in);
      if (!measure)
        return fail("no projection in the first block (" + first->name +
                    ") reads a modulated input of the image stream");
      for (const BlockStream &s : streams)
        bases.push_back(s.in);
    }
    SmallVector<double> coefs(coefficients.begin(), coefficients.end());
    if (coefs.empty() && *cacheKind == CacheKind::teacache && fluxLike(fn))
      coefs.assign(std::begin(kFluxCoefficients), std::end(kFluxCoefficients));
    if (coefs.empty())
      coefs = {1.0, 0.0};
    b.setInsertionPointAfterValue(measure);
    auto decide = CacheDecideOp::create(b, measure.getLoc(), measure,
                                        CacheKindAttr::get(module.getContext(), *cacheKind),
                                        b.getF64FloatAttr(threshold),
                                        b.getDenseF64ArrayAttr(coefs),
                                        b.getF64FloatAttr(computeFraction),
                                        stale ? b.getUnitAttr() : UnitAttr());

    // The stack's ops (in schedule order) and those the decision and the
    // bases need: they always run.
    SmallVector<Operation *> stack;
    llvm::DenseSet<Operation *> inStack;
    for (int64_t k = begin; k < end; ++k) {
      stack.push_back(ops[k].op);
      inStack.insert(ops[k].op);
    }
    // Values leaving the stack that no stream's type carries (Flux's rope
    // tables, which the single blocks after the joint ones read) always
    // run too: a skipped step has no residual to rebuild them from.
    SmallVector<Value> work(bases.begin(), bases.end());
    work.push_back(measure);
    for (Operation *op : stack)
      for (Value r : op->getResults())
        if (llvm::none_of(bases, [&](Value base) { return base.getType() == r.getType(); }) &&
            llvm::any_of(r.getUsers(), [&](Operation *u) { return !inStack.count(u); }))
          work.push_back(r);
    llvm::DenseSet<Operation *> needed;
    while (!work.empty()) {
      Operation *def = work.pop_back_val().getDefiningOp();
      if (!def || !needed.insert(def).second)
        continue;
      for (Value operand : def->getOperands())
        work.push_back(operand);
    }
    // Redundancy probes of what always runs (the first block's residual)
    // run always too.
    auto runsAlways = [&](Value v) {
      Operation *def = v.getDefiningOp();
      return !def || !inStack.count(def) || needed.count(def);
    };
    for (Operation *op : stack)
      if (auto p = dyn_cast<ProbeOp>(op)) {
        Operation *def = p.getInput().getDefiningOp();
        if (def && isa<SubOp>(def) && def->hasOneUse() &&
            llvm::all_of(def->getOperands(), runsAlways))
          needed.insert(def);
        if (runsAlways(p.getInput()))
          needed.insert(p);
      }
    SmallVector<Operation *> cached;
    for (Operation *op : stack)
      if (!needed.count(op))
        cached.push_back(op);

    // Values leaving the stack from a cached op: through cache_apply with
    // the base of their type (in order, for streams of one type).
    Operation *lastOp = stack.back();
    SmallVector<bool> used(bases.size(), false);
    b.setInsertionPointAfter(lastOp);
    for (Operation *op : cached)
      for (Value r : op->getResults()) {
        SmallVector<OpOperand *> outside;
        for (OpOperand &u : r.getUses())
          if (!inStack.count(u.getOwner()) && u.getOwner() != decide)
            outside.push_back(&u);
        if (outside.empty())
          continue;
        int64_t k = 0;
        while (k < (int64_t)bases.size() && (used[k] || bases[k].getType() != r.getType()))
          ++k;
        if (k == (int64_t)bases.size()) { // some base has its type (else it runs always)
          k = 0;
          while (bases[k].getType() != r.getType())
            ++k;
        }
        used[k] = true;
        auto apply = CacheApplyOp::create(b, r.getLoc(), r, bases[k]);
        for (OpOperand *u : outside)
          u->set(apply.getResult());
      }

    // The cached ops run after the decision: those before it move behind
    // it, in order (their users are cached ops or after the stack).
    Operation *anchor = decide;
    for (Operation *op : cached) {
      op->setAttr(kCachedAttr, UnitAttr::get(module.getContext()));
      if (op->isBeforeInBlock(decide)) {
        op->moveAfter(anchor);
        anchor = op;
      }
    }
  }
};

} // namespace

void mlir::ditc::propagateCached(ModuleOp module) {
  func::FuncOp fn = getMainFunc(module);
  if (!fn)
    return;
  // Pipeline stages: a receive whose send is skipped is skipped too (the
  // tags pair them); until nothing changes, as a receive's readers may
  // precede a later send in program order.
  llvm::DenseSet<int64_t> cachedTags;
  for (bool changed = true; changed;) {
    changed = false;
    for (Operation &op : fn.getBody().front()) {
      if (auto s = dyn_cast<SendOp>(op); s && op.hasAttr(kCachedAttr))
        cachedTags.insert(s.getTag());
      if (op.hasAttr(kCachedAttr) || isa<CacheApplyOp, CacheDecideOp, func::ReturnOp>(op))
        continue;
      bool mark = false;
      if (auto r = dyn_cast<RecvOp>(op)) {
        mark = cachedTags.contains(r.getTag());
      } else if (op.getNumOperands() > 0) {
        bool any = false, all = true;
        for (Value v : op.getOperands()) {
          Operation *def = v.getDefiningOp();
          bool cached = def && def->hasAttr(kCachedAttr);
          any |= cached;
          all &= cached || (def && isa<WeightOp, ConstantOp>(def));
        }
        mark = any && all;
      }
      if (!mark)
        continue;
      op.setAttr(kCachedAttr, UnitAttr::get(module.getContext()));
      changed = true;
    }
  }
}
