// RUN: ditc-opt %s -split-input-file -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s

// Pieces of a split and slices that every user reads through strides are
// views: their pointer is the input's plus their start, their strides the
// input's rows. Of the split only the piece the layer norm reads is copied
// (one strided_copy); the gate (piece 1, reshaped to [2, 1, 4]) is read by
// mul_add at byte 16 of the split's input with strides [12, 0, 1]; the
// slice and piece 0 are read by the adds at byte 0 with strides [12, 1].
// CHECK-DAG: llvm.mlir.global private constant @[[GATE:ditc_i64_[0-9]+]]("\0C\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00")
// CHECK-DAG: llvm.mlir.global private constant @[[ROWS:ditc_i64_[0-9]+]]("\0C\00\00\00\00\00\00\00\01\00\00\00\00\00\00\00")
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: %[[P1:.*]] = llvm.getelementptr %arg0[16] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: llvm.call @ditc_rt_unary_f32(
// CHECK: llvm.call @ditc_rt_strided_copy(
// CHECK-NOT: llvm.call @ditc_rt_strided_copy
// CHECK: %[[G:.*]] = llvm.mlir.addressof @[[GATE]]
// CHECK: llvm.call @ditc_rt_mul_add(%{{.*}}, %[[P1]], %[[G]],
// CHECK: llvm.call @ditc_rt_layer_norm_f32(
// CHECK: %[[R1:.*]] = llvm.mlir.addressof @[[ROWS]]
// CHECK-NEXT: llvm.mlir.addressof
// CHECK-NEXT: llvm.mlir.constant
// CHECK-NEXT: llvm.call @ditc_rt_binary(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %arg0, %[[R1]],
// CHECK: %[[R2:.*]] = llvm.mlir.addressof @[[ROWS]]
// CHECK-NEXT: llvm.mlir.addressof
// CHECK-NEXT: llvm.mlir.constant
// CHECK-NEXT: llvm.call @ditc_rt_binary(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %arg0, %[[R2]],
// CHECK-NOT: llvm.call @ditc_rt_strided_copy
func.func @main(%x: tensor<2x12xf32> {ditc.name = "x"}, %y: tensor<2x5x4xf32> {ditc.name = "y"})
    -> (tensor<2x5x4xf32> {ditc.name = "r"}, tensor<2x4xf32> {ditc.name = "n"}) {
  %p = ditc.exp %x : tensor<2x12xf32>
  %s:3 = ditc.split %p {axis = 1 : i64} : (tensor<2x12xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
  %g = ditc.reshape %s#1 : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
  %r = ditc.mul_add %g, %y, %y : (tensor<2x1x4xf32>, tensor<2x5x4xf32>, tensor<2x5x4xf32>) -> tensor<2x5x4xf32>
  %n = ditc.layer_norm %s#2 {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %t = ditc.slice %p {offsets = array<i64: 0, 0>, steps = array<i64: 1, 1>} : (tensor<2x12xf32>) -> tensor<2x4xf32>
  %a = ditc.add %n, %t : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %a2 = ditc.add %a, %s#0 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %r, %a2 : tensor<2x5x4xf32>, tensor<2x4xf32>
}

// -----

// A layer norm reads its modulation where the split left it: mod_scale and
// mod_shift at bytes 16 and 32 of the split's input, rows 12 elements apart
// (three pieces of 4 side by side), with the 1 of 1 + scale; nothing is
// copied.
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK-DAG: %[[S:.*]] = llvm.getelementptr %arg0[16] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK-DAG: %[[T:.*]] = llvm.getelementptr %arg0[32] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK-NOT: llvm.call @ditc_rt_strided_copy
// CHECK: %[[ROWS:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK-NEXT: %[[COLS:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK-NEXT: %[[G:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK-NEXT: %[[SS:.*]] = llvm.mlir.constant(12 : i64) : i64
// CHECK-NEXT: %[[TS:.*]] = llvm.mlir.constant(12 : i64) : i64
// CHECK-NEXT: %[[ONE:.*]] = llvm.mlir.constant(1.000000e+00 : f32) : f32
// CHECK-NEXT: %[[EPS:.*]] = llvm.mlir.constant
// CHECK-NEXT: llvm.call @ditc_rt_layer_norm_mod_f32(%{{.*}}, %{{.*}}, %{{.*}}, %[[S]], %[[T]], %{{.*}}, %[[ROWS]], %[[COLS]], %[[G]], %[[SS]], %[[TS]], %[[ONE]], %[[EPS]])
// CHECK-NOT: llvm.call @ditc_rt_strided_copy
func.func @main(%x: tensor<2x3x4xf32> {ditc.name = "x"}, %p: tensor<2x12xf32> {ditc.name = "p"})
    -> (tensor<2x3x4xf32> {ditc.name = "y"}) {
  %e = ditc.exp %p : tensor<2x12xf32>
  %s:3 = ditc.split %e {axis = 1 : i64} : (tensor<2x12xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>)
  %sc = ditc.reshape %s#1 : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
  %sh = ditc.reshape %s#2 : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
  %y = ditc.layer_norm %x mod_scale %sc mod_shift %sh {axis = 2 : i64, epsilon = 1.0e-6 : f64, mod_scale_offset = 1.0 : f64} : (tensor<2x3x4xf32>, tensor<2x1x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  %g = ditc.reshape %s#0 : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
  %r = ditc.mul_add %g, %y, %x : (tensor<2x1x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return %r : tensor<2x3x4xf32>
}
