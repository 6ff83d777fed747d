//===- Chunk.cpp - AutoChunk: chunk loops under an activation budget ------===//
//
// `-ditc-chunk` brings the arena (the activation memory a rank allocates)
// under a budget by cutting regions of the schedule into chunk loops
// (`ditc.chunk`): the region's ops run once per chunk of one dimension, so
// its intermediates take 1/count of their space.
//
// Legality comes from the sharding rules. A chunked dimension flows through
// an op only along one of its parallel factors: every chunked dimension of
// the op's operands and results must lie in that factor, and then all of
// the factor's dimensions are chunked. A reduction factor (a linear layer's
// contraction), a dimension in no factor (a softmax or norm axis, attention's
// key tokens) or two different chunked dimensions of one value stop the
// flow. Ops whose operands are not chunked move in front of the loop (or
// behind it when the loop does not read them); weights and other whole
// values are read whole by every iteration. Collectives, K/V buffers, ops
// that depend on absolute positions along the chunked dimension (causal
// attention's query rows, a triangle's rows, blockwise token joins) and
// nested loops are refused.
//
// Search: while the arena exceeds the budget, take the op at its peak, seed
// a flow at each dimension of its largest tensors, grow a region of whole
// ops around it while the flow stays legal, and try chunk counts (powers of
// two that divide every chunked dimension) on each region. Each candidate is
// materialised on a copy of @main and planned by the MemoryPlan that code
// generation uses; the time model prices it (every op of the body launches
// `count` times; the loop copies the chunks of inputs that are not contiguous
// blocks and every result's chunks). The candidate that meets the budget in
// the least predicted time wins; when none does, the one with the smallest
// arena, and the search goes on at the new peak. Candidates are tried in a
// fixed order, so the result is deterministic.
//
//===----------------------------------------------------------------------===//

#include "passes/Transforms/Passes.h"
#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/MemoryPlan.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"

#include "dialects/Ditc/IR/DitcSharding.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/FormatVariadic.h"

#include <numeric>

namespace mlir::ditc {
#define GEN_PASS_DEF_CHUNKLEGALITYPASS
#define GEN_PASS_DEF_CHUNKPASS
#include "passes/Transforms/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// A legal chunked flow through a region of top-level ops.
struct Flow {
  /// The chunked dimension of every value the loop cuts: results of the
  /// loop's ops and the inputs it cuts.
  llvm::MapVector<Value, int64_t> dims;
  /// The ops that run in the loop, in block order.
  SmallVector<Operation *> loopOps;
};

std::string describe(Operation *op) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << op->getName() << "'";
  if (auto l = dyn_cast<FileLineColLoc>(op->getLoc()))
    os << " at " << l.getFilename() << ":" << l.getLine();
  else if (auto n = dyn_cast<NameLoc>(op->getLoc()))
    os << " '" << n.getName() << "'";
  return s;
}

/// Why `op` may not run in a chunk loop at all (empty: it may).
std::string refusedOp(Operation *op) {
  if (isa<WeightOp, ConstantOp>(op))
    return "";
  if (isa<ChunkOp>(op))
    return "it is a chunk loop already";
  if (isa<KvCacheUpdateOp, ScheduleSelectOp>(op))
    return "it keeps state across calls";
  if (isa<SendOp, RecvOp, RingAttentionOp, AllGatherOp, AllReduceOp, ReduceScatterOp,
          AllToAllOp, ShardOp, CollectiveBroadcastOp>(op))
    return "it communicates";
  if (!isa<ShardingRuleOpInterface>(op) || op->getNumRegions())
    return "it has no sharding rule";
  return "";
}

