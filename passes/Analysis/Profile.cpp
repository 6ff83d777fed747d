//===- Profile.cpp - symbolic cost of a ditc graph (MAP) ------------------===//

#include "passes/Analysis/Profile.h"

#include "dialects/Ditc/IR/DitcOps.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/TypeSwitch.h"
#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/TimeModel.h"

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// Flops per element of the activations, standalone or a linear layer's
/// fused epilogue.
constexpr int64_t kSiluFlops = 4, kGeluFlops = 8;

int64_t elements(Value v) { return typeOf(v).getNumElements(); }

int64_t product(ArrayRef<int64_t> dims) {
  int64_t p = 1;
  for (int64_t d : dims)
    p *= d;
  return p;
}

/// The bytes the runtime's local layout passes read and write around a
/// collective of `group` ranks (OpCost::packBytes): as tensor_collectives.h
/// cuts a tensor along an axis, a block is contiguous only when the dims
/// before the axis multiply to 1; otherwise the blocks are packed into
/// scratch before the transfer (all_to_all's send side, reduce_scatter) or
/// unpacked after it (all_gather, all_to_all's receive side), one read and
/// one write of the buffer each.
int64_t collectivePackBytes(Operation *o, int64_t group) {
  if (group <= 1)
    return 0;
  ArrayRef<int64_t> in = shapeOf(o->getOperand(0));
  int64_t inBytes = tensorBytes(o->getOperand(0).getType());
  auto before = [&](int64_t axis) { return product(in.take_front(axis)); };
  if (auto g = dyn_cast<AllGatherOp>(o))
    return before(g.getAxis()) > 1 ? 2 * tensorBytes(g.getType()) : 0;
  if (auto r = dyn_cast<ReduceScatterOp>(o))
    return before(r.getAxis()) > 1 ? 2 * inBytes : 0;
  if (auto a = dyn_cast<AllToAllOp>(o)) {
    int64_t split = a.getSplitAxis(), concat = a.getConcatAxis();
    int64_t recvOuter = before(concat) / (split < concat ? group : 1);
    return (before(split) > 1 ? 2 * inBytes : 0) + (recvOuter > 1 ? 2 * inBytes : 0);
  }
  return 0;
}

/// The placement of the groups of a collective over `axes` (CommGroups).
CommGroups groupsOf(const FailureOr<Mesh> &mesh, ArrayRef<Attribute> axes) {
  CommGroups g;
  if (failed(mesh) || mesh->shape.size() > CommGroups::kMaxAxes)
    return g;
  for (Attribute a : axes)
    if (auto s = dyn_cast<StringAttr>(a))
      if (int64_t i = mesh->indexOf(s.getValue()); i >= 0)
        g.axes[g.numAxes++] = int8_t(i);
  g.dims = int8_t(mesh->shape.size());
  for (auto [i, n] : llvm::enumerate(mesh->shape))
    g.shape[i] = int32_t(n);
  return g;
}

/// Score positions [i, j] (i < sq, j < sk) a top-left aligned causal mask
/// keeps: key j <= query i.
int64_t causalKept(int64_t sq, int64_t sk) {
  if (sq <= sk)
    return sq * (sq + 1) / 2;
  return sk * (sk + 1) / 2 + (sq - sk) * sk;
}

/// Matrix FLOPs of an explicit-output einsum: 2 per multiply-add over every
/// index (summed or not) when two or more operands are multiplied, and the
/// summed-index count when the equation has a single operand.
void einsumCost(EinsumOp op, OpCost &c) {
  StringRef eq = op.getEquation();
  auto [lhs, out] = eq.split("->");
  llvm::DenseMap<char, int64_t> size;
  SmallVector<StringRef> terms;
  lhs.split(terms, ',');
  for (auto [term, input] : llvm::zip(terms, op.getInputs())) {
    ArrayRef<int64_t> shape = shapeOf(input);
    for (auto [k, ch] : llvm::enumerate(term.trim()))
      if (k < shape.size())
        size[ch] = std::max(size.lookup(ch), shape[k]);
  }
  int64_t all = 1;
  for (auto &kv : size)
    all *= kv.second;
  bool contracts = llvm::any_of(size, [&](auto &kv) {
    return !out.contains(kv.first);
  });
  if (terms.size() >= 2 && contracts)
    c.flopsMatrix = 2 * all * int64_t(terms.size() - 1);
  else
    c.flopsOther = all * int64_t(std::max<size_t>(terms.size(), 1));
}

} // namespace

