//===- PlanSearch.cpp - choose a parallel plan by predicted time ----------===//

#include "lib/Driver/PlanSearch.h"

#include "lib/Driver/Driver.h"
#include "lib/Target/Passes.h"
#include "dialects/Ditc/IR/DitcOps.h"
#include "dialects/Ditc/IR/DitcShapes.h"
#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"
#include "passes/Parallel/Passes.h"

#include "lib/InitAll.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/ThreadPool.h"
#include "llvm/Support/FormatVariadic.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// PipeFusion patch counts tried, as multiples of the stages: the stages
/// (xDiT's default) always, more only while each patch keeps at least
/// kMinPatchTokens tokens of the shortest self-attention per rank (smaller
/// patches only add per-patch kernels).
constexpr int64_t kPatchFactors[] = {1, 2, 4};
constexpr int64_t kMinPatchTokens = 32;
/// The stage bound's probes are evaluated when the staged plans are at
/// least this many per probe (each probe costs about one evaluation).
constexpr int64_t kStagedPerProbe = 3;

/// Seconds as ms, or as us below a millisecond.
std::string timeText(double s) {
  if (std::fabs(s) < 1e-3)
    return llvm::formatv("{0:F2} us", 1e6 * s).str();
  return llvm::formatv("{0:F3} ms", 1e3 * s).str();
}

double gib(int64_t bytes) { return double(bytes) / double(1ll << 30); }

std::string bytesText(int64_t bytes) {
  if (bytes >= (1ll << 30))
    return llvm::formatv("{0:F2} GiB", gib(bytes)).str();
  if (bytes >= (1ll << 20))
    return llvm::formatv("{0:F1} MiB", double(bytes) / double(1 << 20)).str();
  if (bytes >= 1024)
    return llvm::formatv("{0:F1} KiB", double(bytes) / 1024.0).str();
  return std::to_string(bytes) + " B";
}

/// A PipeFusion plan with each patch count tried.
void emitPatches(const std::vector<std::pair<std::string, int64_t>> &keys, int64_t pipefusion,
                 const std::vector<int64_t> &deg, int64_t tokens,
                 std::vector<std::vector<std::pair<std::string, int64_t>>> &out) {
  for (int64_t f : kPatchFactors) {
    if (f > 1 && tokens / (pipefusion * f * deg[2] * deg[3]) < kMinPatchTokens)
      break;
    auto withPatches = keys;
    withPatches.push_back({"patches", pipefusion * f});
    out.push_back(withPatches);
  }
}

/// The link level a group spread over `span` neighbouring ranks crosses
/// (its index; the levels' count when none holds it).
size_t levelOf(const HardwareDesc &hw, int64_t span) {
  const LinkLevel *l = hw.linkFor(span);
  return l ? size_t(l - hw.links.data()) : hw.links.size();
}

/// Whether a placement changes nothing the time model charges against an
/// earlier candidate, so that it cannot win (the earlier one wins ties):
/// a double ring whose inner and outer rings cross one link level sends
/// what the one ring sends (the time model charges it alike, and it holds
/// one more block in flight), and context_first=1 moves the Ulysses and
/// Ring groups between link levels only where they are not all on one.
/// The levels come from the mesh `-ditc-plan` builds (planMesh) and the
/// span of each group in it (Mesh::span). A shared level (sharedBy > 1)
/// never makes two placements alike: the time model divides its link by
/// the transfers that cross it at once (sharedLinkFlows), and those depend
/// on the groups' strides, not only on the level (on 64 L40s, tp=4 with
/// ulysses=4 and ring=4 both across the nodes' Ethernet: the Ring groups
/// on neighbouring ranks send half the flows through each node's port).
bool placementChangesNothing(const HardwareDesc &hw, int64_t ulysses, int64_t outer,
                             int64_t inner, int64_t tp, bool contextFirst) {
  llvm::StringMap<int64_t> degrees = {
      {"ulysses", ulysses}, {"ring", outer}, {"ring_inner", inner}, {"tp", tp}};
  auto levelOfGroup = [&](const Mesh &mesh, StringRef axis) {
    return levelOf(hw, mesh.span(ArrayRef<std::string>{axis.str()}));
  };
  auto unshared = [&](size_t level) {
    return level >= hw.links.size() || hw.links[level].sharedBy <= 1;
  };
  Mesh placed = planMesh(degrees, contextFirst);
  if (inner > 1) {
    size_t level = levelOfGroup(placed, "ring");
    if (levelOfGroup(placed, "ring_inner") == level && unshared(level))
      return true;
  }
  if (!contextFirst)
    return false;
  // context_first=1 against 0: every Ulysses and Ring group on one level
  // under both.
  Mesh other = planMesh(degrees, false);
  std::optional<size_t> level;
  for (const Mesh *mesh : {&placed, &other})
    for (StringRef axis : {"ulysses", "ring", "ring_inner"}) {
      if (mesh->indexOf(axis) < 0)
        continue;
      size_t l = levelOfGroup(*mesh, axis);
      if ((level && *level != l) || !unshared(l))
        return false;
      level = l;
    }
  return true;
}

/// Every plan whose degrees multiply to `n`, each PipeFusion one with every
/// patch count. cfg and dp split the batch alike (the same program, groups
/// of the same span: the axes are neighbours), so the search enumerates the
/// batch degree b once and names it cfg=2,dp=b/2 when b is even (a CFG
/// pair first), dp=b otherwise. Enumerated over (batch, pipefusion,
/// ulysses, ring, tp, pp), larger degrees of earlier keys first; pipefusion
/// with pp is no plan. When the devices span more than the innermost link
/// level of `hw`, a ring of R ranks is also tried as a double ring of inner
/// rings of I ranks for each divisor 1 < I < R up to that level's devices.
/// Placements that change nothing (placementChangesNothing) are left out.
void enumerate(int64_t n, int k, std::vector<int64_t> &deg, int64_t tokens, bool joint,
               const HardwareDesc &hw,
               std::vector<std::vector<std::pair<std::string, int64_t>>> &out) {
  constexpr int kLevels = 6;
  if (k == kLevels - 1) {
    deg[k] = n;
    int64_t batch = deg[0], pipefusion = deg[1], ulysses = deg[2], ring = deg[3], tp = deg[4],
            pp = deg[5];
    if (pipefusion > 1 && pp > 1)
      return;
    int64_t devices = batch * pipefusion * ulysses * ring * tp * pp;
    int64_t innerRingMax =
        hw.links.size() > 1 && devices > hw.links.front().devices ? hw.links.front().devices : 0;
    int64_t cfg = batch % 2 == 0 ? 2 : 1;
    auto push = [&](const std::vector<std::pair<std::string, int64_t>> &keys) {
      if (pipefusion <= 1)
        out.push_back(keys);
      else
        emitPatches(keys, pipefusion, deg, tokens, out);
    };
    auto emit = [&](int64_t outer, int64_t inner) {
      std::vector<std::pair<std::string, int64_t>> keys = {
          {"cfg", cfg},         {"pipefusion", pipefusion}, {"ulysses", ulysses},
          {"ring", outer},      {"ring_inner", inner},      {"tp", tp},
          {"pp", pp},           {"dp", batch / cfg}};
      // Ulysses with Ring: both placements (Ulysses groups on neighbouring
      // ranks, or the Ring groups).
      if (ulysses > 1 && ring > 1) {
        for (int64_t flip : {0, 1}) {
          if (placementChangesNothing(hw, ulysses, outer, inner, tp, flip))
            continue;
          auto placed = keys;
          placed.push_back({"context_first", flip});
          push(placed);
        }
        return;
      }
      if (placementChangesNothing(hw, ulysses, outer, inner, tp, false))
        return;
      // Ulysses alone over joint attention: both layouts of the joined
      // tokens (blocks of every stream, or the shortest stream whole on
      // every rank with its heads split).
      if (joint && ulysses > 1 && pipefusion <= 1) {
        for (int64_t whole : {0, 1}) {
          auto laid = keys;
          laid.push_back({"whole_stream", whole});
          out.push_back(laid);
        }
        return;
      }
      push(keys);
    };
    emit(ring, 1);
    for (int64_t inner = 2; inner < ring && inner <= innerRingMax; ++inner)
      if (ring % inner == 0)
        emit(ring / inner, inner);
    return;
  }
  // Larger degrees of the earlier keys first: on a tie, the batch before
  // ulysses before ring before tp before pp.
  for (int64_t d = n; d >= 1; --d)
    if (n % d == 0) {
      deg[k] = d;
      enumerate(n / d, k + 1, deg, tokens, joint, hw, out);
    }
}

