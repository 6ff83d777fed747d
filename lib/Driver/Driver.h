//===- Driver.h - what the ditc subcommands do ------------------*- C++ -*-===//
//
// The `ditc` tool only parses options; each subcommand's work lives here.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_DRIVER_H
#define DITC_LIB_DRIVER_DRIVER_H

#include "lib/Importer/Onnx/OnnxImporter.h"
#include "passes/Analysis/Hardware.h"
#include "passes/Pipelines.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::ditc {

struct ImportCommandOptions {
  std::string model;
  std::string output = "-";
  std::vector<std::string> shapes;
  std::vector<std::string> binds;
  std::vector<std::string> dims;
  bool fuse = true;
  bool summary = false;
};

/// Imports a model and runs the frontend pipeline. Errors are printed as one
/// line naming the file and node; returns null on failure.
/// `shapes` holds `--shape NAME=D0,...` and `binds` `--bind NAME=FILE.pb`.
/// `dims` holds `--dim NAME=N` for named (symbolic) input dimensions.
OwningOpRef<ModuleOp> importModel(MLIRContext &ctx, StringRef model,
                                  ArrayRef<std::string> shapes, bool fuse,
                                  ArrayRef<std::string> binds = {},
                                  ArrayRef<std::string> dims = {});

/// Prints a readable summary: inputs, outputs, op counts and weight totals.
void printModelSummary(ModuleOp module, llvm::raw_ostream &os);

/// `ditc import`: returns the process exit code.
int runImportCommand(const ImportCommandOptions &opts);

/// What `ditc plan` and `ditc compile --plan auto` plan for.
struct PlanTargetOptions {
  /// A built-in machine name or a description file.
  std::string hw = "cpu";
  /// Nodes and devices per node (0: not given; the description's links).
  int64_t nodes = 0, gpusPerNode = 0;
  /// Per-device memory limit as a size ("80GiB"; empty: the machine's).
  std::string memLimit;
  /// Denoising steps and warm-up steps the step time is averaged over.
  int64_t steps = 20, warmupSteps = 1;
  /// Predict every candidate plan (no lower-bound skipping).
  bool exhaustive = false;
};

struct CompileCommandOptions {
  std::string model;
  std::string output;
  std::vector<std::string> shapes;
  std::vector<std::string> binds;
  std::vector<std::string> dims;
  std::string target = "cpu";
  /// --target cuda: GPU architectures, comma-separated ("80,90a"; empty:
  /// every one the CUDA kernels were built for).
  std::string cudaArch;
  /// Weights' and activations' type (f32, bf16, f16; empty: f32 for cpu,
  /// bf16 for cuda) and that of the f32 inputs and outputs (empty: f32).
  std::string dtype;
  std::string ioDtype;
  std::string emit = "so";
  /// argv[0], to find the runtime archive beside the ditc binary.
  std::string argv0;
  /// The runtime archive to link instead of the one beside ditc (a
  /// sanitized build, say); empty: beside ditc.
  std::string runtimeArchive;
  /// Record when each step ends (`ditc run --trace`).
  bool trace = false;
  /// Ranks to compile for and the plan (KEY=N,...); 0 / empty: one rank.
  int64_t devices = 0;
  std::string plan;
  /// `--plan auto` (the default when devices > 1): the machine planned for.
  PlanTargetOptions planTarget;
  /// Write no weight file (the library runs on DITC_RANDOM_WEIGHTS or a
  /// file given at load).
  bool noWeights = false;
  /// AutoChunk's arena budget ("2GiB"; empty: none).
  std::string activationLimit;
  /// "redundancy": -ditc-insert-probes (ditc redundancy reads them); empty:
  /// no probes.
  std::string probes;
  /// A step cache (-ditc-insert-cache): "fbcache", "teacache" or empty, its
  /// threshold (< 0: the kind's default) and a policy (ditc redundancy's
  /// JSON; empty: none); `cacheStale`: each step's decision from the
  /// previous step's measure (pipeline stages always).
  std::string cache;
  double cacheThreshold = -1;
  std::string cachePolicy;
  bool cacheStale = false;
};

/// --activation-limit SIZE in bytes (0 for empty); fails with the error
/// printed.
FailureOr<int64_t> parseActivationLimit(const std::string &text);

/// Runs -ditc-chunk with `limit` bytes on a legalised module; errors are
/// printed naming `model`, or left to the caller's handler when it is empty.
LogicalResult applyChunking(ModuleOp module, int64_t limit, const std::string &hw,
                            StringRef model);

/// One line on the chunk loops of a planned module ("chunked 2 regions:
/// arena A -> B MiB ...").
std::string describeChunks(ModuleOp module, int64_t limit);

struct CodegenOptions {
  /// mlir, llvm, obj or so.
  std::string emit = "so";
  std::string output;
  /// Where the model's weight files are (ONNX external data).
  std::string modelDir;
  /// argv[0], to find the runtime archive.
  std::string argv0;
  /// The runtime archive to link; empty: the one beside ditc.
  std::string runtimeArchive;
  /// Mark the end of every step for `ditc run --trace`.
  bool trace = false;
  /// cpu or cuda, and for cuda the architectures ("80,90a").
  std::string target = "cpu";
  std::string cudaArch;
  /// Write no weight file.
  bool noWeights = false;
  /// AutoChunk's arena budget in bytes (0: none) and the machine it prices
  /// chunk loops for.
  int64_t activationLimit = 0;
  std::string hw = "cpu";
};

