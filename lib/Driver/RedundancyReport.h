//===- RedundancyReport.h - `ditc redundancy`'s report ----------*- C++ -*-===//
//
// What `ditc redundancy` measured, and its four renderings. A library
// compiled with `ditc compile --probes redundancy` records, at every call,
// the relative L1 change of some tensors since the previous call:
//
//   change = sum |x_t - x_{t-1}| / sum |x_{t-1}|
//
// for each attention layer's K, V and output (after the output projection)
// and each transformer block's residual (its output minus its input). The
// command runs a denoising sampler S steps over one or more input sets and
// keeps, per layer and quantity, S - 1 values (denoising steps 1 .. S - 1;
// step 0 has no step before it): their mean over the input sets and, with
// two or more sets, the coefficient of variation across the sets (standard
// deviation over mean, population form: DiTCacheAnalysis's stability check).
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_REDUNDANCYREPORT_H
#define DITC_LIB_DRIVER_REDUNDANCYREPORT_H

#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace mlir::ditc {

/// One probed quantity of a layer.
struct RedundancySeries {
  /// "k", "v", "out", "k_text", "v_text", "out_text", "residual",
  /// "residual_text" (the JSON key).
  std::string quantity;
  /// Per denoising step 1 .. S - 1: the mean over the input sets of the
  /// relative L1 change (NaN where undefined: nothing before it, or a zero
  /// previous value with a nonzero change is +inf).
  std::vector<double> mean;
  /// The same length: the coefficient of variation across the input sets
  /// (empty with one input set; NaN where the mean is 0).
  std::vector<double> cv;
};

/// One attention layer ("block A.3.attn0") or transformer block
/// ("block A.3"), in schedule order.
struct RedundancyLayer {
  std::string name;
  std::vector<RedundancySeries> series;
};

struct RedundancyReport {
  /// The library, the sampler and the inputs it ran.
  std::string library;
  std::string scheduler;
  int steps = 0;
  int warmupSteps = 0;
  std::vector<std::string> inputSets;
  /// The timestep the model got at each denoising step (S entries).
  std::vector<double> timesteps;
  std::vector<RedundancyLayer> layers;
  /// A library with a step cache too (ditc compile --cache): its kind and,
  /// per input set and denoising step, the change it measured (NaN: none)
  /// and whether the step skipped the blocks. The JSON's "cache": {"kind",
  /// "change": [sets][S], "skipped": [sets][S]}.
  std::string cacheKind;
  std::vector<std::vector<double>> cacheChange;
  std::vector<std::vector<int>> cacheSkipped;
};

/// A fixed-width text table: one row per layer and quantity, one column per
/// denoising step (the mean; "cv" rows follow when there are several input
/// sets). Long runs show at most 12 step columns, evenly picked, and say
/// so.
void writeRedundancyTable(const RedundancyReport &r, llvm::raw_ostream &os);

/// {"library", "scheduler", "steps", "warmup_steps", "input_sets",
///  "timesteps": [S], "layers": [{"name", "<quantity>": [S - 1],
///  "cv_<quantity>": [S - 1] (with several input sets)}]}; NaN and inf are
/// null.
void writeRedundancyJson(const RedundancyReport &r, llvm::raw_ostream &os);

/// One small plot per layer in a grid (log-scale y, denoising step on x,
/// one line per quantity, a shared legend), as DiTCacheAnalysis draws them.
void writeRedundancySvg(const RedundancyReport &r, llvm::raw_ostream &os);

/// A self-contained HTML page: a title, the run's settings, the SVG inline
/// and the table.
void writeRedundancyHtml(const RedundancyReport &r, llvm::raw_ostream &os);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_REDUNDANCYREPORT_H
