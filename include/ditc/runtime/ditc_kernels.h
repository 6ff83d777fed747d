/*===- ditc_kernels.h - The ditc runtime's CPU kernels (C ABI) ------------===*
 *
 * Plain C. The entry points are declared from ditc_kernels.def, the list the
 * code generator reads too; the enums below give the values of their
 * op / dtype / kind arguments (passed as int32_t).
 *===----------------------------------------------------------------------===*/
#ifndef DITC_RUNTIME_DITC_KERNELS_H
#define DITC_RUNTIME_DITC_KERNELS_H

#include <stdint.h>

#if defined(_WIN32)
#define DITC_RT_API __declspec(dllexport)
#else
#define DITC_RT_API __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Highest tensor rank the strided kernels accept. */
#define DITC_RT_MAX_RANK 16
/* The most rows ditc_rt_linear_rows_f32 takes (and linear_f32 gives it). */
#define DITC_RT_LINEAR_ROWS_MAX 8

/* Element types; the values are also the model ABI's ditc_dtype codes
 * (ditc_model.h). Every dtype casts to every other; where and strided_copy
 * take any by size; the binary ops take those of ditc_rt_binary_dtypes. */
typedef enum ditc_rt_dtype {
  DITC_RT_F32 = 0,
  DITC_RT_I64 = 1,
  DITC_RT_I32 = 2,
  DITC_RT_B8 = 3, /* bool, one byte */
  DITC_RT_F16 = 4,
  DITC_RT_BF16 = 5,
  DITC_RT_F64 = 6,
  DITC_RT_I8 = 7,
  DITC_RT_U8 = 8,
  DITC_RT_I16 = 9,
  DITC_RT_U16 = 10,
  DITC_RT_U32 = 11,
  DITC_RT_U64 = 12,
  DITC_RT_DTYPE_COUNT
} ditc_rt_dtype;

typedef enum ditc_rt_unary_op {
  DITC_RT_UNARY_NEG = 0,
  DITC_RT_UNARY_SQRT = 1,
  DITC_RT_UNARY_RECIPROCAL = 2,
  DITC_RT_UNARY_EXP = 3,
  DITC_RT_UNARY_ERF = 4,
  DITC_RT_UNARY_COS = 5,
  DITC_RT_UNARY_SIN = 6,
  DITC_RT_UNARY_TANH = 7,
  DITC_RT_UNARY_SIGMOID = 8,
  DITC_RT_UNARY_RELU = 9,
  DITC_RT_UNARY_GELU = 10,      /* x * Phi(x), with erf */
  DITC_RT_UNARY_GELU_TANH = 11, /* the tanh approximation */
  DITC_RT_UNARY_SILU = 12,      /* x * sigmoid(x) */
  DITC_RT_UNARY_ABS = 13,
  DITC_RT_UNARY_LOG = 14,
  DITC_RT_UNARY_FLOOR = 15,
  DITC_RT_UNARY_CEIL = 16,
  DITC_RT_UNARY_ROUND = 17, /* half to even */
  DITC_RT_UNARY_COUNT
} ditc_rt_unary_op;

/* A linear layer's `activation` argument: none, or one of the unary ops
 * DITC_RT_UNARY_GELU, DITC_RT_UNARY_GELU_TANH and DITC_RT_UNARY_SILU
 * (ditc_rt_is_activation says which codes are valid). */
#define DITC_RT_ACTIVATION_NONE (-1)
static inline int ditc_rt_is_activation(int32_t activation) {
  return activation == DITC_RT_ACTIVATION_NONE ||
         activation == DITC_RT_UNARY_GELU ||
         activation == DITC_RT_UNARY_GELU_TANH ||
         activation == DITC_RT_UNARY_SILU;
}

/* Arithmetic ops write `dtype`, comparisons write B8. "Numbers" are F32 F64
 * F16 BF16 and the integers I8 I16 I32 I64 U8 U16 U32 U64
 * (ditc_rt_binary_dtypes below says it as a bit mask). F16 and BF16 compute
 * in f32, rounding each result.
 *   ADD SUB MUL DIV POW      numbers (integer ops wrap; integer DIV
 *                            truncates, x/0 = 0; integer POW with a
 *                            negative exponent truncates)
 *   MAX MIN                  numbers, B8 (floats propagate NaN)
 *   EQUAL ... NOT_EQUAL      numbers, B8
 *   AND OR XOR               B8 (logical), the integers (bitwise)
 *   MOD                      numbers: the remainder with the sign of the
 *                            divisor (Python's %, ONNX Mod fmod=0)
 *   FMOD                     numbers: the remainder with the sign of the
 *                            dividend (C's fmod / %, ONNX Mod fmod=1)
 *   Integer MOD / FMOD by 0 give 0. */
