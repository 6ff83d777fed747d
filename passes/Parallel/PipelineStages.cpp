//===- PipelineStages.cpp - cut the per-rank program into pipeline stages -===//
//
// Under a plan with pp=P (a stage axis), the partitioned program is cut
// into P stages of consecutive ops. The cuts balance the FLOPs of the stages
// (MAP's costOf) and, within a quarter of a stage's work of each balanced
// point, go where the fewest activation bytes cross (between transformer
// blocks only the residual stream does); given the machine's prices of a
// message in FLOPs of its matrix rate (`flops-per-byte`, `flops-per-message`:
// the stage link's bandwidth and latency), where the work it moves off the
// even split plus its messages' price (a message per value per micro-batch
// or patch) is least. A cut never separates a linear
// layer from the GELU or SiLU that code generation makes its epilogue
// (-ditc-legalize-runtime): the same bytes would cross, and in 16-bit types
// the stages would round the product where one device does not.
//
// Micro-batches keep the stages busy: when the batch can be cut (dimension 0
// of the inputs and outputs is one dimension that every op computes row by
// row), the program runs as M micro-batches one after another, M the largest
// divisor of the batch up to 2P. Each op is cloned once per micro-batch; a
// stage runs micro-batch 0, sends its results on and goes on with
// micro-batch 1 while the next stage works on micro-batch 0.
//
// Every op gets `ditc.stage`. A value read in a later stage is sent at the
// end of its (stage, micro-batch) segment and received at the start of
// the first segment of each stage that reads it, in one global order that
// every rank's sends and receives follow, so blocking sends cannot
// deadlock (placeMessages).
//
// PipeFusion (a stage axis of kind pipefusion) gets two schedules, the
// synchronous one and the stale, patch-pipelined one (PatchSchedule.cpp),
// their ops marked ditc.schedule and their outputs joined by
// ditc.schedule_select. Outputs are broadcast from the
// stage that computes them to every stage. Weights get `ditc.stages`, the
// stages that read them: only those ranks' weight files hold them.
//
//===----------------------------------------------------------------------===//

#include "passes/Parallel/DimClasses.h"
#include "passes/Parallel/Passes.h"
#include "passes/Parallel/Stages.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/Profile.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <map>
#include <numeric>
#include <set>

