//===- Redundancy.cpp - `ditc redundancy`: step-to-step change per layer --===//
//
// See Redundancy.h. Per input set: one denoising run of the sampler; after
// each step the probes' values (NaN at step 0); then the mean and the
// coefficient of variation over the sets, grouped by layer in program order.
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Redundancy.h"

#include "lib/Driver/ModelLibrary.h"
#include "lib/Driver/Npz.h"
#include "lib/Driver/RedundancyReport.h"
#include "lib/Driver/Run.h"
#include "lib/Driver/Sampler.h"

#include "ditc/runtime/ditc_model.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cmath>
#include <map>

using namespace llvm;

namespace mlir::ditc {

namespace {

int fail(const Twine &msg) {
  errs() << "error: " << msg << "\n";
  return 1;
}

/// The order of a layer's series in the report.
int quantityRank(const std::string &q) {
  static const char *order[] = {"k",        "v",        "out",      "k_text",
                                "v_text",   "out_text", "residual", "residual_text"};
  for (int i = 0; i < 8; ++i)
    if (q == order[i])
      return i;
  return 8;
}

} // namespace

int runRedundancyCommand(const RedundancyCommandOptions &opts) {
  if (opts.steps < 2)
    return fail("--steps " + Twine(opts.steps) +
                " is below 2: the change is measured between denoising steps");
  if (opts.warmupSteps > opts.steps)
    return fail("--warmup-steps " + Twine(opts.warmupSteps) + " is more than --steps " +
                Twine(opts.steps));
  if (!opts.scheduler.empty() && opts.scheduler != "euler" && opts.scheduler != "ddim")
    return fail("--scheduler '" + opts.scheduler + "' is not euler or ddim");
  if (opts.format != "table" && opts.format != "json" && opts.format != "svg" &&
      opts.format != "html")
    return fail("--format '" + opts.format + "' is not table, json, svg or html");

  std::string err;
  std::unique_ptr<ModelLibrary> lib = ModelLibrary::load(opts.library, opts.weights, opts.threads, err);
  if (!lib)
    return fail(err);
  const std::vector<ProbeDesc> &probes = lib->probes();
  if (probes.empty() && lib->cacheKind().empty())
    return fail(opts.library + " was compiled without probes: compile it with ditc compile "
                               "--probes redundancy");
  errs() << formatv("ditc redundancy: {0} probes, {1:F1} MiB of the arena\n", probes.size(),
                    lib->probeBytes() / 1048576.0);
  const std::vector<TensorDesc> &inDescs = lib->inputs(), &outDescs = lib->outputs();
  SamplerIO io;
  if (!findSamplerIO(inDescs, outDescs, opts.latentInput, opts.timestepInput, io, err))
    return fail(err);
  std::string scheduler = schedulerFor(opts.scheduler, io);
  std::optional<Schedule> schedule = makeSchedule(scheduler, opts.steps);
  int warmupSteps = opts.warmupSteps >= 0 ? opts.warmupSteps : 1;

  RedundancyReport report;
  report.library = opts.library;
  report.scheduler = scheduler;
  report.steps = opts.steps;
  report.warmupSteps = warmupSteps;
  report.timesteps = schedule->timestep;
  std::vector<std::string> sets = opts.inputs;
  if (sets.empty())
    sets.push_back("");
  for (const std::string &s : sets)
    report.inputSets.push_back(s.empty() ? "random (seed 0)" : s);

  // values[set][probe][step - 1]
  std::vector<std::vector<std::vector<double>>> values(
      sets.size(), std::vector<std::vector<double>>(probes.size()));
  std::vector<Buffer> outBufs;
  for (const TensorDesc &t : outDescs)
    outBufs.emplace_back(t.bytes);
  report.cacheKind = lib->cacheKind();
  if (!report.cacheKind.empty()) {
    report.cacheChange.resize(sets.size());
    report.cacheSkipped.resize(sets.size());
  }
  for (size_t k = 0; k < sets.size(); ++k) {
    std::vector<Buffer> inBufs;
    for (const TensorDesc &t : inDescs)
      inBufs.emplace_back(t.bytes);
    if (!sets[k].empty()) {
      if (!readInputs(sets[k], inDescs, inBufs, err))
        return fail(err);
    } else {
      for (size_t i = 0; i < inDescs.size(); ++i)
        fillRandom(inDescs[i], (int)i, inBufs[i]);
    }
    std::string dumpDir;
    if (!opts.dump.empty()) {
      dumpDir = opts.dump + "/set" + std::to_string(k);
      if (std::error_code ec = sys::fs::create_directories(dumpDir))
        return fail("--dump " + opts.dump + ": cannot create '" + dumpDir + "': " + ec.message());
    }
    errs() << formatv("ditc redundancy: input set {0}/{1} ({2}): {3} denoising steps\n", k + 1,
                      sets.size(), report.inputSets[k], opts.steps);
    if (!lib->beginDenoising(opts.steps, warmupSteps, err))
      return fail(err);
    for (int i = 0; i < opts.steps; ++i) {
      if (!writeTimestep(inDescs[io.timestep], schedule->timestep[i], inBufs[io.timestep]))
        return fail("cannot write the timestep input '" + inDescs[io.timestep].name + "'");
      if (!lib->setDenoisingStep(i, err) || !lib->run(inBufs, outBufs, err))
        return fail("denoising step " + Twine(i + 1) + ": " + err);
      std::vector<double> v;
      if (!lib->probeValues(v, err))
        return fail("denoising step " + Twine(i + 1) + ": cannot read the probes: " + err);
      if (i > 0)
        for (size_t p = 0; p < probes.size(); ++p)
          values[k][p].push_back(v[p]);
      if (!report.cacheKind.empty()) {
        ditc_cache_state st{};
        if (!lib->cacheState(st, err))
          return fail(err);
        report.cacheChange[k].push_back(st.change);
        report.cacheSkipped[k].push_back(st.skipped);
      }
      if (!dumpDir.empty()) {
        std::vector<npz::Array> arrays;
        for (size_t p = 0; p < probes.size(); ++p) {
          Buffer data(probes[p].tensor.bytes);
          if (!lib->probeTensor((int32_t)p, data, err))
            return fail(err);
          TensorDesc t = probes[p].tensor;
          t.name = probes[p].layer + ":" + probes[p].quantity;
          arrays.push_back(npzArray(t, data.data()));
        }
        std::string path = dumpDir + "/step" + std::to_string(i) + ".npz";
        if (!npz::writeNpz(path, arrays, err))
          return fail(err);
      }
      updateLatent(inDescs[io.latent], inBufs[io.latent], outDescs[io.output],
                   outBufs[io.output], io, schedule->xScale[i], schedule->predScale[i]);
    }
  }

  // Layers in program order, each with its series in quantity order.
  std::map<std::string, size_t> layerOf;
  for (size_t p = 0; p < probes.size(); ++p) {
    auto [it, inserted] = layerOf.try_emplace(probes[p].layer, report.layers.size());
    if (inserted)
      report.layers.push_back({probes[p].layer, {}});
    RedundancySeries s;
    s.quantity = probes[p].quantity;
    size_t n = opts.steps - 1;
    for (size_t i = 0; i < n; ++i) {
      double sum = 0, sq = 0;
      for (size_t k = 0; k < sets.size(); ++k)
        sum += values[k][p][i];
      double mean = sum / sets.size();
      s.mean.push_back(mean);
      if (sets.size() < 2)
        continue;
      for (size_t k = 0; k < sets.size(); ++k)
        sq += (values[k][p][i] - mean) * (values[k][p][i] - mean);
      s.cv.push_back(mean == 0 ? std::nan("") : std::sqrt(sq / sets.size()) / mean);
    }
    report.layers[it->second].series.push_back(std::move(s));
  }
  for (RedundancyLayer &l : report.layers)
    std::stable_sort(l.series.begin(), l.series.end(), [](const auto &a, const auto &b) {
      return quantityRank(a.quantity) < quantityRank(b.quantity);
    });

  auto file = openOutputFile(opts.output, &err);
  if (!file)
    return fail(opts.output + ": " + err);
  raw_ostream &os = file->os();
  if (opts.format == "json")
    writeRedundancyJson(report, os);
  else if (opts.format == "svg")
    writeRedundancySvg(report, os);
  else if (opts.format == "html")
    writeRedundancyHtml(report, os);
  else
    writeRedundancyTable(report, os);
  file->keep();
  return 0;
}

} // namespace mlir::ditc
