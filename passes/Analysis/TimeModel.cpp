//===- TimeModel.cpp - predicted time of ops and collectives --------------===//

#include "passes/Analysis/TimeModel.h"

#include "dialects/Ditc/IR/DitcOps.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::ditc;

const char *mlir::ditc::opClass(Operation *op) {
  if (!op)
    return "elementwise";
  if (isa<MatmulOp, LinearOp, EinsumOp>(op))
    return "matrix";
  if (isa<ConvOp>(op))
    return "conv";
  if (isa<AttentionOp, RingAttentionOp>(op))
    return "attention";
  if (isa<LayerNormOp, RmsNormOp, GroupNormOp, SoftmaxOp>(op))
    return "norm";
  if (isa<TransposeOp, ConcatOp, SplitOp, SliceOp, GatherOp, BroadcastOp,
          CastOp, TriluOp, ShardOp, AllGatherOp, AllToAllOp, ChunkOp>(op))
    return "movement";
  return "elementwise";
}

OpTime mlir::ditc::predictOpTime(const OpCost &cost, const HardwareDesc &hw,
                                 const TimeOptions &opts) {
  OpTime t;
  if (cost.isView || (cost.flops() == 0 && cost.bytes() == 0))
    return t;
  bool attention = cost.op && isa<AttentionOp, RingAttentionOp>(cost.op);
  // Ring attention's blocks: a GPU attends to 16-bit blocks in their dtype
  // (cuDNN's flash attention; runtime/cuda/ring_attention.cpp), at its
  // rates and with its own passes (OpCost::ringPassBytesNarrow); the CPU
  // widens them to f32, whose rates they then run at (OpCost::ringPassBytes).
  bool ring = cost.ringBlocks > 1;
  bool narrowRing = ring && hw.kind == "gpu" &&
                    (opts.dtype == "bf16" || opts.dtype == "f16");
  StringRef dtype = ring && !narrowRing ? StringRef("f32") : StringRef(opts.dtype);
  double matrixRate = attention ? hw.attentionRate(dtype) : hw.matrixRate(dtype);
  if (ring)
    matrixRate *= hw.ringBlockEfficiency; // HardwareDesc::ringBlockEfficiency
  double vectorRate = hw.vectorRate(dtype);
  if (!attention && cost.matrixRows > 0)
    matrixRate *= hw.matrixRowsFactor(double(cost.matrixRows));
  if (cost.flopsMatrix && matrixRate > 0)
    t.computeS += double(cost.flopsMatrix) * cost.matrixFraction / matrixRate;
  if (cost.flopsOther && vectorRate > 0)
    t.computeS += double(cost.flopsOther) / vectorRate;
  // Data movement runs at its own rate (HardwareDesc::movementEfficiency).
  const bool movement = cost.op && StringRef(opClass(cost.op)) == "movement";
  t.memoryS = double(cost.bytes()) * opts.bytesScale /
              (movement ? hw.movementRate() : hw.bandwidthRate());
  // Each run of an op in a chunk loop is a launch of its own.
  t.overheadS = hw.overheadFor(opClass(cost.op)) * double(cost.repeats);
  t.memoryBound = t.memoryS > t.computeS;
  t.totalS = std::max(t.computeS, t.memoryS) + t.overheadS;
  // The weights this op is the first of the step to read, from beyond the
  // caches (HardwareDesc::weightStreamBandwidth).
  bool cached = opts.stepParamBytes >= 0 &&
                double(opts.stepParamBytes) * opts.bytesScale <= hw.weightCacheBytes;
  if (hw.weightStreamBandwidth > 0 && cost.paramBytes > 0 && !cached) {
    double stream = double(cost.paramBytes) * opts.bytesScale / hw.weightStreamBandwidth;
    t.memoryS += stream;
    t.totalS += stream;
  }
  if (ring) {
    // Ring attention: one block kernel per ring rank, each partial result
    // merged into the running one by a kernel of its own (memory-bound,
    // f32 arithmetic whatever the dtype), in sequence with the blocks, and
    // its other passes.
    double more = double(cost.ringBlocks - 1) * double(cost.repeats);
    int64_t passBytes = narrowRing ? cost.ringPassBytesNarrow : cost.ringPassBytes;
    double merges = double(passBytes) * double(cost.repeats) / hw.bandwidthRate();
    double launches =
        more * (hw.overheadFor("attention") + hw.overheadFor("elementwise"));
    t.memoryS += merges;
    t.overheadS += launches;
    t.totalS += merges + launches;
  }
  if (cost.commKind == (int)CollectiveKind::RingExchange && cost.commInnerGroup > 1) {
    // A double ring of O groups of I: each outer round is I - 1 inner
    // transfers of a block, with one outer transfer (on the outer link)
    // overlapped (none in the last round); the whole exchange overlaps the
    // attention.
    int64_t o = cost.commGroup, i = cost.commInnerGroup;
    const LinkLevel *in = hw.linkFor(std::max(i, cost.commInnerSpan));
    const LinkLevel *out = o > 1 ? hw.linkFor(std::max(o, cost.commSpan)) : in;
    if (in && out) {
      double block = double(cost.commBytes) * opts.bytesScale / double(o * i);
      // Each ring's share of a shared level: the inner rings' hops, and
      // the outer ring's from one inner ring to the next.
      double inRate = linkRate(*in, hw, CollectiveKind::RingExchange, &cost.commInnerGroups);
      double outRate = linkRate(*out, hw, CollectiveKind::RingExchange, &cost.commGroups);
      double round = double(i - 1) * (in->latencyS + block / inRate);
      double hop = o > 1 ? out->latencyS + block / outRate : 0.0;
      double innerBusy = double(o) * round, outerBusy = double(o - 1) * hop;
      // On one link level the two transfers share the device's bandwidth:
      // nothing overlaps, as in the one ring.
      double comm = in == out ? innerBusy + outerBusy
                              : double(o - 1) * std::max(round, hop) + round;
      t.commS = comm;
      t.link = out;
      t.innerLink = in;
      t.innerShare = innerBusy + outerBusy > 0 ? innerBusy / (innerBusy + outerBusy) : 1.0;
      // A link whose transfers progress only in the communicator's calls
      // (LinkLevel::overlapsCompute) adds them to the blocks' compute.
      t.totalS = in->overlapsCompute && out->overlapsCompute
                     ? std::max(t.totalS, comm + t.overheadS)
                     : t.totalS + comm;
    }
    return t;
  }
  if (cost.commKind >= 0 && cost.commGroup > 1) {
    double comm = predictCollectiveTime((CollectiveKind)cost.commKind,
                                        int64_t(double(cost.commBytes) * opts.bytesScale),
                                        cost.commGroup, hw, cost.commSpan,
                                        &cost.commGroups);
    if (comm > 0) {
      t.commS = comm;
      t.link = hw.linkFor(std::max(cost.commGroup, cost.commSpan));
      if (cost.commKind == (int)CollectiveKind::RingExchange) {
        // Ring attention exchanges K/V blocks while it computes, where the
        // link's transfers progress meanwhile.
        t.totalS = t.link->overlapsCompute ? std::max(t.totalS, comm + t.overheadS)
                                           : t.totalS + comm;
      } else {
        // The communicator's transfer is the collective's traffic: its
        // reads, writes and sums run with it (calibrated links measure them
        // together), then the local layout passes (OpCost::packBytes).
        double pack = double(cost.packBytes) * opts.bytesScale / hw.movementRate();
        t.memoryS += pack;
        t.totalS = std::max(t.totalS - t.overheadS, comm) + t.overheadS + pack;
      }
    }
  }
  return t;
}

