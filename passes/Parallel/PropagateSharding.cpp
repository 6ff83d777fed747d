//===- PropagateSharding.cpp - complete a partial plan --------------------===//

#include "passes/Parallel/DimClasses.h"
#include "passes/Parallel/Passes.h"

#include "dialects/Ditc/IR/DitcSharding.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::ditc {
#define GEN_PASS_DEF_PROPAGATESHARDINGPASS
#include "passes/Parallel/Passes.h.inc"
} // namespace mlir::ditc

using namespace mlir;
using namespace mlir::ditc;

namespace {
struct PropagateShardingPass
    : ditc::impl::PropagateShardingPassBase<PropagateShardingPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Mesh> mesh = Mesh::of(module);
    if (failed(mesh))
      return signalPassFailure();
    for (auto fn : module.getOps<func::FuncOp>()) {
      DimClasses classes(fn);
      // The split each class gets, and the value it came from.
      llvm::DenseMap<unsigned, std::pair<SmallVector<std::string, 2>, Value>> split;
      for (Value v : classes.values()) {
        std::optional<Sharding> s = getSharding(v);
        if (!s)
          continue;
        for (auto [d, axes] : llvm::enumerate(*s)) {
          for (const std::string &a : axes)
            if (mesh->indexOf(a) < 0) {
              emitError(v.getLoc(), "sharding names '") << a
                  << "', which is not an axis of the module's ditc.mesh";
              return signalPassFailure();
            }
          if (axes.empty())
            continue;
          unsigned cls = classes.classOf(v, d);
          auto [it, inserted] = split.try_emplace(cls, axes, v);
          if (!inserted && it->second.first != axes) {
            InFlightDiagnostic diag = emitError(v.getLoc(), "dimension ")
                                      << d << " is split over ["
                                      << llvm::join(axes, ", ")
                                      << "], but it is tied to a dimension split over ["
                                      << llvm::join(it->second.first, ", ") << "]";
            diag.attachNote(it->second.second.getLoc()) << "split here";
            return signalPassFailure();
          }
        }
      }
      if (split.empty())
        continue;
      for (Value v : classes.values()) {
        auto t = dyn_cast<RankedTensorType>(v.getType());
        if (!t)
          continue;
        Sharding s(t.getRank());
        bool any = false;
        llvm::StringSet<> used; // a mesh axis splits one dimension only
        for (unsigned d = 0; d < t.getRank(); ++d) {
          auto it = split.find(classes.classOf(v, d));
          if (it == split.end() || t.getDimSize(d) <= 1 ||
              llvm::any_of(it->second.first,
                           [&](const std::string &a) { return used.contains(a); }))
            continue;
          for (const std::string &a : it->second.first)
            used.insert(a);
          s[d].assign(it->second.first.begin(), it->second.first.end());
          any = true;
        }
        if (any)
          setSharding(v, s);
      }
    }
  }
};
} // namespace