/// -ditc-precision with these options (ditc compile --dtype / --io-dtype);
/// records the dtype as the module's ditc.dtype (the descriptor's "dtype").
/// `verify` false skips the verifier (the plan search's candidates).
LogicalResult applyPrecision(ModuleOp module, const std::string &dtype,
                             const std::string &ioDtype, bool verify = true);

/// The FLOPs of `module` (not partitioned) as one device runs it: legalised
/// as code generation does, the module itself unchanged.
FailureOr<int64_t> deviceFlops(ModuleOp module);

/// Partitions `module` for a user-given plan (KEY=N,...) on `devices` ranks
/// (0: the product of the degrees): ditc-plan, propagation, partition. A
/// plan that does not apply fails with its reason as a diagnostic.
/// `worldFlops`, when given, receives the FLOPs of the program before the
/// partition (what one device computes).
/// `verify` false skips the verifier between passes (the plan search, which
/// partitions a plan that compile partitions again with it).
/// `stages`: the prices of the messages crossing a pipeline stage cut (none:
/// the fewest bytes near an even split). `hw` (its topology applied) and
/// `dtype`: the machine and compute dtype lone linear layers are priced on
/// under tp (-ditc-split-lone-linears; null: they stay whole).
LogicalResult partitionForPlan(ModuleOp module, const std::string &plan,
                               int64_t devices, int64_t *worldFlops = nullptr,
                               bool verify = true, const StagePrices &stages = {},
                               const HardwareDesc *hw = nullptr,
                               llvm::StringRef dtype = "f32");

/// The StagePrices on `hw` (its topology applied) at `dtype` for a plan over
/// `devices`: the link level its stage axis spans, priced at the matrix rate.
StagePrices stagePricesFor(const HardwareDesc &hw, llvm::StringRef dtype, int64_t devices);

/// The work a partitioned program repeats on every rank of a group (its
/// ops with ditc.replicated; under PipeFusion those of the synchronous
/// schedule): their FLOPs, and the first of them in program order that
/// carries at least 1% of those FLOPs (null when none), with its reason.
struct ReplicatedWork {
  int64_t flops = 0;
  Operation *first = nullptr;
  std::string reason;
};
ReplicatedWork replicatedWork(ModuleOp module);

/// Code generation for an imported module: weights to OUT.safetensors (for
/// `so`), legalise, plan memory, lower, emit and link. `progress` receives a
/// line per finished stage. Errors are printed.
LogicalResult compileModule(ModuleOp module, const CodegenOptions &opts,
                            llvm::function_ref<void(const llvm::Twine &)> progress);

/// `ditc compile`: import, fuse, plan memory, lower to runtime calls, emit an
/// object in-process and link OUT.so; the weights go to OUT.safetensors.
/// `emit` stops early: mlir (planned ditc IR), llvm (LLVM IR), obj, so.
int runCompileCommand(const CompileCommandOptions &opts);

struct ProfileCommandOptions {
  std::string model;
  std::string output = "-";
  std::vector<std::string> shapes;
  std::vector<std::string> dims;
  std::vector<std::string> binds;
  /// A built-in machine name or a description file.
  std::string hw = "cpu";
  /// table, json or svg.
  std::string format = "table";
  /// The compute dtype the times are predicted for ("": the graph's own).
  std::string dtype;
  /// Named dimensions to give the totals as polynomials in.
  std::vector<std::string> symbolic;
  int top = 10;
  /// Profile one rank of this plan (ditc compile's --devices / --plan).
  int64_t devices = 0;
  std::string plan;
  /// The world rank profiled (pipeline stages differ; other ranks alike).
  int64_t rank = 0;
  /// A PipeFusion library's schedule profiled: "stale" (the denoising
  /// steps after the warm-up) or "synchronous" (the warm-up's).
  std::string schedule = "stale";
  /// AutoChunk's arena budget ("2GiB"; empty: none).
  std::string activationLimit;
};

/// `ditc profile`: import, legalise as code generation does, and print the
/// MAP profile (costs, memory curve, predicted time) without reading a weight.
int runProfileCommand(const ProfileCommandOptions &opts);

struct PlanCommandOptions {
  std::string model;
  std::string output = "-";
  std::vector<std::string> shapes;
  std::vector<std::string> dims;
  std::vector<std::string> binds;
  int64_t devices = 0;
  PlanTargetOptions target;
  /// f32, bf16 or f16 (empty: f32).
  std::string dtype;
  int top = 5;
  /// table or json.
  std::string format = "table";
  /// Also search halvings of the device count and say whether fewer
  /// devices are predicted faster (searchFewerDevices).
  bool fewerDevices = true;
};

/// `ditc plan`: searches the parallel plans for --devices and prints the
/// chosen one with its predicted step time, memory and the alternatives.
int runPlanCommand(const PlanCommandOptions &opts);

struct CalibrateCommandOptions {
  std::string output = "-";
  /// The description's name.
  std::string name = "cpu";
  /// Kernel threads (<= 0: the runtime's default).
  int threads = 0;
  /// Timed runs per micro-model, at least (more until 0.3 s have passed).
  int runs = 10;
  std::string argv0;
};

/// `ditc calibrate`: writes a machine description of this machine, measured
/// by micro-models compiled and run like user models.
int runCalibrateCommand(const CalibrateCommandOptions &opts);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_DRIVER_H