std::string planString(ArrayRef<std::pair<std::string, int64_t>> keys) {
  SmallVector<std::string> parts;
  for (auto &[k, v] : keys)
    if (v > 1 && k != "patches")
      parts.push_back(k + "=" + std::to_string(v));
  for (auto &[k, v] : keys)
    if ((k == "context_first" || k == "whole_stream") && v)
      parts.push_back(k + "=1");
  for (auto &[k, v] : keys)
    if (k == "patches" && v != llvm::find_if(keys, [](auto &p) {
                                 return p.first == "pipefusion";
                               })->second)
      parts.push_back(k + "=" + std::to_string(v));
  return parts.empty() ? "" : llvm::join(parts, ",");
}

/// What one stage's rank costs in one schedule.
struct RankTime {
  double totalS = 0, computeS = 0;
  /// Of totalS, the messages between pipeline stages (sends, output
  /// broadcasts): what a different cut could save.
  double stageMessageS = 0;
  std::map<std::string, double> commS;
  std::map<std::string, int64_t> commBytes;
};

RankTime timeOf(const Profile &p, const HardwareDesc &hw, const TimeOptions &opts) {
  RankTime r;
  const TimeOptions topts = withStepParams(opts, p.ops());
  for (const OpCost &c : p.ops()) {
    OpTime t = predictOpTime(c, hw, topts);
    r.totalS += t.totalS;
    if (c.commKind == (int)CollectiveKind::SendRecv ||
        c.commKind == (int)CollectiveKind::Broadcast)
      r.stageMessageS += t.totalS;
    double busy = std::max(t.computeS, t.memoryS) + t.overheadS;
    double comm = std::max(0.0, t.totalS - busy);
    r.computeS += t.totalS - comm;
    if (t.innerLink) { // a double ring: its two links
      r.commS[t.innerLink->name] += comm * t.innerShare;
      r.commBytes[t.innerLink->name] += c.commInnerBytesSent;
      r.commS[t.link->name] += comm * (1 - t.innerShare);
      r.commBytes[t.link->name] += c.commBytesSent - c.commInnerBytesSent;
    } else if (c.commKind >= 0 && c.commGroup > 1) {
      std::string link = t.link ? t.link->name : "none";
      r.commS[link] += comm;
      r.commBytes[link] += c.commBytesSent;
    }
  }
  return r;
}

/// The makespan of one schedule over the stages and its parts (means over
/// the stages; the bubble is the rest). Pipelined over n pieces
/// (micro-batches, patches) that each stage passes on as it finishes them:
/// the slowest stage's whole time plus the others' share of one piece.
struct ScheduleTime {
  double stepS = 0, computeS = 0, bubbleS = 0;
  std::map<std::string, double> commS;
};

ScheduleTime makespan(ArrayRef<RankTime> stages, bool pipelined, int64_t patches) {
  ScheduleTime t;
  double sum = 0, most = 0;
  for (const RankTime &r : stages) {
    sum += r.totalS;
    most = std::max(most, r.totalS);
    t.computeS += r.computeS / double(stages.size());
    for (auto &[l, s] : r.commS)
      t.commS[l] += s / double(stages.size());
  }
  t.stepS = pipelined ? most + (sum - most) / double(patches) : sum;
  t.bubbleS = std::max(0.0, t.stepS - sum / double(stages.size()));
  return t;
}

/// The share of the steps that run the warm-up schedule (all of them when
/// the plan has one schedule).
double warmShare(const PlanSearchOptions &opts, bool twoSchedules) {
  if (!twoSchedules)
    return 1.0;
  int64_t steps = std::max<int64_t>(1, opts.steps);
  int64_t k = std::clamp<int64_t>(opts.warmupSteps, 1, steps);
  return double(k) / double(steps);
}

/// Sum over the stages of their work (time less stage messages).
double stageWork(ArrayRef<RankTime> stages) {
  double sum = 0;
  for (const RankTime &r : stages)
    sum += r.totalS - r.stageMessageS;
  return sum;
}

/// The least a pipeline of `stages` stages takes over `pieces` pieces whose
/// stages together work `work`: its slowest stage does at least the mean
/// (PlanSearch.h).
double pipelineBound(double work, int64_t stages, int64_t pieces) {
  double s = double(stages);
  return work * (1 / s + (1 - 1 / s) / double(pieces));
}

/// A candidate's degree of `key` (0 when it has none).
int64_t degreeOf(const PlanCandidate &c, StringRef key) {
  for (auto &[k, v] : c.keys)
    if (k == key)
      return v;
  return 0;
}

/// Its pipeline stages (pp or pipefusion; 1 without).
int64_t stageCount(const PlanCandidate &c) {
  return std::max<int64_t>({1, degreeOf(c, "pp"), degreeOf(c, "pipefusion")});
}

/// A lower bound on the step of `twin`'s plan with `patches` patches, more
/// than twin's: every stage's work only grows with the patches.
double patchBound(const PlanCandidate &twin, int64_t patches, const PlanSearchOptions &opts) {
  double fw = warmShare(opts, twin.twoSchedules);
  return fw * twin.warmWorkS +
         (1 - fw) * pipelineBound(twin.staleWorkS, stageCount(twin), patches);
}