namespace mlir::ditc {
#define GEN_PASS_DEF_PIPELINESTAGESPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

bool isSource(Operation *op) { return isa<WeightOp, ConstantOp>(op); }
bool isStale(Operation *op) {
  auto s = op->getAttrOfType<IntegerAttr>(kScheduleAttr);
  return s && s.getInt() == 1;
}

/// The (value, dimension) pairs of the batch when `fn` computes row by row
/// along it: dimension 0 of the first output, in a class no op needs whole,
/// holding no weight or constant and at most one dimension of each value,
/// every dimension of it of the batch's size. Empty otherwise.
SmallVector<std::pair<Value, unsigned>> batchDims(func::FuncOp fn, int64_t &batch) {
  Operation *ret = fn.getBody().front().getTerminator();
  batch = 0;
  if (ret->getNumOperands() == 0)
    return {};
  Value out = ret->getOperand(0);
  if (shapeOf(out).empty() || shapeOf(out)[0] < 2)
    return {};
  DimClasses classes(fn, /*parallelOnly=*/false, /*joinedMeasures=*/true);
  unsigned cls = classes.classOf(out, 0);
  if (classes.isPinned(cls))
    return {};
  int64_t b = shapeOf(out)[0];
  SmallVector<std::pair<Value, unsigned>> dims;
  llvm::DenseSet<Value> seen;
  for (auto [v, d] : classes.members(cls)) {
    if (shapeOf(v)[d] == 1)
      continue;
    Operation *def = v.getDefiningOp();
    if (shapeOf(v)[d] != b || (def && isSource(def)) || !seen.insert(v).second)
      return {};
    dims.push_back({v, d});
  }
  // Every output must be cut along it (or be a source or an input).
  for (Value o : ret->getOperands())
    if (o.getDefiningOp() && !isSource(o.getDefiningOp()) && !seen.contains(o))
      return {};
  batch = b;
  return dims;
}

struct PipelineStagesPass : ditc::impl::PipelineStagesPassBase<PipelineStagesPass> {
  using PipelineStagesPassBase::PipelineStagesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Mesh> mesh = Mesh::of(module);
    if (failed(mesh))
      return signalPassFailure();
    int64_t axis = mesh->stageAxis();
    if (axis < 0)
      return;
    int64_t stages = mesh->shape[axis];
    auto fn = module.lookupSymbol<func::FuncOp>("main");
    if (!fn) {
      module.emitError("expected func.func @main");
      return signalPassFailure();
    }
    // PipeFusion: no micro-batches; the synchronous schedule (warm-up: the
    // whole image through the stages) and the stale, patch-pipelined one
    // (PatchSchedule.cpp).
    pipefusion = mesh->kinds[axis] == MeshAxisKind::pipefusion;
    // A step cache decides ahead: the stages after the first cannot wait
    // for its measure (ditc.cache_decide's `stale`).
    module.walk([](CacheDecideOp d) { d.setStale(true); });
    key = mesh->axes[axis];
    if (auto p = module->getAttrOfType<IntegerAttr>(kPatchesAttr))
      patches = p.getInt();
    if (failed(cut(fn, stages)))
      signalPassFailure();
  }
  bool pipefusion = false;
  int64_t patches = 1;
  std::string key;
  /// The joins of the micro-batches' rows that a step cache measures.
  llvm::DenseSet<Operation *> measureJoins;

  /// Each output computed in a stage, broadcast from there to every rank
  /// (ditc.schedule `schedule` when >= 0).
  void broadcastOutputs(Operation *ret, int64_t schedule);

  /// Whether a machine prices the messages crossing a cut (else: the fewest
  /// bytes near an even split).
  bool priced() const { return flopsPerByte > 0 || flopsPerMessage > 0; }
  /// One op's share of a stage: its FLOPs (every op counts at least one, so
  /// that each stage gets some). Not its predicted time: code generation
  /// later fuses and drops ops (epilogues, the transposes an attention's
  /// layout absorbs), whose fixed costs would weigh on a small graph here.
  double opWork(Operation *op) const { return 1.0 + double(costOf(op).flops()); }

  /// Stage of each op of `work` (program order): P runs of consecutive ops.
  /// A value crossing a cut is `messagesPerValue` messages a step.
  SmallVector<int64_t> assignStages(ArrayRef<Operation *> work, Operation *ret,
                                    int64_t stages, int64_t messagesPerValue);
  /// Clones the ops of `fn` once per micro-batch (rows of `dims` divided by
  /// m); returns the clones of each op of `work`, per micro-batch.
  SmallVector<SmallVector<Operation *>> unroll(func::FuncOp fn, ArrayRef<Operation *> work,
                                               ArrayRef<std::pair<Value, unsigned>> dims,
                                               int64_t m, SmallVector<Operation *> &inputs,
                                               SmallVector<Operation *> &outputs);
  LogicalResult cut(func::FuncOp fn, int64_t stages);
};

void PipelineStagesPass::broadcastOutputs(Operation *ret, int64_t schedule) {
  OpBuilder b(ret);
  llvm::DenseMap<Value, Value> broadcast;
  for (OpOperand &o : ret->getOpOperands()) {
    Operation *def = o.get().getDefiningOp();
    auto st = def ? def->getAttrOfType<IntegerAttr>(kStageAttr) : IntegerAttr();
    if (!st || st.getInt() < 0)
      continue;
    Value &out = broadcast[o.get()];
    if (!out) {
      auto bc = CollectiveBroadcastOp::create(b, o.get().getLoc(), o.get().getType(), o.get(),
                                              b.getStrArrayAttr({key}), st.getInt());
      bc->setAttr(kStageAttr, b.getI64IntegerAttr(-1));
      if (schedule >= 0)
        bc->setAttr(kScheduleAttr, b.getI64IntegerAttr(schedule));
      out = bc.getResult();
    }
    o.set(out);
  }
}

