// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime="target=cuda" | FileCheck %s --check-prefix=CUDA

// A modulated layer norm calls layer_norm_mod with the modulation's groups
// (the parameters' rows: 2 for [2, 1, 64] over x [2, 16, 64]), their row
// strides (packed: 64) and mod_scale_offset (0 when absent, 1 here) before
// eps; a missing mod_scale is a null pointer; a plain norm keeps layer_norm.
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: %[[R:.*]] = llvm.mlir.constant(32 : i64) : i64
// CHECK-NEXT: %[[C:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK-NEXT: %[[G:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK-NEXT: %[[SS:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK-NEXT: %[[TS:.*]] = llvm.mlir.constant(64 : i64) : i64
// CHECK-NEXT: %[[ONE:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK: llvm.call @ditc_rt_layer_norm_mod_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[M:.*]], %[[M]], %{{.*}}, %[[R]], %[[C]], %[[G]], %[[SS]], %[[TS]], %[[ONE]], %{{.*}})
// CHECK: llvm.mlir.zero : !llvm.ptr
// CHECK-NEXT: llvm.mlir.zero : !llvm.ptr
// CHECK-NEXT: %[[Z:.*]] = llvm.mlir.zero : !llvm.ptr
// CHECK: %[[NONE:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// CHECK: llvm.call @ditc_rt_layer_norm_mod_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[Z]], %[[M]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[NONE]], %{{.*}})
// CHECK: llvm.call @ditc_rt_layer_norm_f32(
// CHECK: llvm.func @ditc_rt_layer_norm_mod_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, f32, f32)
// CUDA: llvm.call @ditc_cu_layer_norm_mod(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CUDA: llvm.call @ditc_cu_layer_norm_mod(
// CUDA: llvm.call @ditc_cu_layer_norm(
func.func @main(%x: tensor<2x16x64xf32> {ditc.name = "x"}, %s: tensor<2x1x64xf32> {ditc.name = "s"})
    -> (tensor<2x16x64xf32> {ditc.name = "y"}) {
  %g = ditc.weight "g" {file = "m.onnx", offset = 0 : i64} : tensor<64xf32>
  %a = ditc.layer_norm %x scale %g mod_scale %s mod_shift %s {axis = 2 : i64, epsilon = 1.0e-6 : f64, mod_scale_offset = 1.0 : f64} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>) -> tensor<2x16x64xf32>
  %b = ditc.layer_norm %a mod_shift %s {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x64xf32>, tensor<2x1x64xf32>) -> tensor<2x16x64xf32>
  %c = ditc.layer_norm %b {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  return %c : tensor<2x16x64xf32>
}
