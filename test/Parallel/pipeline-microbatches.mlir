// RUN: ditc-opt %s -split-input-file -ditc-pipeline-stages | FileCheck %s
// RUN: ditc-opt %s -split-input-file -ditc-pipeline-stages="microbatches=2" | FileCheck %s --check-prefix=TWO

// A batch of 4 over pp=2: 4 micro-batches (the largest divisor of the
// batch up to 2 x stages). The inputs are sliced on every rank (stage -1);
// stage 0 runs micro-batch 0 and sends it on before it starts micro-batch
// 1, stage 1 receives each in turn; stage 1 joins the rows and broadcasts
// them. Messages are numbered in (micro-batch, source, destination) order.
// CHECK-LABEL: func.func @main
// TWO-COUNT-2: ditc.slice %arg0 {ditc.stage = -1 : i64{{.*}} -> tensor<2x8x16xf32>
// CHECK-COUNT-4: ditc.slice %arg0 {ditc.stage = -1 : i64{{.*}} -> tensor<1x8x16xf32>
// CHECK: %[[A0:.*]] = ditc.add {{.*}}ditc.stage = 0
// CHECK-NEXT: ditc.collective.send %[[A0]] {axes = ["pp"], ditc.stage = 0 : i64, peer = 1 : i64, tag = 0 : i64} : tensor<1x8x16xf32>
// CHECK-NEXT: ditc.linear {{.*}}ditc.stage = 0
// CHECK: ditc.collective.send {{.*}}tag = 1 : i64
// CHECK: ditc.collective.send {{.*}}tag = 2 : i64
// CHECK: ditc.collective.send {{.*}}tag = 3 : i64
// CHECK-NEXT: %[[R0:.*]] = ditc.collective.recv {axes = ["pp"], ditc.stage = 1 : i64, peer = 0 : i64, tag = 0 : i64} : tensor<1x8x16xf32>
// CHECK: %[[Y0:.*]] = ditc.add {{.*}}%[[R0]] {ditc.stage = 1
// CHECK-NEXT: ditc.collective.recv {{.*}}tag = 1 : i64
// CHECK: ditc.collective.recv {{.*}}tag = 3 : i64
// CHECK: %[[Y3:.*]] = ditc.add
// CHECK-NEXT: %[[J:.*]] = ditc.concat %[[Y0]], %{{.*}}, %{{.*}}, %[[Y3]] {axis = 0 : i64, ditc.stage = 1 : i64} : {{.*}} -> tensor<4x8x16xf32>
// CHECK-NEXT: %[[O:.*]] = ditc.collective.broadcast %[[J]] {axes = ["pp"], ditc.stage = -1 : i64, root = 1 : i64}
// CHECK-NEXT: return %[[O]]
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @main(%x: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<64x16xf32>
    %w3 = ditc.weight "w3" {file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %w4 = ditc.weight "w4" {file = "m.onnx", offset = 0 : i64} : tensor<64x16xf32>
    %a = ditc.linear %x, %w1 : (tensor<4x8x16xf32>, tensor<16x64xf32>) -> tensor<4x8x64xf32>
    %g = ditc.gelu %a : tensor<4x8x64xf32>
    %b = ditc.linear %g, %w2 : (tensor<4x8x64xf32>, tensor<64x16xf32>) -> tensor<4x8x16xf32>
    %h = ditc.add %b, %x : (tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
    %c = ditc.linear %h, %w3 : (tensor<4x8x16xf32>, tensor<16x64xf32>) -> tensor<4x8x64xf32>
    %k = ditc.gelu %c : tensor<4x8x64xf32>
    %d = ditc.linear %k, %w4 : (tensor<4x8x64xf32>, tensor<64x16xf32>) -> tensor<4x8x16xf32>
    %y = ditc.add %d, %h : (tensor<4x8x16xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
    return %y : tensor<4x8x16xf32>
  }
}

// -----

// An op that needs the whole batch (a softmax over it): one micro-batch,
// also when two are asked for.
// CHECK-LABEL: func.func @main
// TWO: ditc.collective.send %{{.*}} : tensor<4x16xf32>
// CHECK-NOT: ditc.slice
// CHECK: ditc.collective.send %{{.*}} : tensor<4x16xf32>
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @main(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %a = ditc.linear %x, %w1 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
    %s = ditc.softmax %a {axis = 0 : i64} : tensor<4x16xf32>
    %y = ditc.linear %s, %w1 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
    return %y : tensor<4x16xf32>
  }
}

// -----

// A step cache: its decision is taken ahead (`stale`: the stages after the
// first cannot wait for its measure) and once, on the micro-batches' rows
// joined at the end of the measuring stage; the cached ops are cloned per
// micro-batch with their attribute, the residuals' cache_apply too.
// CHECK-LABEL: func.func @main
// CHECK-COUNT-2: ditc.slice %arg0 {ditc.stage = -1 : i64{{.*}} -> tensor<1x8x16xf32>
// CHECK: %[[S0:.*]] = ditc.sub {{.*}}ditc.stage = 0
// CHECK: %[[S1:.*]] = ditc.sub {{.*}}ditc.stage = 0
// CHECK: %[[M:.*]] = ditc.concat %[[S0]], %[[S1]] {axis = 0 : i64, ditc.stage = 0 : i64} : {{.*}} -> tensor<2x8x16xf32>
// CHECK-NEXT: ditc.cache_decide %[[M]] {coefficients = array<f64: 1.000000e+00, 0.000000e+00>, ditc.stage = 0 : i64, kind = #ditc.cache_kind<fbcache>, stale, threshold = 1.000000e-01 : f64} : tensor<2x8x16xf32>
// CHECK-NOT: ditc.cache_decide
// CHECK: ditc.linear {{.*}}ditc.cached, ditc.stage = 1
// CHECK: ditc.cache_apply {{.*}}ditc.stage = 1
// CHECK: ditc.linear {{.*}}ditc.cached, ditc.stage = 1
// CHECK: ditc.cache_apply {{.*}}ditc.stage = 1
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @main(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
    %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %w3 = ditc.weight "w3" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %a = ditc.linear %x, %w1 : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
    %h = ditc.add %a, %x : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %r = ditc.sub %h, %x : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    ditc.cache_decide %r {coefficients = array<f64: 1.0, 0.0>, kind = #ditc.cache_kind<fbcache>, threshold = 0.1 : f64} : tensor<2x8x16xf32>
    %b = ditc.linear %h, %w2 {ditc.cached} : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
    %g = ditc.add %b, %h {ditc.cached} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %c = ditc.linear %g, %w3 {ditc.cached} : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
    %d = ditc.add %c, %g {ditc.cached} : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
    %y = ditc.cache_apply %d, %h : tensor<2x8x16xf32>
    return %y : tensor<2x8x16xf32>
  }
}
