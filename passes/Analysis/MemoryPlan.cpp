//===- MemoryPlan.cpp - static arena placement and liveness ---------------===//

#include "passes/Analysis/MemoryPlan.h"

#include "dialects/Ditc/IR/DitcOps.h"

#include "mlir/IR/BuiltinOps.h"

#include "llvm/ADT/DenseSet.h"

#include <limits>
#include <map>
#include <numeric>
#include <queue>

using namespace mlir;
using namespace mlir::ditc;

int64_t mlir::ditc::tensorBytes(Type type) {
  auto t = cast<RankedTensorType>(type);
  Type et = t.getElementType();
  int64_t w = et.isInteger(1) ? 1 : (et.getIntOrFloatBitWidth() + 7) / 8;
  return t.getNumElements() * w;
}

SmallVector<int64_t, 2> mlir::ditc::stateBuffers(Operation *op) {
  if (auto p = dyn_cast<ProbeOp>(op))
    return {tensorBytes(p.getInput().getType()), kProbeSlotBytes};
  if (auto d = dyn_cast<CacheDecideOp>(op))
    return {tensorBytes(d.getInput().getType()), kCacheSlotBytes};
  if (auto a = dyn_cast<CacheApplyOp>(op))
    return {tensorBytes(a.getType())};
  return {};
}

func::FuncOp mlir::ditc::getMainFunc(Operation *moduleOrFunc) {
  auto func = dyn_cast<func::FuncOp>(moduleOrFunc);
  if (!func)
    if (auto module = dyn_cast<ModuleOp>(moduleOrFunc))
      func = module.lookupSymbol<func::FuncOp>("main");
  if (!func || !llvm::hasSingleElement(func.getBody()))
    return nullptr;
  return func;
}

bool mlir::ditc::isChunkView(ChunkOp loop, unsigned k) {
  ArrayRef<int64_t> shape = shapeOf(loop.getInputs()[k]);
  int64_t d = loop.getInputDims()[k];
  return llvm::all_of(shape.take_front(d), [](int64_t s) { return s == 1; });
}

SmallVector<Value> mlir::ditc::outerValuesUsedIn(ChunkOp loop) {
  SmallVector<Value> values;
  llvm::DenseSet<Value> seen;
  loop.getBody().walk([&](Operation *op) {
    for (Value v : op->getOperands())
      if (!loop.getBody().isAncestor(v.getParentRegion()) && seen.insert(v).second)
        values.push_back(v);
  });
  return values;
}

Operation *mlir::ditc::topLevelOp(Block &body, Operation *op) {
  return op ? body.findAncestorOpInBlock(*op) : nullptr;
}

/// Whether a reshape from `from` to `to` only adds or drops unit dims.
static bool onlyUnitDims(ArrayRef<int64_t> from, ArrayRef<int64_t> to) {
  auto nonUnit = [](ArrayRef<int64_t> s) {
    SmallVector<int64_t> d;
    for (int64_t x : s)
      if (x != 1)
        d.push_back(x);
    return d;
  };
  return nonUnit(from) == nonUnit(to);
}

std::optional<StridedLayout> mlir::ditc::pieceLayout(Value v) {
  if (auto r = v.getDefiningOp<ReshapeOp>()) {
    std::optional<StridedLayout> in = pieceLayout(r.getInput());
    ArrayRef<int64_t> from = shapeOf(r.getInput()), to = shapeOf(r.getResult());
    if (!in || !onlyUnitDims(from, to))
      return std::nullopt;
    // The non-unit dims keep their strides, in order.
    SmallVector<int64_t> kept;
    for (size_t k = 0; k < from.size(); ++k)
      if (from[k] != 1)
        kept.push_back(in->strides[k]);
    StridedLayout out{in->start, {}};
    size_t next = 0;
    for (int64_t d : to)
      out.strides.push_back(d == 1 ? 0 : kept[next++]);
    return out;
  }
  Operation *def = v.getDefiningOp();
  if (!isa_and_nonnull<SliceOp, SplitOp>(def))
    return std::nullopt;
  ArrayRef<int64_t> in = shapeOf(def->getOperand(0));
  StridedLayout l{0, SmallVector<int64_t>(in.size(), 1)};
  for (int64_t d = (int64_t)in.size() - 2; d >= 0; --d)
    l.strides[d] = l.strides[d + 1] * in[d + 1];
  if (auto s = dyn_cast<SliceOp>(def)) {
    for (size_t d = 0; d < in.size(); ++d) {
      l.start += s.getOffsets()[d] * l.strides[d];
      l.strides[d] *= s.getSteps()[d];
    }
    return l;
  }
  auto split = cast<SplitOp>(def);
  int64_t axis = split.getAxis();
  for (Value piece : split.getResults()) {
    if (piece == v)
      break;
    l.start += shapeOf(piece)[axis] * l.strides[axis];
  }
  return l;
}

