// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime="target=cuda" | FileCheck %s --check-prefix=CUDA

// A gated residual calls mul_add with the dtype (F32 0, BF16 4), each
// operand's broadcast strides over the result shape and the rank.
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: %[[DT:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @ditc_rt_mul_add(%[[DT]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}})
// CHECK: llvm.call @ditc_rt_mul_add(
// CHECK: llvm.func @ditc_rt_mul_add(i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32)
// CUDA: llvm.call @ditc_cu_mul_add(
// CUDA: llvm.call @ditc_cu_mul_add(
func.func @main(%x: tensor<2x16x64xf32> {ditc.name = "x"}, %g: tensor<2x1x64xf32> {ditc.name = "g"},
                %xb: tensor<2x16x64xbf16> {ditc.name = "xb"}, %gb: tensor<64xbf16> {ditc.name = "gb"})
    -> (tensor<2x16x64xf32> {ditc.name = "y"}, tensor<2x16x64xbf16> {ditc.name = "yb"}) {
  %y = ditc.mul_add %g, %x, %x : (tensor<2x1x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %yb = ditc.mul_add %gb, %xb, %xb : (tensor<64xbf16>, tensor<2x16x64xbf16>, tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  return %y, %yb : tensor<2x16x64xf32>, tensor<2x16x64xbf16>
}
