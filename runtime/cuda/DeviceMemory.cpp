//===- DeviceMemory.cpp - a --target cuda library's memory ----------------===//
//
// The Memory (runtime/src/model/Memory.h) of GPU libraries:
//  - setUp finds the GPU (DITC_CUDA_DEVICE, default 0), refuses one whose
//    compute capability is below the library's lowest architecture or whose
//    free memory cannot hold what the library needs (it says how much of
//    each), and makes one allocation each for the arena, the weights, the
//    constants (copied at once) and the inputs and outputs;
//  - placeWeights copies the weights up through two pinned staging buffers
//    (upload_plan.h), the next one filled while the last one is copied;
//  - the GPU of a rank of a parallel run is its local rank's (modulo the
//    GPUs there), so several ranks may share one;
//  - run copies the inputs in, runs the step on its own stream, copies the
//    outputs out and waits. The first run goes kernel by kernel (it also
//    makes cuBLASLt's plans and loads the kernels' modules); the second
//    captures the step into a CUDA graph and later runs replay it
//    (DITC_CUDA_GRAPH=0: never; a library compiled with --trace runs kernel
//    by kernel with a CUDA event after each step while traced). The step's
//    pointers (arena, weights,
//    constants, the device copies of inputs and outputs) never change, so
//    the graph stays valid. A step whose first run waited for the stream on
//    the host (ditc_cu_host_waits: collectives staged through host memory,
//    Ring attention; collectives.cpp) always runs kernel by kernel; one
//    whose collectives ran device to device (NCCL) is captured with them.
//
//===----------------------------------------------------------------------===//

#include "Memory.h"

#include "cuda_runtime_api.h" // ditc_cu_set_stream (and the toolkit's)
#include "upload_plan.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace ditc_rt::model {
namespace {

constexpr uint64_t kAlign = 256;
constexpr uint64_t kStagingBytes = 32ull << 20; // each of two buffers
// cuBLASLt's workspace (runtime/cuda/gemm.cpp) and the CUDA context's own
// needs, beyond the library's allocations.
constexpr uint64_t kHeadroomBytes = 256ull << 20;

std::string mib(uint64_t bytes) {
  char s[32];
  std::snprintf(s, sizeof s, "%.1f MiB", bytes / 1048576.0);
  return s;
}

std::string cudaWhy(cudaError_t e) {
  return std::string(cudaGetErrorString(e)) + " (" + cudaGetErrorName(e) + ")";
}

class DeviceMemory final : public Memory {
public:
  ~DeviceMemory() override {
    if (device < 0)
      return;
    cudaSetDevice(device);
    if (exec)
      cudaGraphExecDestroy(exec);
    for (void *p : {arena, weightBlock, constantBlock, ioBlock})
      if (p)
        cudaFree(p);
    for (void *p : staging)
      if (p)
        cudaFreeHost(p);
    for (cudaEvent_t e : stagingFree)
      if (e)
        cudaEventDestroy(e);
    if (stream)
      cudaStreamDestroy(stream);
  }
  const char *target() const override { return "cuda"; }

