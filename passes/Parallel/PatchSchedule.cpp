//===- PatchSchedule.cpp - PipeFusion's stale, patch-pipelined schedule ---===//
//
// The image tokens are the dimensions tied, through the ops' sharding rules,
// to the query tokens of a self-attention (an attention whose keys and
// values come from the same tokens). Collectives of the per-rank program
// keep them tied: an all_to_all or all_gather of patch m of every rank's
// block is patch m of the result, in a fixed order. Each op is then
//
// - per patch: every token dimension it reads or writes is in one parallel
//   factor of its rule (it computes patch by patch) and divides into the
//   patches; a self-attention is per patch too, its keys and values going
//   through the K/V buffers;
// - global: it touches no token dimension (the timestep embedding, the
//   adaLN modulation, the text encoder's projections): it runs once;
// - whole: anything else (the patch-embedding convolution, a pooling over
//   the tokens): it runs once on all the tokens.
//
// A stage runs its global and whole ops that need no patch (prologue), then
// its per-patch ops once per patch, then the ops that join patches
// (epilogue). An op that could run per patch but reads an epilogue value
// runs whole in the epilogue too (the layers after the last attention); an
// attention that depends on an epilogue would make every stage wait for the
// whole image between two layers: the schedule is then refused and the
// library runs the synchronous one at every step.
//
//===----------------------------------------------------------------------===//

#include "passes/Parallel/Stages.h"

#include "passes/Parallel/DimClasses.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"

#include <map>

using namespace mlir;
using namespace mlir::ditc;

namespace {

enum class Kind { Global, Patch, Whole, Attention };

Value valueAt(Operation *op, unsigned idx) {
  unsigned n = op->getNumOperands();
  return idx < n ? op->getOperand(idx) : op->getResult(idx - n);
}

ShardingRule ruleOf(Operation *op) {
  auto iface = dyn_cast<ShardingRuleOpInterface>(op);
  return iface ? iface.getShardingRule() : ShardingRule();
}

struct StaleBuilder {
  StaleBuilder(func::FuncOp fn, ArrayRef<Operation *> work, ArrayRef<int64_t> stageOf,
               int64_t stages, int64_t patches, std::string &why)
      : fn(fn), work(work), stageOf(stageOf), stages(stages), patches(patches), why(why),
        classes(fn, /*parallelOnly=*/true) {}
  func::FuncOp fn;
  ArrayRef<Operation *> work;
  ArrayRef<int64_t> stageOf;
  int64_t stages, patches;
  std::string &why;

  /// Dimensions tied by the ops' parallel factors, and (tie()) by the token
  /// dimensions collectives move.
  DimClasses classes;
  llvm::DenseSet<unsigned> tokens; // the token classes
  SmallVector<Kind> kind;
  SmallVector<int> phase; // 0 prologue, 1 per patch, 2 epilogue
  llvm::DenseMap<Operation *, int64_t> indexOf;
  /// Per token-carrying value, the layout of its token dimension: G blocks
  /// of ranks (1 before a Ulysses all_to_all gathers the tokens, U after
  /// it), each the same streams one after the other (joint attention: the
  /// pieces a ditc.token_pieces concat joined; one stream otherwise).
  /// Patch m of it is, per block and stream, chunk m of the stream: streams
  /// of n tokens are cut into chunks of n / M, the first n % M one longer.
  struct Layout {
    int64_t groups = 1;
    SmallVector<int64_t, 2> pieces;
  };
  llvm::DenseMap<Value, Layout> layouts;
  Layout layoutOf(Value v) {
    auto it = layouts.find(v);
    if (it != layouts.end())
      return it->second;
    Layout l;
    if (int64_t d = tdim(v); d >= 0)
      l.pieces.push_back(shapeOf(v)[d]);
    return l;
  }
  int64_t groupsOf(Value v) { return layoutOf(v).groups; }
  int64_t chunkStart(int64_t n, int64_t m) { return m * (n / patches) + std::min(m, n % patches); }
  int64_t chunkSize(int64_t n, int64_t m) { return n / patches + (m < n % patches ? 1 : 0); }
  /// Tokens of patch m per block of ranks.
  int64_t patchBlock(const Layout &l, int64_t m) {
    int64_t n = 0;
    for (int64_t p : l.pieces)
      n += chunkSize(p, m);
    return n;
  }
  /// Every stream has a token for every patch.
  bool cuts(Value v) {
    Layout l = layoutOf(v);
    return llvm::all_of(l.pieces, [&](int64_t n) { return n >= patches; });
  }
  /// Where patch m's chunks lie: (offset in the whole value, offset in the
  /// patch, size), per block and stream.
  struct Chunk {
    int64_t whole, patch, size;
  };
  SmallVector<Chunk> chunksOf(Value v, int64_t m) {
    Layout l = layoutOf(v);
    int64_t d = tdim(v), block = shapeOf(v)[d] / l.groups, pblock = patchBlock(l, m);
    SmallVector<Chunk> out;
    for (int64_t k = 0; k < l.groups; ++k) {
      int64_t at = 0, pat = 0;
      for (int64_t n : l.pieces) {
        out.push_back({k * block + at + chunkStart(n, m), k * pblock + pat, chunkSize(n, m)});
        at += n;
        pat += chunkSize(n, m);
      }
    }
    return out;
  }

