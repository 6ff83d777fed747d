/*===- ditc_cuda_kernels.h - The entry points the CUDA backend has --------===*
 *
 * DITC_CU_KERNELS(X) expands X(name) for each entry point of ditc_kernels.def
 * that libditc_cuda_kernels.a (runtime/cuda) defines as ditc_cu_<name>;
 * DITC_CU_COLLECTIVES(X) those the model archives add. The
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
  X(mul_add)                                                                   \
  X(is_nan)                                                                    \
  X(not_b8)                                                                    \
  X(strided_copy)                                                              \
  X(gather)                                                                    \
  X(trilu)                                                                     \
  X(rope)                                                                      \
  X(layer_norm)                                                                \
  X(layer_norm_mod)                                                            \
  X(rms_norm)                                                                  \
  X(group_norm)                                                                \
  X(softmax)                                                                   \
  X(reduce)                                                                    \
  X(attention)                                                                 \
  X(attention_block)                                                           \
  X(attention_block_f32)                                                       \
  X(attention_layout)                                                          \
  X(attention_merge_f32)                                                       \
  X(linear)                                                                    \
  X(matmul)                                                                    \
  X(conv2d)                                                                    \
  X(trace_begin)                                                               \
  X(trace_step)                                                                \
  X(probe_change)                                                              \
  X(cache_decide)                                                              \
  X(cache_apply)

/* DITC_CU_COLLECTIVES(X): the collectives on device tensors, defined by the
 * GPU libraries' model archives (runtime/cuda/collectives.cpp: device to
 * device through NCCL on the step's stream, or staged through host memory;
 * runtime/cuda/ring_attention.cpp: Ring attention's K/V blocks likewise),
 * not by libditc_cuda_kernels.a. */
#define DITC_CU_COLLECTIVES(X)                                                 \
  X(coll_all_reduce)                                                           \
  X(coll_all_gather)                                                           \
  X(coll_reduce_scatter)                                                       \
  X(coll_all_to_all)                                                           \
  X(coll_slice)                                                                \
  X(coll_send)                                                                 \
  X(coll_recv)                                                                 \
  X(coll_broadcast)                                                            \
  X(coll_rank)                                                                 \
  X(ring_attention)                                                            \
  X(double_ring_attention)

#endif /* DITC_RUNTIME_DITC_CUDA_KERNELS_H */
