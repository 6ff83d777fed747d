//===- OnnxImporter.h - ONNX to the ditc dialect ----------------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf, or the ONNX text syntax used by tests)
// into a module holding `func.func @main` of ditc ops with static shapes.
// Initializers become `ditc.weight` references: no weight byte is read.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_IMPORTER_ONNX_ONNXIMPORTER_H
#define DITC_LIB_IMPORTER_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include <string>

namespace mlir::ditc {

/// The opsets of the default ONNX domain the importer accepts.
constexpr int64_t kMinOnnxOpset = 13;
constexpr int64_t kMaxOnnxOpset = 23;

struct OnnxImportOptions {
  /// Shapes for graph inputs with dynamic dimensions (`--shape name=2,4`).
  llvm::StringMap<SmallVector<int64_t>> inputShapes;
  /// Graph inputs replaced by constants read from serialized TensorProto
  /// files (`--bind name=input_0.pb`).
  llvm::StringMap<std::string> inputBindings;
  /// Values for named (symbolic) dimensions of the graph inputs, e.g. the
  /// exporter's `batch` or `tokens` (`--dim tokens=4096`).
  llvm::StringMap<int64_t> dimValues;
};

/// Parses one `NAME=D0,D1,...` shape option into `opts`.
LogicalResult parseShapeOption(StringRef spec, OnnxImportOptions &opts,
                               std::string &why);

/// Parses one `NAME=N` named-dimension option into `opts`.
LogicalResult parseDimOption(StringRef spec, OnnxImportOptions &opts,
                             std::string &why);

/// Parses one `NAME=FILE.pb` binding option into `opts`.
LogicalResult parseBindOption(StringRef spec, OnnxImportOptions &opts,
                              std::string &why);

/// Imports the model at `path`. Errors are reported as diagnostics (located at
/// the ONNX node) and yield a null module.
OwningOpRef<ModuleOp> importOnnxModel(MLIRContext *ctx, StringRef path,
                                      const OnnxImportOptions &opts = {});

/// The ONNX op types the importer handles, sorted.
std::vector<std::string> supportedOnnxOps();

} // namespace mlir::ditc

#endif // DITC_LIB_IMPORTER_ONNX_ONNXIMPORTER_H
