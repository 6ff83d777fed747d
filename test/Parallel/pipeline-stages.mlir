// RUN: ditc-opt %s -split-input-file -ditc-pipeline-stages="microbatches=1" | FileCheck %s

// Two equal blocks over pp=2: the cut goes between them, where only the
// residual stream %h crosses (not inside a block, where two values would).
// The output is broadcast from stage 1; each weight is held by the stage
// that reads it.
// CHECK-LABEL: func.func @main
// CHECK-DAG: ditc.weight "w1" {{{.*}}ditc.stages = array<i64: 0>
// CHECK-DAG: ditc.weight "w3" {{{.*}}ditc.stages = array<i64: 1>
// CHECK: %[[A:.*]] = ditc.linear %arg0, {{.*}}ditc.stage = 0 : i64
// CHECK: ditc.gelu {{.*}}ditc.stage = 0
// CHECK: %[[H:.*]] = ditc.add {{.*}}ditc.stage = 0
// CHECK-NEXT: ditc.collective.send %[[H]] {axes = ["pp"], ditc.stage = 0 : i64, peer = 1 : i64, tag = 0 : i64} : tensor<1x8x16xf32>
// CHECK-NEXT: %[[R:.*]] = ditc.collective.recv {axes = ["pp"], ditc.stage = 1 : i64, peer = 0 : i64, tag = 0 : i64} : tensor<1x8x16xf32>
// CHECK-NEXT: ditc.linear %[[R]], {{.*}}ditc.stage = 1
// CHECK: %[[Y:.*]] = ditc.add {{.*}}%[[R]]{{.*}}ditc.stage = 1
// CHECK-NEXT: %[[O:.*]] = ditc.collective.broadcast %[[Y]] {axes = ["pp"], ditc.stage = -1 : i64, root = 1 : i64}
// CHECK-NEXT: return %[[O]]
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<64x16xf32>
    %w3 = ditc.weight "w3" {file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %w4 = ditc.weight "w4" {file = "m.onnx", offset = 0 : i64} : tensor<64x16xf32>
    %a = ditc.linear %x, %w1 : (tensor<1x8x16xf32>, tensor<16x64xf32>) -> tensor<1x8x64xf32>
    %g = ditc.gelu %a : tensor<1x8x64xf32>
    %b = ditc.linear %g, %w2 : (tensor<1x8x64xf32>, tensor<64x16xf32>) -> tensor<1x8x16xf32>
    %h = ditc.add %b, %x : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    %c = ditc.linear %h, %w3 : (tensor<1x8x16xf32>, tensor<16x64xf32>) -> tensor<1x8x64xf32>
    %k = ditc.gelu %c : tensor<1x8x64xf32>
    %d = ditc.linear %k, %w4 : (tensor<1x8x64xf32>, tensor<64x16xf32>) -> tensor<1x8x16xf32>
    %y = ditc.add %d, %h : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
    return %y : tensor<1x8x16xf32>
  }
}

// -----

