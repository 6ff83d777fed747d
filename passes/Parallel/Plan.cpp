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
/// The plan keys and the kinds of axis they make, in mesh order.
struct PlanKey {
  const char *key;
  MeshAxisKind kind;
};
constexpr PlanKey kAxisOrder[] = {
    {"pp", MeshAxisKind::pipeline}, {"dp", MeshAxisKind::data},
    {"cfg", MeshAxisKind::cfg},     {"ring", MeshAxisKind::ring},
    {"ulysses", MeshAxisKind::ulysses}, {"tp", MeshAxisKind::tensor}};
/// More ranks than any plan needs (and one weight file each): a typo guard.
constexpr int64_t kMaxRanks = 4096;

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
      if (llvm::none_of(kAxisOrder, [&](const PlanKey &k) { return key == k.key; })) {
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
    for (const PlanKey &k : kAxisOrder)
      if (int64_t n = degree.lookup(k.key); n > 1) {
        mesh.addAxis(k.key, n, k.kind);
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

    // Sequence: every self-attention's query tokens (ring, then ulysses).
    SmallVector<std::string> seqAxes;
    for (MeshAxisKind k : {MeshAxisKind::ring, MeshAxisKind::ulysses})
      if (has(k))
        seqAxes.push_back(mesh.nameOf(k));
    if (!seqAxes.empty()) {
      int selfAttention = 0;
      // Self-attention: query and key tokens are one dimension, or (joint
      // attention over concatenated streams) of one length.
      int64_t p = mesh.groupSize(seqAxes), fewest = -1;
      SequenceParallel algorithm =
          !has(MeshAxisKind::ring)      ? SequenceParallel::ulysses
          : !has(MeshAxisKind::ulysses) ? SequenceParallel::ring
                                        : SequenceParallel::usp;
      fn.walk([&](AttentionOp a) {
        if (!classes.same(a.getQuery(), 2, a.getKey(), 2) &&
            shapeOf(a.getQuery())[2] != shapeOf(a.getKey())[2])
          return;
        ++selfAttention;
        int64_t tokens = shapeOf(a.getQuery())[2];
        if (fewest < 0 || tokens < fewest)
          fewest = tokens;
        addSplit(a.getQuery(), 2, seqAxes);
        addSplit(a.getKey(), 2, seqAxes);
        addSplit(a.getValue(), 2, seqAxes);
        a->setAttr(kSequenceParallelAttr, SequenceParallelAttr::get(&getContext(), algorithm));
      });
      if (!selfAttention)
        return fail("sequence parallelism (" + llvm::join(seqAxes, ", ") +
                    ") needs self-attention, and the graph has none");
      if (p > fewest)
        return fail("sequence parallelism over " + Twine(p) + " ranks (" +
                    llvm::join(seqAxes, " x ") + ") leaves ranks without tokens: a "
                    "self-attention has " + Twine(fewest) + " tokens");
    }

    // Tensor parallelism is planned by the passes after this one
    // (-ditc-split-joined-linears, -ditc-repeat-kv-heads,
    // -ditc-pad-tensor-parallel, -ditc-seed-tensor-parallel): the mesh's
    // tensor axis is their whole input.
  }
};
} // namespace
