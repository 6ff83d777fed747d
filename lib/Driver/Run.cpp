//===- Run.cpp - `ditc run`: load a compiled model library and run it -----===//
//
// Uses a model library only through dlopen/dlsym and the C ABI of
// include/ditc/runtime/ditc_model.h, exactly as an application would, so this
// also checks that a library is usable on its own.
//
// Random inputs (no --inputs): seed 0, one stream per input index;
//   float inputs (f32, f64, f16, bf16)  standard normal N(0, 1)
//   integer inputs of rank <= 1         uniform in [0, 1000) (timesteps,
//                                       class labels), [0, 100) for 8-bit
//   integer inputs of rank >= 2         uniform in [0, 100) (token ids)
//   bool inputs                         all true (masks that keep everything)
//
// --steps S: a diffusion sampler (Sampler.h) calls the model S times as
// the denoising steps of one run (ditc_model_begin_denoising /
// _set_denoising_step), feeding each prediction back into the latent, and
// writes the final latent to --outputs under the latent input's name.
//
// Multi-rank libraries (ditc compile --devices N) run under mpirun -np N:
// every rank loads the library and reads the same inputs; rank 0 prints the
// report and writes --outputs / --trace, the others print only their
// errors and, with --comm-stats, their traffic (each rank's lines in one
// write, so that ranks do not interleave within them).
//
//===----------------------------------------------------------------------===//

#include "lib/Driver/Run.h"

#include "lib/Driver/ModelLibrary.h"
#include "lib/Driver/Npz.h"
#include "lib/Driver/Sampler.h"

#include "ditc/runtime/ditc_comm.h"
#include "ditc/runtime/ditc_model.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <vector>

using namespace llvm;

