/*===- cuda_runtime_api.h - The ditc CUDA kernels' C interface ------------===*
 *
 * Plain C; no CUDA header is needed to include it. The CUDA backend's
 * launchers (libditc_cuda_kernels.a, runtime/cuda) mirror the CPU runtime:
 * ditc_cu_<name> takes exactly the parameters of ditc_rt_<name> in
 * ditc_kernels.def, with the same enum codes (ditc_kernels.h), and returns
 * void. Differences:
 *  - tensor pointers are DEVICE pointers; shape / stride / offset arrays
 *    (const int64_t *) are HOST pointers, read during the call;
 *  - each call enqueues its kernel(s) on the calling thread's current stream
 *    (ditc_cu_set_stream) and returns: no synchronisation, no allocation,
 *    so the calls may be captured into a CUDA graph -- except
 *    ditc_cu_cache_decide, which waits for the stream to decide on the host
 *    (a library with a step cache runs without a graph);
 *  - an argument the launcher cannot honour, or a failed launch
 *    (cudaGetLastError() after it), prints one line to stderr and aborts. An
 *    out-of-range gather index is found on the device: the kernel prints it
 *    and traps, which the next synchronisation reports as a launch failure.
 *
 * Every DITC_RT_KERNEL entry of the .def is declared here with the ditc_cu_
 * prefix, so each definition is checked against the list; the library
 * defines those of DITC_CU_KERNELS below (the others are not implemented
 * for CUDA yet: calling one is a link error).
 *===----------------------------------------------------------------------===*/

/* The CUDA toolkit has a header of this name, which CUB and libcu++ include
 * as <cuda_runtime_api.h>. With runtime/cuda on the include path they would
 * find this file instead: it then also includes the toolkit's, when one
 * follows on the path (outside the include guard, so that it happens however
 * this file was reached first). */
#if defined(__has_include_next)
#if __has_include_next(<cuda_runtime_api.h>)
#include_next <cuda_runtime_api.h>
#endif
#endif

#ifndef DITC_RUNTIME_CUDA_CUDA_RUNTIME_API_H
#define DITC_RUNTIME_CUDA_CUDA_RUNTIME_API_H

#include "ditc/runtime/ditc_kernels.h"

#include <stdint.h>

#if defined(_WIN32)
#define DITC_CU_API __declspec(dllexport)
#else
#define DITC_CU_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The stream launchers enqueue on, per thread (a cudaStream_t); null, the
 * initial value, is the legacy default stream. */
DITC_CU_API void ditc_cu_set_stream(void *stream);
DITC_CU_API void *ditc_cu_get_stream(void);

/* Operations that wait for the stream on the host (the collectives staged
 * through host memory, Ring attention) count themselves here: a step whose
 * first run counted none can be captured into a CUDA graph
 * (DeviceMemory.cpp). */
DITC_CU_API void ditc_cu_note_host_wait(void);
DITC_CU_API uint64_t ditc_cu_host_waits(void);

/* Ring attention's merge (ring_attention.cpp) of a block's result in the
 * block's dtype (F32, F16 or BF16: a 16-bit block attended to in its own
 * type), widened as it is read: otherwise ditc_rt_attention_merge_f32. */
DITC_CU_API void ditc_cu_attention_merge(int32_t block_dtype, float *out,
                                         float *lse, const void *block_out,
                                         const float *block_lse, int64_t rows,
                                         int64_t v_head_dim);

#define DITC_RT_KERNEL(name, params) DITC_CU_API void ditc_cu_##name params;
/* The entry points that return a value (the collectives on device tensors,
 * collectives.cpp, and Ring attention, ring_attention.cpp). */
#define DITC_RT_FUNCTION(ret, name, params) DITC_CU_API ret ditc_cu_##name params;
#include "ditc/runtime/ditc_kernels.def"

#ifdef __cplusplus
} /* extern "C" */
#endif

/* The entry points libditc_cuda_kernels.a defines, as X(name): the list the
 * code generator reads too. */
#include "ditc/runtime/ditc_cuda_kernels.h"

#endif /* DITC_RUNTIME_CUDA_CUDA_RUNTIME_API_H */
