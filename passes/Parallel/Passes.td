//===- Passes.td - ditc parallel planning and partition ----*- tablegen -*-===//

#ifndef DITC_PASSES_PARALLEL_PASSES_TD
#define DITC_PASSES_PARALLEL_PASSES_TD

include "mlir/Pass/PassBase.td"

def PlanPass : Pass<"ditc-plan", "ModuleOp"> {
  let summary = "Write a user-given parallel plan as a typed mesh and seed shardings";
  let description = [{
    Takes a plan such as `cfg=2,ulysses=2` (keys `cfg`, `dp`, `ulysses`,
    `ring`, `ring_inner` (the inner rings of a double ring: `ring=O` groups
    of `ring_inner=I` ranks; needs `ring`), `tp`, `pp`, `pipefusion`, and
    `patches`, `context_first` and
    `whole_stream`, which are no device degrees; unnamed degrees are 1) and
    checks that it
    applies to the graph:
    the degrees multiply to `devices`, the batch divides by `cfg` and `dp`,
    sequence parallelism has self-attention to split, PipeFusion has as many
    attention layers as stages and no more patches (default: the stages)
    than a self-attention's tokens, and is not combined with `pp`. Illegal
    plans fail with the reason. It writes the module's `ditc.mesh` (a
    `#ditc.mesh`: axes of degree > 1, in the order pp / pipefusion, dp, cfg,
    ring, ring_inner, ulysses, tp, each with its kind: later axes are
    neighbouring ranks; `context_first=1`, with both ring and ulysses, puts
    the ring axes after ulysses),
    `ditc.patches` under PipeFusion, and
    annotates where each strategy starts: the batch of the first output
    (cfg, dp), the query, key and value tokens of every self-attention (ring,
    ring_inner, then ulysses) with the algorithm it runs (`ditc.sequence_parallel`:
    ulysses, ring or usp). Joint attention (MMDiT: streams of tokens
    concatenated along the token axis, attended over all keys, cut back):
    every concat, split and slice along a token dimension of a split
    self-attention (split by sequence parallelism, or cut into PipeFusion's
    patches) that joins or takes whole streams gets
    `ditc.token_pieces` (the streams' lengths), which ties the streams'
    tokens to the joined ones, so the streams stay split through the join
    (not for causal or masked attention, whose keys' order matters). A
    concat that joins the same streams again elsewhere (CogVideoX's
    feed-forward over text and video), and the slices and splits that cut
    it, get them too.
    `whole_stream=1` (Ulysses alone, no Ring or PipeFusion; refused without
    joint attention) keeps the shortest stream of each join whole on every
    rank instead (`ditc.whole_pieces`: its tokens are left out of the
    joined factor; the partition splits its heads inside Ulysses). It
    only annotates: tensor parallelism is planned
    by `-ditc-split-joined-linears`, `-ditc-repeat-kv-heads`,
    `-ditc-pad-tensor-parallel` and `-ditc-seed-tensor-parallel` from the
    mesh's tensor axis, and `-ditc-propagate-sharding` completes the plan.

    ```mlir
    // -ditc-plan="plan=ulysses=2 devices=2"
    module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>, ditc.plan = "ulysses=2"}
    %q = ditc.transpose ... {ditc.sharding = [#ditc.sharding<[{}, {}, {"ulysses"}, {} ]>]}
    %o = ditc.attention %q, %k, %v {ditc.sequence_parallel = #ditc.sequence_parallel<ulysses>}
    ```
  }];
  let options = [
    Option<"plan", "plan", "std::string", "\"\"",
           "Degrees per strategy, e.g. cfg=2,ulysses=2 (keys cfg dp ulysses ring ring_inner tp pp pipefusion; patches context_first whole_stream)">,
    Option<"devices", "devices", "int64_t", "0",
           "Number of ranks the plan must fill (0: the product of the degrees)">
  ];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def SplitJoinedLinearsPass : Pass<"ditc-split-joined-linears", "ModuleOp"> {
  let summary = "Split a linear layer over joined features into one layer per part (tp)";
  let description = [{
    With a mesh axis of kind `tensor` (nothing to do without one): a linear
    layer over joined features becomes one linear layer per part, each on
    its window of the weight (`ditc.weight NAME@rowsR+N` or `NAME@colsC+N`:
    the stored tensor's shape in `ditc.global_shape`, the window's start and
    shape in `ditc.window_offset` and `ditc.window_shape`; the weight writer
    and random weights read the window's elements).

    - Joined inputs: the layer's input is a concatenation along its last
      dimension (Flux's single blocks join the attention's output and the
      MLP's hidden units before one projection). One layer per part on its
      rows, summed; the bias is added once. A split planned for the joined
      result moves to the sum.
    - Joined outputs: the layer's users take its output features apart (a
      `ditc.split` along the last dimension, or slices of it with unit
      steps): GEGLU's value and gate, side by side in one weight, chunked.
      One layer per part on its columns, with its entries of the bias (a
      window of a stored bias, or a constant's).

    Exact. Split whole, such a layer's features would be cut across the
    parts and paired wrongly, so it stayed whole on every rank; each part
    can now be split (and padded) on its own. Only layers with a part that
    tensor parallelism then splits are rewritten (a part that no op needs
    whole, produced by one layer and contracted by another, once every
    candidate is split); the others stay one layer (adaLN's modulation, cut
    into shifts and scales for norms that need their features whole).

    ```mlir
    %c = ditc.concat %a, %h {axis = 2 : i64} : (tensor<1x8x8xf32>, tensor<1x8x4xf32>) -> tensor<1x8x12xf32>
    %y = ditc.linear %c, %w, %bias : (tensor<1x8x12xf32>, tensor<12x8xf32>, ...) -> tensor<1x8x8xf32>
    // after:
    %w0 = ditc.weight "w@rows0+8" {ditc.window_offset = array<i64: 0, 0>, ...} : tensor<8x8xf32>
    %y0 = ditc.linear %a, %w0, %bias
    %w1 = ditc.weight "w@rows8+4" {ditc.window_offset = array<i64: 8, 0>, ...} : tensor<4x8xf32>
    %y1 = ditc.linear %h, %w1
    %y = ditc.add %y0, %y1

    %p = ditc.linear %x, %wp : (tensor<1x8x16xf32>, tensor<16x32xf32>) -> tensor<1x8x32xf32>
    %v, %g = ditc.split %p {axis = 2 : i64} : ... -> (tensor<1x8x16xf32>, tensor<1x8x16xf32>)
    // after:
    %v = ditc.linear %x, %wv   // %wv = ditc.weight "wp@cols0+16" : tensor<16x16xf32>
    %g = ditc.linear %x, %wg   // %wg = ditc.weight "wp@cols16+16"
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def RepeatKvHeadsPass : Pass<"ditc-repeat-kv-heads", "ModuleOp"> {
  let summary = "Repeat grouped K/V heads where the tp degree does not divide the heads";
  let description = [{
    With a mesh axis of kind `tensor` of size P: an attention with H query
    heads that P does not divide and Hkv < H grouped key/value heads gets
    its K and V repeated to one head per query head (reshape [B,Hkv,1,S,D],
    broadcast to [B,Hkv,H/Hkv,S,D], reshape [B,H,S,D]), so that
    `-ditc-pad-tensor-parallel` can pad whole groups (zero K/V heads with
    their zero query heads) and every query head keeps its K/V head.

    ```mlir
    // tp=3, 4 query heads, 2 K/V heads:
    %o = ditc.attention %q, %k, %v : (tensor<1x4x8x4xf32>, tensor<1x2x8x4xf32>, ...)
    // after: K and V broadcast to tensor<1x4x8x4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def PadTensorParallelPass : Pass<"ditc-pad-tensor-parallel", "ModuleOp"> {
  let summary = "Pad attention heads and hidden units with zeros to a multiple of the tp degree";
  let description = [{
    With a mesh axis of kind `tensor` of size P: attention heads and the
    hidden units between a column- and a row-parallel linear layer that P
    does not divide grow, with every dimension tied to them (the
    `[B,S,H*d]` features the heads come from alike), to a multiple of P.
    Weights grow with zeros (a `ditc.weight NAME@pad` whose
    `ditc.global_shape` is the stored tensor's: the weight writer appends
    the zeros), constants too; the padded entries start as zeros and meet the
    rest of the graph only through zero rows of a padded weight, so the
    result is exact. Heads that cannot be padded so (they reach a graph input
    or output, a softmax over them, an op that does not compute each entry on
    its own) are an error with the reason; hidden units that cannot are a
    warning, and the pair stays whole.

    ```mlir
    // tp=2, 3 heads of 4:
    %q = ditc.transpose ... -> tensor<1x3x8x4xf32>
    // after: tensor<1x4x8x4xf32>, from a linear layer on weight "wq@pad" : tensor<16x16xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def SeedTensorParallelPass : Pass<"ditc-seed-tensor-parallel", "ModuleOp"> {
  let summary = "Seed the tensor-parallel splits: heads and Megatron column/row pairs";
  let description = [{
    With a mesh axis of kind `tensor` of size P (after the graph was made
    divisible by the passes above): every attention's query heads (and
    grouped K/V heads that P divides), the output units of a linear layer
    that feed another linear layer's contraction (column then row
    parallel: the partial sums meet in one all-reduce), and the output units
    of a last linear layer that reach a graph output unreduced (an LM head's
    vocabulary: gathered at the end). Dimensions some op needs whole are
    left alone. Heads P does not divide are an error.

    ```mlir
    %h = ditc.linear %x, %w1 {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"} ]>]} ...
    %y = ditc.linear %g, %w2 ...   // its contraction follows %h's split
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def SplitLoneLinearsPass : Pass<"ditc-split-lone-linears", "ModuleOp"> {
  let summary = "Split lone linear layers by output columns under tp where the machine says it pays";
  let description = [{
    Runs after `-ditc-propagate-sharding` on a module whose mesh has a
    `tensor` axis of size P. A lone linear layer is one that tensor
    parallelism left whole: neither its input, its weight nor its result is
    split over the tensor axis (HunyuanDiT's skip linears, adaLN's
    modulation, input projections), so that every rank of the tp group
    computes all of it. Split by its output columns instead, each rank
    computes N / P of them and an all-gather joins them for the ops that
    need them whole. Per layer, the time model prices both on the machine
    (`hw`, at `dtype`): the layer whole, against its column block plus the
    all-gather of its result over the tensor axis's link, at the per-rank
    shapes the plan gives its input (other axes still split the batch or
    the tokens). Where the split is cheaper the pass writes the decision as
    the result's `ditc.sharding` (the output dimension over the tensor axis);
    `-ditc-partition` carries it out (the weight's column block per rank,
    the all-gather where a user needs the result whole). Layers whose
    output units P does not divide stay whole. Without `hw` the pass
    changes nothing. The module gets `ditc.lone_splits`, the count.

    ```mlir
    // tp=8 on a machine whose link outruns the layer (K = 2816):
    %y = ditc.linear %x, %w {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"} ]>]}
        : (tensor<2x4096x2816xf32>, tensor<2816x1408xf32>) -> tensor<2x4096x1408xf32>
    ```
  }];
  let options = [
    Option<"hw", "hw", "std::string", "\"\"",
           "The machine the layers are priced on (a built-in name or a JSON file; empty: no splits)">,
    Option<"dtype", "dtype", "std::string", "\"f32\"",
           "The compute dtype the program will run in (its rates; bf16 and f16 halve an f32 graph's bytes)">
  ];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def PropagateShardingPass : Pass<"ditc-propagate-sharding", "ModuleOp"> {
  let summary = "Complete a partial plan: give every dimension tied to a sharded one the same split";
  let description = [{
    Unifies tensor dimensions through the ops' sharding rules
    (ShardingRuleOpInterface: the tokens of a linear layer's input and
    output are one dimension; a transpose permutes; a reshape that merges
    dimensions ties its outermost ones), then gives every dimension the mesh
    axes of the sharded dimension it is tied to. Two different splits tied
    together are an error naming both values.

    ```mlir
    %y = ditc.linear %x, %w {ditc.sharding = [[[], ["ulysses"], []]]}
    %z = ditc.gelu %y
    // after: %z has ditc.sharding = [[[], ["ulysses"], []]] too
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def PartitionPass : Pass<"ditc-partition", "ModuleOp"> {
  let summary = "Materialise the plan: per-rank shapes, collectives and weight slices";
  let description = [{
    Rewrites `@main` into the program each rank runs (SPMD). Every value
    gets its per-rank shape (a dimension split over axes of total size P
    keeps ceil(n / P) entries; the last blocks are padded with zeros when P
    does not divide n). Where an op needs another split of an operand than
    the one it has, data moves with ordinary ops of the dialect:
    `ditc.collective.shard` (keep this rank's block, no traffic),
    `all_gather`, `all_to_all`, and `all_reduce` after a linear layer whose
    contraction is split (tensor parallelism; the bias is added once, after
    the sum). An RMS norm across heads (every user cuts its one normalised
    axis into heads: Wan's q/k norms) whose features are split becomes each
    rank's sum of squares, an `all_reduce` of the sums, the mean over the
    whole axis and the rank's block of the scale. Attention whose query tokens are split runs as Ulysses (an
    all-to-all trades the token split for a head split around it; heads
    that do not divide are padded and dropped after), as Ring
    (`ditc.ring_attention`: K/V blocks circulate, online-softmax merge;
    padded keys masked; with a `ring_inner` axis a double ring, its
    `inner` attribute naming that axis), or as both (USP). A token dimension joined from
    streams (`ditc.token_pieces`) is laid out blockwise: each rank holds its
    block of every stream, one after the other, so the concat and the
    splits or slices that undo it run on each rank's blocks; attention
    masks the keys that are padding inside the blocks; anything that needs
    the joined tokens whole gathers them and puts them back in order. The
    per-rank concats, splits and slices keep `ditc.token_pieces` with the
    lengths they join on the rank (its blocks), for PipeFusion's patches. Ops
    every rank of a group computes whole although the mesh splits work get
    `ditc.replicated` with the reason (the profile reports them). Sharded
    weights become per-rank
    slices (`ditc.weight` with `ditc.shard`, written per rank by `ditc
    compile`). Graph inputs arrive whole on every rank and outputs are made
    whole again.

    ```mlir
    // ulysses=2, before:
    %o = ditc.attention %q, %k, %v : (tensor<1x4x16x8xf32>, ...) -> tensor<1x4x16x8xf32>
    // after (per rank):
    %q2 = ditc.collective.all_to_all %q {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]}
        : (tensor<1x4x8x8xf32>) -> tensor<1x2x16x8xf32>
    ...
    %o2 = ditc.attention %q2, %k2, %v2 : (tensor<1x2x16x8xf32>, ...) -> tensor<1x2x16x8xf32>
    %o = ditc.collective.all_to_all %o2 {split_axis = 2 : i64, concat_axis = 1 : i64, axes = ["ulysses"]}
        : (tensor<1x2x16x8xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

def PipelineStagesPass : Pass<"ditc-pipeline-stages", "ModuleOp"> {
  let summary = "Cut the per-rank program into pipeline stages (pp) with sends and receives between them";
  let description = [{
    Runs after `-ditc-partition` on a module whose `ditc.mesh` has a stage
    axis of size P, of kind `pipeline` (pp) or `pipefusion` (nothing to do
    without one). The ops of `@main` are cut
    into P stages of consecutive ops: each cut sits within a quarter of a
    stage's work (FLOPs, as `ditc profile` counts them) of an even split,
    where the fewest activation bytes cross it. Given what a message on the
    stage link costs in FLOPs of the machine's matrix rate
    (`flops-per-byte`, `flops-per-message`, which the drivers set from
    `--hw`, its topology and `--dtype`), the cut goes where the work it moves
    off the even split plus its messages' price (its bytes, and one message
    per value crossing per micro-batch or patch) is least, so that a few bytes saved
    (HunyuanDiT's long skips) never cost a stage a tenth of its work. When
    the batch can be cut
    (dimension 0 of the inputs and outputs is one dimension every op
    computes row by row), the program runs as M micro-batches one after
    another (`microbatches`; by default the largest divisor of the batch up
    to 2P): ops are cloned per micro-batch, the inputs sliced and the
    outputs joined, and a stage sends micro-batch m on before it starts
    m + 1, so that the stages work at once. Every op gets `ditc.stage`
    (the ranks whose `pp` coordinate it is run it). A value read in a later
    stage is sent at the end of its (stage, micro-batch) segment
    (`ditc.collective.send`, ordered by destination stage) and received at
    the start of each segment reading it (`ditc.collective.recv`, ordered by
    source stage): every rank sends and receives in increasing (micro-batch,
    source, destination) order, so blocking sends cannot deadlock. Outputs are broadcast from their stage to every stage
    (`ditc.collective.broadcast`, `ditc.stage = -1`: all ranks), so that
    every rank returns them. Weights get `ditc.stages`: the weight file of a
    rank holds the weights of its stage only. The ranks whose stage-axis
    coordinate is s run stage s.

    PipeFusion (`pipefusion`, `ditc.patches` = M): no micro-batches; the
    program gets two schedules, marked `ditc.schedule`. The synchronous one
    (0) is the cut program, each self-attention reading its K/V through
    `ditc.kv_cache_update` buffers. The stale one (1) clones the program
    with the image tokens cut into M patches (each stream of joint
    attention's tokens, `ditc.token_pieces`, cut on its own, so that patch
    m holds chunk m of every stream; tokens that M does not divide are cut
    into chunks one token longer first): per stage, the ops that touch
    no token run once, then the ops that compute token by token once per
    patch (a self-attention writes its patch's K/V into its buffers and
    attends to all of them: the other patches' from the previous call),
    then the ops that join patches; patch m is sent to the next stage before
    patch m + 1 starts. The outputs of both meet in `ditc.schedule_select`;
    the module gets `ditc.kv_caches`. Every message of both schedules
    follows one order that every rank's sends and receives respect. Where
    the stale schedule cannot be built (no self-attention of the image
    tokens, an op needing the whole image between attention layers, causal
    attention or a mask per query row, a stream with fewer tokens than
    patches) a warning says why and the program keeps the synchronous
    schedule only.

    ```mlir
    // pp=2, after:
    %h = ditc.add %x, %a {ditc.stage = 0 : i64} : ...
    ditc.collective.send %h {axes = ["pp"], peer = 1 : i64, tag = 0 : i64, ditc.stage = 0 : i64} : tensor<1x16x64xf32>
    %r = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 0 : i64, ditc.stage = 1 : i64} : tensor<1x16x64xf32>
    %y = ditc.linear %r, %w {ditc.stage = 1 : i64} : ...
    %o = ditc.collective.broadcast %y {axes = ["pp"], root = 1 : i64, ditc.stage = -1 : i64} : ...
    return %o
    ```
  }];
  let options = [
    Option<"microbatches", "microbatches", "int64_t", "0",
           "Micro-batches the batch is cut into (0: the largest divisor of the "
           "batch up to 2 x stages; 1: none)">,
    Option<"flopsPerByte", "flops-per-byte", "double", "0",
           "FLOPs the machine computes while a byte of the program's types crosses "
           "to the next stage (both 0: the fewest bytes near an even split)">,
    Option<"flopsPerMessage", "flops-per-message", "double", "0",
           "FLOPs the machine computes during one message's latency (a value crossing "
           "a cut is a message per micro-batch, or per patch)">
  ];
  let dependentDialects = ["::mlir::ditc::DitcDialect"];
}

#endif // DITC_PASSES_PARALLEL_PASSES_TD
