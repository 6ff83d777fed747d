// RUN: ditc-opt %s | ditc-opt | FileCheck %s

// A chunk loop round-trips: inputs cut along their dimensions, a value of
// the enclosing block read whole, the yielded chunk.
// CHECK-LABEL: func.func @mlp
// CHECK: %[[R:.*]] = ditc.chunk(%arg0) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>} : (tensor<2x64x32xf32>) -> tensor<2x64x32xf32> {
// CHECK-NEXT: ^bb0(%[[C:.*]]: tensor<2x16x32xf32>):
// CHECK-NEXT: %[[G:.*]] = ditc.linear %[[C]], %arg1
// CHECK-NEXT: ditc.yield %[[G]] : tensor<2x16x32xf32>
// CHECK-NEXT: }
// CHECK-NEXT: return %[[R]]
func.func @mlp(%x: tensor<2x64x32xf32>, %w: tensor<32x32xf32>) -> tensor<2x64x32xf32> {
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64x32xf32>) -> tensor<2x64x32xf32> {
  ^bb0(%c: tensor<2x16x32xf32>):
    %g = ditc.linear %c, %w : (tensor<2x16x32xf32>, tensor<32x32xf32>) -> tensor<2x16x32xf32>
    ditc.yield %g : tensor<2x16x32xf32>
  }
  return %y : tensor<2x64x32xf32>
}
