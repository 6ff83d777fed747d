//===- DitcParallelOps.td - collectives and parallel ops ---*- tablegen -*-===//
//
// The ops `ditc-partition` writes when it turns a planned graph into the
// program of one rank (SPMD: every rank runs the same program on its own
// block of each tensor). Collectives name the mesh axes they run over (the
// module's `ditc.mesh`); the ranks that share their coordinates on every
// other axis form the group, ranked row-major over the named axes.
//
//===----------------------------------------------------------------------===//

#ifndef DITC_PARALLEL_OPS_TD
#define DITC_PARALLEL_OPS_TD

def Ditc_MeshAxes : TypedArrayAttrBase<StrAttr, "mesh axis names">;

class Ditc_CollectiveOp<string mnemonic, list<Trait> traits = []>
    : Ditc_Op<"collective." # mnemonic, traits> {
  let results = (outs Ditc_Tensor:$result);
  let hasVerifier = 1;
}

def Ditc_AllGatherOp : Ditc_CollectiveOp<"all_gather"> {
  let summary = "concatenate the blocks of a group along one axis";
  let description = [{
    Every rank of the group over `axes` contributes its block; the result is
    the blocks of ranks 0..P-1 concatenated along `axis`.

    ```mlir
    %y = ditc.collective.all_gather %x {axis = 1 : i64, axes = ["ulysses"]}
        : (tensor<2x8x16xf32>) -> tensor<2x16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$axis, Ditc_MeshAxes:$axes);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Ditc_AllReduceOp : Ditc_CollectiveOp<"all_reduce"> {
  let summary = "sum a tensor over a group";
  let description = [{
    Every rank of the group over `axes` gets the elementwise sum of the
    group's inputs (the partial results of a row-parallel linear layer).

    ```mlir
    %y = ditc.collective.all_reduce %x {axes = ["tp"]} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, Ditc_MeshAxes:$axes);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Ditc_ReduceScatterOp : Ditc_CollectiveOp<"reduce_scatter"> {
  let summary = "sum over a group, keep this rank's block along one axis";
  let description = [{
    The group's inputs are summed; the sum is cut into P blocks along `axis`
    and rank r keeps block r.

    ```mlir
    %y = ditc.collective.reduce_scatter %x {axis = 1 : i64, axes = ["tp"]}
        : (tensor<2x16x64xf32>) -> tensor<2x8x64xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$axis, Ditc_MeshAxes:$axes);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Ditc_AllToAllOp : Ditc_CollectiveOp<"all_to_all"> {
  let summary = "move a split from one axis to another";
  let description = [{
    The input is cut into P blocks along `split_axis`; block q goes to rank q
    of the group over `axes`, and the blocks received from ranks 0..P-1 are
    concatenated along `concat_axis`. Ulysses uses it to trade a split of
    the tokens for a split of the heads around attention.

    ```mlir
    %y = ditc.collective.all_to_all %x {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]}
        : (tensor<2x4x8x16xf32>) -> tensor<2x2x16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$split_axis,
                   I64Attr:$concat_axis, Ditc_MeshAxes:$axes);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Ditc_ShardOp : Ditc_CollectiveOp<"shard"> {
  let summary = "keep this rank's block of a replicated tensor";
  let description = [{
    The input is the same on every rank of the group over `axes`; the result
    is block r of P along `axis`. No data moves between ranks.

    ```mlir
    %y = ditc.collective.shard %x {axis = 1 : i64, axes = ["ring"]}
        : (tensor<2x16x16xf32>) -> tensor<2x8x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$axis, Ditc_MeshAxes:$axes);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Ditc_RingAttentionOp : Ditc_Op<"ring_attention"> {
  let summary = "attention over a sequence split across a ring of ranks";
  let description = [{
    `ditc.attention` whose query, key and value hold this rank's block of
    the tokens (rank r of the group over `axes` holds global tokens
    `r * Sq .. (r + 1) * Sq - 1`). K/V blocks circulate around the ring while
    each rank attends to the block it holds; partial results merge with an
    online softmax, so the result equals attention over all tokens. Keys at
    global index `kv_valid` and beyond are padding and masked out.
    `causal` and `mask` use global key indices.

    With `inner` (the trailing axes of `axes`, not all of them) the ring
    runs as a double ring (LoongTrain): the ranks of a group over `inner`
    form an inner ring (neighbours on the fast links), and the groups an
    outer ring over the leading axes. Each outer round passes the block a
    rank started it with to the next group while it circulates the inner
    ring: with O groups of I ranks, O (I - 1) transfers on the inner links
    and O - 1 on the outer ones per rank, instead of O I - 1 that each wait
    for the slowest link. The result is the same.

    `seq_major` is `ditc.attention`'s: four booleans (query, key, value,
    result) saying which tensors are `[B, S, H, D]` instead of
    `[B, H, S, D]`. `-ditc-legalize-runtime` sets it where it folds the
    heads' transposes into the op; the K/V blocks travel in their layout.

    ```mlir
    %o = ditc.ring_attention %q, %k, %v {axes = ["ring"], kv_valid = 30 : i64}
        : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
    %d = ditc.ring_attention %q, %k, %v {axes = ["ring", "ring_inner"], inner = ["ring_inner"], kv_valid = 0 : i64}
        : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
    %s = ditc.ring_attention %q2, %k2, %v2 {axes = ["ring"], kv_valid = 0 : i64,
                                            seq_major = array<i1: true, true, true, true>}
        : (tensor<1x16x4x8xf32>, tensor<1x16x4x8xf32>, tensor<1x16x4x8xf32>) -> tensor<1x16x4x8xf32>
    ```
  }];
  let arguments = (ins Ditc_FloatTensor:$query, Ditc_FloatTensor:$key,
                   Ditc_FloatTensor:$value, Optional<Ditc_Tensor>:$mask,
                   OptionalAttr<F64Attr>:$scale, UnitAttr:$causal,
                   I64Attr:$kv_valid, Ditc_MeshAxes:$axes,
                   OptionalAttr<Ditc_MeshAxes>:$inner,
                   OptionalAttr<DenseBoolArrayAttr>:$seq_major);
  let results = (outs Ditc_FloatTensor:$result);
  let assemblyFormat = [{
    $query `,` $key `,` $value (`mask` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// ditc.attention's names for the four tensors.
    using Tensor = AttentionOp::Tensor;
    /// Whether tensor `t` is [B, S, H, D] rather than [B, H, S, D].
    bool isSeqMajor(Tensor t);
    /// Where tensor `t`'s batch, head, sequence and head-size dims are.
    std::array<unsigned, 4> layoutDims(Tensor t);
    /// Tensor `t`'s sizes in the order batch, heads, sequence, head size.
    std::array<int64_t, 4> headSizes(Tensor t);
    /// The tensor of `t`: an operand, or the result.
    Value tensor(Tensor t);
  }];
}

//===----------------------------------------------------------------------===//
// Pipeline stages (pp): point to point and broadcast
//===----------------------------------------------------------------------===//

def Ditc_SendOp : Ditc_Op<"collective.send"> {
  let summary = "send a tensor to one rank of a group (pipeline stages)";
  let description = [{
    Sends the input to rank `peer` of the group over `axes`; the matching
    `ditc.collective.recv` there names this rank as its peer and the same
    `tag`. Returns once the input may be reused. Under pipeline parallelism
    the op carries `ditc.stage`: only the ranks of that stage run it.

    ```mlir
    ditc.collective.send %x {axes = ["pp"], peer = 1 : i64, tag = 0 : i64, ditc.stage = 0 : i64}
        : tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, Ditc_MeshAxes:$axes, I64Attr:$peer,
                   I64Attr:$tag);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Ditc_RecvOp : Ditc_Op<"collective.recv"> {
  let summary = "receive a tensor from one rank of a group (pipeline stages)";
  let description = [{
    The tensor that rank `peer` of the group over `axes` sends with `tag`.

    ```mlir
    %x = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 0 : i64, ditc.stage = 1 : i64}
        : tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Ditc_MeshAxes:$axes, I64Attr:$peer, I64Attr:$tag);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Ditc_CollectiveBroadcastOp : Ditc_CollectiveOp<"broadcast"> {
  let summary = "every rank of a group gets the input of one rank";
  let description = [{
    The result is rank `root`'s input on every rank of the group over
    `axes`; the other ranks' inputs are not read (they may be undefined:
    under pipeline parallelism the last stage broadcasts the outputs it
    computed to the stages that did not).

    ```mlir
    %y = ditc.collective.broadcast %x {axes = ["pp"], root = 1 : i64}
        : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, Ditc_MeshAxes:$axes, I64Attr:$root);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// PipeFusion: state kept across calls, and the schedule a call runs
//===----------------------------------------------------------------------===//

def Ditc_KvCacheUpdateOp : Ditc_Op<"kv_cache_update"> {
  let summary = "write a patch's K or V into a buffer kept across calls";
  let description = [{
    Copies the input into buffer `cache` of the model instance at `offset`
    along `axis`, and returns the whole buffer (its other entries as the
    last call left them). PipeFusion's stale schedule keeps one buffer for
    the keys and one for the values of each self-attention: a patch attends
    to its fresh K/V and to the other patches' K/V from the previous
    denoising step (earlier patches of this step are fresh already). The
    synchronous schedule writes the whole K/V at offset 0. The buffers live
    in a region of the instance's arena that nothing else uses.

    With `blocks` = G > 1 the input is G equal blocks along `axis`, block g
    going to `offset + g * stride`: after a Ulysses all_to_all a patch's
    tokens are one block from each rank of the group, and the buffer keeps
    the rank-major order of the synchronous schedule.

    ```mlir
    %k = ditc.kv_cache_update %kp {cache = 0 : i64, axis = 2 : i64, offset = 8 : i64}
        : (tensor<2x2x8x8xf32>) -> tensor<2x2x16x8xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$cache, I64Attr:$axis, I64Attr:$offset,
                   DefaultValuedAttr<I64Attr, "1">:$blocks,
                   DefaultValuedAttr<I64Attr, "0">:$stride);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Ditc_ScheduleSelectOp
    : Ditc_Op<"schedule_select", [AllTypesMatch<["synchronous", "stale", "result"]>]> {
  let summary = "the result of the schedule this call runs";
  let description = [{
    A library with two schedules (PipeFusion: synchronous for warm-up
    denoising steps and calls without step information, stale for the
    others) runs the ops of one of them per call (ops carry
    `ditc.schedule`: 0 synchronous, 1 stale; none: both). The result is the
    operand of the schedule that ran.

    ```mlir
    %y = ditc.schedule_select %sync, %stale : tensor<2x8x8x8xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$synchronous, Ditc_Tensor:$stale);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$synchronous `,` $stale attr-dict `:` type($result)";
}

//===----------------------------------------------------------------------===//
// Redundancy probes: how much a tensor changed since the previous call
//===----------------------------------------------------------------------===//

def Ditc_ProbeOp : Ditc_Op<"probe"> {
  let summary = "record the relative L1 change of a tensor since the last call";
  let description = [{
    Records, in slot `index` of the model instance, the relative L1 change
    of the input since the previous call of the library:
    `sum |x - x_prev| / sum |x_prev|`, then keeps the input as the next
    call's `x_prev`. The first call after the instance is created or a
    denoising run begins has no previous value and records none. The
    previous value and the slot live in a region of the instance's arena
    that nothing else uses (after PipeFusion's K/V buffers).

    `layer` names the attention layer or transformer block (as `ditc
    profile` names blocks, "block A.3", and "block A.3.attn0" for its first
    attention) and `quantity` what of it is measured: an attention's K, V
    and output after the output projection, a block's residual (output
    minus input); the `_text` quantities are the text tokens of joint
    attention, kept apart from the image tokens.
    `ditc compile --probes redundancy` adds them (-ditc-insert-probes);
    `ditc redundancy` reads them through the model ABI.

    ```mlir
    ditc.probe %k {index = 0 : i64, layer = "block A.0.attn0",
                   quantity = #ditc.probe_quantity<k>} : tensor<2x2x16x8xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, I64Attr:$index, StrAttr:$layer,
                   Ditc_ProbeQuantityAttr:$quantity);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Step caches: skip the transformer blocks when the step changes little
//===----------------------------------------------------------------------===//

def Ditc_CacheDecideOp : Ditc_Op<"cache_decide"> {
  let summary = "decide whether this denoising step skips the cached blocks";
  let description = [{
    Measures how much `input` changed (`mean |ref - x| / mean |ref|`
    against the reference the rule keeps in the model instance) and decides
    by `kind` whether this denoising step skips the ops marked
    `ditc.cached` (they then do not run, and `ditc.cache_apply` supplies
    their results from the residuals it keeps):

    - `fbcache` (First-Block-Cache; `input` is the first block's residual):
      skip when the change is below `threshold`. The reference is replaced
      by the input whenever the step before was computed (xDiT's rule).
    - `teacache` (`input` is the first block's modulated input): add
      `poly(change)` (coefficients highest power first) to an accumulator;
      skip while it stays below `threshold`, else compute and reset it to
      0. The reference is always the previous step's input. The rule's
      counter (xDiT's) computes the step after the first comparison too.

    The first and the last denoising step of a run, the first
    `ceil(compute_fraction * S)` of its S steps, and every call without a
    denoising step set, compute. The state (reference, accumulator) lives
    in a region of the arena that nothing else uses and is reset when a
    denoising run begins.

    With `stale` (set under pipeline stages, `pp` and `pipefusion`, and by
    `ditc compile --cache-stale`), the decision taken here is the next
    denoising step's, from this step's measure: a later stage cannot wait
    for the first stage's measure, and PipeFusion's patches give the whole
    measure only at the end of the first stage's step. The call then
    starts with the decision kept for it, broadcast from the stage that
    measures over the pipeline axis. All `cache_decide` ops of a module
    (one per schedule, one for every micro-batch's rows) share one state.

    ```mlir
    ditc.cache_decide %r {kind = #ditc.cache_kind<fbcache>, threshold = 0.1 : f64,
                          coefficients = array<f64: 1.0, 0.0>} : tensor<2x16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$input, Ditc_CacheKindAttr:$kind, F64Attr:$threshold,
                   DenseF64ArrayAttr:$coefficients,
                   DefaultValuedAttr<F64Attr, "0.0">:$compute_fraction,
                   UnitAttr:$stale);
  let assemblyFormat = "$input attr-dict `:` type($input)";
  let hasVerifier = 1;
}

def Ditc_CacheApplyOp : Ditc_Op<"cache_apply", [AllTypesMatch<["computed", "base", "result"]>]> {
  let summary = "a value leaving the cached blocks: computed, or base plus the kept residual";
  let description = [{
    When the denoising step computed the blocks (`ditc.cache_decide`
    decided so), the result is `computed` and the residual `computed - base`
    is kept in the model instance; when it skipped them, the result is
    `base` plus the residual kept (and `computed` was not written). `base`
    is the value the residual is taken from: the first block's output
    (fbcache) or the blocks' input (teacache), of the same stream.

    ```mlir
    %y = ditc.cache_apply %out, %first : tensor<2x16x16xf32>
    ```
  }];
  let arguments = (ins Ditc_Tensor:$computed, Ditc_Tensor:$base);
  let results = (outs Ditc_Tensor:$result);
  let assemblyFormat = "$computed `,` $base attr-dict `:` type($result)";
}

#endif // DITC_PARALLEL_OPS_TD
