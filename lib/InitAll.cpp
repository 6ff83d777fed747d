//===- InitAll.cpp - register every ditc dialect, pass and pipeline -------===//

#include "lib/InitAll.h"

#include "dialects/Ditc/IR/DitcDialect.h"
#include "passes/Pipelines.h"
#include "passes/Parallel/Passes.h"
#include "passes/Transforms/Passes.h"
#include "lib/Target/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Transforms/Passes.h"

void mlir::ditc::registerAllDialects(DialectRegistry &registry) {
  registry.insert<DitcDialect, func::FuncDialect, LLVM::LLVMDialect>();
}

void mlir::ditc::registerAllPasses() {
  registerDitcTransformsPasses();
  registerDitcParallelPasses();
  registerDitcTargetPasses();
  registerPipelines();
  // The upstream passes our pipelines use, so ditc-opt can run them alone.
  registerCanonicalizerPass();
  registerCSEPass();
  registerSymbolDCEPass();
}
