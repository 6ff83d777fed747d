// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel | FileCheck %s
// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-joined-linears | FileCheck %s --check-prefix=ONLY
// RUN: ditc-opt %s -ditc-split-joined-linears | FileCheck %s --check-prefix=NOTP

// Under tp, a linear layer over features joined along their last dimension
// (Flux's single blocks: attention output and MLP hidden units) becomes one
// linear layer per part on that part's rows of the weight (the second part
// 8 rows x 16 columns x 4 bytes = 512 bytes further into the file), summed,
// with the bias once; the MLP part is then a Megatron pair like any other.
// CHECK-LABEL: func.func @main
// CHECK-NOT: ditc.concat
// CHECK: %[[A:.*]] = ditc.linear %arg0, %{{.*}} {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]} : {{.*}} -> tensor<1x8x8xf32>
// CHECK: %[[H:.*]] = ditc.linear %arg0, %{{.*}} {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]} : {{.*}} -> tensor<1x8x4xf32>
// CHECK: %[[W0:.*]] = ditc.weight "wo@rows0+8" {ditc.source_name = "wo", file = "m.onnx", offset = 4096 : i64} : tensor<8x16xf32>
// CHECK: %[[Y0:.*]] = ditc.linear %[[A]], %[[W0]] bias %{{.*}} : (tensor<1x8x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
// CHECK: %[[W1:.*]] = ditc.weight "wo@rows8+4" {ditc.source_name = "wo", file = "m.onnx", offset = 4608 : i64} : tensor<4x16xf32>
// CHECK: %[[Y1:.*]] = ditc.linear %{{.*}}, %[[W1]] : (tensor<1x8x4xf32>, tensor<4x16xf32>) -> tensor<1x8x16xf32>
// CHECK: %[[Y:.*]] = ditc.add %[[Y0]], %[[Y1]]
// CHECK: return %[[Y]]
// The pass alone: the split, and no seeds (-ditc-seed-tensor-parallel writes them).
// ONLY-NOT: ditc.sharding
// ONLY-NOT: ditc.concat
// ONLY: ditc.weight "wo@rows0+8"
// ONLY: ditc.weight "wo@rows8+4"
// ONLY: ditc.add
// Without a tensor axis nothing changes.
// NOTP: ditc.concat
// NOTP-NOT: @rows

module {
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x4xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 256 : i64} : tensor<16x8xf32>
  %a = ditc.linear %x, %w2 : (tensor<1x8x16xf32>, tensor<16x8xf32>) -> tensor<1x8x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 4096 : i64} : tensor<12x16xf32>
  %bo = ditc.weight "bo" {file = "m.onnx", offset = 8192 : i64} : tensor<16xf32>
  %h = ditc.linear %x, %w1 : (tensor<1x8x16xf32>, tensor<16x4xf32>) -> tensor<1x8x4xf32>
  %g = ditc.gelu %h : tensor<1x8x4xf32>
  %c = ditc.concat %a, %g {axis = 2 : i64} : (tensor<1x8x8xf32>, tensor<1x8x4xf32>) -> tensor<1x8x12xf32>
  %y = ditc.linear %c, %wo bias %bo : (tensor<1x8x12xf32>, tensor<12x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}
}
