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

#endif // DITC_PASSES_TRANSFORMS_PASSES_TD
