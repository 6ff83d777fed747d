//===- Passes.h - ditc parallel planning and partition ----------*- C++ -*-===//

#ifndef DITC_PASSES_PARALLEL_PASSES_H
#define DITC_PASSES_PARALLEL_PASSES_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ditc {

#define GEN_PASS_DECL
#include "passes/Parallel/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Parallel/Passes.h.inc"

/// Whether a self-attention of @main attends over token streams joined
/// along its tokens (joint attention, MMDiT): the plan key whole_stream
/// applies.
bool hasJointAttention(ModuleOp module);

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_PASSES_H
