// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s

// Collectives call the runtime's ditc_rt_coll_* on the communicator of
// their group (comms[i], the i-th of the descriptor's comm_groups, axes by
// mesh index); a nonzero status leaves the run with that status. Ring
// attention calls the dtype-taking entry point (F32 = 0) with the valid key
// count and the layout bits last (0: every tensor [B, H, S, D]).
// CHECK-LABEL: llvm.func @ditc_generated_run(
// CHECK-SAME: -> i32
// CHECK: %[[S0:.*]] = llvm.call @ditc_rt_coll_slice(
// CHECK: %[[B0:.*]] = llvm.icmp "ne" %[[S0]]
// CHECK: llvm.cond_br %[[B0]], ^[[FAIL:bb[0-9]+]](%[[S0]] : i32), ^bb1
// CHECK: llvm.call @ditc_rt_coll_slice(
// CHECK: llvm.cond_br %{{.*}}, ^[[FAIL]](
// CHECK: llvm.call @ditc_rt_coll_all_to_all(
// CHECK: %[[KV:.*]] = llvm.mlir.constant(3 : i64) : i64
// CHECK-NEXT: %[[L:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK-NEXT: llvm.call @ditc_rt_ring_attention({{.*}}, %[[KV]], %[[L]]) : (!llvm.ptr, i32, !llvm.ptr, {{.*}}, i64, i32) -> i32
// CHECK: llvm.call @ditc_rt_coll_all_reduce(
// CHECK: llvm.call @ditc_rt_coll_all_to_all(
// CHECK: llvm.call @ditc_rt_coll_all_gather(
// CHECK: llvm.call @ditc_rt_coll_all_gather(
// CHECK: llvm.return %{{.*}} : i32
// CHECK: ^[[FAIL]](%[[ST:.*]]: i32):
// CHECK-NEXT: llvm.return %[[ST]] : i32
// CHECK: ditc_generated_json_data("{{.*}}\22comm_groups\22:{{\[\[0\],\[1\],\[0,1\]\]}}{{.*}}\22mesh\22:{\22axes\22:[\22cfg\22,\22ulysses\22],\22kinds\22:[\22cfg\22,\22ulysses\22],\22shape\22:[2,2]}{{.*}}\22plan\22:\22cfg=2,ulysses=2\22{{.*}}\22world_size\22:4}
module attributes {ditc.mesh = #ditc.mesh<["cfg" = 2 : cfg, "ulysses" = 2 : ulysses]>, ditc.plan = "cfg=2,ulysses=2"} {
  func.func @main(%x: tensor<2x2x4x8xf32> {ditc.name = "x"}) -> (tensor<2x2x4x8xf32> {ditc.name = "y"}) {
    %0 = ditc.collective.shard %x {axes = ["cfg"], axis = 0 : i64} : (tensor<2x2x4x8xf32>) -> tensor<1x2x4x8xf32>
    %1 = ditc.collective.shard %0 {axes = ["ulysses"], axis = 2 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x2x8xf32>
    %2 = ditc.collective.all_to_all %1 {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<1x2x2x8xf32>) -> tensor<1x1x4x8xf32>
    %3 = ditc.ring_attention %2, %2, %2 {axes = ["ulysses"], kv_valid = 3 : i64} : (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
    %4 = ditc.collective.all_reduce %3 {axes = ["cfg", "ulysses"]} : (tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
    %5 = ditc.collective.all_to_all %4 {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<1x1x4x8xf32>) -> tensor<1x2x2x8xf32>
    %6 = ditc.collective.all_gather %5 {axes = ["cfg"], axis = 0 : i64} : (tensor<1x2x2x8xf32>) -> tensor<2x2x2x8xf32>
    %7 = ditc.collective.all_gather %6 {axes = ["ulysses"], axis = 2 : i64} : (tensor<2x2x2x8xf32>) -> tensor<2x2x4x8xf32>
    return %7 : tensor<2x2x4x8xf32>
  }
}

