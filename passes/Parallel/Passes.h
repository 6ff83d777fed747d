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

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_PASSES_H
