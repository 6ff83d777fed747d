//===- Passes.td - code generation passes ------------------*- tablegen -*-===//

#ifndef DITC_LIB_TARGET_PASSES_TD
#define DITC_LIB_TARGET_PASSES_TD

include "mlir/Pass/PassBase.td"

def LegalizeRuntimePass : Pass<"ditc-legalize-runtime", "ModuleOp"> {
  let summary = "Rewrite ops into the forms the runtime kernels take";
  let description = [{
    The runtime has one kernel per op family with fixed operand layouts. This
    pass rewrites what the kernels do not take directly, using only ditc ops:

    - `ditc.einsum` with one operand becomes transpose (+ reduce_sum); with
      two operands, transposes and reshapes around one batched `ditc.matmul`;
    - norm scales and biases that only broadcast to the normalised shape are
      broadcast to it explicitly;
    - 1-D convolutions become 2-D ones with a unit height; convolutions of
      3 or more spatial axes (video DiTs' patch embeddings) become 2-D ones
      over the leading spatial axes folded into the batch, one per offset of
      the leading kernel axes (one when those are 1), summed, with leading
      pads as concatenated zeros and leading strides and dilations as
      strided slices;
    - `ditc.rope` stays for `ditc_rt_rope_f32` when it is f32 and its
      tables broadcast over the input's leading dims in at most three runs
      (Llama's `[B, H, S, D]` with `[S, W]`, `[1 or B, 1, S, W]` tables,
      Flux's `[B, S, H, D]` with `[1, S, 1, D]`); any other becomes
      `x * cos + rotate(x) * sin` with slices, a negation and a
      concatenation;
    - f64 values (exporters compute rotary tables in double) are computed in
      f32, which the kernels take, with a warning.
    - a `ditc.gelu` or `ditc.silu` that is the only user of a linear layer's
      product becomes the layer's `activation` (the GEMM's epilogue);
    - a DiT's adaLN modulation of a layer norm, `norm(x) * s + t` with `s`
      and `t` one row of parameters per batch (`[B, 1, C]`), becomes the
      norm's `mod_scale` and `mod_shift` (one kernel, one rounding) when the
      `mul` is the norm's only user and the `add` the mul's; a
      `mod_scale` that is `s + c`, with `c` a splat constant (PixArt's and
      DiT's `1 + scale`), becomes `s` with `mod_scale_offset = c` when every
      user of the sum (directly or through reshapes) is a norm's
      `mod_scale` (PipeFusion's patches share one);
    - any other `ditc.mul` whose only user is a `ditc.add`, in its block and
      with its discardable attributes, becomes a `ditc.mul_add` with it (a
      DiT's gated residual `x + gate * y`: one pass, one rounding);
    - the transposes `[0, 2, 1, 3]` between a linear layer's heads
      (`[B, S, H, D]`) and a `ditc.attention` or a `ditc.ring_attention`
      fold into it (`seq_major`; a ring's K/V blocks then travel as they lie):
      a transposed query, key or value whose only user is the attention,
      and a transpose that is the result's only user, in the same block
      and placement (the discardable attributes but `ditc.replicated` and
      `ditc.token_pieces`). Transposes move towards an attention first:
      over a concatenation of them (a joint attention's streams joined
      along the tokens, one transpose of the concatenation), across
      Ulysses' all-to-alls (the exchange's axes swapped), and under a rope
      whose tables do not vary over the heads (reshaped, a view).

    ```mlir
    %y = ditc.einsum %x {equation = "abc->cab"} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
    // becomes
    %y = ditc.transpose %x {permutation = array<i64: 2, 0, 1>} : (tensor<2x3x4xf32>) -> tensor<4x2x3xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def TransposeLoopWeightsPass : Pass<"ditc-transpose-loop-weights", "ModuleOp"> {
  let summary = "Store the weights of linear layers in chunk loops as [N, K]";
  let description = [{
    A `ditc.chunk` loop calls each of its linear layers once per chunk, with
    the whole weight every time. The CPU runtime's product for a `[K, N]`
    weight (`dnnl_sgemm`) repacks the weight on every call, which a chunk of
    a few hundred rows cannot pay back; with the weight as `[N, K]` it runs
    oneDNN's matmul primitive, which does not (docs/BENCHMARKS.md,
    "AutoChunk"). This pass gives such weights that layout: a 2-D
    `ditc.weight` whose every use is the weight of a `ditc.linear` without
    `transpose_weight`, one of them inside a `ditc.chunk`, gets the
    transposed type and `ditc.transposed` (the weight writer writes the
    stored tensor transposed), and its linear layers `transpose_weight`.
    Every weight op of the same name changes alike. Sharded or padded
    weights (`ditc.shard`, `ditc.global_shape`) are left as they are.

    ```mlir
    %w = ditc.weight "fc1" {file = "m.onnx.data", offset = 0 : i64} : tensor<64x256xf32>
    %y = ditc.chunk (%x) ... {
    ^bb0(%c: tensor<32x64xf32>):
      %h = ditc.linear %c, %w : (tensor<32x64xf32>, tensor<64x256xf32>) -> tensor<32x256xf32>
      ...
    // becomes
    %w = ditc.weight "fc1" {ditc.transposed, file = "m.onnx.data", offset = 0 : i64} : tensor<256x64xf32>
      %h = ditc.linear %c, %w {transpose_weight} : (tensor<32x64xf32>, tensor<256x64xf32>) -> tensor<32x256xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def PlanMemoryPass : Pass<"ditc-plan-memory", "ModuleOp"> {
  let summary = "Place every intermediate tensor in one static arena";
  let description = [{
    Walks `@main` in order, computes each buffer's lifetime (a reshape is a
    view and extends its source's life), and gives every op result an offset
    in one arena with a first-fit allocator (64-byte aligned); elementwise ops
    write in place over an operand that dies there. With every lifetime
    known, the buffers are then placed again largest first, each at the
    lowest offset clear of those it is live with, and that placement is
    kept when its arena is smaller (a long-lived buffer no longer splits
    the arena; the K/V and state buffers stay at 0). A slice, or a piece of a
    split, that every user reads through strides (the elementwise kernels,
    and a layer norm's `mod_scale` / `mod_shift` whose rows are evenly
    apart) is a strided view of its input too: a DiT's six adaLN
    parameters are read where their projection wrote them. Nothing is
    written in place over a strided view's input. The inputs of a concat
    whose pieces are contiguous runs of its result (every dim before the
    axis is 1) that have no other user are written into the concat's
    buffer at their place, directly or through reshapes (SD3's and Flux's
    joint Q, K and V, Flux's joint residual stream): the concat copies only
    the other inputs, and its buffer lives from the first part. A result
    that `@main` returns is written straight into the caller's output
    buffer. The plan is recorded in the IR:

    - `ditc.offsets = array<i64: ...>` on each op: the arena offset of each
      result, `-1` for a view (reshape, strided slice or split piece), `-2 - k`
      for output `k`;
    - `ditc.arena_bytes` on the module: the arena size.

    ```mlir
    %0 = ditc.gelu %x {ditc.offsets = array<i64: 0>} : tensor<2x8xf32>
    ```
  }];
}

def LowerToRuntimePass : Pass<"ditc-lower-to-runtime", "ModuleOp"> {
  let summary = "Lower the planned graph to LLVM dialect calls of the runtime";
  let description = [{
    Replaces `@main` by `llvm.func @ditc_generated_run(arena, inputs, outputs,
    weights, comms, consts)` that calls one entry point of the target's
    kernel table per op (the list in include/ditc/runtime/ditc_kernels.def;
    `ditc_rt_*` for `target=cpu`, `ditc_cu_*` for `target=cuda`, which has
    only the entry points of include/ditc/runtime/ditc_cuda_kernels.h and
    calls the dtype-taking ones for f32 too), with pointers into the arena,
    the caller's buffers, the weight table or the constants table (filled
    by the runtime from `ditc_generated_constants`, in the memory the
    kernels read), and shapes and strides as constant globals (host memory:
    kernels read them during the call). An op whose entry point the target
    lacks is an error that names it. Also emits the model descriptor that the
    runtime reads (`ditc_generated_json`, a JSON string): input, output and weight names,
    dtypes and shapes, and the arena size. Needs `ditc-plan-memory` first.

    With `trace`, a call of `ditc_rt_trace_step(i)` follows the kernels of
    the i-th step (every op the memory plan placed, in schedule order, the
    numbering `ditc profile` uses) and the descriptor says how many steps
    there are, so `ditc run --trace` can time each op.
  }];
  let options = [
    Option<"trace", "trace", "bool", /*default=*/"false",
           "Record when each step ends (ditc compile --trace)">,
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "The kernel table: cpu (ditc_rt_* on host memory) or cuda "
           "(ditc_cu_* on device memory)">,
    Option<"cudaArch", "cuda-arch", "std::string", /*default=*/"\"\"",
           "GPU architectures of the cuda kernels, comma-separated (the "
           "descriptor's cuda_arch)">
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // DITC_LIB_TARGET_PASSES_TD
