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
// that depend on absolute positions along the chunked dimension (a
// triangle's rows, blockwise token joins) and nested loops are refused; a
// causal attention whose query rows are cut reads its chunk's first row
// from a `ditc.chunk_offset` at the top of the loop's body.
//
// Search: while the arena exceeds the budget, take the op at its peak, seed
// a flow at each dimension of its largest tensors, grow a region of whole
// ops around it while the flow stays legal, and try chunk counts (powers of
// two; one that does not divide the chunked dimension makes an uneven loop,
// legal when every chunked dimension has one size) on each region, then
// fewer chunks below the first count that meets the budget (a binary
// search on the chosen region). Each candidate is
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

#include "llvm/Support/Debug.h"

#include <chrono>
#include <limits>
#include <numeric>

#define DEBUG_TYPE "ditc-chunk"

namespace mlir::ditc {
#define GEN_PASS_DEF_CHUNKLEGALITYPASS
#define GEN_PASS_DEF_CHUNKPASS
#include "passes/Transforms/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {

/// On a chunk loop's body ops: the chunked dimension of each result, one
/// array per enclosing loop (innermost last).
constexpr llvm::StringLiteral kChunkDimsAttr = "ditc.chunk_dims";

/// A legal chunked flow through a region of top-level ops.
struct Flow {
  /// The chunked dimension of every value the loop cuts: results of the
  /// loop's ops and the inputs it cuts.
  llvm::MapVector<Value, int64_t> dims;
  /// The uses (by ops of the loop) that read their value chunked; other
  /// uses of a loop input read it whole.
  llvm::DenseSet<OpOperand *> cutUses;
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
  if (isa<KvCacheUpdateOp, ScheduleSelectOp, ProbeOp, CacheDecideOp, CacheApplyOp>(op))
    return "it keeps state across calls";
  if (isa<SendOp, RecvOp, RingAttentionOp, AllGatherOp, AllReduceOp, ReduceScatterOp,
          AllToAllOp, ShardOp, CollectiveBroadcastOp>(op))
    return "it communicates";
  if (!isa<ShardingRuleOpInterface>(op) || op->getNumRegions())
    return "it has no sharding rule";
  return "";
}

/// The chunk dimensions op `op` would take on joining the loop with its
/// value at `pair` (operand-or-result index, dimension) chunked: every
/// (value, dimension) of the parallel factor holding `pair`. Fails with the
/// reason when the op cannot run per chunk that way.
FailureOr<SmallVector<std::pair<Value, int64_t>>>
factorOf(Operation *op, std::pair<unsigned, unsigned> pair, std::string &why) {
  unsigned nOperands = op->getNumOperands();
  auto valueAt = [&](unsigned idx) {
    return idx < nOperands ? op->getOperand(idx) : op->getResult(idx - nOperands);
  };
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
    if (llvm::is_contained(f.dims, pair))
      factor = &f;
  if (!factor || factor->kind == ShardingFactor::Kind::Reduction) {
    why = describe(op) + (factor ? " reduces over its " : " does not compute its ") +
          pairName(pair) + (factor ? "" : " independently");
    return failure();
  }
  // Causal attention's query rows depend on their positions: the loop gives
  // each chunk its first row (materialize(): query_offset).
  if (op->hasAttr(kTokenPiecesAttr))
    if (std::optional<unsigned> axis = tokenPiecesAxis(op))
      for (auto [idx, d] : factor->dims)
        if (d == *axis) {
          why = describe(op) + " joins or cuts token pieces along the chunked dimension";
          return failure();
        }
  SmallVector<std::pair<Value, int64_t>> dims;
  for (auto [idx, d] : factor->dims)
    dims.push_back({valueAt(idx), (int64_t)d});
  for (Value r : op->getResults())
    if (!llvm::any_of(dims, [&](auto p) { return p.first == r; })) {
      why = describe(op) + " has a result that is not chunked with its " + pairName(pair);
      return failure();
    }
  return dims;
}

/// Builds the loop's flow over `region` from `seed`: op `seed.first` runs
/// per chunk with its value at (operand-or-result index, dimension)
/// `seed.second` chunked. Every region op that reads a value the loop
/// produces must join it (a refusal fails the flow); the producer of a value
/// the loop reads chunked joins it when the loop is its only reader (it
/// then never exists whole); other values the loop reads are its inputs, cut
/// or whole. Fails with the reason in `why`.
LogicalResult propagate(ArrayRef<Operation *> region, Operation *seedOp,
                        std::pair<unsigned, unsigned> seed, Flow &flow, std::string &why) {
  llvm::DenseSet<Operation *> inRegion(region.begin(), region.end()), inLoop;
  Block *block = region.front()->getBlock();
  auto regionOp = [&](Operation *op) -> Operation * {
    Operation *top = op ? block->findAncestorOpInBlock(*op) : nullptr;
    return top && inRegion.count(top) ? top : nullptr;
  };
  // Joins `op` with `pair` chunked when its factor agrees with the values
  // chunked so far and it reads whole nothing the loop produces.
  // The loop runs under one guard: its ops share a pipeline stage and a
  // schedule (ops in a loop body share the loop's).
  Operation *func = block->getParentOp();
  while (func && !isa<func::FuncOp>(func))
    func = func->getParentOp();
  Block &top = func->getRegion(0).front();
  llvm::DenseMap<Operation *, int64_t> stages = stagesOf(top), schedules = schedulesOf(top);
  auto guardOf = [&](Operation *op) {
    Operation *t = top.findAncestorOpInBlock(*op);
    return std::make_pair(stages.lookup(t), schedules.lookup(t));
  };
  auto guard = guardOf(seedOp);
  auto join = [&](Operation *op, std::pair<unsigned, unsigned> pair,
                  std::string &reason) -> LogicalResult {
    if (guardOf(op) != guard) {
      reason = describe(op) + " runs in another pipeline stage or schedule";
      return failure();
    }
    FailureOr<SmallVector<std::pair<Value, int64_t>>> dims = factorOf(op, pair, reason);
    if (failed(dims))
      return failure();
    for (auto [v, d] : *dims)
      if (auto it = flow.dims.find(v); it != flow.dims.end() && it->second != d) {
        reason = describe(op) + " needs a value chunked along dimension " + std::to_string(d) +
                 " that the loop chunks along dimension " + std::to_string(it->second);
        return failure();
      }
    for (OpOperand &use : op->getOpOperands()) {
      bool cut = llvm::any_of(*dims, [&](auto p) { return p.first == use.get(); });
      Operation *def = regionOp(use.get().getDefiningOp());
      if (!cut && def && inLoop.count(def)) {
        reason = describe(op) + " reads its operand " + std::to_string(use.getOperandNumber()) +
                 " whole, which the loop produces in chunks";
        return failure();
      }
    }
    for (auto [v, d] : *dims)
      flow.dims.insert({v, d});
    for (OpOperand &use : op->getOpOperands())
      if (llvm::any_of(*dims, [&](auto p) { return p.first == use.get(); }))
        flow.cutUses.insert(&use);
    inLoop.insert(op);
    return success();
  };
  if (failed(join(seedOp, seed, why)))
    return failure();
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : region) {
      if (!inLoop.count(op))
        continue;
      // Readers of what the loop produces join it.
      for (Value r : op->getResults())
        for (OpOperand &use : r.getUses()) {
          Operation *user = regionOp(use.getOwner());
          if (!user || inLoop.count(user))
            continue;
          if (failed(join(user, {use.getOperandNumber(), (unsigned)flow.dims.lookup(r)}, why)))
            return failure();
          changed = true;
        }
    }
    // Producers whose every reader is in the loop and reads them chunked.
    for (Operation *op : llvm::reverse(region)) {
      if (inLoop.count(op) || op->getNumResults() == 0 || !refusedOp(op).empty() ||
          isa<WeightOp, ConstantOp>(op))
        continue;
      bool onlyLoop = llvm::all_of(op->getResults(), [&](Value r) {
        return flow.dims.count(r) && llvm::all_of(r.getUses(), [&](OpOperand &use) {
                 return flow.cutUses.count(&use);
               });
      });
      if (!onlyLoop)
        continue;
      Value r = op->getResult(0);
      std::string reason;
      Flow saved = flow;
      if (failed(join(op, {op->getNumOperands(), (unsigned)flow.dims.lookup(r)}, reason))) {
        flow = saved;
        continue;
      }
      changed = true;
    }
  }
  flow.loopOps.clear();
  for (Operation *op : region)
    if (inLoop.count(op))
      flow.loopOps.push_back(op);
  return success();
}