typedef enum ditc_rt_binary_op {
  DITC_RT_BINARY_ADD = 0,
  DITC_RT_BINARY_SUB = 1,
  DITC_RT_BINARY_MUL = 2,
  DITC_RT_BINARY_DIV = 3,
  DITC_RT_BINARY_POW = 4,
  DITC_RT_BINARY_MAX = 5,
  DITC_RT_BINARY_MIN = 6,
  DITC_RT_BINARY_EQUAL = 7,
  DITC_RT_BINARY_GREATER = 8,
  DITC_RT_BINARY_LESS = 9,
  DITC_RT_BINARY_GREATER_EQUAL = 10,
  DITC_RT_BINARY_LESS_EQUAL = 11,
  DITC_RT_BINARY_NOT_EQUAL = 12,
  DITC_RT_BINARY_AND = 13,
  DITC_RT_BINARY_OR = 14,
  DITC_RT_BINARY_XOR = 15,
  DITC_RT_BINARY_MOD = 16,
  DITC_RT_BINARY_FMOD = 17,
  DITC_RT_BINARY_COUNT
} ditc_rt_binary_op;

/* Bytes of an element of `dtype`; 0 for an unknown one. */
static inline int64_t ditc_rt_dtype_bytes(int32_t dtype) {
  switch (dtype) {
  case DITC_RT_B8:
  case DITC_RT_I8:
  case DITC_RT_U8:
    return 1;
  case DITC_RT_F16:
  case DITC_RT_BF16:
  case DITC_RT_I16:
  case DITC_RT_U16:
    return 2;
  case DITC_RT_F32:
  case DITC_RT_I32:
  case DITC_RT_U32:
    return 4;
  case DITC_RT_I64:
  case DITC_RT_F64:
  case DITC_RT_U64:
    return 8;
  default:
    return 0;
  }
}

/* The dtypes ditc_rt_binary takes for `op`, as a mask of (1u << dtype); 0
 * for an unknown op. The runtime checks its arguments with it, the code
 * generator refuses what it excludes. */
static inline uint32_t ditc_rt_binary_dtypes(int32_t op) {
  const uint32_t ints = (1u << DITC_RT_I64) | (1u << DITC_RT_I32) |
                        (1u << DITC_RT_I8) | (1u << DITC_RT_U8) |
                        (1u << DITC_RT_I16) | (1u << DITC_RT_U16) |
                        (1u << DITC_RT_U32) | (1u << DITC_RT_U64);
  const uint32_t numbers =
      ints | (1u << DITC_RT_F32) | (1u << DITC_RT_F64) | (1u << DITC_RT_F16) |
      (1u << DITC_RT_BF16);
  const uint32_t b8 = 1u << DITC_RT_B8;
  if (op < 0 || op >= DITC_RT_BINARY_COUNT)
    return 0;
  if (op >= DITC_RT_BINARY_AND && op <= DITC_RT_BINARY_XOR)
    return ints | b8;
  if (op >= DITC_RT_BINARY_MAX && op <= DITC_RT_BINARY_NOT_EQUAL)
    return numbers | b8;
  return numbers;
}

typedef enum ditc_rt_reduce_op {
  DITC_RT_REDUCE_SUM = 0,
  DITC_RT_REDUCE_MEAN = 1,
  DITC_RT_REDUCE_MAX = 2, /* F32 propagates NaN */
  DITC_RT_REDUCE_MIN = 3,
  DITC_RT_REDUCE_PROD = 4,
  DITC_RT_REDUCE_COUNT
} ditc_rt_reduce_op;

typedef enum ditc_rt_mask_kind {
  DITC_RT_MASK_NONE = 0,
  DITC_RT_MASK_BOOL = 1,     /* uint8, nonzero = attend */
  DITC_RT_MASK_ADDITIVE = 2, /* f32, added to the scaled scores */
} ditc_rt_mask_kind;

/* attention_layout's and ring_attention's `layout`: a set bit says that
 * tensor is [B, S, H, D] (sequence-major, as a linear layer's output split
 * into heads is) instead of [B, H, S, D]. */
typedef enum ditc_rt_seq_major {
  DITC_RT_SEQ_MAJOR_Q = 1,
  DITC_RT_SEQ_MAJOR_K = 2,
  DITC_RT_SEQ_MAJOR_V = 4,
  DITC_RT_SEQ_MAJOR_OUT = 8,
} ditc_rt_seq_major;

/* The point-to-point tag ring_attention_f32 sends its K/V blocks with (an
 * application sharing the communicator keeps off it). */
#define DITC_RT_RING_ATTENTION_TAG 21065

/* CPU code paths (ditc_rt_set_isa). AVX2_W16 runs the AVX-512 code (16-wide
 * vectors) on AVX2 instructions; it exists to test that code on machines
 * without AVX-512 and is never picked automatically. */
typedef enum ditc_rt_isa {
  DITC_RT_ISA_AUTO = -1,
  DITC_RT_ISA_GENERIC = 0, /* x86-64 baseline (SSE2) or the host's default */
  DITC_RT_ISA_AVX2 = 1,    /* x86-64-v3: AVX2 + FMA */
  DITC_RT_ISA_AVX512 = 2,  /* x86-64-v4: AVX-512 F/BW/DQ/VL */
  DITC_RT_ISA_AVX2_W16 = 3,
  DITC_RT_ISA_COUNT
} ditc_rt_isa;

#define DITC_RT_KERNEL(name, params) DITC_RT_API void ditc_rt_##name params;
#define DITC_RT_FUNCTION(ret, name, params) DITC_RT_API ret ditc_rt_##name params;
#include "ditc/runtime/ditc_kernels.def"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* DITC_RUNTIME_DITC_KERNELS_H */
