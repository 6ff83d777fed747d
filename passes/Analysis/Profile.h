//===- Profile.h - symbolic cost of a ditc graph (MAP) ----------*- C++ -*-===//
//
// What each op of @main costs, computed from shapes alone (no weight byte is
// read, nothing runs): FLOPs split into matrix work (matmul, linear, conv,
// einsum contractions and the two products inside attention; 2 per
// multiply-add) and other work (elementwise, norms, softmax, reductions, with
// the per-element counts listed in flopsPerElement()), bytes read and
// written, the parameters each op reads first, and the activation memory live
// while it runs (from the MemoryPlan that code generation uses).
//
// Per-element counts of "other" FLOPs:
//   add sub mul div pow max min mod neg relu sqrt reciprocal exp erf cos sin
//   tanh, comparisons, logic, where, is_nan          1
//   sigmoid                                           3 (exp, add, divide)
//   silu                                              4 (sigmoid, multiply)
//   gelu                                              8 (erf or tanh form)
//   softmax                                           5 (max, subtract, exp,
//                                                        sum, divide)
//   layer_norm / group_norm                           5 (+1 scale, +1 bias,
//                                                        +1 mod_scale,
//                                                        +1 mod_shift)
//   rms_norm                                          3 (+1 scale)
//   rope                                              3 per rotated element
//   reduce_*                                          1 per input element
//   linear / conv bias                                1 per output element
//   attention                                         5 per score (scale,
//                     max, subtract, exp, sum) + 1 per output element, +1 per
//                     score with an additive mask
// Data movement (reshape, transpose, concat, split, slice, gather, broadcast,
// cast, trilu) costs bytes, not FLOPs; a reshape is a view and costs nothing.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_ANALYSIS_PROFILE_H
#define DITC_PASSES_ANALYSIS_PROFILE_H

#include "passes/Analysis/MemoryPlan.h"

#include "mlir/Pass/AnalysisManager.h"

#include <array>

namespace mlir::ditc {

/// The kinds of CollectiveKind (TimeModel.h).
constexpr int kNumCollectiveKinds = 7;

/// Where a collective's groups lie among the devices, for the time model's
/// count of the transfers that cross one link of a shared level at once
/// (LinkLevel::sharedBy, TimeModel.h sharedLinkFlows): the mesh's shape
/// (ranks row-major, the last axis fastest; rank r runs on device r) and
/// the group's axes, as indices into it in the order that ranks a group's
/// members (the op's `axes`: mixed radix, the first major). A group is the
/// ranks that share their coordinates on every other axis; all of them run
/// the collective at once. Empty (no axes) when the op has no mesh, or one
/// of more than kMaxAxes axes.
struct CommGroups {
  static constexpr int kMaxAxes = 8;
  std::array<int32_t, kMaxAxes> shape{};
  std::array<int8_t, kMaxAxes> axes{};
  int8_t dims = 0, numAxes = 0;
  bool empty() const { return numAxes == 0; }
  ArrayRef<int32_t> meshShape() const { return ArrayRef(shape).take_front(dims); }
  ArrayRef<int8_t> groupAxes() const { return ArrayRef(axes).take_front(numAxes); }
};

/// The cost of one op of the schedule.
struct OpCost {
  Operation *op = nullptr;
  /// Position in MemoryPlan::steps() (and in a traced run of the compiled
  /// library, which marks the same steps).
  int64_t step = 0;
  int64_t flopsMatrix = 0;
  int64_t flopsOther = 0;
  /// The fraction of flopsMatrix the kernel executes: below 1 for causal
  /// attention, whose kernel skips fully masked key tiles.
  double matrixFraction = 1.0;
  /// Rows of one call's matrix product (linear and matmul: M of M x K . K x
  /// N, per batch matrix when both sides are batched); 0 for other ops.
  /// The time model charges small products their lower rate.
  int64_t matrixRows = 0;
  int64_t bytesRead = 0;
  int64_t bytesWritten = 0;
  /// Parameters (weights and constants) this op is the first to read.
  int64_t paramElements = 0;
  int64_t paramBytes = 0;
  /// Activation bytes live in the arena while the op runs.
  int64_t liveBytes = 0;
  /// How many times a call runs the op: the count of the chunk loop that
  /// holds it (FLOPs and bytes above are the total over them), else 1.
  int64_t repeats = 1;
  /// True for ops the code generator emits no kernel for (views).
  bool isView = false;
  /// Partitioned programs: why every rank of the op's group computes it
  /// whole (its ditc.replicated), empty when the plan divides it.
  std::string replicated;

