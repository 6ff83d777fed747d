//===- TimeModel.h - predicted time of ops and collectives ------*- C++ -*-===//
//
// Roofline per op: max(compute time, memory time) + the machine's fixed cost
// for the op's class (op_overhead_s, else launch_overhead_s), where
// compute time = matrix FLOPs / matrix rate (the attention rate for
// ditc.attention, scaled by the fraction a causal kernel executes) + other
// FLOPs / vector rate, and memory time = bytes / bandwidth (for data
// movement, the "movement" class and the collectives' layout passes: the
// movement rate, HardwareDesc::movementRate). Views cost nothing (no kernel
// runs).
//
// Collectives: alpha-beta per link level, for a group of n ranks on the
// innermost level that holds the devices the group spreads across (n, or
// more when its ranks are not neighbours: Mesh::span), beta that level's
// bandwidth (on a shared level, the share of it the collective's groups
// leave each device: linkRate), with `bytes` the size of one rank's
// full buffer (all_reduce: the reduced tensor; all_gather: the gathered
// output; reduce_scatter: the input; all_to_all: the send buffer):
//   all_reduce (ring)       2 (n-1) alpha + 2 (n-1)/n bytes / beta
//   all_gather, reduce_scatter, all_to_all
//                           (n-1) alpha + (n-1)/n bytes / beta
//   send/recv               alpha + bytes / beta
//   ring exchange (n-1 steps, each one block of bytes/n to the next rank)
//                           (n-1) (alpha + bytes/n / beta)
// A collective's own reads, writes and sums run with its transfer (the
// communicator moves the bytes; a calibrated link measured them together):
// max(compute, memory, transfer), then the local passes that lay blocks
// along an inner axis out for the communicator and back (OpCost::packBytes)
// at the memory rate.
//
// The schedule total is the sum over ops: the runtime runs kernels one after
// another. Only ring attention overlaps communication with compute, its K/V
// exchange with its blocks, and only on links whose transfers progress
// while the device computes (LinkLevel::overlapsCompute: NCCL on a second
// stream; not the MPI communicator, whose transfers move in its waits).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PASSES_ANALYSIS_TIMEMODEL_H
#define DITC_PASSES_ANALYSIS_TIMEMODEL_H

#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/Profile.h"

namespace mlir::ditc {

struct OpTime {
  /// memoryS includes Ring attention's merges and overheadS its further
  /// launches (OpCost::ringBlocks): kernels that run after each block's.
  double computeS = 0, memoryS = 0, overheadS = 0;
  /// Communication (collectives; ring attention's K/V exchange).
  double commS = 0;
  /// The link level the communication crosses (null: none).
  const LinkLevel *link = nullptr;
  /// A double ring: its inner rings' link and the share of the exposed
  /// communication charged to it (the rest to `link`, the outer ring's):
  /// each link's busy time over both.
  const LinkLevel *innerLink = nullptr;
  double innerShare = 0;
  double totalS = 0;
  bool memoryBound = false;
};

struct TimeOptions {
  /// The dtype the rates are read for ("f32", "bf16", ...).
  std::string dtype = "f32";
  /// Multiplies every byte count (0.5 predicts a bf16 run of an f32 graph).
  double bytesScale = 1.0;
  /// The parameter bytes one step of the program reads (OpCost::paramBytes
  /// summed, before bytesScale): its weights stream from beyond the caches
  /// (HardwareDesc::weightStreamBandwidth) only when they are more than
  /// HardwareDesc::weightCacheBytes. -1: not known; they stream.
  int64_t stepParamBytes = -1;
};

/// `opts` with stepParamBytes the parameter bytes of `ops` (a program's
/// step).
TimeOptions withStepParams(TimeOptions opts, llvm::ArrayRef<OpCost> ops);

/// The class of op whose fixed cost a machine may list (kOpClasses):
/// matrix (matmul, linear, einsum), conv, attention, norm (layer_norm,
/// rms_norm, group_norm, softmax), movement (transpose, concat, split,
/// slice, gather, broadcast, cast, trilu) or elementwise (the rest).
const char *opClass(Operation *op);

/// Roofline time of one op.
OpTime predictOpTime(const OpCost &cost, const HardwareDesc &hw,
                     const TimeOptions &opts = {});

enum class CollectiveKind {
  AllReduce,
  AllGather,
  ReduceScatter,
  AllToAll,
  SendRecv,
  RingExchange,
  /// A chain from the root: every rank but the last of the chain sends the
  /// tensor once (pipeline stages' outputs).
  Broadcast
};
static_assert((int)CollectiveKind::Broadcast + 1 == kNumCollectiveKinds);

/// Alpha-beta time of a collective over `groupSize` ranks spread across
/// `span` neighbouring devices (Mesh::span; at least the group), on the
/// innermost link level that holds the span, at linkRate(). Returns a
/// negative value when the machine has no link level holding that many
/// devices.
double predictCollectiveTime(CollectiveKind kind, int64_t bytes,
                             int64_t groupSize, const HardwareDesc &hw,
                             int64_t span = 0, const CommGroups *groups = nullptr);

/// The transfers of a collective that cross one link serving `block`
/// consecutive devices at once, in one direction, every group of `groups`
/// running it together: the most over the blocks and both directions.
///   RingExchange (ring attention): each member sends to the next in the
///     group's order, the last to the first; a hop counts where its two
///     ends lie in different blocks (leaving one, entering the other).
///   AllGather, ReduceScatter, AllReduce (NCCL's rings, which it orders by
///     the topology: a ring leaves and enters a block once): one per group
///     with members both inside the block and outside it.
///   The others (all-to-all, send/recv, broadcast): every device of the
///     block whose group has a member outside it.
/// 0 when no transfer crosses.
int64_t sharedLinkFlows(CollectiveKind kind, const CommGroups &groups, int64_t block);

/// One device's bandwidth on `link` (a level of `hw`) for a collective of
/// `kind` over `groups`. A level that several devices share (sharedBy > 1)
/// divides its bandwidth by the transfers that cross one of its links at
/// once, at least 1 and at most sharedBy: sharedLinkFlows over blocks of
/// the level below's devices (one device below the first level). Without
/// the groups, or on a level not shared: link.rate(). Either way times the
/// kind's own rate on the link (LinkLevel::collectiveRates).
double linkRate(const LinkLevel &link, const HardwareDesc &hw, CollectiveKind kind,
                const CommGroups *groups);

/// Bytes one rank sends in the collective (what its counters report).
int64_t collectiveBytesSent(CollectiveKind kind, int64_t bytes,
                            int64_t groupSize);

} // namespace mlir::ditc

#endif // DITC_PASSES_ANALYSIS_TIMEMODEL_H
