//===- Plan.cpp - write a user-given plan as a mesh and seed shardings ----===//

#include "passes/Parallel/DimClasses.h"
#include "passes/Parallel/Passes.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"

#include <functional>

namespace mlir::ditc {
#define GEN_PASS_DEF_PLANPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
/// Mesh axis order, most significant first: the last axes are neighbouring
/// ranks, so the strategies that talk most (tp, ulysses) get the fastest
/// links, and pipeline stages (which send least) the slowest.
/// The plan keys and the kinds of axis they make, in mesh order.
struct PlanKey {
  const char *key;
  MeshAxisKind kind;
};
constexpr PlanKey kAxisOrder[] = {
    {"pp", MeshAxisKind::pipeline}, {"pipefusion", MeshAxisKind::pipefusion},
    {"dp", MeshAxisKind::data},
    {"cfg", MeshAxisKind::cfg},     {"ring", MeshAxisKind::ring},
    {"ring_inner", MeshAxisKind::ring_inner},
    {"ulysses", MeshAxisKind::ulysses}, {"tp", MeshAxisKind::tensor}};
/// More ranks than any plan needs (and one weight file each): a typo guard.
constexpr int64_t kMaxRanks = 4096;

} // namespace

Mesh mlir::ditc::planMesh(const llvm::StringMap<int64_t> &degrees, bool contextFirst) {
  SmallVector<PlanKey> order(std::begin(kAxisOrder), std::end(kAxisOrder));
  if (contextFirst) { // ulysses before the ring axes: the rings neighbours
    auto ulysses =
        llvm::find_if(order, [](const PlanKey &k) { return k.kind == MeshAxisKind::ulysses; });
    PlanKey u = *ulysses;
    order.erase(ulysses);
    auto ring = llvm::find_if(order, [](const PlanKey &k) { return k.kind == MeshAxisKind::ring; });
    order.insert(ring, u);
  }
  Mesh mesh;
  for (const PlanKey &k : order)
    if (int64_t n = degrees.lookup(k.key); n > 1)
      mesh.addAxis(k.key, n, k.kind);
  return mesh;
}