TimeOptions mlir::ditc::withStepParams(TimeOptions opts, ArrayRef<OpCost> ops) {
  opts.stepParamBytes = 0;
  for (const OpCost &c : ops)
    opts.stepParamBytes += c.paramBytes;
  return opts;
}

int64_t mlir::ditc::collectiveBytesSent(CollectiveKind kind, int64_t bytes,
                                        int64_t n) {
  if (n <= 1)
    return 0;
  switch (kind) {
  case CollectiveKind::AllReduce: // as the runtime counts: 2(n-1)B / n
    return int64_t((__int128)2 * (n - 1) * bytes / n);
  case CollectiveKind::AllGather:
  case CollectiveKind::ReduceScatter:
  case CollectiveKind::AllToAll:
  case CollectiveKind::RingExchange:
    return (n - 1) * (bytes / n);
  case CollectiveKind::SendRecv:
  case CollectiveKind::Broadcast:
    return bytes;
  }
  return 0;
}

int64_t mlir::ditc::sharedLinkFlows(CollectiveKind kind, const CommGroups &groups,
                                    int64_t block) {
  ArrayRef<int32_t> shape = groups.meshShape();
  ArrayRef<int8_t> axes = groups.groupAxes();
  const int64_t dims = (int64_t)shape.size();
  int64_t ranks = 1, size = 1;
  for (int64_t d : shape)
    ranks *= d;
  SmallVector<bool, 8> inGroup(dims, false);
  for (int64_t a : axes) {
    if (a < 0 || a >= dims || inGroup[a])
      return 0;
    inGroup[a] = true;
    size *= shape[a];
  }
  if (block < 1 || size <= 1 || ranks <= block)
    return 0;
  // Every group's members in group order: member[g * size + key], g the
  // rank's place over the other axes, key its place over the group's (in
  // their order, mixed radix).
  SmallVector<int64_t, 64> member(ranks);
  SmallVector<int64_t, 8> coord(dims);
  for (int64_t r = 0; r < ranks; ++r) {
    for (int64_t i = dims - 1, rest = r; i >= 0; --i) {
      coord[i] = rest % shape[i];
      rest /= shape[i];
    }
    int64_t g = 0, key = 0;
    for (int64_t i = 0; i < dims; ++i)
      if (!inGroup[i])
        g = g * shape[i] + coord[i];
    for (int64_t a : axes)
      key = key * shape[a] + coord[a];
    member[g * size + key] = r;
  }
  int64_t blocks = (ranks + block - 1) / block;
  SmallVector<int64_t, 16> out(blocks, 0), in(blocks, 0), here(blocks, 0);
  for (int64_t g = 0; g < ranks / size; ++g) {
    ArrayRef<int64_t> m = ArrayRef<int64_t>(member).slice(g * size, size);
    switch (kind) {
    case CollectiveKind::RingExchange:
      for (int64_t k = 0; k < size; ++k) {
        int64_t from = m[k] / block, to = m[(k + 1) % size] / block;
        if (from != to) {
          ++out[from];
          ++in[to];
        }
      }
      break;
    case CollectiveKind::AllGather:
    case CollectiveKind::ReduceScatter:
    case CollectiveKind::AllReduce: {
      std::fill(here.begin(), here.end(), 0);
      int64_t touched = 0;
      for (int64_t r : m)
        touched += here[r / block]++ == 0;
      if (touched > 1)
        for (int64_t b = 0; b < blocks; ++b)
          if (here[b]) {
            ++out[b];
            ++in[b];
          }
      break;
    }
    default:
      std::fill(here.begin(), here.end(), 0);
      for (int64_t r : m)
        ++here[r / block];
      for (int64_t r : m)
        if (here[r / block] < size) {
          ++out[r / block];
          ++in[r / block];
        }
      break;
    }
  }
  int64_t most = 0;
  for (int64_t b = 0; b < blocks; ++b)
    most = std::max({most, out[b], in[b]});
  return most;
}

