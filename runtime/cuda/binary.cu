//===- binary.cu - Broadcasting binary ops --------------------------------===//
//
// out[idx] = op(a[idx . a_strides], b[idx . b_strides]) over the collapsed
// shape (common.cuh); for the float types a thread per run of kRun output
// elements along the innermost dimension (one where kRun does not divide
// it), else a thread per element. Floats (F32, F16, BF16)
// compute in f32 and round once; I64 / I32 wrap; B8 is logical; comparisons
// write B8 (0 / 1). kernel_math.h has each op.
//
//===----------------------------------------------------------------------===//
#include "common.cuh"

namespace ditc_cu {
namespace {

template <class S> constexpr bool kFloatLike = math::is_float_like<S>::value;
template <class S>
constexpr bool kInt =
    std::is_same<S, int64_t>::value || std::is_same<S, int32_t>::value;

/// Whether ditc_rt_binary takes OP on S (BF16 like F16).
template <class S, int OP> constexpr bool binary_valid() {
  if (kFloatLike<S>)
    return !(OP >= DITC_RT_BINARY_AND && OP <= DITC_RT_BINARY_XOR);
  if (kInt<S>)
    return true;
  return OP >= DITC_RT_BINARY_MAX && OP <= DITC_RT_BINARY_XOR; // B8
}

/// What OP on S writes: B8 for comparisons (and for B8 operands), else S.
template <class S, int OP>
using BinaryOut =
    typename std::conditional<math::binary_is_comparison(OP) ||
                                  std::is_same<S, bool8>::value,
                              uint8_t, S>::type;

template <class S, int OP>
__device__ __forceinline__ BinaryOut<S, OP> binary_apply(S a, S b) {
  if constexpr (kFloatLike<S>) {
    const float r = math::binary_f<OP>(math::to_f32(a), math::to_f32(b));
    if constexpr (math::binary_is_comparison(OP))
      return r != 0.f;
    else
      return math::from_f32<S>(r);
  } else if constexpr (kInt<S>) {
    return (BinaryOut<S, OP>)math::binary_i<OP, S>(a, b);
  } else {
    return math::binary_b8<OP>(a.v, b.v);
  }
}

template <class S, int OP>
__global__ void __launch_bounds__(kThreads)
    binary_kernel(const __grid_constant__ Strided<3> s, int run, const S *a,
                  const S *b, BinaryOut<S, OP> *out) {
  for_each_element<2, kFloatLike<S>>(s, run, [&](int64_t i, const int64_t(&off)[2]) {
    out[i] = binary_apply<S, OP>(a[off[0]], b[off[1]]); // out is contiguous
  });
}

/// Launches op (known valid for S).
template <class S, int OP = 0>
void launch_binary(int32_t op, const Strided<3> &s, const void *a,
                   const void *b, void *out) {
  if constexpr (OP < DITC_RT_BINARY_COUNT) {
    if (op != OP)
      return launch_binary<S, OP + 1>(op, s, a, b, out);
    if constexpr (binary_valid<S, OP>()) {
      // Runs for the float types (the model's activations); integer and
      // boolean ops run an element per thread.
      const int run = kFloatLike<S> ? run_length(s) : 1;
      launch(binary_kernel<S, OP>, blocks_for(s.total / run, kThreads),
             kThreads, s, run, static_cast<const S *>(a),
             static_cast<const S *>(b),
             static_cast<BinaryOut<S, OP> *>(out));
    }
  }
}

} // namespace
} // namespace ditc_cu

using namespace ditc_cu;

extern "C" void ditc_cu_binary(int32_t op, int32_t dtype, const void *a,
                               const int64_t *a_strides, const void *b,
                               const int64_t *b_strides, void *out,
                               const int64_t *shape, int32_t rank) {
  const char *name = "binary";
  if (op < 0 || op >= DITC_RT_BINARY_COUNT)
    fatal(name, "unknown op %d", (int)op);
  const int32_t as_dtype = dtype == DITC_RT_BF16 ? DITC_RT_F16 : dtype;
  if (dtype < 0 || dtype >= DITC_RT_DTYPE_COUNT ||
      !(ditc_rt_binary_dtypes(op) & (1u << as_dtype)))
    fatal(name, "op %d does not take dtype %d", (int)op, (int)dtype);
  if (rank < 0 || rank > kMaxRank)
    fatal(name, "rank %d is outside [0, %d]", (int)rank, kMaxRank);
  int64_t out_strides[kMaxRank];
  contiguous_strides(shape, rank, out_strides);
  const int64_t *st[3] = {a_strides, b_strides, out_strides};
  const Strided<3> s = make_strided<3>(name, rank, shape, st);
  if (s.total == 0)
    return;
  switch (dtype) {
  case DITC_RT_F32:
    launch_binary<float>(op, s, a, b, out);
    break;
  case DITC_RT_F16:
    launch_binary<half_t>(op, s, a, b, out);
    break;
  case DITC_RT_BF16:
    launch_binary<bfloat_t>(op, s, a, b, out);
    break;
  case DITC_RT_I64:
    launch_binary<int64_t>(op, s, a, b, out);
    break;
  case DITC_RT_I32:
    launch_binary<int32_t>(op, s, a, b, out);
    break;
  case DITC_RT_B8:
    launch_binary<bool8>(op, s, a, b, out);
    break;
  default:
    fatal(name, "dtype %d is not supported on CUDA (F32, F16, BF16, I64, "
          "I32, B8)", (int)dtype);
  }
  check_launch(name);
}
