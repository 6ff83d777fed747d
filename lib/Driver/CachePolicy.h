//===- CachePolicy.h - step-cache settings from a redundancy report -*- C++ -*-===//
//
// `ditc compile --cache KIND --cache-policy REPORT.json` sets the cache's
// threshold and the steps that always compute from what `ditc redundancy
// --format json` measured on the same model. The rule, on the first
// block's residual change c_1 .. c_{S-1} (the report's first layer with a
// "residual", averaged over its input sets):
//
//   m  = the median of the c_i
//   K  = how many c_i in a row from c_1 are at least 2 m (the early,
//        volatile steps); the first (K + 1) / S of a run always compute
//   fbcache threshold  = m
//   teacache threshold = 2 m, or 2 median(poly(c_i)) with the report's
//        optional "teacache_coefficients" (highest power first), which then
//        also become the cache's rescaling polynomial
//
// so that the quieter half of the steps is where fbcache skips, and
// teacache skips about every other step there. The report must come from
// this model: its probed layers and quantities must be those that
// `--probes redundancy` gives this graph.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_CACHEPOLICY_H
#define DITC_LIB_DRIVER_CACHEPOLICY_H

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::ditc {

struct CachePolicy {
  double threshold = 0;
  double computeFraction = 0;
  /// Empty: the kind's default polynomial.
  std::vector<double> coefficients;
};

/// Reads `path` for `module` (of `model`) and cache `kind`; on failure
/// prints one line naming the file and the cause and returns failure.
FailureOr<CachePolicy> readCachePolicy(ModuleOp module, const std::string &path,
                                       const std::string &kind, StringRef model);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_CACHEPOLICY_H
