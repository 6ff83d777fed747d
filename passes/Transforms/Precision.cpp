//===- Precision.cpp - 16-bit activations and weights ---------------------===//
//
// -ditc-precision: see Passes.td. One walk in program order decides each
// value's type: weights seed the low type, an op with a low float operand
// computes in it, values built from inputs and constants alone stay f32.
//
//===----------------------------------------------------------------------===//

#include "passes/Transforms/Passes.h"

#include "dialects/Ditc/IR/DitcShapes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/APFloat.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_PRECISIONPASS
#include "passes/Transforms/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// bf16 / f16 / f32 by name; null for anything else.
Type floatTypeNamed(MLIRContext *ctx, StringRef name) {
  if (name == "bf16")
    return BFloat16Type::get(ctx);
  if (name == "f16")
    return Float16Type::get(ctx);
  if (name == "f32")
    return Float32Type::get(ctx);
  return Type();
}

RankedTensorType withElement(Type t, Type et) {
  auto rt = cast<RankedTensorType>(t);
  return RankedTensorType::get(rt.getShape(), et, rt.getEncoding());
}

bool hasElement(Value v, Type et) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType() == et;
}

/// f32 or f64: what a low op narrows (exporters compute rotary tables in
/// f64; the CPU legalisation would demote them to f32 later anyway).
bool isWide(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && (t.getElementType().isF32() || t.getElementType().isF64());
}

/// The attention mask operand of an attention op.
Value maskOf(Operation *op) {
  if (auto a = dyn_cast<AttentionOp>(op))
    return a.getMask();
  if (auto a = dyn_cast<RingAttentionOp>(op))
    return a.getMask();
  return Value();
}

/// Contractions and table lookups: where weights enter the computation.
bool readsWeights(Operation *op) { return isa<LinearOp, MatmulOp, ConvOp, GatherOp>(op); }

/// A weight, or a view of weights alone (reshape, transpose, slice, ...).
bool weightDerived(Value v) {
  Operation *def = v.getDefiningOp();
  if (!def)
    return false;
  if (isa<WeightOp>(def))
    return true;
  if (!isa<ReshapeOp, TransposeOp, SliceOp, BroadcastOp, ConcatOp>(def))
    return false;
  return llvm::all_of(def->getOperands(), weightDerived);
}

struct Precision {
  Type low, f32, io;
  OpBuilder b;
  /// Tags of collective.send ops whose operand is low.
  DenseSet<int64_t> lowTags;
  DenseMap<Value, Value> converted; // f32 value -> its low cast

  Precision(MLIRContext *ctx, Type low, Type io)
      : low(low), f32(Float32Type::get(ctx)), io(io), b(ctx) {}

  /// `v` (f32 or f64) as a low value, cast just before `user` (once per value: the
  /// cast sits after v's definition so every later user can share it).
  Value toLow(Value v) {
    // cast(low -> f32) of a low value: that value itself (exact).
    if (auto c = v.getDefiningOp<CastOp>())
      if (hasElement(c.getInput(), low))
        return c.getInput();
    if (Value done = converted.lookup(v))
      return done;
    OpBuilder::InsertionGuard g(b);
    if (Operation *def = v.getDefiningOp())
      b.setInsertionPointAfter(def);
    else
      b.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
    Value r;
    auto c = v.getDefiningOp<ConstantOp>();
    auto dense = c ? dyn_cast<DenseElementsAttr>(c.getValue()) : nullptr;
    if (dense && isa<FloatType>(dense.getElementType())) {
      const llvm::fltSemantics &sem = cast<FloatType>(low).getFloatSemantics();
      auto type = withElement(v.getType(), low);
      auto converted = dense.mapValues(low, [&](const APFloat &x) {
        APFloat y = x;
        bool lost;
        y.convert(sem, APFloat::rmNearestTiesToEven, &lost);
        return y.bitcastToAPInt();
      });
      r = ConstantOp::create(b, v.getLoc(), type, converted).getResult();
    } else {
      r = CastOp::create(b, v.getLoc(), withElement(v.getType(), low), v).getResult();
    }
    converted[v] = r;
    return r;
  }

