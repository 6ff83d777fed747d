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
      `broadcast` + `reshape` that `repeat_kv` writes); a scale applied
      after the mask's `add` fuses only with a causal mask, which it leaves
      as it is; a mask that is the causal pattern (a constant, the
      importer's `trilu` of a huge negative splat, or `where` of its
      boolean `trilu` of true, 0 and a huge negative) becomes `causal`, on
      fused and on imported attentions alike;
    - `x - mean(x)`, `pow 2`, `reduce_mean`, `add eps`, `sqrt`, `div` (and the
      `reciprocal`/`mul` forms) becomes `ditc.layer_norm`; the same without
      the centring becomes `ditc.rms_norm`; following `mul` by a weight and
      `add` of a bias fold into the norm;
    - `0.5 * x * (1 + erf(x / sqrt 2))` and the tanh form become `ditc.gelu`;
    - `x * sigmoid(x)` becomes `ditc.silu`;
    - `matmul(x, W) + b` with a 2-D weight becomes `ditc.linear`;
    - `x * cos + rotate(x) * sin` (half or interleaved rotation) becomes
      `ditc.rope`, and so does the rotation written pair by pair (Wan:
      `x1 * c - x2 * s` for the even features, `x1 * s + x2 * c` for the
      odd ones, joined through a `[..., D/2, 2]` view), whose tables are
      `c` and `s` with each entry repeated;
    - a chain of `ditc.scatter_nd` with constant indices (no reduction)
      whose windows tile the data, as exporters write `out =
      empty_like(x); out[..., 0::2] = a; out[..., 1::2] = b`, becomes the
      updates interleaved (or concatenated, for abutting windows) along the
      axis they split: the data (an exported weight) is dropped, and updates
      that are transposes by one permutation are joined before it.

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

