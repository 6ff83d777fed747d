//===- Layers.h - the repeated blocks of a schedule -------------*- C++ -*-===//
//
// Finds the transformer blocks of a graph from its structure alone (no names):
// the longest stretch of the schedule that repeats one block of ops with the
// same op names and types at least twice, where the block does matrix work
// and has at least 4 ops, and again in what is left on either side (Flux has
// two kinds of block); a run of blocks must cover a tenth of the schedule.
// Steps outside every repetition form the segments between them.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_ANALYSIS_LAYERS_H
#define DITC_PASSES_ANALYSIS_LAYERS_H

#include "passes/Analysis/Profile.h"

#include <string>
#include <vector>

namespace mlir::ditc {

struct LayerSpan {
  /// "block A.3" (the 4th repetition of the first kind of block found, in
  /// schedule order), or "prologue", "epilogue", "between A and B".
  std::string name;
  /// Positions [begin, end) in `ops` (steps of the schedule when `ops` is
  /// the whole schedule).
  int64_t begin = 0, end = 0;
  /// The kind of block (0 for A, 1 for B, ...) or -1 outside blocks.
  int kind = -1;
  int64_t index = 0;
};

/// Splits the schedule of `ops` into consecutive spans covering every step.
std::vector<LayerSpan> findLayers(ArrayRef<OpCost> ops);

/// A stream through a block: a float value the block defines and ops after
/// it read (`out`), and the value from before the block that `out` adds up
/// from through a chain of adds inside it, of the same type (`in`): the
/// block's residual is out - in.
struct BlockStream {
  Value out, in;
};
/// The streams of `span` (positions in `ops`), most elements first (the
/// image's before the text's in a joint block).
SmallVector<BlockStream, 2> blockStreams(ArrayRef<OpCost> ops, const LayerSpan &span);

} // namespace mlir::ditc

#endif // DITC_PASSES_ANALYSIS_LAYERS_H