std::optional<int64_t> mlir::ditc::modulationRowStride(ArrayRef<int64_t> shape,
                                                      ArrayRef<int64_t> strides,
                                                      int64_t axis) {
  // The normalised dims [axis, rank) contiguous.
  int64_t expect = 1;
  for (int64_t d = (int64_t)shape.size() - 1; d >= axis; --d) {
    if (shape[d] != 1 && strides[d] != expect)
      return std::nullopt;
    expect *= shape[d];
  }
  // The groups: the non-unit dims before it, evenly apart.
  std::optional<int64_t> row;
  int64_t span = 0;
  for (int64_t d = axis - 1; d >= 0; --d) {
    if (shape[d] == 1)
      continue;
    if (row && strides[d] != span)
      return std::nullopt;
    if (!row)
      row = strides[d];
    span = strides[d] * shape[d];
  }
  if (row && *row < 0)
    return std::nullopt;
  return row ? *row : expect;
}

namespace {

/// Whether every use of `v` (whose layout is `l`) reads it through strides
/// (isStridedView).
bool readThroughStrides(Value v, const StridedLayout &l, Block *block) {
  return llvm::all_of(v.getUses(), [&](OpOperand &use) {
    Operation *u = use.getOwner();
    if (u->getBlock() != block)
      return false;
    if (auto r = dyn_cast<ReshapeOp>(u)) {
      std::optional<StridedLayout> next = pieceLayout(r.getResult());
      return next && readThroughStrides(r.getResult(), *next, block);
    }
    // A layer norm's modulation: rows of contiguous elements.
    if (auto ln = dyn_cast<LayerNormOp>(u))
      return (v == ln.getModScale() || v == ln.getModShift()) && v != ln.getInput() &&
             v != ln.getScale() && v != ln.getBias() &&
             modulationRowStride(shapeOf(v), l.strides, ln.getAxis()).has_value();
    return isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, MulAddOp, WhereOp>(u);
  });
}

} // namespace

bool mlir::ditc::isStridedView(Value piece) {
  Operation *def = piece.getDefiningOp();
  if (!isa_and_nonnull<SliceOp, SplitOp>(def) || piece.use_empty() ||
      tensorBytes(piece.getType()) == 0)
    return false;
  std::optional<StridedLayout> l = pieceLayout(piece);
  return l && readThroughStrides(piece, *l, def->getBlock());
}

namespace {

/// Whether `v` is a strided view, or a reshape of one.
bool isStridedViewValue(Value v) {
  while (auto r = v.getDefiningOp<ReshapeOp>())
    v = r.getInput();
  return isStridedView(v);
}

} // namespace

Value mlir::ditc::concatPartWriter(Value part) {
  while (auto r = part.getDefiningOp<ReshapeOp>()) {
    if (!r.getInput().hasOneUse())
      break;
    part = r.getInput();
  }
  return part;
}

