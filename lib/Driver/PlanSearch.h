//===- PlanSearch.h - choose a parallel plan by predicted time --*- C++ -*-===//
//
// `ditc plan` and `ditc compile --plan auto`: every hybrid of the plan keys
// whose degrees multiply to the device count (cfg, pipefusion with several
// patch counts, ulysses, ring, tp, pp, dp) is partitioned exactly as
// `ditc compile --plan` would partition it, profiled on the ranks whose
// programs differ (one per pipeline stage, both PipeFusion schedules), and
// predicted on a described machine. Plans that do not apply are refused with
// the partition's reason; plans whose largest device needs more memory than
// the limit are pruned; the rest are ranked by predicted denoising-step time.
//
// Step time of a plan, from the per-rank predicted times T_s of stage s's
// program (comm included, each collective on the link its group spans):
//   no stages            T_0
//   pp (one batch)       sum_s T_s: the stages run one after another
//   pipefusion, warm-up  sum_s T_s (the synchronous schedule)
//   pipefusion, stale    max_s T_s + (sum_s T_s - max_s T_s) / M: patch m of
//                        stage s starts when stage s-1 has sent it, so the
//                        pipeline fills in one patch's time per stage
//   averaged over S steps of which K (at least 1) run the warm-up schedule.
// The step splits into compute, communication per link level, and bubbles
// (the step minus the mean over stages of their busy time); the reason an
// alternative lost is its largest difference from the chosen plan.
//
// Bounded (branch and bound): a pipelined plan (S stages) is skipped when a
// lower bound on its step exceeds both the fastest plan that fits and the
// (top + 1)-th fastest evaluated so far: it could be neither chosen nor
// listed, so the result is the exhaustive one. With W the sum over the
// stages of their work (stage time less the messages between stages, which
// another cut could move), a pipeline over M pieces takes at least
// W (1/S + (1 - 1/S)/M) (the slowest stage does at least the mean). Two
// sources of W:
//   - a stage probe: the stage's plan without stages (the other degrees)
//     predicted on devices / S, once per distinct one; the stages together
//     do at least its work (pp's micro-batches and PipeFusion's patches run
//     every op on smaller pieces). pp's M is at most a rank's batch and
//     2S. Probes are evaluated when the staged plans are at least
//     kStagedPerProbe per probe (a large space);
//   - the same PipeFusion plan with fewer patches: more patches only add
//     per-patch work.
// PipeFusion's warm-up steps (sum over the stages) take at least W. Rounds:
// plans without stages and the probes; staged plans at their fewest
// patches; then each further patch count. --exhaustive evaluates every
// candidate (and every probe, to report every bound).
//
// Deterministic: candidates are enumerated in a fixed order, each round's
// bound depends only on the rounds before it, and ties go to the earlier
// candidate.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_PLANSEARCH_H
#define DITC_LIB_DRIVER_PLANSEARCH_H

#include "lib/Driver/Driver.h"
#include "passes/Analysis/Hardware.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlir::ditc {

struct PlanSearchOptions {
  int64_t devices = 1;
  /// The machine, its link levels already fitted to the topology
  /// (applyTopology).
  HardwareDesc hw;
  /// The type the library computes in: f32, bf16 or f16.
  std::string dtype = "f32";
  /// Bytes one device may hold (weights, arena, inputs and outputs);
  /// 0: the machine's memory_capacity.
  int64_t memLimit = 0;
  /// Denoising steps per image and how many of them run PipeFusion's
  /// synchronous warm-up schedule (at least the first).
  int64_t steps = 20, warmupSteps = 1;
  /// Alternatives to report beside the chosen plan.
  int top = 5;
  /// Print a line per finished phase on stderr.
  bool progress = true;
  /// The machine's name or description file (--hw), for AutoChunk's time
  /// model.
  std::string hwName = "cpu";
  /// A plan whose activations push it over the memory limit is chunked
  /// (AutoChunk) until its arena fits what the limit leaves, and kept when
  /// that succeeds.
  bool chunk = true;
  /// Evaluate every candidate (no lower-bound skipping).
  bool exhaustive = false;
  /// Print no error line when no plan applies or fits (the search on fewer
  /// devices, whose failure only ends that search).
  bool quiet = false;
};

/// One plan the search looked at.
struct PlanCandidate {
  /// Degree per plan key, every key (1 where unused), and `patches` for a
  /// PipeFusion plan.
  std::vector<std::pair<std::string, int64_t>> keys;
  /// The keys above 1 joined as --plan takes them ("cfg=2,ulysses=4").
  std::string plan;
  /// Non-empty: the partition refused the plan, and why.
  std::string refused;

