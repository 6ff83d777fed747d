//===- Diagnostics.cpp - one-line user-facing diagnostics -----------------===//

#include "lib/Support/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

std::string mlir::ditc::describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return "node '" + name.getName().str() + "'";
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return (file.getFilename().str() + ":" + std::to_string(file.getLine()) +
            ":" + std::to_string(file.getColumn()));
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location l : fused.getLocations())
      if (std::string d = describeLocation(l); !d.empty())
        return d;
  }
  if (auto callsite = dyn_cast<CallSiteLoc>(loc))
    return describeLocation(callsite.getCallee());
  return "";
}

mlir::ditc::OneLineDiagnosticHandler::OneLineDiagnosticHandler(MLIRContext *ctx,
                                                               std::string file)
    : ctx(ctx), file(std::move(file)) {
  id = ctx->getDiagEngine().registerHandler([this](Diagnostic &diag) {
    const char *kind = "error";
    if (diag.getSeverity() == DiagnosticSeverity::Warning)
      kind = "warning";
    else if (diag.getSeverity() == DiagnosticSeverity::Note ||
             diag.getSeverity() == DiagnosticSeverity::Remark)
      kind = "note";
    else
      ++errors;
    std::string msg = diag.str();
    for (const Diagnostic &note : diag.getNotes())
      if (!StringRef(note.str()).starts_with("see current operation"))
        msg += " (" + note.str() + ")";
    for (char &c : msg)
      if (c == '\n')
        c = ' ';
    std::string where = describeLocation(diag.getLocation());
    llvm::errs() << kind << ": ";
    if (!this->file.empty() && where.find(this->file) != 0)
      llvm::errs() << this->file << ": ";
    if (!where.empty())
      llvm::errs() << where << ": ";
    llvm::errs() << msg << "\n";
    return success();
  });
}

mlir::ditc::OneLineDiagnosticHandler::~OneLineDiagnosticHandler() {
  ctx->getDiagEngine().eraseHandler(id);
}