/// A lower bound on the step of `c` (S > 1 stages; pp over at most `micro`
/// micro-batches) from `probe`, one stage's plan predicted without stages
/// on its devices: the stages together do at least its work.
double stageBound(const PlanCandidate &probe, const PlanCandidate &c, int64_t micro,
                  const PlanSearchOptions &opts) {
  int64_t patches = degreeOf(c, "patches");
  if (patches == 0) // pp
    return pipelineBound(probe.warmWorkS, stageCount(c), micro);
  double fw = warmShare(opts, /*twoSchedules=*/true);
  return fw * probe.warmWorkS + (1 - fw) * pipelineBound(probe.warmWorkS, stageCount(c), patches);
}

/// Whether `a` and `b` are one plan with different patch counts.
bool samePlanBut(const PlanCandidate &a, const PlanCandidate &b) {
  if (a.keys.size() != b.keys.size())
    return false;
  for (auto [x, y] : llvm::zip(a.keys, b.keys))
    if (x.first != y.first || (x.first != "patches" && x.second != y.second))
      return false;
  return true;
}

/// The time above which a candidate is neither chosen nor listed: the
/// fastest evaluated plan that fits, and the (top + 1)-th fastest (infinite
/// while either is missing).
double skipAbove(ArrayRef<PlanCandidate> cands, const std::vector<bool> &evaluated, int top) {
  double fastestFit = std::numeric_limits<double>::infinity();
  std::vector<double> times;
  for (size_t i = 0; i < cands.size(); ++i)
    if (evaluated[i] && cands[i].refused.empty()) {
      times.push_back(cands[i].stepS);
      if (cands[i].fits)
        fastestFit = std::min(fastestFit, cands[i].stepS);
    }
  if (times.size() <= size_t(top))
    return std::numeric_limits<double>::infinity();
  std::nth_element(times.begin(), times.begin() + top, times.end());
  return std::max(fastestFit, times[top]);
}

/// Where the diagnostics of the candidate a thread evaluates go.
thread_local std::string *tlsFirstError = nullptr;

/// Legalises as code generation does.
LogicalResult legalize(ModuleOp module) {
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  pm.enableVerifier(false);
  pm.addPass(createLegalizeRuntimePass());
  return pm.run(module);
}

/// Predicts `cand`'s step time and memory from its partitioned, legalised
/// program `m`.
LogicalResult predict(ModuleOp m, const Mesh &mesh, PlanCandidate &cand,
                      const PlanSearchOptions &opts) {
  MemoryPlan memory(m);
  if (!memory.isValid())
    return failure();
  int64_t stageAxis = mesh.stageAxis();
  int64_t stages = stageAxis >= 0 ? mesh.shape[stageAxis] : 1;
  int64_t stride = mesh.numRanks() / stages;
  auto patchesAttr = m->getAttrOfType<IntegerAttr>(kPatchesAttr);
  int64_t patches = patchesAttr ? patchesAttr.getInt() : 1;

  TimeOptions topts;
  topts.dtype = opts.dtype;
  Profile::OpIndices indices(m);
  std::vector<RankTime> warm, stale;
  bool twoSchedules = false;
  for (int64_t s = 0; s < stages; ++s) {
    int64_t rank = s * stride;
    for (int64_t schedule : {0, 1}) {
      Profile p(m, memory, rank, schedule, &indices);
      const ProfileTotals &t = p.totals();
      twoSchedules = t.twoSchedules;
      (schedule ? stale : warm).push_back(timeOf(p, opts.hw, topts));
      int64_t weights = t.irParamBytes, io = t.inputBytes + t.outputBytes;
      int64_t total = weights + t.arenaBytes + io + t.scratchBytes;
      if (total > cand.perDeviceBytes) {
        cand.perDeviceBytes = total;
        cand.weightBytes = weights;
        cand.activationBytes = t.arenaBytes;
        cand.kvCacheBytes = t.kvCacheBytes;
        cand.ioBytes = io;
        cand.scratchBytes = t.scratchBytes;
      }
      for (auto &[l, b] : (schedule ? stale : warm).back().commBytes)
        cand.commBytes[l] = std::max(cand.commBytes[l], b);
      if (!twoSchedules)
        break;
    }
  }
  bool pipefusion = stageAxis >= 0 && mesh.kinds[stageAxis] == MeshAxisKind::pipefusion;
  // pp's stages pass micro-batches along: stage s works on micro-batch k
  // while stage s + 1 works on k - 1 (PipeFusion's stale steps do the same
  // with patches).
  auto microAttr = m->getAttrOfType<IntegerAttr>(kMicrobatchesAttr);
  int64_t micro = microAttr ? std::max<int64_t>(1, microAttr.getInt()) : 1;
  ScheduleTime w = makespan(warm, micro > 1, micro);
  ScheduleTime st = twoSchedules ? makespan(stale, pipefusion, patches) : w;
  double fw = warmShare(opts, twoSchedules), fs = 1.0 - fw;
  cand.twoSchedules = twoSchedules;
  cand.warmWorkS = stageWork(warm);
  cand.staleWorkS = twoSchedules ? stageWork(stale) : cand.warmWorkS;
  cand.warmupStepS = w.stepS;
  cand.staleStepS = st.stepS;
  cand.stepS = fw * w.stepS + fs * st.stepS;
  cand.computeS = fw * w.computeS + fs * st.computeS;
  cand.bubbleS = fw * w.bubbleS + fs * st.bubbleS;
  for (auto &[l, s] : w.commS)
    cand.commS[l] += fw * s;
  for (auto &[l, s] : st.commS)
    cand.commS[l] += fs * s;
  return success();
}