  ditc_status setUp(const Layout &layout, std::string &error) override {
    if (ditc_status s = pickDevice(layout, error); s != DITC_OK)
      return s;
    weightBytes = layout.weightBytes;
    weightPacking = ditc_cu::packTensors(layout.weightBytes, kAlign);
    Packing constants = ditc_cu::packTensors(layout.constantBytes, kAlign);
    std::vector<uint64_t> io(layout.inputBytes);
    io.insert(io.end(), layout.outputBytes.begin(), layout.outputBytes.end());
    Packing ioPacking = ditc_cu::packTensors(io, kAlign);
    uint64_t arenaBytes = ditc_cu::alignUp(layout.arenaBytes, kAlign);
    uint64_t need = arenaBytes + weightPacking.bytes + constants.bytes +
                    ioPacking.bytes + layout.scratchBytes;
    size_t freeBytes = 0, totalBytes = 0;
    if (cudaError_t e = cudaMemGetInfo(&freeBytes, &totalBytes); e != cudaSuccess)
      return fail(error, "cannot query GPU " + std::to_string(device) +
                             "'s memory: " + cudaWhy(e));
    if (need + kHeadroomBytes > freeBytes)
      return fail(error,
                  "the library needs " + mib(need + kHeadroomBytes) +
                      " of GPU memory (arena " + mib(arenaBytes) + ", weights " +
                      mib(weightPacking.bytes) + ", constants " +
                      mib(constants.bytes) + ", inputs and outputs " +
                      mib(ioPacking.bytes) +
                      (layout.scratchBytes ? ", ring scratch " + mib(layout.scratchBytes)
                                           : std::string()) +
                      ", workspace " + mib(kHeadroomBytes) +
                      ") but GPU " + std::to_string(device) + " has " +
                      mib(freeBytes) + " free of " + mib(totalBytes));
    if (!alloc(&arena, arenaBytes, "the arena", error) ||
        !alloc(&weightBlock, weightPacking.bytes, "the weights", error) ||
        !alloc(&constantBlock, constants.bytes, "the constants", error) ||
        !alloc(&ioBlock, ioPacking.bytes, "the inputs and outputs", error))
      return DITC_ERROR_DEVICE;
    if (cudaError_t e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking);
        e != cudaSuccess)
      return fail(error, "cannot create a CUDA stream: " + cudaWhy(e));
    char *c = static_cast<char *>(constantBlock);
    for (size_t k = 0; k < layout.constants.size(); ++k) {
      deviceConstants.push_back(layout.constantBytes[k] ? c + constants.offsets[k]
                                                        : nullptr);
      if (layout.constantBytes[k] == 0)
        continue;
      if (cudaError_t e = cudaMemcpy(deviceConstants.back(), layout.constants[k],
                                     layout.constantBytes[k], cudaMemcpyHostToDevice);
          e != cudaSuccess)
        return fail(error, "cannot copy the constants to GPU " +
                               std::to_string(device) + ": " + cudaWhy(e));
    }
    char *base = static_cast<char *>(ioBlock);
    for (size_t k = 0; k < io.size(); ++k) {
      void *p = io[k] ? base + ioPacking.offsets[k] : nullptr;
      (k < layout.inputBytes.size() ? inputs : outputs).push_back(p);
    }
    inputBytes = layout.inputBytes;
    outputBytes = layout.outputBytes;
    const char *g = std::getenv("DITC_CUDA_GRAPH");
    // A step cache decides on the host (redundancy.cu): it waits for the
    // stream, which a capture cannot. So do staged collectives and Ring
    // attention, which the first run finds out (run).
    useGraph = !(g && std::strcmp(g, "0") == 0) && !layout.hostDecisions;
    return DITC_OK;
  }

  ditc_status placeWeights(const WeightSource &source, std::vector<void *> &table,
                           std::string &error) override {
    cudaSetDevice(device);
    if (ditc_status s = makeStaging(error); s != DITC_OK)
      return s;
    std::vector<ditc_cu::Window> windows =
        ditc_cu::stagingWindows(weightBytes, weightPacking, kStagingBytes);
    // Generated weights: the tensor being copied, generated whole once.
    std::vector<unsigned char> generated;
    uint64_t generatedTensor = UINT64_MAX;
    auto sourceOf = [&](uint64_t t) -> const unsigned char * {
      if (!source.mapped.empty())
        return static_cast<const unsigned char *>(source.mapped[t]);
      if (source.has && !source.has(t))
        return nullptr; // another pipeline stage's
      if (generatedTensor != t) {
        generated.resize(weightBytes[t]);
        source.generate(t, generated.data());
        generatedTensor = t;
      }
      return generated.data();
    };
    char *block = static_cast<char *>(weightBlock);
    for (size_t k = 0; k < windows.size(); ++k) {
      const ditc_cu::Window &w = windows[k];
      int buf = k % 2;
      // The copy that last read this buffer must be done before it is
      // refilled.
      if (cudaError_t e = cudaEventSynchronize(stagingFree[buf]); e != cudaSuccess)
        return fail(error, "copying the weights to GPU " + std::to_string(device) +
                               " failed: " + cudaWhy(e));
      unsigned char *stage = static_cast<unsigned char *>(staging[buf]);
      for (const ditc_cu::Piece &p : w.pieces) {
        const unsigned char *src = sourceOf(p.tensor);
        if (src)
          std::memcpy(stage + p.at, src + p.from, p.bytes);
      }
      cudaError_t e = cudaMemcpyAsync(block + w.start, stage, w.bytes,
                                      cudaMemcpyHostToDevice, stream);
      if (e == cudaSuccess)
        e = cudaEventRecord(stagingFree[buf], stream);
      if (e != cudaSuccess)
        return fail(error, "copying the weights to GPU " + std::to_string(device) +
                               " failed: " + cudaWhy(e));
    }
    if (cudaError_t e = cudaStreamSynchronize(stream); e != cudaSuccess)
      return fail(error, "copying the weights to GPU " + std::to_string(device) +
                             " failed: " + cudaWhy(e));
    table.clear();
    for (size_t t = 0; t < weightBytes.size(); ++t) {
      bool absent = source.mapped.empty() ? source.has && !source.has(t) : !source.mapped[t];
      table.push_back(absent || weightBytes[t] == 0
                          ? nullptr
                          : block + weightPacking.offsets[t]);
    }
    // The staging buffers are of no more use (pinned memory is scarce).
    freeStaging();
    return DITC_OK;
  }

