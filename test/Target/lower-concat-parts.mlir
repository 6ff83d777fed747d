// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime="target=cuda" | FileCheck %s --check-prefix=CUDA

// A concat copies only the inputs that were not written in its buffer
// (MemoryPlan's concat parts): here %t (a linear's result, a part) is not
// copied and %x (an input of @main) is: one strided copy, after the
// linear, before the softmax.
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: llvm.call @ditc_rt_linear
// CHECK-NOT: llvm.call @ditc_rt_strided_copy
// CHECK: llvm.call @ditc_rt_strided_copy
// CHECK-NOT: llvm.call @ditc_rt_strided_copy
// CHECK: llvm.call @ditc_rt_softmax
// CUDA: llvm.call @ditc_cu_linear
// CUDA-NOT: llvm.call @ditc_cu_strided_copy
// CUDA: llvm.call @ditc_cu_strided_copy
// CUDA-NOT: llvm.call @ditc_cu_strided_copy
// CUDA: llvm.call @ditc_cu_softmax
func.func @main(%x: tensor<1x2x16xf32> {ditc.name = "x"}, %y: tensor<1x4x16xf32> {ditc.name = "y"})
    -> (tensor<1x6x16xf32> {ditc.name = "z"}) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %t = ditc.linear %y, %w : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %c = ditc.concat %x, %t {axis = 1 : i64} : (tensor<1x2x16xf32>, tensor<1x4x16xf32>) -> tensor<1x6x16xf32>
  %s = ditc.softmax %c {axis = 2 : i64} : tensor<1x6x16xf32>
  return %s : tensor<1x6x16xf32>
}
