//===- Pipelines.h - ditc pass pipelines ------------------------*- C++ -*-===//
//
// Pipelines string passes together; tools only call these functions.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_PIPELINES_H
#define DITC_PASSES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

namespace mlir::ditc {

/// What runs after import: canonicalisation, fusion of the semantic ops,
/// canonicalisation again and dead-code removal.
void addFrontendPipeline(OpPassManager &pm);

/// Code generation for the CPU runtime: legalise ops for the kernels and
/// plan the arena; with `lower`, also lower to LLVM dialect runtime calls.
void addCodegenPipeline(OpPassManager &pm, bool lower = true);

/// Registers the named pipelines with the pass registry (`ditc-frontend`,
/// `ditc-codegen`).
void registerPipelines();

} // namespace mlir::ditc

#endif // DITC_PASSES_PIPELINES_H