bool mlir::ditc::isConcatPart(Value v) {
  if (!v.hasOneUse() || tensorBytes(v.getType()) == 0)
    return false;
  auto cat = dyn_cast<ConcatOp>(*v.getUsers().begin());
  if (!cat || llvm::count(cat.getInputs(), v) != 1)
    return false;
  ArrayRef<int64_t> shape = cat.getType().getShape();
  for (int64_t d = 0; d < (int64_t)cat.getAxis(); ++d)
    if (shape[d] != 1)
      return false;
  if (llvm::any_of(cat->getUsers(), [](Operation *u) { return isa<func::ReturnOp>(u); }))
    return false;
  // What writes it, and the reshapes that view it, in the concat's block.
  Value writer = concatPartWriter(v);
  for (Value w = v;; w = w.getDefiningOp<ReshapeOp>().getInput()) {
    auto res = dyn_cast<OpResult>(w);
    if (!res || res.getOwner()->getBlock() != cat->getBlock())
      return false;
    if (w == writer)
      return !isa<ReshapeOp, ScheduleSelectOp, ChunkOffsetOp, KvCacheUpdateOp, ProbeOp,
                  CacheDecideOp, CacheApplyOp, ConcatOp, WeightOp, ConstantOp>(res.getOwner());
  }
}

int64_t mlir::ditc::concatPartByteOffset(Value part) {
  auto cat = cast<ConcatOp>(*part.getUsers().begin());
  int64_t at = 0;
  for (Value in : cat.getInputs()) {
    if (in == part)
      break;
    at += tensorBytes(in.getType());
  }
  return at;
}

namespace {

/// Ops whose runtime kernel may write its result over an operand of the same
/// shape and element size (elementwise, element i reads only element i; rope
/// over its input).
bool mayWriteInPlace(Operation *op, Value operand) {
  if (!isa<AddOp, SubOp, MulOp, MulAddOp, DivOp, PowOp, MaxOp, MinOp, WhereOp, NegOp,
           SqrtOp, ReciprocalOp, ExpOp, ErfOp, CosOp, SinOp, TanhOp, SigmoidOp,
           ReluOp, SiluOp, GeluOp, AbsOp, LogOp, FloorOp, CeilOp, RoundOp,
           BitwiseAndOp, BitwiseOrOp, BitwiseXorOp, RopeOp>(op))
    return false;
  // The rope kernel runs in place over its input, not over its tables.
  if (auto rope = dyn_cast<RopeOp>(op); rope && operand != rope.getInput())
    return false;
  // A strided view is read in another layout than the result's.
  return operand.getType() == op->getResult(0).getType() && !isStridedViewValue(operand);
}

/// First-fit placement among the live allocations, as the schedule runs.
/// Each allocation is also recorded as an interval of events (allocations
/// and releases, numbered in order), so that the whole plan can be placed
/// again once every lifetime is known (placeBySize).
class Arena {
public:
  struct Interval {
    int64_t size, offset, begin, end; // end: kForever while live
  };
  static constexpr int64_t kForever = std::numeric_limits<int64_t>::max();

  int64_t allocate(int64_t size) {
    size = (size + MemoryPlan::kAlign - 1) / MemoryPlan::kAlign *
           MemoryPlan::kAlign;
    int64_t at = 0;
    for (auto [off, held] : live) {
      if (off - at >= size)
        break;
      at = std::max(at, off + intervals[held].size);
    }
    live[at] = intervals.size();
    intervals.push_back({size, at, event++, kForever});
    liveSum += size;
    peak = std::max(peak, at + size);
    return at;
  }
  void release(int64_t offset) {
    auto it = live.find(offset);
    Interval &i = intervals[it->second];
    i.end = event++;
    liveSum -= i.size;
    live.erase(it);
  }
  int64_t liveBytes() const { return liveSum; }
  int64_t end() const {
    return live.empty() ? 0 : live.rbegin()->first + intervals[live.rbegin()->second].size;
  }
  int64_t peakBytes() const { return peak; }
  /// The allocation live at `offset`.
  int64_t idAt(int64_t offset) const { return live.at(offset); }
  /// The next event's number: the allocations live now began before it and
  /// end at or after it.
  int64_t now() const { return event; }
  ArrayRef<Interval> all() const { return intervals; }