SmallVector<int64_t> PipelineStagesPass::assignStages(ArrayRef<Operation *> work,
                                                      Operation *ret, int64_t stages,
                                                      int64_t messagesPerValue) {
  int64_t n = work.size();
  llvm::DenseMap<Operation *, int64_t> index;
  for (auto [i, op] : llvm::enumerate(work))
    index[op] = i;
  // prefix[i]: the work before op i (every op counts at least 1, so that
  // each stage gets some); crossing[i]: activation bytes live across a cut
  // before op i.
  SmallVector<double> prefix(n + 1, 0.0);
  for (int64_t i = 0; i < n; ++i)
    prefix[i + 1] = prefix[i] + opWork(work[i]);
  // values[i]: how many values cross it (each a message of its own).
  SmallVector<int64_t> delta(n + 2, 0), deltaValues(n + 2, 0);
  for (int64_t i = 0; i < n; ++i)
    for (Value r : work[i]->getResults()) {
      int64_t last = i;
      for (Operation *u : r.getUsers())
        if (u != ret && index.count(u))
          last = std::max(last, index.lookup(u));
      if (last > i) {
        int64_t bytes = tensorBytes(r.getType());
        delta[i + 1] += bytes;
        delta[last + 1] -= bytes;
        ++deltaValues[i + 1];
        --deltaValues[last + 1];
      }
    }
  SmallVector<int64_t> crossing(n + 1, 0), values(n + 1, 0);
  for (int64_t i = 1; i <= n; ++i) {
    crossing[i] = crossing[i - 1] + delta[i];
    values[i] = values[i - 1] + deltaValues[i];
  }

  // apart[i]: a cut before op i would separate an op from the epilogue
  // -ditc-legalize-runtime folds into it (a linear layer's activation, a
  // layer norm's modulation); with the cut it would round where one
  // device does not.
  SmallVector<bool> apart(n + 1, false);
  for (int64_t i = 0; i < n; ++i) {
    Operation *user = nullptr;
    if (auto linear = dyn_cast<LinearOp>(work[i]))
      user = linear.getActivationUser();
    if (auto ln = dyn_cast<LayerNormOp>(work[i])) {
      LayerNormOp::Modulation m = ln.getModulation();
      user = m.add ? m.add : m.mul;
    }
    if (user && index.count(user))
      for (int64_t j = i + 1; j <= index.lookup(user); ++j)
        apart[j] = true;
  }

  // Cut k (before op cuts[k]) near k/P of the work, where least crosses.
  double total = prefix[n], window = total / (4.0 * stages);
  SmallVector<int64_t> cuts = {0};
  for (int64_t k = 1; k < stages; ++k) {
    double target = total * k / stages;
    int64_t lo = cuts.back() + 1, hi = n - (stages - k); // leave ops for the rest
    int64_t best = -1;
    // Priced, a cut costs the work it moves off the even split (the longer
    // stage's excess, every step) plus its messages' time on the stage
    // link, both in FLOPs of the machine.
    auto cost = [&](int64_t i) {
      return std::abs(prefix[i] - target) + double(crossing[i]) * flopsPerByte +
             double(values[i] * messagesPerValue) * flopsPerMessage;
    };
    for (int64_t i = lo; i <= hi; ++i) {
      double off = std::abs(prefix[i] - target);
      if (off > window || apart[i])
        continue;
      bool better = best < 0;
      if (!better && priced())
        better = cost(i) < cost(best);
      else if (!better)
        better = crossing[i] < crossing[best] ||
                 (crossing[i] == crossing[best] && off < std::abs(prefix[best] - target));
      if (better)
        best = i;
    }
    // One op holds more than the window: the nearest cut (that keeps
    // epilogues with their layers, when one does).
    for (bool any : {false, true}) {
      if (best >= 0)
        break;
      for (int64_t i = lo; i <= hi; ++i)
        if ((any || !apart[i]) &&
            (best < 0 || std::abs(prefix[i] - target) < std::abs(prefix[best] - target)))
          best = i;
    }
    cuts.push_back(best);
  }
  cuts.push_back(n);
  SmallVector<int64_t> stageOf(n);
  for (int64_t s = 0; s < stages; ++s)
    for (int64_t i = cuts[s]; i < cuts[s + 1]; ++i)
      stageOf[i] = s;
  return stageOf;
}

