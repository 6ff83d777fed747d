//===- Plan.cpp - write a user-given plan as a mesh and seed shardings ----===//

#include "passes/Parallel/DimClasses.h"
#include "passes/Parallel/Heads.h"
#include "passes/Parallel/Passes.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"

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
constexpr const char *kAxisOrder[] = {"pp", "dp", "cfg", "ring", "ulysses", "tp"};
/// More ranks than any plan needs (and one weight file each): a typo guard.
constexpr int64_t kMaxRanks = 4096;

/// Pads the dimensions of class `cls` so that its unit (the smallest size
/// in it: the heads of an attention, the hidden units of an MLP) becomes a
/// multiple of `p`: a dimension of k units grows to k * ceil(unit / p) * p
/// (heads [B, H, S, d] and the features [B, S, H*d] they come from alike).
/// Weights in the class grow with zeros (a new `ditc.weight` NAME@pad whose
/// `ditc.global_shape` is the stored tensor's shape; the weight writer
/// fills the rest with zeros), so the padded entries are zero where they
/// start and reach the rest of the graph only through a contraction with
/// the zero rows of a padded weight: the result is exact. Fails with the
/// reason where that cannot be ensured: a graph input or output, or an op
/// other than the ones allowed below, in the class, or a class some op
/// needs whole (a softmax or a reduction over it).
LogicalResult padClass(DimClasses &classes, unsigned cls, int64_t p, std::string &why) {
  SmallVector<std::pair<Value, unsigned>> members = classes.members(cls);
  int64_t unit = 0;
  for (auto [v, d] : members)
    if (int64_t n = shapeOf(v)[d]; n > 1 && (unit == 0 || n < unit))
      unit = n;
  if (unit == 0 || unit % p == 0)
    return success();
  int64_t padded = (unit + p - 1) / p * p;
  auto opName = [](Operation *op) {
    std::string s = op->getName().getStringRef().str();
    if (auto name = op->getLoc()->findInstanceOf<NameLoc>())
      s += " ('" + name.getName().str() + "')";
    return s;
  };
  if (classes.isPinned(cls)) {
    // Name the op that needs them whole: its rule leaves the dimension out.
    std::string who;
    for (auto [v, d] : members)
      for (OpOperand &use : v.getUses()) {
        auto iface = dyn_cast<ShardingRuleOpInterface>(use.getOwner());
        if (!iface || !who.empty())
          continue;
        unsigned idx = use.getOperandNumber();
        ShardingRule rule = iface.getShardingRule();
        if (llvm::none_of(rule.factors, [&](const ShardingFactor &f) {
              return llvm::is_contained(f.dims, std::make_pair(idx, d));
            }))
          who = " (" + opName(use.getOwner()) + ")";
      }
    why = "an op needs all " + std::to_string(unit) + " of them on one rank" + who;
    return failure();
  }
  // Ops whose results may grow: they compute each entry of the class's
  // dimension on its own, map zeros to finite values, and (contractions)
  // meet the padded entries with the zero rows of a padded weight.
  auto allowed = [](Operation *op) {
    return isa<WeightOp, ConstantOp, ReshapeOp, TransposeOp, AddOp, SubOp, MulOp, NegOp, GeluOp,
               SiluOp, ReluOp, SigmoidOp, TanhOp, ErfOp, ExpOp, CosOp, SinOp, RopeOp,
               AttentionOp, LinearOp, LayerNormOp, RmsNormOp, BroadcastOp, ConcatOp,
               SliceOp, SplitOp, CastOp, GatherOp>(op);
  };
  llvm::DenseMap<Value, SmallVector<int64_t>> grown;
  for (auto [v, d] : members) {
    int64_t n = shapeOf(v)[d];
    if (n <= 1)
      continue;
    if (n % unit) {
      why = "a dimension of " + std::to_string(n) + " is tied to them";
      return failure();
    }
    Operation *def = v.getDefiningOp();
    if (!def) {
      why = "they reach a graph input";
      return failure();
    }
    if (!allowed(def)) {
      why = "they pass through " + opName(def);
      return failure();
    }
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (isa<func::ReturnOp>(user)) {
        why = "they reach a graph output";
        return failure();
      }
      auto att = dyn_cast<AttentionOp>(user);
      if (!allowed(user) || (att && use.get() == att.getMask())) {
        why = "they reach " + opName(user);
        return failure();
      }
      // A linear layer contracting over them: the padded entries must meet
      // zero rows of a padded weight (its input's last dimension).
      if (auto l = dyn_cast<LinearOp>(user); l && use.getOperandNumber() == 0 &&
                                              d + 1 == shapeOf(v).size() &&
                                              !l.getWeight().getDefiningOp<WeightOp>()) {
        why = "a contraction over them reads " + opName(user);
        return failure();
      }
    }
    auto [it, inserted] = grown.try_emplace(v, SmallVector<int64_t>(shapeOf(v)));
    it->second[d] = n / unit * padded;
  }
  // In place (the classes name these values): results grow; weights and
  // constants too, with zeros.
  OpBuilder b(members.front().first.getContext());
  for (auto &[v, shape] : grown) {
    auto t = RankedTensorType::get(shape, cast<RankedTensorType>(v.getType()).getElementType());
    if (auto c = v.getDefiningOp<ConstantOp>()) {
      auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
      if (!dense) {
        why = "they pass through a constant that is not dense";
        return failure();
      }
      // Zeros after the stored values, per dimension (row-major).
      ArrayRef<int64_t> from = dense.getType().getShape();
      SmallVector<Attribute> in(dense.getValues<Attribute>());
      SmallVector<Attribute> out(t.getNumElements(), b.getZeroAttr(t.getElementType()));
      for (int64_t i = 0; i < (int64_t)in.size(); ++i) {
        int64_t rest = i, at = 0, stride = 1;
        for (int64_t k = (int64_t)from.size() - 1; k >= 0; --k) {
          at += (rest % from[k]) * stride;
          rest /= from[k];
          stride *= shape[k];
        }
        out[at] = in[i];
      }
      c.setValueAttr(DenseElementsAttr::get(t, out));
    } else if (auto w = v.getDefiningOp<WeightOp>()) {
      // NAME@pad reads the stored tensor (ditc.global_shape) and zeros.
      if (!w->hasAttr("ditc.global_shape")) {
        w->setAttr("ditc.source_name", w.getNameAttr());
        w->setAttr("ditc.global_shape", b.getDenseI64ArrayAttr(shapeOf(w.getResult())));
        w.setName((w.getName() + "@pad").str());
      }
    }
    v.setType(t);
  }
  return success();
}

