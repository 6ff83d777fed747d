// RUN: ditc-opt %s -ditc-pipeline-stages="microbatches=1" | FileCheck %s --check-prefix=BYTES
// RUN: ditc-opt %s -ditc-pipeline-stages="microbatches=1 flops-per-byte=1" | FileCheck %s --check-prefix=CHEAP
// RUN: ditc-opt %s -ditc-pipeline-stages="microbatches=1 flops-per-byte=1000" | FileCheck %s --check-prefix=BYTES
// RUN: ditc-opt %s -ditc-pipeline-stages="microbatches=1 flops-per-byte=1 flops-per-message=100000" | FileCheck %s --check-prefix=BYTES

// Where pp=2 cuts sixteen equal blocks whose second half adds skips from the
// first (HunyuanDiT's long skips: block 8 + j reads block 7 - j's output).
// Between blocks 7 and 8 the residual and all eight skips cross; two blocks
// either way only seven values do, within the window of a quarter of a
// stage. Unpriced, the cut goes where the fewest bytes cross, 7 blocks
// against 9. Priced (what the drivers derive from --hw: FLOPs of the
// machine's matrix rate per byte and per message on the stage link), the
// cut costs the work it moves off the even split plus its messages: where a
// byte costs one FLOP (a tensor of 512 bytes against a block's 4,096 FLOPs)
// the balanced cut wins; where it costs 1000, or a message's latency 100,000,
// the fewer values do.
// BYTES-DAG: ditc.weight "w6" {{.*}}ditc.stages = array<i64: 0>
// BYTES-DAG: ditc.weight "w7" {{.*}}ditc.stages = array<i64: 1>
// CHEAP-DAG: ditc.weight "w7" {{.*}}ditc.stages = array<i64: 0>
// CHEAP-DAG: ditc.weight "w8" {{.*}}ditc.stages = array<i64: 1>
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
    %w0 = ditc.weight "w0" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w3 = ditc.weight "w3" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w4 = ditc.weight "w4" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w5 = ditc.weight "w5" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w6 = ditc.weight "w6" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w7 = ditc.weight "w7" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w8 = ditc.weight "w8" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w9 = ditc.weight "w9" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w10 = ditc.weight "w10" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w11 = ditc.weight "w11" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w12 = ditc.weight "w12" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w13 = ditc.weight "w13" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w14 = ditc.weight "w14" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w15 = ditc.weight "w15" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %t0 = ditc.linear %x, %w0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h0 = ditc.add %t0, %x : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t1 = ditc.linear %h0, %w1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h1 = ditc.add %t1, %h0 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t2 = ditc.linear %h1, %w2 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h2 = ditc.add %t2, %h1 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t3 = ditc.linear %h2, %w3 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h3 = ditc.add %t3, %h2 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t4 = ditc.linear %h3, %w4 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h4 = ditc.add %t4, %h3 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t5 = ditc.linear %h4, %w5 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h5 = ditc.add %t5, %h4 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t6 = ditc.linear %h5, %w6 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h6 = ditc.add %t6, %h5 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t7 = ditc.linear %h6, %w7 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h7 = ditc.add %t7, %h6 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t8 = ditc.linear %h7, %w8 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h8 = ditc.add %t8, %h7 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s8 = ditc.add %h8, %h7 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t9 = ditc.linear %s8, %w9 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h9 = ditc.add %t9, %s8 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s9 = ditc.add %h9, %h6 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t10 = ditc.linear %s9, %w10 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h10 = ditc.add %t10, %s9 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s10 = ditc.add %h10, %h5 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t11 = ditc.linear %s10, %w11 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h11 = ditc.add %t11, %s10 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s11 = ditc.add %h11, %h4 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t12 = ditc.linear %s11, %w12 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h12 = ditc.add %t12, %s11 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s12 = ditc.add %h12, %h3 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t13 = ditc.linear %s12, %w13 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h13 = ditc.add %t13, %s12 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s13 = ditc.add %h13, %h2 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t14 = ditc.linear %s13, %w14 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h14 = ditc.add %t14, %s13 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s14 = ditc.add %h14, %h1 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %t15 = ditc.linear %s14, %w15 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
    %h15 = ditc.add %t15, %s14 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %s15 = ditc.add %h15, %h0 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    return %s15 : tensor<1x8x16xf32>
  }
}
