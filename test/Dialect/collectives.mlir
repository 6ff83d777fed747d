// RUN: ditc-opt %s | ditc-opt | FileCheck %s

// CHECK-LABEL: func.func @roundtrip
// CHECK: ditc.collective.all_gather %{{.*}} {axes = ["ulysses"], axis = 1 : i64} : (tensor<2x4x16xf32>) -> tensor<2x8x16xf32>
// CHECK: ditc.collective.all_reduce %{{.*}} {axes = ["tp"]} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
// CHECK: ditc.collective.reduce_scatter %{{.*}} {axes = ["tp"], axis = 1 : i64} : (tensor<2x8x16xf32>) -> tensor<2x4x16xf32>
// CHECK: ditc.collective.all_to_all %{{.*}} {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<2x4x4x8xf32>) -> tensor<2x2x8x8xf32>
// CHECK: ditc.collective.shard %{{.*}} {axes = ["ring", "ulysses"], axis = 1 : i64} : (tensor<2x8x16xf32>) -> tensor<2x2x16xf32>
// CHECK: ditc.ring_attention %{{.*}}, %{{.*}}, %{{.*}} {axes = ["ring"], causal, kv_valid = 7 : i64} : (tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32>
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ulysses" = 2 : ulysses, "tp" = 2 : tensor]>} {
  func.func @roundtrip(%a: tensor<2x4x16xf32>, %b: tensor<2x8x16xf32>, %c: tensor<2x4x4x8xf32>,
                       %q: tensor<1x4x4x8xf32>, %kv: tensor<1x2x4x8xf32>) {
    %0 = ditc.collective.all_gather %a {axis = 1 : i64, axes = ["ulysses"]} : (tensor<2x4x16xf32>) -> tensor<2x8x16xf32>
    %1 = ditc.collective.all_reduce %b {axes = ["tp"]} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %2 = ditc.collective.reduce_scatter %b {axis = 1 : i64, axes = ["tp"]} : (tensor<2x8x16xf32>) -> tensor<2x4x16xf32>
    %3 = ditc.collective.all_to_all %c {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]} : (tensor<2x4x4x8xf32>) -> tensor<2x2x8x8xf32>
    %4 = ditc.collective.shard %b {axis = 1 : i64, axes = ["ring", "ulysses"]} : (tensor<2x8x16xf32>) -> tensor<2x2x16xf32>
    %5 = ditc.ring_attention %q, %kv, %kv {axes = ["ring"], causal, kv_valid = 7 : i64} : (tensor<1x4x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// Seq-major query, key and result ([B, S, H, D]); the value stays
// [B, H, S, D].
// CHECK-LABEL: func.func @seq_major_ring
// CHECK: ditc.ring_attention %{{.*}}, %{{.*}}, %{{.*}} {axes = ["ring"], kv_valid = 0 : i64, seq_major = array<i1: true, true, false, true>} : (tensor<1x6x4x8xf32>, tensor<1x5x2x8xf32>, tensor<1x2x5x16xf32>) -> tensor<1x6x4x16xf32>
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @seq_major_ring(%q: tensor<1x6x4x8xf32>, %k: tensor<1x5x2x8xf32>, %v: tensor<1x2x5x16xf32>) {
    %0 = ditc.ring_attention %q, %k, %v {axes = ["ring"], kv_valid = 0 : i64, seq_major = array<i1: true, true, false, true>} : (tensor<1x6x4x8xf32>, tensor<1x5x2x8xf32>, tensor<1x2x5x16xf32>) -> tensor<1x6x4x16xf32>
    return
  }
}

// A double ring: inner rings over the trailing ring axis.
// CHECK-LABEL: func.func @double_ring
// CHECK: ditc.ring_attention %{{.*}}, %{{.*}}, %{{.*}} {axes = ["ring", "ring_inner"], inner = ["ring_inner"], kv_valid = 0 : i64}
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 3 : ring_inner]>} {
  func.func @double_ring(%q: tensor<1x4x4x8xf32>) {
    %0 = ditc.ring_attention %q, %q, %q {axes = ["ring", "ring_inner"], inner = ["ring_inner"], kv_valid = 0 : i64} : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// Pipeline stages: point to point and the outputs' broadcast.
// CHECK-LABEL: func.func @stages
// CHECK: ditc.collective.send %{{.*}} {axes = ["pp"], peer = 1 : i64, tag = 3 : i64} : tensor<2x4xf32>
// CHECK: %{{.*}} = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 3 : i64} : tensor<2x4xf32>
// CHECK: ditc.collective.broadcast %{{.*}} {axes = ["pp"], root = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @stages(%a: tensor<2x4xf32>) -> tensor<2x4xf32> {
    ditc.collective.send %a {axes = ["pp"], peer = 1 : i64, tag = 3 : i64} : tensor<2x4xf32>
    %0 = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 3 : i64} : tensor<2x4xf32>
    %1 = ditc.collective.broadcast %0 {axes = ["pp"], root = 1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return %1 : tensor<2x4xf32>
  }
}

// PipeFusion: a K/V buffer update (two rank blocks of 2 tokens at 0 and 8)
// and the select of the schedule that ran.
// CHECK-LABEL: func.func @stale
// CHECK: %[[K:.*]] = ditc.kv_cache_update %{{.*}} {axis = 2 : i64, blocks = 2 : i64, cache = 1 : i64, offset = 2 : i64, stride = 8 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x16x8xf32>
// CHECK: ditc.schedule_select %{{.*}}, %[[K]] : tensor<1x2x16x8xf32>
func.func @stale(%a: tensor<1x2x4x8xf32>, %s: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %0 = ditc.kv_cache_update %a {cache = 1 : i64, axis = 2 : i64, offset = 2 : i64, blocks = 2 : i64, stride = 8 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x16x8xf32>
  %1 = ditc.schedule_select %s, %0 : tensor<1x2x16x8xf32>
  return %1 : tensor<1x2x16x8xf32>
}
