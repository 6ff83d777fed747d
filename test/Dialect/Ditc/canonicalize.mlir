// RUN: ditc-opt %s -split-input-file -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @compose_transposes
// CHECK-NEXT: %[[T:.*]] = ditc.transpose %arg0 {permutation = array<i64: 0, 2, 3, 1>}
// CHECK-NEXT: return %[[T]]
func.func @compose_transposes(%x: tensor<2x16x4x8xf32>) -> tensor<2x4x8x16xf32> {
  %a = ditc.transpose %x {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  %b = ditc.transpose %a {permutation = array<i64: 0, 1, 3, 2>} : (tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32>
  return %b : tensor<2x4x8x16xf32>
}

// -----

// A transpose and its inverse cancel; reshapes compose.
// CHECK-LABEL: func.func @cancel
// CHECK-NEXT: %[[R:.*]] = ditc.reshape %arg0 : (tensor<2x16x64xf32>) -> tensor<32x64xf32>
// CHECK-NEXT: return %[[R]]
func.func @cancel(%x: tensor<2x16x64xf32>) -> tensor<32x64xf32> {
  %a = ditc.transpose %x {permutation = array<i64: 0, 2, 1>} : (tensor<2x16x64xf32>) -> tensor<2x64x16xf32>
  %b = ditc.transpose %a {permutation = array<i64: 0, 2, 1>} : (tensor<2x64x16xf32>) -> tensor<2x16x64xf32>
  %c = ditc.reshape %b : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
  %d = ditc.reshape %c : (tensor<2x16x4x16xf32>) -> tensor<32x64xf32>
  return %d : tensor<32x64xf32>
}

// -----

// A last-two-axes transpose sinks below a reshape that only regroups the batch
// axes, and then cancels against the transpose before it.
// CHECK-LABEL: func.func @sink_through_batch_reshape
// CHECK-NEXT: %[[R:.*]] = ditc.reshape %arg0 : (tensor<2x4x16x8xf32>) -> tensor<8x16x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @sink_through_batch_reshape(%x: tensor<2x4x16x8xf32>) -> tensor<8x16x8xf32> {
  %a = ditc.transpose %x {permutation = array<i64: 0, 1, 3, 2>} : (tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32>
  %b = ditc.reshape %a : (tensor<2x4x8x16xf32>) -> tensor<8x8x16xf32>
  %c = ditc.transpose %b {permutation = array<i64: 0, 2, 1>} : (tensor<8x8x16xf32>) -> tensor<8x16x8xf32>
  return %c : tensor<8x16x8xf32>
}

// -----

// A reshape that touches the last two axes blocks the sinking.
// CHECK-LABEL: func.func @no_sink
// CHECK: ditc.reshape
// CHECK: ditc.transpose
func.func @no_sink(%x: tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32> {
  %b = ditc.reshape %x : (tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32>
  %c = ditc.transpose %b {permutation = array<i64: 0, 1, 3, 2>} : (tensor<2x4x8x16xf32>) -> tensor<2x4x16x8xf32>
  %d = ditc.reshape %c : (tensor<2x4x16x8xf32>) -> tensor<2x4x8x16xf32>
  return %d : tensor<2x4x8x16xf32>
}

// -----

// Identities fold: x + 0, x * 1, same-type cast/reshape/broadcast, full slice.
// CHECK-LABEL: func.func @identities
// CHECK-NEXT: return %arg0
func.func @identities(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %z = ditc.constant dense<0.0> : tensor<f32>
  %o = ditc.constant dense<1.0> : tensor<8xf32>
  %a = ditc.add %x, %z : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %b = ditc.mul %o, %a : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %c = ditc.cast %b : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %d = ditc.slice %c {offsets = array<i64: 0, 0>, steps = array<i64: 1, 1>} : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %e = ditc.div %d, %o : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %f = ditc.sub %e, %z : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %f : tensor<4x8xf32>
}

// -----

// Adding a non-zero constant, or a zero that broadcasts the result, stays.
// CHECK-LABEL: func.func @not_identities
// CHECK: ditc.add
// CHECK: ditc.add
// CHECK: ditc.div
// CHECK: ditc.sub
func.func @not_identities(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<4x8xf32>) {
  %c = ditc.constant dense<2.0> : tensor<f32>
  %z = ditc.constant dense<0.0> : tensor<4x8xf32>
  %a = ditc.add %x, %c : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %b = ditc.add %x, %z : (tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %one = ditc.constant dense<1.0> : tensor<f32>
  %c0 = ditc.constant dense<0.0> : tensor<f32>
  %d = ditc.div %one, %x : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %e = ditc.sub %c0, %d : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %f = ditc.add %e, %a : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %f, %b : tensor<8xf32>, tensor<4x8xf32>
}

// -----

// Reshaping and broadcasting constants fold to constants.
// CHECK-LABEL: func.func @fold_constants
// CHECK-NEXT: %[[C:.*]] = ditc.constant dense<{{\[\[}}1, 2], [3, 4]]> : tensor<2x2xi64>
// CHECK-NEXT: %[[S:.*]] = ditc.constant dense<5.000000e-01> : tensor<3x4xf32>
// CHECK-NEXT: return %[[C]], %[[S]]
func.func @fold_constants() -> (tensor<2x2xi64>, tensor<3x4xf32>) {
  %c = ditc.constant dense<[1, 2, 3, 4]> : tensor<4xi64>
  %r = ditc.reshape %c : (tensor<4xi64>) -> tensor<2x2xi64>
  %h = ditc.constant dense<0.5> : tensor<1x4xf32>
  %b = ditc.broadcast %h : (tensor<1x4xf32>) -> tensor<3x4xf32>
  return %r, %b : tensor<2x2xi64>, tensor<3x4xf32>
}