  ditc_status run(const StepFn &step, const void *const *in, void *const *out,
                  int32_t &rc, std::string &error) override {
    cudaSetDevice(device);
    for (size_t k = 0; k < inputs.size(); ++k)
      if (inputBytes[k])
        if (cudaError_t e = cudaMemcpyAsync(inputs[k], in[k], inputBytes[k],
                                            cudaMemcpyHostToDevice, stream);
            e != cudaSuccess)
          return fail(error, "copying input " + std::to_string(k) + " to GPU " +
                                 std::to_string(device) + " failed: " + cudaWhy(e));
    void *previous = ditc_cu_get_stream();
    ditc_cu_set_stream(stream);
    ditc_status s = DITC_OK;
    rc = 0;
    if (traceSeconds) {
      ditc_cu_trace_begin(traceSeconds, traceSteps);
      rc = step(arena, inputs.data(), outputs.data(), deviceConstants.data());
      ditc_cu_trace_begin(nullptr, 0);
    } else if (!useGraph || runs == 0) {
      uint64_t waits = ditc_cu_host_waits();
      rc = step(arena, inputs.data(), outputs.data(), deviceConstants.data());
      if (ditc_cu_host_waits() != waits)
        useGraph = false; // it waits on the host: never captured
    } else {
      if (!exec)
        s = capture(step, rc, error);
      if (s == DITC_OK && rc == 0)
        if (cudaError_t e = cudaGraphLaunch(exec, stream); e != cudaSuccess)
          s = fail(error, "launching the step's CUDA graph failed: " + cudaWhy(e));
    }
    ditc_cu_set_stream(previous);
    if (s != DITC_OK)
      return s;
    for (size_t k = 0; k < outputs.size(); ++k)
      if (outputBytes[k])
        if (cudaError_t e = cudaMemcpyAsync(out[k], outputs[k], outputBytes[k],
                                            cudaMemcpyDeviceToHost, stream);
            e != cudaSuccess)
          return fail(error, "copying output " + std::to_string(k) + " from GPU " +
                                 std::to_string(device) + " failed: " + cudaWhy(e));
    if (cudaError_t e = cudaStreamSynchronize(stream); e != cudaSuccess)
      return fail(error, "the step failed on GPU " + std::to_string(device) + ": " +
                             cudaWhy(e));
    ++runs;
    return DITC_OK;
  }

  void setNumThreads(int32_t) override {}
  /// --trace: the next runs go kernel by kernel with an event after each
  /// step (ditc_cu_trace_*), timed from after the inputs are copied in.
  void trace(double *seconds, int32_t steps) override {
    traceSeconds = seconds;
    traceSteps = steps;
  }
  ditc_status readArena(uint64_t offset, void *dst, uint64_t bytes,
                        std::string &error) override {
    if (cudaError_t e = cudaMemcpy(dst, static_cast<char *>(arena) + offset, bytes,
                                   cudaMemcpyDeviceToHost);
        e != cudaSuccess)
      return fail(error, "cannot read the arena: " + cudaWhy(e));
    return DITC_OK;
  }
  ditc_status writeArena(uint64_t offset, const void *src, uint64_t bytes,
                         std::string &error) override {
    if (cudaError_t e = cudaMemcpy(static_cast<char *>(arena) + offset, src, bytes,
                                   cudaMemcpyHostToDevice);
        e != cudaSuccess)
      return fail(error, "cannot write the arena: " + cudaWhy(e));
    return DITC_OK;
  }

private:
  using Packing = ditc_cu::Packing;

  static ditc_status fail(std::string &error, std::string why) {
    error = std::move(why);
    return DITC_ERROR_DEVICE;
  }

