//===- cudnn_graphs.h - Attention and convolutions through cuDNN ---------===//
//
// Two kinds of cuDNN graph share this pair (one translation unit, since
// cudnn-frontend compiles slowly): the fused SDPA (namespace sdpa) and the
// convolution (namespace conv, below; conv.cu's ditc_cu_conv2d), with the
// library, DITC_CUDNN, the handles, the plan cache and the capture rule in
// namespace cudnn. What follows is said of the attention; the convolution
// works the same way (a plan per problem: device, dtype, sizes, strides,
// pads, dilations, bias or not).
//
// attention.cu's attention_impl hands each call to sdpa::run first; when it
// returns false the own kernel runs, as before. run() takes a call only when
// cuDNN can: eligible() below, the library loads (and is cuDNN >= 9.0) and
// cuDNN builds a plan for the problem. Everything of the cuDNN frontend
// (cudnn-frontend's header-only C++ API, with
// NV_CUDNN_FRONTEND_USE_DYNAMIC_LOADING) lives in cudnn_graphs.cpp, one
// translation unit; this header needs no CUDA or cuDNN header.
//
// The library. cuDNN is never linked: it is dlopen()ed on first use,
// DITC_CUDNN_LIBRARY when set, else libcudnn.so.9 (the loader's search), and
// the frontend resolves every cudnn* call in it. The frontend itself also
// dlopen()s libcudart.so.12 / .13 for a few CUDA runtime calls of its own
// (cudaMemsetAsync / cudaMemcpyAsync of workspace set-up, which plain SDPA
// does not need); the device's compute capability is set by us, so that
// its sm query (cudaGetDevice, cudaDeviceGetAttribute) never runs. Where no
// libcudart.so is found such a call throws, which run() turns into a
// refusal (own kernel).
//
// DITC_CUDNN (read once per process):
//   auto (or unset, or empty)  cuDNN when it loads and takes the call
//   0                          never (the own kernel only)
//   1                          the library must load: the first attention
//                              (or conv2d) call aborts with one line naming
//                              the library
//                              and dlerror otherwise (also when the runtime
//                              was built without cudnn-frontend); calls
//                              cuDNN does not take still fall back, and a
//                              problem cuDNN refuses is reported once on
//                              stderr
//
// Plans. One cuDNN graph per problem (device, dtype, B, H, Hkv, Sq, Skv, D,
// the four tensors' strides, causal, the scale's bits), built at its first
// call (validate, build_operation_graph, heuristics A, check_support,
// build_plans) with a workspace of its own (cudaMalloc'd once) and kept for
// the life of the process; a problem cuDNN refuses is kept as refused with
// its reason and never retried. One cudnnHandle_t per device (created with
// the device's first plan), cudnnSetStream before each execution, under a
// per-device lock. A plan is never built while the calling stream is
// being captured into a CUDA graph (cuDNN may allocate and synchronise):
// such a call runs the own kernel unless the plan exists; a built plan
// executes inside a capture (its kernels are captured like any other). A
// plan's workspace is shared by every execution of that plan: the same
// problem enqueued on two streams must not run concurrently (as for gemm's
// workspace).
//
// On the host emulation of test/Cuda (DITC_CU_EMULATE) the hook is compiled
// out of attention.cu: no cuDNN there.
//
//===----------------------------------------------------------------------===//
#ifndef DITC_RUNTIME_CUDA_CUDNN_GRAPHS_H
#define DITC_RUNTIME_CUDA_CUDNN_GRAPHS_H

#include <stdint.h>

#include <string>

