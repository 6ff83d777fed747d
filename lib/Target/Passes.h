//===- Passes.h - code generation passes ------------------------*- C++ -*-===//

#ifndef DITC_LIB_TARGET_PASSES_H
#define DITC_LIB_TARGET_PASSES_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ditc {

#define GEN_PASS_DECL
#include "lib/Target/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lib/Target/Passes.h.inc"

/// The attribute names of the memory plan.
constexpr llvm::StringLiteral kOffsetsAttr = "ditc.offsets";
constexpr llvm::StringLiteral kArenaBytesAttr = "ditc.arena_bytes";
/// Offset values that are not arena offsets.
constexpr int64_t kViewOffset = -1;
inline int64_t outputOffset(int64_t k) { return -2 - k; }
inline bool isOutputOffset(int64_t o) { return o <= -2; }
inline int64_t outputIndex(int64_t o) { return -2 - o; }

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_PASSES_H