  LogicalResult visit(Operation *op) {
    if (isa<WeightOp>(op))
      return success(); // typed where a low op uses it (storeLowWeights)
    if (isa<ConstantOp>(op))
      return success(); // converted where a low op uses it
    if (auto r = dyn_cast<RecvOp>(op)) {
      if (lowTags.contains(r.getTag()) && hasElement(r.getResult(), f32))
        r.getResult().setType(withElement(r.getType(), low));
      return success();
    }
    // The attention mask is no compute operand: additive masks stay f32.
    Value mask = maskOf(op);
    // Low: a low operand, or weights entering a contraction or lookup.
    bool lowOp = false;
    for (Value v : op->getOperands())
      if (v != mask && (hasElement(v, low) ||
                        (readsWeights(op) && isWide(v) && weightDerived(v))))
        lowOp = true;
    if (mask && hasElement(mask, low)) {
      OpBuilder::InsertionGuard g(b);
      b.setInsertionPoint(op);
      Value m = CastOp::create(b, op->getLoc(), withElement(mask.getType(), f32), mask);
      op->replaceUsesOfWith(mask, m);
      mask = m;
    }
    if (auto s = dyn_cast<SendOp>(op)) {
      if (lowOp)
        lowTags.insert(s.getTag());
      return success();
    }
    if (!lowOp)
      return success();
    for (OpOperand &o : op->getOpOperands())
      if (o.get() != mask && isWide(o.get()))
        o.set(toLow(o.get()));
    for (Value r : op->getResults())
      if (isWide(r))
        r.setType(withElement(r.getType(), low));
    // A cast that now converts low to low is no cast.
    if (auto c = dyn_cast<CastOp>(op))
      if (c.getInput().getType() == c.getType()) {
        c.getResult().replaceAllUsesWith(c.getInput());
        c.erase();
      }
    return success();
  }

  /// A weight that only low ops read (through the one cast toLow made) is
  /// stored in the low type; one that f32 ops read too stays as stored.
  void storeLowWeights(Block &body) {
    for (auto w : llvm::make_early_inc_range(body.getOps<WeightOp>())) {
      Value c = converted.lookup(w.getResult());
      if (!c || !w->hasOneUse())
        continue;
      if (!w->hasAttr(kStoredTypeAttr))
        w->setAttr(kStoredTypeAttr, TypeAttr::get(w.getType().getElementType()));
      w.getResult().setType(withElement(w.getType(), low));
      Operation *cast = c.getDefiningOp();
      c.replaceAllUsesWith(w.getResult());
      cast->erase();
    }
  }

  LogicalResult run(func::FuncOp func) {
    Block &body = func.getBody().front();
    // The graph's ops (not the input casts below, which stay f32).
    SmallVector<Operation *> ops;
    for (Operation &op : body.without_terminator())
      ops.push_back(&op);
    // Inputs: with io-dtype, f32 inputs arrive in that type; the graph still
    // sees f32 (a cast) until a low op meets them.
    if (io && io != f32) {
      b.setInsertionPointToStart(&body);
      for (BlockArgument a : body.getArguments()) {
        if (!hasElement(a, f32))
          continue;
        a.setType(withElement(a.getType(), io));
        auto c = CastOp::create(b, a.getLoc(), withElement(a.getType(), f32), a);
        a.replaceAllUsesExcept(c.getResult(), c);
      }
    }
    // (--dtype f32 with another io-dtype changes only the I/O.)
    if (low != f32)
      for (Operation *op : ops)
        if (failed(visit(op)))
          return failure();
    if (low != f32)
      storeLowWeights(body);
    // Constants that were converted and are now unused.
    for (auto c : llvm::make_early_inc_range(body.getOps<ConstantOp>()))
      if (c->use_empty() && converted.count(c.getResult()))
        c.erase();
    // Outputs keep their f32 type (or take io-dtype).
    Operation *ret = body.getTerminator();
    Type outType = io ? io : f32;
    SmallVector<Type> results;
    b.setInsertionPoint(ret);
    for (OpOperand &o : ret->getOpOperands()) {
      Type et = cast<RankedTensorType>(o.get().getType()).getElementType();
      Type orig = cast<RankedTensorType>(func.getResultTypes()[o.getOperandNumber()])
                      .getElementType();
      if (orig == f32 && et != outType)
        o.set(CastOp::create(b, o.get().getLoc(), withElement(o.get().getType(), outType),
                             o.get()));
      results.push_back(o.get().getType());
    }
    func.setType(FunctionType::get(func.getContext(), body.getArgumentTypes(), results));
    return success();
  }
};

struct PrecisionPass : ditc::impl::PrecisionPassBase<PrecisionPass> {
  using PrecisionPassBase::PrecisionPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Type low = floatTypeNamed(ctx, dtype);
    if (!low) {
      module.emitError("unknown dtype '") << dtype << "' (expected f32, bf16 or f16)";
      return signalPassFailure();
    }
    Type io;
    if (!ioDtype.empty() && !(io = floatTypeNamed(ctx, ioDtype))) {
      module.emitError("unknown io-dtype '") << ioDtype << "' (expected f32, bf16 or f16)";
      return signalPassFailure();
    }
    if (low.isF32() && (!io || io.isF32()))
      return;
    auto func = module.lookupSymbol<func::FuncOp>("main");
    if (!func) {
      module.emitError("expected func.func @main");
      return signalPassFailure();
    }
    Precision p(ctx, low, io);
    if (failed(p.run(func)))
      return signalPassFailure();
  }
};

} // namespace