SmallVector<SmallVector<Operation *>>
PipelineStagesPass::unroll(func::FuncOp fn, ArrayRef<Operation *> work,
                           ArrayRef<std::pair<Value, unsigned>> dims, int64_t m,
                           SmallVector<Operation *> &inputs, SmallVector<Operation *> &outputs) {
  Block &body = fn.getBody().front();
  Operation *ret = body.getTerminator();
  llvm::DenseMap<Value, unsigned> batchDim(dims.begin(), dims.end());
  auto rowsOf = [&](Value v) {
    SmallVector<int64_t> shape(shapeOf(v));
    shape[batchDim.lookup(v)] /= m;
    return RankedTensorType::get(shape, cast<RankedTensorType>(v.getType()).getElementType());
  };
  OpBuilder b(ret);
  SmallVector<IRMapping> maps(m);
  // Graph inputs: each micro-batch's rows.
  for (BlockArgument a : body.getArguments()) {
    if (!batchDim.count(a))
      continue;
    unsigned d = batchDim.lookup(a);
    auto t = rowsOf(a);
    for (int64_t k = 0; k < m; ++k) {
      SmallVector<int64_t> offsets(t.getRank(), 0), steps(t.getRank(), 1);
      offsets[d] = k * t.getDimSize(d);
      auto slice = SliceOp::create(b, a.getLoc(), t, a, b.getDenseI64ArrayAttr(offsets),
                                   b.getDenseI64ArrayAttr(steps));
      inputs.push_back(slice);
      maps[k].map(a, slice.getResult());
    }
  }
  // The micro-batches' rows of `v` joined again.
  auto joinRows = [&](Value v) {
    SmallVector<Value> parts;
    for (int64_t k = 0; k < m; ++k)
      parts.push_back(maps[k].lookup(v));
    return ConcatOp::create(b, v.getLoc(), v.getType(), parts,
                            b.getI64IntegerAttr(batchDim.lookup(v)));
  };
  SmallVector<SmallVector<Operation *>> copies(m);
  for (int64_t k = 0; k < m; ++k)
    for (Operation *op : work) {
      // A step cache decides once, on every micro-batch's rows joined
      // (null in the other micro-batches' lists).
      if (auto d = dyn_cast<CacheDecideOp>(op)) {
        if (k + 1 < m) {
          copies[k].push_back(nullptr);
          continue;
        }
        IRMapping one;
        if (Value in = d.getInput(); batchDim.count(in)) {
          ConcatOp cat = joinRows(in);
          measureJoins.insert(cat);
          one.map(in, cat.getResult());
        } else {
          one.map(in, maps[k].lookupOrDefault(in));
        }
        copies[k].push_back(b.clone(*op, one));
        continue;
      }
      Operation *c = b.clone(*op, maps[k]);
      for (auto [r, cr] : llvm::zip(op->getResults(), c->getResults()))
        if (batchDim.count(r))
          cr.setType(rowsOf(r));
      copies[k].push_back(c);
    }
  // Outputs: the micro-batches' rows joined again.
  llvm::DenseMap<Value, Value> joined;
  for (OpOperand &o : ret->getOpOperands()) {
    Value v = o.get();
    if (!batchDim.count(v))
      continue;
    Value &j = joined[v];
    if (!j) {
      ConcatOp cat = joinRows(v);
      outputs.push_back(cat);
      j = cat.getResult();
    }
    o.set(j);
  }
  for (Operation *op : llvm::reverse(work))
    op->erase();
  return copies;
}