namespace {

/// The self-attentions of `fn`: query and key tokens are one dimension, or
/// (joint attention over concatenated streams) of one length; and the fewest
/// tokens any of them has (-1: none).
SmallVector<AttentionOp> selfAttentions(func::FuncOp fn, DimClasses &classes, int64_t &fewest) {
  SmallVector<AttentionOp> out;
  fewest = -1;
  fn.walk([&](AttentionOp a) {
    if (!classes.same(a.getQuery(), 2, a.getKey(), 2) &&
        shapeOf(a.getQuery())[2] != shapeOf(a.getKey())[2])
      return;
    out.push_back(a);
    int64_t tokens = shapeOf(a.getQuery())[2];
    if (fewest < 0 || tokens < fewest)
      fewest = tokens;
  });
  return out;
}

/// Whether dimension `d` of `v` is the tokens of a self-attention in `self`
/// over all keys (neither causal nor masked per key).
std::function<bool(Value, unsigned)> jointTokenClass(DimClasses &classes,
                                                     ArrayRef<AttentionOp> self) {
  llvm::DenseSet<unsigned> tokens, ordered;
  for (AttentionOp a : self) {
    bool keyOrder = a.getCausal() || (a.getMask() && shapeOf(a.getMask()).back() > 1);
    for (Value v : {a.getQuery(), a.getKey(), a.getValue()})
      (keyOrder ? ordered : tokens).insert(classes.classOf(v, 2));
  }
  return [&classes, tokens, ordered](Value v, unsigned d) {
    unsigned c = classes.classOf(v, d);
    return tokens.contains(c) && !ordered.contains(c);
  };
}

/// Joint attention (MMDiT): streams of tokens concatenated along the token
/// axis, attended over all keys, and cut back into the streams. Marks each
/// concat, split and slice along a token dimension of a split self-attention
/// with the streams' lengths (kTokenPiecesAttr), so the streams stay split
/// through them (a blockwise layout of the joined tokens). Attention over
/// all keys does not depend on their order; a causal or masked attention
/// does, and its streams stay joined whole. With `wholeShortest`, the
/// shortest stream of each join is kept whole on every rank instead
/// (kWholePiecesAttr). Returns how many joins it marked.
int64_t markJointTokens(func::FuncOp fn, DimClasses &classes, ArrayRef<AttentionOp> self,
                        bool wholeShortest = false) {
  auto joint = jointTokenClass(classes, self);
  Builder b(fn.getContext());
  // The lengths each class's concats join, for the splits and slices.
  llvm::DenseMap<unsigned, SmallVector<SmallVector<int64_t>>> joined;
  int64_t joins = 0;
  auto markWhole = [&](Operation *op, ArrayRef<int64_t> pieces) {
    if (wholeShortest)
      op->setAttr(kWholePiecesAttr,
                  b.getDenseI64ArrayAttr({int64_t(llvm::min_element(pieces) - pieces.begin())}));
  };
  // The classes of the streams each join takes, in order.
  SmallVector<SmallVector<unsigned>> streams;
  auto streamsOf = [&](ConcatOp c) {
    SmallVector<unsigned> out;
    for (Value v : c.getInputs())
      out.push_back(classes.classOf(v, c.getAxis()));
    return out;
  };
  auto mark = [&](ConcatOp c) {
    unsigned d = c.getAxis();
    SmallVector<int64_t> pieces;
    for (Value v : c.getInputs())
      pieces.push_back(shapeOf(v)[d]);
    c->setAttr(kTokenPiecesAttr, b.getDenseI64ArrayAttr(pieces));
    markWhole(c, pieces);
    joined[classes.classOf(c.getResult(), d)].push_back(pieces);
    ++joins;
  };
  fn.walk([&](ConcatOp c) {
    if (c.getNumOperands() < 2 || !joint(c.getResult(), c.getAxis()))
      return;
    mark(c);
    streams.push_back(streamsOf(c));
  });
  // The same streams joined again away from the attention (CogVideoX's
  // feed-forward runs on text and video concatenated, then cut): the same
  // blockwise layout keeps them split through that join too, where the
  // plain one would gather both streams whole on every rank. Ops between
  // such a join and its cuts that need the joined tokens whole get them
  // unblocked by the partition.
  fn.walk([&](ConcatOp c) {
    if (c->hasAttr(kTokenPiecesAttr) || c.getNumOperands() < 2 ||
        !llvm::is_contained(streams, streamsOf(c)))
      return;
    mark(c);
  });
  fn.walk([&](Operation *op) {
    if (!isa<SplitOp, SliceOp>(op))
      return;
    std::optional<unsigned> d = tokenPiecesAxis(op);
    Value in = op->getOperand(0);
    if (!d || !joined.count(classes.classOf(in, *d)))
      return;
    for (ArrayRef<int64_t> pieces : joined.lookup(classes.classOf(in, *d))) {
      bool fits = false;
      if (isa<SliceOp>(op))
        fits = slicedPiece(op, pieces).has_value();
      else
        fits = llvm::equal(pieces, llvm::map_range(op->getResults(), [&](Value r) {
                             return shapeOf(r)[*d];
                           }));
      if (fits) {
        op->setAttr(kTokenPiecesAttr, b.getDenseI64ArrayAttr(pieces));
        markWhole(op, pieces);
        return;
      }
    }
  });
  return joins;
}

} // namespace

bool mlir::ditc::hasJointAttention(ModuleOp module) {
  auto fn = module.lookupSymbol<func::FuncOp>("main");
  if (!fn)
    return false;
  DimClasses classes(fn);
  int64_t fewest;
  SmallVector<AttentionOp> self = selfAttentions(fn, classes, fewest);
  auto joint = jointTokenClass(classes, self);
  WalkResult found = fn.walk([&](ConcatOp c) {
    return c.getNumOperands() >= 2 && joint(c.getResult(), c.getAxis()) ? WalkResult::interrupt()
                                                                        : WalkResult::advance();
  });
  return found.wasInterrupted();
}

