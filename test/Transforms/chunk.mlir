// RUN: ditc-opt %s -ditc-chunk="activation-limit=36000" -ditc-plan-memory | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory | FileCheck %s --check-prefix=NONE
// RUN: ditc-opt %s -ditc-chunk="activation-limit=81920" | FileCheck %s --check-prefix=FITS
// RUN: not ditc-opt %s -ditc-chunk="activation-limit=10000" 2>&1 | FileCheck %s --check-prefix=FLOOR
// RUN: not ditc-opt %s -ditc-chunk="activation-limit=36000 hw=nosuchmachine" 2>&1 | FileCheck %s --check-prefix=HW

// An MLP whose 4x hidden state holds the arena's peak (80 KiB unchunked).
// The chunk loop cuts the tokens (dimension 1; the batch of 2 in front makes
// each chunk a copy), holds the norm, the modulation, both linears and the
// GELU; the modulation's [2, 1, 32] operand and the weights are read whole;
// the softmax over the tokens stays outside. The body is planned once at
// chunk size. Counts double until one meets the budget (8), then a binary
// search between 4 (36 KiB, missed) and 8 finds 5 meets it too, fewer
// launches: 5 chunks of 13 tokens, the last starting at 51 (an uneven
// loop, one token computed twice), 32.25 KiB.
// NONE: ditc.arena_bytes = 81920
// CHECK: ditc.arena_bytes = 33024
// CHECK: %[[W1:.*]] = ditc.weight "w1"
// CHECK: %[[W2:.*]] = ditc.weight "w2"
// CHECK: %[[L:.*]] = ditc.chunk(%arg0) {count = 5 : i64, ditc.arg_offsets = array<i64: 16384>,
// CHECK-SAME: ditc.offsets = array<i64: 0>, ditc.peak_after = 33024 : i64, ditc.peak_before = 81920 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>} : (tensor<2x64x32xf32>) -> tensor<2x64x32xf32> {
// CHECK-NEXT: ^bb0(%[[C:.*]]: tensor<2x13x32xf32>):
// CHECK-NEXT: %[[N:.*]] = ditc.layer_norm %[[C]] {{.*}} : (tensor<2x13x32xf32>) -> tensor<2x13x32xf32>
// CHECK-NEXT: %[[M:.*]] = ditc.mul %[[N]], %arg1 {{.*}} : (tensor<2x13x32xf32>, tensor<2x1x32xf32>) -> tensor<2x13x32xf32>
// CHECK-NEXT: %[[H:.*]] = ditc.linear %[[M]], %[[W1]] {{.*}} -> tensor<2x13x128xf32>
// CHECK-NEXT: %[[G:.*]] = ditc.gelu %[[H]] {{.*}} : tensor<2x13x128xf32>
// CHECK-NEXT: %[[Y:.*]] = ditc.linear %[[G]], %[[W2]] {{.*}} -> tensor<2x13x32xf32>
// CHECK-NEXT: ditc.yield %[[Y]] : tensor<2x13x32xf32>
// CHECK-NEXT: }
// CHECK-NEXT: ditc.softmax %[[L]] {axis = 1 : i64, ditc.offsets = array<i64: -2>}

// A budget the graph meets already changes nothing.
// FITS-NOT: ditc.chunk

// Below the floor: the loop's whole result and the chunk's buffers.
// FLOOR: error: activation limit 10000 bytes cannot be met: the smallest arena chunking reaches is 17536 bytes, at 'ditc.linear' at "{{.*}}chunk.mlir":[[#@LINE+9]] in a chunk loop of 64
// FLOOR-SAME: whose whole inputs and results in the arena take 16384 bytes; a flow refused there: 'ditc.linear' {{.*}} reduces over its operand 0 dimension 2

// HW: error: -ditc-chunk: {{.*}}nosuchmachine
func.func @main(%x: tensor<2x64x32xf32>, %t: tensor<2x1x32xf32>) -> tensor<2x64x32xf32> {
  %w1 = ditc.weight "w1" {file = "m.bin", offset = 0 : i64} : tensor<32x128xf32>
  %w2 = ditc.weight "w2" {file = "m.bin", offset = 16384 : i64} : tensor<128x32xf32>
  %n = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x64x32xf32>) -> tensor<2x64x32xf32>
  %m = ditc.mul %n, %t : (tensor<2x64x32xf32>, tensor<2x1x32xf32>) -> tensor<2x64x32xf32>
  %h = ditc.linear %m, %w1 : (tensor<2x64x32xf32>, tensor<32x128xf32>) -> tensor<2x64x128xf32>
  %g = ditc.gelu %h : tensor<2x64x128xf32>
  %y = ditc.linear %g, %w2 : (tensor<2x64x128xf32>, tensor<128x32xf32>) -> tensor<2x64x32xf32>
  %s = ditc.softmax %y {axis = 1 : i64} : tensor<2x64x32xf32>
  return %s : tensor<2x64x32xf32>
}
