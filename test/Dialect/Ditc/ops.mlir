// RUN: ditc-opt %s -split-input-file | ditc-opt | FileCheck %s
// Round-trips every op through the printer and parser.

// CHECK-LABEL: func.func @linear_gelu
func.func @linear_gelu(%x: tensor<2x16x64xf32>, %w: tensor<256x64xf32>, %b: tensor<256xf32>) -> tensor<2x16x256xf32> {
  // CHECK: ditc.linear %{{.*}}, %{{.*}} bias %{{.*}} {transpose_weight}
  %y = ditc.linear %x, %w bias %b {transpose_weight} : (tensor<2x16x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
  // CHECK: ditc.gelu %{{.*}} approximate = <tanh>
  %g = ditc.gelu %y approximate = <tanh> : tensor<2x16x256xf32>
  return %g : tensor<2x16x256xf32>
}

// -----

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>, %m: tensor<1x1x16x16xi1>) -> tensor<1x4x16x8xf32> {
  // CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {causal, scale = 1.250000e-01 : f64}
  %o = ditc.attention %q, %k, %v mask %m {causal, scale = 0.125 : f64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x1x16x16xi1>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>) {
  // CHECK: ditc.layer_norm %{{.*}} scale %{{.*}} bias %{{.*}} {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64}
  %l = ditc.layer_norm %x scale %g bias %b {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // CHECK: ditc.rms_norm %{{.*}} {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64}
  %r = ditc.rms_norm %x {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  return %l, %r : tensor<2x16x64xf32>, tensor<2x16x64xf32>
}

// -----

// CHECK-LABEL: func.func @weights_and_movement
func.func @weights_and_movement(%x: tensor<2x16x64xf32>) -> tensor<2x4x16x16xf32> {
  // CHECK: ditc.weight "w" {file = "model.onnx.data", offset = 128 : i64} : tensor<64xf32>
  %w = ditc.weight "w" {file = "model.onnx.data", offset = 128 : i64} : tensor<64xf32>
  %a = ditc.add %x, %w : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // CHECK: ditc.reshape
  %r = ditc.reshape %a : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
  // CHECK: ditc.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>}
  %t = ditc.transpose %r {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x16xf32>) -> tensor<2x4x16x16xf32>
  return %t : tensor<2x4x16x16xf32>
}
