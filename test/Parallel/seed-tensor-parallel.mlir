// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel | FileCheck %s

// Cross-attention (different query and key lengths) is left alone; the MLP
// pair is split by tp.
// CHECK-LABEL: func.func @main
// CHECK: ditc.attention %arg1
// CHECK-NOT: ditc.sharding
// CHECK: ditc.linear {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]
// CHECK-NOT: ditc.sharding
// CHECK: return
func.func @main(%x: tensor<2x8x16xf32>, %q: tensor<2x2x8x8xf32>, %kv: tensor<2x2x4x8xf32>) -> (tensor<2x8x16xf32>, tensor<2x2x8x8xf32>) {
  %a = ditc.attention %q, %kv, %kv : (tensor<2x2x8x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x8x8xf32>
  %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 4096 : i64} : tensor<64x16xf32>
  %h = ditc.linear %x, %w1 : (tensor<2x8x16xf32>, tensor<16x64xf32>) -> tensor<2x8x64xf32>
  %g = ditc.gelu %h : tensor<2x8x64xf32>
  %y = ditc.linear %g, %w2 : (tensor<2x8x64xf32>, tensor<64x16xf32>) -> tensor<2x8x16xf32>
  return %y, %a : tensor<2x8x16xf32>, tensor<2x2x8x8xf32>
}
