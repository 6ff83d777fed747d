//===- Partition.cpp - materialise the plan as a per-rank program ---------===//
//
// Walks @main in order and builds, before each op, its per-rank form. Every
// original value maps to a Local: the per-rank value, its sharding, and the
// per-rank extent of each dimension. A dimension split over axes of total
// size P with global size n has extent >= ceil(n / P); in the global order
// (blocks of ranks 0..P-1, most significant axis first) entries at n and
// beyond are padding. The ops' sharding rules say which operand splits let
// an op run on its blocks alone; `reshard` moves data where an operand has
// another split: all_to_all (a split moves between dimensions), all_gather,
// shard (keep this rank's block; weights are sliced at compile time
// instead), zero padding and unpadding slices.
//
// A token dimension joined from streams (kTokenPiecesAttr: joint attention)
// has a blockwise layout: rank r holds block r of each stream, one stream
// after the other (each block ceil(n_k / P) long, padded at the end of the
// stream). Concats and the splits or slices that undo them then run on the
// blocks; `unblock` and `block` convert to and from the plain layout for
// anything else. A stream kept whole on every rank (kWholePiecesAttr) is a
// piece of its full length on every rank, written negated in `pieces`.
//
//===----------------------------------------------------------------------===//

#include "passes/Parallel/Heads.h"
#include "passes/Parallel/Passes.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

#include <limits>
#include <map>

namespace mlir::ditc {
#define GEN_PASS_DEF_PARTITIONPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
using Axes = SmallVector<std::string, 2>;

struct Local {
  Value value;                  // the per-rank value
  Sharding sharding;            // per dim, the axes splitting it
  SmallVector<int64_t> global;  // the original (unpadded) shape
  /// Per dim: empty (blocks of the whole dimension), or the global lengths
  /// of the streams of a blockwise joined dimension.
  SmallVector<SmallVector<int64_t, 2>> pieces;
  ArrayRef<int64_t> piecesAt(unsigned d) const {
    return d < pieces.size() ? ArrayRef<int64_t>(pieces[d]) : ArrayRef<int64_t>();
  }
  void setPieces(unsigned d, ArrayRef<int64_t> p) {
    pieces.resize(std::max<size_t>(pieces.size(), global.size()));
    pieces[d].assign(p.begin(), p.end());
  }
  SmallVector<int64_t> extent() const {
    return SmallVector<int64_t>(cast<RankedTensorType>(value.getType()).getShape());
  }
};

int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// Per dimension, the stream lengths of a blockwise layout (empty: plain);
/// a stream kept whole on every rank has its length negated.
using Pieces = SmallVector<SmallVector<int64_t, 2>>;

/// The per-rank length of one stream of a blockwise dimension: its block,
/// or all of it when it is kept whole.
int64_t pieceBlock(int64_t n, int64_t p) { return n < 0 ? -n : ceilDiv(n, p); }

/// The per-rank length of a blockwise dimension: its streams' blocks.
int64_t blockwiseExtent(ArrayRef<int64_t> pieces, int64_t p) {
  int64_t n = 0;
  for (int64_t k : pieces)
    n += pieceBlock(k, p);
  return n;
}

/// The global length of a blockwise dimension.
int64_t piecesLength(ArrayRef<int64_t> pieces) {
  int64_t n = 0;
  for (int64_t k : pieces)
    n += std::abs(k);
  return n;
}

bool hasWholePiece(ArrayRef<int64_t> pieces) {
  return llvm::any_of(pieces, [](int64_t n) { return n < 0; });
}

/// The layout of `op`'s kTokenPiecesAttr: whole pieces negated.
SmallVector<int64_t, 2> layoutPieces(Operation *op, ArrayRef<int64_t> pieces) {
  SmallVector<int64_t, 2> out;
  for (auto [k, n] : llvm::enumerate(pieces))
    out.push_back(isWholePiece(op, k) ? -n : n);
  return out;
}

std::string piecesToString(const Pieces &pieces) {
  if (llvm::all_of(pieces, [](const auto &p) { return p.empty(); }))
    return "";
  std::string s;
  for (const auto &p : pieces) {
    s += "|";
    for (int64_t n : p)
      s += std::to_string(n) + ",";
  }
  return s;
}

struct ValueKeyLess {
  bool operator()(const std::pair<Value, std::string> &a,
                  const std::pair<Value, std::string> &b) const {
    if (a.first != b.first)
      return a.first.getAsOpaquePointer() < b.first.getAsOpaquePointer();
    return a.second < b.second;
  }
};

class Partitioner {
public:
  Partitioner(func::FuncOp fn, const Mesh &mesh)
      : fn(fn), mesh(mesh), b(fn.getContext()) {
    for (MeshAxisKind k : mesh.kinds)
      splitsWork |= k != MeshAxisKind::pipeline && k != MeshAxisKind::pipefusion;
  }
  LogicalResult run();

private:
  int64_t groupSize(ArrayRef<std::string> axes) const { return mesh.groupSize(axes); }
  ArrayAttr axesAttr(ArrayRef<std::string> axes) {
    SmallVector<Attribute> names;
    for (const std::string &a : axes)
      names.push_back(b.getStringAttr(a));
    return b.getArrayAttr(names);
  }
  RankedTensorType withShape(Value v, ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, cast<RankedTensorType>(v.getType()).getElementType());
  }
  /// The sharding planned for `v` (replicated when none).
  Sharding planned(Value v) { return shardingOrReplicated(v); }
  Local &lookup(Value v) { return locals.find(v)->second; }

