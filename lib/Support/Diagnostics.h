//===- Diagnostics.h - one-line user-facing diagnostics ---------*- C++ -*-===//
//
// Tools print every diagnostic as one line that names the input file and, for
// imported graphs, the ONNX node (ops carry NameLoc("node name") locations).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_SUPPORT_DIAGNOSTICS_H
#define DITC_LIB_SUPPORT_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"
#include <string>

namespace mlir::ditc {

/// Describes a location for a user: "node 'name'", "file:line:col", or "".
std::string describeLocation(Location loc);

/// While alive, prints diagnostics to stderr as
/// `error: FILE: node 'NAME': message` (one line each) and counts errors.
class OneLineDiagnosticHandler {
public:
  OneLineDiagnosticHandler(MLIRContext *ctx, std::string file);
  ~OneLineDiagnosticHandler();
  unsigned errorCount() const { return errors; }
  void setFile(std::string f) { file = std::move(f); }

private:
  MLIRContext *ctx;
  std::string file;
  unsigned errors = 0;
  DiagnosticEngine::HandlerID id;
};

} // namespace mlir::ditc

#endif // DITC_LIB_SUPPORT_DIAGNOSTICS_H