/// Grows `flow` from its seeds over `region` to a fixpoint. Fails with the
/// reason in `why`.
LogicalResult propagate(ArrayRef<Operation *> region, Flow &flow, std::string &why) {
  llvm::DenseSet<Operation *> inLoop;
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : region) {
      unsigned nOperands = op->getNumOperands();
      auto valueAt = [&](unsigned idx) {
        return idx < nOperands ? op->getOperand(idx) : op->getResult(idx - nOperands);
      };
      SmallVector<std::pair<unsigned, unsigned>, 4> pairs;
      for (unsigned i = 0; i < nOperands + op->getNumResults(); ++i)
        if (auto it = flow.dims.find(valueAt(i)); it != flow.dims.end())
          pairs.push_back({i, (unsigned)it->second});
      if (pairs.empty())
        continue;
      auto pairName = [&](std::pair<unsigned, unsigned> p) {
        return (p.first < nOperands ? "operand " + std::to_string(p.first)
                                    : "result " + std::to_string(p.first - nOperands)) +
               " dimension " + std::to_string(p.second);
      };
      if (std::string r = refusedOp(op); !r.empty() || isa<WeightOp, ConstantOp>(op)) {
        why = describe(op) + " cannot run in a chunk loop: " +
              (r.empty() ? std::string("it is a source") : r);
        return failure();
      }
      ShardingRule rule = cast<ShardingRuleOpInterface>(op).getShardingRule();
      const ShardingFactor *factor = nullptr;
      for (const ShardingFactor &f : rule.factors)
        if (llvm::is_contained(f.dims, pairs.front()))
          factor = &f;
      if (!factor || factor->kind == ShardingFactor::Kind::Reduction) {
        why = describe(op) + (factor ? " reduces over its " : " does not compute its ") +
              pairName(pairs.front()) + (factor ? "" : " independently");
        return failure();
      }
      for (auto p : pairs)
        if (!llvm::is_contained(factor->dims, p)) {
          why = describe(op) + " ties its " + pairName(p) + " to its " +
                pairName(pairs.front()) + ", which is chunked differently";
          return failure();
        }
      // Positions along the chunked dimension that the op reads.
      if (auto a = dyn_cast<AttentionOp>(op); a && a.getCausal() &&
                                              llvm::is_contained(factor->dims,
                                                                 std::make_pair(0u, 2u))) {
        why = describe(op) + " is causal: its query rows depend on their positions";
        return failure();
      }
      if (op->hasAttr(kTokenPiecesAttr))
        if (std::optional<unsigned> axis = tokenPiecesAxis(op))
          for (auto [idx, d] : factor->dims)
            if (d == *axis) {
              why = describe(op) + " joins or cuts token pieces along the chunked dimension";
              return failure();
            }
      for (auto [idx, d] : factor->dims) {
        auto [it, inserted] = flow.dims.insert({valueAt(idx), (int64_t)d});
        if (!inserted && it->second != (int64_t)d) {
          why = describe(op) + " needs its " + pairName({idx, d}) +
                " chunked, but that value is chunked along dimension " +
                std::to_string(it->second);
          return failure();
        }
        changed |= inserted;
      }
      for (Value r : op->getResults())
        if (!flow.dims.count(r)) {
          why = describe(op) + " has a result that is not chunked with its operands";
          return failure();
        }
      inLoop.insert(op);
    }
  }
  flow.loopOps.clear();
  for (Operation *op : region)
    if (inLoop.count(op))
      flow.loopOps.push_back(op);
  return success();
}

/// The largest count in `counts` (ascending powers of two) that divides
/// every chunked dimension: the gcd of their sizes.
int64_t chunkableSize(const Flow &flow) {
  int64_t g = 0;
  for (auto [v, d] : flow.dims)
    g = std::gcd(g, shapeOf(v)[d]);
  return g;
}

