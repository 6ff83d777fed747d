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

// A causal attention whose query rows two nested loops cut reads where its
// chunk starts: the outer loop's 32 rows per chunk, plus the inner loop's 8
// (ditc.chunk_offset with a base), as its query_offset.
// CHECK-LABEL: func.func @causal_rows
// CHECK: ditc.chunk(%arg0)
// CHECK: %[[O:.*]] = ditc.chunk_offset {stride = 32 : i64} : tensor<i64>
// CHECK: ditc.chunk(%{{.*}})
// CHECK: %[[I:.*]] = ditc.chunk_offset base %[[O]] {stride = 8 : i64} : tensor<i64>
// CHECK: ditc.attention %{{.*}}, %arg1, %arg2 query_offset %[[I]] {causal} : (tensor<1x2x8x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<i64>) -> tensor<1x2x8x8xf32>
func.func @causal_rows(%q: tensor<1x2x64x8xf32>, %k: tensor<1x2x64x8xf32>, %v: tensor<1x2x64x8xf32>) -> tensor<1x2x64x8xf32> {
  %y = ditc.chunk (%q) {count = 2 : i64, input_dims = array<i64: 2>, result_dims = array<i64: 2>}
      : (tensor<1x2x64x8xf32>) -> tensor<1x2x64x8xf32> {
  ^bb0(%c: tensor<1x2x32x8xf32>):
    %o = ditc.chunk_offset {stride = 32 : i64} : tensor<i64>
    %z = ditc.chunk (%c) {count = 4 : i64, input_dims = array<i64: 2>, result_dims = array<i64: 2>}
        : (tensor<1x2x32x8xf32>) -> tensor<1x2x32x8xf32> {
    ^bb0(%d: tensor<1x2x8x8xf32>):
      %i = ditc.chunk_offset base %o {stride = 8 : i64} : tensor<i64>
      %a = ditc.attention %d, %k, %v query_offset %i {causal}
          : (tensor<1x2x8x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<i64>) -> tensor<1x2x8x8xf32>
      ditc.yield %a : tensor<1x2x8x8xf32>
    }
    ditc.yield %z : tensor<1x2x32x8xf32>
  }
  return %y : tensor<1x2x64x8xf32>
}