namespace {
struct PlanPass : ditc::impl::PlanPassBase<PlanPass> {
  using PlanPassBase::PlanPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto fail = [&](const Twine &msg) {
      module.emitError("plan '" + plan + "': " + msg);
      signalPassFailure();
    };
    // Parse KEY=VAL,...
    llvm::StringMap<int64_t> degree;
    SmallVector<StringRef> items;
    StringRef(plan).split(items, ',', -1, false);
    if (items.empty())
      return fail("empty plan (expected KEY=N,... with keys cfg dp ulysses ring ring_inner "
                  "tp pp pipefusion patches context_first whole_stream)");
    for (StringRef item : items) {
      auto [key, val] = item.trim().split('=');
      key = key.trim();
      val = val.trim();
      int64_t n;
      bool flag = key == "context_first" || key == "whole_stream";
      if (key != "patches" && !flag &&
          llvm::none_of(kAxisOrder, [&](const PlanKey &k) { return key == k.key; }))
        return fail("unknown key '" + key +
                    "' (expected cfg, dp, ulysses, ring, ring_inner, tp, pp, pipefusion, "
                    "patches, context_first or whole_stream)");
      if (val.getAsInteger(10, n) || n < (flag ? 0 : 1))
        return fail("'" + item.trim() + "' needs a positive integer degree");
      if (n > kMaxRanks)
        return fail("'" + item.trim() + "': degree above " + Twine(kMaxRanks));
      if (degree.count(key))
        return fail("'" + key + "' given twice");
      degree[key] = n;
    }
    // PipeFusion: `patches` is no device degree (it is not in the product);
    // by default as many patches as stages.
    int64_t patches = degree.lookup("patches");
    degree.erase("patches");
    // Placement (LoongTrain): by default Ulysses groups are neighbouring
    // ranks and Ring groups stride over them (head-first); context_first=1
    // makes the Ring groups the neighbours (context-first).
    int64_t contextFirst = degree.lookup("context_first");
    degree.erase("context_first");
    if (contextFirst > 1)
      return fail("context_first=" + Twine(contextFirst) + " is not 0 or 1");
    // Joint attention: the shortest stream whole on every rank, its heads
    // split inside Ulysses (xDiT's layout), instead of blocks of every stream.
    int64_t wholeStream = degree.lookup("whole_stream");
    degree.erase("whole_stream");
    if (wholeStream > 1)
      return fail("whole_stream=" + Twine(wholeStream) + " is not 0 or 1");
    if (wholeStream && degree.lookup("ulysses") <= 1)
      return fail("whole_stream=1 splits the whole stream's heads inside Ulysses: it needs "
                  "ulysses above 1");
    if (wholeStream && (degree.lookup("ring") > 1 || degree.lookup("pipefusion") > 1))
      return fail(Twine("whole_stream=1 keeps a stream whole on every rank, and ") +
                  (degree.lookup("ring") > 1 ? "Ring cuts" : "PipeFusion's patches cut") +
                  " every stream: use one of them");
    // The double ring (LoongTrain): ring=O outer ring over groups of
    // ring_inner=I neighbouring ranks, each group an inner ring.
    if (degree.lookup("ring_inner") > 1 && degree.lookup("ring") <= 1)
      return fail("ring_inner=" + Twine(degree.lookup("ring_inner")) +
                  " makes the inner rings of a double ring: it needs ring=O above 1 (the "
                  "outer ring over them; a single ring of N ranks is ring=N)");
    if (contextFirst && (degree.lookup("ring") <= 1 || degree.lookup("ulysses") <= 1))
      return fail("context_first=1 places the ring groups inside the ulysses groups: it "
                  "needs both ring and ulysses above 1");
    if (degree.lookup("pipefusion") > 1 && degree.lookup("pp") > 1)
      return fail("pipefusion and pp both cut the layers into stages: use one of them");
    if (patches && degree.lookup("pipefusion") <= 1)
      return fail("patches=" + Twine(patches) + " needs pipefusion=S with S > 1");
    if (degree.lookup("pipefusion") > 1 && !patches)
      patches = degree.lookup("pipefusion");
    Mesh mesh = planMesh(degree, contextFirst);
    int64_t product = 1;
    for (int64_t n : mesh.shape) { // each degree is at most kMaxRanks
      product *= n;
      if (product > kMaxRanks)
        return fail("the degrees multiply to more than " + Twine(kMaxRanks) + " ranks");
    }
    if (devices > 0 && product != devices)
      return fail("the degrees multiply to " + Twine(product) + ", not to the " +
                  Twine(devices) + " devices (unnamed degrees are 1)");
    module->setAttr(kMeshAttr, mesh.toAttr(&getContext()));
    if (mesh.axes.empty())
      return;
    SmallVector<std::string> canonical;
    for (auto [a, n] : llvm::zip(mesh.axes, mesh.shape))
      canonical.push_back(a + "=" + std::to_string(n));
    if (contextFirst)
      canonical.push_back("context_first=1");
    if (wholeStream)
      canonical.push_back("whole_stream=1");
    if (patches) {
      canonical.push_back("patches=" + std::to_string(patches));
      module->setAttr(kPatchesAttr, IntegerAttr::get(IntegerType::get(&getContext(), 64),
                                                     patches));
    }
    module->setAttr("ditc.plan", StringAttr::get(&getContext(), llvm::join(canonical, ",")));

