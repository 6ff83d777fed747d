// RUN: ditc-opt %s -split-input-file -verify-diagnostics -ditc-plan="plan=tp=3" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel

// The heads reach a graph output: padding would change it.
func.func @main(%x: tensor<1x8x8xf32>) -> tensor<1x2x8x4xf32> {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<8x8xf32>
  %q = ditc.linear %x, %wq : (tensor<1x8x8xf32>, tensor<8x8xf32>) -> tensor<1x8x8xf32>
  %q4 = ditc.reshape %q : (tensor<1x8x8xf32>) -> tensor<1x8x2x4xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  // expected-error@+1 {{tp=3 does not divide the 2 heads of this attention, and they cannot be padded: they reach a graph output}}
  %o = ditc.attention %qt, %qt, %qt : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// A softmax over the heads needs them all.
func.func @main(%x: tensor<1x8x8xf32>) -> tensor<1x8x8xf32> {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<8x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 0 : i64} : tensor<8x8xf32>
  %q = ditc.linear %x, %wq : (tensor<1x8x8xf32>, tensor<8x8xf32>) -> tensor<1x8x8xf32>
  %q4 = ditc.reshape %q : (tensor<1x8x8xf32>) -> tensor<1x8x2x4xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  // expected-error@+1 {{tp=3 does not divide the 2 heads of this attention, and they cannot be padded: an op needs all 2 of them on one rank}}
  %o = ditc.attention %qt, %qt, %qt : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  %s = ditc.softmax %o {axis = 1 : i64} : tensor<1x2x8x4xf32>
  %ot = ditc.transpose %s {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x4xf32>) -> tensor<1x8x2x4xf32>
  %o3 = ditc.reshape %ot : (tensor<1x8x2x4xf32>) -> tensor<1x8x8xf32>
  %y = ditc.linear %o3, %wo : (tensor<1x8x8xf32>, tensor<8x8xf32>) -> tensor<1x8x8xf32>
  return %y : tensor<1x8x8xf32>
}


// -----

// An RMS norm over the heads' features (Wan's q/k norm): padded heads
// would enter its mean.
func.func @main(%x: tensor<1x8x8xf32>) -> tensor<1x8x8xf32> {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<8x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 0 : i64} : tensor<8x8xf32>
  %q = ditc.linear %x, %wq : (tensor<1x8x8xf32>, tensor<8x8xf32>) -> tensor<1x8x8xf32>
  %n = ditc.rms_norm %q {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %q4 = ditc.reshape %n : (tensor<1x8x8xf32>) -> tensor<1x8x2x4xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  // expected-error@+1 {{tp=3 does not divide the 2 heads of this attention, and they cannot be padded: they are normalised together by ditc.rms_norm}}
  %o = ditc.attention %qt, %qt, %qt : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x4xf32>) -> tensor<1x8x2x4xf32>
  %o3 = ditc.reshape %ot : (tensor<1x8x2x4xf32>) -> tensor<1x8x8xf32>
  %y = ditc.linear %o3, %wo : (tensor<1x8x8xf32>, tensor<8x8xf32>) -> tensor<1x8x8xf32>
  return %y : tensor<1x8x8xf32>
}
