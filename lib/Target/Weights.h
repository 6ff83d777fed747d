//===- Weights.h - per-model weight files -----------------------*- C++ -*-===//

#ifndef DITC_LIB_TARGET_WEIGHTS_H
#define DITC_LIB_TARGET_WEIGHTS_H

#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::ditc {

struct WeightFileInfo {
  std::string checksum; // hex, of the data section
  int64_t tensors = 0;
  int64_t bytes = 0;
};

/// Writes every distinct `ditc.weight` of `module` into a safetensors file at
/// `outPath`, streaming the bytes from the ONNX model (or its external-data
/// files) in `modelDir`. Errors name the weight and the file.
///
/// In a partitioned module (with a `ditc.mesh`), weights that carry
/// `ditc.shard` are per-rank slices: `rank` picks which block of the source
/// tensor (`ditc.global_shape`) is written, zero-padded where the split
/// does not divide; the header's `__metadata__` records the plan and rank.
///
/// With `writePath`, the bytes go there (a temporary name the caller
/// renames to `outPath` once the whole compile succeeded); errors name
/// `outPath` either way.
FailureOr<WeightFileInfo> writeWeights(ModuleOp module, StringRef modelDir,
                                       StringRef outPath, int64_t rank = 0,
                                       StringRef writePath = {});

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_WEIGHTS_H