/// Rewrites `region` (top-level ops of one block, in order) into a chunk
/// loop over `flow` with `count` chunks. Returns the loop.
ChunkOp materialize(ArrayRef<Operation *> region, const Flow &flow, int64_t count) {
  llvm::DenseSet<Operation *> loopSet(flow.loopOps.begin(), flow.loopOps.end());
  // Region ops the loop reads (transitively) move in front of it, the
  // others behind it.
  llvm::DenseSet<Operation *> before;
  for (Operation *op : llvm::reverse(region)) {
    bool needed = false;
    for (Operation *user : op->getUsers())
      needed |= loopSet.count(user) || before.count(user);
    if (!loopSet.count(op) && needed)
      before.insert(op);
  }
  Operation *anchor = flow.loopOps.front();
  Location loc = anchor->getLoc();
  llvm::SetVector<Value> inputs;
  SmallVector<Value> results;
  for (Operation *op : flow.loopOps) {
    for (Value v : op->getOperands())
      if (flow.dims.count(v) && !loopSet.count(v.getDefiningOp()))
        inputs.insert(v);
    for (Value r : op->getResults())
      if (llvm::any_of(r.getUsers(), [&](Operation *u) { return !loopSet.count(u); }))
        results.push_back(r);
  }
  for (Operation *op : region)
    if (before.count(op))
      op->moveBefore(anchor);
  SmallVector<int64_t> inputDims, resultDims;
  SmallVector<Type> resultTypes;
  for (Value v : inputs)
    inputDims.push_back(flow.dims.lookup(v));
  for (Value r : results) {
    resultDims.push_back(flow.dims.lookup(r));
    resultTypes.push_back(r.getType());
  }
  OpBuilder b(anchor);
  auto loop = ChunkOp::create(b, loc, resultTypes, inputs.getArrayRef(), count,
                              b.getDenseI64ArrayAttr(inputDims),
                              b.getDenseI64ArrayAttr(resultDims));
  Block *inner = new Block();
  loop.getBody().push_back(inner);
  for (auto [v, d] : llvm::zip(inputs, inputDims))
    inner->addArgument(ChunkOp::chunkType(v.getType(), d, count), v.getLoc());
  for (auto [k, r] : llvm::enumerate(results))
    r.replaceUsesWithIf(loop.getResult(k),
                        [&](OpOperand &u) { return !loopSet.count(u.getOwner()); });
  for (Operation *op : flow.loopOps)
    op->moveBefore(inner, inner->end());
  for (auto [k, in] : llvm::enumerate(inputs))
    Value(in).replaceUsesWithIf(inner->getArgument(k), [&](OpOperand &u) {
      return u.getOwner()->getBlock() == inner;
    });
  for (Operation *op : flow.loopOps)
    for (Value r : op->getResults())
      r.setType(ChunkOp::chunkType(r.getType(), flow.dims.lookup(r), count));
  b.setInsertionPointToEnd(inner);
  YieldOp::create(b, loc, results);
  Operation *after = loop;
  for (Operation *op : region)
    if (!loopSet.count(op) && !before.count(op)) {
      op->moveAfter(after);
      after = op;
    }
  // The loop runs where its ops did (pipeline stage, schedule).
  for (StringRef name : {kStageAttr, kScheduleAttr})
    if (auto a = anchor->getAttr(name))
      loop->setAttr(name, a);
  return loop;
}

/// Predicted seconds of one call of @main on `hw` (every op, every stage).
double predictSeconds(func::FuncOp func, const HardwareDesc &hw, const TimeOptions &opts) {
  Profile p(func, /*rank=*/0, /*schedule=*/1);
  double s = 0;
  for (const OpCost &c : p.ops())
    s += predictOpTime(c, hw, opts).totalS;
  return s;
}

struct Candidate {
  int64_t first = 0, last = 0; // region: indices into the block's ops
  Value seed;
  int64_t dim = 0, count = 0;
  int64_t arena = 0;
  double seconds = 0;
};

struct ChunkPass : ditc::impl::ChunkPassBase<ChunkPass> {
  using ChunkPassBase::ChunkPassBase;

  void runOnOperation() override;

  /// The candidates around the arena's peak, evaluated on copies of @main.
  SmallVector<Candidate> candidatesAt(func::FuncOp func, Operation *peak, std::string &why);
  /// Evaluates candidate `c` on a copy of `func`.
  bool evaluate(func::FuncOp func, ArrayRef<Operation *> ops, Candidate &c);

  std::optional<HardwareDesc> hw;
  TimeOptions timeOptions;
};

/// The block's ops as a vector (terminator excluded).
SmallVector<Operation *> blockOps(Block &body) {
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator())
    ops.push_back(&op);
  return ops;
}

bool ChunkPass::evaluate(func::FuncOp func, ArrayRef<Operation *> ops, Candidate &c) {
  IRMapping map;
  OwningOpRef<func::FuncOp> copy = cast<func::FuncOp>(func->clone(map));
  SmallVector<Operation *> region;
  for (int64_t k = c.first; k <= c.last; ++k)
    region.push_back(map.lookup(ops[k]));
  Flow flow;
  flow.dims.insert({map.lookup(c.seed), c.dim});
  std::string why;
  if (failed(propagate(region, flow, why)) || flow.loopOps.empty())
    return false;
  ChunkOp loop = materialize(region, flow, c.count);
  {
    // Ops whose verifier refuses the chunk types (a shape attribute that
    // names the chunked dimension) make the candidate illegal.
    ScopedDiagnosticHandler quiet(func.getContext(), [](Diagnostic &) { return success(); });
    if (failed(verify(loop)))
      return false;
  }
  MemoryPlan plan(*copy);
  c.arena = plan.arenaBytes();
  c.seconds = predictSeconds(*copy, *hw, timeOptions);
  return true;
}

