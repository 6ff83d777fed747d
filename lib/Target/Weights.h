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
FailureOr<WeightFileInfo> writeWeights(ModuleOp module, StringRef modelDir,
                                       StringRef outPath);

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_WEIGHTS_H
