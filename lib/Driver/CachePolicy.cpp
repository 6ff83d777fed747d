//===- CachePolicy.cpp - step-cache settings from a redundancy report -----===//
//
// See CachePolicy.h.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/CachePolicy.h"

#include "dialects/Ditc/IR/DitcOps.h"
#include "passes/Transforms/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

using namespace mlir;
using namespace mlir::ditc;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// "layer:quantity" of every probe -ditc-insert-probes gives `module`.
FailureOr<std::set<std::string>> probedLayers(ModuleOp module) {
  OwningOpRef<ModuleOp> copy(module.clone());
  PassManager pm(module.getContext(), ModuleOp::getOperationName());
  pm.addPass(createInsertProbesPass());
  if (failed(pm.run(*copy)))
    return failure();
  std::set<std::string> names;
  copy->walk([&](ProbeOp p) {
    names.insert(p.getLayer().str() + ":" + stringifyProbeQuantity(p.getQuantity()).str());
  });
  return names;
}

} // namespace

FailureOr<CachePolicy> mlir::ditc::readCachePolicy(ModuleOp module, const std::string &path,
                                                   const std::string &kind, StringRef model) {
  auto fail = [&](const llvm::Twine &why) -> FailureOr<CachePolicy> {
    llvm::errs() << "error: --cache-policy " << path << ": " << why << "\n";
    return failure();
  };
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (!buffer)
    return fail(buffer.getError().message());
  nlohmann::json j = nlohmann::json::parse((*buffer)->getBuffer().str(), nullptr, false);
  if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array() ||
      !j.value("steps", 0))
    return fail("not a report of ditc redundancy --format json (no \"steps\" and \"layers\")");

  // The report's probes must be this graph's.
  std::set<std::string> theirs;
  for (const auto &l : j["layers"])
    if (l.is_object())
      for (const auto &[key, value] : l.items())
        if (key != "name" && key.rfind("cv_", 0) != 0)
          theirs.insert(l.value("name", std::string()) + ":" + key);
  FailureOr<std::set<std::string>> ours = probedLayers(module);
  if (failed(ours))
    return failure();
  if (theirs != *ours) {
    std::string diff;
    for (const std::string &n : theirs)
      if (!ours->count(n) && diff.empty())
        diff = "it has '" + n + "', which this graph does not";
    for (const std::string &n : *ours)
      if (!theirs.count(n) && diff.empty())
        diff = "this graph has '" + n + "', which it does not";
    return fail("is for another model: it probed " + llvm::Twine(theirs.size()) +
                " layer quantities, " + model + " has " + llvm::Twine(ours->size()) + "; " + diff);
  }

  // The first block's residual change per step.
  std::vector<double> c;
  for (const auto &l : j["layers"])
    if (l.contains("residual")) {
      for (const auto &v : l["residual"])
        if (v.is_number())
          c.push_back(v.get<double>());
      break;
    }
  if (c.empty())
    return fail("has no block residual with values to set a threshold from");
  CachePolicy p;
  if (j.contains("teacache_coefficients") && kind == "teacache") {
    for (const auto &v : j["teacache_coefficients"])
      if (v.is_number())
        p.coefficients.push_back(v.get<double>());
    if (p.coefficients.empty() || p.coefficients.size() > 6)
      return fail("\"teacache_coefficients\" must be 1 to 6 numbers");
  }
  double m = median(c);
  size_t k = 0;
  while (k < c.size() && c[k] >= 2 * m)
    ++k;
  p.computeFraction = double(k + 1) / double(j["steps"].get<int>());
  if (kind == "fbcache") {
    p.threshold = m;
  } else {
    std::vector<double> rescaled = c;
    if (!p.coefficients.empty())
      for (double &v : rescaled) {
        double poly = 0;
        for (double coef : p.coefficients)
          poly = poly * v + coef;
        v = poly;
      }
    p.threshold = 2 * median(rescaled);
  }
  if (!(p.threshold >= 0) || !std::isfinite(p.threshold))
    return fail("gives no usable threshold (" + std::to_string(p.threshold) + ")");
  return p;
}
