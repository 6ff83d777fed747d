// RUN: ditc-opt %s -ditc-plan-memory -ditc-lower-to-runtime | FileCheck %s

// Pipeline stages: the rank's stage is its rank in the pp group
// (ditc_rt_coll_rank); each stage's code runs behind a guard, every
// tensor's address is taken before the first guard, and ops of stage -1
// (the outputs' broadcast) run on every rank. The descriptor lists the
// stages that read each weight.
// CHECK-LABEL: llvm.func @ditc_generated_run(
// CHECK: %[[W:.*]] = llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: %[[STAGE:.*]] = llvm.call @ditc_rt_coll_rank(
// CHECK: %[[IS0:.*]] = llvm.icmp "eq" %[[STAGE]], %{{.*}} : i32
// CHECK: llvm.cond_br %[[IS0]], ^[[S0:bb[0-9]+]], ^[[AFTER0:bb[0-9]+]]
// CHECK: ^[[S0]]:
// CHECK: llvm.call @ditc_rt_unary_f32(
// CHECK: llvm.call @ditc_rt_coll_send(
// CHECK: llvm.br ^[[AFTER0]]
// CHECK: ^[[AFTER0]]:
// CHECK: llvm.cond_br %{{.*}}, ^[[S1:bb[0-9]+]], ^[[AFTER1:bb[0-9]+]]
// CHECK: ^[[S1]]:
// CHECK: llvm.call @ditc_rt_coll_recv(
// CHECK: llvm.call @ditc_rt_linear_f32(
// CHECK: llvm.br ^[[AFTER1]]
// CHECK: ^[[AFTER1]]:
// CHECK: llvm.call @ditc_rt_coll_broadcast(
// CHECK: llvm.return %{{.*}} : i32
// CHECK: ditc_generated_json_data("{{.*}}\22mesh\22:{\22axes\22:[\22pp\22],\22kinds\22:[\22pipeline\22],\22shape\22:[2],\22stage_axis\22:0}{{.*}}\22weights\22:[{{.*}}\22name\22:\22w\22{{.*}}\22stages\22:[1]}
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>, ditc.plan = "pp=2"} {
  func.func @main(%x: tensor<4x8xf32> {ditc.name = "x"}) -> (tensor<4x8xf32> {ditc.name = "y"}) {
    %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64, ditc.stages = array<i64: 1>} : tensor<8x8xf32>
    %0 = ditc.gelu %x {ditc.stage = 0 : i64} : tensor<4x8xf32>
    ditc.collective.send %0 {axes = ["pp"], peer = 1 : i64, tag = 0 : i64, ditc.stage = 0 : i64} : tensor<4x8xf32>
    %1 = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 0 : i64, ditc.stage = 1 : i64} : tensor<4x8xf32>
    %2 = ditc.linear %1, %w {ditc.stage = 1 : i64} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
    %3 = ditc.collective.broadcast %2 {axes = ["pp"], root = 1 : i64, ditc.stage = -1 : i64} : (tensor<4x8xf32>) -> tensor<4x8xf32>
    return %3 : tensor<4x8xf32>
  }
}
