//===- Compile.cpp - `ditc compile` ---------------------------------------===//

#include "lib/Driver/Driver.h"
#include "lib/Driver/CachePolicy.h"
#include "lib/Driver/PlanSearch.h"
#include "lib/Driver/ProfileReport.h"

#include "lib/InitAll.h"
#include "dialects/Ditc/IR/DitcSharding.h"
#include "lib/Support/Diagnostics.h"
#include "lib/Target/Emit.h"
#include "lib/Target/Passes.h"
#include "lib/Target/Weights.h"
#include "passes/Analysis/Profile.h"
#include "passes/Parallel/Passes.h"
#include "passes/Pipelines.h"
#include "passes/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/Timer.h"
#include "llvm/Support/ToolOutputFile.h"

#include <chrono>

using namespace mlir;
using namespace mlir::ditc;

namespace {
/// Prints "ditc: <what> (<seconds> s)" on stderr as stages finish.
struct Progress {
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  void operator()(const llvm::Twine &what) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
                   .count();
    llvm::errs() << llvm::formatv("ditc: {0} ({1:F2} s)\n", what.str(), s);
  }
};
} // namespace

FailureOr<int64_t> mlir::ditc::deviceFlops(ModuleOp module) {
  // As one device runs it: legalised as code generation does.
  OwningOpRef<ModuleOp> whole = module.clone();
  PassManager legal(module.getContext(), ModuleOp::getOperationName());
  legal.addPass(createLegalizeRuntimePass());
  if (failed(legal.run(*whole)))
    return failure();
  int64_t flops = 0;
  whole->walk([&](Operation *op) { flops += costOf(op).flops(); });
  return flops;
}

StagePrices mlir::ditc::stagePricesFor(const HardwareDesc &hw, StringRef dtype,
                                       int64_t devices) {
  StagePrices p;
  const LinkLevel *link = stageLink(hw, std::max<int64_t>(devices, 1));
  if (!link)
    return p;
  double rate = hw.matrixRate(dtype.empty() ? "f32" : dtype);
  double bytesScale = dtype == "bf16" || dtype == "f16" ? 0.5 : 1.0; // of f32 types
  if (link->rate() > 0)
    p.flopsPerByte = rate * bytesScale / link->rate();
  p.flopsPerMessage = rate * link->latencyS;
  return p;
}

LogicalResult mlir::ditc::partitionForPlan(ModuleOp module, const std::string &plan,
                                          int64_t devices, int64_t *worldFlops, bool verify,
                                          const StagePrices &stages, const HardwareDesc *hw,
                                          StringRef dtype) {
  if (worldFlops) {
    FailureOr<int64_t> flops = deviceFlops(module);
    if (failed(flops))
      return failure();
    *worldFlops = *flops;
  }
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  pm.enableVerifier(verify);
  ParallelPipelineOptions parallel;
  parallel.plan = plan;
  parallel.devices = devices;
  parallel.stages = stages;
  parallel.hw = hw;
  parallel.dtype = dtype.str();
  addParallelPipeline(pm, parallel);
  return pm.run(module);
}

ReplicatedWork mlir::ditc::replicatedWork(ModuleOp module) {
  ReplicatedWork w;
  SmallVector<std::pair<Operation *, int64_t>> ops;
  module.walk([&](Operation *op) {
    auto schedule = op->getAttrOfType<IntegerAttr>(kScheduleAttr);
    if (!op->hasAttr(kReplicatedAttr) || (schedule && schedule.getInt() == 1))
      return;
    int64_t flops = costOf(op).flops();
    w.flops += flops;
    ops.push_back({op, flops});
  });
  for (auto [op, flops] : ops)
    if (flops > 0 && flops * 100 >= w.flops) {
      w.first = op;
      w.reason = op->getAttrOfType<StringAttr>(kReplicatedAttr).str();
      break;
    }
  return w;
}

