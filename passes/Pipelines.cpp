//===- Pipelines.cpp - ditc pass pipelines --------------------------------===//

#include "passes/Pipelines.h"
#include "passes/Transforms/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::ditc::addFrontendPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createFusePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::ditc::registerPipelines() {
  PassPipelineRegistration<>(
      "ditc-frontend",
      "Canonicalise the imported graph and recognise its semantic ops",
      [](OpPassManager &pm) { addFrontendPipeline(pm); });
}
