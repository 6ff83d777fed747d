// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime="target=cuda" | FileCheck %s --check-prefix=CUDA

// A fused activation is the linear call's last argument: the unary op's
// code (DITC_RT_UNARY_GELU_TANH = 11, DITC_RT_UNARY_SILU = 12), or
// DITC_RT_ACTIVATION_NONE = -1; no unary call is left.
// CHECK: %[[T:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: %[[A:.*]] = llvm.mlir.constant(11 : i32) : i32
// CHECK-NEXT: llvm.call @ditc_rt_linear_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[T]], %[[A]])
// CHECK: %[[S:.*]] = llvm.mlir.constant(12 : i32) : i32
// CHECK-NEXT: llvm.call @ditc_rt_linear_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[S]])
// CHECK: %[[N:.*]] = llvm.mlir.constant(-1 : i32) : i32
// CHECK-NEXT: llvm.call @ditc_rt_linear_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[N]])
// CHECK-NOT: ditc_rt_unary
// CHECK: llvm.return
// The cuda target passes the same codes to ditc_cu_linear (which picks
// cuBLASLt's GELU epilogue for 11).
// CUDA: %[[A:.*]] = llvm.mlir.constant(11 : i32) : i32
// CUDA-NEXT: %[[F:.*]] = llvm.mlir.constant(0 : i32) : i32
// CUDA-NEXT: llvm.call @ditc_cu_linear(%[[F]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[A]])
// CUDA: %[[S:.*]] = llvm.mlir.constant(12 : i32) : i32
// CUDA-NEXT: llvm.mlir.constant(0 : i32) : i32
// CUDA-NEXT: llvm.call @ditc_cu_linear(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[S]])
// CUDA-NOT: ditc_cu_unary
func.func @main(%x: tensor<4x64xf32> {ditc.name = "x"}) -> (tensor<4x64xf32> {ditc.name = "y"}) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x64xf32>
  %a = ditc.linear %x, %w {activation = #ditc.activation<gelu_tanh>, transpose_weight} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %b = ditc.linear %a, %w {activation = #ditc.activation<silu>} : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %c = ditc.linear %b, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  return %c : tensor<4x64xf32>
}
