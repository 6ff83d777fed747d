//===- PlanMemory.cpp - static arena plan ---------------------------------===//
//
// Writes the MemoryPlan analysis (passes/Analysis/MemoryPlan.h) into the IR:
// `ditc.offsets` on every op and `ditc.arena_bytes` on the module.
//
//===----------------------------------------------------------------------===//

#include "lib/Target/Passes.h"
#include "passes/Analysis/MemoryPlan.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_PLANMEMORYPASS
#include "lib/Target/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

struct PlanMemoryPass : ditc::impl::PlanMemoryPassBase<PlanMemoryPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    const MemoryPlan &plan = getAnalysis<MemoryPlan>();
    if (!plan.isValid()) {
      module.emitError("expected a single-block func.func @main");
      return signalPassFailure();
    }
    for (const MemoryPlan::Step &step : plan.steps()) {
      step.op->setAttr(kOffsetsAttr, DenseI64ArrayAttr::get(
                                         &getContext(), plan.offsets(step.op)));
      if (isa<ChunkOp>(step.op))
        step.op->setAttr(kArgOffsetsAttr, DenseI64ArrayAttr::get(
                                              &getContext(), plan.argOffsets(step.op)));
    }
    module->setAttr(kArenaBytesAttr,
                    IntegerAttr::get(IntegerType::get(&getContext(), 64),
                                     plan.arenaBytes()));
    markAllAnalysesPreserved();
  }
};

} // namespace
