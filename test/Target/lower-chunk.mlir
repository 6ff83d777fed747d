// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory | FileCheck %s --check-prefix=PLAN

// A chunk loop becomes a loop over its chunks (the same code for every
// target). Input 0 is cut along the tokens behind a batch of 2: each
// iteration copies its chunk (element offset i * 8 * 32) into the buffer
// the plan gave the argument. Input 1 is cut along the batch (dimension
// 0): its chunk is a contiguous block, a view at byte offset i * 1024. The
// body's buffers are fixed arena offsets; the yielded chunk is copied to
// byte offset i * 1024 of the result (here the graph's output).
// The exp and the add write over the copied chunk, which dies at the exp.
// PLAN: ditc.arena_bytes = 2048
// PLAN: ditc.chunk(%arg0, %arg1) {count = 2 : i64, ditc.arg_offsets = array<i64: 0, -1>, ditc.offsets = array<i64: -2>
// PLAN: ditc.exp %{{.*}} {ditc.offsets = array<i64: 0>}
// PLAN: ditc.add %{{.*}} {ditc.offsets = array<i64: 0>}

// CHECK-LABEL: llvm.func @ditc_generated_run
// CHECK: %[[IN0:.*]] = llvm.load {{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[IN1:.*]] = llvm.load {{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[OUT:.*]] = llvm.load {{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[ZERO:.*]] = llvm.mlir.constant(0 : i64) : i64
// CHECK: llvm.br ^[[HEAD:bb[0-9]+]](%[[ZERO]] : i64)
// CHECK: ^[[HEAD]](%[[I:.*]]: i64):
// CHECK: %[[N:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK: %[[MORE:.*]] = llvm.icmp "slt" %[[I]], %[[N]] : i64
// CHECK: llvm.cond_br %[[MORE]], ^[[BODY:bb[0-9]+]], ^[[EXIT:bb[0-9]+]]
// CHECK: ^[[BODY]]:
// CHECK: %[[S0:.*]] = llvm.mlir.constant(256 : i64) : i64
// CHECK: %[[E0:.*]] = llvm.mul %[[I]], %[[S0]] : i64
// CHECK: llvm.call @ditc_rt_strided_copy(%{{.*}}, %[[IN0]], %[[E0]], %{{.*}}, %arg0,
// CHECK: %[[S1:.*]] = llvm.mlir.constant(256 : i64) : i64
// CHECK: %[[E1:.*]] = llvm.mul %[[I]], %[[S1]] : i64
// CHECK: %[[B1:.*]] = llvm.mul %[[E1]], %{{.*}} : i64
// CHECK: %[[A1:.*]] = llvm.getelementptr %[[IN1]][%[[B1]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.call @ditc_rt_unary_f32(%{{.*}}, %arg0, %arg0, %{{.*}})
// CHECK: llvm.call @ditc_rt_binary
// CHECK: %[[OE:.*]] = llvm.mul %[[I]], %{{.*}} : i64
// CHECK: %[[OB:.*]] = llvm.mul %[[OE]], %{{.*}} : i64
// CHECK: %[[DST:.*]] = llvm.getelementptr %[[OUT]][%[[OB]]] : (!llvm.ptr, i64) -> !llvm.ptr, i8
// CHECK: llvm.call @ditc_rt_strided_copy(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[DST]],
// CHECK: %[[NEXT:.*]] = llvm.add %[[I]], %{{.*}} : i64
// CHECK: llvm.br ^[[HEAD]](%[[NEXT]] : i64)
// CHECK: ^[[EXIT]]:
// CHECK: llvm.return
func.func @main(%x: tensor<2x16x32xf32>, %r: tensor<2x8x32xf32>) -> tensor<2x16x32xf32> {
  %y = ditc.chunk (%x, %r) {count = 2 : i64, input_dims = array<i64: 1, 0>, result_dims = array<i64: 1>}
      : (tensor<2x16x32xf32>, tensor<2x8x32xf32>) -> tensor<2x16x32xf32> {
  ^bb0(%c: tensor<2x8x32xf32>, %d: tensor<1x8x32xf32>):
    %e = ditc.exp %c : tensor<2x8x32xf32>
    %s = ditc.add %e, %d : (tensor<2x8x32xf32>, tensor<1x8x32xf32>) -> tensor<2x8x32xf32>
    ditc.yield %s : tensor<2x8x32xf32>
  }
  return %y : tensor<2x16x32xf32>
}
