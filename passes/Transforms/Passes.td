//===- Passes.td - ditc graph transformations --------------*- tablegen -*-===//

#ifndef DITC_PASSES_TRANSFORMS_PASSES_TD
#define DITC_PASSES_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def FusePass : Pass<"ditc-fuse", "ModuleOp"> {
  let summary = "Recognise semantic ops in the decomposed forms exporters write";
  let description = [{
    Rewrites the op sequences that the TorchScript and dynamo exporters emit
    into the semantic ops the planner reasons about:

    - `matmul(q, k^T)` (scaled by `mul`/`div` on the scores, on `q` or on `k`)
      → optional mask `add`/`where` → `softmax(last axis)` → `matmul(·, v)`
      becomes `ditc.attention` (grouped K/V heads recovered from the
      `broadcast` + `reshape` that `repeat_kv` writes);
    - `x - mean(x)`, `pow 2`, `reduce_mean`, `add eps`, `sqrt`, `div` (and the
      `reciprocal`/`mul` forms) becomes `ditc.layer_norm`; the same without
      the centring becomes `ditc.rms_norm`; following `mul` by a weight and
      `add` of a bias fold into the norm;
    - `0.5 * x * (1 + erf(x / sqrt 2))` and the tanh form become `ditc.gelu`;
    - `x * sigmoid(x)` becomes `ditc.silu`;
    - `matmul(x, W) + b` with a 2-D weight becomes `ditc.linear`.

    Example:

    ```mlir
    %s = ditc.matmul %q, %kt : ...
    %d = ditc.div %s, %c8 : ...
    %p = ditc.softmax %d {axis = 3 : i64} : ...
    %o = ditc.matmul %p, %v : ...
    // becomes
    %o = ditc.attention %q, %k, %v {scale = 0.125 : f64} : ...
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def PrecisionPass : Pass<"ditc-precision", "ModuleOp"> {
  let summary = "Give activations and weights a 16-bit float type (ditc compile --dtype)";
  let description = [{
    Decides each f32 value's type for `ditc compile --dtype bf16|f16`:

    - a contraction (linear, matmul, conv) or lookup (gather) that reads
      weights computes in `dtype`, and so does every op with a `dtype`
      operand: its f32 (and f64) results become `dtype`, its other f32
      operands are cast to `dtype` (constants are converted in place);
    - a weight that only such ops read becomes `dtype`; it keeps its stored
      type in the typed attribute `ditc.stored_type` and the weight writer
      converts its bytes (round to nearest even), so the weight file holds
      half the bytes. A weight that f32 ops read too (a frequency table of a
      timestep sinusoid) stays as stored;
    - values computed from the graph's inputs, constants and such tables
      alone (timestep sinusoids, rotary tables, masks, positions) stay f32 up
      to their first use by a `dtype` op, as PyTorch computes them in f32
      whatever the model's dtype;
    - attention masks stay f32 (the kernels take additive masks in f32);
    - the graph keeps its input and output types: results in `dtype` are cast
      back at the end. With `io-dtype`, f32 inputs and outputs take that type
      instead.

    Accumulation, softmax and norm statistics stay f32 inside the kernels.
    A received value (`collective.recv`) takes the type its `collective.send`
    (same tag) sends. Runs after partitioning, before the weights are written.

    ```mlir
    %w = ditc.weight "w" {file = "m.bin", offset = 0 : i64} : tensor<8x8xf32>
    %y = ditc.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
    // becomes, with dtype=bf16
    %w = ditc.weight "w" {ditc.stored_type = f32, file = "m.bin", offset = 0 : i64} : tensor<8x8xbf16>
    %c = ditc.cast %x : (tensor<2x8xf32>) -> tensor<2x8xbf16>
    %y = ditc.linear %c, %w : (...) -> tensor<2x8xbf16>
    ```
  }];
  let options = [
    Option<"dtype", "dtype", "std::string", /*default=*/"\"bf16\"",
           "The type of activations and weights: bf16, f16 or f32 (f32 changes nothing)">,
    Option<"ioDtype", "io-dtype", "std::string", /*default=*/"\"\"",
           "The type of f32 graph inputs and outputs: f32, bf16 or f16 (empty: keep f32)">,
  ];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

#endif // DITC_PASSES_TRANSFORMS_PASSES_TD
