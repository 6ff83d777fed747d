//===- Passes.h - code generation passes ------------------------*- C++ -*-===//

#ifndef DITC_LIB_TARGET_PASSES_H
#define DITC_LIB_TARGET_PASSES_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "passes/Analysis/MemoryPlan.h"

namespace mlir::ditc {

#define GEN_PASS_DECL
#include "lib/Target/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lib/Target/Passes.h.inc"

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_PASSES_H
