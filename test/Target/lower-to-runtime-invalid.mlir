// RUN: ditc-opt %s -split-input-file -ditc-lower-to-runtime -verify-diagnostics

// Memory plans edited by hand (or written by a planner bug) are refused at
// compile time, naming the op, instead of addressing memory at run time.

// An arena offset whose buffer ends past the arena.
module attributes {ditc.arena_bytes = 1024 : i64} {
  func.func @main(%x: tensor<4x64xf32> {ditc.name = "x"}) -> (tensor<4x64xf32> {ditc.name = "y"}) {
    // expected-error@+1 {{cannot generate code: its result [512, 1536) lies outside the 1024-byte arena}}
    %a = ditc.neg %x {ditc.offsets = array<i64: 512>} : tensor<4x64xf32>
    %b = ditc.neg %a {ditc.offsets = array<i64: -2>} : tensor<4x64xf32>
    return %b : tensor<4x64xf32>
  }
}

// -----

// An output slot the graph does not have.
module attributes {ditc.arena_bytes = 1024 : i64} {
  func.func @main(%x: tensor<4x64xf32> {ditc.name = "x"}) -> (tensor<4x64xf32> {ditc.name = "y"}) {
    // expected-error@+1 {{cannot generate code: its result is planned into output 1 of a graph with 1 outputs}}
    %a = ditc.neg %x {ditc.offsets = array<i64: -3>} : tensor<4x64xf32>
    return %a : tensor<4x64xf32>
  }
}

// -----

// No mul_add kernel takes f64 (-ditc-legalize-runtime computes f64 in f32).
module attributes {ditc.arena_bytes = 0 : i64} {
  func.func @main(%x: tensor<4xf64> {ditc.name = "x"}) -> (tensor<4xf64> {ditc.name = "y"}) {
    // expected-error@+1 {{cannot generate code: mul_add kernels take f32, f16 or bf16, not f64}}
    %a = ditc.mul_add %x, %x, %x {ditc.offsets = array<i64: -2>} : (tensor<4xf64>, tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
    return %a : tensor<4xf64>
  }
}
