//===- emu/cuda_runtime.h - A host stand-in for the CUDA runtime ---------===//
//
// Lets runtime/cuda's kernels and a --target cuda model library's memory
// (runtime/cuda/DeviceMemory.cpp) run on the CPU, for CudaKernelEmuTests,
// CudaAttentionEmuTests and libditc_model_cuda_emu.a (model-emu.test):
// the .cu files are compiled as C++ with -DDITC_CU_EMULATE and this folder
// first on the include path (no CUDA toolkit on it), so this file is their
// <cuda_runtime.h>. common.cuh's launch() then calls ditc_emu::launch
// instead of <<<...>>>, which runs every block of the grid in turn, each of
// its threads a fiber on the calling thread: __syncthreads and the warp
// shuffles switch fibers until the block (or warp) has arrived, so the
// kernels' barriers and shuffles mean what they mean on a GPU. __shared__
// variables are function statics (one block runs at a time). Memory is host
// memory, filled with 0xff bytes when allocated (NaN as any float type: what
// is read before it is written shows); one emulated device (sm_90, "ditc
// emulated GPU", 8 GiB).
//
// Streams. Everything is single-threaded and synchronous: work enqueued on a
// stream (a kernel launch on ditc_cu_get_stream()'s stream, cudaMemcpyAsync,
// cudaMemsetAsync, cudaEventRecord, cudaGraphLaunch, and ditc_emu::enqueue,
// which test/Cuda/emu/gemm_emu.cpp's cuBLASLt stand-in uses) runs before the
// call returns -- except on a stream being captured
// (cudaStreamBeginCapture): there it is recorded, in order, as a closure
// (kernel arguments by value, as a launch copies them), and
// cudaStreamEndCapture makes the list a graph that cudaGraphLaunch replays.
// While a capture that is not cudaStreamCaptureModeRelaxed is under way,
// the calls that are illegal then on a GPU (cudaMalloc, cudaFree,
// cudaHostAlloc, cudaFreeHost, the synchronous cudaMemcpy / cudaMemset,
// cudaDeviceSynchronize, cudaStreamSynchronize of the legacy stream) fail
// with cudaErrorStreamCaptureUnsupported and invalidate the capture (its
// cudaStreamEndCapture then fails with cudaErrorStreamCaptureInvalidated);
// so do cudaStreamSynchronize of the stream being captured (any mode) and
// work on the legacy default stream while a blocking stream is captured
// (cudaErrorStreamCaptureImplicit). cudaEventSynchronize of an event last
// recorded in a capture fails (cudaErrorCapturedEvent). DITC_EMU_VERBOSE=1
// prints a line to stderr at each cudaStreamEndCapture that makes a graph
// and each cudaGraphLaunch. DITC_EMU_REVERSE=1 runs a grid's blocks last
// first and resumes a block's fibers highest thread first (order-dependent
// results are races on a GPU). Events hold the host's
// steady_clock time at which they were reached in stream order.
//
// Device math is the host's (sqrtf, cosf, ... of libm; kernel_math.h's
// software f16 / bf16 conversions): the emulation checks the kernels' logic
// (indexing, broadcasting, tiling, the reductions), not CUDA's libdevice.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_TEST_CUDA_EMU_CUDA_RUNTIME_H
#define DITC_TEST_CUDA_EMU_CUDA_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <functional>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __grid_constant__
#define __shared__ static

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1)
      : x(x_), y(y_), z(z_) {}
};

typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;
typedef struct CUgraph_st *cudaGraph_t;
typedef struct CUgraphExec_st *cudaGraphExec_t;
typedef struct CUgraphNode_st *cudaGraphNode_t;

// The toolkit's values.
enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorIllegalState = 401,
  cudaErrorNotReady = 600,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureImplicit = 906,
  cudaErrorCapturedEvent = 907,
  cudaErrorStreamCaptureUnjoined = 904,
};

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2,
};

enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2,
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02
#define cudaHostAllocDefault 0x00
#define cudaHostAllocPortable 0x01
#define cudaHostAllocMapped 0x02
#define cudaHostAllocWriteCombined 0x04

/// What cudaGetDeviceProperties fills (a few of the toolkit's fields, same
/// names).
struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int major;
  int minor;
  int multiProcessorCount;
};

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

