//===- Pipelines.cpp - ditc pass pipelines --------------------------------===//

#include "passes/Pipelines.h"
#include "passes/Parallel/Passes.h"
#include "passes/Transforms/Passes.h"
#include "lib/Target/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::ditc::addFrontendPipeline(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createFusePass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void mlir::ditc::addParallelPipeline(OpPassManager &pm,
                                     const ParallelPipelineOptions &opts) {
  PlanPassOptions plan;
  plan.plan = opts.plan;
  plan.devices = opts.devices;
  pm.addPass(createPlanPass(plan));
  pm.addPass(createSplitJoinedLinearsPass());
  pm.addPass(createRepeatKvHeadsPass());
  pm.addPass(createPadTensorParallelPass());
  pm.addPass(createSeedTensorParallelPass());
  pm.addPass(createPropagateShardingPass());
  if (opts.hw)
    pm.addPass(createSplitLoneLinearsPass(*opts.hw, opts.dtype));
  pm.addPass(createPartitionPass());
  pm.addPass(createCSEPass());
  PipelineStagesPassOptions stages;
  stages.flopsPerByte = opts.stages.flopsPerByte;
  stages.flopsPerMessage = opts.stages.flopsPerMessage;
  pm.addPass(createPipelineStagesPass(stages));
}

void mlir::ditc::addCodegenPipeline(OpPassManager &pm,
                                    const CodegenPipelineOptions &opts) {
  addCodegenPlanning(pm, opts);
  if (opts.lower)
    addCodegenLowering(pm, opts);
}

void mlir::ditc::addCodegenPlanning(OpPassManager &pm, const CodegenPipelineOptions &opts) {
  pm.addPass(createLegalizeRuntimePass());
  if (opts.activationLimit > 0) {
    ChunkPassOptions chunk;
    chunk.activationLimit = opts.activationLimit;
    chunk.hwName = opts.hw;
    chunk.showProgress = opts.chunkProgress;
    pm.addPass(createChunkPass(chunk));
  }
  pm.addPass(createTransposeLoopWeightsPass());
  pm.addPass(createPlanMemoryPass());
}

void mlir::ditc::addCodegenLowering(OpPassManager &pm, const CodegenPipelineOptions &opts) {
  LowerToRuntimePassOptions lowering;
  lowering.trace = opts.trace;
  lowering.target = opts.target;
  lowering.cudaArch = opts.cudaArch;
  pm.addPass(createLowerToRuntimePass(lowering));
}

void mlir::ditc::registerPipelines() {
  PassPipelineRegistration<>(
      "ditc-frontend",
      "Canonicalise the imported graph and recognise its semantic ops",
      [](OpPassManager &pm) { addFrontendPipeline(pm); });
  PassPipelineRegistration<>(
      "ditc-codegen",
      "Legalise for the runtime kernels, plan the arena, lower to LLVM calls",
      [](OpPassManager &pm) { addCodegenPipeline(pm); });
}
