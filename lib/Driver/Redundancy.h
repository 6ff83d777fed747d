//===- Redundancy.h - `ditc redundancy`: step-to-step change per layer ----===//
//
// `ditc redundancy OUT.so --steps S [--inputs IN.npz ...]` loads a library
// compiled with `ditc compile --probes redundancy`, runs the sampler of
// `ditc run --steps` (Sampler.h) over each input set, reads the probes after
// every denoising step and reports, per layer and step, how much the layer
// changed since the step before (RedundancyReport.h). `--dump DIR` also
// writes every probed tensor of every step (DIR/set<k>/step<i>.npz, keyed
// "<layer>:<quantity>"), from which the values can be recomputed.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_REDUNDANCY_H
#define DITC_LIB_DRIVER_REDUNDANCY_H

#include <string>
#include <vector>

namespace mlir::ditc {

struct RedundancyCommandOptions {
  std::string library;
  /// Input sets (.npz keyed by the graph's input names); empty: one random
  /// set (seed 0, as ditc run).
  std::vector<std::string> inputs;
  int steps = 0;
  int warmupSteps = -1; // -1: 1
  std::string scheduler, latentInput, timestepInput;
  /// table (default), json, svg or html; to `output` ("-": stdout).
  std::string format = "table";
  std::string output = "-";
  std::string dump;
  int threads = 0;
  /// A weight file in place of the one beside the library; empty: that one.
  std::string weights;
};

/// Returns the process exit code (0 ok, 1 error: one line on stderr).
int runRedundancyCommand(const RedundancyCommandOptions &opts);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_REDUNDANCY_H
