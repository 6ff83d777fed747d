// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s
// RUN: ditc-opt %s -ditc-plan-memory | FileCheck %s --check-prefix=PLAN

// Two schedules (PipeFusion): the run's last argument picks them. An op of
// schedule k (and stage s) runs behind a guard "stage == s and schedule ==
// k"; the output is the select of the two schedules' results. The K/V
// buffer is the start of the arena for the whole schedule (no other tensor
// is placed over it: 1x2x8x4 floats, 256 bytes); an update copies its
// input's blocks into it (here 2 blocks of 2 tokens, at token 1 and 6 of 8).
// PLAN: module attributes {ditc.arena_bytes = 512 : i64
// PLAN: ditc.gelu {{.*}}ditc.offsets = array<i64: 256>
// PLAN: ditc.kv_cache_update {{.*}}ditc.offsets = array<i64: 0>
// PLAN: ditc.attention {{.*}}ditc.offsets = array<i64: 384>
// PLAN: ditc.schedule_select {{.*}}ditc.offsets = array<i64: -1>
// CHECK-LABEL: llvm.func @ditc_generated_run(
// CHECK-SAME: %[[SCHEDULE:[a-z0-9]+]]: i32) -> i32
// CHECK: %[[STALE:.*]] = llvm.icmp "eq" %[[SCHEDULE]], %{{.*}} : i32
// CHECK: llvm.select %[[STALE]], %{{.*}}, %{{.*}} : i1, !llvm.ptr
// CHECK: %[[STAGE:.*]] = llvm.call @ditc_rt_coll_rank(
// CHECK: llvm.icmp "eq" %[[STAGE]], %{{.*}} : i32
// CHECK: %[[IS1:.*]] = llvm.icmp "eq" %[[SCHEDULE]], %{{.*}} : i32
// CHECK: %[[BOTH:.*]] = llvm.and %{{.*}}, %[[IS1]] : i1
// CHECK: llvm.cond_br %[[BOTH]]
// CHECK: llvm.call @ditc_rt_strided_copy(
// CHECK: llvm.call @ditc_rt_attention_f32(
// CHECK: ditc_generated_json_data("{{.*}}\22kv_cache_bytes\22:256{{.*}}\22stale_schedule\22:true
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.plan = "pipefusion=2", ditc.kv_caches = 1 : i64} {
  func.func @main(%x: tensor<1x2x4x4xf32> {ditc.name = "x"}, %q: tensor<1x2x4x4xf32> {ditc.name = "q"}) -> (tensor<1x2x4x4xf32> {ditc.name = "y"}) {
    %s = ditc.gelu %q {ditc.stage = 0 : i64, ditc.schedule = 0 : i64} : tensor<1x2x4x4xf32>
    %k = ditc.kv_cache_update %x {cache = 0 : i64, axis = 2 : i64, offset = 1 : i64, blocks = 2 : i64, stride = 5 : i64, ditc.stage = 0 : i64, ditc.schedule = 1 : i64} : (tensor<1x2x4x4xf32>) -> tensor<1x2x8x4xf32>
    %a = ditc.attention %q, %k, %k {ditc.stage = 0 : i64, ditc.schedule = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
    %y = ditc.schedule_select %s, %a {ditc.stage = -1 : i64, ditc.schedule = -1 : i64} : tensor<1x2x4x4xf32>
    return %y : tensor<1x2x4x4xf32>
  }
}
