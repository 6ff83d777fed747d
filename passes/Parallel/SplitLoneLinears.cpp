//===- SplitLoneLinears.cpp - lone linear layers by columns under tp ------===//
//
// Tensor parallelism splits the Megatron column/row pairs and the heads; a
// linear layer whose input and output features other ops need whole stays
// whole on every rank of the tp group. Split by its output columns, each
// rank computes N / P of them and an all-gather joins the result: the layer
// saves (1 - 1/P) of its work and of its weight's reads, and pays the
// gather of (1 - 1/P) of its output and the collective's latency. The time
// model prices both per layer, at the per-rank shapes the plan gives it, on
// the machine the plan is for; the cheaper one is written as the result's
// sharding, which -ditc-partition carries out.
//
//===----------------------------------------------------------------------===//

#include "passes/Parallel/Passes.h"
#include "passes/Parallel/TensorParallel.h"

#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/IRMapping.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_SPLITLONELINEARSPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

bool splitOver(const Sharding &s, StringRef axis) {
  return llvm::any_of(s, [&](const auto &axes) { return llvm::is_contained(axes, axis); });
}

/// `v`'s per-rank type under its planned sharding (blocks of ceil(n / P)).
RankedTensorType perRankType(Value v, const Mesh &mesh) {
  auto t = cast<RankedTensorType>(v.getType());
  Sharding s = shardingOrReplicated(v);
  SmallVector<int64_t> shape(t.getShape());
  for (auto [d, axes] : llvm::enumerate(s))
    if (!axes.empty()) {
      int64_t p = mesh.groupSize(axes);
      shape[d] = (shape[d] + p - 1) / p;
    }
  return RankedTensorType::get(shape, t.getElementType());
}

RankedTensorType withDim(RankedTensorType t, unsigned d, int64_t size) {
  SmallVector<int64_t> shape(t.getShape());
  shape[d] = size;
  return RankedTensorType::get(shape, t.getElementType());
}

struct Prices {
  double whole = 0, split = 0;
};

/// The layer whole and by columns plus the gather, priced on scratch ops
/// built before `l` (placeholders for its operands at their per-rank
/// shapes) and erased again: the profile's own costs and the time model.
Prices price(LinearOp l, const TensorAxis &tp, const Mesh &mesh, const HardwareDesc &hw,
             const TimeOptions &topts) {
  OpBuilder b(l);
  Location loc = l.getLoc();
  SmallVector<Operation *> scratch;
  auto placeholder = [&](Type t) {
    auto c = UnrealizedConversionCastOp::create(b, loc, TypeRange{t}, ValueRange{});
    scratch.push_back(c);
    return c.getResult(0);
  };
  auto result = perRankType(l.getResult(), mesh);
  unsigned n = result.getRank() - 1;
  int64_t cols = result.getDimSize(n) / tp.size;
  auto weight = cast<RankedTensorType>(l.getWeight().getType());
  unsigned wn = l.getTransposeWeight() ? 0 : 1;

  auto layer = [&](bool split) {
    IRMapping map;
    map.map(l.getInput(), placeholder(perRankType(l.getInput(), mesh)));
    map.map(l.getWeight(), placeholder(split ? withDim(weight, wn, cols) : weight));
    if (Value bias = l.getBias()) {
      auto bt = cast<RankedTensorType>(bias.getType());
      map.map(bias, placeholder(split ? withDim(bt, bt.getRank() - 1, cols) : bt));
    }
    Operation *c = b.clone(*l, map);
    c->getResult(0).setType(split ? withDim(result, n, cols) : result);
    scratch.push_back(c);
    return c;
  };
  Prices p;
  p.whole = predictOpTime(costOf(layer(false)), hw, topts).totalS;
  Operation *part = layer(true);
  auto gather = AllGatherOp::create(b, loc, result, part->getResult(0), b.getI64IntegerAttr(n),
                                    b.getStrArrayAttr({tp.name}));
  scratch.push_back(gather);
  p.split = predictOpTime(costOf(part), hw, topts).totalS +
            predictOpTime(costOf(gather), hw, topts).totalS;
  for (Operation *op : llvm::reverse(scratch))
    op->erase();
  return p;
}

LogicalResult splitLoneLinears(func::FuncOp fn, const TensorAxis &tp, const HardwareDesc &hw,
                               const TimeOptions &topts, int64_t &count) {
  FailureOr<Mesh> mesh = Mesh::of(fn);
  if (failed(mesh))
    return failure();
  SmallVector<LinearOp> linears;
  fn.walk([&](LinearOp l) { linears.push_back(l); });
  for (LinearOp l : linears) {
    Sharding out = shardingOrReplicated(l.getResult());
    if (splitOver(out, tp.name) || splitOver(shardingOrReplicated(l.getInput()), tp.name) ||
        splitOver(shardingOrReplicated(l.getWeight()), tp.name) ||
        (l.getBias() && splitOver(shardingOrReplicated(l.getBias()), tp.name)))
      continue;
    unsigned n = out.size() - 1;
    int64_t units = shapeOf(l.getResult())[n];
    if (units % tp.size || !out[n].empty())
      continue;
    TimeOptions t = topts;
    if (!cast<RankedTensorType>(l.getType()).getElementType().isF32())
      t.bytesScale = 1.0; // already in the run's dtype
    Prices p = price(l, tp, *mesh, hw, t);
    if (!(p.split < p.whole))
      continue;
    addSplit(l.getResult(), n, {tp.name});
    ++count;
  }
  return success();
}

struct SplitLoneLinearsPass : ditc::impl::SplitLoneLinearsPassBase<SplitLoneLinearsPass> {
  using Base::Base;
  SplitLoneLinearsPass(const HardwareDesc &desc, StringRef dt) {
    given = desc;
    dtype = dt.str();
  }
  std::optional<HardwareDesc> given;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::optional<HardwareDesc> machine = given;
    if (!machine && !hw.empty()) {
      std::string err;
      machine = loadHardware(hw, err);
      if (!machine) {
        module.emitError(err);
        return signalPassFailure();
      }
    }
    if (!machine)
      return;
    TimeOptions topts;
    topts.dtype = dtype;
    // The graph is still in f32 here; a 16-bit run moves half its bytes.
    topts.bytesScale = dtype == "bf16" || dtype == "f16" ? 0.5 : 1.0;
    int64_t count = 0;
    if (failed(runOnTensorAxis(module, [&](func::FuncOp fn, const TensorAxis &tp) {
          return splitLoneLinears(fn, tp, *machine, topts, count);
        })))
      return signalPassFailure();
    if (count)
      module->setAttr(kLoneSplitsAttr,
                      IntegerAttr::get(IntegerType::get(module.getContext(), 64), count));
  }
};
} // namespace

std::unique_ptr<Pass> mlir::ditc::createSplitLoneLinearsPass(const HardwareDesc &hw,
                                                             StringRef dtype) {
  return std::make_unique<SplitLoneLinearsPass>(hw, dtype);
}
