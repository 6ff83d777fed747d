//===- Stages.h - pipeline stages: segments, messages, PipeFusion -*- C++ -*-===//
//
// Shared by the pipeline passes: a program cut into stages is a list of
// segments (a stage's ops that run one after another without waiting on
// another stage: a micro-batch under pp, a patch under PipeFusion), and
// values read in a later stage travel as messages between segments.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_PARALLEL_STAGES_H
#define DITC_PASSES_PARALLEL_STAGES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/SmallVector.h"

#include <string>

namespace mlir::ditc {

/// A stage's ops that run one after another, in program order.
struct Segment {
  int64_t stage = 0;
  SmallVector<Operation *> ops;
};

/// Sends and receives for every value that a segment computes and a later
/// stage reads: the send after the producing segment, the receive before the
/// first reading segment of each reading stage (the stage's later readers
/// use it too). A rank runs its stage's segments in list order; the
/// messages are ordered so that every rank sends and receives in one global
/// order, which rules out a deadlock of blocking sends. Tags count up from
/// `tag`, which is advanced. New ops carry `ditc.stage` and, when
/// `schedule` >= 0, `ditc.schedule`. Fails (with `why`) when no such order
/// exists.
LogicalResult placeMessages(ArrayRef<Segment> segments, Operation *ret, StringRef axis,
                            int64_t schedule, int64_t &tag, std::string &why);

/// PipeFusion's stale schedule (docs/PARALLEL.md): the ops `work` of the
/// per-rank program (stage `stageOf[i]` each) cloned once more, before
/// `ret`, with the image tokens cut into `patches` patches that run through
/// the stages one after another; each self-attention attends to its patch's
/// fresh K/V and to the rest of the K/V buffer (ditc.kv_cache_update) that
/// the previous call left. The original attentions read their K/V through
/// the same buffers (offset 0), so that a synchronous call fills them.
struct StaleSchedule {
  SmallVector<Segment> segments;
  /// Per operand of `ret`: the stale schedule's value.
  SmallVector<Value> outputs;
  int64_t caches = 0;
};
FailureOr<StaleSchedule> buildStaleSchedule(func::FuncOp fn, ArrayRef<Operation *> work,
                                            ArrayRef<int64_t> stageOf, int64_t stages,
                                            int64_t patches, std::string &why);

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_STAGES_H