LogicalResult mlir::ditc::applyPrecision(ModuleOp module, const std::string &dtype,
                                         const std::string &ioDtype, bool verify) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  pm.enableVerifier(verify);
  PrecisionPassOptions precision;
  precision.dtype = dtype;
  precision.ioDtype = ioDtype;
  pm.addPass(createPrecisionPass(precision));
  if (failed(pm.run(module)))
    return failure();
  module->setAttr("ditc.dtype", StringAttr::get(module.getContext(), dtype));
  return success();
}

FailureOr<int64_t> mlir::ditc::parseActivationLimit(const std::string &text) {
  if (text.empty())
    return int64_t(0);
  std::optional<int64_t> bytes = parseByteSize(text);
  if (!bytes || *bytes <= 0) {
    llvm::errs() << "error: --activation-limit '" << text
                 << "' is not a positive size (bytes, or with KiB/MiB/GiB or KB/MB/GB)\n";
    return failure();
  }
  return *bytes;
}

LogicalResult mlir::ditc::applyChunking(ModuleOp module, int64_t limit, const std::string &hw,
                                        StringRef model) {
  if (limit <= 0)
    return success();
  MLIRContext &ctx = *module.getContext();
  std::optional<OneLineDiagnosticHandler> diag;
  if (!model.empty())
    diag.emplace(&ctx, model.str());
  PassManager pm(&ctx, ModuleOp::getOperationName());
  ChunkPassOptions chunk;
  chunk.activationLimit = limit;
  chunk.hwName = hw;
  chunk.showProgress = !model.empty();
  pm.addPass(createChunkPass(chunk));
  if (failed(pm.run(module)) || (diag && diag->errorCount()))
    return failure();
  return success();
}

std::string mlir::ditc::describeChunks(ModuleOp module, int64_t limit) {
  int64_t loops = 0, before = -1, after = 0;
  module.walk([&](ChunkOp loop) {
    if (auto a = loop->getAttrOfType<IntegerAttr>(kChunkPeakBeforeAttr); a && before < 0)
      before = a.getInt();
    ++loops;
  });
  if (auto a = module->getAttrOfType<IntegerAttr>(kArenaBytesAttr))
    after = a.getInt();
  if (!loops)
    return llvm::formatv("arena {0} is within --activation-limit {1}: nothing chunked",
                         formatBytes(after), formatBytes(limit));
  return llvm::formatv("chunked {0} region{1}: arena {2} -> {3} (--activation-limit {4})",
                       loops, loops == 1 ? "" : "s", formatBytes(before), formatBytes(after),
                       formatBytes(limit));
}

