// RUN: ditc-opt %s -ditc-chunk="activation-limit=36000 hw=%S/../Analysis/Inputs/toy-hw.json" | FileCheck %s --check-prefix=FLAT
// RUN: ditc-opt %s -ditc-chunk="activation-limit=36000 hw=%S/Inputs/toy-rows-hw.json" | FileCheck %s --check-prefix=ROWS
// RUN: ditc-opt %s -ditc-chunk="activation-limit=45000 hw=%S/../Analysis/Inputs/toy-hw.json" > %t.flat
// RUN: ditc-opt %s -ditc-chunk="activation-limit=45000 hw=%S/Inputs/toy-rows-hw.json" > %t.rows
// RUN: %python %s.py %t.flat %t.rows | FileCheck %s --check-prefix=DELTA

// A loop's predicted cost charges its smaller matrix products their lower
// rate when the machine says how the rate falls with the rows
// (matrix_half_rows h: M rows run at M / (M + h) of the matrix rate).
//
// The MLP of chunk.mlir under 36000 bytes: 8 chunks of its 64 tokens meet
// the budget, and so do 5 (13 tokens each, the last overlapping the one
// before by one: 65 tokens computed). Without h (toy-hw.json) the 1.6% more
// FLOPs of 5 chunks cost more than the launches they save, and 8 win; with
// h = 100 the 16-row products of 8 chunks run so much slower than 26-row
// ones that 5 win.
// FLAT: ditc.chunk(%arg0) {count = 8 : i64
// ROWS: ditc.chunk(%arg0) {count = 5 : i64
//
// Under 45000 bytes both cut the batch in 2 chunks: both linears (2 * 128 * 32 * 128
// FLOPs each over the 128 rows) run as 64-row products. On toy-hw.json
// every op here is compute-bound, so the cost with h exceeds the cost
// without it by exactly F' / rate * (M + h) / M - F / rate * (128 + h) / 128
// - (F' - F) / rate, M the rows of one product and F' = F * count * M / 128
// the loop's FLOPs, which the script computes from the shapes.
// DELTA: count 2 2
// DELTA: rows 64
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