def ChunkPass : Pass<"ditc-chunk", "ModuleOp"> {
  let summary = "Cut regions into chunk loops until the arena fits a budget (AutoChunk)";
  let description = [{
    While the arena of @main (the activation memory the memory plan gives a
    rank, K/V buffers kept across calls included) exceeds
    `activation-limit` bytes, chooses a region around the arena's peak, a
    dimension and a chunk count, and rewrites the region into a
    `ditc.chunk` loop whose body the memory plan places once, at chunk
    size.

    Legality comes from the ops' sharding rules: a chunked dimension flows
    through an op along a parallel factor only, so a chunk never cuts a
    contraction, a softmax or norm axis, or attention's key tokens; query
    rows of attention, tokens of an MLP and heads are chunked (a causal
    attention whose query rows are cut reads the chunk's first row from a
    `ditc.chunk_offset` as its `query_offset`). Collectives, K/V buffers
    and blockwise token joins stay outside loops. Ops of the region the
    loop does not chunk move in front of it (or behind it).

    Among the candidates (seeds at each dimension of the peak op's largest
    tensors, regions grown around it while legal, counts that are powers
    of two, then a binary search for fewer chunks below the first that
    meets the budget; a count that does not divide the chunked dimension
    makes an uneven loop, whose last chunk overlaps the one before), each
    is planned on a copy of
    @main and priced by the time model (each body op launches `count`
    times; the loop copies the chunks of inputs that are not contiguous
    blocks, and every result's chunks). The one within the budget with the
    least predicted time wins; when none fits, the one with the least
    excess (the bytes live above the budget, summed over the steps) or,
    in a second search from the start, the smallest live peak: measures of
    the live bytes, which do not depend on where the plan places buffers
    (the placed arena decides only whether the budget is met). A third
    search, when both stop short, counts the excess above half the budget
    less what the placement needs above the live peak (a schedule whose
    live bytes fit while its arena does not leaves the first two nothing to
    lower). The search continues at the new peak. When no candidate makes
    progress in any of the three, the pass fails with the smallest arena
    reached and the op that holds it up. Deterministic. Runs after
    partitioning and
    precision, before the memory plan; the loop records `ditc.peak_before`,
    `ditc.peak_after` and `ditc.cost_s` (predicted seconds added).

    ```mlir
    %h = ditc.linear %x, %w1 : (tensor<1x64x32xf32>, tensor<32x128xf32>) -> tensor<1x64x128xf32>
    %g = ditc.gelu %h : tensor<1x64x128xf32>
    %y = ditc.linear %g, %w2 : (tensor<1x64x128xf32>, tensor<128x32xf32>) -> tensor<1x64x32xf32>
    // becomes, with a budget below the 4x hidden state
    %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
        : (tensor<1x64x32xf32>) -> tensor<1x64x32xf32> {
    ^bb0(%c: tensor<1x16x32xf32>):
      ...
      ditc.yield %yc : tensor<1x16x32xf32>
    }
    ```
  }];
  let options = [
    Option<"activationLimit", "activation-limit", "int64_t", /*default=*/"0",
           "The arena budget in bytes (0: no chunking)">,
    Option<"hwName", "hw", "std::string", /*default=*/"\"cpu\"",
           "The machine the time model prices candidates for (a built-in name or a JSON file)">,
    Option<"showProgress", "progress", "bool", /*default=*/"false",
           "Print a line to stderr when a search stops short and the next one starts">,
    Option<"maxSeedValues", "max-seed-values", "int64_t", /*default=*/"3",
           "How many of the peak op's largest tensors seed flows">,
    Option<"maxRegions", "max-regions", "int64_t", /*default=*/"6",
           "How many regions of each flow are tried">,
    Option<"maxRegionOps", "max-region-ops", "int64_t", /*default=*/"4096",
           "The most ops a region spans">,
    Option<"maxCount", "max-count", "int64_t", /*default=*/"1024",
           "The most chunks a loop has">,
  ];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def ChunkLegalityPass : Pass<"ditc-test-chunk-legality", "ModuleOp"> {
  let summary = "Report whether a chunk flow is legal (tests of -ditc-chunk)";
  let description = [{
    For each op of @main with an integer attribute `test.chunk_dim = d`,
    seeds a chunk flow at dimension `d` of its first result over every op
    of @main and emits a remark: the ops the loop would hold, its inputs and
    the values it reads whole, or why the flow is refused (the legality
    rules of `-ditc-chunk`).
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def InsertProbesPass : Pass<"ditc-insert-probes", "ModuleOp"> {
  let summary = "Measure how much layers change from one call to the next (ditc compile --probes)";
  let description = [{
    Adds `ditc.probe` ops that record, at every call of the library, the
    relative L1 change since the previous call (`ditc redundancy` reads them
    over the denoising steps of a sampler):

    - at every `ditc.attention`: its K and V, and its output after the
      output projection (the `linear` that reads the attention's result,
      through transposes and reshapes; without one, the attention's result).
      Joint attention (MMDiT: K, V joined by a `concat` of two streams, the
      output cut by `slice`s into a projection per stream) is probed per
      stream: the stream with fewer tokens is the text (`k_text`, `v_text`,
      `out_text`; with equal counts the second stream is);
    - at every transformer block (`ditc profile`'s repeated blocks, found
      from the graph's structure): its residual, the block's output minus
      its input, for every stream that leaves the block as a chain of `add`s
      back to a value from before the block of the same type (`residual`,
      and `residual_text` for the shorter stream of a joint block).

    Layers are named as `ditc profile` names blocks: "block A.3", and
    "block A.3.attn0" for its first attention ("graph.attn0" in a graph
    without repeated blocks). Probes are numbered in program order. Runs on
    the unpartitioned graph after the frontend.

    ```mlir
    %o = ditc.linear %a, %w : ...
    // gains
    ditc.probe %o {index = 2 : i64, layer = "block A.0.attn0",
                   quantity = #ditc.probe_quantity<out>} : tensor<2x16x16xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def InsertCachePass : Pass<"ditc-insert-cache", "ModuleOp"> {
  let summary = "Skip the transformer blocks on denoising steps that change little (ditc compile --cache)";
  let description = [{
    Compiles a step cache into the graph. The blocks are `ditc profile`'s
    repeated blocks, from the first block's first op to the last block's
    last op (the stack); the streams are those of the first block (the
    image's and, in a joint block, the text's: each a value leaving the
    block that adds up from one entering it).

    - `fbcache` (First-Block-Cache): the first block always runs;
      `ditc.cache_decide` measures its image residual (output minus input).
      When the step skips, every value leaving the stack is the first
      block's output of its stream plus the residual the stack added after
      the first block at the last computed step.
    - `teacache`: the first block's modulated input (the input of its first
      projection that reads a value of the image stream's type) is
      measured, with the `coefficients` rescaling the change; when the step
      skips, every value leaving the stack is the stack's input of its
      stream plus the residual the whole stack added at the last computed
      step.

    The stack's other ops get `ditc.cached` (they run only when the step
    computes; those that the measure or the bases need stay unmarked and
    are moved before the decision's other ops as needed), and every value
    leaving the stack goes through `ditc.cache_apply` with the base of its
    type; a value leaving it with no stream of its type (Flux's rope
    tables) is computed at every step, with what it needs. A graph without
    repeated blocks fails with the reason. Runs on the unpartitioned graph
    after the frontend.

    ```mlir
    ditc.cache_decide %r0 {coefficients = array<f64: 1.0, 0.0>,
                           kind = #ditc.cache_kind<fbcache>, threshold = 0.1 : f64} : ...
    %b = ditc.linear %x1, %w {ditc.cached} : ...
    ...
    %y = ditc.cache_apply %out, %x1 : tensor<2x16x16xf32>
    ```
  }];
  let options = [
    Option<"kind", "kind", "std::string", /*default=*/"\"fbcache\"",
           "The rule: fbcache or teacache">,
    Option<"threshold", "threshold", "double", /*default=*/"0.1",
           "Skip while the (accumulated, rescaled) relative L1 change is below it">,
    Option<"computeFraction", "compute-fraction", "double", /*default=*/"0.0",
           "The first ceil(f * S) of a run's S denoising steps always compute">,
    ListOption<"coefficients", "coefficients", "double",
               "teacache's rescaling polynomial, highest power first (default: Flux's "
               "published one for Flux-like graphs, whose joined K streams get rope; else the "
               "identity 1, 0)">,
    Option<"stale", "stale", "bool", /*default=*/"false",
           "Decide each denoising step from the previous step's measure (as pipeline stages "
           "do: ditc.cache_decide's `stale`)">,
  ];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

#endif // DITC_PASSES_TRANSFORMS_PASSES_TD