  /// Offsets for every allocation, placed knowing all lifetimes: largest
  /// first (earliest first among equals), each at the lowest offset clear
  /// of the placed ones it shares time with; allocation `pinned` (if >= 0)
  /// at 0 first. Returns the arena end of that placement.
  int64_t placeBySize(int64_t pinned, SmallVectorImpl<int64_t> &offsets) const {
    size_t n = intervals.size();
    SmallVector<int64_t> order;
    for (size_t k = 0; k < n; ++k)
      if ((int64_t)k != pinned)
        order.push_back(k);
    llvm::stable_sort(order, [&](int64_t a, int64_t b) {
      return intervals[a].size > intervals[b].size;
    });
    if (pinned >= 0)
      order.insert(order.begin(), pinned);
    offsets.assign(n, -1);
    SmallVector<int64_t> placed;
    SmallVector<std::pair<int64_t, int64_t>> clash; // offset, end
    int64_t top = 0;
    for (int64_t k : order) {
      const Interval &a = intervals[k];
      clash.clear();
      for (int64_t p : placed) {
        const Interval &b = intervals[p];
        if (a.begin < b.end && b.begin < a.end)
          clash.push_back({offsets[p], offsets[p] + b.size});
      }
      llvm::sort(clash);
      int64_t at = 0;
      if ((int64_t)k != pinned)
        for (auto [off, e] : clash) {
          if (off - at >= a.size)
            break;
          at = std::max(at, e);
        }
      offsets[k] = at;
      placed.push_back(k);
      top = std::max(top, at + a.size);
    }
    return top;
  }

private:
  std::map<int64_t, int64_t> live; // offset -> allocation
  SmallVector<Interval> intervals;
  int64_t event = 0;
  int64_t liveSum = 0;
  int64_t peak = 0;
};

} // namespace

ArrayRef<int64_t> MemoryPlan::offsets(Operation *op) const {
  auto it = offsetsOf.find(op);
  if (it == offsetsOf.end())
    return {};
  return it->second;
}

ArrayRef<int64_t> MemoryPlan::argOffsets(Operation *loop) const {
  auto it = argOffsetsOf.find(loop);
  if (it == argOffsetsOf.end())
    return {};
  return it->second;
}