/// A hash of the loop a flow builds (its ops and what it cuts), to try each
/// loop once however many seeds reach it.
llvm::hash_code flowSignature(const Flow &flow) {
  llvm::hash_code h = llvm::hash_combine_range(flow.loopOps.begin(), flow.loopOps.end());
  for (auto [v, d] : flow.dims)
    h = llvm::hash_combine(h, v.getAsOpaquePointer(), d);
  return h;
}

/// The gcd of the chunked dimensions' sizes: the counts that divide it cut
/// every one evenly.
int64_t chunkableSize(const Flow &flow) {
  int64_t g = 0;
  for (auto [v, d] : flow.dims)
    g = std::gcd(g, shapeOf(v)[d]);
  return g;
}

/// The size of every chunked dimension when all have one size, else 0: a
/// count that does not divide it still cuts them alike (ditc.chunk's uneven
/// loop, its last chunk overlapping the one before).
int64_t uniformSize(const Flow &flow) {
  int64_t n = -1;
  for (auto [v, d] : flow.dims)
    if (n < 0)
      n = shapeOf(v)[d];
    else if (n != shapeOf(v)[d])
      return 0;
  return std::max<int64_t>(n, 0);
}

/// Whether a loop over `flow` may take `count` chunks, from the flow's gcd
/// and uniform size.
bool countFits(int64_t count, int64_t gcd, int64_t uniform) {
  return count >= 1 && (gcd % count == 0 || (uniform && count <= uniform));
}

