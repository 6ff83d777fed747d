//===- Passes.h - ditc graph transformations --------------------*- C++ -*-===//

#ifndef DITC_PASSES_TRANSFORMS_PASSES_H
#define DITC_PASSES_TRANSFORMS_PASSES_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ditc {

/// What -ditc-chunk records on each loop it writes: the arena before any
/// chunking there, after this loop, and the predicted seconds it adds.
constexpr llvm::StringLiteral kChunkPeakBeforeAttr = "ditc.peak_before";
constexpr llvm::StringLiteral kChunkPeakAfterAttr = "ditc.peak_after";
constexpr llvm::StringLiteral kChunkCostAttr = "ditc.cost_s";

/// After a partition: the ops it inserted (collectives, reshapes) whose
/// operands all come from ops of a step cache's blocks (kCachedAttr) or
/// weights and constants join those blocks, so that a skipped step does not
/// run them either (every rank takes the same decision); so does a pipeline
/// stage's receive whose send (the same tag) is cached.
void propagateCached(ModuleOp module);

#define GEN_PASS_DECL
#include "passes/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Transforms/Passes.h.inc"

} // namespace mlir::ditc

#endif // DITC_PASSES_TRANSFORMS_PASSES_H