  ditc_status pickDevice(const Layout &layout, std::string &error) {
    int count = 0;
    if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess || count == 0)
      return fail(error, "no GPU: " +
                             (e != cudaSuccess ? cudaWhy(e)
                                               : std::string("no CUDA device")) +
                             "; this library was compiled with --target cuda "
                             "and needs an NVIDIA GPU and its driver");
    // Ranks of a parallel run on one node take their local rank's GPU
    // (several may share one); DITC_CUDA_DEVICE overrides.
    int want = 0;
    for (const char *v : {"OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID",
                          "SLURM_LOCALID"})
      if (const char *r = std::getenv(v); r && *r) {
        want = std::atoi(r) % count;
        break;
      }
    if (const char *d = std::getenv("DITC_CUDA_DEVICE"); d && *d) {
      char *end = nullptr;
      long v = std::strtol(d, &end, 10);
      if (end == d || *end || v < 0 || v >= count)
        return fail(error, std::string("DITC_CUDA_DEVICE='") + d +
                               "' is not a GPU of this machine (it has " +
                               std::to_string(count) + ": 0 .. " +
                               std::to_string(count - 1) + ")");
      want = (int)v;
    }
    if (cudaError_t e = cudaSetDevice(want); e != cudaSuccess)
      return fail(error, "cannot use GPU " + std::to_string(want) + ": " + cudaWhy(e));
    device = want;
    cudaDeviceProp prop;
    if (cudaError_t e = cudaGetDeviceProperties(&prop, device); e != cudaSuccess)
      return fail(error, "cannot query GPU " + std::to_string(device) + ": " +
                             cudaWhy(e));
    int cc = prop.major * 10 + prop.minor, lowest = ditc_cu::lowestArch(layout.cudaArch);
    if (lowest > 0 && cc < lowest) {
      std::string archs;
      for (const std::string &a : layout.cudaArch)
        archs += (archs.empty() ? "sm_" : ", sm_") + a;
      return fail(error, "GPU " + std::to_string(device) + " (" + prop.name +
                             ") is sm_" + std::to_string(cc) +
                             "; this library's kernels are for " + archs +
                             " and need sm_" + std::to_string(lowest) + " or newer");
    }
    return DITC_OK;
  }

  bool alloc(void **p, uint64_t bytes, const char *what, std::string &error) {
    if (bytes == 0)
      return true;
    if (cudaError_t e = cudaMalloc(p, bytes); e != cudaSuccess) {
      *p = nullptr;
      fail(error, "cannot allocate " + mib(bytes) + " for " + what + " on GPU " +
                      std::to_string(device) + ": " + cudaWhy(e));
      return false;
    }
    return true;
  }

  ditc_status makeStaging(std::string &error) {
    for (int k = 0; k < 2; ++k) {
      if (!staging[k])
        if (cudaError_t e = cudaHostAlloc(&staging[k], kStagingBytes,
                                          cudaHostAllocDefault);
            e != cudaSuccess) {
          staging[k] = nullptr;
          return fail(error, "cannot allocate " + mib(kStagingBytes) +
                                 " of pinned host memory to copy the weights: " +
                                 cudaWhy(e));
        }
      if (!stagingFree[k]) {
        if (cudaError_t e = cudaEventCreateWithFlags(&stagingFree[k],
                                                     cudaEventDisableTiming);
            e != cudaSuccess)
          return fail(error, "cannot create a CUDA event: " + cudaWhy(e));
        cudaEventRecord(stagingFree[k], stream); // nothing to wait for yet
      }
    }
    return DITC_OK;
  }

  void freeStaging() {
    for (int k = 0; k < 2; ++k) {
      if (staging[k])
        cudaFreeHost(staging[k]);
      staging[k] = nullptr;
      if (stagingFree[k])
        cudaEventDestroy(stagingFree[k]);
      stagingFree[k] = nullptr;
    }
  }

  /// Records the step on the stream into a graph and instantiates it.
  ditc_status capture(const StepFn &step, int32_t &rc, std::string &error) {
    if (cudaError_t e = cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal);
        e != cudaSuccess)
      return fail(error, "cannot capture the step into a CUDA graph: " + cudaWhy(e) +
                             " (DITC_CUDA_GRAPH=0 runs without one)");
    rc = step(arena, inputs.data(), outputs.data(), deviceConstants.data());
    cudaGraph_t graph = nullptr;
    cudaError_t e = cudaStreamEndCapture(stream, &graph);
    if (e == cudaSuccess && rc == 0)
      e = cudaGraphInstantiate(&exec, graph, 0);
    if (graph)
      cudaGraphDestroy(graph);
    if (e != cudaSuccess) {
      exec = nullptr;
      return fail(error, "capturing the step into a CUDA graph failed: " + cudaWhy(e) +
                             " (DITC_CUDA_GRAPH=0 runs without one)");
    }
    return DITC_OK;
  }

  int device = -1;
  cudaStream_t stream = nullptr;
  void *arena = nullptr, *weightBlock = nullptr, *constantBlock = nullptr,
       *ioBlock = nullptr;
  void *staging[2] = {nullptr, nullptr};
  cudaEvent_t stagingFree[2] = {nullptr, nullptr};
  std::vector<uint64_t> weightBytes, inputBytes, outputBytes;
  Packing weightPacking;
  std::vector<void *> deviceConstants, inputs, outputs;
  bool useGraph = true;
  int64_t runs = 0;
  double *traceSeconds = nullptr;
  int32_t traceSteps = 0;
  cudaGraphExec_t exec = nullptr;
};

} // namespace

std::unique_ptr<Memory> makeMemory() { return std::make_unique<DeviceMemory>(); }

} // namespace ditc_rt::model