/// Rewrites `region` (top-level ops of one block, in order) into a chunk
/// loop over `flow` with `count` chunks. Returns the loop.
ChunkOp materialize(ArrayRef<Operation *> region, const Flow &flow, int64_t count) {
  llvm::DenseSet<Operation *> loopSet(flow.loopOps.begin(), flow.loopOps.end());
  // Region ops the loop reads (transitively) move in front of it, the
  // others behind it.
  llvm::DenseSet<Operation *> before;
  Block *block = region.front()->getBlock();
  for (Operation *op : llvm::reverse(region)) {
    bool needed = false;
    for (Operation *user : op->getUsers()) {
      Operation *top = block->findAncestorOpInBlock(*user);
      needed |= top && (loopSet.count(top) || before.count(top));
    }
    if (!loopSet.count(op) && needed)
      before.insert(op);
  }
  Operation *anchor = flow.loopOps.front();
  Location loc = anchor->getLoc();
  // Causal attentions whose query rows the loop cuts, with the rows of a
  // chunk.
  SmallVector<std::pair<AttentionOp, int64_t>> causalRows;
  for (Operation *op : flow.loopOps)
    if (auto a = dyn_cast<AttentionOp>(op); a && a.getCausal())
      if (auto it = flow.dims.find(a.getQuery());
          it != flow.dims.end() && it->second == a.layoutDims(AttentionOp::kQuery)[2])
        causalRows.push_back({a, ChunkOp::chunkSize(a.headSizes(AttentionOp::kQuery)[2], count)});
  llvm::SetVector<Value> inputs;
  SmallVector<Value> results;
  for (Operation *op : flow.loopOps) {
    for (OpOperand &use : op->getOpOperands())
      if (flow.cutUses.count(&use) && !loopSet.count(use.get().getDefiningOp()))
        inputs.insert(use.get());
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
      return flow.cutUses.count(&u) != 0;
    });
  for (Operation *op : flow.loopOps) {
    SmallVector<int64_t> dims;
    for (Value r : op->getResults()) {
      dims.push_back(flow.dims.lookup(r));
      r.setType(ChunkOp::chunkType(r.getType(), dims.back(), count));
    }
    // What unchunk() needs to restore the whole types.
    SmallVector<Attribute> levels;
    if (auto a = op->getAttrOfType<ArrayAttr>(kChunkDimsAttr))
      levels.assign(a.begin(), a.end());
    levels.push_back(DenseI64ArrayAttr::get(op->getContext(), dims));
    op->setAttr(kChunkDimsAttr, ArrayAttr::get(op->getContext(), levels));
  }
  b.setInsertionPointToStart(inner);
  for (auto [a, rows] : causalRows) {
    // The chunk's first row in the whole query (after any enclosing loop's).
    Value off = ChunkOffsetOp::create(b, a.getLoc(), RankedTensorType::get({}, b.getI64Type()),
                                      a.getQueryOffset(), rows);
    a.getQueryOffsetMutable().assign(off);
  }
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

