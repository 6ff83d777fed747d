//===- internal.h - Shared between the runtime's translation units -------===//
//
// Compiled into every translation unit, ISA-specific ones included, so it
// holds declarations only: an inline function or template defined here would
// be compiled once per ISA, and the linker would keep one copy for all.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_SRC_INTERNAL_H
#define DITC_RUNTIME_SRC_INTERNAL_H

#include "ditc/runtime/ditc_kernels.h"

namespace ditc_rt {

/// Prints "ditc runtime: <kernel>: <message>" to stderr and aborts.
[[noreturn]] void fatal(const char *kernel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// The number of threads kernels use (>= 1).
int num_threads();

/// The kernels compiled once per ISA (the rest are ISA-independent: they call
/// oneDNN or only keep state). Each ISA namespace defines functions of these
/// names whose types are exactly those of the C entry points.
struct IsaTable {
  const char *name;
#define DITC_RT_ISA_ENTRY(fn) decltype(&::ditc_rt_##fn) fn;
#include "isa_entries.def"
};

} // namespace ditc_rt

#endif // DITC_RUNTIME_SRC_INTERNAL_H