    auto fn = module.lookupSymbol<func::FuncOp>("main");
    if (!fn)
      return fail("the module has no func.func @main");
    auto has = [&](MeshAxisKind k) { return mesh.has(k); };
    DimClasses classes(fn);

    // Batch: cfg and dp split the first output's leading dimension.
    SmallVector<std::string> batchAxes;
    for (MeshAxisKind k : {MeshAxisKind::data, MeshAxisKind::cfg})
      if (has(k))
        batchAxes.push_back(mesh.nameOf(k));
    if (!batchAxes.empty()) {
      Operation *ret = fn.getBody().front().getTerminator();
      if (ret->getNumOperands() == 0)
        return fail("the graph has no output to split by batch");
      Value out = ret->getOperand(0);
      auto t = cast<RankedTensorType>(out.getType());
      int64_t p = mesh.groupSize(batchAxes);
      if (t.getRank() == 0 || t.getDimSize(0) % p)
        return fail(Twine(has(MeshAxisKind::cfg) && !has(MeshAxisKind::data)
                              ? "no CFG batch to split: "
                              : "") +
                    "the first output has batch " +
                    Twine(t.getRank() ? t.getDimSize(0) : 0) + ", which does not divide by " +
                    Twine(p) + " (" + llvm::join(batchAxes, " x ") + ")");
      addSplit(out, 0, batchAxes);
    }

    // Sequence: every self-attention's query tokens (the ring, its inner
    // rings, then ulysses: ring rank g * I + i holds token block g * I + i).
    SmallVector<std::string> seqAxes;
    for (MeshAxisKind k : {MeshAxisKind::ring, MeshAxisKind::ring_inner, MeshAxisKind::ulysses})
      if (has(k))
        seqAxes.push_back(mesh.nameOf(k));
    if (!seqAxes.empty()) {
      int64_t p = mesh.groupSize(seqAxes), fewest;
      SequenceParallel algorithm =
          !has(MeshAxisKind::ring)      ? SequenceParallel::ulysses
          : !has(MeshAxisKind::ulysses) ? SequenceParallel::ring
                                        : SequenceParallel::usp;
      SmallVector<AttentionOp> self = selfAttentions(fn, classes, fewest);
      for (AttentionOp a : self) {
        addSplit(a.getQuery(), 2, seqAxes);
        addSplit(a.getKey(), 2, seqAxes);
        addSplit(a.getValue(), 2, seqAxes);
        a->setAttr(kSequenceParallelAttr, SequenceParallelAttr::get(&getContext(), algorithm));
      }
      if (self.empty())
        return fail("sequence parallelism (" + llvm::join(seqAxes, ", ") +
                    ") needs self-attention, and the graph has none");
      if (markJointTokens(fn, classes, self, wholeStream) == 0 && wholeStream)
        return fail("whole_stream=1 keeps one stream of a joint attention whole, and no "
                    "self-attention joins streams (a concat along its tokens)");
      if (p > fewest)
        return fail("sequence parallelism over " + Twine(p) + " ranks (" +
                    llvm::join(seqAxes, " x ") + ") leaves ranks without tokens: a "
                    "self-attention has " + Twine(fewest) + " tokens");
    }

    // PipeFusion: the image's tokens flow through the stages patch by patch;
    // every self-attention's tokens are cut into the patches (each of them
    // further split by sequence parallelism).
    if (patches) {
      int64_t fewest, p = mesh.groupSize(seqAxes);
      SmallVector<AttentionOp> self = selfAttentions(fn, classes, fewest);
      int64_t layers = self.size();
      if (fewest < 0)
        return fail("PipeFusion (pipefusion) needs self-attention, and the graph has none");
      if (patches * p > fewest)
        return fail("patches=" + Twine(patches) + (p > 1 ? " x " + Twine(p) + " sequence ranks" : "") +
                    " is more than the " + Twine(fewest) + " tokens of a self-attention");
      // Joint attention: the patches cut each stream (patches that do not
      // divide a stream's tokens are one token longer first).
      if (seqAxes.empty())
        markJointTokens(fn, classes, self);
      int64_t stages = mesh.shape[mesh.stageAxis()];
      if (layers < stages)
        return fail("pipefusion=" + Twine(stages) + " needs at least " + Twine(stages) +
                    " attention layers to put in stages; the graph has " + Twine(layers));
    }

    // Tensor parallelism is planned by the passes after this one
    // (-ditc-split-joined-linears, -ditc-repeat-kv-heads,
    // -ditc-pad-tensor-parallel, -ditc-seed-tensor-parallel): the mesh's
    // tensor axis is their whole input.
  }
};
} // namespace