  // Data movement on Locals.
  Local pad(Local x, unsigned d, int64_t to, bool masked = false);
  Local unpad(Local x, unsigned d);
  Local gather(Local x, unsigned d, ArrayRef<std::string> axes);
  Local shard(Value orig, Local x, unsigned d, ArrayRef<std::string> axes);
  Value sliceDim(Value v, unsigned d, int64_t offset, int64_t size);
  /// A blockwise dimension to the plain whole one (gathered, reordered).
  Local unblock(Local x, unsigned d);
  /// A whole dimension to the blockwise layout of `pieces` over `axes`.
  Local block(Local x, unsigned d, ArrayRef<int64_t> pieces, ArrayRef<std::string> axes);
  /// Keys that are padding in a blockwise token layout (or copies of a
  /// whole stream after the first), after `leading` real keys, as a
  /// [1,1,1,keys] i1 "attend" mask (null when every key is real).
  Value blockwiseKeyMask(ArrayRef<int64_t> pieces, int64_t p, int64_t leading = 0);
  /// Ulysses attention over joined tokens with whole streams: their heads
  /// cut on the rank, the other streams' blocks exchanged (all_to_all), the
  /// whole streams' rows gathered back over the heads.
  Local ulyssesWholeStreams(AttentionOp op, Local q, Local k, Local v,
                            ArrayRef<int64_t> pieces, ArrayRef<std::string> uly,
                            int64_t headsLocal);
  Local allToAll(Local x, unsigned split, unsigned concat, ArrayRef<std::string> axes);
  /// `x` with sharding `want` and canonical extents (ceil(n / P)).
  Local reshard(Value orig, Local x, const Sharding &want, const Pieces &wantPieces);
  Value operandAs(Value orig, const Sharding &want, const Pieces &pieces = {}) {
    return localAs(orig, want, pieces).value;
  }
  Local localAs(Value orig, const Sharding &want, const Pieces &pieces = {});
  /// Marks `clone` (of `op`) as computed whole on every rank of its group,
  /// with the reason, when the mesh splits work at all.
  void markReplicated(Operation *op, Operation *clone);

  LogicalResult partitionGeneric(Operation *op);
  /// An RMS norm whose normalised axis is split (a reduction factor).
  LogicalResult partitionSplitRmsNorm(RmsNormOp op, ArrayRef<Value> operands,
                                      const Sharding &sharding, const Pieces &pieces,
                                      const Axes &reduced);
  LogicalResult partitionAttention(AttentionOp op);
  Local expandKvHeads(Local kv, int64_t heads);

  func::FuncOp fn;
  const Mesh &mesh;
  /// The mesh splits ops' work (not only layers into stages).
  bool splitsWork = false;
  OpBuilder b;
  Location loc = b.getUnknownLoc();
  llvm::DenseMap<Value, Local> locals;
  std::map<std::pair<Value, std::string>, Local, ValueKeyLess> reshards;
};

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

Local Partitioner::pad(Local x, unsigned d, int64_t to, bool masked) {
  // Zeros, or for attention masks "do not attend" (-inf, false).
  SmallVector<int64_t> e = x.extent();
  if (e[d] >= to)
    return x;
  SmallVector<int64_t> zshape = e;
  zshape[d] = to - e[d];
  auto zt = withShape(x.value, zshape);
  Type et = zt.getElementType();
  Attribute zero =
      isa<FloatType>(et)
          ? (Attribute)b.getFloatAttr(et, masked ? -std::numeric_limits<double>::infinity() : 0.0)
          : (Attribute)b.getIntegerAttr(et, 0);
  Value z = ConstantOp::create(b, loc, DenseElementsAttr::get(zt, zero));
  e[d] = to;
  x.value = ConcatOp::create(b, loc, withShape(x.value, e), ValueRange{x.value, z},
                             b.getI64IntegerAttr(d));
  return x;
}

Local Partitioner::unpad(Local x, unsigned d) {
  SmallVector<int64_t> e = x.extent();
  int64_t want = ceilDiv(x.global[d], groupSize(x.sharding[d]));
  if (e[d] == want)
    return x;
  SmallVector<int64_t> offsets(e.size(), 0), steps(e.size(), 1);
  e[d] = want;
  x.value = SliceOp::create(b, loc, withShape(x.value, e), x.value,
                            b.getDenseI64ArrayAttr(offsets), b.getDenseI64ArrayAttr(steps));
  return x;
}

Local Partitioner::gather(Local x, unsigned d, ArrayRef<std::string> axes) {
  SmallVector<int64_t> e = x.extent();
  e[d] *= groupSize(axes);
  x.value = AllGatherOp::create(b, loc, withShape(x.value, e), x.value,
                                b.getI64IntegerAttr(d), axesAttr(axes));
  x.sharding[d].resize(x.sharding[d].size() - axes.size());
  x.setPieces(d, {}); // a blockwise dimension is now in rank order (unblock)
  return x;
}

Local Partitioner::shard(Value orig, Local x, unsigned d, ArrayRef<std::string> axes) {
  int64_t p = groupSize(axes);
  SmallVector<int64_t> e = x.extent();
  // Weights still whole: slice them at compile time, per rank.
  auto w = x.value.getDefiningOp<WeightOp>();
  if (w && x.value == orig) {
    Sharding s = x.sharding;
    SmallVector<int64_t> local(e);
    s[d].append(axes.begin(), axes.end());
    local[d] = ceilDiv(e[d], p);
    auto nw = WeightOp::create(b, loc, withShape(x.value, local),
                               (w.getName() + "@" + shardingToString(s)).str(), w.getFile(),
                               w.getOffset());
    nw->setAttr(kShardAttr, shardingToAttr(b.getContext(), s));
    // The stored tensor: its name and shape (a weight padded for the plan
    // carries them; the padding is zeros).
    auto srcName = w->getAttrOfType<StringAttr>(kSourceNameAttr);
    auto srcShape = w->getAttrOfType<DenseI64ArrayAttr>(kGlobalShapeAttr);
    nw->setAttr(kSourceNameAttr, srcName ? srcName : w.getNameAttr());
    nw->setAttr(kGlobalShapeAttr, srcShape ? srcShape : b.getDenseI64ArrayAttr(x.global));
    // A part of a joined weight: its blocks are the window's.
    for (StringRef a : {kWindowOffsetAttr, kWindowShapeAttr})
      if (Attribute v = w->getAttr(a))
        nw->setAttr(a, v);
    x.value = nw;
    x.sharding = s;
    return x;
  }
  if (e[d] % p)
    x = pad(x, d, ceilDiv(e[d], p) * p), e = x.extent();
  e[d] /= p;
  x.value = ShardOp::create(b, loc, withShape(x.value, e), x.value,
                            b.getI64IntegerAttr(d), axesAttr(axes));
  x.sharding[d].append(axes.begin(), axes.end());
  return x;
}

