//===- MemoryPlan.h - static arena placement and liveness -------*- C++ -*-===//
//
// The one place that decides where every intermediate tensor of @main lives.
// `ditc-plan-memory` writes this plan into the IR for code generation, and the
// profiler reads the same plan for its activation-memory curve, so the
// predicted peak and the runtime's arena are one computation, not two guesses.
//
// The schedule is the op order of @main's block. A buffer lives from the op
// that defines it to its last reader; a reshape is a view of its input's
// buffer and extends that buffer's life; elementwise ops write over an
// operand buffer that dies at them when the sizes match; results returned from
// @main go straight into the caller's output buffers and take no arena space.
// K/V buffers kept across calls (kv_cache_update) take the start of the
// arena for the whole schedule; a schedule_select is a view. The state of
// redundancy probes and step caches follows them (stateBuffers). The
// inputs of a concat whose pieces are contiguous are written into its
// result's buffer (isConcatPart), which then lives from the first of them.
// Placement is first-fit in offset order with 64-byte alignment.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_ANALYSIS_MEMORYPLAN_H
#define DITC_PASSES_ANALYSIS_MEMORYPLAN_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

namespace mlir::ditc {

/// The attribute names of the memory plan in the IR.
constexpr llvm::StringLiteral kOffsetsAttr = "ditc.offsets";
constexpr llvm::StringLiteral kArenaBytesAttr = "ditc.arena_bytes";
/// On a chunk loop: where its body's arguments live (MemoryPlan::argOffsets).
constexpr llvm::StringLiteral kArgOffsetsAttr = "ditc.arg_offsets";
/// Offset values that are not arena offsets.
constexpr int64_t kViewOffset = -1;
inline int64_t outputOffset(int64_t k) { return -2 - k; }
inline bool isOutputOffset(int64_t o) { return o <= -2; }
inline int64_t outputIndex(int64_t o) { return -2 - o; }

/// A probe's slot: four doubles (ditc_rt_probe_change's `slot`); a step
/// cache's: sixteen (ditc_rt_cache_decide's ten, and the CUDA kernel's sums).
constexpr int64_t kProbeSlotBytes = 32;
constexpr int64_t kCacheSlotBytes = 128;

/// The buffers `op` keeps across calls, in bytes: a probe's previous input
/// and slot, a cache decision's reference and slot, a cache_apply's
/// residual; none for other ops. They follow the K/V buffers in the arena,
/// and the op's offsets (after its results') say where.
SmallVector<int64_t, 2> stateBuffers(Operation *op);

/// Bytes of a ranked tensor's data (i1 takes one byte per element).
int64_t tensorBytes(Type type);

/// Returns @main of `moduleOrFunc` when it has a single block, else null.
func::FuncOp getMainFunc(Operation *moduleOrFunc);

/// Whether chunk i of input `k` of a chunk loop is one contiguous block of
/// the input (every dimension before the chunked one has size 1): the
/// body's argument is then a view, else each iteration copies it.
bool isChunkView(ChunkOp loop, unsigned k);
/// The values of the enclosing block that a chunk loop's body reads
/// directly (whole in every iteration), in order of first use.
SmallVector<Value> outerValuesUsedIn(ChunkOp loop);
/// The op of `body` that is or contains `op` (a chunk loop for its body's
/// ops), or null.
Operation *topLevelOp(Block &body, Operation *op);

/// Whether `piece`, a slice or one result of a split, is a strided view of
/// the tensor it is cut from, given no buffer of its own: every user, in
/// its block, reads it through per-operand strides (the elementwise
/// kernels: binary arithmetic, mul_add, where; a layer norm's mod_scale or
/// mod_shift whose rows are evenly apart, modulationRowStride), directly or
/// through reshapes that only add or drop unit dimensions. A DiT's adaLN
/// parameters, six pieces of one projection, are then read where the
/// projection wrote them.
bool isStridedView(Value piece);
/// Where a piece of a slice or split (or a reshape of one that only adds or
/// drops unit dims) lies in the tensor it is cut from: its first element
/// and its strides (elements; 0 on unit dims). None for any other value.
struct StridedLayout {
  int64_t start = 0;
  SmallVector<int64_t> strides;
};
std::optional<StridedLayout> pieceLayout(Value v);
/// Whether `v` is written straight into the buffer of the concat that is
/// its only user, at its place there, so that the concat copies nothing for
/// it: `v`, or the value it views through reshapes that are each their
/// input's only user (concatPartWriter), is an op's result (not a weight, a
/// constant, a state buffer or another concat) in the concat's block; `v`
/// appears once among the concat's inputs and has data; and the concat's
/// pieces are contiguous runs of its result (every dim before the axis is
/// 1), which is not an output of @main. The planner places such parts and
/// the lowering skips their copies.
bool isConcatPart(Value v);
/// The value whose op writes concat part `part`: `part`, or the value it
/// views through single-use reshapes.
Value concatPartWriter(Value part);
/// Where a concat part starts in the concat's result, in bytes.
int64_t concatPartByteOffset(Value part);

/// The row stride (elements) at which a layer norm from `axis` reads the
/// groups of a modulation with this shape and these strides: the
/// normalised dims must be contiguous, the groups (the non-unit dims
/// before them) evenly apart and not reversed. None when they are not.
std::optional<int64_t> modulationRowStride(ArrayRef<int64_t> shape,
                                           ArrayRef<int64_t> strides, int64_t axis);

class MemoryPlan {
public:
  static constexpr int64_t kAlign = 64;