/// A linear layer over features joined along their last dimension (Flux's
/// single blocks join the attention's output and the MLP's hidden units
/// before one projection) becomes one linear layer per part, on the
/// weight's rows for that part (contiguous: a sub-tensor of the stored
/// weight at a later offset), summed. Exact, and each part can then be
/// split by tensor parallelism on its own (and padded) instead of being
/// gathered whole before the join.
void splitJoinedLinears(func::FuncOp fn) {
  SmallVector<LinearOp> linears;
  fn.walk([&](LinearOp l) { linears.push_back(l); });
  for (LinearOp l : linears) {
    auto cat = l.getInput().getDefiningOp<ConcatOp>();
    auto w = l.getWeight().getDefiningOp<WeightOp>();
    if (!cat || !w || l.getTransposeWeight() || !cat->hasOneUse() ||
        w->hasAttr("ditc.global_shape") ||
        cat.getAxis() + 1 != (int64_t)shapeOf(cat.getResult()).size())
      continue;
    auto wt = w.getType();
    Type et = wt.getElementType();
    if (!et.isIntOrFloat() || et.getIntOrFloatBitWidth() % 8)
      continue;
    int64_t n = wt.getDimSize(1), bytes = et.getIntOrFloatBitWidth() / 8;
    OpBuilder b(l);
    Value sum;
    int64_t row = 0;
    for (auto [k, part] : llvm::enumerate(cat.getOperands())) {
      int64_t rows = shapeOf(part).back();
      auto pw = WeightOp::create(
          b, w.getLoc(), RankedTensorType::get({rows, n}, et),
          (w.getName() + "@rows" + Twine(row) + "+" + Twine(rows)).str(), w.getFile(),
          w.getOffset() + row * n * bytes);
      pw->setAttr("ditc.source_name", w.getNameAttr());
      Value y = LinearOp::create(b, l.getLoc(), l.getType(), part, pw,
                                 k == 0 ? l.getBias() : Value(), false);
      sum = sum ? AddOp::create(b, l.getLoc(), l.getType(), sum, y).getResult() : y;
      row += rows;
    }
    l.getResult().replaceAllUsesWith(sum);
    l.erase();
    cat.erase();
    if (w->use_empty())
      w.erase();
  }
}