MemoryPlan::MemoryPlan(Operation *moduleOrFunc) {
  func::FuncOp func = getMainFunc(moduleOrFunc);
  if (!func)
    return;
  valid = true;
  Block &body = func.getBody().front();
  Operation *ret = body.getTerminator();
  // The schedule in order: a chunk loop's body ops follow it, then its yield
  // (the loop's end; not a step of its own).
  SmallVector<Operation *> order;
  DenseMap<Operation *, int64_t> position;
  std::function<void(Block &)> add = [&](Block &block) {
    for (Operation &op : block) {
      if (&op == ret)
        break;
      order.push_back(&op);
      if (auto c = dyn_cast<ChunkOp>(op))
        add(c.getBodyBlock());
    }
  };
  add(body);
  for (auto [k, op] : llvm::enumerate(order))
    position[op] = k;
  position[ret] = order.size();
  // A use inside a chunk loop of a value from outside it lasts to the
  // loop's end: every iteration reads it.
  // (A chunk loop's operands count as used inside it; with nested loops,
  // the outermost loop that does not hold the value's definition.)
  auto usePosition = [&](Operation *user, Value v) {
    int64_t pos = position[user];
    for (Operation *o = user; o && o != func; o = o->getParentOp())
      if (auto c = dyn_cast<ChunkOp>(o); c && !c.getBody().isAncestor(v.getParentRegion()))
        pos = position[c.getBodyBlock().getTerminator()];
    return pos;
  };

  // Buffer roots: a reshape is a view of its input's buffer, and so is a
  // chunk loop's argument cut from a contiguous block of its input.
  DenseMap<Value, Value> root;
  auto rootOf = [&](Value v) {
    auto it = root.find(v);
    return it == root.end() ? v : it->second;
  };
  DenseMap<Value, int64_t> lastUse;
  SmallVector<Operation *> users(order);
  users.push_back(ret);
  // A concat part lives in its concat's buffer (which lives from the first
  // part's definition to the concat result's last use); what writes it
  // (concatPartWriter) writes there.
  DenseMap<Value, std::pair<Value, int64_t>> partPlace; // writer -> (concat, bytes)
  for (Operation *op : order)
    if (auto cat = dyn_cast<ConcatOp>(op))
      for (Value in : cat.getInputs())
        if (isConcatPart(in)) {
          Value w = concatPartWriter(in);
          partPlace[w] = {cat.getResult(), concatPartByteOffset(in)};
          root[w] = cat.getResult();
        }
  for (Operation *op : users) {
    if (auto r = dyn_cast<ReshapeOp>(op))
      root[r.getResult()] = rootOf(r.getInput());
    if (isa<SliceOp, SplitOp>(op))
      for (Value piece : op->getResults())
        if (isStridedView(piece))
          root[piece] = rootOf(op->getOperand(0));
    if (auto c = dyn_cast<ChunkOp>(op))
      for (auto [k, in] : llvm::enumerate(c.getInputs()))
        if (isChunkView(c, k))
          root[c.getBodyBlock().getArgument(k)] = rootOf(in);
    for (Value operand : op->getOperands()) {
      int64_t &l = lastUse[rootOf(operand)];
      l = std::max(l, usePosition(op, operand));
    }
  }
  // Results returned from @main go straight to the output buffers.
  DenseMap<Value, int64_t> outputOf;
  for (auto [k, v] : llvm::enumerate(ret->getOperands())) {
    Operation *def = v.getDefiningOp();
    if (!def || isa<ReshapeOp, WeightOp, ConstantOp, KvCacheUpdateOp, ScheduleSelectOp>(def) ||
        outputOf.count(v))
      continue;
    outputOf[v] = k;
  }

  Arena arena;
  // K/V buffers kept across calls (PipeFusion's stale schedule): the start
  // of the arena, never freed, so that no other tensor overwrites them. A
  // rank runs one pipeline stage: the buffers of different stages share it.
  std::map<int64_t, int64_t> cacheBytes, cacheStage, cacheOffset, stageEnd;
  for (Operation &op : body)
    if (auto c = dyn_cast<KvCacheUpdateOp>(op)) {
      int64_t &bytes = cacheBytes[c.getCache()];
      bytes = std::max(bytes, tensorBytes(c.getType()));
      auto st = op.getAttrOfType<IntegerAttr>("ditc.stage");
      cacheStage[c.getCache()] = st ? st.getInt() : -1;
    }
  for (auto [cache, bytes] : cacheBytes) {
    // Stage -1 (every rank): after every stage's buffers.
    int64_t &end = stageEnd[cacheStage[cache]];
    cacheOffset[cache] = end;
    end += (bytes + kAlign - 1) / kAlign * kAlign;
  }
  for (auto [stage, end] : stageEnd)
    if (stage >= 0)
      kvCacheBytes = std::max(kvCacheBytes, end);
  if (stageEnd.count(-1)) {
    for (auto &[cache, offset] : cacheOffset)
      if (cacheStage[cache] < 0)
        offset += kvCacheBytes;
    kvCacheBytes += stageEnd[-1];
  }
  // State kept across calls after the K/V buffers (stateBuffers): the
  // probes' previous inputs and slots, the step cache's reference, slot and
  // residuals.
  // The step cache's decisions (one per schedule or micro-batch) share one
  // reference and slot.
  DenseMap<Operation *, SmallVector<int64_t, 2>> state;
  int64_t stateEnd = kvCacheBytes;
  Operation *decision = nullptr;
  for (Operation &op : body) {
    if (isa<CacheDecideOp>(op) && decision) {
      state[&op] = state[decision];
      continue;
    }
    if (isa<CacheDecideOp>(op))
      decision = &op;
    for (int64_t bytes : stateBuffers(&op)) {
      state[&op].push_back(stateEnd);
      stateEnd += (bytes + kAlign - 1) / kAlign * kAlign;
    }
  }
  // The state and K/V buffers: one allocation at 0 for good.
  int64_t pinned = stateEnd ? 0 : -1;
  if (stateEnd)
    arena.allocate(stateEnd);
  // Where each arena offset written into the plan came from (an
  // allocation), and the event each step ran at: to place them again.
  struct Slot {
    Operation *op;
    unsigned index;
    bool arg;
    int64_t id;
    int64_t delta = 0; // bytes into the allocation (a concat part)
  };
  SmallVector<Slot> slots;
  SmallVector<int64_t> stepEvents;
  DenseMap<Value, int64_t> offsetOf; // arena buffers (roots)
  // Frees the buffers of `values` whose last use is at `pos`.
  auto releaseDying = [&](ValueRange values, int64_t pos) {
    for (Value v : values) {
      Value src = rootOf(v);
      auto it = offsetOf.find(src);
      if (it != offsetOf.end() && lastUse[src] == pos) {
        arena.release(it->second);
        offsetOf.erase(it);
      }
    }
  };
  auto record = [&](Operation *op) {
    int64_t step = schedule.size();
    schedule.push_back({op, arena.liveBytes(), arena.end()});
    stepEvents.push_back(arena.now());
    if (arena.liveBytes() > peakLive) {
      peakLive = arena.liveBytes();
      peakLiveStep = step;
    }
    if (arena.end() > 0 && arena.end() == arena.peakBytes() &&
        (peakArenaAt < 0 || schedule[peakArenaAt].arenaEnd < arena.end()))
      peakArenaAt = step;
  };
  for (Operation *op : order) {
    if (isa<WeightOp, ConstantOp>(op))
      continue;
    int64_t pos = position[op];
    if (auto y = dyn_cast<YieldOp>(op)) {
      // The loop's end: its step comes after its body's (a traced run
      // marks the loop when it is over). Copied arguments and everything
      // from outside that the body read die here.
      auto c = cast<ChunkOp>(y->getParentOp());
      record(c);
      releaseDying(y->getOperands(), pos);
      releaseDying(c->getOperands(), pos);
      releaseDying(outerValuesUsedIn(c), pos);
      for (BlockArgument a : c.getBodyBlock().getArguments())
        if (auto it = offsetOf.find(a); it != offsetOf.end()) {
          arena.release(it->second);
          offsetOf.erase(it);
        }
      continue;
    }
    SmallVector<int64_t, 1> &offsets = offsetsOf[op];
    if (isa<ReshapeOp, ScheduleSelectOp, ChunkOffsetOp>(op)) {
      // Views: a reshape of its input, the select of one of its operands;
      // a chunk offset is an integer the generated code keeps in a register.
      offsets.push_back(kViewOffset);
    } else if (auto c = dyn_cast<KvCacheUpdateOp>(op)) {
      offsets.push_back(cacheOffset[c.getCache()]);
    } else if (isa<ProbeOp, CacheDecideOp>(op)) {
      offsets.append(state[op]);
    } else {
      for (Value r : op->getResults()) {
        if (isStridedView(r)) { // a slice's or split's piece of its input
          offsets.push_back(kViewOffset);
          continue;
        }
        if (auto it = outputOf.find(r); it != outputOf.end()) {
          offsets.push_back(outputOffset(it->second));
          continue;
        }
        // An empty tensor needs no storage; it must not take (and later
        // free) a slot that a live buffer occupies.
        if (tensorBytes(r.getType()) == 0) {
          offsets.push_back(0);
          continue;
        }
        // A concat part: its place in the concat's buffer, which the first
        // part allocates; the concat then finds its result placed.
        auto part = partPlace.find(r);
        Value buffer = part == partPlace.end() ? r : part->second.first;
        int64_t delta = part == partPlace.end() ? 0 : part->second.second;
        if (auto it = offsetOf.find(buffer); it != offsetOf.end()) {
          slots.push_back({op, (unsigned)offsets.size(), false, arena.idAt(it->second), delta});
          offsets.push_back(it->second + delta);
          continue;
        }
        if (buffer != r) {
          int64_t base = arena.allocate(tensorBytes(buffer.getType()));
          offsetOf[buffer] = base;
          slots.push_back({op, (unsigned)offsets.size(), false, arena.idAt(base), delta});
          offsets.push_back(base + delta);
          continue;
        }
        // Write over an operand buffer that dies here.
        std::optional<int64_t> reuse;
        for (Value operand : op->getOperands()) {
          Value src = rootOf(operand);
          auto it = offsetOf.find(src);
          if (it != offsetOf.end() && lastUse[src] == pos &&
              tensorBytes(src.getType()) == tensorBytes(r.getType()) &&
              mayWriteInPlace(op, operand)) {
            reuse = it->second;
            offsetOf.erase(it);
            lastUse[src] = -1;
            break;
          }
        }
        int64_t off = reuse ? *reuse : arena.allocate(tensorBytes(r.getType()));
        slots.push_back({op, (unsigned)offsets.size(), false, arena.idAt(off)});
        offsetOf[r] = off;
        offsets.push_back(off);
      }
    }
    if (isa<CacheApplyOp>(op))
      offsets.append(state[op]);
    if (auto c = dyn_cast<ChunkOp>(op)) {
      // The loop's results live from its start; each iteration copies the
      // chunks of the inputs that are not contiguous views into buffers of
      // their own.
      SmallVector<int64_t> &args = argOffsetsOf[op];
      for (auto [k, a] : llvm::enumerate(c.getBodyBlock().getArguments())) {
        if (isChunkView(c, k) || tensorBytes(a.getType()) == 0) {
          args.push_back(kViewOffset);
          continue;
        }
        int64_t off = arena.allocate(tensorBytes(a.getType()));
        slots.push_back({op, (unsigned)args.size(), true, arena.idAt(off)});
        offsetOf[a] = off;
        args.push_back(off);
      }
      continue;
    }
    // The op runs with its operands and results in place.
    record(op);
    releaseDying(op->getOperands(), pos);
    // A result nobody reads is dead right after its op.
    for (Value r : op->getResults())
      if (auto it = offsetOf.find(r); it != offsetOf.end() && r.use_empty()) {
        arena.release(it->second);
        offsetOf.erase(it);
      }
  }
  peakArena = arena.peakBytes();

  // First-fit places each buffer knowing only the past; with every
  // lifetime known, largest first often packs tighter (a buffer that lives
  // long no longer splits the arena). The smaller placement is kept.
  SmallVector<int64_t> placed;
  int64_t bySize = arena.placeBySize(pinned, placed);
  if (bySize >= peakArena)
    return;
  for (const Slot &s : slots)
    if (s.arg)
      argOffsetsOf[s.op][s.index] = placed[s.id] + s.delta;
    else
      offsetsOf[s.op][s.index] = placed[s.id] + s.delta;
  peakArena = bySize;
  peakArenaAt = -1;
  // Each step's arena end: the highest end of the buffers live at it. The
  // steps' events only grow, so a sweep over the buffers by their first
  // event keeps the live ones in a heap by their top (a buffer found dead
  // at the top is dropped: it stays dead for every later step).
  ArrayRef<Arena::Interval> all = arena.all();
  SmallVector<int64_t> byBegin(all.size());
  std::iota(byBegin.begin(), byBegin.end(), 0);
  llvm::sort(byBegin, [&](int64_t a, int64_t b) { return all[a].begin < all[b].begin; });
  std::priority_queue<std::pair<int64_t, int64_t>> live; // (top, last event)
  size_t next = 0;
  for (auto [k, step] : llvm::enumerate(schedule)) {
    int64_t at = stepEvents[k];
    for (; next < byBegin.size() && all[byBegin[next]].begin < at; ++next) {
      int64_t id = byBegin[next];
      live.push({placed[id] + all[id].size, all[id].end});
    }
    while (!live.empty() && live.top().second < at)
      live.pop();
    int64_t end = live.empty() ? 0 : live.top().first;
    step.arenaEnd = end;
    // Of the steps that reach the arena's end (a long-lived buffer placed
    // high reaches it at many), the one with the most bytes live: what a
    // smaller plan has to shrink (AutoChunk starts there).
    if (end == peakArena &&
        (peakArenaAt < 0 || step.liveBytes > schedule[peakArenaAt].liveBytes))
      peakArenaAt = k;
  }
}
