// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s

// A double ring calls ditc_rt_double_ring_attention with the inner
// rings' communicator (comm group [1], the ring_inner axis) and then the
// outer ring's ([0]); seq_major query and result are layout bits 1 | 8.
// CHECK-LABEL: llvm.func @ditc_generated_run(
// CHECK: %[[L:.*]] = llvm.mlir.constant(9 : i32) : i32
// CHECK: llvm.call @ditc_rt_double_ring_attention({{.*}}, %[[L]]) : (!llvm.ptr, !llvm.ptr, i32, {{.*}}, i64, i32) -> i32
// CHECK: ditc_generated_json_data("{{.*}}\22comm_groups\22:{{\[\[1\],\[0\]\]}}
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 3 : ring_inner]>, ditc.plan = "ring=2,ring_inner=3"} {
  func.func @main(%x: tensor<1x2x2x8xf32> {ditc.name = "x"}, %kv: tensor<1x2x3x8xf32> {ditc.name = "kv"}) -> (tensor<1x2x2x8xf32> {ditc.name = "y"}) {
    %0 = ditc.ring_attention %x, %kv, %kv {axes = ["ring", "ring_inner"], inner = ["ring_inner"], kv_valid = 0 : i64, seq_major = array<i1: true, false, false, true>} : (tensor<1x2x2x8xf32>, tensor<1x2x3x8xf32>, tensor<1x2x3x8xf32>) -> tensor<1x2x2x8xf32>
    return %0 : tensor<1x2x2x8xf32>
  }
}