/// Adds `axes` to dimension `dim` of `v`'s seed (keeping mesh order).
void seed(Value v, unsigned dim, ArrayRef<std::string> axes) {
  Sharding s = getSharding(v).value_or(Sharding(cast<RankedTensorType>(v.getType()).getRank()));
  for (const std::string &a : axes)
    if (!llvm::is_contained(s[dim], a))
      s[dim].push_back(a);
  setSharding(v, s);
}

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
      return fail("empty plan (expected KEY=N,... with keys cfg dp ulysses ring tp pp)");
    for (StringRef item : items) {
      auto [key, val] = item.trim().split('=');
      key = key.trim();
      val = val.trim();
      int64_t n;
      if (!llvm::is_contained(kAxisOrder, key)) {
        if (key == "pipefusion" || key == "patches")
          return fail("PipeFusion ('" + key + "') is not implemented yet");
        return fail("unknown key '" + key + "' (expected cfg, dp, ulysses, ring, tp or pp)");
      }
      if (val.getAsInteger(10, n) || n < 1)
        return fail("'" + item.trim() + "' needs a positive integer degree");
      if (n > kMaxRanks)
        return fail("'" + item.trim() + "': degree above " + Twine(kMaxRanks));
      if (degree.count(key))
        return fail("'" + key + "' given twice");
      degree[key] = n;
    }
    Mesh mesh;
    int64_t product = 1;
    for (const char *a : kAxisOrder)
      if (int64_t n = degree.lookup(a); n > 1) {
        mesh.axes.push_back(a);
        mesh.shape.push_back(n);
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
    module->setAttr("ditc.plan", StringAttr::get(&getContext(), llvm::join(canonical, ",")));

    auto fn = module.lookupSymbol<func::FuncOp>("main");
    if (!fn)
      return fail("the module has no func.func @main");
    auto has = [&](StringRef a) { return mesh.indexOf(a) >= 0; };
    if (has("tp"))
      splitJoinedLinears(fn);
    DimClasses classes(fn);

    // Batch: cfg and dp split the first output's leading dimension.
    SmallVector<std::string> batchAxes;
    for (StringRef a : {"dp", "cfg"})
      if (has(a))
        batchAxes.push_back(a.str());
    if (!batchAxes.empty()) {
      Operation *ret = fn.getBody().front().getTerminator();
      if (ret->getNumOperands() == 0)
        return fail("the graph has no output to split by batch");
      Value out = ret->getOperand(0);
      auto t = cast<RankedTensorType>(out.getType());
      int64_t p = mesh.groupSize(batchAxes);
      std::string what = has("cfg") ? "cfg" : "dp";
      if (t.getRank() == 0 || t.getDimSize(0) % p)
        return fail(Twine(has("cfg") && !has("dp") ? "no CFG batch to split: " : "") +
                    "the first output has batch " +
                    Twine(t.getRank() ? t.getDimSize(0) : 0) + ", which does not divide by " +
                    Twine(p) + " (" + llvm::join(batchAxes, " x ") + ")");
      seed(out, 0, batchAxes);
    }

    // Sequence: every self-attention's query tokens (ring, then ulysses).
    SmallVector<std::string> seqAxes;
    for (StringRef a : {"ring", "ulysses"})
      if (has(a))
        seqAxes.push_back(a.str());
    if (!seqAxes.empty()) {
      int selfAttention = 0;
      // Self-attention: query and key tokens are one dimension, or (joint
      // attention over concatenated streams) of one length.
      int64_t p = mesh.groupSize(seqAxes), fewest = -1;
      fn.walk([&](AttentionOp a) {
        if (!classes.same(a.getQuery(), 2, a.getKey(), 2) &&
            shapeOf(a.getQuery())[2] != shapeOf(a.getKey())[2])
          return;
        ++selfAttention;
        int64_t tokens = shapeOf(a.getQuery())[2];
        if (fewest < 0 || tokens < fewest)
          fewest = tokens;
        seed(a.getQuery(), 2, seqAxes);
        seed(a.getKey(), 2, seqAxes);
        seed(a.getValue(), 2, seqAxes);
      });
      if (!selfAttention)
        return fail("sequence parallelism (" + llvm::join(seqAxes, ", ") +
                    ") needs self-attention, and the graph has none");
      if (p > fewest)
        return fail("sequence parallelism over " + Twine(p) + " ranks (" +
                    llvm::join(seqAxes, " x ") + ") leaves ranks without tokens: a "
                    "self-attention has " + Twine(fewest) + " tokens");
    }

    // Tensor parallelism: attention heads and the hidden units of
    // Megatron-style linear pairs.
    if (has("tp")) {
      int64_t p = mesh.groupSize(ArrayRef<std::string>{"tp"});
      bool bad = false;
      SmallVector<AttentionOp> attentions;
      fn.walk([&](AttentionOp a) { attentions.push_back(a); });
      for (AttentionOp a : attentions) {
        int64_t h = shapeOf(a.getQuery())[1], hkv = shapeOf(a.getKey())[1];
        // Heads that do not divide: padded with zero heads.
        std::string why;
        if (h % p && hkv != h) {
          if (h % hkv) {
            a.emitError("tp=") << p << " does not divide the " << h << " heads of this "
                               << "attention, and its " << hkv << " key/value heads do "
                               << "not group them evenly";
            bad = true;
            continue;
          }
          // Grouped K/V heads: repeated for every query head, so that the
          // padding below adds whole groups (zero K/V heads, each with its
          // zero query heads) and keeps every query head on its K/V head.
          OpBuilder b(a);
          a.getKeyMutable().assign(repeatKvHeads(b, a.getLoc(), a.getKey(), h));
          a.getValueMutable().assign(repeatKvHeads(b, a.getLoc(), a.getValue(), h));
          classes = DimClasses(fn);
          hkv = h;
        }
        if (h % p && failed(padClass(classes, classes.classOf(a.getQuery(), 1), p, why))) {
          a.emitError("tp=") << p << " does not divide the " << h << " heads of this "
                             << "attention, and they cannot be padded: " << why;
          bad = true;
          continue;
        }
        h = shapeOf(a.getQuery())[1];
        hkv = shapeOf(a.getKey())[1];
        seed(a.getQuery(), 1, {"tp"});
        if (hkv != h && hkv % p == 0)
          seed(a.getKey(), 1, {"tp"});
      }
      if (bad)
        return signalPassFailure();
      // Column-parallel linear A feeding row-parallel linear B: A's output
      // units and B's contraction are one class nobody needs whole.
      SmallVector<LinearOp> linears;
      fn.walk([&](LinearOp l) { linears.push_back(l); });
      SmallVector<Value> outputs(fn.getBody().front().getTerminator()->getOperands());
      for (LinearOp a : linears) {
        unsigned n = shapeOf(a.getResult()).size() - 1;
        unsigned cls = classes.classOf(a.getResult(), n);
        if (classes.isPinned(cls))
          continue;
        bool feedsRow = llvm::any_of(linears, [&](LinearOp b) {
          unsigned k = shapeOf(b.getInput()).size() - 1;
          return b != a && classes.classOf(b.getInput(), k) == cls;
        });
        // Hidden units that do not divide: padded with zero units where
        // that is exact; otherwise the pair stays whole.
        std::string why;
        if (feedsRow && shapeOf(a.getResult())[n] % p &&
            failed(padClass(classes, cls, p, why)))
          a.emitWarning("tp=") << p << " does not divide the " << shapeOf(a.getResult())[n]
                               << " output units of this layer, and they cannot be padded ("
                               << why << "): the layer and its partner stay whole";
        if (shapeOf(a.getResult())[n] % p)
          continue;
        // A last layer whose units reach an output unreduced (an LM head's
        // vocabulary, a DiT's unpatchify): split by columns, gathered at the
        // end (vocabulary-parallel head).
        unsigned k = shapeOf(a.getInput()).size() - 1;
        bool isRow = llvm::any_of(linears, [&](LinearOp b) {
          return b != a && classes.classOf(b.getResult(), shapeOf(b.getResult()).size() - 1) ==
                               classes.classOf(a.getInput(), k);
        });
        bool feedsOutput = !feedsRow && !isRow && llvm::any_of(classes.members(cls), [&](auto m) {
          return llvm::is_contained(outputs, m.first);
        });
        if (feedsRow || feedsOutput)
          seed(a.getResult(), n, {"tp"});
      }

    }
  }
};
} // namespace
