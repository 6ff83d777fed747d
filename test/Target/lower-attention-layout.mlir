// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime="target=cuda" | FileCheck %s --check-prefix=CUDA

// A seq_major attention calls attention_layout with its sizes as
// [B, H, S, D] (B 2, H 4, Hkv 2, Sq 16, Sk 12, D 8, Dv 8), no lse, query
// offset 0, and the layout bits (Q 1 | K 2 | V 4 | OUT 8 = 15; Q | OUT = 9
// for the second, whose key and value are [B, H, S, D]); a plain one keeps
// attention.
// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: %[[B:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK-NEXT: %[[H:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK-NEXT: %[[HKV:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK-NEXT: %[[SQ:.*]] = llvm.mlir.constant(16 : i64) : i64
// CHECK-NEXT: %[[SK:.*]] = llvm.mlir.constant(12 : i64) : i64
// CHECK-NEXT: %[[D:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK-NEXT: %[[DV:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK: %[[L:.*]] = llvm.mlir.constant(15 : i32) : i32
// CHECK-NEXT: llvm.call @ditc_rt_attention_layout_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[B]], %[[H]], %[[HKV]], %[[SQ]], %[[SK]], %[[D]], %[[DV]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[L]])
// CHECK: %[[L2:.*]] = llvm.mlir.constant(9 : i32) : i32
// CHECK-NEXT: llvm.call @ditc_rt_attention_layout_f32({{.*}}, %[[L2]])
// CHECK: llvm.call @ditc_rt_attention_f32(
// CHECK: llvm.func @ditc_rt_attention_layout_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64, f32, i32, i64, i64, i64, i32)
// CUDA: llvm.call @ditc_cu_attention_layout(
// CUDA: llvm.call @ditc_cu_attention_layout(
// CUDA: llvm.call @ditc_cu_attention(
func.func @main(%q: tensor<2x16x4x8xf32> {ditc.name = "q"}, %k: tensor<2x12x2x8xf32> {ditc.name = "k"},
                %kh: tensor<2x2x16x8xf32> {ditc.name = "kh"})
    -> (tensor<2x16x4x8xf32> {ditc.name = "o"}, tensor<2x16x4x8xf32> {ditc.name = "p"}, tensor<2x4x16x8xf32> {ditc.name = "r"}) {
  %o = ditc.attention %q, %k, %k {seq_major = array<i1: true, true, true, true>} : (tensor<2x16x4x8xf32>, tensor<2x12x2x8xf32>, tensor<2x12x2x8xf32>) -> tensor<2x16x4x8xf32>
  %p = ditc.attention %q, %kh, %kh {causal, seq_major = array<i1: true, false, false, true>} : (tensor<2x16x4x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>) -> tensor<2x16x4x8xf32>
  %qh = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  %r = ditc.attention %qh, %kh, %kh : (tensor<2x4x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>) -> tensor<2x4x16x8xf32>
  return %o, %p, %r : tensor<2x16x4x8xf32>, tensor<2x16x4x8xf32>, tensor<2x4x16x8xf32>
}
