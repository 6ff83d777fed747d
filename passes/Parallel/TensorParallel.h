//===- TensorParallel.h - helpers of the tensor-parallel passes -*- C++ -*-===//
//
// Tensor parallelism (the mesh axis of kind `tensor`) is planned by four
// passes after -ditc-plan, which only writes the mesh: -ditc-split-joined-
// linears, -ditc-repeat-kv-heads and -ditc-pad-tensor-parallel rewrite the
// graph so that the degree divides what it splits; -ditc-seed-tensor-parallel
// then writes the splits (heads, Megatron column/row pairs).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_PARALLEL_TENSORPARALLEL_H
#define DITC_PASSES_PARALLEL_TENSORPARALLEL_H

#include "passes/Parallel/DimClasses.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::ditc {

/// The tensor axis of a module's mesh.
struct TensorAxis {
  std::string name;
  int64_t size = 1;
};

/// Runs `body` on @main of `module` when its mesh has a tensor axis (does
/// nothing without one). Fails on a malformed mesh, a module without
/// func.func @main (with a diagnostic) or when `body` fails.
LogicalResult runOnTensorAxis(ModuleOp module,
                              function_ref<LogicalResult(func::FuncOp, const TensorAxis &)> body);

/// The attention ops of `fn`, in order (collected first: passes rewrite them).
SmallVector<AttentionOp> attentionsOf(func::FuncOp fn);

/// Whether linear layer `a`'s output units are the contraction of another
/// linear layer of `linears` (a Megatron column layer feeding a row layer).
bool feedsRowLinear(LinearOp a, ArrayRef<LinearOp> linears, DimClasses &classes);

/// "op-name ('onnx-node-name')" for diagnostics.
std::string describeOp(Operation *op);

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_TENSORPARALLEL_H