namespace ditc_emu {

// The current fiber's indices (set by the scheduler before it resumes one).
extern uint3 thread_idx, block_idx;
extern dim3 block_dim, grid_dim;

/// Runs body once per thread of every block of the grid (blocks in turn).
void run_grid(dim3 grid, dim3 block, const std::function<void()> &body);

/// Runs `op` now, or records it when `stream` is being captured (then it
/// runs at each cudaGraphLaunch of the graph). What a kernel launch, an
/// async copy or memset, an event record and the cuBLASLt stand-in
/// (gemm_emu.cpp) go through. Returns the error the call would have on a
/// GPU (cudaErrorStreamCaptureImplicit: `stream` is the legacy default
/// stream while a blocking stream is captured; the capture is invalidated).
cudaError_t enqueue(cudaStream_t stream, std::function<void()> op);

/// A kernel launch on ditc_cu_get_stream()'s stream: the configuration is
/// checked now (an invalid one is cudaGetLastError()'s), the grid runs now
/// or is recorded (enqueue).
void launch_grid(dim3 grid, dim3 block, std::function<void()> body);

template <class F> void launch(dim3 grid, dim3 block, F body) {
  launch_grid(grid, block, std::function<void()>(body));
}

void block_sync();
/// The calling thread's warp exchanges 8-byte slots: writes its own, waits
/// for the warp, reads lane `src`, waits again.
uint64_t warp_exchange(uint64_t mine, int src);

} // namespace ditc_emu

#define threadIdx (ditc_emu::thread_idx)
#define blockIdx (ditc_emu::block_idx)
#define blockDim (ditc_emu::block_dim)
#define gridDim (ditc_emu::grid_dim)

inline void __syncthreads() { ditc_emu::block_sync(); }

template <class T> inline T __shfl_xor_sync(unsigned, T v, int lane_mask) {
  static_assert(sizeof(T) <= 8, "shuffles move at most 8 bytes");
  uint64_t u = 0;
  memcpy(&u, &v, sizeof(T));
  const int lane = (int)(threadIdx.x + threadIdx.y * blockDim.x +
                         threadIdx.z * blockDim.x * blockDim.y) &
                   31;
  u = ditc_emu::warp_exchange(u, lane ^ lane_mask);
  T r;
  memcpy(&r, &u, sizeof(T));
  return r;
}

[[noreturn]] inline void __trap() {
  fflush(stdout);
  fprintf(stderr, "ditc emu: __trap()\n");
  abort();
}

// The runtime API the launchers, DeviceMemory.cpp and the tests use.
cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char *cudaGetErrorString(cudaError_t err);
const char *cudaGetErrorName(cudaError_t err);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);
cudaError_t cudaMalloc(void **p, size_t bytes);
template <class T> cudaError_t cudaMalloc(T **p, size_t bytes) {
  return cudaMalloc(reinterpret_cast<void **>(p), bytes);
}
cudaError_t cudaFree(void *p);
cudaError_t cudaMemcpy(void *dst, const void *src, size_t bytes,
                       cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t bytes,
                            cudaMemcpyKind kind, cudaStream_t stream = 0);
cudaError_t cudaMemset(void *p, int value, size_t bytes);
cudaError_t cudaMemsetAsync(void *p, int value, size_t bytes,
                            cudaStream_t stream = 0);
cudaError_t cudaHostAlloc(void **p, size_t bytes, unsigned int flags);
template <class T>
cudaError_t cudaHostAlloc(T **p, size_t bytes, unsigned int flags) {
  return cudaHostAlloc(reinterpret_cast<void **>(p), bytes, flags);
}
cudaError_t cudaMallocHost(void **p, size_t bytes);
cudaError_t cudaFreeHost(void *p);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned int flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);

cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
/// Milliseconds between the times the two events were reached.
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t event);
/// Later work on `stream` follows the event's work. Outside a capture the
/// work is done already; an event recorded into a capture makes `stream`
/// join it (a fork: its work is recorded into the same graph, in the order
/// it is issued), which it must leave by an event the capturing stream
/// waits for before cudaStreamEndCapture (else cudaErrorStreamCaptureUnjoined).
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event,
                                unsigned int flags = 0);

cudaError_t cudaStreamBeginCapture(cudaStream_t stream,
                                   cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream,
                                  cudaStreamCaptureStatus *status);
/// nodes null: *count is the number of recorded operations.
cudaError_t cudaGraphGetNodes(cudaGraph_t graph, cudaGraphNode_t *nodes,
                              size_t *count);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

#endif // DITC_TEST_CUDA_EMU_CUDA_RUNTIME_H
