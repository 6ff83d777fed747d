// RUN: ditc-opt %s -ditc-propagate-sharding -ditc-partition | FileCheck %s

// Joint attention over a ring of 3: the image stream's 5 tokens are blocks
// of 2 (one padded), the text stream's 3 blocks of 1. Each rank joins its
// own blocks (2 + 1), attends with the padded key of rank 2's image block
// masked out (key 7 of the ring's 9), and cuts the streams back locally:
// the slice of the text stream starts at the rank's offset 2, the split
// takes blocks of 2 and 1 (the per-rank ops keep ditc.token_pieces with the
// blocks' lengths, for PipeFusion's patches). A reduction over the joined tokens needs them
// whole: they are gathered and put back in stream order (image blocks of
// ranks 0, 1, 2, then text).
// CHECK-LABEL: func.func @main
// CHECK-DAG: %[[XS:.*]] = ditc.collective.shard {{.*}} {axes = ["ring"], axis = 2 : i64} : (tensor<1x2x6x2xf32>) -> tensor<1x2x2x2xf32>
// CHECK-DAG: %[[CS:.*]] = ditc.collective.shard %arg1 {axes = ["ring"], axis = 2 : i64} : (tensor<1x2x3x2xf32>) -> tensor<1x2x1x2xf32>
// CHECK: %[[J:.*]] = ditc.concat %[[XS]], %[[CS]] {axis = 2 : i64, ditc.token_pieces = array<i64: 2, 1>} : (tensor<1x2x2x2xf32>, tensor<1x2x1x2xf32>) -> tensor<1x2x3x2xf32>
// CHECK: %[[M:.*]] = ditc.constant dense<{{\[\[\[\[}}true, true, true, true, true, true, true, false, true]]]]> : tensor<1x1x1x9xi1>
// CHECK: %[[O:.*]] = ditc.ring_attention %[[J]], %[[J]], %[[J]] mask %[[M]] {axes = ["ring"], kv_valid = 0 : i64}
// CHECK: %[[R:.*]] = ditc.reshape {{.*}} -> tensor<1x3x4xf32>
// CHECK: %[[G:.*]] = ditc.collective.all_gather %[[R]] {axes = ["ring"], axis = 1 : i64} : (tensor<1x3x4xf32>) -> tensor<1x9x4xf32>
// CHECK: %[[I0:.*]] = ditc.slice %[[G]] {offsets = array<i64: 0, 0, 0>, {{.*}} -> tensor<1x2x4xf32>
// CHECK: %[[I1:.*]] = ditc.slice %[[G]] {offsets = array<i64: 0, 3, 0>, {{.*}} -> tensor<1x2x4xf32>
// CHECK: %[[I2:.*]] = ditc.slice %[[G]] {offsets = array<i64: 0, 6, 0>, {{.*}} -> tensor<1x1x4xf32>
// CHECK: %[[T0:.*]] = ditc.slice %[[G]] {offsets = array<i64: 0, 2, 0>, {{.*}} -> tensor<1x1x4xf32>
// CHECK: %[[T1:.*]] = ditc.slice %[[G]] {offsets = array<i64: 0, 5, 0>, {{.*}} -> tensor<1x1x4xf32>
// CHECK: %[[T2:.*]] = ditc.slice %[[G]] {offsets = array<i64: 0, 8, 0>, {{.*}} -> tensor<1x1x4xf32>
// CHECK: %[[W:.*]] = ditc.concat %[[I0]], %[[I1]], %[[I2]], %[[T0]], %[[T1]], %[[T2]] {axis = 1 : i64} {{.*}} -> tensor<1x8x4xf32>
// CHECK: ditc.reduce_sum %[[W]] {axes = array<i64: 1>, ditc.replicated = "needs dimension 1 of operand 0 whole, which arrives split over [ring] (the partition inserts an all_gather)"
// CHECK: ditc.slice %[[R]] {ditc.token_pieces = array<i64: 2, 1>, offsets = array<i64: 0, 2, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x3x4xf32>) -> tensor<1x1x4xf32>
// CHECK: ditc.split %[[R]] {axis = 1 : i64, ditc.token_pieces = array<i64: 2, 1>} : (tensor<1x3x4xf32>) -> (tensor<1x2x4xf32>, tensor<1x1x4xf32>)
module attributes {ditc.mesh = #ditc.mesh<["ring" = 3 : ring]>} {
  func.func @main(%x: tensor<1x2x5x2xf32>, %c: tensor<1x2x3x2xf32>) -> (tensor<1x3x4xf32>, tensor<1x5x4xf32>, tensor<1x1x4xf32>) {
    %j = ditc.concat %x, %c {axis = 2 : i64, ditc.token_pieces = array<i64: 5, 3>} : (tensor<1x2x5x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x8x2xf32>
    %o = ditc.attention %j, %j, %j {ditc.sequence_parallel = #ditc.sequence_parallel<ring>, ditc.sharding = [#ditc.sharding<[{}, {}, {"ring"}, {}]>]} : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x2xf32>) -> tensor<1x8x2x2xf32>
    %or = ditc.reshape %ot : (tensor<1x8x2x2xf32>) -> tensor<1x8x4xf32>
    %sum = ditc.reduce_sum %or {axes = array<i64: 1>, keep_dims = true} : (tensor<1x8x4xf32>) -> tensor<1x1x4xf32>
    %oc = ditc.slice %or {ditc.token_pieces = array<i64: 5, 3>, offsets = array<i64: 0, 5, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x3x4xf32>
    %s:2 = ditc.split %or {axis = 1 : i64, ditc.token_pieces = array<i64: 5, 3>} : (tensor<1x8x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>)
    return %oc, %s#0, %sum : tensor<1x3x4xf32>, tensor<1x5x4xf32>, tensor<1x1x4xf32>
  }
}
