// RUN: ditc-opt %s -split-input-file -verify-diagnostics

func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{shapes 2x3, 4 do not broadcast}}
  %c = ditc.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %c : tensor<2x3xf32>
}

// -----

func.func @bad_matmul(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+1 {{matmul contraction mismatch: 2x3 x 4x5}}
  %c = ditc.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %c : tensor<2x5xf32>
}

// -----

func.func @bad_heads(%q: tensor<1x3x16x8xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32> {
  // expected-error@+1 {{query heads (3) are not a multiple of key/value heads (2)}}
  %o = ditc.attention %q, %k, %k : (tensor<1x3x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32>
  return %o : tensor<1x3x16x8xf32>
}

// -----

func.func @bad_reshape(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error@+1 {{cannot reshape 2x3 to 7}}
  %c = ditc.reshape %a : (tensor<2x3xf32>) -> tensor<7xf32>
  return %c : tensor<7xf32>
}

// -----

func.func @bad_linear(%x: tensor<2x8xf32>, %w: tensor<4x16xf32>) -> tensor<2x16xf32> {
  // expected-error@+1 {{linear input 2x8 does not match weight 4x16}}
  %c = ditc.linear %x, %w : (tensor<2x8xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
  return %c : tensor<2x16xf32>
}

// -----

func.func @bad_norm(%x: tensor<2x8xf32>, %g: tensor<4xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{parameter shape 4 does not broadcast to the normalised shape 8}}
  %c = ditc.rms_norm %x scale %g {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x8xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return %c : tensor<2x8xf32>
}

// -----

func.func @bad_slice(%x: tensor<8xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{window leaves the input on axis 0}}
  %c = ditc.slice %x {offsets = array<i64: 6>, steps = array<i64: 1>} : (tensor<8xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @bad_rope(%x: tensor<1x4x16x8xf32>, %c: tensor<1x1x16x10xf32>) -> tensor<1x4x16x8xf32> {
  // expected-error@+1 {{cos/sin 1x1x16x10 must broadcast to input 1x4x16x8 with an even last dimension of at most 8}}
  %y = ditc.rope %x, %c, %c : (tensor<1x4x16x8xf32>, tensor<1x1x16x10xf32>, tensor<1x1x16x10xf32>) -> tensor<1x4x16x8xf32>
  return %y : tensor<1x4x16x8xf32>
}
