//===- Heads.h - attention head rewrites shared by the parallel passes ----===//

#ifndef DITC_PASSES_PARALLEL_HEADS_H
#define DITC_PASSES_PARALLEL_HEADS_H

#include "mlir/IR/Builders.h"

namespace mlir::ditc {

/// Grouped K/V heads [B, Hkv, S, D] repeated for `heads` query heads
/// (query head h reads K/V head h / (heads / Hkv)): [B, Hkv, 1, S, D] ->
/// broadcast [B, Hkv, G, S, D] -> [B, heads, S, D].
Value repeatKvHeads(OpBuilder &b, Location loc, Value kv, int64_t heads);

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_HEADS_H
