// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s

// An uneven loop: 3 chunks of 10 rows are chunks of 4, starting at
// min(i * 4, 10 - 4) = 0, 4, 6 (the last overlaps the second by 2 rows).
// Every cut value and the causal attention's chunk offset take that start:
// the input's copy from element start * 8, the offset start itself, the
// result's chunk to byte start * 8 * 4.
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: ^[[HEAD:bb[0-9]+]](%[[I:.*]]: i64):
// CHECK: %[[N:.*]] = llvm.mlir.constant(3 : i64) : i64
// CHECK: llvm.icmp "slt" %[[I]], %[[N]] : i64
// CHECK: %[[C:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[AT:.*]] = llvm.mul %[[I]], %[[C]] : i64
// CHECK: %[[LAST:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK: %[[LT:.*]] = llvm.icmp "slt" %[[AT]], %[[LAST]] : i64
// CHECK: %[[START:.*]] = llvm.select %[[LT]], %[[AT]], %[[LAST]] : i1, i64
// CHECK: %[[ROW:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: %[[E0:.*]] = llvm.mul %[[START]], %[[ROW]] : i64
// CHECK: llvm.call @ditc_rt_strided_copy(%{{.*}}, %{{.*}}, %[[E0]],
// CHECK: %[[AT2:.*]] = llvm.mul %[[I]], %{{.*}} : i64
// CHECK: %[[LT2:.*]] = llvm.icmp "slt" %[[AT2]], %{{.*}} : i64
// CHECK: %[[OFF:.*]] = llvm.select %[[LT2]], %[[AT2]], %{{.*}} : i1, i64
// CHECK: llvm.call @ditc_rt_attention_block_f32({{.*}}, %[[OFF]], {{.*}}) :
// CHECK: %[[E1:.*]] = llvm.mul %[[START]], %{{.*}} : i64
// CHECK: %[[B1:.*]] = llvm.mul %[[E1]], %{{.*}} : i64
// CHECK: llvm.getelementptr %{{.*}}[%[[B1]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.br ^[[HEAD]]
func.func @main(%q: tensor<1x2x10x8xf32>, %k: tensor<1x2x10x8xf32>) -> tensor<1x2x10x8xf32> {
  %y = ditc.chunk (%q) {count = 3 : i64, input_dims = array<i64: 2>, result_dims = array<i64: 2>}
      : (tensor<1x2x10x8xf32>) -> tensor<1x2x10x8xf32> {
  ^bb0(%c: tensor<1x2x4x8xf32>):
    %o = ditc.chunk_offset {stride = 4 : i64} : tensor<i64>
    %a = ditc.attention %c, %k, %k query_offset %o {causal}
        : (tensor<1x2x4x8xf32>, tensor<1x2x10x8xf32>, tensor<1x2x10x8xf32>, tensor<i64>) -> tensor<1x2x4x8xf32>
    ditc.yield %a : tensor<1x2x4x8xf32>
  }
  return %y : tensor<1x2x10x8xf32>
}