LogicalResult mlir::ditc::compileModule(
    ModuleOp module, const CodegenOptions &opts,
    llvm::function_ref<void(const llvm::Twine &)> progress) {
  MLIRContext &ctx = *module.getContext();
  const std::string &output = opts.output;
  PassManager pm(&ctx, ModuleOp::getOperationName());
  CodegenPipelineOptions pipeline;
  pipeline.lower = opts.emit != "mlir";
  pipeline.trace = opts.trace;
  pipeline.target = opts.target;
  pipeline.cudaArch = opts.cudaArch;
  pipeline.activationLimit = opts.activationLimit;
  pipeline.hw = opts.hw;
  pipeline.chunkProgress = true;
  addCodegenPlanning(pm, pipeline);
  if (failed(pm.run(module)))
    return failure();
  if (opts.activationLimit > 0)
    progress(describeChunks(module, opts.activationLimit));
  // Weights before the lowering (the descriptor records the files and
  // their checksums), after the planning (it may store a weight transposed,
  // -ditc-transpose-loop-weights).
  // A partitioned module gets one file per rank (OUT.rank<R>.safetensors).
  // An object is a library still to be linked (on another machine, say):
  // its weights are written too.
  bool library = opts.emit == "so" || opts.emit == "obj";
  // The weight files are written under temporary names and renamed beside
  // the library once it is linked: a compile that fails later (a kernel
  // the target lacks, a link error) leaves no file behind, and no file of
  // an earlier compile overwritten.
  // The final names of the weight files written so far (as NAME.partial).
  SmallVector<std::string> pendingWeights;
  auto partialName = [](StringRef name) { return (name + ".partial").str(); };
  llvm::scope_exit cleanup([&] {
    for (const std::string &name : pendingWeights)
      llvm::sys::fs::remove(partialName(name));
  });
  auto commitWeights = [&]() -> LogicalResult {
    for (const std::string &name : pendingWeights) {
      llvm::sys::DontRemoveFileOnSignal(partialName(name));
      if (std::error_code ec = llvm::sys::fs::rename(partialName(name), name))
        return llvm::errs() << "error: " << name << ": " << ec.message() << "\n", failure();
    }
    pendingWeights.clear();
    return success();
  };
  if (library && opts.noWeights) {
    progress("wrote no weights (--no-weights)");
  } else if (library) {
    FailureOr<Mesh> mesh = Mesh::of(module);
    if (failed(mesh))
      return failure();
    int64_t ranks = mesh->numRanks();
    const std::string &modelDir = opts.modelDir;
    Builder b(&ctx);
    SmallVector<Attribute> files, checksums;
    for (int64_t r = 0; r < ranks; ++r) {
      SmallString<256> weights(output);
      llvm::sys::path::replace_extension(
          weights, ranks > 1 ? "rank" + std::to_string(r) + ".safetensors" : "safetensors");
      pendingWeights.push_back(weights.str().str());
      // Interrupted (Ctrl-C, a job's time limit), the compile leaves no
      // half-written file either.
      llvm::sys::RemoveFileOnSignal(partialName(weights));
      FailureOr<WeightFileInfo> info = writeWeights(
          module, modelDir.empty() ? "." : modelDir, weights, r, partialName(weights));
      if (failed(info))
        return failure();
      files.push_back(b.getStringAttr(llvm::sys::path::filename(weights)));
      checksums.push_back(b.getStringAttr(info->checksum));
      progress(llvm::formatv("wrote {0} weights ({1:F1} MiB) to {2}", info->tensors,
                             info->bytes / 1048576.0, weights));
    }
    if (ranks > 1) {
      module->setAttr("ditc.weights_files", b.getArrayAttr(files));
      module->setAttr("ditc.weights_checksums", b.getArrayAttr(checksums));
    } else {
      module->setAttr("ditc.weights_file", files[0]);
      module->setAttr("ditc.weights_checksum", checksums[0]);
    }
  }

  if (pipeline.lower) {
    PassManager lower(&ctx, ModuleOp::getOperationName());
    addCodegenLowering(lower, pipeline);
    if (failed(lower.run(module)))
      return failure();
  }
  if (opts.emit == "mlir") {
    std::string err;
    auto out = openOutputFile(output, &err);
    if (!out)
      return llvm::errs() << "error: " << output << ": " << err << "\n", failure();
    module.print(out->os());
    out->keep();
    return commitWeights();
  }
  progress("lowered to runtime calls");
  if (opts.emit == "llvm") {
    std::string err;
    auto out = openOutputFile(output, &err);
    if (!out)
      return llvm::errs() << "error: " << output << ": " << err << "\n", failure();
    if (failed(emitLLVMIR(module, out->os())))
      return failure();
    out->keep();
    return commitWeights();
  }
  std::string object = output;
  SmallString<128> tmp;
  if (opts.emit == "so") {
    if (llvm::sys::fs::createTemporaryFile("ditc-model", "o", tmp)) {
      llvm::errs() << "error: cannot create a temporary object file\n";
      return failure();
    }
    object = tmp.str().str();
    llvm::sys::RemoveFileOnSignal(object);
  }
  if (failed(emitObject(module, object)))
    return failure();
  progress("emitted object code");
  if (opts.emit == "so") {
    LogicalResult linked = linkSharedLibrary(
        module, object,
        opts.runtimeArchive.empty() ? findRuntimeArchive(opts.argv0.c_str())
                                    : opts.runtimeArchive,
        output, opts.target);
    llvm::sys::fs::remove(object);
    if (failed(linked))
      return failure();
    progress("linked " + output);
  }
  return commitWeights();
}