/// Partitions, sets the precision, legalises and predicts one candidate
/// on `devices` devices. A probe (one pipeline stage's plan on its devices,
/// for a bound) is only predicted: neither chunked nor refused for
/// repeating the work.
void evaluate(ModuleOp imported, PlanCandidate &cand, const PlanSearchOptions &opts,
              int64_t worldFlops, int64_t devices, bool probe) {
  // The first error of this candidate's passes (searchPlans' handler).
  std::string firstError;
  tlsFirstError = &firstError;
  llvm::scope_exit done([] { tlsFirstError = nullptr; });
  OwningOpRef<ModuleOp> m = imported.clone();
  auto refuse = [&](StringRef fallback) {
    cand.refused = firstError.empty() ? fallback.str() : firstError;
    // The partition's messages start with the plan itself.
    std::string prefix = "plan '" + cand.plan + "': ";
    if (StringRef(cand.refused).starts_with(prefix))
      cand.refused = cand.refused.substr(prefix.size());
  };
  if (failed(partitionForPlan(*m, cand.plan, devices, nullptr, /*verify=*/false,
                              stagePricesFor(opts.hw, opts.dtype, devices), &opts.hw,
                              opts.dtype)))
    return refuse("the partition failed");
  if (opts.dtype != "f32" && failed(applyPrecision(*m, opts.dtype, "", /*verify=*/false)))
    return refuse("the precision pass failed");
  if (failed(legalize(*m)))
    return refuse("legalisation failed");
  FailureOr<Mesh> mesh = Mesh::of(*m);
  if (failed(mesh))
    return refuse("no mesh");
  if (auto n = (*m)->getAttrOfType<IntegerAttr>(kLoneSplitsAttr))
    cand.loneSplits = n.getInt();
  int64_t limit = opts.memLimit > 0 ? opts.memLimit : int64_t(opts.hw.memoryCapacity);
  if (failed(predict(*m, *mesh, cand, opts)))
    return refuse("no single-block @main");
  if (probe)
    return;
  // Over the limit by its activations: chunk loops until the arena fits
  // what the weights and I/O leave (the budget is per device, checked on
  // every rank's program).
  if (opts.chunk && limit > 0 && cand.perDeviceBytes > limit) {
    int64_t budget = limit - cand.weightBytes - cand.ioBytes;
    if (budget > 0) {
      OwningOpRef<ModuleOp> chunked = m->clone();
      if (succeeded(applyChunking(*chunked, budget, opts.hwName, ""))) {
        PlanCandidate again = cand;
        again.commBytes.clear();
        again.commS.clear();
        again.perDeviceBytes = 0;
        if (succeeded(predict(*chunked, *mesh, again, opts)) && again.perDeviceBytes <= limit) {
          again.activationLimit = budget;
          again.unchunkedActivationBytes = cand.activationBytes;
          chunked->walk([&](ChunkOp) { ++again.chunkLoops; });
          cand = std::move(again);
          m = std::move(chunked);
        }
      }
      firstError.clear(); // "cannot be met" leaves the plan over the limit
    }
  }
  if (worldFlops > 0) {
    int64_t repeated = replicatedWork(*m).flops;
    cand.replicatedFraction = double(repeated) / double(worldFlops);
    // Devices that all compute the whole step gain nothing.
    if (repeated >= worldFlops)
      return refuse("it divides none of the work: every rank computes the whole step");
  }
}

/// Why `alt` lost to `best`: its memory, or its largest extra time.
std::string whyLost(const PlanCandidate &alt, const PlanCandidate &best, int64_t limit) {
  if (!alt.fits)
    return llvm::formatv("needs {0} per device, over the {1} limit", bytesText(alt.perDeviceBytes),
                         bytesText(limit))
        .str();
  double d = alt.stepS - best.stepS;
  std::string what = "compute";
  double most = alt.computeS - best.computeS;
  if (alt.bubbleS - best.bubbleS > most) {
    most = alt.bubbleS - best.bubbleS;
    what = "pipeline bubbles";
  }
  for (auto &[l, s] : alt.commS) {
    auto it = best.commS.find(l);
    double delta = s - (it == best.commS.end() ? 0.0 : it->second);
    if (delta > most) {
      most = delta;
      what = "communication over " + l;
    }
  }
  if (what == "compute" && alt.replicatedFraction > best.replicatedFraction + 0.05)
    what += llvm::formatv(" (it repeats {0:F0}% of the work on every rank)",
                          100 * alt.replicatedFraction)
                .str();
  if (d <= 0)
    return "as fast (the earlier plan in the search order wins ties)";
  return llvm::formatv("{0} slower (+{1:F1}%), mostly +{2} {3}", timeText(d),
                       100 * d / best.stepS, timeText(most), what)
      .str();
}

} // namespace

LogicalResult mlir::ditc::applyTopology(HardwareDesc &hw, int64_t devices, int64_t nodes,
                                        int64_t gpusPerNode, std::string &error) {
  if (devices < 1) {
    error = "--devices must be at least 1";
    return failure();
  }
  if (hw.links.empty() && devices > 1) {
    error = "machine '" + hw.name + "' describes no links between devices";
    return failure();
  }
  // One machine's processes share its memory: a CPU description's single
  // level holds them all.
  if (nodes <= 0 && gpusPerNode <= 0 && hw.kind == "cpu" && hw.links.size() == 1)
    hw.links[0].devices = std::max(hw.links[0].devices, devices);
  if (nodes > 0 || gpusPerNode > 0) {
    if (nodes < 0 || gpusPerNode < 0) {
      error = "--nodes and --gpus-per-node must be positive";
      return failure();
    }
    int64_t g = gpusPerNode > 0 ? gpusPerNode : (devices % nodes ? 0 : devices / nodes);
    int64_t k = nodes > 0 ? nodes : (devices % g ? 0 : devices / g);
    if (g == 0 || k == 0 || k * g != devices) {
      error = llvm::formatv("the topology contradicts --devices {0}: {1} node(s) of {2} "
                            "devices {3}",
                            devices, nodes > 0 ? std::to_string(nodes) : "?",
                            gpusPerNode > 0 ? std::to_string(gpusPerNode) : "?",
                            g && k ? "is " + std::to_string(k * g) + " devices"
                                   : "does not divide them")
                  .str();
      return failure();
    }
    if (k > 1 && hw.links.size() < 2) {
      error = "machine '" + hw.name + "' describes one link level (" + hw.links[0].name +
              "); several nodes need a level between them: give a description "
              "whose links list one";
      return failure();
    }
    hw.links.front().devices = g;
    if (k > 1)
      hw.links.back().devices = std::max(hw.links.back().devices, devices);
    // Levels between the node and the network hold at least a node.
    for (LinkLevel &l : hw.links)
      l.devices = std::max(l.devices, g);
  }
  if (devices > 1 && !hw.linkFor(devices)) {
    error = llvm::formatv("machine '{0}' has no link level for {1} devices (its largest, "
                          "{2}, holds {3}): give --nodes and --gpus-per-node, or a "
                          "description whose links hold them",
                          hw.name, devices, hw.links.back().name, hw.links.back().devices)
                .str();
    return failure();
  }
  return success();
}

std::optional<int64_t> mlir::ditc::parseByteSize(StringRef text) {
  text = text.trim();
  size_t end = 0;
  while (end < text.size() && (isdigit(text[end]) || text[end] == '.'))
    ++end;
  StringRef num = text.take_front(end), unit = text.drop_front(end).trim();
  double v;
  if (num.empty() || num.getAsDouble(v))
    return std::nullopt;
  static const std::pair<const char *, double> units[] = {
      {"", 1},           {"B", 1},          {"KiB", 1024.0}, {"MiB", 1048576.0},
      {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}, {"KB", 1e3}, {"MB", 1e6},
      {"GB", 1e9},       {"TB", 1e12}};
  for (auto &[u, f] : units)
    if (unit == u) {
      double bytes = v * f;
      if (!(bytes >= 1) || bytes > 9.0e18)
        return std::nullopt;
      return int64_t(bytes);
    }
  return std::nullopt;
}