namespace mlir::ditc {

namespace {

// One line on stderr, in one write (the ranks of a parallel run share it).
// Under mpirun the first rank to exit non-zero makes mpirun end the others
// (its line says why; `mpirun --mca orte_abort_on_non_zero_status 0` lets
// every rank finish and say so).
int fail(const Twine &msg) {
  std::string s = "error: " + msg.str();
  std::replace(s.begin(), s.end(), '\n', ' ');
  s += "\n";
  errs() << s;
  errs().flush();
  return 1;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

std::string mib(uint64_t bytes) {
  std::string s;
  raw_string_ostream os(s);
  os << format("%.2f MiB (%llu bytes)", bytes / 1048576.0,
               (unsigned long long)bytes);
  return s;
}

/// The library's memory: its arena (with PipeFusion's K/V buffers, which
/// stay from one denoising step to the next) and this rank's weights.
void printMemory(raw_ostream &out, const ModelLibrary &lib) {
  out << "arena: " << mib(lib.arenaBytes()) << "\n";
  if (uint64_t kv = lib.kvCacheBytes())
    out << "K/V buffers: " << mib(kv)
        << " of the arena, kept from one denoising step to the next\n";
  if (uint64_t probes = lib.probeBytes())
    out << "probes: " << lib.probes().size() << " redundancy probes, " << mib(probes)
        << " of the arena (each one's tensor of the previous call)\n";
  out << "weights: " << mib(lib.weightBytes()) << "\n";
}

// The names of the ditc_rt_comm_kind values.
const char *commKindName(int32_t kind) {
  static const char *const names[DITC_RT_COMM_KIND_COUNT] = {
      "all_reduce", "all_gather", "reduce_scatter",
      "all_to_all", "broadcast",  "send"};
  return names[kind];
}

/// Where this rank writes --outputs (or --trace): every rank its own file
/// when the path has %r (replaced by the rank), else rank 0 alone ("" for
/// the others).
std::string outputsPath(const std::string &outputs, int32_t rank) {
  size_t at = outputs.find("%r");
  if (at == std::string::npos)
    return rank == 0 ? outputs : std::string();
  std::string path = outputs;
  path.replace(at, 2, std::to_string(rank));
  return path;
}

/// Whether npz array `a` can feed input `t`: the same dtype and shape; a
/// bf16 input also takes float32 (rounded to nearest even) or uint16 (the
/// bit patterns, as ONNX test data store bfloat16), numpy having no bf16.
bool npzFitsInput(const npz::Array &a, const TensorDesc &t) {
  if (a.shape != t.shape)
    return false;
  if (t.dtype == DITC_DTYPE_BF16)
    return a.dtype == npz::DType::F32 || a.dtype == npz::DType::U16;
  return (int32_t)a.dtype == t.dtype;
}

/// Copies `a` (npzFitsInput) into the input buffer of `t`.
void copyNpzInput(const npz::Array &a, const TensorDesc &t, uint8_t *dst) {
  if (t.dtype != DITC_DTYPE_BF16 || a.dtype == npz::DType::U16) {
    std::memcpy(dst, a.data.data(), t.bytes);
    return;
  }
  for (uint64_t k = 0; k < t.bytes / 2; ++k) {
    float f;
    std::memcpy(&f, a.data.data() + 4 * k, 4);
    uint16_t h = floatToBf16(f);
    std::memcpy(dst + 2 * k, &h, 2);
  }
}

} // namespace

/// A tensor of the library as an npz array; bf16 widened to float32 (numpy
/// has no bfloat16).
npz::Array npzArray(const TensorDesc &t, const uint8_t *data) {
  npz::Array a;
  a.name = t.name;
  a.shape = t.shape;
  if (t.dtype != DITC_DTYPE_BF16) {
    npz::dtypeFromCode(t.dtype, a.dtype);
    a.data.assign(data, data + t.bytes);
    return a;
  }
  a.dtype = npz::DType::F32;
  uint64_t n = t.bytes / 2;
  a.data.resize(n * 4);
  for (uint64_t k = 0; k < n; ++k) {
    uint16_t h;
    std::memcpy(&h, data + 2 * k, 2);
    float f = bf16ToFloat(h);
    std::memcpy(a.data.data() + 4 * k, &f, 4);
  }
  return a;
}

bool readInputs(const std::string &path, const std::vector<TensorDesc> &inDescs,
                std::vector<Buffer> &inBufs, std::string &error) {
  std::vector<npz::Array> arrays;
  if (!npz::readNpz(path, arrays, error))
    return false;
  std::map<std::string, const npz::Array *> byName;
  for (const npz::Array &a : arrays)
    byName[a.name] = &a;
  for (size_t i = 0; i < inDescs.size(); ++i) {
    const TensorDesc &t = inDescs[i];
    auto it = byName.find(t.name);
    if (it == byName.end()) {
      std::string has;
      for (const npz::Array &a : arrays)
        has += (has.empty() ? "'" : ", '") + a.name + "'";
      error = path + " has no array for input '" + t.name + "' (expected " +
              describe(t.dtype, t.shape) + "); it has " + (has.empty() ? std::string("none") : has);
      return false;
    }
    const npz::Array &a = *it->second;
    if (!npzFitsInput(a, t)) {
      error = "input '" + t.name + "' in " + path + ": expected " + describe(t.dtype, t.shape) +
              (t.dtype == DITC_DTYPE_BF16 ? " (as float32, or uint16 bit patterns)" : "") +
              ", found " + npz::dtypeName(a.dtype) + " " + npz::formatShape(a.shape);
      return false;
    }
    copyNpzInput(a, t, inBufs[i].data());
  }
  for (const npz::Array &a : arrays) {
    bool known = std::any_of(inDescs.begin(), inDescs.end(),
                             [&](const TensorDesc &t) { return t.name == a.name; });
    if (!known) {
      std::string names;
      for (const TensorDesc &t : inDescs)
        names += (names.empty() ? "'" : ", '") + t.name + "'";
      error = path + " has an array '" + a.name + "' that is not an input of the model (inputs: " +
              names + ")";
      return false;
    }
  }
  return true;
}

namespace {

/// This rank's traffic in the last run, one line per kind that sent bytes
/// and a total, written with one write() so that the lines of
/// different ranks do not interleave.
void printCommStats(const ModelLibrary &lib) {
  std::string s;
  raw_string_ostream os(s);
  std::string who = "comm rank " + std::to_string(lib.rank()) + "/" +
                    std::to_string(lib.worldSize()) + ": ";
  uint64_t total = 0;
  for (int32_t k = 0; k < DITC_RT_COMM_KIND_COUNT; ++k) {
    uint64_t bytes = 0, calls = 0;
    lib.commStats(k, bytes, calls);
    total += bytes;
    if (bytes)
      os << who << commKindName(k) << " " << bytes << " bytes in " << calls
         << (calls == 1 ? " call\n" : " calls\n");
  }
  os << who << "total " << total << " bytes\n";
  // Each rank maps its own weights (a slice under tp, its stage's under pp).
  os << "weights rank " << lib.rank() << "/" << lib.worldSize() << ": "
     << lib.weightBytes() << " bytes\n";
  os.flush();
  outs().flush();
  for (size_t done = 0; done < s.size();) {
    ssize_t n = ::write(1, s.data() + done, s.size() - done);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
}

} // namespace

int runRunCommand(const RunCommandOptions &opts) {
  const std::string &libName = opts.library;
  if (opts.bench < 0 || opts.warmup < 0)
    return fail("--bench and --warmup must not be negative");
  if (!opts.commTimeout.empty()) {
    char *end = nullptr;
    double s = std::strtod(opts.commTimeout.c_str(), &end);
    if (end == opts.commTimeout.c_str() || *end || !std::isfinite(s))
      return fail("--comm-timeout '" + opts.commTimeout +
                  "' is not a number of seconds");
    setenv("DITC_COMM_TIMEOUT_S", opts.commTimeout.c_str(), 1);
  }

  if (opts.steps < 0)
    return fail("--steps must be at least 1");
  if (opts.steps == 0 && (opts.warmupSteps >= 0 || !opts.scheduler.empty() ||
                          !opts.latentInput.empty() || !opts.timestepInput.empty()))
    return fail("--warmup-steps, --scheduler, --latent-input and --timestep-input need "
                "--steps");
  if (opts.steps > 0 && (opts.bench > 0 || opts.warmup > 0 || !opts.trace.empty()))
    return fail("--steps runs a sampler; --bench, --warmup and --trace time single runs "
                "and cannot be combined with it");
  if (opts.steps > 0 && opts.warmupSteps > opts.steps)
    return fail("--warmup-steps " + Twine(opts.warmupSteps) + " is more than --steps " +
                Twine(opts.steps));
  if (!opts.scheduler.empty() && opts.scheduler != "euler" && opts.scheduler != "ddim")
    return fail("--scheduler '" + opts.scheduler + "' is not euler or ddim");
  if (opts.randomWeights && !opts.weights.empty())
    return fail("--weights and --random-weights exclude each other");
  // Read by GPU libraries when they are created (ditc_model.h).
  if (opts.device >= 0)
    setenv("DITC_CUDA_DEVICE", std::to_string(opts.device).c_str(), 1);
  if (opts.noGraph)
    setenv("DITC_CUDA_GRAPH", "0", 1);
  std::string err;
  std::unique_ptr<ModelLibrary> lib = ModelLibrary::load(
      libName, opts.randomWeights ? DITC_RANDOM_WEIGHTS : opts.weights,
      opts.threads, err);
  if (!lib)
    return fail(err);
  // Multi-rank: rank 0 reports; errors name the rank.
  const int32_t rank = lib->rank(), world = lib->worldSize();
  raw_ostream &out = rank == 0 ? outs() : nulls();
  std::string who = world > 1 ? "rank " + std::to_string(rank) + "/" +
                                    std::to_string(world) + ": "
                              : "";
  auto fail = [&](const Twine &msg) { return mlir::ditc::fail(who + msg); };
  const std::vector<TensorDesc> &inDescs = lib->inputs();
  const std::vector<TensorDesc> &outDescs = lib->outputs();
  if (!opts.trace.empty() && !lib->traced())
    return fail(libName + " was compiled without --trace; recompile it with "
                "ditc compile --trace to use ditc run --trace");

  // Inputs: from the .npz, checked against the graph, or random.
  std::vector<Buffer> inBufs;
  inBufs.reserve(inDescs.size());
  for (const TensorDesc &t : inDescs) {
    inBufs.emplace_back(t.bytes);
    if (!inBufs.back().ptr)
      return fail("cannot allocate " + Twine(t.bytes) + " bytes for input '" +
                  t.name + "'");
  }
  if (!opts.inputs.empty()) {
    if (!readInputs(opts.inputs, inDescs, inBufs, err))
      return fail(err);
  } else {
    out << "note: no --inputs given; running on random inputs (seed 0): "
           "floats ~ N(0, 1), integers of rank <= 1 in [0, 1000), other "
           "integers in [0, 100), bools true\n";
    for (size_t i = 0; i < inDescs.size(); ++i)
      fillRandom(inDescs[i], (int)i, inBufs[i]);
  }

  std::vector<Buffer> outBufs;
  outBufs.reserve(outDescs.size());
  for (const TensorDesc &t : outDescs) {
    outBufs.emplace_back(t.bytes);
    if (!outBufs.back().ptr)
      return fail("cannot allocate " + Twine(t.bytes) + " bytes for output '" +
                  t.name + "'");
  }
  out << "model: " << libName << " (ABI " << lib->abiVersion() << ")\n";
  for (const TensorDesc &t : inDescs)
    out << "  input  '" << t.name << "': " << describe(t.dtype, t.shape)
        << "\n";
  for (const TensorDesc &t : outDescs)
    out << "  output '" << t.name << "': " << describe(t.dtype, t.shape)
        << "\n";
  if (opts.threads > 0)
    out << "threads: " << opts.threads << "\n";
  out.flush();

  using Clock = std::chrono::steady_clock;
  if (opts.steps > 0) {
    SamplerIO io;
    if (!findSamplerIO(inDescs, outDescs, opts.latentInput, opts.timestepInput, io, err))
      return fail(err);
    const TensorDesc &latent = inDescs[io.latent], &time = inDescs[io.timestep];
    std::string scheduler = schedulerFor(opts.scheduler, io);
    std::optional<Schedule> schedule = makeSchedule(scheduler, opts.steps);
    int warmupSteps = opts.warmupSteps >= 0 ? opts.warmupSteps : std::min(1, opts.steps);
    out << "sampler: " << scheduler << ", " << opts.steps << " denoising steps ("
        << warmupSteps << " warm-up), latent '" << latent.name << "', timestep '"
        << time.name << "', prediction '" << outDescs[io.output].name << "'"
        << (io.splitDim >= 0 ? " (first half: learned sigma)" : "") << "\n";
    if (!lib->beginDenoising(opts.steps, warmupSteps, err))
      return fail("ditc_model_begin_denoising: " + err);
    std::vector<double> times;
    auto lastFlush = Clock::now();
    int skipped = 0;
    std::string skippedSteps; // "2,3,5": the steps this rank skipped
    for (int i = 0; i < opts.steps; ++i) {
      if (!writeTimestep(time, schedule->timestep[i], inBufs[io.timestep]))
        return fail("cannot write a timestep into input '" + time.name + "' (" +
                    describe(time.dtype, time.shape) + ")");
      if (!lib->setDenoisingStep(i, err))
        return fail("ditc_model_set_denoising_step: " + err);
      if (opts.commStats)
        lib->resetCommStats(); // the stats are the last denoising step's
      auto t0 = Clock::now();
      if (!lib->run(inBufs, outBufs, err))
        return fail("running " + libName + " (denoising step " + Twine(i) + ") failed: " + err);
      double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
      times.push_back(ms);
      updateLatent(latent, inBufs[io.latent], outDescs[io.output], outBufs[io.output], io,
                   schedule->xScale[i], schedule->predScale[i]);
      // PipeFusion: steps after the warm-up (and the first) use the K/V
      // the step before left.
      bool stale = lib->kvCacheBytes() > 0 && i > 0 && i >= warmupSteps;
      // A step cache: what it measured and whether the step skipped.
      std::string cache;
      if (!lib->cacheKind().empty()) {
        ditc_cache_state st{};
        if (!lib->cacheState(st, err))
          return fail(err);
        cache = formatv(", cache: change {0}, {1}",
                        std::isnan(st.change) ? std::string("-") : formatv("{0:E6}", st.change).str(),
                        st.skipped ? "skipped" : "computed");
        skipped = st.skipped_steps;
        if (st.skipped)
          skippedSteps += (skippedSteps.empty() ? "" : ",") + std::to_string(i + 1);
      }
      out << formatv("denoising step {0}/{1}: t = {2:F3}, {3:F3} ms{4}{5}\n", i + 1, opts.steps,
                     schedule->timestep[i], ms,
                     i < warmupSteps ? " (warm-up)" : stale ? " (stale K/V)" : "", cache);
      // Progress once a second: under mpirun a write per step wakes its
      // output forwarding inside the next step's time (on this project's
      // 2-core VM, a tiny model's `pp=2` steps took 0.14 ms against 0.08
      // back to back in --bench; 0.09 with this).
      if (Clock::now() - lastFlush >= std::chrono::seconds(1)) {
        out.flush();
        lastFlush = Clock::now();
      }
    }
    out.flush();
    double total = 0;
    for (double t : times)
      total += t;
    out << formatv("sampler: {0} denoising steps in {1:F3} ms, median {2:F3} ms per step\n",
                   opts.steps, total, median(times));
    if (!lib->cacheKind().empty()) {
      // Every rank says which steps it skipped (they must agree): rank 0
      // in its report, the others on stderr (one write each: the ranks'
      // lines do not interleave).
      std::string line = formatv("{0}cache {1}: skipped {2} of {3} steps{4}\n", who,
                                 lib->cacheKind(), skipped, opts.steps,
                                 skippedSteps.empty() ? "" : " (" + skippedSteps + ")");
      if (rank == 0)
        out << line;
      else
        errs() << line;
    }
    printMemory(out, *lib);
    if (opts.commStats)
      printCommStats(*lib);
    if (std::string path = outputsPath(opts.outputs, rank); !path.empty()) {
      if (!npz::writeNpz(path, {npzArray(latent, inBufs[io.latent].data())}, err))
        return fail(err);
      out << "wrote the final latent '" << latent.name << "' to " << path << "\n";
    }
    out.flush();
    return 0;
  }

  // Per-step durations of every timed run (ditc compile --trace libraries).
  std::vector<std::vector<double>> stepTimes;
  bool timing = false;
  auto runOnce = [&](double *ms) -> bool {
    if (opts.commStats)
      lib->resetCommStats(); // the stats are the last run's
    auto t0 = Clock::now();
    bool ok = lib->run(inBufs, outBufs, err);
    auto t1 = Clock::now();
    if (!ok) {
      fail("running " + libName + " failed: " + err);
      return false;
    }
    if (ms)
      *ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    if (timing && !opts.trace.empty()) {
      std::vector<double> ends = lib->lastTrace();
      for (size_t i = ends.size(); i-- > 1;)
        ends[i] -= ends[i - 1];
      stepTimes.push_back(std::move(ends));
    }
    return true;
  };

  double first = 0;
  if (!runOnce(&first))
    return 1;
  out << format("first run: %.3f ms\n", first);
  for (int i = 0; i < opts.warmup; ++i)
    if (!runOnce(nullptr))
      return 1;
  if (opts.warmup)
    out << "warm-up: " << opts.warmup << " runs\n";
  timing = true;
  if (opts.bench > 0) {
    std::vector<double> times(opts.bench);
    for (double &t : times)
      if (!runOnce(&t))
        return 1;
    out << format("bench: %d runs: median %.3f ms, min %.3f ms, max %.3f ms\n",
                  opts.bench, median(times),
                  *std::min_element(times.begin(), times.end()),
                  *std::max_element(times.begin(), times.end()));
  }
  printMemory(out, *lib);
  out << format("peak RSS: %.1f MiB\n", lib->peakRssBytes() / 1048576.0);

  if (std::string tracePath = outputsPath(opts.trace, rank); !tracePath.empty()) {
    // The first run's steps when nothing was benchmarked.
    if (stepTimes.empty()) {
      std::vector<double> ends = lib->lastTrace();
      for (size_t i = ends.size(); i-- > 1;)
        ends[i] -= ends[i - 1];
      stepTimes.push_back(std::move(ends));
    }
    size_t steps = stepTimes.front().size();
    std::string json = "{\"library\": \"" + libName + "\", \"steps\": " +
                       std::to_string(steps) + ", \"runs\": " +
                       std::to_string(stepTimes.size()) +
                       ", \"step_seconds\": [";
    double total = 0;
    for (size_t i = 0; i < steps; ++i) {
      std::vector<double> v;
      for (const std::vector<double> &r : stepTimes)
        v.push_back(i < r.size() ? r[i] : 0.0);
      double m = median(v);
      total += m;
      json += (i ? ", " : "") + std::string(formatv("{0:E6}", m).str());
    }
    json += "]}\n";
    std::error_code ec;
    raw_fd_ostream f(tracePath, ec);
    if (ec)
      return fail("cannot write " + tracePath + ": " + ec.message());
    f << json;
    out << format("trace: %zu steps, median per step over %zu runs "
                  "(sum %.3f ms) written to ",
                  steps, stepTimes.size(), total * 1e3)
        << tracePath << "\n";
  }

  if (opts.commStats)
    printCommStats(*lib);

  if (std::string path = outputsPath(opts.outputs, rank); !path.empty()) {
    std::vector<npz::Array> arrays;
    for (size_t i = 0; i < outDescs.size(); ++i) {
      const TensorDesc &t = outDescs[i];
      arrays.push_back(npzArray(t, outBufs[i].data()));
      if (t.dtype == DITC_DTYPE_BF16)
        out << "note: output '" << t.name << "' is bfloat16; written as float32\n";
    }
    std::string err;
    if (!npz::writeNpz(path, arrays, err))
      return fail(err);
    out << "wrote " << outDescs.size() << " output"
        << (outDescs.size() == 1 ? "" : "s") << " to " << path << "\n";
  }
  out.flush();
  return 0;
}

} // namespace mlir::ditc
