//===- TensorParallel.cpp - helpers of the tensor-parallel passes ---------===//

#include "passes/Parallel/TensorParallel.h"

using namespace mlir;
using namespace mlir::ditc;

LogicalResult mlir::ditc::runOnTensorAxis(
    ModuleOp module, function_ref<LogicalResult(func::FuncOp, const TensorAxis &)> body) {
  FailureOr<Mesh> mesh = Mesh::of(module);
  if (failed(mesh))
    return failure();
  int64_t i = mesh->indexOf(MeshAxisKind::tensor);
  if (i < 0)
    return success();
  auto fn = module.lookupSymbol<func::FuncOp>("main");
  if (!fn)
    return module.emitError("the module has no func.func @main");
  return body(fn, TensorAxis{mesh->axes[i], mesh->shape[i]});
}

SmallVector<AttentionOp> mlir::ditc::attentionsOf(func::FuncOp fn) {
  SmallVector<AttentionOp> out;
  fn.walk([&](AttentionOp a) { out.push_back(a); });
  return out;
}

bool mlir::ditc::feedsRowLinear(LinearOp a, ArrayRef<LinearOp> linears, DimClasses &classes) {
  unsigned cls = classes.classOf(a.getResult(), shapeOf(a.getResult()).size() - 1);
  return llvm::any_of(linears, [&](LinearOp b) {
    unsigned k = shapeOf(b.getInput()).size() - 1;
    return b != a && classes.classOf(b.getInput(), k) == cls;
  });
}

std::string mlir::ditc::describeOp(Operation *op) {
  std::string s = op->getName().getStringRef().str();
  if (auto name = op->getLoc()->findInstanceOf<NameLoc>())
    s += " ('" + name.getName().str() + "')";
  return s;
}
