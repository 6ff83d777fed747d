//===- Pipelines.h - ditc pass pipelines ------------------------*- C++ -*-===//
//
// Pipelines string passes together; tools only call these functions.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_PIPELINES_H
#define DITC_PASSES_PIPELINES_H

#include "passes/Analysis/Hardware.h"

#include "mlir/Pass/PassManager.h"

namespace mlir::ditc {

/// What runs after import: canonicalisation, fusion of the semantic ops,
/// canonicalisation again and dead-code removal.
void addFrontendPipeline(OpPassManager &pm);

/// What a message between pipeline stages costs on the machine a plan is
/// for, in FLOPs of its matrix rate: per byte of the program's types, per
/// message (-ditc-pipeline-stages' flops-per-byte and flops-per-message).
struct StagePrices {
  double flopsPerByte = 0, flopsPerMessage = 0;
};

struct ParallelPipelineOptions {
  /// Degrees per strategy, e.g. "cfg=2,ulysses=2" (see -ditc-plan).
  std::string plan;
  /// Ranks the plan must fill (0: the product of the degrees).
  int64_t devices = 0;
  /// The prices of the messages crossing a pipeline stage cut (none: the
  /// fewest bytes near an even split).
  StagePrices stages;
  /// The machine -ditc-split-lone-linears prices lone linear layers on
  /// under tp (null: they stay whole) and the run's compute dtype.
  const HardwareDesc *hw = nullptr;
  std::string dtype = "f32";
};

/// Parallelisation with a user-given plan: write it as a mesh and seed
/// shardings, propagate them, partition into the per-rank program.
void addParallelPipeline(OpPassManager &pm, const ParallelPipelineOptions &opts);

struct CodegenPipelineOptions {
  /// Also lower to LLVM dialect runtime calls (else stop after planning).
  bool lower = true;
  /// Mark the end of every step for `ditc run --trace`.
  bool trace = false;
  /// The kernel table (cpu, cuda) and, for cuda, the GPU architectures.
  std::string target = "cpu";
  std::string cudaArch;
  /// -ditc-chunk's arena budget in bytes (0: no chunking) and the machine
  /// its time model prices candidates for.
  int64_t activationLimit = 0;
  std::string hw = "cpu";
  /// -ditc-chunk prints its searches' progress (ditc compile).
  bool chunkProgress = false;
};

/// Code generation: legalise ops for the kernels, plan the arena and (with
/// `lower`) lower to LLVM dialect calls of the target's kernels.
void addCodegenPipeline(OpPassManager &pm,
                        const CodegenPipelineOptions &opts = {});

/// Its two halves: legalise, chunk and plan the arena; lower to calls.
void addCodegenPlanning(OpPassManager &pm, const CodegenPipelineOptions &opts);
void addCodegenLowering(OpPassManager &pm, const CodegenPipelineOptions &opts);

/// Registers the named pipelines with the pass registry (`ditc-frontend`,
/// `ditc-codegen`).
void registerPipelines();

} // namespace mlir::ditc

#endif // DITC_PASSES_PIPELINES_H
