//===- InitAll.h - register every ditc dialect, pass and pipeline -*- C++ -*-//

#ifndef DITC_LIB_INITALL_H
#define DITC_LIB_INITALL_H

namespace mlir {
class DialectRegistry;
namespace ditc {

/// Adds the dialects a ditc module may contain (ditc, func, ...).
void registerAllDialects(DialectRegistry &registry);

/// Registers every ditc pass and pipeline with the global pass registry.
void registerAllPasses();

} // namespace ditc
} // namespace mlir

#endif // DITC_LIB_INITALL_H
