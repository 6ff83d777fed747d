//===- Emit.h - LLVM dialect module to object file and shared library -*- C++ -*-//

#ifndef DITC_LIB_TARGET_EMIT_H
#define DITC_LIB_TARGET_EMIT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::ditc {

/// Translates a module of LLVM dialect ops to LLVM IR text.
LogicalResult emitLLVMIR(ModuleOp module, llvm::raw_ostream &os);

/// Compiles a module of LLVM dialect ops to a relocatable PIC object for the
/// host, in-process with LLVM's TargetMachine.
LogicalResult emitObject(ModuleOp module, StringRef objectPath);

/// Links `objectPath` with the ditc runtime archive into a shared library
/// with the system compiler driver (`cc`). `runtimeArchive` is
/// libditc_runtime.a; for `target` "cuda", libditc_model_cuda.a and the
/// ditc_model_cuda.libs beside it are linked instead (the CUDA kernels and
/// the static CUDA runtime, no CPU kernels). Errors are reported on
/// `module`.
LogicalResult linkSharedLibrary(ModuleOp module, StringRef objectPath,
                                StringRef runtimeArchive, StringRef outPath,
                                StringRef target = "cpu");

/// The archive a `target` library links in place of libditc_runtime.a
/// (`runtimeArchive`): itself for cpu, libditc_model_cuda.a beside it for
/// cuda (libditc_model_cuda_mpi.a for a partitioned library).
std::string targetArchive(StringRef runtimeArchive, StringRef target,
                          bool multiRank = false);

/// Where libditc_runtime.a is: beside the running `ditc` (../lib), else the
/// build tree it was built in.
std::string findRuntimeArchive(const char *argv0);

} // namespace mlir::ditc

#endif // DITC_LIB_TARGET_EMIT_H