Local Partitioner::allToAll(Local x, unsigned split, unsigned concat,
                            ArrayRef<std::string> axes) {
  int64_t p = groupSize(axes);
  SmallVector<int64_t> e = x.extent();
  if (e[split] % p)
    x = pad(x, split, ceilDiv(e[split], p) * p), e = x.extent();
  e[split] /= p;
  e[concat] *= p;
  x.value = AllToAllOp::create(b, loc, withShape(x.value, e), x.value,
                               b.getI64IntegerAttr(split), b.getI64IntegerAttr(concat),
                               axesAttr(axes));
  x.sharding[concat].resize(x.sharding[concat].size() - axes.size());
  x.sharding[split].append(axes.begin(), axes.end());
  x.setPieces(concat, {});
  x.setPieces(split, {});
  return x;
}

Value Partitioner::sliceDim(Value v, unsigned d, int64_t offset, int64_t size) {
  SmallVector<int64_t> e(cast<RankedTensorType>(v.getType()).getShape());
  SmallVector<int64_t> offsets(e.size(), 0), steps(e.size(), 1);
  offsets[d] = offset;
  e[d] = size;
  return SliceOp::create(b, loc, withShape(v, e), v, b.getDenseI64ArrayAttr(offsets),
                         b.getDenseI64ArrayAttr(steps));
}

Local Partitioner::unblock(Local x, unsigned d) {
  SmallVector<int64_t, 2> pieces(x.piecesAt(d));
  Axes axes = x.sharding[d];
  int64_t p = groupSize(axes), blk = blockwiseExtent(pieces, p);
  x = gather(x, d, axes);
  // Rank r's block of stream k starts at r * blk + (blocks of streams < k);
  // a whole stream is rank 0's copy.
  SmallVector<Value> parts;
  int64_t off = 0;
  for (int64_t n : pieces) {
    int64_t c = pieceBlock(n, p);
    if (n < 0)
      parts.push_back(sliceDim(x.value, d, off, c));
    for (int64_t r = 0; n > 0 && r < p && r * c < n; ++r)
      parts.push_back(sliceDim(x.value, d, r * blk + off, std::min(c, n - r * c)));
    off += c;
  }
  SmallVector<int64_t> e = x.extent();
  e[d] = x.global[d];
  x.value = ConcatOp::create(b, loc, withShape(x.value, e), parts, b.getI64IntegerAttr(d));
  return x;
}

Local Partitioner::block(Local x, unsigned d, ArrayRef<int64_t> pieces,
                         ArrayRef<std::string> axes) {
  SmallVector<Value> parts;
  int64_t off = 0;
  for (int64_t n : pieces) {
    Local part = x;
    part.value = sliceDim(x.value, d, off, std::abs(n));
    part.global[d] = std::abs(n);
    parts.push_back(n < 0 ? part.value : shard(Value(), part, d, axes).value);
    off += std::abs(n);
  }
  SmallVector<int64_t> e = x.extent();
  e[d] = blockwiseExtent(pieces, groupSize(axes));
  x.value = ConcatOp::create(b, loc, withShape(x.value, e), parts, b.getI64IntegerAttr(d));
  x.sharding[d].assign(axes.begin(), axes.end());
  x.setPieces(d, pieces);
  return x;
}

Value Partitioner::blockwiseKeyMask(ArrayRef<int64_t> pieces, int64_t p, int64_t leading) {
  int64_t blk = blockwiseExtent(pieces, p), keys = leading + p * blk;
  SmallVector<bool> keep(keys, true);
  bool padded = false;
  for (int64_t r = 0; r < p; ++r) {
    int64_t off = leading + r * blk;
    for (int64_t n : pieces) {
      int64_t c = pieceBlock(n, p);
      for (int64_t j = 0; j < c; ++j) {
        bool real = n < 0 ? r == 0 : r * c + j < n;
        keep[off + j] = real;
        padded |= !real;
      }
      off += c;
    }
  }
  if (!padded)
    return Value();
  auto mt = RankedTensorType::get({1, 1, 1, keys}, b.getI1Type());
  return ConstantOp::create(b, loc, DenseElementsAttr::get(mt, ArrayRef<bool>(keep)));
}