  /// Plans @main of a module (or the function itself). Usable as an MLIR
  /// analysis: `getAnalysis<MemoryPlan>()`.
  explicit MemoryPlan(Operation *moduleOrFunc);

  /// False when there is no single-block @main to plan.
  bool isValid() const { return valid; }

  /// Where each result of `op` lives: an arena offset, kViewOffset (a reshape,
  /// a strided view) or outputOffset(k) (the k-th graph output). Empty for
  /// weights and constants, which live in the weight file or the library.
  ArrayRef<int64_t> offsets(Operation *op) const;
  /// Where each argument of a chunk loop's body lives: an arena offset for
  /// a copied chunk, kViewOffset for a view of its input.
  ArrayRef<int64_t> argOffsets(Operation *loop) const;

  /// One step of the schedule: an op of @main (weights, constants and the
  /// terminator excluded) and the arena bytes in use while it runs.
  struct Step {
    Operation *op;
    /// Sum of the (aligned) sizes of the buffers live during the op: every
    /// buffer defined earlier and read here or later, plus its own results.
    int64_t liveBytes;
    /// The highest arena byte in use during the op (placement, with holes).
    int64_t arenaEnd;
  };
  ArrayRef<Step> steps() const { return schedule; }

  /// The arena the runtime allocates: the highest byte any buffer reaches.
  int64_t arenaBytes() const { return peakArena; }
  /// The largest live-byte total over the schedule (the lower bound any
  /// placement needs) and the first step where it occurs (-1 if none).
  int64_t peakLiveBytes() const { return peakLive; }
  int64_t peakStep() const { return peakLiveStep; }
  /// The first step whose arena end reaches arenaBytes() (-1 if none); when
  /// the buffers were placed again knowing their lifetimes, the one of
  /// those steps with the most bytes live.
  int64_t peakArenaStep() const { return peakArenaAt; }
  /// The bytes of the K/V buffers kept across calls (kv_cache_update), at
  /// the start of the arena and live at every step: the largest stage's
  /// (the buffers of different pipeline stages share the region).
  int64_t kvCacheBytesTotal() const { return kvCacheBytes; }

private:
  bool valid = false;
  llvm::DenseMap<Operation *, SmallVector<int64_t, 1>> offsetsOf;
  llvm::DenseMap<Operation *, SmallVector<int64_t>> argOffsetsOf;
  SmallVector<Step> schedule;
  int64_t peakArena = 0, peakLive = 0, peakLiveStep = -1, peakArenaAt = -1;
  int64_t kvCacheBytes = 0;
};

} // namespace mlir::ditc

#endif // DITC_PASSES_ANALYSIS_MEMORYPLAN_H
