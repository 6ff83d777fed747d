// RUN: ditc-opt %s -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-partition | FileCheck %s

// A last linear layer whose units reach the output (an LM head's
// vocabulary) is split by columns and its result gathered at the end; the
// layer before it (its input is not another layer's split units) is not
// a row-parallel partner.
// CHECK-LABEL: func.func @main
// CHECK: %[[W:.*]] = ditc.weight "head@{{\[\[\], \[tp\]\]}}" {{.*}} : tensor<16x64xf32>
// CHECK: %[[L:.*]] = ditc.linear %{{.*}}, %[[W]] : (tensor<1x8x16xf32>, tensor<16x64xf32>) -> tensor<1x8x64xf32>
// CHECK: %[[G:.*]] = ditc.collective.all_gather %[[L]] {axes = ["tp"], axis = 2 : i64} : (tensor<1x8x64xf32>) -> tensor<1x8x128xf32>
// CHECK: return %[[G]]
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x128xf32> {
  %g = ditc.weight "norm" {file = "m.onnx", offset = 0 : i64} : tensor<16xf32>
  %n = ditc.rms_norm %x scale %g {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %w = ditc.weight "head" {file = "m.onnx", offset = 64 : i64} : tensor<16x128xf32>
  %y = ditc.linear %n, %w : (tensor<1x8x16xf32>, tensor<16x128xf32>) -> tensor<1x8x128xf32>
  return %y : tensor<1x8x128xf32>
}
