/*===- ditc_cuda_kernels.h - The entry points the CUDA backend has --------===*
 *
 * DITC_CU_KERNELS(X) expands X(name) for each entry point of ditc_kernels.def
 * that libditc_cuda_kernels.a (runtime/cuda) defines as ditc_cu_<name>. The
 * code generator reads it to refuse, at compile time, an op of a graph whose
 * kernel the CUDA target does not have; the kernels' own header declares
 * every entry point and the library defines these. Plain C, no CUDA.
 *===----------------------------------------------------------------------===*/
#ifndef DITC_RUNTIME_DITC_CUDA_KERNELS_H
#define DITC_RUNTIME_DITC_CUDA_KERNELS_H

#define DITC_CU_KERNELS(X)                                                     \
  X(unary)                                                                     \
  X(binary)                                                                    \
  X(cast)                                                                      \
  X(where)                                                                     \
  X(is_nan)                                                                    \
  X(not_b8)                                                                    \
  X(strided_copy)                                                              \
  X(gather)                                                                    \
  X(trilu)                                                                     \
  X(rope)                                                                      \
  X(layer_norm)                                                                \
  X(rms_norm)                                                                  \
  X(group_norm)                                                                \
  X(softmax)                                                                   \
  X(reduce)                                                                    \
  X(attention)                                                                 \
  X(attention_block_f32)                                                       \
  X(attention_merge_f32)                                                       \
  X(linear)                                                                    \
  X(matmul)                                                                    \
  X(conv2d)                                                                    \
  X(trace_begin)                                                               \
  X(trace_step)

#endif /* DITC_RUNTIME_DITC_CUDA_KERNELS_H */