OpCost mlir::ditc::costOf(Operation *op) {
  OpCost c;
  c.op = op;
  // A chunk offset is one integer the loop computes: no kernel.
  if (isa<WeightOp, ConstantOp, ChunkOffsetOp>(op) || op->hasTrait<OpTrait::IsTerminator>())
    return c;
  if (isa<ReshapeOp>(op) || (isa<SliceOp>(op) && isStridedView(op->getResult(0)))) {
    c.isView = true;
    return c;
  }
  if (auto loop = dyn_cast<ChunkOp>(op)) {
    // Its own work is the copies: inputs whose chunks are not views, and
    // every result's chunks into place (the body's ops are steps of their
    // own).
    for (auto [k, in] : llvm::enumerate(loop.getInputs()))
      if (!isChunkView(loop, k))
        c.bytesRead += tensorBytes(in.getType());
    for (Value r : loop.getResults())
      c.bytesRead += tensorBytes(r.getType());
    c.bytesWritten = c.bytesRead;
    return c;
  }
  for (Value v : op->getOperands())
    if (isa<RankedTensorType>(v.getType()))
      c.bytesRead += tensorBytes(v.getType());
  int64_t outElems = 0;
  for (Value r : op->getResults())
    if (isa<RankedTensorType>(r.getType())) {
      c.bytesWritten += tensorBytes(r.getType());
      outElems += elements(r);
    }

  llvm::TypeSwitch<Operation *>(op)
      .Case<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, ModOp, AndOp,
            EqualOp, GreaterOp, LessOp, WhereOp, NegOp, NotOp, SqrtOp,
            ReciprocalOp, ExpOp, ErfOp, CosOp, SinOp, TanhOp, ReluOp,
            IsNanOp, AbsOp, LogOp, FloorOp, CeilOp, RoundOp, BitwiseAndOp,
            BitwiseOrOp, BitwiseXorOp>([&](Operation *) { c.flopsOther = outElems; })
      .Case<SigmoidOp>([&](auto) { c.flopsOther = 3 * outElems; })
      .Case<MulAddOp>([&](auto) { c.flopsOther = 2 * outElems; })
      .Case<ProbeOp>([&](ProbeOp p) {
        // |x - prev| and |prev| summed, then x kept as the next prev.
        c.flopsOther = 4 * elements(p.getInput());
        c.bytesRead += tensorBytes(p.getInput().getType());
        c.bytesWritten += tensorBytes(p.getInput().getType());
      })
      // A slice reads only its region and a gather only the entries it
      // takes (an embedding look-up reads its rows, not the whole table).
      .Case([&](SliceOp o) { c.bytesRead = tensorBytes(o.getType()); })
      // A split copies the pieces that are not strided views.
      .Case([&](SplitOp o) {
        c.bytesWritten = 0;
        for (Value r : o.getResults())
          if (!isStridedView(r))
            c.bytesWritten += tensorBytes(r.getType());
        c.bytesRead = c.bytesWritten;
        c.isView = c.bytesWritten == 0;
      })
      .Case([&](GatherOp o) {
        c.bytesRead = tensorBytes(o.getIndices().getType()) + tensorBytes(o.getType());
      })
      // A concat copies the inputs that were not written in place.
      .Case([&](ConcatOp o) {
        c.bytesRead = 0;
        for (Value in : o.getInputs())
          if (!isConcatPart(in))
            c.bytesRead += tensorBytes(in.getType());
        c.bytesWritten = c.bytesRead;
        c.isView = c.bytesWritten == 0;
      })
      .Case<SiluOp>([&](auto) { c.flopsOther = kSiluFlops * outElems; })
      .Case<GeluOp>([&](auto) { c.flopsOther = kGeluFlops * outElems; })
      .Case<SoftmaxOp>([&](auto) { c.flopsOther = 5 * outElems; })
      .Case<LayerNormOp>([&](LayerNormOp n) {
        c.flopsOther =
            (5 + (n.getScale() ? 1 : 0) + (n.getBias() ? 1 : 0) +
             (n.getModScale() ? 1 : 0) + (n.getModShift() ? 1 : 0) +
             (n.getModScaleOffset() ? 1 : 0)) *
            outElems;
      })
      .Case<GroupNormOp>([&](auto) { c.flopsOther = 7 * outElems; })
      .Case<RmsNormOp>([&](RmsNormOp n) {
        c.flopsOther = (3 + (n.getScale() ? 1 : 0)) * outElems;
      })
      .Case<RopeOp>([&](RopeOp r) {
        int64_t d = shapeOf(r.getInput()).back();
        int64_t w = shapeOf(r.getCos()).back();
        c.flopsOther = d ? 3 * (outElems / d) * w : 0;
      })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp>(
          [&](Operation *o) {
        c.flopsOther = elements(o->getOperand(0));
      })
      .Case<ArgMaxOp, ArgMinOp, CumSumOp>(
          [&](Operation *o) { c.flopsOther = elements(o->getOperand(0)); })
      .Case<DetOp>([&](DetOp d) {
        // Elimination: about 2/3 n^3 per matrix.
        int64_t n = shapeOf(d.getInput()).back();
        c.flopsOther = outElems * (2 * n * n * n / 3 + n);
      })
      .Case<PoolOp>([&](PoolOp p) {
        int64_t window = 1;
        for (int64_t k : p.getKernelShape())
          window *= k;
        c.flopsOther = outElems * window;
      })
      .Case<ScatterElementsOp, ScatterNdOp>(
          [&](Operation *o) { c.flopsOther = elements(o->getOperand(2)); })
      .Case<GridSampleOp>([&](GridSampleOp g) {
        // Per output element: the corner weights and one product per
        // corner (2^rank corners; 4^rank for cubic).
        int64_t r = shapeOf(g.getGrid()).back();
        int64_t base = g.getMode() == GridSampleMode::cubic ? 4 : 2;
        int64_t corners = 1;
        for (int64_t i = 0; i < r; ++i)
          corners *= base;
        c.flopsOther = outElems * 2 * corners;
      })
      .Case<ConvTransposeOp>([&](ConvTransposeOp t) {
        // Every input element meets every kernel tap of its group's outputs.
        ArrayRef<int64_t> w = shapeOf(t.getWeight());
        int64_t taps = w[1];
        for (int64_t k : w.drop_front(2))
          taps *= k;
        c.flopsMatrix = 2 * elements(t.getInput()) * taps;
      })
      .Case<MatmulOp>([&](MatmulOp m) {
        ArrayRef<int64_t> a = shapeOf(m.getLhs());
        int64_t k = a.empty() ? 1 : a.back();
        c.flopsMatrix = 2 * outElems * k;
        // A rank-2 right side is one product over all the left rows.
        if (a.size() >= 2)
          c.matrixRows = shapeOf(m.getRhs()).size() == 2
                             ? elements(m.getLhs()) / std::max<int64_t>(k, 1)
                             : a[a.size() - 2];
      })
      .Case<LinearOp>([&](LinearOp l) {
        int64_t k = std::max<int64_t>(shapeOf(l.getInput()).back(), 1);
        c.matrixRows = elements(l.getInput()) / k;
        c.flopsMatrix = 2 * outElems * shapeOf(l.getInput()).back();
        if (l.getBias())
          c.flopsOther = outElems;
        // A fused activation: its arithmetic, and none of its traffic.
        if (auto act = l.getActivation())
          c.flopsOther += (*act == Activation::silu ? kSiluFlops : kGeluFlops) * outElems;
      })
      .Case<ConvOp>([&](ConvOp cv) {
        ArrayRef<int64_t> w = shapeOf(cv.getWeight());
        c.flopsMatrix = 2 * outElems * product(w.drop_front());
        if (cv.getBias())
          c.flopsOther = outElems;
      })
      .Case<EinsumOp>([&](EinsumOp e) { einsumCost(e, c); })
      .Case<AllReduceOp, AllGatherOp, ReduceScatterOp, AllToAllOp>([&](Operation *o) {
        FailureOr<Mesh> mesh = Mesh::of(o);
        auto axes = o->getAttrOfType<ArrayAttr>("axes");
        c.commGroup = succeeded(mesh) ? mesh->groupSize(axes) : 1;
        c.commSpan = succeeded(mesh) ? mesh->span(axes) : 1;
        if (axes)
          c.commGroups = groupsOf(mesh, axes.getValue());
        // Sized as collectiveBytesSent expects: the whole reduced tensor,
        // the gathered result, the scattered input, the send buffer.
        CollectiveKind kind = isa<AllReduceOp>(o)       ? CollectiveKind::AllReduce
                              : isa<AllGatherOp>(o)     ? CollectiveKind::AllGather
                              : isa<ReduceScatterOp>(o) ? CollectiveKind::ReduceScatter
                                                        : CollectiveKind::AllToAll;
        c.commKind = (int)kind;
        c.commBytes = isa<AllGatherOp>(o) ? tensorBytes(o->getResult(0).getType())
                                          : tensorBytes(o->getOperand(0).getType());
        c.commBytesSent = collectiveBytesSent(kind, c.commBytes, c.commGroup);
        if (isa<AllReduceOp, ReduceScatterOp>(o))
          c.flopsOther = elements(o->getOperand(0));
        c.packBytes = collectivePackBytes(o, c.commGroup);
      })
      .Case<SendOp, CollectiveBroadcastOp>([&](Operation *o) {
        FailureOr<Mesh> mesh = Mesh::of(o);
        auto axes = o->getAttrOfType<ArrayAttr>("axes");
        c.commGroup = succeeded(mesh) ? mesh->groupSize(axes) : 1;
        c.commSpan = succeeded(mesh) ? mesh->span(axes) : 1;
        if (axes)
          c.commGroups = groupsOf(mesh, axes.getValue());
        CollectiveKind kind =
            isa<SendOp>(o) ? CollectiveKind::SendRecv : CollectiveKind::Broadcast;
        c.commKind = (int)kind;
        c.commBytes = tensorBytes(o->getOperand(0).getType());
        c.commBytesSent = collectiveBytesSent(kind, c.commBytes, c.commGroup);
      })
      .Case<RingAttentionOp>([&](RingAttentionOp a) {
        FailureOr<Mesh> mesh = Mesh::of(a);
        int64_t p = succeeded(mesh) ? mesh->groupSize(a.getAxes()) : 1;
        // Sizes as [B, H, S, D] whatever the layout.
        std::array<int64_t, 4> q = a.headSizes(AttentionOp::kQuery),
                               v = a.headSizes(AttentionOp::kValue);
        int64_t bh = q[0] * q[1], sq = q[2], d = q[3], sk = v[2] * p, dv = v[3];
        int64_t scores = bh * sq * sk;
        c.flopsMatrix = 2 * scores * (d + dv);
        c.flopsOther = 5 * scores + outElems;
        // Every K/V block but its own passes through each rank once.
        int64_t block = tensorBytes(a.getKey().getType()) + tensorBytes(a.getValue().getType());
        c.commKind = (int)CollectiveKind::RingExchange;
        c.commGroup = p;
        c.commSpan = succeeded(mesh) ? mesh->span(a.getAxes()) : 1;
        c.commGroups = groupsOf(mesh, a.getAxes().getValue());
        c.commBytes = p * block;
        c.commBytesSent = collectiveBytesSent(CollectiveKind::RingExchange, c.commBytes, p);
        c.ringBlocks = p;
        // Rows of the result (their log-sum-exps) and the element's bytes.
        int64_t rows = outElems / std::max<int64_t>(dv, 1);
        int64_t width = a.getType().getElementType().getIntOrFloatBitWidth() / 8;
        if (p > 1) {
          // The runtime's own passes beside its P block kernels, per rank.
          // Blocks attended to in f32 (the CPU in any dtype, the GPU in
          // f32): the f32 merges of P - 1 partial results (each reads both
          // outputs and log-sum-exps and writes one), this rank's K and V
          // copied into the block that travels, and in a 16-bit type q and
          // every block widened to f32 (2 bytes read, 4 written per
          // element) and the result narrowed once.
          c.ringPassBytes = (p - 1) * 3 * (outElems + rows) * 4 + 2 * block;
          c.ringPassBytesNarrow = c.ringPassBytes;
          if (width == 2) {
            int64_t blockElems = block / width;
            c.ringPassBytes += 6 * (elements(a.getQuery()) + p * blockElems + outElems);
            // The GPU in a 16-bit type (runtime/cuda/ring_attention.cpp):
            // q and the blocks stay narrow and each block's partial result
            // is written in the dtype. The first is widened into the f32
            // running result (2 + 4 bytes per element), each later one
            // merged (its 2 and the running 4 read, 4 written, and per row
            // two log-sum-exps read and one written), the copy as above,
            // and the running result narrowed once (4 + 2).
            c.ringPassBytesNarrow = 6 * outElems +
                                    (p - 1) * (10 * outElems + 12 * rows) +
                                    2 * block + 6 * outElems;
          }
        }
        // A double ring: O outer rounds of I - 1 inner transfers, and O - 1
        // on the outer ring (the group's size and span are the outer ring's).
        if (ArrayAttr inner = a.getInnerAttr(); inner && succeeded(mesh)) {
          auto outer = ArrayAttr::get(a.getContext(),
                                      a.getAxes().getValue().drop_back(inner.size()));
          int64_t in = mesh->groupSize(inner), out = mesh->groupSize(outer);
          c.commGroup = out;
          c.commSpan = mesh->span(outer);
          c.commGroups = groupsOf(mesh, outer.getValue());
          c.commInnerGroup = in;
          c.commInnerSpan = mesh->span(inner);
          c.commInnerGroups = groupsOf(mesh, inner.getValue());
          c.commInnerBytesSent = out * (in - 1) * block;
        }
        if (p > 1) {
          // The runtime's scratch for the call, outside the arena (kept by
          // each thread and grown to its largest call): the K/V blocks the
          // rounds hold (this rank's, and one more per ring it passes them
          // on: four for a double ring; ring_schedule.h) and one landed on
          // the GPU, the running and the block's results and log-sum-exps
          // in f32, and in a 16-bit type q and a block widened (the CPU's).
          // The larger of the two runtimes' (runtime/src and
          // runtime/cuda/ring_attention.cpp), each piece rounded up to 64.
          auto up = [](int64_t b) { return (b + 63) / 64 * 64; };
          int64_t in = c.commInnerGroup, out = c.commGroup;
          int64_t held = 1 + (out > 1) + (in > 1) + (in > 1 && out > 1);
          c.scratchBytes = (held + 1) * up(block) + 2 * up(rows * 4) + 2 * up(outElems * 4);
          if (width == 2)
            c.scratchBytes += up(elements(a.getQuery()) * 4) + up(block / 2 * 4);
        }
      })
      .Case<AttentionOp>([&](AttentionOp a) {
        std::array<int64_t, 4> q = a.headSizes(AttentionOp::kQuery);
        std::array<int64_t, 4> v = a.headSizes(AttentionOp::kValue);
        int64_t bh = q[0] * q[1], sq = q[2], d = q[3];
        int64_t sk = v[2], dv = v[3];
        int64_t scores = bh * sq * sk;
        c.flopsMatrix = 2 * scores * (d + dv);
        c.flopsOther = 5 * scores + outElems;
        if (a.getMask() && !typeOf(a.getMask()).getElementType().isInteger(1))
          c.flopsOther += scores;
        if (a.getCausal() && sq * sk > 0) {
          // Query rows a chunk loop cuts (query_offset): on average over
          // the loop, the share of the whole rows' scores.
          int64_t rows = sq;
          if (Value off = a.getQueryOffset()) {
            auto root = off.getDefiningOp<ChunkOffsetOp>();
            while (root && root.getBase())
              root = root.getBase().getDefiningOp<ChunkOffsetOp>();
            if (root)
              rows = cast<ChunkOp>(root->getParentOp()).wholeSize(root.getStride());
          }
          c.matrixFraction = double(causalKept(rows, sk)) / double(rows * sk);
        }
      });
  return c;
}

