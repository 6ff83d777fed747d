//===- WireIndex.h - where tensor bytes sit inside an .onnx file -*- C++ -*-===//
//
// Protobuf parsing copies a tensor's bytes but does not say where they were.
// A weight reference needs the byte offset, so this small scanner walks the
// protobuf wire format of ModelProto -> GraphProto and records, for each
// initializer and each Constant node's tensor, the file offset and length of
// its little-endian payload (raw_data, or packed float_data/double_data).
// It only reads field headers and never touches the payload bytes.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_IMPORTER_ONNX_WIREINDEX_H
#define DITC_LIB_IMPORTER_ONNX_WIREINDEX_H

#include "llvm/ADT/StringRef.h"
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

namespace mlir::ditc::onnx_import {

struct PayloadLocation {
  uint64_t offset = 0;
  uint64_t size = 0;
};

struct WireIndex {
  /// Indexed like GraphProto.initializer.
  std::vector<std::optional<PayloadLocation>> initializers;
  /// Keyed by (node index, attribute index) for tensor-valued attributes.
  std::map<std::pair<int, int>, PayloadLocation> nodeTensors;
};

/// Scans a serialised ModelProto. Returns false when the bytes are not a
/// well-formed protobuf message.
bool scanWireIndex(llvm::StringRef bytes, WireIndex &index);

} // namespace mlir::ditc::onnx_import

#endif // DITC_LIB_IMPORTER_ONNX_WIREINDEX_H