Local Partitioner::reshard(Value orig, Local x, const Sharding &wantIn,
                           const Pieces &wantPieces) {
  unsigned rank = x.global.size();
  auto piecesWanted = [&](unsigned d) {
    return d < wantPieces.size() ? ArrayRef<int64_t>(wantPieces[d]) : ArrayRef<int64_t>();
  };
  // 0. Blockwise dimensions that change layout or split: to the plain
  // layout first. Dimensions to become blockwise: whole first (step 5).
  for (unsigned d = 0; d < rank; ++d)
    if (!x.piecesAt(d).empty() &&
        (wantIn[d] != x.sharding[d] || piecesWanted(d) != x.piecesAt(d)))
      x = unblock(x, d);
  Sharding want = wantIn;
  for (unsigned d = 0; d < rank; ++d)
    if (!piecesWanted(d).empty() && x.piecesAt(d).empty())
      want[d].clear();
  auto suffixAfter = [](const Axes &have, const Axes &target) {
    // The axes of `have` beyond its longest common prefix with `target`.
    size_t k = 0;
    while (k < have.size() && k < target.size() && have[k] == target[k])
      ++k;
    return Axes(have.begin() + k, have.end());
  };
  // 1. Splits that move between dimensions: one all_to_all each.
  for (unsigned d = 0; d < rank; ++d) {
    Axes extra = suffixAfter(x.sharding[d], want[d]);
    if (extra.empty())
      continue;
    for (unsigned d2 = 0; d2 < rank; ++d2) {
      if (d2 == d)
        continue;
      Axes grown = x.sharding[d2];
      grown.append(extra.begin(), extra.end());
      // The split side must be whole or split exactly, never padded inside.
      bool clean = x.sharding[d2].empty() ||
                   x.extent()[d2] % groupSize(extra) == 0;
      if (grown == want[d2] && clean) {
        x = allToAll(x, d2, d, extra);
        break;
      }
    }
  }
  // 2. Splits to drop: all_gather.
  for (unsigned d = 0; d < rank; ++d) {
    Axes extra = suffixAfter(x.sharding[d], want[d]);
    if (!extra.empty())
      x = gather(x, d, extra);
  }
  // 3. Dimensions whole (or less split) that must be split: keep a block.
  for (unsigned d = 0; d < rank; ++d) {
    if (x.sharding[d] == want[d])
      continue;
    Axes add(want[d].begin() + x.sharding[d].size(), want[d].end());
    if (!x.sharding[d].empty() && x.extent()[d] % groupSize(add)) {
      // A padded block cannot be cut again consistently: gather it first.
      x = gather(x, d, Axes(x.sharding[d]));
      add = want[d];
    }
    if (x.sharding[d].empty())
      x = unpad(x, d);
    x = shard(orig, x, d, add);
  }
  // 4. Canonical extents: drop padding the target does not need.
  for (unsigned d = 0; d < rank; ++d) {
    if (!x.piecesAt(d).empty())
      continue;
    int64_t canonical = ceilDiv(x.global[d], groupSize(x.sharding[d]));
    if (x.extent()[d] == canonical)
      continue;
    if (!x.sharding[d].empty()) {
      Axes all = x.sharding[d];
      x = gather(x, d, all);
      x = unpad(x, d);
      x = shard(orig, x, d, all);
    } else {
      x = unpad(x, d);
    }
  }
  // 5. Whole dimensions to lay out blockwise.
  for (unsigned d = 0; d < rank; ++d)
    if (!piecesWanted(d).empty() && x.piecesAt(d).empty())
      x = block(x, d, piecesWanted(d), wantIn[d]);
  return x;
}