  /// Collectives (and ring attention): the CollectiveKind (TimeModel.h) as
  /// an int, -1 for ops that do not communicate; the group size, the bytes
  /// the collective is sized by (collectiveBytesSent's `bytes`) and what
  /// one rank sends.
  int commKind = -1;
  int64_t commGroup = 1;
  /// The neighbouring ranks the group spreads across (Mesh::span): its
  /// messages cross the innermost link level holding that many devices.
  int64_t commSpan = 1;
  /// Where the groups lie (a double ring: the outer ring's, each of whose
  /// groups holds one rank of every inner ring, at one place in it).
  CommGroups commGroups;
  int64_t commBytes = 0;
  int64_t commBytesSent = 0;
  /// A double ring (ring attention with inner rings): the inner rings' size,
  /// span and the part of commBytesSent a rank sends on them; commGroup and
  /// commSpan are then the outer ring's (commGroup x commInnerGroup ranks).
  int64_t commInnerGroup = 1;
  int64_t commInnerSpan = 1;
  CommGroups commInnerGroups;
  int64_t commInnerBytesSent = 0;
  /// Collectives along an axis with dimensions before it (all_gather,
  /// reduce_scatter, all_to_all): the bytes read and written by the local
  /// passes that lay its blocks out for the communicator and back
  /// (tensor_collectives.h: a block is contiguous only when nothing lies
  /// before the axis), outside the communicator's transfer.
  int64_t packBytes = 0;
  /// Ring attention: the block kernels a rank runs (one per ring rank) and
  /// the bytes of the runtime's own passes beside them: what the runtime
  /// adds to one attention kernel over the whole sequence. Both counts hold
  /// the merges of the blocks' partial results into the f32 running one
  /// and this rank's K/V copied into the block that travels.
  /// ringPassBytes: the blocks attended to in f32 (the CPU in any dtype,
  /// either target in f32), in 16-bit types with q and each block widened
  /// to f32 and the result narrowed (TimeModel: at the f32 rates).
  /// ringPassBytesNarrow: a GPU in a 16-bit type, whose blocks stay in the
  /// dtype (cuDNN's flash attention; runtime/cuda/ring_attention.cpp), their
  /// partial results widened or merged into the running one and that
  /// narrowed once; ringPassBytes in f32.
  int64_t ringBlocks = 0;
  int64_t ringPassBytes = 0;
  int64_t ringPassBytesNarrow = 0;
  /// Device memory the runtime keeps beside the arena for this op (ring
  /// attention's K/V blocks in flight and its f32 results; Profile.cpp).
  int64_t scratchBytes = 0;

