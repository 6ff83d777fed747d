// RUN: ditc-opt %s -ditc-plan="plan=ulysses=2,whole_stream=1" -ditc-propagate-sharding -ditc-partition -cse | FileCheck %s

// whole_stream=1 (xDiT's joint layout): the text stream (3 tokens, the
// shortest) stays whole on every rank; the image stream (5 tokens) is split
// into blocks of 3 (one padded). Inside Ulysses the text's heads are cut on
// the rank (no traffic) and the image blocks exchanged by the all_to_all;
// attention runs over [text | image blocks of ranks 0, 1] with the padded
// image key (the last of 9) masked out. Back: the text rows gathered over
// the heads, the image rows returned by the all_to_all, joined again as
// [image block | whole text]; the split hands the whole text stream out
// without traffic, the image stream is gathered for the output.
// CHECK-LABEL: func.func @main
// CHECK: %[[XS:.*]] = ditc.collective.shard {{.*}} {axes = ["ulysses"], axis = 1 : i64} : (tensor<1x6x4xf32>) -> tensor<1x3x4xf32>
// CHECK: %[[X:.*]] = ditc.transpose {{.*}} -> tensor<1x2x3x2xf32>
// CHECK: %[[CR:.*]] = ditc.reshape %arg1 {ditc.replicated = {{.*}}} : (tensor<1x3x4xf32>) -> tensor<1x3x2x2xf32>
// CHECK: %[[C:.*]] = ditc.transpose %[[CR]]
// CHECK-NOT: ditc.concat %[[X]], %[[C]]
// CHECK: %[[CH:.*]] = ditc.collective.shard %[[C]] {axes = ["ulysses"], axis = 1 : i64} : (tensor<1x2x3x2xf32>) -> tensor<1x1x3x2xf32>
// CHECK: %[[XH:.*]] = ditc.collective.all_to_all %[[X]] {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<1x2x3x2xf32>) -> tensor<1x1x6x2xf32>
// CHECK: %[[J:.*]] = ditc.concat %[[CH]], %[[XH]] {axis = 2 : i64} : (tensor<1x1x3x2xf32>, tensor<1x1x6x2xf32>) -> tensor<1x1x9x2xf32>
// CHECK: %[[M:.*]] = ditc.constant dense<{{\[\[\[\[}}true, true, true, true, true, true, true, true, false]]]]> : tensor<1x1x1x9xi1>
// CHECK: %[[O:.*]] = ditc.attention %[[J]], %[[J]], %[[J]] mask %[[M]]
// CHECK: %[[OC:.*]] = ditc.slice %[[O]] {offsets = array<i64: 0, 0, 0, 0>, {{.*}} -> tensor<1x1x3x2xf32>
// CHECK: %[[OX:.*]] = ditc.slice %[[O]] {offsets = array<i64: 0, 0, 3, 0>, {{.*}} -> tensor<1x1x6x2xf32>
// CHECK: %[[GC:.*]] = ditc.collective.all_gather %[[OC]] {axes = ["ulysses"], axis = 1 : i64} : (tensor<1x1x3x2xf32>) -> tensor<1x2x3x2xf32>
// CHECK: %[[GX:.*]] = ditc.collective.all_to_all %[[OX]] {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<1x1x6x2xf32>) -> tensor<1x2x3x2xf32>
// CHECK: ditc.concat %[[GX]], %[[GC]] {axis = 2 : i64} : (tensor<1x2x3x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x6x2xf32>
// CHECK: %[[S:.*]]:2 = ditc.split {{.*}} {axis = 1 : i64, ditc.token_pieces = array<i64: 3, 3>} : (tensor<1x6x4xf32>) -> (tensor<1x3x4xf32>, tensor<1x3x4xf32>)
// CHECK: %[[G:.*]] = ditc.collective.all_gather %[[S]]#0 {axes = ["ulysses"], axis = 1 : i64} : (tensor<1x3x4xf32>) -> tensor<1x6x4xf32>
// CHECK: %[[I:.*]] = ditc.slice %[[G]] {{.*}} -> tensor<1x5x4xf32>
// CHECK: return %[[I]], %[[S]]#1
module {
  func.func @main(%x: tensor<1x5x4xf32>, %c: tensor<1x3x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>) {
    %xr = ditc.reshape %x : (tensor<1x5x4xf32>) -> tensor<1x5x2x2xf32>
    %xt = ditc.transpose %xr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x5x2x2xf32>) -> tensor<1x2x5x2xf32>
    %cr = ditc.reshape %c : (tensor<1x3x4xf32>) -> tensor<1x3x2x2xf32>
    %ct = ditc.transpose %cr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x2xf32>) -> tensor<1x2x3x2xf32>
    %j = ditc.concat %xt, %ct {axis = 2 : i64} : (tensor<1x2x5x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x8x2xf32>
    %a = ditc.attention %j, %j, %j : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %ot = ditc.transpose %a {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x2xf32>) -> tensor<1x8x2x2xf32>
    %or = ditc.reshape %ot : (tensor<1x8x2x2xf32>) -> tensor<1x8x4xf32>
    %s:2 = ditc.split %or {axis = 1 : i64} : (tensor<1x8x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>)
    return %s#0, %s#1 : tensor<1x5x4xf32>, tensor<1x3x4xf32>
  }
}
