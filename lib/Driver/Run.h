//===- Run.h - `ditc run`: load a compiled model library and run it -*- C++ -*-===//
//
// `ditc run OUT.so` loads a library made by `ditc compile` the way an
// application does (dlopen + dlsym of the include/ditc/runtime/ditc_model.h
// ABI), feeds it inputs from a .npz (or random ones), runs it, optionally
// benchmarks it and writes the outputs to a .npz. A library compiled for N
// ranks runs under `mpirun -np N ditc run ...`: every rank reads the same
// inputs; rank 0 reports and writes the outputs.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_LIB_DRIVER_RUN_H
#define DITC_LIB_DRIVER_RUN_H

#include "lib/Driver/ModelLibrary.h"
#include "lib/Driver/Npz.h"

#include <string>
#include <vector>

namespace mlir::ditc {

struct RunCommandOptions {
  /// The model library (OUT.so).
  std::string library;
  /// A .npz keyed by the graph's input names; empty: random inputs.
  std::string inputs;
  /// Where to write the outputs (.npz keyed by the graph's output names);
  /// empty: not written.
  std::string outputs;
  /// A weight file in place of the one beside the library; empty: that one.
  std::string weights;
  /// Generated weights (DITC_RANDOM_WEIGHTS) instead of a file.
  bool randomWeights = false;
  /// --target cuda libraries: the GPU (< 0: DITC_CUDA_DEVICE or 0) and
  /// whether to run without the CUDA graph.
  int device = -1;
  bool noGraph = false;
  /// Timed runs after the first run and the warm-up runs.
  int bench = 0;
  /// Untimed runs after the first run, before the timed ones.
  int warmup = 0;
  /// Kernel threads (<= 0: the runtime's default).
  int threads = 0;
  /// Where to write each step's median duration (JSON); the library must
  /// have been compiled with --trace. Empty: no trace.
  std::string trace;
  /// Print this rank's communication (bytes and calls per kind) in the last
  /// run.
  bool commStats = false;
  /// DITC_COMM_TIMEOUT_S for the library's communicators (seconds); empty:
  /// the environment's, else 120.
  std::string commTimeout;
  /// A diffusion sampler around the model (Sampler.h): this many denoising
  /// steps (0: one plain run), the first `warmupSteps` warm-up, with
  /// `scheduler` ("euler", "ddim"; empty: ddim under learned sigma, else
  /// euler) on the inputs named (empty: guessed).
  int steps = 0;
  int warmupSteps = -1; // -1: 1 (or 0 for one step)
  std::string scheduler;
  std::string latentInput;
  std::string timestepInput;
};

/// Fills the input buffers (of inDescs' sizes) from the .npz at `path`:
/// one array per input, of its dtype and shape (a bf16 input also takes
/// float32 or uint16 bit patterns), no other arrays. On failure `error` is
/// one line naming the file and the input.
bool readInputs(const std::string &path, const std::vector<TensorDesc> &inDescs,
                std::vector<Buffer> &inBufs, std::string &error);

/// A tensor of the library as an npz array; bf16 widened to float32 (numpy
/// has no bfloat16).
npz::Array npzArray(const TensorDesc &t, const uint8_t *data);

/// `ditc run`: returns the process exit code (0 ok, 1 error). Errors are one
/// line on stderr starting with "error: "; the report goes to stdout.
int runRunCommand(const RunCommandOptions &opts);

} // namespace mlir::ditc

#endif // DITC_LIB_DRIVER_RUN_H