// Three stages of about equal work (four equal linear layers: the cuts at
// 4/3 and 8/3 of them). %e (stage 0) is read in stages 1 and 2: sent to
// each, straight to stage 2 past stage 1. At each boundary the sends of the
// stage ending (by destination), then the receives of the stage starting
// (by source); tags number the messages. A weight read in two stages is in
// both stages' files. The pp group is the ranks sharing a tp coordinate.
// The second cut, nearest after %b, follows %b's GELU: code generation
// makes it %b's epilogue.
// CHECK-LABEL: func.func @main
// CHECK-DAG: ditc.weight "shared" {{{.*}}ditc.stages = array<i64: 0, 2>
// CHECK: %[[E:.*]] = ditc.linear %arg0, {{.*}}ditc.stage = 0
// CHECK-NEXT: ditc.collective.send %[[E]] {axes = ["pp"], ditc.stage = 0 : i64, peer = 1 : i64, tag = 0 : i64}
// CHECK-NEXT: ditc.collective.send %[[E]] {axes = ["pp"], ditc.stage = 0 : i64, peer = 2 : i64, tag = 1 : i64}
// CHECK-NEXT: %[[R1:.*]] = ditc.collective.recv {axes = ["pp"], ditc.stage = 1 : i64, peer = 0 : i64, tag = 0 : i64}
// CHECK-NEXT: ditc.linear %[[R1]], {{.*}}ditc.stage = 1
// CHECK: %[[B:.*]] = ditc.linear {{.*}}ditc.stage = 1
// CHECK-NEXT: %[[G:.*]] = ditc.gelu %[[B]] {ditc.stage = 1
// CHECK-NEXT: ditc.collective.send %[[G]] {axes = ["pp"], ditc.stage = 1 : i64, peer = 2 : i64, tag = 2 : i64}
// CHECK-NEXT: %[[RE:.*]] = ditc.collective.recv {axes = ["pp"], ditc.stage = 2 : i64, peer = 0 : i64, tag = 1 : i64}
// CHECK-NEXT: %[[R2:.*]] = ditc.collective.recv {axes = ["pp"], ditc.stage = 2 : i64, peer = 1 : i64, tag = 2 : i64}
// CHECK-NEXT: ditc.linear %[[R2]], {{.*}}ditc.stage = 2
// CHECK: ditc.add {{.*}}, %[[RE]] {ditc.stage = 2
// CHECK: ditc.collective.broadcast {{.*}}root = 2 : i64
module attributes {ditc.mesh = #ditc.mesh<["pp" = 3 : pipeline, "tp" = 2 : tensor]>} {
  func.func @main(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
    %ws = ditc.weight "shared" {file = "m.onnx", offset = 0 : i64} : tensor<32x32xf32>
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<32x32xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<32x32xf32>
    %e = ditc.linear %x, %ws : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32>
    %a = ditc.linear %e, %w1 : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32>
    %h0 = ditc.gelu %a : tensor<4x32xf32>
    %b = ditc.linear %h0, %w2 : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32>
    %h1 = ditc.gelu %b : tensor<4x32xf32>
    %c = ditc.linear %h1, %ws : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32>
    %y = ditc.add %c, %e : (tensor<4x32xf32>, tensor<4x32xf32>) -> tensor<4x32xf32>
    return %y : tensor<4x32xf32>
  }
}

// -----

// Two equal linear layers with a modulated norm between them: half the work
// falls inside the norm's modulation (after the norm, before its add), but
// a cut never separates a layer norm from the mul and add that code
// generation folds into it (its mod_scale / mod_shift): all three are in
// one stage.
// CHECK-LABEL: func.func @main
// CHECK: ditc.layer_norm {{.*}}ditc.stage = [[S:[01]]] : i64
// CHECK-NEXT: ditc.mul {{.*}}{ditc.stage = [[S]] : i64}
// CHECK-NEXT: ditc.add {{.*}}{ditc.stage = [[S]] : i64}
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @main(%x: tensor<4x32xf32>, %s: tensor<1x32xf32>, %t: tensor<1x32xf32>) -> tensor<4x32xf32> {
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<32x32xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<32x32xf32>
    %a = ditc.linear %x, %w1 : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32>
    %n = ditc.layer_norm %a {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<4x32xf32>) -> tensor<4x32xf32>
    %m = ditc.mul %n, %s : (tensor<4x32xf32>, tensor<1x32xf32>) -> tensor<4x32xf32>
    %h = ditc.add %m, %t : (tensor<4x32xf32>, tensor<1x32xf32>) -> tensor<4x32xf32>
    %y = ditc.linear %h, %w2 : (tensor<4x32xf32>, tensor<32x32xf32>) -> tensor<4x32xf32>
    return %y : tensor<4x32xf32>
  }
}

// -----

// Without a pp axis nothing changes.
// CHECK-LABEL: func.func @main
// CHECK-NOT: ditc.stage
// CHECK: return
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @main(%x: tensor<4x32xf32>) -> tensor<4x32xf32> {
    %y = ditc.gelu %x : tensor<4x32xf32>
    return %y : tensor<4x32xf32>
  }
}