double mlir::ditc::linkRate(const LinkLevel &link, const HardwareDesc &hw,
                            CollectiveKind kind, const CommGroups *groups) {
  // The kind's own rate on the link (LinkLevel::collectiveRates).
  double kindRate = link.collectiveRate(kCollectiveKindNames[(int)kind]);
  if (link.sharedBy <= 1 || !groups || groups->empty())
    return link.rate() * kindRate;
  // One link of the level serves a block of the level below's devices.
  int64_t level = 0;
  while (level < (int64_t)hw.links.size() && &hw.links[level] != &link)
    ++level;
  if (level == (int64_t)hw.links.size())
    return link.rate() * kindRate;
  int64_t block = level > 0 ? hw.links[level - 1].devices : 1;
  int64_t flows = sharedLinkFlows(kind, *groups, block);
  return link.bandwidth * kindRate /
         double(std::clamp<int64_t>(flows, 1, link.sharedBy));
}

double mlir::ditc::predictCollectiveTime(CollectiveKind kind, int64_t bytes,
                                         int64_t n, const HardwareDesc &hw,
                                         int64_t span, const CommGroups *groups) {
  if (n <= 1)
    return 0.0;
  const LinkLevel *link = hw.linkFor(std::max(n, span));
  if (!link)
    return -1.0;
  double alpha = link->latencyS, beta = linkRate(*link, hw, kind, groups);
  double steps = 0;
  switch (kind) {
  case CollectiveKind::AllReduce:
    steps = 2.0 * double(n - 1);
    break;
  case CollectiveKind::AllGather:
  case CollectiveKind::ReduceScatter:
  case CollectiveKind::AllToAll:
  case CollectiveKind::RingExchange:
    steps = double(n - 1);
    break;
  case CollectiveKind::SendRecv:
    return alpha + double(bytes) / beta;
  case CollectiveKind::Broadcast: // the chain, pipelined
    return double(n - 1) * alpha + double(bytes) / beta;
  }
  return steps * alpha +
         double(collectiveBytesSent(kind, bytes, n)) / beta;
}
