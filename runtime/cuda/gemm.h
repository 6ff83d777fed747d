/*===- gemm.h - ditc_cu_linear / ditc_cu_matmul on cuBLASLt ---------------===*
 *
 * ditc_cu_linear and ditc_cu_matmul (declared with the other launchers in
 * cuda_runtime_api.h, from ditc_kernels.def) run on cuBLASLt, which is
 * dlopen()ed on first use (DITC_CUBLASLT_LIBRARY, else libcublasLt.so.13,
 * then libcublasLt.so; never linked). Both enqueue on ditc_cu_get_stream().
 * F32, F16 and BF16; f32 accumulation (CUBLAS_COMPUTE_32F: exact f32
 * arithmetic for F32, no TF32 unless the user forces it through cuBLAS's
 * own environment overrides), f32 alpha / beta; F16 / BF16 results are
 * rounded once. linear's bias goes through the BIAS epilogue, its
 * activation GELU_TANH through the GELU (GELU_BIAS) epilogue, computed on
 * the f32 sum before the rounding; GELU (erf) and SILU, which cuBLASLt has
 * no epilogue for, run as ditc_cu_unary over the result in place, on the
 * same stream (on the rounded values, as an unfused graph would). Where
 * cuBLASLt has no algorithm with the epilogue (its alignment or type rules),
 * or DITC_CUBLASLT_EPILOGUE=0, the product is stored alone and the bias
 * (ditc_cu_binary) and the activation run over it. Batches: the
 * batch dims are collapsed where the strides allow; one of what remains is
 * cuBLASLt's strided batch, the others are a host loop of calls (see
 * issue_batch below).
 *
 * Plans. The first call of a problem builds its plan: the matmul and layout
 * descriptors and the algorithm (cublasLtMatmulAlgoGetHeuristic, at most
 * 32 MiB of workspace), kept for the life of the process; later calls of
 * the same problem only call cublasLtMatmul. A plan is keyed by the device,
 * dtype, m, k, n, transpose, bias, the batch as cuBLASLt sees it (matrices
 * per call and their strides) and the operands' alignment (bytes, up to 16):
 * a call whose pointers are less aligned than 16 bytes gets a plan of its
 * own. The first plan of a device also creates its cuBLASLt handle and its
 * workspace (one cudaMalloc of 32 MiB), shared by every stream of that
 * device: gemms enqueued on different streams of a device must not run
 * concurrently. So the first call of a problem may allocate, and
 * cudaMalloc cannot be captured: call ditc_cu_gemm_prepare for every
 * problem before capturing a CUDA graph (plans it builds assume 16-byte
 * aligned operands). A plan built during a capture anyway (not prepared,
 * or a less aligned pointer) uses the workspace when the device has one,
 * else none (and keeps that choice).
 *
 * Errors print one line, "ditc cuda: linear: <what> (cublasLt status N)"
 * (or matmul), and abort; a library that cannot be loaded is named.
 *===----------------------------------------------------------------------===*/
#ifndef DITC_RUNTIME_CUDA_GEMM_H
#define DITC_RUNTIME_CUDA_GEMM_H

#include "cuda_runtime_api.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Builds, on the current device, the plan that ditc_cu_linear (batch_rank
 * 0, batch arrays null) or ditc_cu_matmul (transpose_w 0, has_bias 0,
 * activation DITC_RT_ACTIVATION_NONE) with
 * these arguments and 16-byte aligned pointers will use, and the device's
 * handle and workspace; does nothing for an empty problem. Not during a
 * capture: it may allocate. Arguments as for those two. */
DITC_CU_API void ditc_cu_gemm_prepare(int32_t dtype, int64_t m, int64_t k,
                                      int64_t n, int32_t transpose_w,
                                      int32_t has_bias, int32_t activation,
                                      int32_t batch_rank,
                                      const int64_t *batch_shape,
                                      const int64_t *a_batch_strides,
                                      const int64_t *b_batch_strides);

#ifdef __cplusplus
} /* extern "C" */

#include <array>
#include <string>
#include <vector>

/* The host-side logic of gemm.cpp, for its tests (test/Cuda/GemmPlanTest.cpp):
 * the row-major to column-major mapping, batch collapsing, the choice between
 * one strided-batched call and a loop, plan keys. None of it touches
 * cuBLASLt or the device, except the loader and create_descriptors at the
 * end. */
