//===- PipelineStages.cpp - cut the per-rank program into pipeline stages -===//
//
// Under a plan with pp=P (mesh axis "pp"), the partitioned program is cut
// into P stages of consecutive ops. The cuts balance the FLOPs of the stages
// (MAP's costOf) and, within a quarter of a stage's work of each balanced
// point, go where the fewest activation bytes cross (between transformer
// blocks only the residual stream does). Every op gets `ditc.stage`; a value
// read in a later stage is sent at the end of its own stage and received at
// the start of each stage that reads it (sends ordered by destination stage,
// receives by source stage, so blocking sends cannot deadlock); outputs are
// broadcast from the stage that computes them to every stage. Weights get
// `ditc.stages`, the stages that read them: only those ranks' weight files
// hold them.
//
//===----------------------------------------------------------------------===//

#include "passes/Parallel/Passes.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "passes/Analysis/Profile.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <map>
#include <set>

namespace mlir::ditc {
#define GEN_PASS_DEF_PIPELINESTAGESPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

bool isSource(Operation *op) { return isa<WeightOp, ConstantOp>(op); }

struct PipelineStagesPass : ditc::impl::PipelineStagesPassBase<PipelineStagesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Mesh> mesh = Mesh::of(module);
    if (failed(mesh))
      return signalPassFailure();
    int64_t axis = mesh->indexOf(kStageAxis);
    if (axis < 0)
      return;
    int64_t stages = mesh->shape[axis];
    auto fn = module.lookupSymbol<func::FuncOp>("main");
    if (!fn) {
      module.emitError("expected func.func @main");
      return signalPassFailure();
    }
    if (failed(cut(fn, stages)))
      signalPassFailure();
  }

  LogicalResult cut(func::FuncOp fn, int64_t stages) {
    Block &body = fn.getBody().front();
    Operation *ret = body.getTerminator();
    // The ops that compute (or view): what the stages divide.
    SmallVector<Operation *> work;
    for (Operation &op : body)
      if (&op != ret && !isSource(&op))
        work.push_back(&op);
    int64_t n = work.size();
    if (n < stages)
      return fn.emitError("pp=") << stages << " needs at least " << stages
                                 << " ops to put in stages; the graph has " << n;
    llvm::DenseMap<Operation *, int64_t> index;
    for (auto [i, op] : llvm::enumerate(work))
      index[op] = i;

    // prefix[i]: the work before op i (every op counts at least 1, so that
    // each stage gets some); crossing[i]: activation bytes live across a cut
    // before op i.
    SmallVector<double> prefix(n + 1, 0.0);
    for (int64_t i = 0; i < n; ++i)
      prefix[i + 1] = prefix[i] + 1.0 + double(costOf(work[i]).flops());
    SmallVector<int64_t> delta(n + 2, 0);
    for (int64_t i = 0; i < n; ++i)
      for (Value r : work[i]->getResults()) {
        int64_t last = i;
        for (Operation *u : r.getUsers())
          if (u != ret)
            last = std::max(last, index.lookup(u));
        if (last > i) {
          int64_t bytes = tensorBytes(r.getType());
          delta[i + 1] += bytes;
          delta[last + 1] -= bytes;
        }
      }
    SmallVector<int64_t> crossing(n + 1, 0);
    for (int64_t i = 1; i <= n; ++i)
      crossing[i] = crossing[i - 1] + delta[i];

    // Cut k (before op cuts[k]) near k/P of the work, where least crosses.
    double total = prefix[n], window = total / (4.0 * stages);
    SmallVector<int64_t> cuts = {0};
    for (int64_t k = 1; k < stages; ++k) {
      double target = total * k / stages;
      int64_t lo = cuts.back() + 1, hi = n - (stages - k); // leave ops for the rest
      int64_t best = -1;
      for (int64_t i = lo; i <= hi; ++i) {
        double off = std::abs(prefix[i] - target);
        if (off > window)
          continue;
        if (best < 0 || crossing[i] < crossing[best] ||
            (crossing[i] == crossing[best] && off < std::abs(prefix[best] - target)))
          best = i;
      }
      if (best < 0) // one op holds more than the window: the nearest cut
        for (int64_t i = lo; i <= hi; ++i)
          if (best < 0 || std::abs(prefix[i] - target) < std::abs(prefix[best] - target))
            best = i;
      cuts.push_back(best);
    }
    cuts.push_back(n);

    OpBuilder b(fn.getContext());
    auto stageAttr = [&](int64_t s) { return b.getI64IntegerAttr(s); };
    llvm::DenseMap<Operation *, int64_t> stageOf;
    for (int64_t s = 0; s < stages; ++s)
      for (int64_t i = cuts[s]; i < cuts[s + 1]; ++i) {
        stageOf[work[i]] = s;
        work[i]->setAttr(kStageAttr, stageAttr(s));
      }

    // Values read in later stages: (source stage, destination stage) ->
    // values in program order.
    std::map<std::pair<int64_t, int64_t>, SmallVector<Value>> moves;
    for (Operation *op : work)
      for (Value r : op->getResults()) {
        std::set<int64_t> later;
        for (Operation *u : r.getUsers())
          if (u != ret && stageOf.lookup(u) > stageOf.lookup(op))
            later.insert(stageOf.lookup(u));
        for (int64_t t : later)
          moves[{stageOf.lookup(op), t}].push_back(r);
      }
    ArrayAttr ppAxes = b.getStrArrayAttr({kStageAxis});
    int64_t tag = 0;
    // At each boundary s | s+1: the sends of stage s (by destination), then
    // the receives of stage s+1 (by source).
    for (int64_t s = 0; s + 1 < stages; ++s) {
      b.setInsertionPoint(work[cuts[s + 1]]);
      for (auto &[key, values] : moves) {
        if (key.first != s)
          continue;
        for (auto [k, v] : llvm::enumerate(values)) {
          auto send = SendOp::create(b, v.getLoc(), v, ppAxes, key.second,
                                     tag + (int64_t)k);
          send->setAttr(kStageAttr, stageAttr(s));
        }
        tag += values.size();
      }
    }
    // Tags again, in the same order, for the receives.
    tag = 0;
    std::map<std::pair<int64_t, int64_t>, int64_t> firstTag;
    for (int64_t s = 0; s + 1 < stages; ++s)
      for (auto &[key, values] : moves)
        if (key.first == s) {
          firstTag[key] = tag;
          tag += values.size();
        }
    for (int64_t t = 1; t < stages; ++t) {
      b.setInsertionPoint(work[cuts[t]]);
      for (auto &[key, values] : moves) {
        if (key.second != t)
          continue;
        for (auto [k, v] : llvm::enumerate(values)) {
          auto recv = RecvOp::create(b, v.getLoc(), v.getType(), ppAxes, key.first,
                                     firstTag[key] + (int64_t)k);
          recv->setAttr(kStageAttr, stageAttr(t));
          v.replaceUsesWithIf(recv.getResult(), [&](OpOperand &use) {
            auto a = use.getOwner()->getAttrOfType<IntegerAttr>(kStageAttr);
            return !isa<SendOp>(use.getOwner()) && a && a.getInt() == t;
          });
        }
      }
    }

    // Outputs: from their stage to every stage.
    b.setInsertionPoint(ret);
    llvm::DenseMap<Value, Value> broadcast;
    for (OpOperand &o : ret->getOpOperands()) {
      Operation *def = o.get().getDefiningOp();
      if (!def || !stageOf.count(def))
        continue;
      Value &out = broadcast[o.get()];
      if (!out) {
        auto bc = CollectiveBroadcastOp::create(b, o.get().getLoc(), o.get().getType(),
                                                o.get(), ppAxes, stageOf.lookup(def));
        bc->setAttr(kStageAttr, stageAttr(-1));
        out = bc.getResult();
      }
      o.set(out);
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
};

} // namespace