/// Inlines a chunk loop back into its block: its ops with their whole
/// types, in front of where it was.
void unchunk(ChunkOp loop) {
  // Loops nested in it first.
  SmallVector<ChunkOp> nested;
  for (Operation &op : loop.getBodyBlock())
    if (auto n = dyn_cast<ChunkOp>(op))
      nested.push_back(n);
  for (ChunkOp n : nested)
    unchunk(n);
  Block &inner = loop.getBodyBlock();
  auto yield = cast<YieldOp>(inner.getTerminator());
  // Chunk offsets: the whole rows start at the enclosing loop's offset, or
  // at the first.
  for (auto off : llvm::make_early_inc_range(inner.getOps<ChunkOffsetOp>())) {
    for (OpOperand &use : llvm::make_early_inc_range(off->getUses()))
      if (off.getBase())
        use.set(off.getBase());
      else
        cast<AttentionOp>(use.getOwner()).getQueryOffsetMutable().clear();
    off->erase();
  }
  for (Operation &op : inner.without_terminator()) {
    auto levels = op.getAttrOfType<ArrayAttr>(kChunkDimsAttr);
    auto dims = cast<DenseI64ArrayAttr>(levels[levels.size() - 1]);
    for (auto [r, d] : llvm::zip(op.getResults(), dims.asArrayRef())) {
      auto t = cast<RankedTensorType>(r.getType());
      SmallVector<int64_t> shape(t.getShape());
      shape[d] = loop.wholeSize(shape[d]);
      r.setType(t.clone(shape));
    }
    if (levels.size() == 1)
      op.removeAttr(kChunkDimsAttr);
    else
      op.setAttr(kChunkDimsAttr, ArrayAttr::get(op.getContext(), levels.getValue().drop_back()));
  }
  for (auto [arg, in] : llvm::zip(inner.getArguments(), loop.getInputs()))
    arg.replaceAllUsesWith(in);
  for (auto [r, v] : llvm::zip(loop.getResults(), yield.getValues()))
    r.replaceAllUsesWith(v);
  yield->erase();
  while (!inner.empty())
    inner.front().moveBefore(loop);
  loop->erase();
}

int64_t excessOf(const MemoryPlan &plan, int64_t limit) {
  int64_t e = 0;
  for (const MemoryPlan::Step &step : plan.steps())
    e += std::max<int64_t>(0, step.liveBytes - limit);
  return e;
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
  /// The flow's seed: op seedOp with its operand-or-result seedIndex cut
  /// along dim.
  Operation *seedOp = nullptr;
  unsigned seedIndex = 0;
  int64_t dim = 0, count = 0;
  int64_t arena = 0;
  /// The most bytes live at a step (what any placement needs).
  int64_t live = 0;
  /// How far the schedule exceeds the budget: the sum over its steps of
  /// the bytes live above ChunkPass::excessThreshold. Chunking one of
  /// several equal peaks (the same block repeated) lowers it though not yet
  /// the arena. Live bytes,
  /// not the placed arena's ends: a loop's result buffer, live from its
  /// start, can move other buffers, and the placed measures would then hide
  /// what the loop saves (SD3-medium's MLPs in its batch loop).
  int64_t excess = 0;
  double seconds = 0;
};

struct ChunkPass : ditc::impl::ChunkPassBase<ChunkPass> {
  using ChunkPassBase::ChunkPassBase;

  void runOnOperation() override;