Local Partitioner::localAs(Value orig, const Sharding &want, const Pieces &pieces) {
  // One reshard per value and split, shared by all later users.
  auto key = std::make_pair(orig, shardingToString(want) + piecesToString(pieces));
  auto it = reshards.find(key);
  if (it != reshards.end())
    return it->second;
  Local l = reshard(orig, lookup(orig), want, pieces);
  reshards.emplace(key, l);
  return l;
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult Partitioner::partitionGeneric(Operation *op) {
  auto iface = dyn_cast<ShardingRuleOpInterface>(op);
  ShardingRule rule = iface ? iface.getShardingRule() : ShardingRule();
  unsigned nOperands = op->getNumOperands();
  auto valueAt = [&](unsigned idx) {
    return idx < nOperands ? op->getOperand(idx) : op->getResult(idx - nOperands);
  };
  auto dimSize = [&](unsigned idx, unsigned d) {
    return cast<RankedTensorType>(valueAt(idx).getType()).getDimSize(d);
  };
  // Each factor takes the split planned for it; an axis splits one factor.
  SmallVector<Axes> factorAxes(rule.factors.size());
  llvm::StringSet<> used;
  // A contraction may be split, its partial sums added up after it; not
  // that of a layer with an activation (the activation of a partial sum is
  // not a part of the activation): its operands are gathered instead.
  auto linearOp = dyn_cast<LinearOp>(op);
  bool reductionOk = isa<MatmulOp, RmsNormOp>(op) || (linearOp && !linearOp.getActivation());
  for (auto [i, f] : llvm::enumerate(rule.factors)) {
    if (f.kind == ShardingFactor::Kind::Reduction && !reductionOk)
      continue;
    auto it = llvm::find_if(f.dims, [&](auto p) { return p.first >= nOperands; });
    auto [idx, d] = it != f.dims.end() ? *it : f.dims.front();
    Axes axes = planned(valueAt(idx))[d];
    if (axes.empty())
      continue;
    if (llvm::any_of(axes, [&](const std::string &a) { return used.contains(a); }))
      continue;
    int64_t p = groupSize(axes);
    bool ok = true;
    for (auto [ix, dd] : f.dims) {
      int64_t n = dimSize(ix, dd);
      if (n <= 1 || (f.exact && n % p))
        ok = false;
    }
    if (f.kind == ShardingFactor::Kind::Reduction)
      for (auto [ix, dd] : f.dims)
        if (dimSize(ix, dd) % p)
          ok = false; // padded contraction would sum garbage
    if (!ok)
      continue;
    for (const std::string &a : axes)
      used.insert(a);
    factorAxes[i] = axes;
  }
  // A split factor over a blockwise joined dimension keeps the layout
  // where every dimension of the factor has the joined length.
  auto tokenPieces = op->getAttrOfType<DenseI64ArrayAttr>(kTokenPiecesAttr);
  std::optional<unsigned> joinAxis = tokenPieces ? tokenPiecesAxis(op) : std::nullopt;
  SmallVector<SmallVector<int64_t, 2>> factorPieces(rule.factors.size());
  for (auto [i, f] : llvm::enumerate(rule.factors)) {
    if (factorAxes[i].empty())
      continue;
    for (auto [idx, d] : f.dims) {
      if (idx >= nOperands)
        continue;
      const Local &in = lookup(op->getOperand(idx));
      if (!in.piecesAt(d).empty() && in.sharding[d] == factorAxes[i]) {
        factorPieces[i].assign(in.piecesAt(d).begin(), in.piecesAt(d).end());
        break;
      }
    }
    int64_t total = piecesLength(factorPieces[i]);
    if (llvm::any_of(f.dims, [&](auto p) { return dimSize(p.first, p.second) != total; }))
      factorPieces[i].clear();
  }
  // Per operand / result: the split each dimension needs.
  SmallVector<Sharding, 4> want;
  SmallVector<Pieces, 4> wantPieces;
  for (unsigned idx = 0; idx < nOperands + op->getNumResults(); ++idx) {
    unsigned r = cast<RankedTensorType>(valueAt(idx).getType()).getRank();
    want.push_back(Sharding(r));
    wantPieces.push_back(Pieces(r));
  }
  Axes reduced;
  for (auto [i, f] : llvm::enumerate(rule.factors)) {
    for (auto [idx, d] : f.dims) {
      want[idx][d] = factorAxes[i];
      wantPieces[idx][d] = factorPieces[i];
    }
    if (f.kind == ShardingFactor::Kind::Reduction)
      reduced.append(factorAxes[i].begin(), factorAxes[i].end());
  }
  // The join and its inverse, split over their axis: the concat's operands
  // and the split's or slice's results are plain blocks of the streams, the
  // joined side blockwise.
  // The slice of a whole stream takes it from the joined blocks in place.
  SmallVector<int64_t, 2> layout;
  if (tokenPieces)
    layout = layoutPieces(op, tokenPieces.asArrayRef());
  if (auto slice = dyn_cast<SliceOp>(op); slice && joinAxis) {
    const Local &in = lookup(slice.getInput());
    std::optional<unsigned> k = slicedPiece(op, tokenPieces.asArrayRef());
    if (k && isWholePiece(op, *k) && in.piecesAt(*joinAxis) == ArrayRef<int64_t>(layout))
      want[0][*joinAxis] = in.sharding[*joinAxis];
  }
  bool joinSplit = joinAxis && !want[isa<ConcatOp>(op) ? nOperands : 0][*joinAxis].empty();
  if (joinSplit)
    for (unsigned idx = 0; idx < want.size(); ++idx)
      wantPieces[idx][*joinAxis] = (idx < nOperands) == isa<ConcatOp>(op)
                                       ? SmallVector<int64_t, 2>()
                                       : layout;
  // Operands by position: one value may be used twice with two splits.
  SmallVector<Value> operands;
  for (unsigned k = 0; k < nOperands; ++k)
    operands.push_back(operandAs(op->getOperand(k), want[k], wantPieces[k]));
  if (auto norm = dyn_cast<RmsNormOp>(op); norm && !reduced.empty())
    return partitionSplitRmsNorm(norm, operands, want[nOperands], wantPieces[nOperands],
                                 reduced);
  // Tensor parallelism: the bias is added once, after the sum.
  Value bias;
  auto linear = dyn_cast<LinearOp>(op);
  if (linear && linear.getBias() && !reduced.empty())
    bias = operands[2];
  Operation *clone = b.clone(*op);
  clone->setOperands(operands);
  clone->removeAttr(kShardingAttr);
  clone->removeAttr(kSequenceParallelAttr);
  clone->removeAttr(kTokenPiecesAttr);
  clone->removeAttr(kWholePiecesAttr);
  if (bias)
    clone->eraseOperand(2);
  // The per-rank op still joins or cuts the streams (its own blocks of
  // them, or the whole streams when the axis is not split): PipeFusion's
  // patches cut each stream the same way.
  if (tokenPieces) {
    int64_t p = joinSplit ? groupSize(want[isa<ConcatOp>(op) ? nOperands : 0][*joinAxis]) : 1;
    SmallVector<int64_t> local;
    for (int64_t n : joinSplit ? layout : SmallVector<int64_t, 2>(tokenPieces.asArrayRef()))
      local.push_back(pieceBlock(n, p));
    clone->setAttr(kTokenPiecesAttr, b.getDenseI64ArrayAttr(local));
  }
  if (joinSplit && isa<SliceOp>(op)) {
    // The piece's block starts after the blocks of the pieces before it.
    ArrayRef<int64_t> pieces = layout;
    unsigned k = *slicedPiece(op, tokenPieces.asArrayRef());
    SmallVector<int64_t> offsets(cast<SliceOp>(op).getOffsets());
    offsets[*joinAxis] =
        blockwiseExtent(pieces.take_front(k), groupSize(want[0][*joinAxis]));
    clone->setAttr("offsets", b.getDenseI64ArrayAttr(offsets));
  }
  markReplicated(op, clone);
  for (unsigned r = 0; r < op->getNumResults(); ++r) {
    Value orig = op->getResult(r);
    SmallVector<int64_t> shape(cast<RankedTensorType>(orig.getType()).getShape());
    const Sharding &s = want[nOperands + r];
    const Pieces &pieces = wantPieces[nOperands + r];
    for (unsigned d = 0; d < shape.size(); ++d)
      shape[d] = pieces[d].empty() ? ceilDiv(shape[d], groupSize(s[d]))
                                   : blockwiseExtent(pieces[d], groupSize(s[d]));
    clone->getResult(r).setType(withShape(orig, shape));
    Local out{clone->getResult(r), s, SmallVector<int64_t>(cast<RankedTensorType>(orig.getType()).getShape()), pieces};
    if (!reduced.empty()) {
      out.value = AllReduceOp::create(b, loc, out.value.getType(), out.value, axesAttr(reduced));
      if (bias)
        out.value = AddOp::create(b, loc, out.value.getType(), out.value, bias);
    }
    locals[orig] = out;
  }
  return success();
}

LogicalResult Partitioner::partitionSplitRmsNorm(RmsNormOp op, ArrayRef<Value> operands,
                                                 const Sharding &sharding,
                                                 const Pieces &pieces, const Axes &reduced) {
  // x / sqrt(mean(x^2) + eps) * scale with the normalised (last) axis
  // split: each rank sums the squares of its part, the sums are
  // all-reduced, and the mean is taken over the whole axis.
  Location loc = op.getLoc();
  Value x = operands[0];
  auto xt = cast<RankedTensorType>(x.getType());
  Type et = xt.getElementType();
  unsigned last = xt.getRank() - 1;
  int64_t whole = shapeOf(op.getInput())[last];
  SmallVector<int64_t> statShape(xt.getShape());
  statShape[last] = 1;
  auto st = RankedTensorType::get(statShape, et);
  auto scalar = [&](double v) -> Value {
    auto t = RankedTensorType::get({}, et);
    return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, b.getFloatAttr(et, v)));
  };
  Value squares = MulOp::create(b, loc, xt, x, x);
  Value sum = ReduceSumOp::create(b, loc, st, squares, SmallVector<int64_t>{(int64_t)last}, true);
  sum = AllReduceOp::create(b, loc, st, sum, axesAttr(reduced));
  Value mean = MulOp::create(b, loc, st, sum, scalar(1.0 / (double)whole));
  Value shifted = AddOp::create(b, loc, st, mean, scalar(op.getEpsilon().convertToDouble()));
  Value inv = ReciprocalOp::create(b, loc, st, SqrtOp::create(b, loc, st, shifted));
  Value y = MulOp::create(b, loc, xt, x, inv);
  if (op.getScale())
    y = MulOp::create(b, loc, xt, y, operands[1]);
  locals[op.getResult()] =
      Local{y, sharding, SmallVector<int64_t>(shapeOf(op.getResult())), pieces};
  return success();
}