FailureOr<PlanSearchResult> mlir::ditc::searchPlans(ModuleOp module,
                                                   const PlanSearchOptions &opts,
                                                   StringRef model) {
  auto start = std::chrono::steady_clock::now();
  PlanSearchResult r;
  int64_t limit = opts.memLimit > 0 ? opts.memLimit : int64_t(opts.hw.memoryCapacity);

  // One device's FLOPs, for the share each plan repeats.
  FailureOr<int64_t> worldFlops = deviceFlops(module);
  if (failed(worldFlops))
    return failure();

  std::vector<std::vector<std::pair<std::string, int64_t>>> all;
  // The tokens of the shortest self-attention (queries as many as keys).
  int64_t tokens = 0;
  module.walk([&](AttentionOp a) {
    int64_t q = shapeOf(a.getQuery())[2];
    if (q == shapeOf(a.getKey())[2] && (tokens == 0 || q < tokens))
      tokens = q;
  });
  std::vector<int64_t> deg(6, 1);
  enumerate(opts.devices, 0, deg, tokens, hasJointAttention(module), opts.hw, all);
  std::vector<PlanCandidate> legal;
  std::vector<PlanCandidate> cands(all.size());
  for (auto [c, keys] : llvm::zip(cands, all)) {
    c.keys = keys;
    c.plan = planString(keys);
    if (c.plan.empty())
      c.plan = "dp=1";
  }
  // twin[i]: the candidate before i when it is i's plan with fewer patches
  // (emitPatches emits a plan's patch counts in a row, fewest first).
  std::vector<int64_t> twin(cands.size(), -1), round(cands.size(), 0);
  for (size_t i = 1; i < cands.size(); ++i)
    if (degreeOf(cands[i], "patches") > 0 && samePlanBut(cands[i], cands[i - 1]))
      twin[i] = i - 1;
  // probeOf[i]: for a plan of S > 1 stages, its stage's plan without
  // stages on devices / S (one probe per distinct one), whose work bounds
  // every stage count and patch count that repeats it.
  std::vector<PlanCandidate> probes;
  std::vector<int64_t> probeDevices, probeOf(cands.size(), -1);
  std::map<std::pair<int64_t, std::string>, int64_t> probeIndex;
  int64_t staged = 0;
  for (size_t i = 0; i < cands.size(); ++i) {
    int64_t stages = stageCount(cands[i]);
    if (stages <= 1)
      continue;
    ++staged;
    PlanCandidate p;
    for (auto [k, v] : cands[i].keys)
      if (k != "patches")
        p.keys.push_back({k, k == "pp" || k == "pipefusion" ? 1 : v});
    p.plan = planString(p.keys);
    if (p.plan.empty())
      p.plan = "dp=1";
    auto [it, added] =
        probeIndex.insert({{opts.devices / stages, p.plan}, int64_t(probes.size())});
    if (added) {
      probes.push_back(std::move(p));
      probeDevices.push_back(opts.devices / stages);
    }
    probeOf[i] = it->second;
  }
  // pp's micro-batches: at most twice its stages, and (dividing a rank's
  // batch, the first output's rows over cfg x dp) at most that batch.
  int64_t rows = 0;
  if (auto fn = module.lookupSymbol<func::FuncOp>("main"))
    if (Operation *ret = fn.getBody().front().getTerminator(); ret->getNumOperands() > 0)
      if (ArrayRef<int64_t> shape = shapeOf(ret->getOperand(0)); !shape.empty())
        rows = shape[0];
  auto microCap = [&](const PlanCandidate &c) {
    int64_t batch =
        std::max<int64_t>(1, degreeOf(c, "cfg")) * std::max<int64_t>(1, degreeOf(c, "dp"));
    int64_t perRank = rows >= 2 ? rows / batch : 1;
    return std::clamp<int64_t>(perRank, 1, 2 * stageCount(c));
  };
  // Probes pay when they bound several staged plans each (a large space);
  // the exhaustive search computes them to report every bound.
  bool useProbes = opts.exhaustive || staged >= kStagedPerProbe * int64_t(probes.size());
  // Round 0: the plans without stages (and the probes); 1: the staged
  // plans at their fewest patches; r > 1: r - 1 twins with fewer patches.
  int64_t rounds = 1;
  for (size_t i = 0; i < cands.size(); ++i) {
    round[i] = twin[i] >= 0 ? round[twin[i]] + 1 : (stageCount(cands[i]) > 1 ? 1 : 0);
    rounds = std::max(rounds, round[i] + 1);
  }
  std::vector<bool> evaluated(cands.size(), false), skipped(cands.size(), false);
  {
    // Each candidate partitions its own clone; the threads share the
    // context (its uniquing is thread-safe). A handler routes each
    // thread's diagnostics to the candidate it evaluates.
    MLIRContext *ctx = module.getContext();
    ScopedDiagnosticHandler capture(ctx, [](Diagnostic &d) {
      if (tlsFirstError && d.getSeverity() == DiagnosticSeverity::Error &&
          tlsFirstError->empty())
        *tlsFirstError = d.str();
      return success();
    });
    for (int64_t r = 0; r < rounds; ++r) {
      double cut = skipAbove(cands, evaluated, opts.top);
      std::vector<std::function<void()>> jobs;
      for (size_t i = 0; i < cands.size(); ++i) {
        if (round[i] != r)
          continue;
        PlanCandidate &c = cands[i];
        int64_t t = twin[i];
        while (t >= 0 && !evaluated[t])
          t = twin[t];
        if (t >= 0 && cands[t].refused.empty() && cands[t].twoSchedules &&
            stageCount(cands[t]) > 1 && cands[t].activationLimit == 0)
          c.boundS = patchBound(cands[t], degreeOf(c, "patches"), opts);
        if (useProbes && probeOf[i] >= 0 && probes[probeOf[i]].refused.empty())
          c.boundS = std::max(c.boundS, stageBound(probes[probeOf[i]], c, microCap(c), opts));
        if (!opts.exhaustive && c.boundS > cut) {
          skipped[i] = true;
          continue;
        }
        evaluated[i] = true;
        jobs.push_back([&, i] {
          PlanCandidate &e = cands[i];
          evaluate(module, e, opts, *worldFlops, opts.devices, /*probe=*/false);
          e.fits = e.refused.empty() && (limit <= 0 || e.perDeviceBytes <= limit);
        });
      }
      if (r == 0 && useProbes)
        for (size_t k = 0; k < probes.size(); ++k)
          jobs.push_back([&, k] {
            evaluate(module, probes[k], opts, *worldFlops, probeDevices[k], /*probe=*/true);
          });
      if (ctx->isMultithreadingEnabled() && jobs.size() > 1) {
        llvm::ThreadPoolTaskGroup group(ctx->getThreadPool());
        for (auto &job : jobs)
          group.async(job);
        group.wait();
      } else {
        for (auto &job : jobs)
          job();
      }
    }
  }
  r.probes = useProbes ? probes.size() : 0;
  for (auto [i, c] : llvm::enumerate(cands)) {
    if (skipped[i]) {
      ++r.skipped;
      continue;
    }
    if (!c.refused.empty()) {
      r.refused.push_back(std::move(c));
      continue;
    }
    legal.push_back(std::move(c));
  }
  std::stable_sort(legal.begin(), legal.end(),
                   [](const PlanCandidate &a, const PlanCandidate &b) { return a.stepS < b.stepS; });
  r.ranked = std::move(legal);
  r.searchS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (opts.progress)
    llvm::errs() << llvm::formatv("ditc: predicted {0} plans for {1} devices, {2} refused, "
                                  "{3} skipped by the bounds ({4} stage probes; {5:F2} s)\n",
                                  r.ranked.size(), opts.devices, r.refused.size(), r.skipped,
                                  r.probes, r.searchS);

  if (r.ranked.empty() && opts.quiet)
    return failure();
  if (r.ranked.empty()) {
    llvm::errs() << "error: " << model << ": no plan applies to " << opts.devices
                 << " devices";
    if (!r.refused.empty()) {
      // The refusal of the plan of one strategy over all devices says most.
      const PlanCandidate *say = &r.refused.front();
      for (const PlanCandidate &c : r.refused)
        if (!StringRef(c.plan).contains(','))
          say = &c;
      llvm::errs() << " (e.g. '" << say->plan << "': " << say->refused << ")";
    }
    llvm::errs() << "\n";
    return failure();
  }
  for (const PlanCandidate &c : r.ranked)
    if (c.fits) {
      r.chosen = &c;
      break;
    }
  if (!r.chosen && opts.quiet)
    return failure();
  if (!r.chosen) {
    const PlanCandidate *least = &r.ranked.front();
    for (const PlanCandidate &c : r.ranked)
      if (c.perDeviceBytes < least->perDeviceBytes)
        least = &c;
    llvm::errs() << "error: " << model << ": no plan for " << opts.devices
                 << " devices fits the memory limit of " << bytesText(limit)
                 << " per device: the smallest, '" << least->plan << "', needs "
                 << bytesText(least->perDeviceBytes) << " (weights "
                 << bytesText(least->weightBytes) << ", activations "
                 << bytesText(least->activationBytes) << "); give --mem-limit "
                 << least->perDeviceBytes << " or more devices\n";
    return failure();
  }
  for (size_t i = 0; i < r.ranked.size() && (int)r.alternatives.size() < opts.top; ++i) {
    if (&r.ranked[i] == r.chosen)
      continue;
    r.ranked[i].why = whyLost(r.ranked[i], *r.chosen, limit);
    r.alternatives.push_back(i);
  }
  return r;
}

