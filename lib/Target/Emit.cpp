//===- Emit.cpp - object files and shared libraries -----------------------===//

#include "lib/Target/Emit.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;

static std::unique_ptr<llvm::Module> translate(ModuleOp module,
                                               llvm::LLVMContext &llvmCtx) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  module.getContext()->appendDialectRegistry(registry);
  auto llvmModule = translateModuleToLLVMIR(module, llvmCtx, "ditc_model");
  if (!llvmModule)
    module.emitError("translation to LLVM IR failed");
  return llvmModule;
}

LogicalResult mlir::ditc::emitLLVMIR(ModuleOp module, llvm::raw_ostream &os) {
  llvm::LLVMContext llvmCtx;
  auto m = translate(module, llvmCtx);
  if (!m)
    return failure();
  m->print(os, nullptr);
  return success();
}

LogicalResult mlir::ditc::emitObject(ModuleOp module, StringRef objectPath) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llvmCtx;
  auto m = translate(module, llvmCtx);
  if (!m)
    return failure();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return module.emitError("no LLVM target for ") << triple.str() << ": " << err;
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, "x86-64", "", options, llvm::Reloc::PIC_));
  m->setTargetTriple(triple);
  m->setDataLayout(tm->createDataLayout());
  std::error_code ec;
  llvm::raw_fd_ostream out(objectPath, ec, llvm::sys::fs::OF_None);
  if (ec)
    return module.emitError("cannot write '") << objectPath << "': " << ec.message();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr, llvm::CodeGenFileType::ObjectFile))
    return module.emitError("LLVM cannot emit an object file for this target");
  pm.run(*m);
  out.close();
  return success(!out.has_error());
}

std::string mlir::ditc::targetArchive(StringRef runtimeArchive, StringRef target,
                                      bool multiRank) {
  if (target != "cuda")
    return runtimeArchive.str();
  SmallString<256> p(llvm::sys::path::parent_path(runtimeArchive));
  llvm::sys::path::append(p, multiRank ? "libditc_model_cuda_mpi.a"
                                       : "libditc_model_cuda.a");
  return p.str().str();
}

LogicalResult mlir::ditc::linkSharedLibrary(ModuleOp module,
                                            StringRef objectPath,
                                            StringRef runtimeArchive,
                                            StringRef outPath,
                                            StringRef target) {
  bool cuda = target == "cuda";
  // A partitioned GPU library joins its ranks over MPI (the CPU runtime's
  // response file names it); a single-rank one needs no MPI where it runs.
  bool multiRank = module->hasAttr("ditc.mesh");
  std::string linked = targetArchive(runtimeArchive, target, multiRank);
  if (!llvm::sys::fs::exists(linked))
    return cuda ? module.emitError("--target cuda needs '")
                      << linked
                      << "', which is built when CMake finds the CUDA toolkit"
                      << (multiRank ? " and MPI" : "") << " (this ditc was built without it)"
                : module.emitError("runtime archive '") << linked << "' not found";
  auto cc = llvm::sys::findProgramByName("cc");
  if (!cc)
    return module.emitError("no C compiler driver 'cc' on PATH to link with");
  SmallString<128> log;
  llvm::sys::fs::createTemporaryFile("ditc-link", "log", log);
  std::string out = outPath.str(), obj = objectPath.str(), archive = linked;
  SmallString<256> map(llvm::sys::path::parent_path(runtimeArchive));
  llvm::sys::path::append(map, "ditc_model.map");
  std::string exports = "-Wl,--version-script=" + map.str().str();
  SmallVector<StringRef> args{*cc, "-shared", "-o", out, obj,
                              "-Wl,--whole-archive", archive,
                              "-Wl,--no-whole-archive", "-Wl,-Bsymbolic", exports};
  if (!cuda)
    args.append({"-ldnnl", "-lgomp", "-lstdc++", "-lm", "-lpthread", "-ldl"});
  // What the archive needs beyond it: a `cc` response file beside it that
  // runtime/CMakeLists.txt writes (the MPI library) or runtime/cuda's (the
  // kernels, the static CUDA runtime).
  SmallString<256> libs(llvm::sys::path::parent_path(runtimeArchive));
  llvm::sys::path::append(libs, cuda ? "ditc_model_cuda.libs" : "ditc_model.libs");
  std::string libsArg = "@" + libs.str().str();
  if (llvm::sys::fs::exists(libs))
    args.push_back(libsArg);
  SmallString<256> mpiLibs(llvm::sys::path::parent_path(runtimeArchive));
  llvm::sys::path::append(mpiLibs, "ditc_model.libs");
  std::string mpiLibsArg = "@" + mpiLibs.str().str();
  if (cuda && multiRank && llvm::sys::fs::exists(mpiLibs))
    args.push_back(mpiLibsArg);
  std::optional<StringRef> redirects[] = {std::nullopt, log.str(), log.str()};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(*cc, args, std::nullopt, redirects, 0, 0,
                                     &err);
  auto buf = llvm::MemoryBuffer::getFile(log);
  llvm::sys::fs::remove(log);
  if (rc != 0) {
    std::string msg = buf ? (*buf)->getBuffer().trim().str() : err;
    for (char &c : msg)
      if (c == '\n')
        c = ' ';
    return module.emitError("linking '") << outPath << "' failed: " << msg;
  }
  return success();
}

std::string mlir::ditc::findRuntimeArchive(const char *argv0) {
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable(argv0, &anchor);
  SmallString<256> p(llvm::sys::path::parent_path(llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(p, "lib", "libditc_runtime.a");
  if (llvm::sys::fs::exists(p))
    return p.str().str();
  return DITC_RUNTIME_ARCHIVE;
}