  /// How a step of the greedy search ranks candidates that miss the budget
  /// (and which count as progress): by the excess first, or by the live
  /// peak first (then the excess). Neither order always reaches further, so the
  /// pass runs the first and, when it stops short, the second.
  enum class Order { ExcessFirst, LiveFirst };
  /// Chunks `func` greedily in `order` until the budget is met (returns
  /// true) or no candidate makes progress (returns false, with the arena
  /// it stopped at in `floorArena`, 0 on an internal error, and the error
  /// that names it in `floor`).
  bool greedy(func::FuncOp func, Order order, std::string &floor, int64_t &floorArena);

  /// The candidates around the arena's peak, evaluated on copies of @main.
  SmallVector<Candidate> candidatesAt(func::FuncOp func, Operation *peak, std::string &why);
  /// Evaluates candidate `c` on a copy of `func`.
  bool evaluate(func::FuncOp func, ArrayRef<Operation *> ops, Candidate &c);

  std::optional<HardwareDesc> hw;
  TimeOptions timeOptions;
  /// The live peak and the excess (Candidate::excess) of the schedule
  /// being improved, and the order of the search.
  int64_t currentLive = 0, currentExcess = 0;
  /// The live bytes above which a step counts in the excess (see greedy).
  int64_t excessThreshold = 0;
  /// 1, or less in the search that aims its excess below the budget. The
  /// greedy path depends on where the excess starts counting: SD3-medium
  /// (full size) at 150 MiB stopped at 155.8 MiB and at 120 MiB at
  /// 127.9 MiB aiming at the budget, while aiming at half met both.
  double targetScale = 1;
  Order order = Order::ExcessFirst;
  /// Whether (live peak, excess) `a` is better than `b` in the search's
  /// order.
  bool better(std::pair<int64_t, int64_t> a, std::pair<int64_t, int64_t> b) const {
    if (order == Order::ExcessFirst || a.first == b.first)
      return a.second < b.second;
    return a.first < b.first;
  }
  /// Whether `c` improves on the schedule being improved.
  bool progress(const Candidate &c) const {
    return better({c.live, c.excess}, {currentLive, currentExcess});
  }
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
  std::string why;
  if (failed(propagate(region, map.lookup(c.seedOp), {c.seedIndex, (unsigned)c.dim}, flow,
                       why)) ||
      flow.loopOps.empty() ||
      !countFits(c.count, chunkableSize(flow), uniformSize(flow)))
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
  c.live = plan.peakLiveBytes();
  c.excess = excessOf(plan, excessThreshold);
  // Only a candidate that makes progress can be chosen: only it is priced.
  c.seconds = progress(c) ? predictSeconds(*copy, *hw, timeOptions)
                          : std::numeric_limits<double>::infinity();
  return true;
}