LogicalResult PipelineStagesPass::cut(func::FuncOp fn, int64_t stages) {
  Block &body = fn.getBody().front();
  Operation *ret = body.getTerminator();
  // The ops that compute (or view): what the stages divide.
  SmallVector<Operation *> work;
  for (Operation &op : body)
    if (&op != ret && !isSource(&op))
      work.push_back(&op);
  int64_t n = work.size();
  if (n < stages)
    return fn.emitError(key + "=") << stages << " needs at least " << stages
                                   << " ops to put in stages; the graph has " << n;
  // Micro-batches: the largest divisor of the batch up to 2P (or as asked).
  int64_t batch = 0, m = 1;
  SmallVector<std::pair<Value, unsigned>> dims;
  if (microbatches != 1 && !pipefusion)
    dims = batchDims(fn, batch);
  if (microbatches > 1 && batch > 0 && batch % microbatches == 0)
    m = microbatches;
  else if (microbatches <= 0)
    for (int64_t k = std::min<int64_t>(batch, 2 * stages); k > 1 && m == 1; --k)
      if (batch % k == 0)
        m = k;
  // A value crossing a cut is one message per micro-batch (per patch in
  // PipeFusion's stale steps).
  SmallVector<int64_t> stageOf = assignStages(work, ret, stages, pipefusion ? patches : m);
  if (m > 1)
    fn->getParentOfType<ModuleOp>()->setAttr(
        kMicrobatchesAttr, IntegerAttr::get(IntegerType::get(fn.getContext(), 64), m));
  SmallVector<Operation *> inputs, outputs;
  SmallVector<SmallVector<Operation *>> copies =
      m > 1 ? unroll(fn, work, dims, m, inputs, outputs) : SmallVector<SmallVector<Operation *>>{work};

  // Program order: the inputs' slices (every rank), then per stage its
  // micro-batches one after another; outputs joined in their stage.
  OpBuilder b(fn.getContext());
  auto stageAttr = [&](int64_t s) { return b.getI64IntegerAttr(s); };
  for (Operation *op : inputs)
    op->setAttr(kStageAttr, stageAttr(-1));
  SmallVector<Segment> segments;
  for (int64_t s = 0; s < stages; ++s)
    for (int64_t k = 0; k < m; ++k) {
      Segment seg{s, {}};
      for (auto [i, op] : llvm::enumerate(copies[k]))
        if (op && stageOf[i] == s) {
          // The micro-batches' rows a step cache's decision joins.
          if (Operation *cat = op->getOperand(0).getDefiningOp();
              isa<CacheDecideOp>(op) && measureJoins.contains(cat)) {
            cat->setAttr(kStageAttr, stageAttr(s));
            cat->moveBefore(ret);
            seg.ops.push_back(cat);
          }
          op->setAttr(kStageAttr, stageAttr(s));
          op->moveBefore(ret);
          seg.ops.push_back(op);
        }
      segments.push_back(std::move(seg));
    }
  for (Operation *op : outputs) {
    // The stage of the rows it joins (every micro-batch's is the same);
    // rows of an input (sliced on every rank) are joined on every rank.
    int64_t s = -1;
    for (Value v : op->getOperands())
      if (auto a = v.getDefiningOp()->getAttrOfType<IntegerAttr>(kStageAttr))
        s = std::max(s, a.getInt());
    if (s < 0) {
      op->setAttr(kStageAttr, stageAttr(-1));
      continue;
    }
    Segment &last = segments[s * m + m - 1];
    op->setAttr(kStageAttr, stageAttr(s));
    op->moveAfter(last.ops.back());
    last.ops.push_back(op);
  }

  // PipeFusion: the stale schedule beside the synchronous one (each op of
  // either carries ditc.schedule); without it every denoising step runs the
  // synchronous schedule.
  std::string why;
  FailureOr<StaleSchedule> stale = failure();
  if (pipefusion) {
    stale = buildStaleSchedule(fn, work, stageOf, stages, patches, why);
    if (failed(stale)) {
      fn.emitWarning("PipeFusion runs the synchronous schedule at every denoising step: ")
          << why;
    } else {
      // One segment per stage; the K/V buffer updates joined them.
      for (Segment &seg : segments)
        seg.ops.clear();
      for (Operation &op : body)
        if (auto st = op.getAttrOfType<IntegerAttr>(kStageAttr);
            st && st.getInt() >= 0 && !isStale(&op)) {
          op.setAttr(kScheduleAttr, b.getI64IntegerAttr(0));
          segments[st.getInt()].ops.push_back(&op);
        }
    }
  }
  int64_t tag = 0;
  if (failed(placeMessages(segments, ret, key, succeeded(stale) ? 0 : -1, tag, why)))
    return fn.emitError(why);
  if (failed(stale)) {
    broadcastOutputs(ret, -1);
  } else {
    if (failed(placeMessages(stale->segments, ret, key, 1, tag, why)))
      return fn.emitError(why);
    broadcastOutputs(ret, 0);
    SmallVector<Value> syncOut(ret->getOperands());
    ret->setOperands(stale->outputs);
    broadcastOutputs(ret, 1);
    b.setInsertionPoint(ret);
    for (auto [k, o] : llvm::enumerate(ret->getOpOperands())) {
      if (o.get() == syncOut[k])
        continue;
      auto sel = ScheduleSelectOp::create(b, o.get().getLoc(), syncOut[k].getType(),
                                          syncOut[k], o.get());
      sel->setAttr(kStageAttr, stageAttr(-1));
      sel->setAttr(kScheduleAttr, b.getI64IntegerAttr(-1));
      o.set(sel);
    }
    fn->getParentOfType<ModuleOp>()->setAttr(kKvCachesAttr,
                                              b.getI64IntegerAttr(stale->caches));
  }

  // Weights: the stages that read them (one set per name).
  llvm::StringMap<std::set<int64_t>> readers;
  SmallVector<WeightOp> weights;
  for (Operation &op : body)
    if (auto w = dyn_cast<WeightOp>(op)) {
      weights.push_back(w);
      std::set<int64_t> &s = readers[w.getName()];
      for (Operation *u : w->getUsers())
        if (auto a = u->getAttrOfType<IntegerAttr>(kStageAttr); a && a.getInt() >= 0)
          s.insert(a.getInt());
        else // returned whole or read by every stage
          for (int64_t k = 0; k < stages; ++k)
            s.insert(k);
    }
  for (WeightOp w : weights) {
    const std::set<int64_t> &s = readers[w.getName()];
    w->setAttr(kStagesAttr, b.getDenseI64ArrayAttr(SmallVector<int64_t>(s.begin(), s.end())));
  }
  return success();
}

} // namespace