int mlir::ditc::runCompileCommand(const CompileCommandOptions &opts) {
  static const char *stages[] = {"mlir", "llvm", "obj", "so"};
  if (!llvm::is_contained(stages, StringRef(opts.emit))) {
    llvm::errs() << "error: unknown --emit stage '" << opts.emit
                 << "' (expected mlir, llvm, obj or so)\n";
    return 1;
  }
  std::string builtArchs = DITC_CUDA_ARCHS_BUILT; // "80,90a"
  if (opts.target != "cpu" && opts.target != "cuda") {
    llvm::errs() << "error: unknown --target '" << opts.target
                 << "' (expected cpu or cuda)\n";
    return 1;
  }
  bool cuda = opts.target == "cuda";
  if (cuda && builtArchs.empty()) {
    llvm::errs() << "error: --target cuda: this ditc was built without the CUDA "
                    "toolkit (CMake found no nvcc), so it has no CUDA kernels\n";
    return 1;
  }
  if (!cuda && !opts.cudaArch.empty()) {
    llvm::errs() << "error: --cuda-arch is for --target cuda\n";
    return 1;
  }
  // --cuda-arch names architectures the kernels were built for (they are
  // compiled with ditc, DITC_CUDA_ARCHS): "sm_90a,80" -> "90a,80".
  std::string cudaArch = cuda ? builtArchs : "";
  if (!opts.cudaArch.empty()) {
    SmallVector<StringRef> built, asked;
    StringRef(builtArchs).split(built, ',');
    StringRef(opts.cudaArch).split(asked, ',');
    cudaArch.clear();
    for (StringRef a : asked) {
      a = a.trim();
      a.consume_front("sm_");
      if (!llvm::is_contained(built, a)) {
        llvm::errs() << "error: --cuda-arch '" << opts.cudaArch
                     << "': the CUDA kernels of this ditc are built for "
                     << builtArchs << " only (rebuild ditc with "
                     << "-DDITC_CUDA_ARCHS=... for others)\n";
        return 1;
      }
      cudaArch += (cudaArch.empty() ? "" : ",") + a.str();
    }
  }
  std::string dtype = !opts.dtype.empty() ? opts.dtype : cuda ? "bf16" : "f32";
  for (const std::string *d : {(const std::string *)&dtype, &opts.ioDtype})
    if (!d->empty() && *d != "f32" && *d != "bf16" && *d != "f16") {
      llvm::errs() << "error: unknown --" << (d == &dtype ? "dtype" : "io-dtype")
                   << " '" << *d << "' (expected f32, bf16 or f16)\n";
      return 1;
    }
  bool toStdout = opts.emit == "mlir" || opts.emit == "llvm";
  if (opts.output.empty() && !toStdout) {
    llvm::errs() << "error: -o OUT is required for --emit " << opts.emit << "\n";
    return 1;
  }
  std::string output = opts.output.empty() ? "-" : opts.output;
  // The output's folder is made, as for the weights beside the library.
  if (output != "-") {
    StringRef dir = llvm::sys::path::parent_path(output);
    if (!dir.empty())
      if (std::error_code ec = llvm::sys::fs::create_directories(dir)) {
        llvm::errs() << "error: -o " << output << ": cannot create '" << dir
                     << "': " << ec.message() << "\n";
        return 1;
      }
  }

  if (!opts.probes.empty() && opts.probes != "redundancy") {
    llvm::errs() << "error: unknown --probes '" << opts.probes << "' (expected redundancy)\n";
    return 1;
  }
  if (!opts.cache.empty() && opts.cache != "fbcache" && opts.cache != "teacache") {
    llvm::errs() << "error: unknown --cache '" << opts.cache
                 << "' (expected fbcache or teacache)\n";
    return 1;
  }
  if (opts.cache.empty() &&
      (opts.cacheThreshold >= 0 || !opts.cachePolicy.empty() || opts.cacheStale)) {
    llvm::errs() << "error: "
                 << (opts.cacheThreshold >= 0   ? "--cache-threshold"
                     : opts.cacheStale          ? "--cache-stale"
                                                : "--cache-policy")
                 << " needs --cache fbcache|teacache\n";
    return 1;
  }

  if (!opts.cache.empty() && !opts.activationLimit.empty()) {
    llvm::errs() << "error: --cache and --activation-limit cannot be combined yet (chunk loops "
                    "would take ops that a skipped step must not run)\n";
    return 1;
  }
  if (!opts.probes.empty() && opts.devices > 1) {
    llvm::errs() << "error: --probes needs --devices 1: what the probes measure is the "
                    "model's, whatever the plan; compile the probed library for one device\n";
    return 1;
  }

  FailureOr<int64_t> activationLimit = parseActivationLimit(opts.activationLimit);
  if (failed(activationLimit))
    return 1;

  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  Progress progress;
  OwningOpRef<ModuleOp> module = importModel(ctx, opts.model, opts.shapes, true, opts.binds,
                                              opts.dims);
  if (!module)
    return 1;
  OneLineDiagnosticHandler diag(&ctx, opts.model);
  progress("imported " + opts.model);

  CachePolicy policy;
  if (!opts.cachePolicy.empty()) {
    FailureOr<CachePolicy> p = readCachePolicy(*module, opts.cachePolicy, opts.cache, opts.model);
    if (failed(p))
      return 1;
    policy = *p;
    progress(llvm::formatv("cache policy {0}: threshold {1:F4}, the first {2:F0}% of the "
                           "steps compute",
                           opts.cachePolicy, policy.threshold, 100 * policy.computeFraction));
  }
  if (!opts.probes.empty()) {
    PassManager pm(&ctx, ModuleOp::getOperationName());
    pm.addPass(createInsertProbesPass());
    if (failed(pm.run(*module)))
      return 1;
    int64_t probes = 0;
    module->walk([&](ProbeOp) { ++probes; });
    progress(llvm::formatv("inserted {0} redundancy probes", probes));
  }
  if (!opts.cache.empty()) {
    // A cache skips denoising steps: the graph must take one (a per-sample
    // timestep, an input of rank <= 1).
    func::FuncOp main = getMainFunc(*module);
    if (main && llvm::none_of(main.getArgumentTypes(), [](Type t) {
          return cast<RankedTensorType>(t).getRank() <= 1;
        })) {
      llvm::errs() << "error: " << opts.model << ": --cache " << opts.cache
                   << " needs a denoising model, with a timestep input (of rank <= 1); this "
                      "graph has none\n";
      return 1;
    }
    InsertCachePassOptions cache;
    cache.kind = opts.cache;
    // Thresholds: xDiT's defaults for FBCache (0.1 on the first block's
    // residual) and TeaCache (0.4 on the accumulated rescaled change).
    cache.threshold = opts.cacheThreshold >= 0     ? opts.cacheThreshold
                      : !opts.cachePolicy.empty()   ? policy.threshold
                      : opts.cache == "fbcache"     ? 0.1
                                                    : 0.4;
    cache.computeFraction = policy.computeFraction;
    cache.stale = opts.cacheStale;
    cache.coefficients.assign(policy.coefficients.begin(), policy.coefficients.end());
    PassManager pm(&ctx, ModuleOp::getOperationName());
    pm.addPass(createInsertCachePass(cache));
    if (failed(pm.run(*module)))
      return 1;
    int64_t cached = 0;
    module->walk([&](Operation *op) { cached += op->hasAttr(kCachedAttr); });
    progress(llvm::formatv("step cache {0} (threshold {1}): {2} ops skippable", opts.cache,
                           cache.threshold, cached));
  }

  std::string plan = opts.plan;
  if (plan == "auto" || (plan.empty() && opts.devices > 1)) {
    // The plan with the least predicted step time that fits the devices.
    if (opts.devices < 2) {
      llvm::errs() << "error: --plan auto needs --devices N with N >= 2\n";
      return 1;
    }
    FailureOr<PlanSearchOptions> search =
        makeSearchOptions(opts.planTarget, opts.devices, dtype);
    if (failed(search))
      return 1;
    FailureOr<PlanSearchResult> r = searchPlans(*module, *search, opts.model);
    if (failed(r))
      return 1;
    plan = r->chosen->plan;
    // A plan that fits only with chunk loops gets them (unless a budget was
    // given).
    if (r->chosen->activationLimit > 0 && *activationLimit == 0)
      *activationLimit = r->chosen->activationLimit;
    progress(llvm::formatv("chose plan {0} for {1} x {2} (predicted step {3:F3} ms)", plan,
                           opts.devices, search->hw.name, 1e3 * r->chosen->stepS));
    if (cuda && search->hw.kind != "gpu")
      llvm::errs() << llvm::formatv(
          "warning: {0}: the plan of this cuda library was chosen for '{1}', a {2} "
          "description: give --hw with the GPUs it will run on (a100-sxm, h100-sxm, h20, "
          "l40, rtx4090 or a JSON file)\n",
          opts.model, search->hw.name, search->hw.kind);
    if (opts.emit == "so" || opts.emit == "obj") {
      SmallString<256> path(output);
      llvm::sys::path::replace_extension(path, "plan.json");
      std::string err;
      auto file = openOutputFile(path, &err);
      if (!file) {
        llvm::errs() << "error: " << path << ": " << err << "\n";
        return 1;
      }
      printPlanJson(*r, *search, opts.model, file->os());
      file->keep();
    }
    (*module)->setAttr("ditc.plan_source", StringAttr::get(&ctx, "auto"));
  }
  if (!plan.empty()) {
    // Where pipeline stages are cut and which lone linear layers tp splits:
    // the machine the plan is for (--hw, the topology), as the search
    // prices them.
    FailureOr<HardwareDesc> hw = loadPlanMachine(opts.planTarget, opts.devices);
    if (failed(hw))
      return 1;
    StagePrices prices = stagePricesFor(*hw, dtype, std::max<int64_t>(opts.devices, 1));
    int64_t worldFlops = 0;
    if (failed(partitionForPlan(*module, plan, opts.devices, &worldFlops, /*verify=*/true,
                                prices, &*hw, dtype)))
      return 1;
    FailureOr<Mesh> mesh = Mesh::of(*module);
    std::string lone;
    if (auto n = (*module)->getAttrOfType<IntegerAttr>(kLoneSplitsAttr))
      lone = llvm::formatv("; {0} lone linear layer{1} split by output columns on {2}",
                           n.getInt(), n.getInt() == 1 ? "" : "s", hw->name);
    progress(llvm::formatv("partitioned for {0} ranks ({1}{2})",
                           succeeded(mesh) ? mesh->numRanks() : 0, plan, lone));
    if (!opts.cache.empty())
      propagateCached(*module);
    // A plan that divides little of the work: say where the split is lost.
    ReplicatedWork repeated = replicatedWork(*module);
    if (repeated.first && repeated.flops * 4 > worldFlops)
      llvm::errs() << llvm::formatv(
          "warning: {0}: plan '{1}' repeats {2:F0}% of the work on every rank, from {3} "
          "({4}): it {5}\n",
          opts.model, plan, 100.0 * repeated.flops / worldFlops,
          describeLocation(repeated.first->getLoc()),
          repeated.first->getName().getStringRef(), repeated.reason);
  }

  if (dtype != "f32" || !opts.ioDtype.empty()) {
    if (failed(applyPrecision(*module, dtype, opts.ioDtype)))
      return 1;
    progress("precision " + dtype +
             (opts.ioDtype.empty() ? "" : ", inputs and outputs " + opts.ioDtype));
  }

  CodegenOptions codegen;
  codegen.emit = opts.emit;
  codegen.output = output;
  codegen.modelDir = llvm::sys::path::parent_path(opts.model).str();
  codegen.argv0 = opts.argv0;
  codegen.runtimeArchive = opts.runtimeArchive;
  codegen.trace = opts.trace;
  codegen.target = opts.target;
  codegen.cudaArch = cudaArch;
  codegen.noWeights = opts.noWeights;
  codegen.activationLimit = *activationLimit;
  codegen.hw = opts.planTarget.hw;
  if (failed(compileModule(*module, codegen, progress)))
    return 1;
  return 0;
}