void Partitioner::markReplicated(Operation *op, Operation *clone) {
  if (!splitsWork)
    return;
  auto sameShapes = [](ValueRange a, ValueRange b) {
    return llvm::all_of(llvm::zip(a, b), [](auto p) {
      return cast<ShapedType>(std::get<0>(p).getType()).getShape() ==
             cast<ShapedType>(std::get<1>(p).getType()).getShape();
    });
  };
  if (!sameShapes(op->getResults(), clone->getResults()) ||
      !sameShapes(op->getOperands(), clone->getOperands()))
    return;
  std::string reason = "has no dimension tied to a split one";
  for (auto [k, v] : llvm::enumerate(op->getOperands())) {
    const Sharding &in = lookup(v).sharding;
    auto split = llvm::find_if(in, [](const Axes &a) { return !a.empty(); });
    if (split == in.end())
      continue;
    reason = ("needs dimension " + Twine(split - in.begin()) + " of operand " + Twine(k) +
              " whole, which arrives split over [" + llvm::join(*split, ", ") +
              "] (the partition inserts an all_gather)")
                 .str();
    break;
  }
  clone->setAttr(kReplicatedAttr, b.getStringAttr(reason));
}

Local Partitioner::expandKvHeads(Local kv, int64_t heads) {
  // On blocks whose head dimension is whole.
  kv.value = repeatKvHeads(b, loc, kv.value, heads);
  kv.global[1] = heads;
  return kv;
}