  LogicalResult fail(Operation *op, const Twine &what) {
    std::string loc;
    llvm::raw_string_ostream os(loc);
    op->getLoc().print(os);
    why = ("'" + op->getName().getStringRef() + "' at " + loc + " " + what).str();
    return failure();
  }

  /// The token dimension of `v` (-1: none); fails on two.
  FailureOr<int64_t> tokenDim(Value v) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t)
      return -1;
    int64_t found = -1;
    for (unsigned d = 0; d < t.getRank(); ++d)
      if (t.getDimSize(d) > 1 && tokens.contains(classes.classOf(v, d))) {
        if (found >= 0)
          return failure();
        found = d;
      }
    return found;
  }
  int64_t tdim(Value v) { return *tokenDim(v); }

  void tie() {
    for (Operation *op : work) {
      // The dimensions a collective moves stay in place: patch m of every
      // rank's block gives patch m of the result.
      if (auto a = dyn_cast<AllToAllOp>(op)) {
        classes.unite(a.getInput(), a.getSplitAxis(), a.getResult(), a.getSplitAxis());
        classes.unite(a.getInput(), a.getConcatAxis(), a.getResult(), a.getConcatAxis());
      } else if (auto g = dyn_cast<AllGatherOp>(op)) {
        classes.unite(g.getInput(), g.getAxis(), g.getResult(), g.getAxis());
      } else if (auto r = dyn_cast<RingAttentionOp>(op)) {
        classes.unite(r.getQuery(), 2, r.getResult(), 2);
      }
    }
  }

  /// Self-attentions: query, key and value tokens in one class.
  bool selfAttention(Operation *op) {
    if (!isa<AttentionOp, RingAttentionOp>(op))
      return false;
    Value q = op->getOperand(0), k = op->getOperand(1), v = op->getOperand(2);
    unsigned c = classes.classOf(q, 2);
    return classes.classOf(k, 2) == c && classes.classOf(v, 2) == c;
  }

  /// The layout of the op's token-carrying results, from its operands'.
  LogicalResult layoutResults(Operation *op,
                              ArrayRef<std::pair<unsigned, int64_t>> dims) {
    unsigned n = op->getNumOperands();
    auto setAll = [&](const Layout &l) {
      for (auto [idx, d] : dims)
        if (idx >= n && (l.groups > 1 || l.pieces.size() > 1)) {
          Layout r = l;
          if (llvm::sum_of(r.pieces) * r.groups != shapeOf(valueAt(op, idx))[d])
            continue; // another length: one plain stream
          layouts[valueAt(op, idx)] = r;
        }
    };
    auto isToken = [&](Value v) { return tdim(v) >= 0; };
    // Joint attention's concat and the slices and splits that undo it: the
    // streams are the pieces (on this rank's tokens, before any gather).
    if (op->hasAttr(kTokenPiecesAttr)) {
      std::optional<unsigned> axis = tokenPiecesAxis(op);
      Value in = op->getOperand(0);
      if (axis && isToken(in) && tdim(in) == (int64_t)*axis) {
        for (Value v : op->getOperands())
          if (groupsOf(v) > 1)
            return fail(op, "joins or cuts streams of tokens gathered over ranks");
        if (isa<ConcatOp>(op)) {
          Layout l;
          for (Value v : op->getOperands()) // (a stream of one token has no token dimension)
            if (tdim(v) >= 0)
              l.pieces.append(layoutOf(v).pieces);
            else
              l.pieces.push_back(shapeOf(v)[*axis]);
          setAll(l);
          return success();
        }
        // A slice or split takes whole streams of its operand.
        Layout l = layoutOf(in);
        int64_t at = isa<SliceOp>(op) ? cast<SliceOp>(op).getOffsets()[*axis] : 0;
        for (Value r : op->getResults()) {
          int64_t size = shapeOf(r)[*axis], pos = 0;
          Layout out;
          for (int64_t p : l.pieces) {
            if (pos >= at && pos + p <= at + size)
              out.pieces.push_back(p);
            else if (pos < at + size && pos + p > at)
              return fail(op, "cuts a stream of tokens in the middle");
            pos += p;
          }
          if (llvm::sum_of(out.pieces) != size)
            return fail(op, "cuts a stream of tokens in the middle");
          if (out.pieces.size() > 1)
            layouts[r] = out;
          at += size;
        }
        return success();
      }
    }
    // An attention's result is laid out as its query (its keys, values
    // and mask are read whole).
    if (isa<AttentionOp, RingAttentionOp>(op)) {
      setAll(layoutOf(op->getOperand(0)));
      return success();
    }
    // Operands of one length share a layout: the richer one (blocks of
    // ranks, streams) where a whole value (computed once, or a constant)
    // meets a value computed patch by patch.
    auto same = [](const Layout &a, const Layout &b) {
      return a.groups == b.groups && a.pieces == b.pieces;
    };
    auto computedPerPatch = [&](Value v) {
      auto it = indexOf.find(v.getDefiningOp());
      return it != indexOf.end() && it->second < (int64_t)kind.size() &&
             (kind[it->second] == Kind::Patch || kind[it->second] == Kind::Attention);
    };
    Layout l;
    Value from;
    for (auto [idx, d] : dims)
      if (idx < n) {
        Value v = op->getOperand(idx);
        Layout h = layoutOf(v);
        if (!from) {
          l = h;
          from = v;
          continue;
        }
        if (same(h, l) || shapeOf(v)[d] != llvm::sum_of(l.pieces) * l.groups)
          continue;
        bool richer = h.groups > l.groups || h.pieces.size() > l.pieces.size();
        Value plain = richer ? from : v;
        if (computedPerPatch(plain) || (l.groups != h.groups && groupsOf(plain) > 1))
          return fail(op, "mixes tokens laid out differently (gathered from other ranks, "
                          "or joined from other streams)");
        if (richer) {
          l = h;
          from = v;
        }
        layouts[plain] = l;
      }
    auto size = [&](ArrayAttr axes) {
      FailureOr<Mesh> mesh = Mesh::of(op);
      return succeeded(mesh) ? mesh->groupSize(axes) : 1;
    };
    if (auto a = dyn_cast<AllToAllOp>(op)) {
      int64_t u = size(a.getAxes());
      if (tdim(a.getResult()) == (int64_t)a.getConcatAxis())
        l.groups *= u;
      else if (tdim(a.getInput()) == (int64_t)a.getSplitAxis()) {
        if (l.groups % u)
          return fail(op, "splits tokens gathered from " + Twine(l.groups) + " ranks over " +
                              Twine(u));
        l.groups /= u;
      }
    } else if (auto ag = dyn_cast<AllGatherOp>(op)) {
      if (tdim(ag.getResult()) == (int64_t)ag.getAxis())
        l.groups *= size(ag.getAxes());
    }
    setAll(l);
    return success();
  }

  LogicalResult classify() {
    for (Operation *op : work)
      if (selfAttention(op))
        tokens.insert(classes.classOf(op->getOperand(0), 2));
    if (tokens.empty()) {
      why = "no self-attention (an attention whose keys come from its own tokens)";
      return failure();
    }
    for (auto [i, op] : llvm::enumerate(work)) {
      indexOf[op] = i;
      SmallVector<std::pair<unsigned, int64_t>> dims; // (operand/result index, dim)
      for (unsigned idx = 0; idx < op->getNumOperands() + op->getNumResults(); ++idx) {
        FailureOr<int64_t> d = tokenDim(valueAt(op, idx));
        if (failed(d))
          return fail(op, "has two dimensions of the image tokens");
        if (*d < 0)
          continue;
        dims.push_back({idx, *d});
      }
      if (failed(layoutResults(op, dims)))
        return failure();
      // Every stream of every token dimension has a token for each patch,
      // and the patches cut them alike: evenly, or unevenly along
      // dimensions of one layout (not the rows of an image and its
      // tokens, say).
      bool divides = llvm::all_of(dims, [&](auto p) { return cuts(valueAt(op, p.first)); });
      bool even = llvm::all_of(dims, [&](auto p) {
        return llvm::all_of(layoutOf(valueAt(op, p.first)).pieces,
                            [&](int64_t n) { return n % patches == 0; });
      });
      // (The streams a token_pieces op joins or cuts are its pieces: cut
      // alike by construction; a collective moves whole blocks of ranks.)
      bool joinsStreams = op->hasAttr(kTokenPiecesAttr) && tokenPiecesAxis(op) &&
                          (int64_t)*tokenPiecesAxis(op) == tdim(op->getOperand(0));
      if (!even && !dims.empty() && !joinsStreams) {
        Layout l0 = layoutOf(valueAt(op, dims[0].first));
        divides &= llvm::all_of(dims, [&](auto p) {
          return layoutOf(valueAt(op, p.first)).pieces == l0.pieces;
        });
      }
      if (selfAttention(op)) {
        Value q = op->getOperand(0);
        if (!cuts(q))
          return fail(op, "has a stream of " +
                              Twine(llvm::min_element(layoutOf(q).pieces)[0]) +
                              " query tokens (per rank), fewer than the " + Twine(patches) +
                              " patches");
        // Each patch reads the keys whole (from the buffers, in the
        // synchronous order), so a mask over the keys alone (padded keys
        // of uneven splits) holds for every patch; a mask over query rows
        // or a causal one depends on the rows.
        bool rows = op->hasAttr("causal");
        if (op->getNumOperands() > 3) {
          ArrayRef<int64_t> m = shapeOf(op->getOperand(3));
          rows |= m.size() >= 2 && m[m.size() - 2] > 1;
        }
        if (rows)
          return fail(op, "is causal or masked per query row; PipeFusion's stale K/V needs "
                          "an attention whose rows see the same keys");
        kind.push_back(Kind::Attention);
        continue;
      }
      if (dims.empty()) {
        kind.push_back(Kind::Global);
        continue;
      }
      // Per patch: one parallel factor holds every token dimension (a
      // collective's moved token dimension stays in place).
      bool perPatch = false;
      if (isa<AllToAllOp, AllGatherOp>(op) && dims.size() == 2 &&
          dims[0].second == dims[1].second)
        perPatch = true;
      for (const ShardingFactor &f : ruleOf(op).factors) {
        if (perPatch || f.kind != ShardingFactor::Kind::Parallel)
          continue;
        perPatch = llvm::all_of(dims, [&](auto p) {
          return llvm::is_contained(f.dims, std::pair<unsigned, unsigned>(p.first, p.second));
        });
      }
      // An op run once on the whole image reads the patches joined in the
      // synchronous order (blocks of ranks included).
      kind.push_back(perPatch && divides ? Kind::Patch : Kind::Whole);
    }
    // Phases: per-patch ops 1; others 2 when they read a per-patch or
    // epilogue value (they join the patches), else 0.
    // An op that could run per patch but reads a joined value runs whole
    // too (the tail after the last attention); an attention cannot.
    for (auto [i, op] : llvm::enumerate(work)) {
      Operation *joined = nullptr;
      bool afterPatch = false;
      for (Value v : op->getOperands()) {
        auto it = indexOf.find(v.getDefiningOp());
        if (it == indexOf.end())
          continue;
        if (phase[it->second] == 2)
          joined = work[it->second];
        afterPatch |= phase[it->second] >= 1;
      }
      if (kind[i] == Kind::Attention && joined)
        return fail(op, "reads the whole image after an op that joins the patches ('" +
                            joined->getName().getStringRef() +
                            "'); PipeFusion needs the tokens to flow patch by patch "
                            "through the transformer blocks");
      if (kind[i] == Kind::Patch && joined)
        kind[i] = Kind::Whole;
      bool patchOp = kind[i] == Kind::Patch || kind[i] == Kind::Attention;
      phase.push_back(patchOp ? 1 : afterPatch ? 2 : 0);
    }
    return success();
  }

  // Emission.
  OpBuilder b{fn.getContext()};
  StaleSchedule out;
  llvm::DenseMap<Value, Value> whole;                 // non-patch values
  SmallVector<llvm::DenseMap<Value, Value>> part;     // per patch
  std::map<std::tuple<int64_t, int64_t, void *>, Value> slices, joins;

  Segment &segment() { return out.segments.back(); }
  Operation *add(Operation *op) {
    op->setAttr(kStageAttr, b.getI64IntegerAttr(segment().stage));
    op->setAttr(kScheduleAttr, b.getI64IntegerAttr(1));
    segment().ops.push_back(op);
    return op;
  }
  bool perPatch(Value v) {
    auto it = indexOf.find(v.getDefiningOp());
    return it != indexOf.end() && phase[it->second] == 1;
  }
  Value wholeOf(Value v) {
    if (perPatch(v))
      return join(v);
    return whole.lookup(v) ? whole.lookup(v) : v; // arguments and sources
  }
  RankedTensorType patchType(Value v, int64_t d, int64_t m) {
    SmallVector<int64_t> shape(shapeOf(v));
    shape[d] = layoutOf(v).groups * patchBlock(layoutOf(v), m);
    return RankedTensorType::get(shape, cast<RankedTensorType>(v.getType()).getElementType());
  }
  /// The patches of `v` joined (once per stage), in the synchronous order:
  /// per block of ranks and stream, the stream's chunks of every patch.
  Value join(Value v) {
    Value &j = joins[{segment().stage, 0, v.getAsOpaquePointer()}];
    if (!j) {
      int64_t d = tdim(v);
      SmallVector<SmallVector<Chunk>> chunks;
      for (int64_t m = 0; m < patches; ++m)
        chunks.push_back(chunksOf(v, m));
      SmallVector<Value> parts;
      for (size_t c = 0; c < chunks[0].size(); ++c)
        for (int64_t m = 0; m < patches; ++m) {
          Value p = part[m].lookup(v);
          const Chunk &ch = chunks[m][c];
          parts.push_back(chunks[0].size() == 1 ? p : slice(p, d, ch.patch, ch.size));
        }
      j = concat(parts, d);
    }
    return j;
  }
  /// Patch m of a value computed once (in this stage's segment).
  Value patchOf(Value v, int64_t m) {
    if (perPatch(v))
      return part[m].lookup(v);
    int64_t d = tdim(v);
    if (d < 0)
      return wholeOf(v);
    Value &s = slices[{segment().stage, m, v.getAsOpaquePointer()}];
    if (!s) {
      SmallVector<Value> chunks;
      for (const Chunk &c : chunksOf(v, m))
        chunks.push_back(slice(wholeOf(v), d, c.whole, c.size));
      s = concat(chunks, d);
    }
    return s;
  }
  Value slice(Value v, int64_t d, int64_t at, int64_t size) {
    SmallVector<int64_t> shape(shapeOf(v)), offsets(shape.size(), 0), steps(shape.size(), 1);
    shape[d] = size;
    offsets[d] = at;
    auto t = RankedTensorType::get(shape, cast<RankedTensorType>(v.getType()).getElementType());
    return add(SliceOp::create(b, v.getLoc(), t, v, b.getDenseI64ArrayAttr(offsets),
                               b.getDenseI64ArrayAttr(steps)))
        ->getResult(0);
  }
  Value concat(ArrayRef<Value> parts, int64_t d) {
    if (parts.size() == 1)
      return parts[0];
    SmallVector<int64_t> shape(shapeOf(parts[0]));
    shape[d] = 0;
    for (Value p : parts)
      shape[d] += shapeOf(p)[d];
    auto t = RankedTensorType::get(shape,
                                   cast<RankedTensorType>(parts[0].getType()).getElementType());
    return add(ConcatOp::create(b, parts[0].getLoc(), t, parts, b.getI64IntegerAttr(d)))
        ->getResult(0);
  }

  void cloneWhole(Operation *op) {
    IRMapping map;
    for (Value v : op->getOperands())
      map.map(v, wholeOf(v));
    Operation *c = add(b.clone(*op, map));
    for (auto [r, cr] : llvm::zip(op->getResults(), c->getResults()))
      whole[r] = cr;
  }

  void clonePatch(Operation *op, int64_t m, int64_t &cache) {
    bool attention = kind[indexOf.lookup(op)] == Kind::Attention;
    IRMapping map;
    for (auto [k, v] : llvm::enumerate(op->getOperands()))
      map.map(v, attention && k >= 3 ? wholeOf(v) : patchOf(v, m)); // the keys' mask whole
    // A self-attention writes its fresh K/V of this patch into the buffers
    // first and reads them whole (earlier patches fresh, later ones from
    // the last call). The buffer keeps the synchronous order: per block of
    // ranks and stream, the stream's chunk of each patch.
    Value buffers[2];
    if (attention)
      for (unsigned k : {1u, 2u}) {
        Value orig = op->getOperand(k), in = map.lookup(orig);
        Layout l = layoutOf(orig);
        int64_t g = l.groups, e = shapeOf(orig)[2];
        auto update = [&](Value patch, int64_t offset, int64_t blocks, int64_t stride) {
          buffers[k - 1] =
              add(KvCacheUpdateOp::create(b, op->getLoc(), orig.getType(), patch,
                                          b.getI64IntegerAttr(cache + k - 1),
                                          b.getI64IntegerAttr(2), b.getI64IntegerAttr(offset),
                                          b.getI64IntegerAttr(blocks),
                                          b.getI64IntegerAttr(stride)))
                  ->getResult(0);
        };
        if (l.pieces.size() == 1)
          update(in, chunkStart(l.pieces[0], m), g, g > 1 ? e / g : 0);
        else // one copy per block and stream
          for (const Chunk &ch : chunksOf(orig, m))
            update(slice(in, 2, ch.patch, ch.size), ch.whole, 1, 0);
      }
    Operation *c = add(b.clone(*op, map));
    if (attention)
      for (unsigned k : {1u, 2u})
        c->setOperand(k, buffers[k - 1]);
    if (c->hasAttr(kTokenPiecesAttr)) {
      // Joins or cuts patch m's chunks of the streams: a slice starts
      // after the chunks of the streams before it.
      c->removeAttr(kTokenPiecesAttr);
      if (auto sl = dyn_cast<SliceOp>(c)) {
        unsigned axis = *tokenPiecesAxis(op);
        Layout l = layoutOf(op->getOperand(0));
        SmallVector<int64_t> offsets(sl.getOffsets());
        int64_t whole = offsets[axis], at = 0, pos = 0;
        for (int64_t n : l.pieces) {
          if (pos >= whole)
            break;
          at += chunkSize(n, m);
          pos += n;
        }
        offsets[axis] = at;
        c->setAttr("offsets", b.getDenseI64ArrayAttr(offsets));
      }
    }
    for (auto [r, cr] : llvm::zip(op->getResults(), c->getResults())) {
      int64_t d = tdim(r);
      if (d >= 0)
        cr.setType(patchType(r, d, m));
      part[m][r] = cr;
    }
  }

  /// The original attention reads its K/V through the buffers too.
  void bufferSynchronous(Operation *op, int64_t cache) {
    OpBuilder sb(op);
    for (unsigned k : {1u, 2u}) {
      Value kv = op->getOperand(k);
      auto upd = KvCacheUpdateOp::create(sb, op->getLoc(), kv.getType(), kv,
                                         sb.getI64IntegerAttr(cache + k - 1),
                                         sb.getI64IntegerAttr(2), sb.getI64IntegerAttr(0),
                                         sb.getI64IntegerAttr(1), sb.getI64IntegerAttr(0));
      upd->setAttr(kStageAttr, op->getAttr(kStageAttr));
      upd->setAttr(kScheduleAttr, sb.getI64IntegerAttr(0));
      op->setOperand(k, upd.getResult());
    }
  }

  FailureOr<StaleSchedule> emit() {
    Operation *ret = fn.getBody().front().getTerminator();
    b.setInsertionPoint(ret);
    part.resize(patches);
    // Cache ids: two per self-attention, in program order.
    llvm::DenseMap<Operation *, int64_t> cacheOf;
    for (auto [i, op] : llvm::enumerate(work))
      if (kind[i] == Kind::Attention) {
        cacheOf[op] = out.caches;
        out.caches += 2;
      }
    for (int64_t s = 0; s < stages; ++s) {
      out.segments.push_back({s, {}});
      for (auto [i, op] : llvm::enumerate(work))
        if (stageOf[i] == s && phase[i] == 0)
          cloneWhole(op);
      for (int64_t m = 0; m < patches; ++m) {
        out.segments.push_back({s, {}});
        for (auto [i, op] : llvm::enumerate(work))
          if (stageOf[i] == s && phase[i] == 1) {
            int64_t cache = cacheOf.lookup(op);
            clonePatch(op, m, cache);
          }
      }
      out.segments.push_back({s, {}});
      for (auto [i, op] : llvm::enumerate(work))
        if (stageOf[i] == s && phase[i] == 2)
          cloneWhole(op);
      // Outputs computed patch by patch in this stage: joined here.
      for (Value v : ret->getOperands())
        if (perPatch(v) && stageOf[indexOf.lookup(v.getDefiningOp())] == s)
          join(v);
    }
    for (Value v : ret->getOperands()) {
      if (perPatch(v)) {
        int64_t s = stageOf[indexOf.lookup(v.getDefiningOp())];
        out.outputs.push_back(joins[{s, 0, v.getAsOpaquePointer()}]);
      } else {
        out.outputs.push_back(wholeOf(v));
      }
    }
    llvm::erase_if(out.segments, [](const Segment &seg) { return seg.ops.empty(); });
    for (auto [op, cache] : cacheOf)
      bufferSynchronous(op, cache);
    return std::move(out);
  }
};

} // namespace

FailureOr<StaleSchedule> mlir::ditc::buildStaleSchedule(func::FuncOp fn,
                                                        ArrayRef<Operation *> work,
                                                        ArrayRef<int64_t> stageOf,
                                                        int64_t stages, int64_t patches,
                                                        std::string &why) {
  if (patches < 2) {
    why = "one patch has nothing to pipeline";
    return failure();
  }
  StaleBuilder builder(fn, work, stageOf, stages, patches, why);
  builder.tie();
  if (failed(builder.classify()))
    return failure();
  return builder.emit();
}
