// RUN: ditc-opt %s -split-input-file -verify-diagnostics -ditc-seed-tensor-parallel

// Run alone on heads the degree does not divide (the padding passes were
// skipped): an error naming the attention, no seeds.
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @main(%q: tensor<1x3x8x4xf32>) -> tensor<1x3x8x4xf32> {
    // expected-error@+1 {{tp=2 does not divide the 3 heads of this attention (-ditc-repeat-kv-heads and -ditc-pad-tensor-parallel pad them)}}
    %o = ditc.attention %q, %q, %q : (tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>, tensor<1x3x8x4xf32>) -> tensor<1x3x8x4xf32>
    return %o : tensor<1x3x8x4xf32>
  }
}

// -----

// A malformed mesh is reported, not ignored.
// expected-error@+1 {{malformed ditc.mesh}}
module attributes {ditc.mesh = {axes = ["tp"], shape = array<i64: 2>}} {
  func.func @main(%q: tensor<1x4x8x4xf32>) -> tensor<1x4x8x4xf32> {
    return %q : tensor<1x4x8x4xf32>
  }
}
