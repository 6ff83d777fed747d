//===- ditc.cpp - the ditc command-line tool ------------------------------===//
//
// Parses options and hands each subcommand to lib/Driver.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Driver.h"
#include "lib/Driver/Redundancy.h"
#include "lib/Driver/Run.h"

#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"

using namespace llvm;

static cl::OptionCategory ditcCategory("ditc options");

static cl::SubCommand importCmd("import",
                                "Import an ONNX model into the ditc dialect");
static cl::opt<std::string> importModel(cl::Positional, cl::Required,
                                        cl::desc("MODEL.onnx"), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::opt<std::string> importOut("o", cl::desc("Output file (default: stdout)"),
                                      cl::value_desc("OUT.mlir"), cl::init("-"),
                                      cl::sub(importCmd), cl::cat(ditcCategory));
static cl::list<std::string>
    importShapes("shape",
                 cl::desc("Static shape for a graph input with dynamic "
                          "dimensions (repeatable)"),
                 cl::value_desc("NAME=D0,D1,..."), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::list<std::string> importDims(
    "dim",
    cl::desc("Size of a named (symbolic) input dimension, e.g. tokens=4096 "
             "(repeatable)"),
    cl::value_desc("NAME=N"), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::list<std::string> importBinds(
    "bind",
    cl::desc("Replace graph input NAME by the constant in a serialized ONNX "
             "TensorProto file, e.g. a backend test's input_0.pb (repeatable)"),
    cl::value_desc("NAME=FILE.pb"), cl::sub(importCmd), cl::cat(ditcCategory));
static cl::opt<bool> importNoFuse(
    "no-fuse", cl::desc("Print the graph as imported, before canonicalisation "
                        "and fusion of attention, norms, GELU, SiLU, linear"),
    cl::sub(importCmd), cl::cat(ditcCategory));
static cl::opt<bool> importSummary(
    "summary", cl::desc("Print a summary (inputs, outputs, op counts, weights) "
                        "instead of the IR"),
    cl::sub(importCmd), cl::cat(ditcCategory));

static cl::SubCommand opsCmd("ops", "List the ONNX op types the importer supports");

// `ditc compile`: ONNX model to a shared library plus its weights.
// `ditc plan` (declared here: it shares compile's --shape, --dim, --bind).
static cl::SubCommand planCmd(
    "plan", "Choose the parallel plan for N devices with the least predicted "
            "denoising-step time that fits their memory, and say why");
static cl::SubCommand compileCmd(
    "compile", "Compile an ONNX model into a shared library (OUT.so) with its "
               "weights beside it (OUT.safetensors)");
static cl::opt<std::string> compileModel(cl::Positional, cl::Required,
                                         cl::desc("MODEL.onnx"),
                                         cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> compileOut(
    "o", cl::desc("Output library (or the stage --emit names; mlir and llvm "
                  "default to stdout)"),
    cl::value_desc("OUT.so"), cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> compileTarget(
    "target",
    cl::desc("Where the library runs: cpu (the default) or cuda (an NVIDIA "
             "GPU, sm_80 or newer; one GPU for now)"),
    cl::value_desc("cpu|cuda"), cl::init("cpu"), cl::sub(compileCmd),
    cl::cat(ditcCategory));
static cl::opt<std::string> compileCudaArch(
    "cuda-arch",
    cl::desc("--target cuda: the GPU architectures the library is for "
             "(default: all the CUDA kernels were built for, 80,90a)"),
    cl::value_desc("LIST"), cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<bool> compileNoWeights(
    "no-weights",
    cl::desc("Write no weight file: the library runs on a weight file given "
             "at load or on random weights (ditc run --random-weights), e.g. "
             "to benchmark a full-size graph exported without its weights"),
    cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> compileEmit(
    "emit",
    cl::desc("Stop after a stage: mlir (planned ditc IR), llvm (LLVM IR), obj "
             "(object file), so (shared library, the default)"),
    cl::init("so"), cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::list<std::string> compileShapes(
    "shape",
    cl::desc("Static shape for a graph input with dynamic dimensions "
             "(repeatable)"),
    cl::value_desc("NAME=D0,D1,..."), cl::sub(compileCmd), cl::sub(planCmd), cl::cat(ditcCategory));
static cl::list<std::string> compileDims(
    "dim",
    cl::desc("Size of a named (symbolic) input dimension, e.g. tokens=4096 "
             "(repeatable)"),
    cl::value_desc("NAME=N"), cl::sub(compileCmd), cl::sub(planCmd), cl::cat(ditcCategory));
static cl::list<std::string> compileBinds(
    "bind",
    cl::desc("Replace graph input NAME by the constant in a serialized ONNX "
             "TensorProto file (repeatable)"),
    cl::value_desc("NAME=FILE.pb"), cl::sub(compileCmd), cl::sub(planCmd), cl::cat(ditcCategory));

static cl::opt<std::string> compileDtype(
    "dtype",
    cl::desc("Type of weights and activations: f32, bf16 or f16 (default: "
             "f32 for --target cpu, bf16 for cuda). Weights are stored in it; "
             "accumulation, softmax and norm statistics stay f32"),
    cl::value_desc("f32|bf16|f16"), cl::sub(compileCmd),
    cl::cat(ditcCategory));
static cl::opt<std::string> compileIoDtype(
    "io-dtype",
    cl::desc("Type of the library's f32 inputs and outputs (default: as in "
             "the graph)"),
    cl::value_desc("f32|bf16|f16"), cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<bool> compileTrace(
    "trace",
    cl::desc("Record when each op of the schedule ends, for ditc run --trace "
             "(a clock read per op)"),
    cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<std::string> compileProbes(
    "probes",
    cl::desc("redundancy: record at every call how much each attention's K, V "
             "and output and each block's residual changed since the previous "
             "call (relative L1), for ditc redundancy"),
    cl::value_desc("redundancy"), cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<std::string> compileCache(
    "cache",
    cl::desc("A step cache compiled into the library: fbcache (skip the blocks after the "
             "first when its residual changed little) or teacache (skip all the blocks while "
             "the accumulated change of the first block's modulated input stays small); "
             "the first and last denoising steps always compute"),
    cl::value_desc("fbcache|teacache"), cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<double> compileCacheThreshold(
    "cache-threshold",
    cl::desc("--cache: skip while the measured change is below it (default 0.1 for "
             "fbcache, 0.4 for teacache; 0 never skips)"),
    cl::value_desc("X"), cl::init(-1), cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<bool> compileCacheStale(
    "cache-stale",
    cl::desc("--cache: decide each denoising step from the previous step's measure, as "
             "plans with pipeline stages (pp, pipefusion) always do"),
    cl::init(false), cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<std::string> compileCachePolicy(
    "cache-policy",
    cl::desc("--cache: set the threshold and the steps that always compute from this "
             "model's ditc redundancy --format json report (docs/REDUNDANCY.md has the rule)"),
    cl::value_desc("REPORT.json"), cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<std::string> compileRuntime(
    "runtime",
    cl::desc("Link this runtime archive (libditc_runtime.a) instead of the "
             "one installed beside ditc, e.g. a sanitized build's"),
    cl::value_desc("FILE.a"), cl::sub(compileCmd), cl::cat(ditcCategory));

static cl::opt<int64_t> compileDevices(
    "devices",
    cl::desc("Number of ranks (processes under mpirun) the library runs on; "
             "above 1 without --plan, the plan is chosen as by --plan auto"),
    cl::value_desc("N"), cl::init(0), cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> compilePlan(
    "plan",
    cl::desc("Parallel plan, degrees per strategy: cfg, dp (batch), ulysses, "
             "ring (sequence; with ring_inner=I a double ring of ring=O groups "
             "of I ranks), tp (tensor), pp (pipeline stages), pipefusion "
             "(stages fed patch by patch; patches=M, default the stages, is no "
             "degree), e.g. cfg=2,ulysses=2; unnamed degrees are 1 and the "
             "product must equal --devices. auto (the default with --devices "
             "above 1): the plan ditc plan chooses for --hw, --nodes, "
             "--gpus-per-node, --mem-limit, --steps; it is written to OUT.plan.json"),
    cl::value_desc("KEY=N,..."), cl::sub(compileCmd), cl::cat(ditcCategory));

// `ditc plan`: search the parallel plans; its machine options also serve
// `ditc compile --plan auto`.
static cl::opt<std::string> planModel(cl::Positional, cl::Required, cl::desc("MODEL.onnx"),
                                      cl::sub(planCmd), cl::cat(ditcCategory));
static cl::opt<std::string> planOut("o", cl::desc("Output file (default: stdout)"),
                                    cl::init("-"), cl::sub(planCmd), cl::cat(ditcCategory));
static cl::opt<int64_t> planDevices("devices", cl::desc("Devices (ranks) to plan for"),
                                    cl::value_desc("N"), cl::init(0), cl::sub(planCmd),
                                    cl::cat(ditcCategory));
static cl::opt<std::string> planDtype(
    "dtype", cl::desc("Type the library computes in: f32 (default), bf16 or f16"),
    cl::value_desc("f32|bf16|f16"), cl::sub(planCmd), cl::cat(ditcCategory));
static cl::opt<std::string> planFormat("format", cl::desc("table (default) or json"),
                                       cl::init("table"), cl::sub(planCmd),
                                       cl::cat(ditcCategory));
static cl::opt<int> planTop("top", cl::desc("Alternatives listed with why they lost "
                                            "(default 5)"),
                            cl::value_desc("K"), cl::init(5), cl::sub(planCmd),
                            cl::cat(ditcCategory));
static cl::opt<bool> planFewerDevices(
    "fewer-devices",
    cl::desc("Also search halvings of --devices (whole nodes, or one node) and say "
             "whether fewer devices are predicted faster (default on; "
             "--fewer-devices=false skips it)"),
    cl::init(true), cl::sub(planCmd), cl::cat(ditcCategory));
static cl::opt<std::string> targetHw(
    "hw",
    cl::desc("The machine planned for: a built-in description (a100-sxm, "
             "h100-sxm, h20, l40, rtx4090, cpu) or a JSON file (default cpu)"),
    cl::value_desc("NAME|FILE"), cl::init("cpu"), cl::sub(planCmd), cl::sub(compileCmd),
    cl::cat(ditcCategory));
static cl::opt<int64_t> targetNodes(
    "nodes", cl::desc("Nodes the devices are spread over (with --gpus-per-node)"),
    cl::value_desc("K"), cl::init(0), cl::sub(planCmd), cl::sub(compileCmd),
    cl::cat(ditcCategory));
static cl::opt<int64_t> targetGpusPerNode(
    "gpus-per-node",
    cl::desc("Devices per node: they share the machine's innermost link level, "
             "nodes talk over its outermost"),
    cl::value_desc("G"), cl::init(0), cl::sub(planCmd), cl::sub(compileCmd),
    cl::cat(ditcCategory));
static cl::opt<std::string> targetMemLimit(
    "mem-limit",
    cl::desc("Memory one device may use: bytes, or with KiB/MiB/GiB (1024^n) or "
             "KB/MB/GB (1000^n) (default: the machine's memory_capacity)"),
    cl::value_desc("SIZE"), cl::sub(planCmd), cl::sub(compileCmd), cl::cat(ditcCategory));
static cl::opt<int64_t> targetSteps(
    "steps", cl::desc("Denoising steps the step time is averaged over (default 20)"),
    cl::value_desc("S"), cl::init(20), cl::sub(planCmd), cl::sub(compileCmd),
    cl::cat(ditcCategory));
static cl::opt<int64_t> targetWarmupSteps(
    "warmup-steps",
    cl::desc("Of them, PipeFusion's synchronous warm-up steps (default 1)"),
    cl::value_desc("K"), cl::init(1), cl::sub(planCmd), cl::sub(compileCmd),
    cl::cat(ditcCategory));

static cl::opt<bool> targetExhaustive(
    "exhaustive",
    cl::desc("Predict every candidate plan: without it, a pipelined plan (pp, "
             "pipefusion) is skipped when a lower bound on its step shows it can be "
             "neither chosen nor listed (the result is the same)"),
    cl::init(false), cl::sub(planCmd), cl::sub(compileCmd), cl::cat(ditcCategory));

static mlir::ditc::PlanTargetOptions planTarget() {
  mlir::ditc::PlanTargetOptions t;
  t.hw = targetHw;
  t.nodes = targetNodes;
  t.gpusPerNode = targetGpusPerNode;
  t.memLimit = targetMemLimit;
  t.steps = targetSteps;
  t.warmupSteps = targetWarmupSteps;
  t.exhaustive = targetExhaustive;
  return t;
}

// `ditc run`: load a library made by `ditc compile` and run it.
static cl::SubCommand runCmd("run", "Load a compiled model library (OUT.so) "
                                    "and run it on .npz inputs or random ones");
// `ditc redundancy` (below) shares the sampler options of `ditc run --steps`.
static cl::SubCommand redundancyCmd(
    "redundancy", "Run a sampler on a library compiled with --probes redundancy and "
                  "report how much each layer changes from one denoising step to the next");
static cl::opt<std::string> runLibrary(cl::Positional, cl::Required,
                                       cl::desc("OUT.so"), cl::sub(runCmd),
                                       cl::cat(ditcCategory));
static cl::opt<std::string> runInputs(
    "inputs",
    cl::desc("Inputs keyed by the graph's input names (default: random: floats "
             "N(0,1), integers of rank <= 1 in [0,1000), others in [0,100))"),
    cl::value_desc("IN.npz"), cl::sub(runCmd), cl::cat(ditcCategory));
static cl::opt<std::string> runOutputs(
    "outputs", cl::desc("Write the outputs, keyed by the graph's output names (under "
                        "mpirun rank 0 writes them; a path with %r, e.g. out.%r.npz, "
                        "makes every rank write its own)"),
    cl::value_desc("OUT.npz"), cl::sub(runCmd), cl::cat(ditcCategory));
static cl::opt<int> runBench("bench",
                             cl::desc("Timed runs after the first (and the "
                                      "warm-up) runs; prints median/min/max"),
                             cl::value_desc("N"), cl::init(0), cl::sub(runCmd),
                             cl::cat(ditcCategory));
static cl::opt<int> runWarmup("warmup",
                              cl::desc("Untimed runs before the timed ones"),
                              cl::value_desc("W"), cl::init(0), cl::sub(runCmd),
                              cl::cat(ditcCategory));
static cl::opt<int> runThreads("threads",
                               cl::desc("Kernel threads (default: all cores)"),
                               cl::value_desc("T"), cl::init(0), cl::sub(runCmd), cl::sub(redundancyCmd),
                               cl::cat(ditcCategory));
static cl::opt<std::string> runWeights(
    "weights",
    cl::desc("Weight file to map (default: the .safetensors beside OUT.so)"),
    cl::value_desc("FILE.safetensors"), cl::sub(runCmd), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<bool> runRandomWeights(
    "random-weights",
    cl::desc("Run on generated weights (uniform in [-0.05, 0.05]) instead of "
             "a file, e.g. a library compiled with --no-weights"),
    cl::sub(runCmd), cl::cat(ditcCategory));
static cl::opt<int> runDevice(
    "device",
    cl::desc("The GPU a --target cuda library runs on (DITC_CUDA_DEVICE; "
             "default 0)"),
    cl::value_desc("N"), cl::init(-1), cl::sub(runCmd), cl::cat(ditcCategory));
static cl::opt<bool> runNoGraph(
    "no-graph",
    cl::desc("--target cuda: run kernel by kernel, never as a CUDA graph "
             "(DITC_CUDA_GRAPH=0), for debugging"),
    cl::sub(runCmd), cl::cat(ditcCategory));

static cl::opt<int> runSteps(
    "steps",
    cl::desc("Run a diffusion sampler: S denoising steps, each prediction moving "
             "the latent input (writes the final latent to --outputs)"),
    cl::value_desc("S"), cl::init(0), cl::sub(runCmd), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<int> runWarmupSteps(
    "warmup-steps",
    cl::desc("--steps: the first K denoising steps run the synchronous schedule "
             "(default 1); a PipeFusion library runs its stale schedule (the other "
             "patches' K/V of the step before) from then on"),
    cl::value_desc("K"), cl::init(-1), cl::sub(runCmd), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<std::string> runScheduler(
    "scheduler",
    cl::desc("--steps: euler (flow matching, SD3/Flux: shift 3) or ddim (DiT/PixArt: "
             "linear betas, eta 0); default ddim when the output has twice the "
             "latent's channels (learned sigma), else euler"),
    cl::value_desc("euler|ddim"), cl::sub(runCmd), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<std::string> runLatentInput(
    "latent-input",
    cl::desc("--steps: the latent input (default: the float input shaped like the "
             "first output)"),
    cl::value_desc("NAME"), cl::sub(runCmd), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<std::string> runTimestepInput(
    "timestep-input",
    cl::desc("--steps: the timestep input (default: the input of rank <= 1 named "
             "like 'timestep')"),
    cl::value_desc("NAME"), cl::sub(runCmd), cl::sub(redundancyCmd), cl::cat(ditcCategory));

// `ditc profile`: the MAP profile of a model, nothing executed.
static cl::SubCommand profileCmd(
    "profile", "Profile a model symbolically: FLOPs, bytes, parameters, "
               "activation memory and predicted time on a machine");
static cl::opt<std::string> profileModel(cl::Positional, cl::Required,
                                         cl::desc("MODEL.onnx"),
                                         cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> profileOut("o", cl::desc("Output file (default: stdout)"),
                                       cl::value_desc("OUT"), cl::init("-"),
                                       cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> profileHw(
    "hw",
    cl::desc("Machine: a built-in name (a100-sxm, cpu, h100-sxm, h20, l40, "
             "rtx4090) or a description .json (see ditc calibrate)"),
    cl::value_desc("NAME|FILE"), cl::init("cpu"), cl::sub(profileCmd),
    cl::cat(ditcCategory));
static cl::opt<std::string> profileFormat(
    "format", cl::desc("table (default), json or svg"), cl::init("table"),
    cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> profileDtype(
    "dtype",
    cl::desc("Predict times for this compute type (f32, tf32, bf16, f16, fp8; "
             "default: the graph's); bf16 and f16 also convert the program as "
             "compile --dtype does (weights, arena and chunking at that width)"),
    cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::list<std::string> profileShapes(
    "shape",
    cl::desc("Static shape for a graph input with dynamic dimensions "
             "(repeatable)"),
    cl::value_desc("NAME=D0,D1,..."), cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::list<std::string> profileDims(
    "dim",
    cl::desc("Size of a named (symbolic) input dimension, e.g. tokens=4096 "
             "(repeatable)"),
    cl::value_desc("NAME=N"), cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::list<std::string> profileBinds(
    "bind",
    cl::desc("Replace graph input NAME by the constant in a serialized ONNX "
             "TensorProto file (repeatable)"),
    cl::value_desc("NAME=FILE.pb"), cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::list<std::string> profileSymbolic(
    "symbolic",
    cl::desc("Give the totals as polynomials in these named dimensions (each "
             "needs --dim NAME=N, the smallest size sampled)"),
    cl::value_desc("NAME,..."), cl::CommaSeparated, cl::sub(profileCmd),
    cl::cat(ditcCategory));
static cl::opt<int64_t> profileDevices(
    "devices", cl::desc("Profile one rank of a library for N ranks (with --plan)"),
    cl::value_desc("N"), cl::init(0), cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> profilePlan(
    "plan",
    cl::desc("Profile one rank of this parallel plan (as ditc compile --plan): "
             "its shapes, weights and communication per rank"),
    cl::value_desc("KEY=N,..."), cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::opt<int64_t> profileRank(
    "rank",
    cl::desc("With --plan: the rank profiled (default 0); under pp, the ops "
             "of its pipeline stage"),
    cl::value_desc("R"), cl::init(0), cl::sub(profileCmd), cl::cat(ditcCategory));
static cl::opt<std::string> profileSchedule(
    "schedule",
    cl::desc("With a PipeFusion plan: the schedule profiled, stale (the denoising steps after "
             "the warm-up, the default) or synchronous (the warm-up steps)"),
    cl::value_desc("stale|synchronous"), cl::init("stale"), cl::sub(profileCmd),
    cl::cat(ditcCategory));
static cl::opt<std::string> activationLimit(
    "activation-limit",
    cl::desc("Arena budget per device: chunk long-sequence regions (AutoChunk) "
             "until the activations fit; bytes, or with KiB/MiB/GiB (1024^n) or "
             "KB/MB/GB (1000^n)"),
    cl::value_desc("SIZE"), cl::sub(compileCmd), cl::sub(profileCmd), cl::cat(ditcCategory));

static cl::opt<int> profileTop("top",
                               cl::desc("Ops listed by predicted time (table)"),
                               cl::value_desc("K"), cl::init(10),
                               cl::sub(profileCmd), cl::cat(ditcCategory));

// `ditc calibrate`: a machine description of this machine.
static cl::SubCommand calibrateCmd(
    "calibrate", "Measure this machine with micro-models and write a machine "
                 "description for ditc profile --hw FILE (under mpirun -np N also "
                 "the link between the ranks, each collective kind's rate on it "
                 "and ring attention's blocks, and the weights' stream with every "
                 "rank running)");
static cl::opt<std::string> calibrateOut(
    "o", cl::desc("Output file (default: stdout)"), cl::value_desc("OUT.json"),
    cl::init("-"), cl::sub(calibrateCmd), cl::cat(ditcCategory));
static cl::opt<std::string> calibrateName("name",
                                          cl::desc("The description's name"),
                                          cl::init("cpu"), cl::sub(calibrateCmd),
                                          cl::cat(ditcCategory));
static cl::opt<int> calibrateThreads(
    "threads", cl::desc("Kernel threads (default: all cores)"),
    cl::value_desc("T"), cl::init(0), cl::sub(calibrateCmd), cl::cat(ditcCategory));
static cl::opt<int> calibrateRuns(
    "runs", cl::desc("Timed runs per micro-model, at least (default 10)"),
    cl::value_desc("N"), cl::init(10), cl::sub(calibrateCmd), cl::cat(ditcCategory));

static cl::opt<std::string> runTrace(
    "trace",
    cl::desc("Write the median time of every step (op of the compiled "
             "schedule) as JSON; needs a library compiled with --trace (under "
             "mpirun rank 0 writes it; a path with %r, e.g. trace.%r.json, one "
             "file per rank)"),
    cl::value_desc("OUT.json"), cl::sub(runCmd), cl::cat(ditcCategory));
static cl::opt<bool> runCommStats(
    "comm-stats",
    cl::desc("Print each rank's communication in the last run (bytes and "
             "calls per collective kind, and the total) and the weight bytes "
             "it maps"),
    cl::sub(runCmd), cl::cat(ditcCategory));
static cl::opt<std::string> runCommTimeout(
    "comm-timeout",
    cl::desc("Seconds a rank waits for the others before the run fails "
             "(DITC_COMM_TIMEOUT_S; default 120; 0: forever)"),
    cl::value_desc("SECONDS"), cl::sub(runCmd), cl::cat(ditcCategory));

// `ditc redundancy`: how much each layer changes between denoising steps.
static cl::opt<std::string> redundancyLibrary(cl::Positional, cl::Required, cl::desc("OUT.so"),
                                              cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::list<std::string> redundancyInputs(
    "inputs",
    cl::desc("An input set (repeatable; several give the coefficient of variation across "
             "them; default: one random set)"),
    cl::value_desc("IN.npz"), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<std::string> redundancyFormat(
    "format", cl::desc("table (default), json, svg (one plot per layer) or html"),
    cl::init("table"), cl::sub(redundancyCmd), cl::cat(ditcCategory));
static cl::opt<std::string> redundancyOut("o", cl::desc("Output file (default: stdout)"),
                                          cl::init("-"), cl::sub(redundancyCmd),
                                          cl::cat(ditcCategory));
static cl::opt<std::string> redundancyDump(
    "dump",
    cl::desc("Also write every probed tensor of every denoising step to "
             "DIR/set<k>/step<i>.npz (keyed LAYER:QUANTITY)"),
    cl::value_desc("DIR"), cl::sub(redundancyCmd), cl::cat(ditcCategory));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(ditcCategory);
  cl::ParseCommandLineOptions(
      argc, argv,
      "ditc: ahead-of-time parallelizing compiler for DiT and LLM graphs\n\n"
      "  ditc import MODEL.onnx [-o OUT.mlir] [--shape NAME=D0,D1,...]\n"
      "              [--dim NAME=N] [--bind NAME=FILE.pb]\n"
      "  ditc compile MODEL.onnx -o OUT.so [--target cpu|cuda]\n"
      "              [--cuda-arch LIST] [--no-weights]\n"
      "              [--dtype f32|bf16|f16] [--io-dtype f32|bf16|f16]\n"
      "              [--devices N [--plan KEY=N,...|auto]]\n"
      "              [--hw NAME|FILE --nodes K --gpus-per-node G --mem-limit SIZE]\n"
      "              [--activation-limit SIZE] [--probes redundancy]\n"
      "              [--cache fbcache|teacache [--cache-threshold X]\n"
      "               [--cache-policy REPORT.json] [--cache-stale]]\n"
      "              [--emit mlir|llvm|obj|so] [--shape NAME=D0,D1,...]\n"
      "              [--dim NAME=N] [--bind NAME=FILE.pb]\n"
      "  ditc run OUT.so [--inputs IN.npz] [--outputs OUT.npz] [--bench N]\n"
      "              [--warmup W] [--threads T] [--weights FILE]\n"
      "              [--random-weights] [--device N] [--no-graph]\n"
      "              [--trace OUT.json] [--comm-stats] [--comm-timeout S]\n"
      "              [--steps S [--warmup-steps K] [--scheduler euler|ddim]\n"
      "               [--latent-input NAME] [--timestep-input NAME]]\n"
      "  mpirun -np N ditc run OUT.so ...   (a library compiled with\n"
      "              --devices N: every rank runs it, rank 0 reports)\n"
      "  ditc profile MODEL.onnx [--hw NAME|FILE] [--format table|json|svg]\n"
      "              [--shape NAME=D0,...] [--dim NAME=N] [--symbolic NAME,...]\n"
      "              [--dtype bf16] [--devices N --plan KEY=N,...]\n"
      "              [--rank R] [--schedule stale|synchronous]\n"
      "              [--activation-limit SIZE] [-o OUT]\n"
      "  ditc plan MODEL.onnx --devices N [--hw NAME|FILE] [--nodes K]\n"
      "              [--gpus-per-node G] [--mem-limit SIZE] [--dtype f32|bf16|f16]\n"
      "              [--steps S] [--warmup-steps K] [--top K] [--format table|json]\n"
      "              [--fewer-devices=false] [--exhaustive]\n"
      "  ditc redundancy OUT.so --steps S [--inputs IN.npz ...]\n"
      "              [--warmup-steps K] [--scheduler euler|ddim]\n"
      "              [--latent-input NAME] [--timestep-input NAME]\n"
      "              [--format table|json|svg|html] [-o OUT] [--dump DIR]\n"
      "              [--weights FILE] [--threads T]\n"
      "  ditc calibrate [-o OUT.json] [--name NAME] [--threads T]\n"
      "  mpirun -np N ditc calibrate ...   (also measures the link between\n"
      "              the ranks through the runtime's communicator)\n"
      "  ditc ops\n");
  if (importCmd) {
    mlir::ditc::ImportCommandOptions opts;
    opts.model = importModel;
    opts.output = importOut;
    opts.shapes = importShapes;
    opts.binds = importBinds;
    opts.dims = importDims;
    opts.fuse = !importNoFuse;
    opts.summary = importSummary;
    return mlir::ditc::runImportCommand(opts);
  }
  if (compileCmd) {
    mlir::ditc::CompileCommandOptions opts;
    opts.model = compileModel;
    opts.output = compileOut;
    opts.shapes = compileShapes;
    opts.binds = compileBinds;
    opts.dims = compileDims;
    opts.target = compileTarget;
    opts.cudaArch = compileCudaArch;
    opts.noWeights = compileNoWeights;
    opts.emit = compileEmit;
    opts.trace = compileTrace;
    opts.dtype = compileDtype;
    opts.ioDtype = compileIoDtype;
    opts.devices = compileDevices;
    opts.plan = compilePlan;
    opts.planTarget = planTarget();
    opts.argv0 = argv[0];
    opts.runtimeArchive = compileRuntime;
    opts.activationLimit = activationLimit;
    opts.probes = compileProbes;
    opts.cache = compileCache;
    opts.cacheThreshold = compileCacheThreshold;
    opts.cachePolicy = compileCachePolicy;
    opts.cacheStale = compileCacheStale;
    return mlir::ditc::runCompileCommand(opts);
  }
  if (runCmd) {
    mlir::ditc::RunCommandOptions opts;
    opts.library = runLibrary;
    opts.inputs = runInputs;
    opts.outputs = runOutputs;
    opts.weights = runWeights;
    opts.randomWeights = runRandomWeights;
    opts.device = runDevice;
    opts.noGraph = runNoGraph;
    opts.bench = runBench;
    opts.warmup = runWarmup;
    opts.threads = runThreads;
    opts.trace = runTrace;
    opts.commStats = runCommStats;
    opts.commTimeout = runCommTimeout;
    opts.steps = runSteps;
    opts.warmupSteps = runWarmupSteps;
    opts.scheduler = runScheduler;
    opts.latentInput = runLatentInput;
    opts.timestepInput = runTimestepInput;
    return mlir::ditc::runRunCommand(opts);
  }
  if (redundancyCmd) {
    mlir::ditc::RedundancyCommandOptions opts;
    opts.library = redundancyLibrary;
    opts.inputs = redundancyInputs;
    opts.steps = runSteps;
    opts.warmupSteps = runWarmupSteps;
    opts.scheduler = runScheduler;
    opts.latentInput = runLatentInput;
    opts.timestepInput = runTimestepInput;
    opts.format = redundancyFormat;
    opts.output = redundancyOut;
    opts.dump = redundancyDump;
    opts.threads = runThreads;
    opts.weights = runWeights;
    return mlir::ditc::runRedundancyCommand(opts);
  }
  if (profileCmd) {
    mlir::ditc::ProfileCommandOptions opts;
    opts.model = profileModel;
    opts.output = profileOut;
    opts.hw = profileHw;
    opts.format = profileFormat;
    opts.dtype = profileDtype;
    opts.shapes = profileShapes;
    opts.dims = profileDims;
    opts.binds = profileBinds;
    opts.symbolic = profileSymbolic;
    opts.top = profileTop;
    opts.devices = profileDevices;
    opts.plan = profilePlan;
    opts.rank = profileRank;
    opts.schedule = profileSchedule;
    opts.activationLimit = activationLimit;
    return mlir::ditc::runProfileCommand(opts);
  }
  if (planCmd) {
    mlir::ditc::PlanCommandOptions opts;
    opts.model = planModel;
    opts.output = planOut;
    opts.shapes = compileShapes;
    opts.dims = compileDims;
    opts.binds = compileBinds;
    opts.devices = planDevices;
    opts.target = planTarget();
    opts.dtype = planDtype;
    opts.top = planTop;
    opts.format = planFormat;
    opts.fewerDevices = planFewerDevices;
    return mlir::ditc::runPlanCommand(opts);
  }
  if (calibrateCmd) {
    mlir::ditc::CalibrateCommandOptions opts;
    opts.output = calibrateOut;
    opts.name = calibrateName;
    opts.threads = calibrateThreads;
    opts.runs = calibrateRuns;
    opts.argv0 = argv[0];
    return mlir::ditc::runCalibrateCommand(opts);
  }
  if (opsCmd) {
    for (const std::string &op : mlir::ditc::supportedOnnxOps())
      outs() << op << "\n";
    return 0;
  }
  errs() << "error: no subcommand given; see ditc --help\n";
  return 1;
}
