//===- Memory.h - where a model library's tensors live ----------*- C++ -*-===//
//
// Model.cpp (the model ABI) is the same for every target; the memory its
// kernels read and how a step runs there are not. A library links one
// implementation of makeMemory(): HostMemory.cpp (--target cpu: the arena
// is host memory, weights are read where the weight file is mapped) or
// runtime/cuda/DeviceMemory.cpp (--target cuda: one device arena, weights
// and constants copied to the GPU once, the step replayed as a CUDA graph).
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_MODEL_MEMORY_H
#define DITC_RUNTIME_MODEL_MEMORY_H

#include "ditc/runtime/ditc_model.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ditc_rt::model {

/// What a library needs from its memory, from the descriptor and the
/// generated code.
struct Layout {
  uint64_t arenaBytes = 0;
  /// Scratch the kernels keep beside the arena (Ring attention's; the
  /// descriptor's "scratch_bytes").
  uint64_t scratchBytes = 0;
  std::vector<uint64_t> inputBytes, outputBytes;
  /// The weights' sizes (the whole table, including other stages' ones).
  std::vector<uint64_t> weightBytes;
  /// Tensor constants of the generated code: host addresses and sizes.
  std::vector<const void *> constants;
  std::vector<uint64_t> constantBytes;
  /// The descriptor's "cuda_arch" ("80", "90a"; empty for the CPU).
  std::vector<std::string> cudaArch;
  /// The generated code calls collectives (a partitioned library).
  bool collectives = false;
  /// A step's code waits for a decision taken on the host (a step cache).
  bool hostDecisions = false;
};

/// The bytes of each weight: `mapped[i]` is where weight i is in host
/// memory (the mapped file; null: another pipeline stage's, never read
/// here), or, when `mapped` is empty, `generate(i, dst)` writes its bytes.
struct WeightSource {
  std::vector<const void *> mapped;
  std::function<void(size_t, void *)> generate;
  /// With `generate`: whether weight i is read here (null: all are); the
  /// others (another pipeline stage's) get no memory and a null pointer.
  std::function<bool(size_t)> has;
};

/// One step of the generated code on the memory's pointers.
using StepFn = std::function<int32_t(void *arena, void *const *inputs,
                                     void *const *outputs,
                                     void *const *constants)>;

class Memory {
public:
  virtual ~Memory() = default;
  /// "cpu" or "cuda": what this library runs on.
  virtual const char *target() const = 0;
  /// Finds the device, checks it can run the library and allocates the
  /// arena and whatever else a step needs besides the weights; the
  /// constants are placed. On failure `error` says why in one line.
  virtual ditc_status setUp(const Layout &layout, std::string &error) = 0;
  /// Makes the weights readable by the kernels; `table` gets one pointer
  /// per weight (null for those the source has none of).
  virtual ditc_status placeWeights(const WeightSource &source,
                                   std::vector<void *> &table,
                                   std::string &error) = 0;
  /// Runs one step: the caller's host inputs in, `step` on the memory's
  /// pointers, the outputs back to the caller's host buffers. `rc` is what
  /// `step` returned (a collective's status, or 0).
  virtual ditc_status run(const StepFn &step, const void *const *inputs,
                          void *const *outputs, int32_t &rc,
                          std::string &error) = 0;
  /// Kernel threads on the host (the CPU target's kernels); others ignore.
  virtual void setNumThreads(int32_t threads) = 0;
  /// Steps of a library compiled with --trace record their end times in
  /// `seconds` (null: stop); only host kernels do.
  virtual void trace(double *seconds, int32_t steps) = 0;
  /// Copies `bytes` of the arena at `offset` to / from host memory between
  /// runs: the state kept across calls (the redundancy probes' slots).
  virtual ditc_status readArena(uint64_t offset, void *dst, uint64_t bytes,
                                std::string &error) = 0;
  virtual ditc_status writeArena(uint64_t offset, const void *src,
                                 uint64_t bytes, std::string &error) = 0;
};

/// The implementation linked into this library.
std::unique_ptr<Memory> makeMemory();

} // namespace ditc_rt::model

#endif // DITC_RUNTIME_MODEL_MEMORY_H
