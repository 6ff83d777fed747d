// RUN: ditc-opt %s -split-input-file | ditc-opt -split-input-file | FileCheck %s

// The plan attributes print as they parse (a round trip through text).
// CHECK: module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline, "dp" = 1 : data, "cfg" = 2 : cfg, "ring" = 2 : ring, "ulysses" = 2 : ulysses, "tp" = 1 : tensor]>}
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline, "dp" = 1 : data, "cfg" = 2 : cfg, "ring" = 2 : ring, "ulysses" = 2 : ulysses, "tp" = 1 : tensor]>} {
  // CHECK: func.func @f(%{{.*}}: tensor<2x2x8x4xf32> {ditc.sharding = #ditc.sharding<[{"cfg"}, {}, {"ring", "ulysses"}, {}]>})
  func.func @f(%x: tensor<2x2x8x4xf32> {ditc.sharding = #ditc.sharding<[{"cfg"}, {}, {"ring", "ulysses"}, {}]>}) -> tensor<2x2x8x4xf32> {
    // CHECK: ditc.attention {{.*}} {ditc.sequence_parallel = #ditc.sequence_parallel<usp>, ditc.sharding = [#ditc.sharding<[{"cfg"}, {}, {"ring", "ulysses"}, {}]>]}
    %o = ditc.attention %x, %x, %x {ditc.sequence_parallel = #ditc.sequence_parallel<usp>, ditc.sharding = [#ditc.sharding<[{"cfg"}, {}, {"ring", "ulysses"}, {}]>]} : (tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>, tensor<2x2x8x4xf32>) -> tensor<2x2x8x4xf32>
    // CHECK: ditc.weight "w" {ditc.shard = #ditc.sharding<[{}, {}]>
    %w = ditc.weight "w" {ditc.shard = #ditc.sharding<[{}, {}]>, file = "m.onnx", offset = 0 : i64} : tensor<4x4xf32>
    return %o : tensor<2x2x8x4xf32>
  }
}

// -----

// An empty mesh: one rank.
// CHECK: ditc.mesh = #ditc.mesh<[]>
module attributes {ditc.mesh = #ditc.mesh<[]>} {}

// -----

// A joint token axis (ditc.token_pieces) and a replicated op.
// CHECK: ditc.concat %{{.*}}, %{{.*}} {axis = 1 : i64, ditc.token_pieces = array<i64: 5, 3>}
// CHECK: ditc.slice %{{.*}} {ditc.token_pieces = array<i64: 5, 3>, offsets = array<i64: 0, 5>, steps = array<i64: 1, 1>}
// CHECK: ditc.neg %{{.*}} {ditc.replicated = "has no dimension tied to a split one"}
func.func @pieces(%x: tensor<2x5xf32>, %y: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %a = ditc.concat %x, %y {axis = 1 : i64, ditc.token_pieces = array<i64: 5, 3>} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x8xf32>
  %b = ditc.slice %a {ditc.token_pieces = array<i64: 5, 3>, offsets = array<i64: 0, 5>, steps = array<i64: 1, 1>} : (tensor<2x8xf32>) -> tensor<2x3xf32>
  %c = ditc.neg %b {ditc.replicated = "has no dimension tied to a split one"} : tensor<2x3xf32>
  return %c : tensor<2x3xf32>
}