LogicalResult Partitioner::partitionAttention(AttentionOp op) {
  // Sequence parallelism is planned on [B, H, S, D] tensors: the layout
  // -ditc-legalize-runtime gives attention comes after partitioning.
  if (op.getSeqMajor())
    return op.emitOpError("has seq_major tensors: partition before -ditc-legalize-runtime");
  Sharding qs = planned(op.getQuery()), ks = planned(op.getKey());
  Axes seq = qs[2];
  // The algorithm the plan chose (ditc-plan writes it on every attention
  // whose tokens it splits); the token axes by kind: ring axes first (the
  // ring's, then its inner rings' under a double ring).
  auto algorithm = op->getAttrOfType<SequenceParallelAttr>(kSequenceParallelAttr);
  Axes ring, uly, inner;
  bool kindsFit = true;
  for (const std::string &a : seq) {
    std::optional<MeshAxisKind> kind = mesh.kindOf(a);
    (kind == MeshAxisKind::ulysses ? uly : ring).push_back(a);
    if (kind == MeshAxisKind::ring_inner)
      inner.push_back(a);
    kindsFit &= kind == MeshAxisKind::ulysses || kind == MeshAxisKind::ring ||
                kind == MeshAxisKind::ring_inner;
  }
  if (algorithm) {
    SequenceParallel want = algorithm.getValue();
    kindsFit &= (want == SequenceParallel::ulysses && ring.empty()) ||
                (want == SequenceParallel::ring && uly.empty()) ||
                (want == SequenceParallel::usp && !ring.empty() && !uly.empty());
  }
  bool ordered = seq == [&] { Axes r = ring; r.append(uly.begin(), uly.end()); return r; }();
  int64_t h = shapeOf(op.getQuery())[1], hkv = shapeOf(op.getKey())[1];
  // Masks whose head dimension is broadcast (per-head masks gather K/V).
  Value maskOrig = op.getMask();
  SmallVector<int64_t> m4(4, 1);
  if (maskOrig) {
    ArrayRef<int64_t> m = shapeOf(maskOrig);
    for (unsigned d = 0; d < m.size(); ++d)
      m4[4 - m.size() + d] = m[d];
  }
  bool sp = algorithm && !seq.empty() && ks[2] == seq && ordered &&
            (!maskOrig || m4[1] == 1) && kindsFit;
  if (!sp) {
    // Tokens whole around this attention (gathered by the generic path).
    ring.clear();
    uly.clear();
  }
  Axes headAxes = qs[1];
  bool kvFollows = ks[1] == headAxes;
  if (!sp && (headAxes.empty() || hkv == h || (maskOrig && m4[1] != 1)))
    return partitionGeneric(op);

  // Batch and heads as planned; tokens as planned for Q, K and V alike.
  Sharding q4(4), kv4(4);
  q4[0] = kv4[0] = qs[0];
  q4[1] = headAxes;
  kv4[1] = kvFollows ? headAxes : Axes();
  if (sp)
    q4[2] = kv4[2] = seq;
  // Joint tokens arriving blockwise stay so: attention over all keys does
  // not depend on their order (padded keys are masked below).
  Pieces qp(4), kvp(4);
  if (sp && !maskOrig && !op.getCausal()) {
    auto arriving = [&](Value x) { return lookup(x).sharding[2] == seq ? lookup(x).piecesAt(2) : ArrayRef<int64_t>(); };
    qp[2].assign(arriving(op.getQuery()).begin(), arriving(op.getQuery()).end());
    ArrayRef<int64_t> kp = arriving(op.getKey()).empty() ? arriving(op.getValue()) : arriving(op.getKey());
    kvp[2].assign(kp.begin(), kp.end());
  }
  Local q = localAs(op.getQuery(), q4, qp);
  Local k = localAs(op.getKey(), kv4, kvp);
  Local v = localAs(op.getValue(), kv4, kvp);
  // K/V heads that do not follow the query heads' split: one per query head.
  if (hkv != h && (!kvFollows || (!uly.empty() &&
                                   (hkv / groupSize(headAxes)) % groupSize(uly)))) {
    if (!k.sharding[1].empty()) {
      k = gather(k, 1, Axes(k.sharding[1]));
      v = gather(v, 1, Axes(v.sharding[1]));
    }
    k = expandKvHeads(k, h);
    v = expandKvHeads(v, h);
    if (!headAxes.empty()) {
      k = shard(op.getKey(), k, 1, headAxes);
      v = shard(op.getValue(), v, 1, headAxes);
    }
  }
  int64_t tokens = shapeOf(op.getQuery())[2];
  int64_t headsLocal = q.extent()[1];
  if (sp && ring.empty() && hasWholePiece(qp[2]) && kvp[2] == qp[2]) {
    locals[op.getResult()] = ulyssesWholeStreams(op, q, k, v, qp[2], uly, headsLocal);
    return success();
  }
  if (!uly.empty()) {
    int64_t pu = groupSize(uly);
    int64_t padded = ceilDiv(headsLocal, pu) * pu;
    q = allToAll(pad(q, 1, padded), 1, 2, uly);
    k = allToAll(pad(k, 1, ceilDiv(k.extent()[1], pu) * pu), 1, 2, uly);
    v = allToAll(pad(v, 1, ceilDiv(v.extent()[1], pu) * pu), 1, 2, uly);
  }
  SmallVector<int64_t> oshape = q.extent();
  oshape[3] = v.extent()[3];
  auto otype = withShape(q.value, oshape);
  // The mask: batch as planned, heads broadcast, query rows as this rank's
  // (whole after Ulysses; the ring block under Ring), keys whole; padded
  // rows and keys masked out.
  Value mask;
  if (maskOrig) {
    unsigned off = 4 - shapeOf(maskOrig).size();
    Sharding ms(shapeOf(maskOrig).size());
    if (off == 0 && m4[0] > 1)
      ms[0] = qs[0];
    Local mk = localAs(maskOrig, ms);
    int64_t rows = q.extent()[2] * groupSize(ring), keys = k.extent()[2] * groupSize(ring);
    if (m4[2] > 1 && sp)
      mk = pad(mk, 2 - off, rows, true);
    if (m4[3] > 1 && sp)
      mk = pad(mk, 3 - off, keys, true);
    if (m4[2] > 1 && !ring.empty())
      mk = shard(maskOrig, mk, 2 - off, ring);
    mask = mk.value;
  }
  if (!kvp[2].empty())
    mask = blockwiseKeyMask(kvp[2], groupSize(seq));
  Value o;
  if (!ring.empty()) {
    int64_t pr = groupSize(ring);
    int64_t valid = kvp[2].empty() && pr * k.extent()[2] > tokens ? tokens : 0;
    // A double ring: the inner rings are the trailing ring axes.
    ArrayRef<std::string> ringAxes(ring), innerAxes(inner);
    bool doubleRing = !inner.empty() && inner.size() < ring.size() &&
                      ringAxes.take_back(inner.size()) == innerAxes;
    o = RingAttentionOp::create(b, loc, otype, q.value, k.value, v.value, mask,
                                op.getScaleAttr(), op.getCausalAttr(),
                                b.getI64IntegerAttr(valid), axesAttr(ring),
                                doubleRing ? axesAttr(inner) : ArrayAttr(),
                                /*seq_major=*/nullptr);
  } else {
    int64_t kl = k.extent()[2];
    if (sp && kl > tokens && !mask && kvp[2].empty()) {
      // Padded keys (after the all_to_all the tokens are whole): mask them.
      auto mt = RankedTensorType::get({1, 1, 1, kl}, b.getI1Type());
      SmallVector<bool> keep(kl);
      for (int64_t j = 0; j < kl; ++j)
        keep[j] = j < tokens;
      mask = ConstantOp::create(b, loc, DenseElementsAttr::get(mt, ArrayRef<bool>(keep)));
    }
    o = AttentionOp::create(b, loc, otype, q.value, k.value, v.value, mask, Value(),
                            op.getScaleAttr(), op.getCausalAttr(), /*seq_major=*/nullptr);
  }
  Local out{o, q.sharding, SmallVector<int64_t>(shapeOf(op.getResult()))};
  if (!uly.empty()) {
    out = allToAll(out, 2, 1, uly);
    if (out.extent()[1] != headsLocal) {
      SmallVector<int64_t> e = out.extent(), zeros(4, 0), ones(4, 1);
      e[1] = headsLocal;
      out.value = SliceOp::create(b, loc, withShape(out.value, e), out.value,
                                  b.getDenseI64ArrayAttr(zeros), b.getDenseI64ArrayAttr(ones));
    }
  }
  // The rows are the queries' blocks, in their layout.
  out.setPieces(2, qp[2]);
  locals[op.getResult()] = out;
  return success();
}

