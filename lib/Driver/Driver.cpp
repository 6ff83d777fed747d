//===- Driver.cpp - what the ditc subcommands do --------------------------===//

#include "lib/Driver/Driver.h"

#include "dialects/Ditc/IR/DitcOps.h"
#include "lib/InitAll.h"
#include "lib/Support/Diagnostics.h"
#include "passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"
#include <map>

using namespace mlir;
using namespace mlir::ditc;

OwningOpRef<ModuleOp> mlir::ditc::importModel(MLIRContext &ctx, StringRef model,
                                              ArrayRef<std::string> shapes,
                                              bool fuse,
                                              ArrayRef<std::string> binds,
                                              ArrayRef<std::string> dims) {
  OneLineDiagnosticHandler diag(&ctx, model.str());
  OnnxImportOptions opts;
  auto parseAll = [&](ArrayRef<std::string> specs, auto parse) {
    for (const std::string &s : specs) {
      std::string why;
      if (failed(parse(s, opts, why))) {
        llvm::errs() << "error: " << why << "\n";
        return false;
      }
    }
    return true;
  };
  if (!parseAll(shapes, parseShapeOption) || !parseAll(binds, parseBindOption) ||
      !parseAll(dims, parseDimOption))
    return nullptr;
  OwningOpRef<ModuleOp> module = importOnnxModel(&ctx, model, opts);
  if (!module)
    return nullptr;
  PassManager pm(&ctx, ModuleOp::getOperationName());
  if (fuse)
    addFrontendPipeline(pm);
  if (failed(pm.run(*module)))
    return nullptr;
  if (diag.errorCount())
    return nullptr;
  return module;
}

static std::string typeStr(Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  t.print(os);
  return s;
}

void mlir::ditc::printModelSummary(ModuleOp module, llvm::raw_ostream &os) {
  auto func = module.lookupSymbol<func::FuncOp>("main");
  if (auto src = module->getAttrOfType<StringAttr>("ditc.source"))
    os << "model: " << src.getValue();
  if (auto opset = module->getAttrOfType<IntegerAttr>("ditc.opset"))
    os << " (opset " << opset.getInt() << ")";
  os << "\n";
  if (!func)
    return;
  auto name = [](DictionaryAttr attrs, unsigned k) -> std::string {
    if (attrs)
      if (auto n = attrs.getAs<StringAttr>("ditc.name"))
        return n.str();
    return "#" + std::to_string(k);
  };
  os << "inputs:\n";
  for (unsigned k = 0; k < func.getNumArguments(); ++k)
    os << "  " << name(func.getArgAttrDict(k), k) << ": "
       << typeStr(func.getArgument(k).getType()) << "\n";
  os << "outputs:\n";
  for (unsigned k = 0; k < func.getNumResults(); ++k)
    os << "  " << name(func.getResultAttrDict(k), k) << ": "
       << typeStr(func.getResultTypes()[k]) << "\n";
  std::map<std::string, int64_t> counts;
  llvm::StringMap<int64_t> weightElems;
  int64_t weightBytes = 0, total = 0;
  func.walk([&](Operation *op) {
    if (op->getDialect() && op->getDialect()->getNamespace() == "ditc") {
      counts[op->getName().getStringRef().str()]++;
      ++total;
    }
    if (auto w = dyn_cast<WeightOp>(op)) {
      auto t = w.getType();
      auto [it, inserted] = weightElems.insert({w.getName(), t.getNumElements()});
      if (inserted)
        weightBytes += t.getNumElements() *
                       std::max<int64_t>(1, t.getElementTypeBitWidth() / 8);
    }
  });
  int64_t params = 0;
  for (auto &e : weightElems)
    params += e.getValue();
  os << llvm::formatv("ops: {0}\n", total);
  std::vector<std::pair<int64_t, std::string>> sorted;
  for (auto &[n, c] : counts)
    sorted.push_back({-c, n});
  llvm::sort(sorted);
  for (auto &[c, n] : sorted)
    os << llvm::formatv("  {0,-22} {1,6}\n", n, -c);
  os << llvm::formatv("weights: {0} tensors, {1} parameters, {2:F1} MiB\n",
                      weightElems.size(), params,
                      weightBytes / (1024.0 * 1024.0));
}

int mlir::ditc::runImportCommand(const ImportCommandOptions &opts) {
  DialectRegistry registry;
  registerAllDialects(registry);
  MLIRContext ctx(registry);
  OwningOpRef<ModuleOp> module =
      importModel(ctx, opts.model, opts.shapes, opts.fuse, opts.binds, opts.dims);
  if (!module)
    return 1;
  std::string err;
  auto out = openOutputFile(opts.output, &err);
  if (!out) {
    llvm::errs() << "error: " << opts.output << ": " << err << "\n";
    return 1;
  }
  if (opts.summary)
    printModelSummary(*module, out->os());
  else
    module->print(out->os());
  out->keep();
  return 0;
}