#pragma GCC visibility push(hidden)
namespace ditc_cu {
namespace cudnn {

// What the attention and the convolution share: DITC_CUDNN, the library,
// one handle per device, the plan cache (keyed by the kind of graph too)
// and the capture rule, in cudnn_graphs.cpp.

/// DITC_CUDNN.
enum class Mode { Auto, Off, On };
/// Parses a DITC_CUDNN value (null or "" = auto); false for anything else.
bool parse_mode(const char *value, Mode &mode);
/// The process's mode: DITC_CUDNN at the first call (an unknown value is
/// fatal), unless set_mode overrode it.
Mode mode();
/// Overrides DITC_CUDNN from now on (tests).
void set_mode(Mode m);

/// Whether this runtime was compiled with cudnn-frontend (else run() never
/// takes a call; why_not_built says so).
bool built_with_frontend();

/// dlopen()s `path` (DITC_CUDNN_LIBRARY's role) and checks cudnnGetVersion
/// >= 90000; not cached, nothing kept (the library is closed again).
/// Returns the version, or 0 with `why` naming the library (dlerror).
int64_t probe_library(const std::string &path, std::string &why);

/// The process's cuDNN (DITC_CUDNN_LIBRARY, else libcudnn.so.9), loaded
/// once (a failure is kept too); its version, or 0 with `why`.
int64_t library_version(std::string &why);

/// What a run() did in this process (tests): calls cuDNN ran, calls handed
/// back to the own kernel, plans built, problems refused. Counted per kind
/// of graph (sdpa::counters, conv::counters).
struct Counters {
  uint64_t ran = 0, fell_back = 0, plans = 0, refused = 0;
};

} // namespace cudnn

namespace sdpa {

/// One attention call as attention_impl sees it: element strides of batch,
/// head and sequence for q [B, H, Sq, D], k [B, Hkv, Skv, D], v [B, Hkv,
/// Skv, Dv] and out [B, H, Sq, Dv] (the head dim contiguous), and of the
/// log-sum-exp [B, H, Sq] (f32) when one is wanted.
struct Call {
  int32_t dtype = 0; // DITC_RT_F32 / F16 / BF16
  const void *q = nullptr, *k = nullptr, *v = nullptr;
  void *out = nullptr;
  float *lse = nullptr; // null: no log-sum-exp wanted
  int64_t B = 0, H = 0, Hkv = 0, Sq = 0, Skv = 0, D = 0, Dv = 0;
  int64_t q_stride[3] = {}, k_stride[3] = {}, v_stride[3] = {},
          o_stride[3] = {}, lse_stride[3] = {}; // batch, head, seq
  float scale = 1.f;
  bool causal = false;
  int32_t mask_kind = 0; // DITC_RT_MASK_*
  // A block of Ring attention: the global positions of the first query
  // and key (for the causal mask) and the keys before kv_valid (> 0) only.
  int64_t q_offset = 0, kv_offset = 0, kv_valid = 0;
  /// The device's compute capability, major * 10 + minor (0: unknown).
  int32_t sm = 0;
};

/// What cuDNN computes for `c`: the keys it reads (the first `keys` rows of
/// k and v: Skv, cut at kv_valid - kv_offset) and the causal mask in the
/// block's own coordinates: key j is masked for query i when j > i +
/// right_bound (right_bound = q_offset - kv_offset), which is cuDNN's
/// top-left diagonal band. causal is false where the mask masks nothing
/// (every key at or before the first query). Pure.
struct Band {
  int64_t keys = 0;
  bool causal = false;
  int64_t right_bound = 0;
};
Band band(const Call &c);

/// Null when cuDNN's SDPA may take `c`, else why not (a static string).
/// Pure: no device, no library. Takes: F16 / BF16; no mask; D == Dv, a
/// multiple of 8 in [8, 256]; heads a multiple of kv_heads (GQA); every
/// size > 0 and at least one key (band().keys); a causal band only with Sq
/// == band().keys and right_bound >= 0 (every query sees a key); 16-byte
/// aligned pointers (the lse's too) and strides a multiple of 8 elements
/// (the lse's >= 0); an output that overlaps no input (the own kernel
/// takes out == q); sm >= 80. The lse comes from cuDNN's softmax stats
/// (max + log sum exp of the scaled scores, natural log: the own kernel's
/// lse), in the layout given (cuDNN >= 9.12 honours the stats' strides;
/// an older library refuses any but [B, H, Sq] when the plan is built).
const char *ineligible(const Call &c);

using cudnn::built_with_frontend;
using cudnn::Counters;
using cudnn::library_version;
using cudnn::Mode;
using cudnn::mode;
using cudnn::parse_mode;
using cudnn::probe_library;
using cudnn::set_mode;

/// Runs `c` through cuDNN on `stream` (a cudaStream_t): true when cuDNN
/// ran it, false (with `why` when not null) when the own kernel must. Fills
/// c.sm itself when 0. Aborts only where DITC_CUDNN=1 finds no library.
bool run(Call c, void *stream, std::string *why);

/// What run() did in this process (tests), attention calls only.
Counters counters();

/// For tests without a GPU: builds the frontend graph of `c` (as run()
/// would, with the device's sm c.sm) and calls validate() only, which needs
/// the library (library_version) but no device. True when it validates;
/// else false with `why`.
bool validate_graph(const Call &c, std::string &why);

} // namespace sdpa

/// Convolutions through cuDNN's conv_fprop (conv.cu's ditc_cu_conv2d hands
/// each call to conv::run first; when it returns false the own direct
/// kernel runs). The graph: conv_fprop (compute f32, the io dtype in and
/// out, NCHW strides given explicitly, pre- and post-padding per axis),
/// then a pointwise ADD of the bias as a [1, O, 1, 1] tensor when there is
/// one. Plans, the mode and the capture rule as for the attention.
namespace conv {

using cudnn::Counters;

/// One ditc_cu_conv2d call: x [N, C, H, W], w [O, C / groups, kh, kw],
/// bias [O] or null, y [N, O, OH, OW], all contiguous (NCHW).
struct Call {
  int32_t dtype = 0; // DITC_RT_F32 / F16 / BF16
  const void *x = nullptr, *w = nullptr, *bias = nullptr;
  void *y = nullptr;
  int64_t N = 0, C = 0, H = 0, W = 0, O = 0, kh = 0, kw = 0;
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int64_t dil_h = 1, dil_w = 1, groups = 1;
  int64_t OH = 0, OW = 0; // the output's size (conv2dShape's)
  /// The device's compute capability, major * 10 + minor (0: unknown).
  int32_t sm = 0;
};

/// Null when cuDNN's convolution may take `c`, else why not (a static
/// string). Pure: no device, no library. Takes: F16 / BF16 (f32 stays with
/// the own kernel, exact against the CPU, where cuDNN could use TF32);
/// groups 1; every size > 0, strides and dilations >= 1, pads >= 0
/// (asymmetric pads are cuDNN's pre- and post-padding: check_support
/// refuses what no engine does); 16-byte aligned pointers; an output that
/// overlaps no input; sm >= 80. Channel counts are left to check_support.
const char *ineligible(const Call &c);

/// Runs `c` through cuDNN on `stream` (a cudaStream_t): true when cuDNN
/// ran it, false (with `why` when not null) when the own kernel must. Fills
/// c.sm itself when 0. Aborts only where DITC_CUDNN=1 finds no library.
/// With `bias_left` (not null): where cuDNN refuses the convolution with
/// its bias fused (its fused engines favour channels-last tensors) but
/// takes it alone, it runs it alone and sets *bias_left, and the caller
/// adds the bias; a call counts once (ran or fell back) either way.
/// DITC_CUDNN_CONV_BIAS=0 takes that path for every convolution with a bias.
bool run(Call c, void *stream, std::string *why, bool *bias_left = nullptr);

/// What run() did in this process (tests), convolutions only.
Counters counters();

/// As sdpa::validate_graph: the frontend graph of `c` through validate()
/// only (the library, no device).
bool validate_graph(const Call &c, std::string &why);

} // namespace conv
} // namespace ditc_cu
#pragma GCC visibility pop

#endif // DITC_RUNTIME_CUDA_CUDNN_GRAPHS_H