FewerDevicesResult mlir::ditc::searchFewerDevices(ModuleOp module, const PlanTargetOptions &t,
                                                  const PlanSearchOptions &opts,
                                                  const PlanSearchResult &full, StringRef model) {
  auto start = std::chrono::steady_clock::now();
  FewerDevicesResult f;
  const int64_t n = opts.devices;
  int64_t limit = opts.memLimit > 0 ? opts.memLimit : int64_t(opts.hw.memoryCapacity);
  double best = full.chosen->stepS;
  // W1: the unpartitioned graph on one device (unchunked: chunk loops only
  // add work). It is also the one-device plan itself.
  PlanCandidate one;
  for (const char *k : {"cfg", "pipefusion", "ulysses", "ring", "ring_inner", "tp", "pp", "dp"})
    one.keys.push_back({k, 1});
  one.plan = "dp=1";
  {
    ScopedDiagnosticHandler quiet(module.getContext(), [](Diagnostic &) { return success(); });
    evaluate(module, one, opts, 0, 1, /*probe=*/true);
  }
  if (one.refused.empty())
    f.oneDeviceS = one.stepS;
  // The devices per node the full count was given (0: the described levels),
  // and the description before it was fitted to them (each count is fitted
  // afresh).
  int64_t g = t.gpusPerNode > 0 ? t.gpusPerNode : t.nodes > 0 ? n / t.nodes : 0;
  std::string err;
  std::optional<HardwareDesc> described = loadHardware(t.hw, err);
  for (int64_t d = n / 2; n % 2 == 0 && d >= 1; d /= 2) {
    FewerDevicesCheck c;
    c.devices = d;
    if (g > 0) {
      c.gpusPerNode = d >= g && d % g == 0 ? g : d;
      c.nodes = d / c.gpusPerNode;
    }
    if (f.oneDeviceS > 0 && f.oneDeviceS / double(d) >= best) {
      c.boundS = f.oneDeviceS / double(d);
      f.checked.push_back(std::move(c));
      break;
    }
    if (d == 1) {
      one.fits = f.oneDeviceS > 0 && (limit <= 0 || one.perDeviceBytes <= limit);
      if (one.fits)
        c.chosen = one;
    } else {
      PlanSearchOptions sub = opts;
      sub.devices = d;
      sub.top = 0;
      sub.progress = false;
      sub.quiet = true;
      if (!described)
        break;
      sub.hw = *described;
      if (failed(applyTopology(sub.hw, d, c.nodes, c.gpusPerNode, err)))
        break;
      FailureOr<PlanSearchResult> r = searchPlans(module, sub, model);
      if (succeeded(r))
        c.chosen = *r->chosen;
    }
    bool faster = c.chosen && c.chosen->stepS < best;
    if (faster) {
      best = c.chosen->stepS;
      f.faster = int(f.checked.size());
    }
    f.checked.push_back(std::move(c));
    if (!faster || d % 2)
      break;
  }
  f.searchS = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (opts.progress)
    llvm::errs() << llvm::formatv("ditc: fewer devices: {0} ({1:F2} s)\n",
                                  f.faster < 0 ? std::string("none predicted faster")
                                               : llvm::formatv("{0} predicted faster",
                                                               f.checked[f.faster].devices)
                                                     .str(),
                                  f.searchS);
  return f;
}

//===-- reports -------------------------------------------------------------===//