#pragma GCC visibility push(hidden)
namespace ditc_cu {

// stream.cu: "ditc cuda: <kernel>: <message>" and abort.
[[noreturn]] void fatal(const char *kernel, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

namespace gemm {

constexpr int kMaxRank = DITC_RT_MAX_RANK;
/// The workspace per device, and the most a plan's algorithm may use.
constexpr uint64_t kWorkspaceBytes = uint64_t(32) << 20;
/// Pointer alignments are counted up to this (bytes): cuBLASLt's kernels
/// read at most 16 bytes at a time.
constexpr int64_t kMaxAlignment = 16;

/// What a call asks for, row-major: out[batch..., m, n] =
/// left[batch..., m, k] * right[batch..., k, n] (+ bias[n]).
/// linear: left = x, right = W ([k,n], or [n,k] when transpose_w), no batch.
/// matmul: left = a, right = b, transpose_w and bias false. The output is
/// contiguous; left / right matrices are contiguous row-major, placed by the
/// batch strides (elements; 0 = broadcast).
struct Request {
  int32_t dtype = 0;
  int64_t m = 0, k = 0, n = 0;
  bool transpose_w = false;
  bool bias = false;
  int32_t activation = DITC_RT_ACTIVATION_NONE; // linear's, as its argument
  int32_t batch_rank = 0;
  int64_t batch_shape[kMaxRank] = {};
  int64_t left_strides[kMaxRank] = {};
  int64_t right_strides[kMaxRank] = {};
};

/// Requests of ditc_cu_linear / ditc_cu_matmul (the arrays are copied;
/// batch_rank must be in [0, kMaxRank]).
Request linear_request(int32_t dtype, int64_t m, int64_t k, int64_t n,
                       bool transpose_w, bool bias,
                       int32_t activation = DITC_RT_ACTIVATION_NONE);

/// Whether cuBLASLt applies `activation` in its epilogue (GELU_TANH: its
/// GELU is the tanh approximation); NONE and the others are not.
inline bool epilogue_gelu(int32_t activation) {
  return activation == DITC_RT_UNARY_GELU_TANH;
}
Request matmul_request(int32_t dtype, int64_t m, int64_t k, int64_t n,
                       int32_t batch_rank, const int64_t *batch_shape,
                       const int64_t *a_batch_strides,
                       const int64_t *b_batch_strides);

/// Batch dims with the output's strides (contiguous: m*n times the dims
/// inside), after collapsing: size-1 dims dropped, and a dim merged into the
/// one outside it when, for left, right and out alike, the outer stride is
/// the inner stride times the inner extent (0 = 0 * extent: two broadcast
/// dims merge). count: the number of matrices (0 when a dim is 0; then rank
/// is 0).
struct Batch {
  int32_t rank = 0;
  int64_t count = 1;
  int64_t shape[kMaxRank] = {};
  int64_t left[kMaxRank] = {}, right[kMaxRank] = {}, out[kMaxRank] = {};
};
Batch collapse_batch(const Request &r);

/// How a batch is issued: each cuBLASLt call covers `count` matrices of one
/// batch dim (cuBLASLt's strided batch: one stride per operand), the host
/// loops over the other dims (`loop_*`, outer to inner), one call each.
/// The strided dim is the collapsed dim with the most matrices whose
/// strides are >= 0 and whose extent fits cuBLASLt's int32 batch count
/// (the innermost of equals); none: one matrix per call.
struct Issue {
  int64_t count = 1;
  int64_t left_stride = 0, right_stride = 0, out_stride = 0;
  int32_t loop_rank = 0;
  int64_t loop_shape[kMaxRank] = {};
  int64_t loop_left[kMaxRank] = {}, loop_right[kMaxRank] = {},
          loop_out[kMaxRank] = {};
  int64_t calls = 1; // product of loop_shape
};
Issue issue_batch(const Batch &b);

/// Element offsets of the operands of call `call` (0 <= call < calls).
struct Offsets {
  int64_t left = 0, right = 0, out = 0;
};
Offsets call_offsets(const Issue &is, int64_t call);

/// A column-major matrix as cuBLASLt describes it.
struct Matrix {
  int64_t rows = 0, cols = 0, ld = 0;
};

/// One cuBLASLt call, column-major: D = op(A) * B (+ bias over D's rows,
/// broadcast over its columns), `count` times with the strides (elements).
///
/// The mapping. A row-major [r, c] matrix with row stride c is, read
/// column-major, the [c, r] matrix with ld c: its transpose. So the
/// row-major out = left * right is computed as out^T = right^T * left^T:
///   A = right: W [k,n] (or b) is column-major [n,k], ld n, op N;
///              W [n,k] (transpose_w) is column-major [k,n], ld k, op T
///              (A^T = that W, whose transpose multiplies here);
///   B = left:  x / a [m,k] is column-major [k,m], ld k, op N;
///   D = out:   [m,n] is column-major [n,m], ld n; C = D (beta = 0).
/// The bias, one value per row of D, is bias[n]; gelu: the GELU epilogue
/// (epilogue_gelu of the request's activation).
struct LtProblem {
  int32_t dtype = 0;
  bool trans_a = false;
  Matrix a, b, d;
  bool bias = false;
  bool gelu = false;
  int64_t count = 1;
  int64_t a_stride = 0, b_stride = 0, d_stride = 0;
};
LtProblem map_problem(const Request &r, const Issue &is);

/// The alignments (bytes, a power of two <= kMaxAlignment) a plan assumes
/// for A, B, D (= C) and the bias.
struct Alignment {
  int64_t a = kMaxAlignment, b = kMaxAlignment, d = kMaxAlignment,
          bias = kMaxAlignment;
};
/// The alignment of every address an operand is read or written at: its
/// base `addr` plus any multiple of the `strides` (elements of elem_size
/// bytes) -- the batch strides of the dims with more than one matrix.
int64_t alignment_of(uintptr_t addr, int64_t elem_size,
                     const std::vector<int64_t> &strides);
/// The alignments of a call's operands (A = right, B = left, D = out).
Alignment call_alignment(const LtProblem &p, const Issue &is,
                         const void *left, const void *right,
                         const void *bias, const void *out);

/// What makes two plans different (equal keys: the same descriptors and
/// algorithm).
struct PlanKey {
  std::array<int64_t, 16> v;
  bool operator==(const PlanKey &o) const { return v == o.v; }
  bool operator!=(const PlanKey &o) const { return v != o.v; }
  bool operator<(const PlanKey &o) const { return v < o.v; }
};
PlanKey plan_key(int device, const LtProblem &p, const Alignment &al);

/// Bytes of an element of a float dtype; 0 for others.
inline int64_t elem_size(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_F32:
    return 4;
  case DITC_RT_F16:
  case DITC_RT_BF16:
    return 2;
  }
  return 0;
}

/// The arguments linear / matmul refuse (one line, abort): a dtype that is
/// not F32 / F16 / BF16, negative sizes, a bad batch rank or batch arrays.
/// Shared with the emulation's stand-in (test/Cuda/emu/gemm_emu.cpp).
inline void check_args(const char *name, int32_t dtype, int64_t m, int64_t k,
                       int64_t n, int32_t batch_rank, const int64_t *batch_shape,
                       const int64_t *a_strides, const int64_t *b_strides) {
  if (elem_size(dtype) == 0)
    fatal(name, "dtype %d is not F32, F16 or BF16", (int)dtype);
  if (m < 0 || k < 0 || n < 0)
    fatal(name, "negative size (m %lld, k %lld, n %lld)", (long long)m,
          (long long)k, (long long)n);
  if (batch_rank < 0 || batch_rank > kMaxRank)
    fatal(name, "batch rank %d is outside [0, %d]", (int)batch_rank, kMaxRank);
  if (batch_rank > 0 && (!batch_shape || !a_strides || !b_strides))
    fatal(name, "batch rank %d with a null shape or stride array",
          (int)batch_rank);
  for (int d = 0; d < batch_rank; ++d)
    if (batch_shape[d] < 0)
      fatal(name, "batch dim %d is negative (%lld)", d, (long long)batch_shape[d]);
}

/// A linear layer's activation argument: NONE, GELU, GELU_TANH or SILU
/// (ditc_kernels.def); any other is fatal, naming `name`.
inline void check_activation(const char *name, int32_t activation) {
  if (!ditc_rt_is_activation(activation))
    fatal(name, "activation %d is not GELU, GELU_TANH or SILU", (int)activation);
}

//===--- cuBLASLt --------------------------------------------------------===//

/// The cuBLASLt functions gemm.cpp calls, resolved from a library.
struct LtApi;

/// dlopen()s the first of `names` that loads and resolves every function
/// LtApi needs (and is of cuBLASLt's major version this was compiled
/// against). Not cached: null with `why` (naming the libraries) if none.
const LtApi *load_lt(const std::vector<std::string> &names,
                     std::string &why);
/// The process's cuBLASLt: DITC_CUBLASLT_LIBRARY when set, else
/// libcublasLt.so.13, then libcublasLt.so; loaded once (null with `why`
/// until a load succeeds).
const LtApi *lt_api(std::string &why);

/// The descriptors of a problem, created with an LtApi (no handle or
/// device needed): cublasLtMatmulDesc_t, cublasLtMatrixLayout_t (A, B, D;
/// C is D) and cublasLtMatmulPreference_t, as void *.
struct Descriptors {
  void *matmul = nullptr, *a = nullptr, *b = nullptr, *d = nullptr,
       *pref = nullptr;
};
/// Creates them for `p` with alignments `al` (the preference: at most
/// `workspace` bytes, the alignments). Returns the cublasStatus_t (0 =
/// success); on failure `what` says which call failed and nothing is left
/// allocated.
int create_descriptors(const LtApi *api, const LtProblem &p,
                       const Alignment &al, uint64_t workspace,
                       Descriptors &out, std::string &what);
void destroy_descriptors(const LtApi *api, Descriptors &d);

/// Initialises in `storage` (a cublasLtMatmulDescOpaque_t of `size` bytes:
/// no allocation) the matmul descriptor of one call of `p` with its bias
/// pointer: what a call with a bias uses instead of its plan's descriptor.
/// Returns the cublasStatus_t.
int init_call_desc(const LtApi *api, const LtProblem &p, const void *bias,
                   void *storage, size_t size);

/// Prints "ditc cuda: <name>: <what> (cublasLt status <status>)" and aborts.
[[noreturn]] void lt_fatal(const char *name, const char *what, int status);

} // namespace gemm
} // namespace ditc_cu
#pragma GCC visibility pop

#endif /* __cplusplus */

#endif /* DITC_RUNTIME_CUDA_GEMM_H */
