//===- RuntimeKernels.h - the runtime's entry points as LLVM types -*- C++ -*-//
//
// Expands include/ditc/runtime/ditc_kernels.def, the list the runtime itself
// is declared from, into LLVM function types, so generated calls and the
// runtime's symbols cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_TARGET_RUNTIMEKERNELS_H
#define DITC_LIB_TARGET_RUNTIMEKERNELS_H

#include "ditc/runtime/ditc_cuda_kernels.h"

#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"

#include <cstdint>

namespace mlir::ditc {

/// Maps a C parameter type of the .def list to its LLVM dialect type.
template <typename T>
Type llvmTypeOf(MLIRContext *ctx) {
  if constexpr (std::is_pointer_v<T>)
    return LLVM::LLVMPointerType::get(ctx);
  else if constexpr (std::is_same_v<T, void>)
    return LLVM::LLVMVoidType::get(ctx);
  else if constexpr (std::is_same_v<T, float>)
    return Float32Type::get(ctx);
  else if constexpr (std::is_same_v<T, double>)
    return Float64Type::get(ctx);
  else
    return IntegerType::get(ctx, sizeof(T) * 8);
}

template <typename F>
struct KernelSignature;
template <typename R, typename... A>
struct KernelSignature<R(A...)> {
  static LLVM::LLVMFunctionType get(MLIRContext *ctx) {
    return LLVM::LLVMFunctionType::get(llvmTypeOf<R>(ctx),
                                       {llvmTypeOf<A>(ctx)...});
  }
};

/// "ditc_rt_<name>" -> its LLVM function type, for every entry point.
inline llvm::StringMap<LLVM::LLVMFunctionType> runtimeKernels(MLIRContext *ctx) {
  llvm::StringMap<LLVM::LLVMFunctionType> k;
#define DITC_RT_KERNEL(name, params)                                           \
  k["ditc_rt_" #name] = KernelSignature<void params>::get(ctx);
#define DITC_RT_FUNCTION(ret, name, params)                                    \
  k["ditc_rt_" #name] = KernelSignature<ret params>::get(ctx);
#include "ditc/runtime/ditc_kernels.def"
  return k;
}

/// A target's kernel table: what the one lowering calls for each entry point
/// of the .def list ("linear", "coll_all_reduce", ...). The targets share
/// the entry points' parameters and differ in their symbols and in which
/// they have.
struct KernelTarget {
  /// "cpu" or "cuda" (ditc compile --target).
  llvm::StringRef name;
  /// The symbols' prefix: "ditc_rt_" (CPU runtime) or "ditc_cu_" (CUDA).
  llvm::StringRef prefix;
  /// Has the f32-only entry points (linear_f32, ...); else f32 ops call
  /// the dtype-taking ones with DITC_RT_F32.
  bool f32Entries = true;
  /// Tensors live in host memory (else device memory: the communicators,
  /// Ring attention and the step trace, which read host memory, are not
  /// entry points of the target).
  bool hostMemory = true;
  /// The entry points it has; empty: every one of the .def.
  llvm::StringSet<> kernels;

  bool has(llvm::StringRef base) const {
    return kernels.empty() || kernels.contains(base);
  }
  std::string symbol(llvm::StringRef base) const {
    return (prefix + base).str();
  }
};

/// The kernel table of `target` ("cpu", "cuda"), or null.
inline const KernelTarget *kernelTarget(llvm::StringRef target) {
  static const KernelTarget cpu{"cpu", "ditc_rt_", true, true, {}};
  static const KernelTarget cuda = [] {
    KernelTarget t{"cuda", "ditc_cu_", false, false, {}};
#define DITC_CU_KERNEL_NAME(name) t.kernels.insert(#name);
    DITC_CU_KERNELS(DITC_CU_KERNEL_NAME)
    DITC_CU_COLLECTIVES(DITC_CU_KERNEL_NAME)
#undef DITC_CU_KERNEL_NAME
    return t;
  }();
  if (target == "cpu")
    return &cpu;
  if (target == "cuda")
    return &cuda;
  return nullptr;
}

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_RUNTIMEKERNELS_H