  int64_t flops() const { return flopsMatrix + flopsOther; }
  int64_t bytes() const { return bytesRead + bytesWritten; }
  /// FLOPs per byte moved (0 when nothing moves).
  double intensity() const {
    return bytes() ? double(flops()) / double(bytes()) : 0.0;
  }
};

struct ProfileTotals {
  int64_t flopsMatrix = 0, flopsOther = 0;
  int64_t bytesRead = 0, bytesWritten = 0;
  /// Distinct parameters in the IR: every ditc.weight (by name) and every
  /// distinct ditc.constant, counted once however many ops read them.
  int64_t irParamElements = 0, irParamBytes = 0;
  /// The source graph's initializers (recorded by the importer, including
  /// those folded away into shape arithmetic); -1 when unknown.
  int64_t sourceParamElements = -1, sourceParamBytes = -1;
  /// Bytes of the graph inputs and outputs (caller-owned buffers).
  int64_t inputBytes = 0, outputBytes = 0;
  /// The arena the runtime allocates, the largest live total, and the step
  /// where the arena first reaches its peak (an index of ops(); under
  /// pipeline stages the profiled stage's op with the most live bytes).
  int64_t arenaBytes = 0, peakLiveBytes = 0, peakStep = -1;
  /// Of the arena: PipeFusion's K/V buffers, kept across denoising steps.
  int64_t kvCacheBytes = 0;
  /// Beside the arena: the largest of the ops' runtime scratch
  /// (OpCost::scratchBytes; the runtime keeps it, grown to the largest call).
  int64_t scratchBytes = 0;
  /// The library has a stale schedule (PipeFusion), and the one profiled.
  bool twoSchedules = false;
  int64_t schedule = -1;
  /// The micro-batches the pipeline stages pass along (kMicrobatchesAttr;
  /// 1: the whole batch at once).
  int64_t microbatches = 1;
  /// FLOPs of the ops every rank of their group computes whole (OpCost::
  /// replicated).
  int64_t replicatedFlops = 0;
  /// Bytes one rank sends per step, and calls, per CollectiveKind.
  int64_t commBytesSent[kNumCollectiveKinds] = {}, commCalls[kNumCollectiveKinds] = {};

  /// The parameter count to report: the source graph's when known.
  int64_t paramElements() const {
    return sourceParamElements >= 0 ? sourceParamElements : irParamElements;
  }
  int64_t paramBytes() const {
    return sourceParamBytes >= 0 ? sourceParamBytes : irParamBytes;
  }
};

class Profile {
public:
  /// Profiles @main of a module. Usable as an analysis:
  /// `getAnalysis<Profile>()` (it reads the cached MemoryPlan).
  Profile(Operation *moduleOrFunc, AnalysisManager &am);
  /// Standalone form (plans memory itself). A partitioned module is
  /// profiled as world rank `rank` runs it: under pipeline parallelism only
  /// the ops of its stage count, and what it sends depends on its place in
  /// the outputs' broadcast. A library with two schedules (PipeFusion) is
  /// profiled as `schedule` runs (1: the stale schedule of the denoising
  /// steps after the warm-up; 0: the synchronous one).
  explicit Profile(Operation *moduleOrFunc, int64_t rank = 0, int64_t schedule = 1);
  /// The stage and schedule of every op of @main (stagesOf, schedulesOf),
  /// for profiling several ranks of one module.
  struct OpIndices {
    llvm::DenseMap<Operation *, int64_t> stage, schedule;
    explicit OpIndices(Operation *moduleOrFunc);
  };
  /// The same with the memory plan (and the op indices) given: profiling
  /// several ranks of one module computes them once.
  Profile(Operation *moduleOrFunc, const MemoryPlan &plan, int64_t rank, int64_t schedule,
          const OpIndices *indices = nullptr);

  bool isValid() const { return valid; }
  ArrayRef<OpCost> ops() const { return costs; }
  const ProfileTotals &totals() const { return sums; }

private:
  void compute(Operation *moduleOrFunc, const MemoryPlan &plan, int64_t rank = 0,
               int64_t schedule = 1, const OpIndices *indices = nullptr);
  bool valid = false;
  SmallVector<OpCost, 0> costs;
  ProfileTotals sums;
};

/// The FLOP and byte cost of one op in isolation (step, params and live
/// bytes left zero).
OpCost costOf(Operation *op);

} // namespace mlir::ditc

#endif // DITC_PASSES_ANALYSIS_PROFILE_H
