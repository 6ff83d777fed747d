//===- Passes.h - ditc parallel planning and partition ----------*- C++ -*-===//

#ifndef DITC_PASSES_PARALLEL_PASSES_H
#define DITC_PASSES_PARALLEL_PASSES_H

#include "dialects/Ditc/IR/DitcOps.h"
#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/Hardware.h"
#include "llvm/ADT/StringMap.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::ditc {

#define GEN_PASS_DECL
#include "passes/Parallel/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Parallel/Passes.h.inc"

/// The module attribute -ditc-split-lone-linears leaves: how many lone
/// linear layers it split (absent: none).
constexpr llvm::StringLiteral kLoneSplitsAttr = "ditc.lone_splits";

/// -ditc-split-lone-linears pricing the layers on `hw` as given (with its
/// topology applied, which a description file cannot say) at `dtype`.
std::unique_ptr<Pass> createSplitLoneLinearsPass(const HardwareDesc &hw, llvm::StringRef dtype);

/// Whether a self-attention of @main attends over token streams joined
/// along its tokens (joint attention, MMDiT): the plan key whole_stream
/// applies.
bool hasJointAttention(ModuleOp module);

/// The mesh `-ditc-plan` builds from a plan's device degrees (keys cfg, dp,
/// ulysses, ring, ring_inner, tp, pp, pipefusion; missing ones and degrees
/// of 1 make no axis): its axes in the plan's order, outermost first, with
/// the Ulysses axis moved in front of the ring axes under context_first=1.
/// A group's link level follows from Mesh::span over this order.
Mesh planMesh(const llvm::StringMap<int64_t> &degrees, bool contextFirst);

} // namespace mlir::ditc

#endif // DITC_PASSES_PARALLEL_PASSES_H