  /// Predicted time of one denoising step (averaged over the warm-up and
  /// the rest) and its parts: compute, communication by link level name,
  /// pipeline bubbles; the warm-up and stale schedules' steps.
  double stepS = 0, computeS = 0, bubbleS = 0, warmupStepS = 0, staleStepS = 0;
  std::map<std::string, double> commS;
  /// What one rank sends per step (the most of any stage), by link level.
  std::map<std::string, int64_t> commBytes;
  /// The largest device's memory and its parts.
  int64_t perDeviceBytes = 0, weightBytes = 0, activationBytes = 0, kvCacheBytes = 0,
          ioBytes = 0, scratchBytes = 0;
  /// Fraction of one device's FLOPs every rank of a group repeats.
  double replicatedFraction = 0;
  /// Lone linear layers the plan splits by output columns under tp
  /// (-ditc-split-lone-linears: the machine pays for their gathers).
  int64_t loneSplits = 0;
  /// Over the memory limit unchunked, it fits with chunk loops: the arena
  /// budget that `ditc compile --activation-limit` must be given (0: not
  /// chunked), the loops, and the arena before chunking.
  int64_t activationLimit = 0, chunkLoops = 0, unchunkedActivationBytes = 0;
  bool fits = false;
  /// For alternatives: why it lost to the chosen plan.
  std::string why;

  /// The sums over the pipeline's stages of each schedule's per-stage work
  /// (time less stage messages), which bound the same plan with more
  /// patches (PipeFusion, twoSchedules); boundS is this plan's lower bound
  /// (0: none).
  bool twoSchedules = false;
  double warmWorkS = 0, staleWorkS = 0, boundS = 0;
};

struct PlanSearchResult {
  /// The chosen plan; null when no plan fits.
  const PlanCandidate *chosen = nullptr;
  /// Legal plans, fastest first.
  std::vector<PlanCandidate> ranked;
  /// Plans the partition refused, in enumeration order.
  std::vector<PlanCandidate> refused;
  /// Plans the lower bounds skipped (not predicted), and the stage probes
  /// predicted for the bounds.
  size_t skipped = 0, probes = 0;
  /// The alternatives reported (indices into ranked), why filled in.
  std::vector<size_t> alternatives;
  double searchS = 0;
};

/// `ditc plan`'s look at fewer devices: halvings of --devices, each a
/// sub-mesh of whole nodes (or of one node), searched as the full count is
/// while it is predicted faster than the best so far. A count d is not
/// searched when W1 / d is already no faster, W1 the one-device work (the
/// unpartitioned graph predicted on one device): a plan on d devices runs
/// every op of the step, split into pieces that together take no less
/// (TimeModel.h), so its slowest device takes at least W1 / d.
struct FewerDevicesCheck {
  int64_t devices = 0;
  /// The topology searched (0: the description's levels).
  int64_t nodes = 0, gpusPerNode = 0;
  /// W1 / devices when it left the count unsearched, else 0.
  double boundS = 0;
  /// The count's chosen plan (none: bounded, or no plan fits).
  std::optional<PlanCandidate> chosen;
};

struct FewerDevicesResult {
  /// One device's predicted step (0: it did not predict).
  double oneDeviceS = 0;
  std::vector<FewerDevicesCheck> checked;
  /// Index into checked of the fastest count predicted faster than the
  /// full one (-1: none).
  int faster = -1;
  double searchS = 0;
};

/// Fits the machine's link levels to `--nodes` and `--gpus-per-node` (0:
/// not given) for `devices` devices: the innermost level holds one node's
/// devices, the outermost all of them. Fails with one line when they
/// contradict `devices` or when no level holds `devices`.
LogicalResult applyTopology(HardwareDesc &hw, int64_t devices, int64_t nodes,
                            int64_t gpusPerNode, std::string &error);

/// Parses a size: bytes, or a number with KiB/MiB/GiB/TiB (1024^n) or
/// KB/MB/GB/TB (1000^n). Fails on anything else (and on sizes <= 0).
std::optional<int64_t> parseByteSize(llvm::StringRef text);

/// The machine a plan is for (--hw), its link levels fitted to the topology
/// for `devices` (left as described when devices < 1). Errors are printed.
FailureOr<HardwareDesc> loadPlanMachine(const PlanTargetOptions &t, int64_t devices);

/// The search options for `ditc plan` / `compile --plan auto`: loads the
/// machine, fits the topology, parses the limit. Errors are printed.
FailureOr<PlanSearchOptions> makeSearchOptions(const PlanTargetOptions &t, int64_t devices,
                                               llvm::StringRef dtype);

/// The search on fewer devices for `ditc plan` (FewerDevicesCheck), after
/// `full` chose a plan for opts.devices. Errors stay quiet: a count that
/// has no plan ends the look.
FewerDevicesResult searchFewerDevices(ModuleOp module, const PlanTargetOptions &t,
                                      const PlanSearchOptions &opts,
                                      const PlanSearchResult &full, llvm::StringRef model);

/// Searches the plans for `module` (imported and fused, not partitioned; it
/// is not changed). Fails with one printed line when no plan is legal or
/// none fits the memory (naming the limit that would fit).
FailureOr<PlanSearchResult> searchPlans(ModuleOp module, const PlanSearchOptions &opts,
                                        llvm::StringRef model);

/// The search as a table (chosen plan, alternatives, refusals) or as JSON
/// (docs/PARALLEL.md, "Automatic plans").
void printPlanTable(const PlanSearchResult &r, const PlanSearchOptions &opts,
                    llvm::StringRef model, llvm::raw_ostream &os,
                    const FewerDevicesResult *fewer = nullptr);
void printPlanJson(const PlanSearchResult &r, const PlanSearchOptions &opts,
                   llvm::StringRef model, llvm::raw_ostream &os,
                   const FewerDevicesResult *fewer = nullptr);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_PLANSEARCH_H
