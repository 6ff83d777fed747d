//===- TestProfile.cpp - print the Profile analysis for lit ---------------===//
//
// `ditc-opt -test-print-profile` prints, per step of @main, the op's cost
// and the activation bytes live while it runs, then the totals; with
// `hw=NAME` also the predicted time of each op on that machine.
//
//===----------------------------------------------------------------------===//

#include "passes/Analysis/Hardware.h"
#include "passes/Analysis/Layers.h"
#include "passes/Analysis/Profile.h"
#include "passes/Analysis/TimeModel.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::ditc;

namespace {

struct TestPrintProfilePass
    : PassWrapper<TestPrintProfilePass, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(TestPrintProfilePass)

  TestPrintProfilePass() = default;
  TestPrintProfilePass(const TestPrintProfilePass &other)
      : PassWrapper(other) {}

  StringRef getArgument() const final { return "test-print-profile"; }
  StringRef getDescription() const final {
    return "Print the Profile analysis (costs, liveness, layers) of @main";
  }

  Option<std::string> hw{*this, "hw",
                         llvm::cl::desc("Also print predicted times on this "
                                        "machine (built-in name or file)")};

  void runOnOperation() override {
    const Profile &profile = getAnalysis<Profile>();
    if (!profile.isValid()) {
      getOperation().emitError("expected a single-block func.func @main");
      return signalPassFailure();
    }
    std::optional<HardwareDesc> machine;
    if (!hw.empty()) {
      std::string err;
      machine = loadHardware(hw, err);
      if (!machine) {
        getOperation().emitError(err);
        return signalPassFailure();
      }
    }
    llvm::raw_ostream &os = llvm::outs();
    for (const OpCost &c : profile.ops()) {
      os << llvm::formatv("step {0} {1}: matrix {2} other {3} read {4} "
                          "written {5} params {6} live {7}",
                          c.step, c.op->getName(), c.flopsMatrix, c.flopsOther,
                          c.bytesRead, c.bytesWritten, c.paramElements,
                          c.liveBytes);
      if (c.matrixFraction != 1.0)
        os << llvm::formatv(" executed {0:F4}", c.matrixFraction);
      if (machine) {
        OpTime t = predictOpTime(c, *machine);
        os << llvm::formatv(" time {0:E3} {1}", t.totalS,
                            t.totalS == 0     ? "none"
                            : t.memoryBound   ? "memory"
                                              : "compute");
      }
      os << "\n";
    }
    const ProfileTotals &s = profile.totals();
    os << llvm::formatv("total: matrix {0} other {1} read {2} written {3} "
                        "params {4} param-bytes {5} inputs {6} outputs {7}\n",
                        s.flopsMatrix, s.flopsOther, s.bytesRead,
                        s.bytesWritten, s.paramElements(), s.paramBytes(),
                        s.inputBytes, s.outputBytes);
    os << llvm::formatv("memory: arena {0} peak-live {1} peak-step {2}\n",
                        s.arenaBytes, s.peakLiveBytes, s.peakStep);
    for (const LayerSpan &l : findLayers(profile.ops()))
      os << llvm::formatv("layer '{0}': steps {1}..{2}\n", l.name, l.begin,
                          l.end - 1);
  }
};

} // namespace

namespace mlir::ditc {
void registerTestProfilePass() { PassRegistration<TestPrintProfilePass>(); }
} // namespace mlir::ditc