namespace {

std::string commText(const PlanCandidate &c) {
  std::string s;
  for (auto &[l, t] : c.commS)
    s += llvm::formatv("{0}{1} {2}", s.empty() ? "" : ", ", l, timeText(t)).str();
  return s.empty() ? "none" : s;
}

nlohmann::ordered_json candidateJson(const PlanCandidate &c) {
  nlohmann::ordered_json j;
  nlohmann::ordered_json plan = nlohmann::ordered_json::object();
  for (auto &[k, v] : c.keys)
    plan[k] = v;
  j["plan"] = plan;
  j["plan_string"] = c.plan;
  j["predicted_step_s"] = c.stepS;
  j["per_device_bytes"] = c.perDeviceBytes;
  j["fits"] = c.fits;
  j["compute_s"] = c.computeS;
  j["comm_s"] = c.commS;
  j["bubble_s"] = c.bubbleS;
  j["warmup_step_s"] = c.warmupStepS;
  j["stale_step_s"] = c.staleStepS;
  j["comm_bytes_per_step"] = c.commBytes;
  j["memory"] = {{"weights_bytes", c.weightBytes},
                 {"activation_bytes", c.activationBytes},
                 {"kv_cache_bytes", c.kvCacheBytes},
                 {"io_bytes", c.ioBytes},
                 {"scratch_bytes", c.scratchBytes}};
  j["replicated_fraction"] = c.replicatedFraction;
  j["lone_linear_splits"] = c.loneSplits;
  if (c.activationLimit > 0)
    j["chunked"] = {{"activation_limit_bytes", c.activationLimit},
                    {"loops", c.chunkLoops},
                    {"unchunked_activation_bytes", c.unchunkedActivationBytes}};
  if (c.boundS > 0)
    j["lower_bound_s"] = c.boundS;
  return j;
}

/// A device count of the look at fewer devices, as `ditc plan` takes it.
std::string devicesArgs(const FewerDevicesCheck &c) {
  std::string s = "--devices " + std::to_string(c.devices);
  if (c.nodes > 0)
    s += llvm::formatv(" --nodes {0} --gpus-per-node {1}", c.nodes, c.gpusPerNode).str();
  return s;
}

/// What the look at fewer devices found, for the table.
std::string fewerText(const FewerDevicesResult &f, const PlanCandidate &chosen) {
  if (f.faster >= 0) {
    const FewerDevicesCheck &c = f.checked[f.faster];
    return llvm::formatv("{0} {1} predicted faster: {2} at {3} a step ({4:F1}% less; "
                         "ditc plan {5})",
                         c.devices, c.devices == 1 ? "device is" : "devices are", c.chosen->plan,
                         timeText(c.chosen->stepS),
                         100 * (chosen.stepS - c.chosen->stepS) / chosen.stepS, devicesArgs(c))
        .str();
  }
  SmallVector<std::string> parts;
  for (const FewerDevicesCheck &c : f.checked) {
    if (c.boundS > 0)
      parts.push_back(llvm::formatv("{0}: at least {1}, one device's {2} over {0}", c.devices,
                                    timeText(c.boundS), timeText(f.oneDeviceS)));
    else if (c.chosen)
      parts.push_back(llvm::formatv("{0}: {1} at {2}", c.devices,
                                    c.chosen->plan, timeText(c.chosen->stepS)));
    else
      parts.push_back(llvm::formatv("{0}: no plan fits", c.devices));
  }
  return "none predicted faster" + (parts.empty() ? "" : " (" + llvm::join(parts, "; ") + ")");
}

std::string machineText(const PlanSearchOptions &opts) {
  std::string links;
  for (const LinkLevel &l : opts.hw.links)
    links += llvm::formatv("{0}{1} up to {2}", links.empty() ? "" : ", ", l.name, l.devices).str();
  return llvm::formatv("{0} x {1} ({2})", opts.devices, opts.hw.name, links).str();
}

} // namespace

void mlir::ditc::printPlanTable(const PlanSearchResult &r, const PlanSearchOptions &opts,
                                StringRef model, llvm::raw_ostream &os,
                                const FewerDevicesResult *fewer) {
  int64_t limit = opts.memLimit > 0 ? opts.memLimit : int64_t(opts.hw.memoryCapacity);
  const PlanCandidate &c = *r.chosen;
  os << llvm::formatv("ditc plan: {0} on {1}, {2}, {3} steps ({4} warm-up), limit {5} "
                      "per device\n\n",
                      model, machineText(opts), opts.dtype, opts.steps, opts.warmupSteps,
                      bytesText(limit));
  os << llvm::formatv("plan: {0}\n", c.plan);
  os << llvm::formatv("  predicted step    {0} (compute {1}, bubbles {2}; "
                      "communication: {3})\n",
                      timeText(c.stepS), timeText(c.computeS), timeText(c.bubbleS), commText(c));
  if (c.warmupStepS != c.staleStepS)
    os << llvm::formatv("  steps             warm-up {0}, stale {1}\n", timeText(c.warmupStepS),
                        timeText(c.staleStepS));
  os << llvm::formatv("  per device        {0} (weights {1}, activations {2}{3}, inputs "
                      "and outputs {4}{5})\n",
                      bytesText(c.perDeviceBytes), bytesText(c.weightBytes),
                      bytesText(c.activationBytes),
                      c.kvCacheBytes ? " with K/V buffers " + bytesText(c.kvCacheBytes) : "",
                      bytesText(c.ioBytes),
                      c.scratchBytes ? ", ring scratch " + bytesText(c.scratchBytes) : "");
  if (c.activationLimit > 0)
    os << llvm::formatv("  chunked           {0} {1} the activations from {2} under "
                        "{3} (ditc compile --activation-limit {4})\n",
                        c.chunkLoops, c.chunkLoops == 1 ? "loop brings" : "loops bring",
                        bytesText(c.unchunkedActivationBytes), bytesText(c.activationLimit),
                        c.activationLimit);
  for (auto &[l, b] : c.commBytes)
    os << llvm::formatv("  sent over {0,-8}  {1} per step (the busiest rank)\n", l,
                        bytesText(b));
  if (c.loneSplits > 0)
    os << llvm::formatv("  lone layers       {0} linear layer{1} split by output columns under "
                        "tp (compile with the same --hw)\n",
                        c.loneSplits, c.loneSplits == 1 ? "" : "s");
  if (c.replicatedFraction > 0.005)
    os << llvm::formatv("  repeated work     {0:F1}% of one device's FLOPs run on every "
                        "rank of a group\n",
                        100 * c.replicatedFraction);
  if (fewer)
    os << "  fewer devices     " << fewerText(*fewer, c) << "\n";
  if (!r.alternatives.empty()) {
    os << "\nalternatives:\n";
    os << llvm::formatv("  {0,-36} {1,12} {2,12}  {3}\n", "plan", "step", "per device",
                        "why not");
    for (size_t i : r.alternatives) {
      const PlanCandidate &a = r.ranked[i];
      os << llvm::formatv("  {0,-36} {1,12} {2,12}  {3}\n",
                          a.plan + (a.activationLimit > 0 ? " (chunked)" : ""),
                          timeText(a.stepS), bytesText(a.perDeviceBytes), a.why);
    }
  }
  size_t fit = llvm::count_if(r.ranked, [](const PlanCandidate &p) { return p.fits; });
  os << llvm::formatv("\n{0} plans predicted ({1} fit the limit), {2} refused by the "
                      "partition, {3} skipped by the bounds; searched in {4:F2} s\n",
                      r.ranked.size(), fit, r.refused.size(), r.skipped, r.searchS);
}