SmallVector<Candidate> ChunkPass::candidatesAt(func::FuncOp func, Operation *peak,
                                               std::string &why) {
  SmallVector<Operation *> ops = blockOps(*peak->getBlock());
  int64_t at = llvm::find(ops, peak) - ops.begin();
  // Seeds: the peak op's tensors (operand-or-result indices), largest
  // first (results before operands), each of their dimensions of size 2 or
  // more.
  unsigned nOperands = peak->getNumOperands();
  auto valueAt = [&](unsigned idx) {
    return idx < nOperands ? peak->getOperand(idx) : peak->getResult(idx - nOperands);
  };
  SmallVector<unsigned> seeds;
  SmallVector<Value> seen;
  for (unsigned k = 0; k < peak->getNumResults(); ++k)
    seeds.push_back(nOperands + k);
  for (unsigned k = 0; k < nOperands; ++k) {
    Value v = peak->getOperand(k);
    if (!isa_and_nonnull<WeightOp, ConstantOp>(v.getDefiningOp()) && !llvm::is_contained(seen, v))
      seeds.push_back(k);
    seen.push_back(v);
  }
  llvm::stable_sort(seeds, [&](unsigned a, unsigned b) {
    return tensorBytes(valueAt(a).getType()) > tensorBytes(valueAt(b).getType());
  });
  if (seeds.size() > (size_t)maxSeedValues)
    seeds.resize(maxSeedValues);
  SmallVector<Candidate> out;
  llvm::DenseSet<size_t> tried;
  for (unsigned seedIndex : seeds) {
    Value seed = valueAt(seedIndex);
    for (int64_t d = 0; d < typeOf(seed).getRank(); ++d) {
      if (shapeOf(seed)[d] < 2)
        continue;
      // Grow [lo, hi] around the peak while the flow stays legal: right
      // first, then left, one op at a time.
      int64_t lo = at, hi = at;
      // lo, hi, gcd and uniform size of the cut dimensions, signature
      SmallVector<std::tuple<int64_t, int64_t, int64_t, int64_t, size_t>> regions;
      auto legal = [&](int64_t l, int64_t h, Flow &flow, std::string &reason) {
        flow = Flow();
        return succeeded(propagate(ArrayRef<Operation *>(ops).slice(l, h - l + 1), peak,
                                   {seedIndex, (unsigned)d}, flow, reason)) &&
               !flow.loopOps.empty();
      };
      Flow flow;
      std::string reason;
      if (!legal(lo, hi, flow, reason)) {
        LLVM_DEBUG(llvm::dbgs() << "seed dim " << d << " refused: " << reason << "\n");
        if (why.empty())
          why = reason;
        continue;
      }
      regions.push_back({lo, hi, chunkableSize(flow), uniformSize(flow),
                          (size_t)flowSignature(flow)});
      size_t lastLoopOps = flow.loopOps.size();
      // Each step tries an eighth of the region's length (at least one op)
      // and halves it until the flow stays legal: a few plans per doubling
      // of the region rather than one per op.
      bool growRight = true, growLeft = true;
      while ((growRight || growLeft) && hi - lo + 1 < maxRegionOps) {
        for (bool right : {true, false}) {
          bool &grow = right ? growRight : growLeft;
          if (!grow)
            continue;
          int64_t room = right ? (int64_t)ops.size() - 1 - hi : lo;
          int64_t step = std::min<int64_t>(std::max<int64_t>(1, (hi - lo + 1) / 8), room);
          bool grown = false;
          for (; step >= 1; step /= 2) {
            int64_t l = right ? lo : lo - step, h = right ? hi + step : hi;
            if (legal(l, h, flow, reason)) {
              lo = l;
              hi = h;
              grown = true;
              break;
            }
          }
          if (!grown) {
            LLVM_DEBUG(if (room > 0) llvm::dbgs() << "growth [" << lo << ", " << hi
                                                  << "] stops: " << reason << "\n");
            grow = false;
            continue;
          }
          // A region is new when the loop holds more ops.
          if (flow.loopOps.size() != lastLoopOps) {
            regions.push_back({lo, hi, chunkableSize(flow), uniformSize(flow),
                               (size_t)flowSignature(flow)});
            lastLoopOps = flow.loopOps.size();
          }
        }
      }
      // At most maxRegions of them, evenly spread, the largest included.
      SmallVector<std::tuple<int64_t, int64_t, int64_t, int64_t, size_t>> kept;
      for (int64_t k = 0; k < maxRegions && k < (int64_t)regions.size(); ++k) {
        int64_t n = regions.size(), m = std::min<int64_t>(maxRegions, n);
        int64_t idx = m == 1 ? n - 1 : k * (n - 1) / (m - 1);
        if (kept.empty() || kept.back() != regions[idx])
          kept.push_back(regions[idx]);
      }
      for (auto [l, h, gcd, uniform, signature] : kept) {
        if (!tried.insert(signature).second)
          continue;
        std::optional<std::pair<int64_t, int64_t>> last; // arena, excess
        for (int64_t count = 2; count <= maxCount; count *= 2) {
          if (!countFits(count, gcd, uniform))
            break;
          Candidate c;
          c.first = l;
          c.last = h;
          c.seedOp = peak;
          c.seedIndex = seedIndex;
          c.dim = d;
          c.count = count;
          if (!evaluate(func, ops, c))
            break;
          LLVM_DEBUG(llvm::dbgs() << "candidate dim " << d << " region [" << l << ", " << h
                                  << "] count " << count << " arena " << c.arena << " excess "
                                  << c.excess << " s " << c.seconds << "\n");
          out.push_back(c);
          // More chunks only add launches once the budget is met, or once
          // they lower neither the live peak nor the excess.
          if (c.arena <= (int64_t)activationLimit ||
              (last && !better({c.live, c.excess}, *last)))
            break;
          last = std::make_pair(c.live, c.excess);
        }
      }
    }
  }
  return out;
}