SmallVector<Candidate> ChunkPass::candidatesAt(func::FuncOp func, Operation *peak,
                                               std::string &why) {
  Block &body = func.getBody().front();
  SmallVector<Operation *> ops = blockOps(body);
  int64_t at = llvm::find(ops, peak) - ops.begin();
  // Seeds: the peak op's tensors, largest first (results before operands),
  // each of their dimensions of size 2 or more.
  SmallVector<Value> values;
  for (Value r : peak->getResults())
    values.push_back(r);
  for (Value v : peak->getOperands())
    if (!isa_and_nonnull<WeightOp, ConstantOp>(v.getDefiningOp()) && !llvm::is_contained(values, v))
      values.push_back(v);
  llvm::stable_sort(values, [](Value a, Value b) {
    return tensorBytes(a.getType()) > tensorBytes(b.getType());
  });
  if (values.size() > (size_t)maxSeedValues)
    values.resize(maxSeedValues);
  SmallVector<Candidate> out;
  for (Value seed : values) {
    for (int64_t d = 0; d < typeOf(seed).getRank(); ++d) {
      if (shapeOf(seed)[d] < 2)
        continue;
      // Grow [lo, hi] around the peak while the flow stays legal: right
      // first, then left, one op at a time.
      int64_t lo = at, hi = at;
      SmallVector<std::tuple<int64_t, int64_t, int64_t>> regions; // lo, hi, size
      auto legal = [&](int64_t l, int64_t h, Flow &flow, std::string &reason) {
        flow = Flow();
        flow.dims.insert({seed, d});
        return succeeded(propagate(ArrayRef<Operation *>(ops).slice(l, h - l + 1), flow,
                                   reason)) &&
               !flow.loopOps.empty();
      };
      Flow flow;
      std::string reason;
      if (!legal(lo, hi, flow, reason)) {
        if (why.empty())
          why = reason;
        continue;
      }
      regions.push_back({lo, hi, chunkableSize(flow)});
      size_t lastLoopOps = flow.loopOps.size();
      bool growRight = true, growLeft = true;
      while ((growRight || growLeft) && hi - lo + 1 < maxRegionOps) {
        for (bool right : {true, false}) {
          bool &grow = right ? growRight : growLeft;
          if (!grow)
            continue;
          int64_t l = right ? lo : lo - 1, h = right ? hi + 1 : hi;
          if (l < 0 || h >= (int64_t)ops.size() || !legal(l, h, flow, reason)) {
            grow = false;
            continue;
          }
          lo = l;
          hi = h;
          // A region is new when the loop holds more ops.
          if (flow.loopOps.size() != lastLoopOps) {
            regions.push_back({lo, hi, chunkableSize(flow)});
            lastLoopOps = flow.loopOps.size();
          }
        }
      }
      // At most maxRegions of them, evenly spread, the largest included.
      SmallVector<std::tuple<int64_t, int64_t, int64_t>> kept;
      for (int64_t k = 0; k < maxRegions && k < (int64_t)regions.size(); ++k) {
        int64_t n = regions.size(), m = std::min<int64_t>(maxRegions, n);
        int64_t idx = m == 1 ? n - 1 : k * (n - 1) / (m - 1);
        if (kept.empty() || kept.back() != regions[idx])
          kept.push_back(regions[idx]);
      }
      for (auto [l, h, size] : kept)
        for (int64_t count = 2; count <= size && count <= maxCount; count *= 2) {
          if (size % count)
            break;
          Candidate c;
          c.first = l;
          c.last = h;
          c.seed = seed;
          c.dim = d;
          c.count = count;
          if (!evaluate(func, ops, c))
            break;
          out.push_back(c);
          // More chunks only add launches once the budget is met.
          if (c.arena <= (int64_t)activationLimit)
            break;
        }
    }
  }
  return out;
}

void ChunkPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (activationLimit <= 0)
    return;
  func::FuncOp func = getMainFunc(module);
  if (!func) {
    module.emitError("expected a single-block func.func @main");
    return signalPassFailure();
  }
  std::string hwError;
  hw = loadHardware(hwName, hwError);
  if (!hw) {
    module.emitError("-ditc-chunk: ") << hwError;
    return signalPassFailure();
  }
  timeOptions.dtype = "f32";
  func.walk([&](Operation *op) {
    for (Type t : op->getResultTypes())
      if (auto rt = dyn_cast<RankedTensorType>(t); rt && (rt.getElementType().isBF16() ||
                                                          rt.getElementType().isF16()))
        timeOptions.dtype = rt.getElementType().isBF16() ? "bf16" : "f16";
  });
  Block &body = func.getBody().front();
  for (int iteration = 0;; ++iteration) {
    MemoryPlan plan(func);
    int64_t arena = plan.arenaBytes();
    if (arena <= (int64_t)activationLimit)
      return;
    int64_t step = plan.peakArenaStep();
    Operation *peak = step >= 0 ? topLevelOp(body, plan.steps()[step].op) : nullptr;
    std::string why;
    SmallVector<Candidate> cands;
    if (peak && !isa<ChunkOp>(peak))
      cands = candidatesAt(func, peak, why);
    else if (peak)
      why = "more chunks do not lower it";
    // The best: within the budget in the least time; else the smallest
    // arena (then the least time). Ties keep the earlier candidate.
    const Candidate *best = nullptr;
    auto fits = [&](const Candidate &c) { return c.arena <= (int64_t)activationLimit; };
    for (const Candidate &c : cands) {
      if (c.arena >= arena)
        continue;
      if (!best)
        best = &c;
      else if (fits(c) != fits(*best) ? fits(c)
               : fits(c)              ? c.seconds < best->seconds
                                      : (c.arena < best->arena ||
                                         (c.arena == best->arena && c.seconds < best->seconds)))
        best = &c;
    }
    if (!best) {
      InFlightDiagnostic d = module.emitError();
      d << "activation limit " << (int64_t)activationLimit
        << " bytes cannot be met: the smallest arena chunking reaches is " << arena
        << " bytes";
      if (peak) {
        int64_t held = 0;
        for (Value v : llvm::concat<Value>(peak->getOperands(), peak->getResults()))
          if (v.getDefiningOp() && !isa<WeightOp, ConstantOp>(v.getDefiningOp()))
            held += tensorBytes(v.getType());
        if (auto loop = dyn_cast<ChunkOp>(peak))
          d << ", in the chunk loop of " << loop.getCount() << " at " << describe(loop)
            << ", whose whole inputs and results in the arena take " << held
            << " bytes";
        else
          d << ", at " << describe(peak) << " (its operands and results in the arena take " << held << " bytes)";
        if (!why.empty())
          d << "; " << why;
      }
      return signalPassFailure();
    }
    SmallVector<Operation *> ops = blockOps(body);
    Flow flow;
    flow.dims.insert({best->seed, best->dim});
    std::string reason;
    SmallVector<Operation *> region(ops.begin() + best->first, ops.begin() + best->last + 1);
    if (failed(propagate(region, flow, reason))) {
      module.emitError("-ditc-chunk: internal error: a chosen region became illegal: ")
          << reason;
      return signalPassFailure();
    }
    double before = predictSeconds(func, *hw, timeOptions);
    ChunkOp loop = materialize(region, flow, best->count);
    Builder b(&getContext());
    loop->setAttr("ditc.peak_before", b.getI64IntegerAttr(arena));
    loop->setAttr("ditc.peak_after", b.getI64IntegerAttr(best->arena));
    loop->setAttr("ditc.cost_s", b.getF64FloatAttr(best->seconds - before));
  }
}

struct ChunkLegalityPass : ditc::impl::ChunkLegalityPassBase<ChunkLegalityPass> {
  void runOnOperation() override {
    func::FuncOp func = getMainFunc(getOperation());
    if (!func)
      return;
    SmallVector<Operation *> ops = blockOps(func.getBody().front());
    for (Operation *seed : ops) {
      auto dim = seed->getAttrOfType<IntegerAttr>("test.chunk_dim");
      if (!dim)
        continue;
      Flow flow;
      flow.dims.insert({seed->getResult(0), dim.getInt()});
      std::string why;
      if (failed(propagate(ops, flow, why))) {
        seed->emitRemark("chunk refused: ") << why;
        continue;
      }
      llvm::DenseSet<Operation *> loopSet(flow.loopOps.begin(), flow.loopOps.end());
      InFlightDiagnostic d = seed->emitRemark("chunk legal: ");
      d << flow.loopOps.size() << " ops [";
      llvm::interleaveComma(flow.loopOps, d, [&](Operation *op) { d << op->getName(); });
      d << "], chunked inputs [";
      bool first = true;
      for (auto [v, k] : flow.dims)
        if (!loopSet.count(v.getDefiningOp())) {
          d << (first ? "" : ", ");
          if (auto a = dyn_cast<BlockArgument>(v))
            d << "arg" << a.getArgNumber();
          else
            d << v.getDefiningOp()->getName();
          d << " dim " << k;
          first = false;
        }
      d << "], size " << chunkableSize(flow);
    }
  }
};

} // namespace
