// RUN: ditc-opt %s -ditc-chunk="activation-limit=40000 hw=%S/../Analysis/Inputs/toy-hw.json" | FileCheck %s
// RUN: ditc-opt %s -ditc-chunk="activation-limit=40000 hw=%S/Inputs/toy-rows-hw.json" | FileCheck %s
// RUN: ditc-opt %s -ditc-chunk="activation-limit=40000 hw=%S/../Analysis/Inputs/toy-hw.json" > %t.flat
// RUN: ditc-opt %s -ditc-chunk="activation-limit=40000 hw=%S/Inputs/toy-rows-hw.json" > %t.rows
// RUN: %python %s.py %t.flat %t.rows | FileCheck %s --check-prefix=DELTA

// A loop's predicted cost charges its smaller matrix products their lower
// rate when the machine says how the rate falls with the rows
// (matrix_half_rows h: M rows run at M / (M + h) of the matrix rate). The
// MLP of chunk.mlir, 8 chunks of its 128 rows: both linears (2 * 128 * 32 *
// 128 FLOPs each) run as 16-row products. On toy-hw.json every op here is
// compute-bound, so the cost with h = 100 exceeds the cost without it by
// exactly F / rate * ((16 + h) / 16 - (128 + h) / 128), which the script
// computes from the shapes.
// CHECK: ditc.chunk(%arg0) {count = 8 : i64
// DELTA: count 8 8
// DELTA: delta matches the formula

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