bool ChunkPass::greedy(func::FuncOp func, Order searchOrder, std::string &floor,
                       int64_t &floorArena) {
  order = searchOrder;
  for (;;) {
    MemoryPlan plan(func);
    int64_t arena = plan.arenaBytes();
    currentLive = plan.peakLiveBytes();
    // The excess counts the live bytes above the budget, or, in the search
    // that aims below it, above half the budget less what the placement
    // needs above the live peak (arena - live peak): a schedule whose live
    // bytes fit the budget while its arena does not has no excess above the
    // budget left to lower, and the first two searches stop there.
    excessThreshold = (int64_t)((double)activationLimit * targetScale);
    if (targetScale < 1)
      excessThreshold -= std::max<int64_t>(0, arena - currentLive);
    int64_t excess = excessOf(plan, excessThreshold);
    currentExcess = excess;
    if (arena <= (int64_t)activationLimit)
      return true;
    int64_t step = plan.peakArenaStep();
    if (step < 0)
      return true;
    // Search on copies of @main. A peak inside a chunk loop is searched
    // in two ways: inside the loop's body (a loop nested in it), and with
    // the loop inlined back (so that it may be redone: more chunks, a larger
    // region, another dimension).
    struct Option {
      OwningOpRef<func::FuncOp> work;
      SmallVector<Candidate> cands;
      int64_t firstArena = 0;
      double previousCost = 0;
    };
    SmallVector<Option> options;
    std::string why;
    for (bool redo : {false, true}) {
      IRMapping map;
      Option o;
      o.work = cast<func::FuncOp>(func->clone(map));
      o.firstArena = arena;
      Operation *peak = map.lookup(plan.steps()[step].op);
      if (auto own = dyn_cast<ChunkOp>(peak)) // its own step: the op it ends with
        peak = own.getBodyBlock().getTerminator()->getPrevNode();
      auto innermost = dyn_cast<ChunkOp>(peak->getParentOp());
      if (redo) {
        if (!innermost)
          continue;
        // What the loop being redone recorded: the arena before it and its
        // predicted cost.
        if (auto a = innermost->getAttrOfType<IntegerAttr>(kChunkPeakBeforeAttr))
          o.firstArena = a.getInt();
        if (auto c = innermost->getAttrOfType<FloatAttr>(kChunkCostAttr))
          o.previousCost = c.getValueAsDouble();
        Block *outer = innermost->getBlock();
        unchunk(innermost);
        peak = outer->findAncestorOpInBlock(*peak);
      }
      std::string reason;
      o.cands = candidatesAt(*o.work, peak, reason);
      if (why.empty())
        why = reason;
      options.push_back(std::move(o));
    }
    // The best: within the budget in the least time; else the best in the
    // search's order (the excess: several equal peaks, as in a model of
    // repeated blocks, leave the arena where it is while one is chunked;
    // or the live peak, then the excess), then the least time. Ties keep
    // the earlier candidate.
    const Candidate *best = nullptr;
    Option *bestOption = nullptr;
    auto fits = [&](const Candidate &c) { return c.arena <= (int64_t)activationLimit; };
    for (Option &o : options)
      for (const Candidate &c : o.cands) {
        if (!progress(c))
          continue;
        if (!best || (fits(c) != fits(*best) ? fits(c)
                      : fits(c)              ? c.seconds < best->seconds
                                             : (better({c.live, c.excess},
                                                       {best->live, best->excess}) ||
                                                (!better({best->live, best->excess},
                                                         {c.live, c.excess}) &&
                                                 c.seconds < best->seconds)))) {
          best = &c;
          bestOption = &o;
        }
      }
    if (!best) {
      llvm::raw_string_ostream d(floor);
      d << "activation limit " << (int64_t)activationLimit
        << " bytes cannot be met: the smallest arena chunking reaches is " << arena
        << " bytes, at " << describe(plan.steps()[step].op);
      int64_t held = 0;
      Operation *at = topLevelOp(func.getBody().front(), plan.steps()[step].op);
      for (Value v : llvm::concat<Value>(at->getOperands(), at->getResults()))
        if (v.getDefiningOp() && !isa<WeightOp, ConstantOp>(v.getDefiningOp()))
          held += tensorBytes(v.getType());
      if (auto loop = dyn_cast<ChunkOp>(at))
        d << " in a chunk loop of " << loop.getCount()
          << " whose whole inputs and results in the arena take " << held << " bytes";
      else
        d << " (its operands and results in the arena take " << held << " bytes)";
      if (!why.empty())
        d << "; a flow refused there: " << why;
      floorArena = arena;
      return false;
    }
    func::FuncOp work = *bestOption->work;
    SmallVector<Operation *> ops = blockOps(*best->seedOp->getBlock());
    // Counts go up in powers of two and stop at the first that meets the
    // budget; fewer chunks between it and the one before (which missed)
    // may meet it too, with larger kernels and fewer launches. A binary
    // search over them keeps the fastest that fits (a count the loop cannot
    // take, not dividing dimensions of different sizes, counts as a miss).
    Candidate refined = *best;
    if (fits(*best))
      for (int64_t lo = best->count / 2, hi = best->count; hi - lo > 1;) {
        Candidate c = *best;
        c.count = lo + (hi - lo) / 2;
        if (evaluate(work, ops, c) && fits(c) && progress(c)) {
          hi = c.count;
          if (c.seconds < refined.seconds)
            refined = c;
        } else {
          lo = c.count;
        }
      }
    best = &refined;
    Flow flow;
    std::string reason;
    SmallVector<Operation *> region(ops.begin() + best->first, ops.begin() + best->last + 1);
    if (failed(propagate(region, best->seedOp, {best->seedIndex, (unsigned)best->dim}, flow,
                         reason))) {
      floor = "-ditc-chunk: internal error: a chosen region became illegal: " + reason;
      floorArena = 0;
      return false;
    }
    double before = predictSeconds(func, *hw, timeOptions);
    ChunkOp loop = materialize(region, flow, best->count);
    Builder b(func.getContext());
    loop->setAttr(kChunkPeakBeforeAttr, b.getI64IntegerAttr(bestOption->firstArena));
    loop->setAttr(kChunkPeakAfterAttr, b.getI64IntegerAttr(best->arena));
    loop->setAttr(kChunkCostAttr,
                  b.getF64FloatAttr(best->seconds - (before - bestOption->previousCost)));
    func.getBody().takeBody(work.getBody());
  }
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
  // Greedy, on copies of @main: by the excess first (which chunks one of
  // several equal peaks at a time); when that stops short of the budget, by
  // the live peak first; then by the excess above half the budget (less
  // the placement's overhead, see greedy). The first that meets the budget,
  // else the smallest floor (the first on a tie; an internal error in the
  // first search) is reported.
  const std::pair<Order, double> searches[] = {
      {Order::ExcessFirst, 1}, {Order::LiveFirst, 1}, {Order::ExcessFirst, 0.5}};
  const char *names[] = {"by the excess", "by the live peak",
                         "by the excess above half the budget"};
  std::string floors[3];
  int64_t arenas[3] = {0, 0, 0};
  int k = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto [o, scale] : searches) {
    if (showProgress && k > 0)
      llvm::errs() << llvm::formatv(
          "ditc: AutoChunk: the search {0} {1}; searching {2} ({3:F2} s)\n", names[k - 1],
          arenas[k - 1] > 0
              ? llvm::formatv("stopped at an arena of {0} bytes", arenas[k - 1]).str()
              : std::string("failed (an internal error, reported if no search succeeds)"),
          names[k],
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    OwningOpRef<func::FuncOp> work = cast<func::FuncOp>(func->clone());
    targetScale = scale;
    if (greedy(*work, o, floors[k], arenas[k])) {
      func.getBody().takeBody(work->getBody());
      return;
    }
    ++k;
  }
  int smallest = 0;
  for (int j = 1; j < 3; ++j)
    if (arenas[j] > 0 && arenas[j] < arenas[smallest])
      smallest = j;
  module.emitError(floors[smallest]);
  signalPassFailure();
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
      std::string why;
      if (failed(propagate(ops, seed, {seed->getNumOperands(), (unsigned)dim.getInt()}, flow,
                           why))) {
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
