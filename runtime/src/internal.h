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

/// ditc_rt_binary on BF16 and ditc_rt_reduce on F16 / BF16: the f32 kernel
/// on widened operands, each result rounded once (precision.cpp).
void binary_via_f32(int32_t op, int32_t dtype, const void *a,
                    const int64_t *a_strides, const void *b,
                    const int64_t *b_strides, void *out, const int64_t *shape,
                    int32_t rank);
void reduce_via_f32(int32_t op, int32_t dtype, const void *x,
                    const int64_t *shape, int32_t rank, int64_t axes_mask,
                    void *y);

/// sum |x - prev| and sum |prev| over n elements of F32, F16 or BF16, in
/// double (the probes' and step caches' measure; precision.cpp).
void l1_sums(int32_t dtype, const void *x, const void *prev, int64_t n, double &num,
             double &den);

/// A linear layer's fused activation over its f32 result y[n], in place:
/// nothing for DITC_RT_ACTIVATION_NONE, else the unary op (GELU, GELU_TANH
/// or SILU; any other code is fatal, naming `kernel`). api.cpp.
void apply_activation(const char *kernel, int32_t activation, float *y, int64_t n);

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