Local Partitioner::ulyssesWholeStreams(AttentionOp op, Local q, Local k, Local v,
                                       ArrayRef<int64_t> pieces, ArrayRef<std::string> uly,
                                       int64_t headsLocal) {
  int64_t pu = groupSize(uly);
  SmallVector<int64_t, 2> split; // the streams split over the ranks
  int64_t wholeTokens = 0;
  for (int64_t n : pieces)
    if (n < 0)
      wholeTokens -= n;
    else
      split.push_back(n);
  // Rows [whole streams (this rank's heads) | blocks of the other streams
  // from every rank (the all_to_all's order)], heads cut over `uly`.
  auto joinRows = [&](Local x) {
    // The streams' rows: the operands of the concat that joined them, or
    // slices.
    auto c = x.value.getDefiningOp<ConcatOp>();
    bool joinedHere = c && c.getAxis() == 2 && c.getNumOperands() == pieces.size() &&
                      llvm::all_of(llvm::zip(c.getInputs(), pieces), [&](auto p) {
                        return shapeOf(std::get<0>(p))[2] == pieceBlock(std::get<1>(p), pu);
                      });
    SmallVector<Value> whole, blocks;
    int64_t off = 0;
    for (auto [k, n] : llvm::enumerate(pieces)) {
      int64_t rows = pieceBlock(n, pu);
      (n < 0 ? whole : blocks)
          .push_back(joinedHere ? c.getInputs()[k] : sliceDim(x.value, 2, off, rows));
      off += rows;
    }
    auto joined = [&](ArrayRef<Value> parts) {
      if (parts.size() == 1)
        return parts.front();
      SmallVector<int64_t> e = x.extent();
      e[2] = 0;
      for (Value p : parts)
        e[2] += shapeOf(p)[2];
      return (Value)ConcatOp::create(b, loc, withShape(x.value, e), parts,
                                     b.getI64IntegerAttr(2));
    };
    Local w = x, s = x;
    w.value = joined(whole);
    s.value = joined(blocks);
    w.sharding[2].clear();
    w = shard(Value(), w, 1, uly);
    s = allToAll(pad(s, 1, ceilDiv(x.extent()[1], pu) * pu), 1, 2, uly);
    SmallVector<int64_t> e = w.extent();
    e[2] += s.extent()[2];
    w.value = ConcatOp::create(b, loc, withShape(w.value, e), ValueRange{w.value, s.value},
                               b.getI64IntegerAttr(2));
    return w;
  };
  Local qj = joinRows(q);
  Local kj = k.value == q.value ? qj : joinRows(k);
  Local vj = v.value == k.value ? kj : joinRows(v);
  // Every key of the whole streams is real; the blocks' padding is not.
  Value mask = blockwiseKeyMask(split, pu, wholeTokens);
  SmallVector<int64_t> oshape = qj.extent();
  oshape[3] = vj.extent()[3];
  Value o = AttentionOp::create(b, loc, withShape(qj.value, oshape), qj.value, kj.value,
                                vj.value, mask, Value(), op.getScaleAttr(),
                                op.getCausalAttr(), /*seq_major=*/nullptr);
  // Back: the whole streams' rows gathered over the heads, the blocks
  // returned to their ranks; both cut to this rank's heads.
  auto heads = [&](Local x) {
    if (x.extent()[1] != headsLocal)
      x.value = sliceDim(x.value, 1, 0, headsLocal);
    return x.value;
  };
  Local ow = qj, os = qj;
  ow.value = sliceDim(o, 2, 0, wholeTokens);
  os.value = sliceDim(o, 2, wholeTokens, oshape[2] - wholeTokens);
  Value whole = heads(gather(ow, 1, uly));
  Value blocks = heads(allToAll(os, 2, 1, uly));
  // The rows in the pieces' order again.
  SmallVector<Value> parts;
  int64_t atWhole = 0, atBlock = 0;
  for (int64_t n : pieces) {
    int64_t c = pieceBlock(n, pu), &at = n < 0 ? atWhole : atBlock;
    Value from = n < 0 ? whole : blocks;
    parts.push_back(at == 0 && shapeOf(from)[2] == c ? from : sliceDim(from, 2, at, c));
    at += c;
  }
  SmallVector<int64_t> e(shapeOf(whole));
  e[2] = blockwiseExtent(pieces, pu);
  Local out{ConcatOp::create(b, loc, withShape(whole, e), parts, b.getI64IntegerAttr(2)),
            q.sharding, SmallVector<int64_t>(shapeOf(op.getResult()))};
  out.setPieces(2, pieces);
  return out;
}

LogicalResult Partitioner::run() {
  Block &body = fn.getBody().front();
  for (BlockArgument a : body.getArguments())
    locals[a] = Local{a, Sharding(typeOf(a).getRank()),
                      SmallVector<int64_t>(typeOf(a).getShape())};
  SmallVector<Operation *> originals;
  for (Operation &op : body)
    originals.push_back(&op);
  for (Operation *op : originals) {
    loc = op->getLoc();
    b.setInsertionPoint(op);
    if (auto ret = dyn_cast<func::ReturnOp>(op)) {
      SmallVector<Value> outs;
      for (Value v : ret.getOperands())
        outs.push_back(operandAs(v, Sharding(typeOf(v).getRank())));
      func::ReturnOp::create(b, loc, outs);
      continue;
    }
    if (op->getNumOperands() == 0) { // weights and constants: whole
      for (Value r : op->getResults())
        locals[r] = Local{r, Sharding(typeOf(r).getRank()),
                          SmallVector<int64_t>(typeOf(r).getShape())};
      op->removeAttr(kShardingAttr);
      continue;
    }
    if (op->getNumRegions())
      return op->emitError("cannot partition an op with regions");
    LogicalResult r = isa<AttentionOp>(op) ? partitionAttention(cast<AttentionOp>(op))
                                           : partitionGeneric(op);
    if (failed(r))
      return failure();
  }
  // The originals are dead now, except sources the new ops still use.
  for (Operation *op : llvm::reverse(originals))
    if (op->use_empty())
      op->erase();
  for (unsigned k = 0; k < fn.getNumArguments(); ++k)
    fn.removeArgAttr(k, kShardingAttr);
  return success();
}

struct PartitionPass : ditc::impl::PartitionPassBase<PartitionPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Mesh> mesh = Mesh::of(module);
    if (failed(mesh))
      return signalPassFailure();
    for (auto fn : llvm::make_early_inc_range(module.getOps<func::FuncOp>())) {
      if (mesh->axes.empty()) {
        fn.walk([](Operation *op) {
          op->removeAttr(kShardingAttr);
          op->removeAttr(kSequenceParallelAttr);
        });
        continue;
      }
      Partitioner p(fn, *mesh);
      if (failed(p.run()))
        return signalPassFailure();
    }
  }
};
} // namespace
