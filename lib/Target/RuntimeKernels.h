//===- RuntimeKernels.h - the runtime's entry points as LLVM types -*- C++ -*-//
//
// Expands include/ditc/runtime/ditc_kernels.def, the list the runtime itself
// is declared from, into LLVM function types, so generated calls and the
// runtime's symbols cannot disagree.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_TARGET_RUNTIMEKERNELS_H
#define DITC_LIB_TARGET_RUNTIMEKERNELS_H

#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "llvm/ADT/StringMap.h"

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

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_RUNTIMEKERNELS_H
