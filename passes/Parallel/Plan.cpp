//===- Plan.cpp - write a user-given plan as a mesh and seed shardings ----===//

#include "passes/Parallel/DimClasses.h"
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
    DimClasses classes(fn);
    auto has = [&](StringRef a) { return mesh.indexOf(a) >= 0; };

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
      fn.walk([&](AttentionOp a) {
        int64_t h = shapeOf(a.getQuery())[1], hkv = shapeOf(a.getKey())[1];
        if (h % p) {
          a.emitError("tp=") << p << " does not divide the " << h
                             << " heads of this attention";
          bad = true;
          return;
        }
        seed(a.getQuery(), 1, {"tp"});
        if (hkv != h && hkv % p == 0)
          seed(a.getKey(), 1, {"tp"});
      });
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
        if (classes.isPinned(cls) || shapeOf(a.getResult())[n] % p)
          continue;
        bool feedsRow = llvm::any_of(linears, [&](LinearOp b) {
          unsigned k = shapeOf(b.getInput()).size() - 1;
          return b != a && classes.classOf(b.getInput(), k) == cls;
        });
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