LogicalResult mlir::ditc::placeMessages(ArrayRef<Segment> segments, Operation *ret,
                                        StringRef axis, int64_t schedule, int64_t &tag,
                                        std::string &why) {
  llvm::DenseMap<Operation *, int64_t> segmentOf;
  for (auto [i, seg] : llvm::enumerate(segments))
    for (Operation *op : seg.ops)
      segmentOf[op] = i;
  // A message: a value from segment `from` to the first segment `to` of a
  // later stage that reads it.
  struct Move {
    Value value;
    int64_t from, to;
  };
  SmallVector<Move> moves;
  for (auto [si, seg] : llvm::enumerate(segments))
    for (Operation *op : seg.ops)
      for (Value r : op->getResults()) {
        std::map<int64_t, int64_t> firstReader; // stage -> segment
        for (Operation *u : r.getUsers()) {
          auto it = segmentOf.find(u);
          if (u == ret || it == segmentOf.end() || segments[it->second].stage <= seg.stage)
            continue;
          auto [at, fresh] = firstReader.try_emplace(segments[it->second].stage, it->second);
          if (!fresh)
            at->second = std::min(at->second, it->second);
        }
        for (auto [stage, to] : firstReader)
          moves.push_back({r, (int64_t)si, to});
      }

  // One global order of the messages that every rank's sends and receives
  // follow: a rank runs its segments in list order, each as its receives,
  // its ops, its sends. Take, while any is left, the first message whose
  // sender and receiver have both reached its group.
  using Group = std::pair<int64_t, bool>; // (segment, sends)
  std::map<int64_t, SmallVector<Group>> timeline; // stage -> its groups in order
  for (auto [i, seg] : llvm::enumerate(segments)) {
    timeline[seg.stage].push_back({(int64_t)i, false});
    timeline[seg.stage].push_back({(int64_t)i, true});
  }
  std::map<Group, int64_t> pending;
  for (const Move &mv : moves) {
    ++pending[{mv.from, true}];
    ++pending[{mv.to, false}];
  }
  std::map<int64_t, size_t> at; // stage -> its current group
  auto advance = [&](int64_t stage) {
    size_t &k = at[stage];
    const SmallVector<Group> &t = timeline[stage];
    while (k < t.size() && pending[t[k]] == 0)
      ++k;
  };
  for (auto &[stage, groups] : timeline)
    advance(stage);
  auto reached = [&](int64_t seg, bool sends) {
    int64_t stage = segments[seg].stage;
    const SmallVector<Group> &t = timeline[stage];
    return at[stage] < t.size() && t[at[stage]] == Group{seg, sends};
  };
  SmallVector<int64_t> order;
  SmallVector<bool> taken(moves.size(), false);
  while (order.size() < moves.size()) {
    int64_t next = -1;
    for (auto [i, mv] : llvm::enumerate(moves))
      if (!taken[i] && reached(mv.from, true) && reached(mv.to, false)) {
        next = i;
        break;
      }
    if (next < 0) {
      why = "the pipeline stages' messages have no order that every rank can follow";
      return failure();
    }
    taken[next] = true;
    order.push_back(next);
    const Move &mv = moves[next];
    --pending[{mv.from, true}];
    --pending[{mv.to, false}];
    advance(segments[mv.from].stage);
    advance(segments[mv.to].stage);
  }

  OpBuilder b(ret->getContext());
  ArrayAttr axes = b.getStrArrayAttr({axis});
  auto mark = [&](Operation *op, int64_t stage) {
    op->setAttr(kStageAttr, b.getI64IntegerAttr(stage));
    if (schedule >= 0)
      op->setAttr(kScheduleAttr, b.getI64IntegerAttr(schedule));
  };
  llvm::DenseMap<int64_t, Operation *> lastSend, lastRecv;
  for (int64_t i : order) {
    Move mv = moves[i];
    const Segment &from = segments[mv.from], &to = segments[mv.to];
    int64_t t = tag++;
    Operation *&after = lastSend[mv.from];
    b.setInsertionPointAfter(after ? after : from.ops.back());
    auto send = SendOp::create(b, mv.value.getLoc(), mv.value, axes, to.stage, t);
    mark(send, from.stage);
    after = send;
    Operation *&before = lastRecv[mv.to];
    if (before)
      b.setInsertionPointAfter(before);
    else
      b.setInsertionPoint(to.ops.front());
    auto recv = RecvOp::create(b, mv.value.getLoc(), mv.value.getType(), axes, from.stage, t);
    mark(recv, to.stage);
    before = recv;
    mv.value.replaceUsesWithIf(recv.getResult(), [&](OpOperand &use) {
      auto it = segmentOf.find(use.getOwner());
      return it != segmentOf.end() && segments[it->second].stage == to.stage;
    });
  }
  return success();
}