void mlir::ditc::printPlanJson(const PlanSearchResult &r, const PlanSearchOptions &opts,
                               StringRef model, llvm::raw_ostream &os,
                               const FewerDevicesResult *fewer) {
  nlohmann::ordered_json j = candidateJson(*r.chosen);
  nlohmann::ordered_json out;
  out["model"] = model.str();
  out["devices"] = opts.devices;
  out["hardware"] = opts.hw.name;
  nlohmann::ordered_json links = nlohmann::ordered_json::array();
  for (const LinkLevel &l : opts.hw.links)
    links.push_back({{"name", l.name}, {"devices", l.devices}, {"bandwidth", l.bandwidth},
                     {"latency_s", l.latencyS}, {"shared_by", l.sharedBy}});
  out["links"] = links;
  out["dtype"] = opts.dtype;
  out["steps"] = opts.steps;
  out["warmup_steps"] = opts.warmupSteps;
  out["mem_limit_bytes"] = opts.memLimit > 0 ? opts.memLimit : int64_t(opts.hw.memoryCapacity);
  for (auto it = j.begin(); it != j.end(); ++it)
    out[it.key()] = it.value();
  nlohmann::ordered_json alts = nlohmann::ordered_json::array();
  for (size_t i : r.alternatives) {
    nlohmann::ordered_json a = candidateJson(r.ranked[i]);
    a["why"] = r.ranked[i].why;
    alts.push_back(a);
  }
  out["alternatives"] = alts;
  out["plans_predicted"] = r.ranked.size();
  out["plans_skipped"] = r.skipped;
  out["stage_probes"] = r.probes;
  nlohmann::ordered_json refused = nlohmann::ordered_json::array();
  for (const PlanCandidate &c : r.refused)
    refused.push_back({{"plan_string", c.plan}, {"why", c.refused}});
  out["refused"] = refused;
  out["search_s"] = r.searchS;
  if (fewer) {
    auto countJson = [](const FewerDevicesCheck &c) {
      nlohmann::ordered_json j;
      j["devices"] = c.devices;
      if (c.nodes > 0) {
        j["nodes"] = c.nodes;
        j["gpus_per_node"] = c.gpusPerNode;
      }
      j["searched"] = c.boundS == 0;
      if (c.boundS > 0)
        j["bound_s"] = c.boundS;
      j["chosen"] = c.chosen ? candidateJson(*c.chosen) : nlohmann::ordered_json();
      return j;
    };
    nlohmann::ordered_json checked = nlohmann::ordered_json::array();
    for (const FewerDevicesCheck &c : fewer->checked)
      checked.push_back(countJson(c));
    out["fewer_devices"] = {
        {"one_device_step_s", fewer->oneDeviceS},
        {"checked", checked},
        {"faster", fewer->faster >= 0 ? countJson(fewer->checked[fewer->faster])
                                      : nlohmann::ordered_json()},
        {"search_s", fewer->searchS}};
  }
  os << out.dump(1) << "\n";
}

//===-- the command ---------------------------------------------------------===//

FailureOr<HardwareDesc> mlir::ditc::loadPlanMachine(const PlanTargetOptions &t,
                                                    int64_t devices) {
  std::string err;
  std::optional<HardwareDesc> hw = loadHardware(t.hw, err);
  if (!hw) {
    llvm::errs() << "error: --hw: " << err << "\n";
    return failure();
  }
  if (devices >= 1 && failed(applyTopology(*hw, devices, t.nodes, t.gpusPerNode, err))) {
    llvm::errs() << "error: " << err << "\n";
    return failure();
  }
  return *hw;
}

FailureOr<PlanSearchOptions> mlir::ditc::makeSearchOptions(const PlanTargetOptions &t,
                                                         int64_t devices, StringRef dtype) {
  PlanSearchOptions o;
  o.devices = devices;
  o.dtype = dtype.empty() ? "f32" : dtype.str();
  o.steps = t.steps;
  o.warmupSteps = t.warmupSteps;
  o.exhaustive = t.exhaustive;
  if (t.steps < 1 || t.warmupSteps < 0 || t.warmupSteps > t.steps) {
    llvm::errs() << "error: --steps " << t.steps << " --warmup-steps " << t.warmupSteps
                 << ": give S >= 1 steps of which 0..S warm up\n";
    return failure();
  }
  FailureOr<HardwareDesc> hw = loadPlanMachine(t, devices);
  if (failed(hw))
    return failure();
  o.hw = std::move(*hw);
  o.hwName = t.hw;
  if (!t.memLimit.empty()) {
    std::optional<int64_t> limit = parseByteSize(t.memLimit);
    if (!limit) {
      llvm::errs() << "error: --mem-limit '" << t.memLimit
                   << "' is not a size (bytes, or a number with KiB, MiB, GiB, KB, MB, GB)\n";
      return failure();
    }
    o.memLimit = *limit;
  }
  return o;
}

int mlir::ditc::runPlanCommand(const PlanCommandOptions &opts) {
  if (opts.format != "table" && opts.format != "json") {
    llvm::errs() << "error: unknown --format '" << opts.format << "' (expected table or json)\n";
    return 1;
  }
  if (!opts.dtype.empty() && opts.dtype != "f32" && opts.dtype != "bf16" && opts.dtype != "f16") {
    llvm::errs() << "error: unknown --dtype '" << opts.dtype << "' (expected f32, bf16 or f16)\n";
    return 1;
  }
  if (opts.devices < 2) {
    llvm::errs() << "error: --devices " << opts.devices
                 << ": give the number of devices to plan for (2 or more)\n";
    return 1;
  }
  if (opts.top < 0) {
    llvm::errs() << "error: --top must be 0 or more\n";
    return 1;
  }
  FailureOr<PlanSearchOptions> search = makeSearchOptions(opts.target, opts.devices, opts.dtype);
  if (failed(search))
    return 1;
  search->top = opts.top;
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  OwningOpRef<ModuleOp> module =
      importModel(ctx, opts.model, opts.shapes, true, opts.binds, opts.dims);
  if (!module)
    return 1;
  FailureOr<PlanSearchResult> r = searchPlans(*module, *search, opts.model);
  if (failed(r))
    return 1;
  std::optional<FewerDevicesResult> fewer;
  if (opts.fewerDevices)
    fewer = searchFewerDevices(*module, opts.target, *search, *r, opts.model);
  std::string err;
  auto out = openOutputFile(opts.output, &err);
  if (!out)
    return llvm::errs() << "error: " << opts.output << ": " << err << "\n", 1;
  if (opts.format == "json")
    printPlanJson(*r, *search, opts.model, out->os(), fewer ? &*fewer : nullptr);
  else
    printPlanTable(*r, *search, opts.model, out->os(), fewer ? &*fewer : nullptr);
  out->keep();
  return 0;
}