Profile::Profile(Operation *moduleOrFunc, AnalysisManager &am) {
  compute(moduleOrFunc, am.getAnalysis<MemoryPlan>());
}

Profile::Profile(Operation *moduleOrFunc, int64_t rank, int64_t schedule) {
  MemoryPlan plan(moduleOrFunc);
  compute(moduleOrFunc, plan, rank, schedule);
}

Profile::OpIndices::OpIndices(Operation *moduleOrFunc) {
  if (func::FuncOp func = getMainFunc(moduleOrFunc)) {
    stage = stagesOf(func.getBody().front());
    schedule = schedulesOf(func.getBody().front());
  }
}

Profile::Profile(Operation *moduleOrFunc, const MemoryPlan &plan, int64_t rank,
                 int64_t schedule, const OpIndices *indices) {
  compute(moduleOrFunc, plan, rank, schedule, indices);
}

void Profile::compute(Operation *moduleOrFunc, const MemoryPlan &plan, int64_t rank,
                      int64_t schedule, const OpIndices *indices) {
  func::FuncOp func = getMainFunc(moduleOrFunc);
  if (!func || !plan.isValid())
    return;
  valid = true;
  // Pipeline stages: the rank runs the ops of its stage and those of every
  // stage (-1).
  FailureOr<Mesh> mesh = Mesh::of(func);
  int64_t stage = succeeded(mesh) ? mesh->coordAt(rank, mesh->stageAxis()) : -1;
  std::optional<OpIndices> own;
  if (!indices)
    indices = &own.emplace(func);
  const llvm::DenseMap<Operation *, int64_t> &stageOf = indices->stage;
  // Two schedules (PipeFusion): a call runs the ops of one of them.
  const llvm::DenseMap<Operation *, int64_t> &scheduleOf = indices->schedule;
  sums.twoSchedules = llvm::any_of(scheduleOf, [](auto p) { return p.second >= 0; });
  sums.schedule = sums.twoSchedules ? schedule : -1;
  if (auto module = func->getParentOfType<ModuleOp>())
    if (auto m = module->getAttrOfType<IntegerAttr>(kMicrobatchesAttr))
      sums.microbatches = std::max<int64_t>(1, m.getInt());

  // Parameters: each weight once by name, each distinct constant once.
  llvm::StringSet<> seenWeights;
  llvm::DenseSet<Attribute> seenConstants;
  auto firstRead = [&](Value v, int64_t &elems, int64_t &bytes) {
    Operation *def = v.getDefiningOp();
    bool fresh = false;
    if (auto w = dyn_cast_or_null<WeightOp>(def))
      fresh = seenWeights.insert(w.getName()).second;
    else if (auto k = dyn_cast_or_null<ConstantOp>(def))
      fresh = seenConstants.insert(k.getValue()).second;
    if (fresh) {
      elems += elements(v);
      bytes += tensorBytes(v.getType());
    }
  };

  Block &body = func.getBody().front();
  for (auto [k, step] : llvm::enumerate(plan.steps())) {
    // A chunk loop's body ops run where and when the loop does.
    Operation *top = topLevelOp(body, step.op);
    if (stage >= 0) {
      int64_t s = stageOf.lookup(top);
      if (s >= 0 && s != stage)
        continue;
    }
    if (int64_t s = scheduleOf.lookup(top); s >= 0 && s != sums.schedule)
      continue;
    OpCost c = costOf(step.op);
    c.step = k;
    for (Operation *o = step.op->getParentOp(); o && o != func; o = o->getParentOp())
      if (auto loop = dyn_cast<ChunkOp>(o))
        c.repeats *= loop.getCount();
    c.flopsMatrix *= c.repeats;
    c.flopsOther *= c.repeats;
    c.bytesRead *= c.repeats;
    c.bytesWritten *= c.repeats;
    // A broadcast runs as a chain root, root+1, ...: the last sends nothing.
    if (auto bc = dyn_cast<CollectiveBroadcastOp>(step.op); bc && succeeded(mesh)) {
      int64_t me = 0;
      for (auto [i, a] : llvm::enumerate(mesh->axes))
        if (llvm::any_of(bc.getAxes(), [&](Attribute n) {
              return cast<StringAttr>(n).getValue() == a;
            }))
          me = me * mesh->shape[i] + mesh->coordOf(rank, a);
      if ((me - bc.getRoot() + c.commGroup) % c.commGroup == c.commGroup - 1)
        c.commBytesSent = 0;
    }
    c.liveBytes = step.liveBytes;
    if (auto why = step.op->getAttrOfType<StringAttr>(kReplicatedAttr)) {
      c.replicated = why.str();
      sums.replicatedFlops += c.flops();
    }
    for (Value v : step.op->getOperands())
      firstRead(v, c.paramElements, c.paramBytes);
    sums.flopsMatrix += c.flopsMatrix;
    sums.flopsOther += c.flopsOther;
    sums.bytesRead += c.bytesRead;
    sums.bytesWritten += c.bytesWritten;
    sums.irParamElements += c.paramElements;
    sums.irParamBytes += c.paramBytes;
    if (c.commKind >= 0) {
      sums.commBytesSent[c.commKind] += c.commBytesSent;
      sums.commCalls[c.commKind] += 1;
    }
    sums.scratchBytes = std::max(sums.scratchBytes, c.scratchBytes);
    costs.push_back(c);
  }
  // Parameters returned directly (never read by a step).
  Operation *ret = func.getBody().front().getTerminator();
  for (Value v : ret->getOperands())
    firstRead(v, sums.irParamElements, sums.irParamBytes);

  for (Type t : func.getArgumentTypes())
    sums.inputBytes += tensorBytes(t);
  for (Type t : func.getResultTypes())
    sums.outputBytes += tensorBytes(t);
  sums.arenaBytes = plan.arenaBytes();
  sums.peakLiveBytes = plan.peakLiveBytes();
  sums.peakStep = plan.peakArenaStep();
  sums.kvCacheBytes = plan.kvCacheBytesTotal();
  if (stage >= 0 || sums.twoSchedules) {
    // Positions in ops() are this stage's (and schedule's) ops only: their
    // own peak.
    sums.peakStep = -1;
    for (auto [k, c] : llvm::enumerate(costs))
      if (sums.peakStep < 0 || c.liveBytes > costs[sums.peakStep].liveBytes)
        sums.peakStep = k;
    if (sums.twoSchedules)
      sums.peakLiveBytes = sums.peakStep >= 0 ? costs[sums.peakStep].liveBytes : 0;
  }

  Operation *module = func->getParentOp();
  if (module) {
    if (auto a = module->getAttrOfType<IntegerAttr>(kInitializerElementsAttr))
      sums.sourceParamElements = a.getInt();
    if (auto a = module->getAttrOfType<IntegerAttr>(kInitializerBytesAttr))
      sums.sourceParamBytes = a.getInt();
  }
}
