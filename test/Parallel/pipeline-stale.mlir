// RUN: ditc-opt %s -split-input-file -ditc-pipeline-stages -verify-diagnostics | FileCheck %s

// PipeFusion (pipefusion=2, patches=2) on two self-attention blocks over 8
// tokens: the synchronous schedule (ditc.schedule = 0) reads each
// attention's K/V through its buffers (offset 0), and the stale schedule
// (ditc.schedule = 1) runs each stage's blocks once per patch of 4 tokens:
// patch m writes its fresh K/V at token 4m of the buffers and attends to all
// 8 (the other patch's from the last call), then goes to the next stage.
// Patch 0 is sent before patch 1 is computed. The outputs of the two
// schedules, each broadcast from the last stage, meet in a schedule_select.
// The module counts the K/V buffers (two per attention).
// CHECK: module attributes {ditc.kv_caches = 4 : i64
// CHECK-LABEL: func.func @main
// CHECK: ditc.linear %arg0, {{.*}}ditc.schedule = 0 : i64, ditc.stage = 0
// CHECK: %[[SK:.*]] = ditc.kv_cache_update %{{.*}} {axis = 2 : i64, cache = 0 : i64, ditc.schedule = 0 : i64, ditc.stage = 0 : i64, offset = 0 : i64} : (tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
// CHECK: %[[SV:.*]] = ditc.kv_cache_update %{{.*}} {axis = 2 : i64, cache = 1 : i64, ditc.schedule = 0 : i64
// CHECK: ditc.attention %{{.*}}, %[[SK]], %[[SV]] {ditc.schedule = 0 : i64, ditc.stage = 0 : i64}
// CHECK: ditc.collective.send {{.*}}ditc.schedule = 0 : i64, ditc.stage = 0 : i64, peer = 1 : i64, tag = 0 : i64} : tensor<1x1x8x16xf32>
// CHECK: ditc.collective.recv {{.*}}ditc.schedule = 0 : i64, ditc.stage = 1 : i64, peer = 0 : i64, tag = 0 : i64} : tensor<1x1x8x16xf32>
// CHECK: ditc.kv_cache_update {{.*}}cache = 2 : i64, ditc.schedule = 0
// Stale, stage 0, patch 0: tokens 0..3 of the input.
// CHECK: %[[X0:.*]] = ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 0, 0>{{.*}} : (tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
// CHECK: %[[K0:.*]] = ditc.kv_cache_update %{{.*}} {axis = 2 : i64, cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 0 : i64} : (tensor<1x1x4x16xf32>) -> tensor<1x1x8x16xf32>
// CHECK: %[[V0:.*]] = ditc.kv_cache_update %{{.*}}cache = 1 : i64, {{.*}}offset = 0 : i64} : (tensor<1x1x4x16xf32>) -> tensor<1x1x8x16xf32>
// CHECK: ditc.attention %{{.*}}, %[[K0]], %[[V0]] {ditc.schedule = 1 : i64, ditc.stage = 0 : i64} : (tensor<1x1x4x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x4x16xf32>
// CHECK: %[[H0:.*]] = ditc.add {{.*}}ditc.schedule = 1 : i64, ditc.stage = 0 : i64} : (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32>
// CHECK-NEXT: ditc.collective.send %[[H0]] {{.*}}ditc.schedule = 1 : i64, ditc.stage = 0 : i64, peer = 1 : i64, tag = [[T0:[0-9]+]] : i64} : tensor<1x1x4x16xf32>
// Patch 1: tokens 4..7, K/V at token 4.
// CHECK: ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 4, 0>
// CHECK: ditc.kv_cache_update %{{.*}}cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 4 : i64}
// CHECK: %[[H1:.*]] = ditc.add
// CHECK-NEXT: ditc.collective.send %[[H1]] {{.*}}peer = 1 : i64, tag = [[T1:[0-9]+]] : i64}
// Stage 1 receives the patches in order, runs its block on each and joins them.
// CHECK: %[[R0:.*]] = ditc.collective.recv {{.*}}ditc.schedule = 1 : i64, ditc.stage = 1 : i64, peer = 0 : i64, tag = [[T0]] : i64} : tensor<1x1x4x16xf32>
// CHECK: ditc.kv_cache_update %{{.*}}cache = 2 : i64, ditc.schedule = 1 : i64, ditc.stage = 1 : i64, offset = 0 : i64}
// CHECK: %[[Y0:.*]] = ditc.add {{.*}}%[[R0]]
// CHECK: %[[R1:.*]] = ditc.collective.recv {{.*}}tag = [[T1]] : i64}
// CHECK: ditc.kv_cache_update %{{.*}}cache = 2 : i64, ditc.schedule = 1 : i64, ditc.stage = 1 : i64, offset = 4 : i64}
// CHECK: %[[Y1:.*]] = ditc.add {{.*}}%[[R1]]
// CHECK: %[[J:.*]] = ditc.concat %[[Y0]], %[[Y1]] {axis = 2 : i64, ditc.schedule = 1 : i64, ditc.stage = 1 : i64}
// CHECK: %[[SYNC:.*]] = ditc.collective.broadcast {{.*}}ditc.schedule = 0 : i64, ditc.stage = -1 : i64, root = 1 : i64}
// CHECK-NEXT: %[[STALE:.*]] = ditc.collective.broadcast %[[J]] {{.*}}ditc.schedule = 1 : i64, ditc.stage = -1 : i64, root = 1 : i64}
// CHECK: %[[OUT:.*]] = ditc.schedule_select %[[SYNC]], %[[STALE]] {ditc.schedule = -1 : i64, ditc.stage = -1 : i64} : tensor<1x1x8x16xf32>
// CHECK-NEXT: return %[[OUT]]
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 2 : i64} {
  func.func @main(%x: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
    %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %wk = ditc.weight "wk" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %wv = ditc.weight "wv" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %q = ditc.linear %x, %wq : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %k = ditc.linear %x, %wk : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %v = ditc.linear %x, %wv : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %a = ditc.attention %q, %k, %v : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %h = ditc.add %a, %x : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %q2 = ditc.linear %h, %wq : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %k2 = ditc.linear %h, %wk : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %v2 = ditc.linear %h, %wv : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %a2 = ditc.attention %q2, %k2, %v2 : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %y = ditc.add %a2, %h : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    return %y : tensor<1x1x8x16xf32>
  }
}

// -----

// A mean over the tokens between the two blocks joins the patches: the
// second attention would wait for the whole image, so there is no stale
// schedule (a warning naming the attention), and no K/V buffers.
// CHECK-NOT: ditc.kv_caches
// CHECK-LABEL: func.func @main
// CHECK-NOT: kv_cache_update
// CHECK-NOT: ditc.schedule
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 2 : i64} {
  // expected-warning @+1 {{PipeFusion runs the synchronous schedule at every denoising step: 'ditc.attention' at}}
  func.func @main(%x: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
    %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %a = ditc.attention %x, %x, %x : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %m = ditc.reduce_mean %a {axes = array<i64: 2>, keep_dims = true} : (tensor<1x1x8x16xf32>) -> tensor<1x1x1x16xf32>
    %h = ditc.add %a, %m : (tensor<1x1x8x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x1x8x16xf32>
    %q2 = ditc.linear %h, %wq : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %a2 = ditc.attention %q2, %q2, %q2 : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    return %a2 : tensor<1x1x8x16xf32>
  }
}

// -----

// Patches that do not divide a self-attention's tokens (6 over 4) are cut
// unevenly: 2, 2, 1 and 1 tokens at 0, 2, 4 and 5, each patch's K/V
// written at its own offset.
// CHECK-LABEL: func.func @main
// CHECK: ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 0, 0>{{.*}} -> tensor<1x1x2x16xf32>
// CHECK: ditc.kv_cache_update {{.*}}cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 0 : i64} : (tensor<1x1x2x16xf32>) -> tensor<1x1x6x16xf32>
// CHECK: ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 2, 0>{{.*}} -> tensor<1x1x2x16xf32>
// CHECK: ditc.kv_cache_update {{.*}}cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 2 : i64} : (tensor<1x1x2x16xf32>) -> tensor<1x1x6x16xf32>
// CHECK: ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 4, 0>{{.*}} -> tensor<1x1x1x16xf32>
// CHECK: ditc.kv_cache_update {{.*}}cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 4 : i64} : (tensor<1x1x1x16xf32>) -> tensor<1x1x6x16xf32>
// CHECK: ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 5, 0>{{.*}} -> tensor<1x1x1x16xf32>
// CHECK: ditc.kv_cache_update {{.*}}cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 5 : i64} : (tensor<1x1x1x16xf32>) -> tensor<1x1x6x16xf32>
// The last stage joins the four patches in order.
// CHECK: ditc.concat {{.*}}ditc.schedule = 1 : i64, ditc.stage = 1 : i64} : (tensor<1x1x2x16xf32>, tensor<1x1x2x16xf32>, tensor<1x1x1x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x1x6x16xf32>
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 4 : i64} {
  func.func @main(%x: tensor<1x1x6x16xf32>) -> tensor<1x1x6x16xf32> {
    %a = ditc.attention %x, %x, %x : (tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x6x16xf32>
    %h = ditc.add %a, %x : (tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x6x16xf32>
    %a2 = ditc.attention %h, %h, %h : (tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x6x16xf32>
    return %a2 : tensor<1x1x6x16xf32>
  }
}

// -----

// A long skip connection (U-ViT style): block 1's output %h is added after
// block 3, two stages later. Under the stale schedule it travels patch by
// patch with the stream: stage 0 sends each patch of it both to stage 1
// and straight to stage 2, and stage 2 adds patch m of it to its patch m.
// CHECK-LABEL: func.func @main
// CHECK: ditc.collective.send %[[H0:.*]] {{{.*}}ditc.schedule = 1 : i64, ditc.stage = 0 : i64, peer = 1 : i64, tag = [[A0:[0-9]+]] : i64} : tensor<1x1x4x16xf32>
// CHECK-NEXT: ditc.collective.send %[[H0]] {{{.*}}ditc.schedule = 1 : i64, ditc.stage = 0 : i64, peer = 2 : i64, tag = [[B0:[0-9]+]] : i64} : tensor<1x1x4x16xf32>
// CHECK: ditc.collective.send %[[H1:.*]] {{{.*}}ditc.stage = 0 : i64, peer = 1 : i64
// CHECK-NEXT: ditc.collective.send %[[H1]] {{{.*}}ditc.stage = 0 : i64, peer = 2 : i64, tag = [[B1:[0-9]+]] : i64}
// CHECK: %[[S0:.*]] = ditc.collective.recv {{{.*}}ditc.schedule = 1 : i64, ditc.stage = 2 : i64, peer = 0 : i64, tag = [[B0]] : i64} : tensor<1x1x4x16xf32>
// CHECK: ditc.add %{{.*}}, %[[S0]] {ditc.schedule = 1 : i64, ditc.stage = 2 : i64} : (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32>
// CHECK: %[[S1:.*]] = ditc.collective.recv {{{.*}}ditc.stage = 2 : i64, peer = 0 : i64, tag = [[B1]] : i64}
// CHECK: ditc.add %{{.*}}, %[[S1]] {ditc.schedule = 1 : i64, ditc.stage = 2 : i64}
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 3 : pipefusion]>, ditc.patches = 2 : i64} {
  func.func @main(%x: tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32> {
    %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
    %q = ditc.linear %x, %w : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %a = ditc.attention %q, %q, %q : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %h = ditc.add %a, %x : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %q2 = ditc.linear %h, %w : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %a2 = ditc.attention %q2, %q2, %q2 : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %h2 = ditc.add %a2, %q2 : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %q3 = ditc.linear %h2, %w : (tensor<1x1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x1x8x16xf32>
    %a3 = ditc.attention %q3, %q3, %q3 : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    %y = ditc.add %a3, %h : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    return %y : tensor<1x1x8x16xf32>
  }
}

// -----

// Joint attention (MMDiT): an image stream (4 tokens) and a text stream
// (2) joined along the tokens (ditc.token_pieces), attended over all keys
// and cut back. Each patch takes its chunk of both streams (image 2, text
// 1): patch m joins image tokens 2m..2m+1 and text token m, writes them
// into the K/V buffers at 2m and 4 + m (the synchronous order: the image
// stream, then the text), and its cuts take 2 and 1 tokens at 0 and 2.
// CHECK-LABEL: func.func @main
// CHECK: %[[X1:.*]] = ditc.slice %arg0 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 2, 0>{{.*}} -> tensor<1x1x2x16xf32>
// CHECK: %[[C1:.*]] = ditc.slice %arg1 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 1, 0>{{.*}} -> tensor<1x1x1x16xf32>
// CHECK: %[[J1:.*]] = ditc.concat %{{.*}}, %{{.*}} {axis = 2 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64} : (tensor<1x1x2x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x1x3x16xf32>
// CHECK: %[[KI:.*]] = ditc.slice %[[J1]] {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 0, 0>{{.*}} -> tensor<1x1x2x16xf32>
// CHECK: ditc.kv_cache_update %[[KI]] {axis = 2 : i64, cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 2 : i64} : (tensor<1x1x2x16xf32>) -> tensor<1x1x6x16xf32>
// CHECK: %[[KT:.*]] = ditc.slice %[[J1]] {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 2, 0>{{.*}} -> tensor<1x1x1x16xf32>
// CHECK: %[[K:.*]] = ditc.kv_cache_update %[[KT]] {axis = 2 : i64, cache = 0 : i64, ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offset = 5 : i64} : (tensor<1x1x1x16xf32>) -> tensor<1x1x6x16xf32>
// CHECK: %[[V:.*]] = ditc.kv_cache_update {{.*}}cache = 1 : i64, {{.*}}offset = 5 : i64}
// CHECK: %[[A1:.*]] = ditc.attention %[[J1]], %[[K]], %[[V]] {ditc.schedule = 1 : i64, ditc.stage = 0 : i64} : (tensor<1x1x3x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x3x16xf32>
// CHECK: ditc.slice %[[A1]] {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 0, 0>{{.*}} -> tensor<1x1x2x16xf32>
// CHECK: ditc.slice %[[A1]] {ditc.schedule = 1 : i64, ditc.stage = 0 : i64, offsets = array<i64: 0, 0, 2, 0>{{.*}} -> tensor<1x1x1x16xf32>
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 2 : i64} {
  func.func @main(%x: tensor<1x1x4x16xf32>, %c: tensor<1x1x2x16xf32>) -> tensor<1x1x4x16xf32> {
    %j = ditc.concat %x, %c {axis = 2 : i64, ditc.token_pieces = array<i64: 4, 2>} : (tensor<1x1x4x16xf32>, tensor<1x1x2x16xf32>) -> tensor<1x1x6x16xf32>
    %a = ditc.attention %j, %j, %j : (tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x6x16xf32>
    %ax = ditc.slice %a {ditc.token_pieces = array<i64: 4, 2>, offsets = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x1x6x16xf32>) -> tensor<1x1x4x16xf32>
    %ac = ditc.slice %a {ditc.token_pieces = array<i64: 4, 2>, offsets = array<i64: 0, 0, 4, 0>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x1x6x16xf32>) -> tensor<1x1x2x16xf32>
    %hx = ditc.add %ax, %x : (tensor<1x1x4x16xf32>, tensor<1x1x4x16xf32>) -> tensor<1x1x4x16xf32>
    %hc = ditc.add %ac, %c : (tensor<1x1x2x16xf32>, tensor<1x1x2x16xf32>) -> tensor<1x1x2x16xf32>
    %j2 = ditc.concat %hx, %hc {axis = 2 : i64, ditc.token_pieces = array<i64: 4, 2>} : (tensor<1x1x4x16xf32>, tensor<1x1x2x16xf32>) -> tensor<1x1x6x16xf32>
    %a2 = ditc.attention %j2, %j2, %j2 : (tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>, tensor<1x1x6x16xf32>) -> tensor<1x1x6x16xf32>
    %y = ditc.slice %a2 {ditc.token_pieces = array<i64: 4, 2>, offsets = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x1x6x16xf32>) -> tensor<1x1x4x16xf32>
    return %y : tensor<1x1x4x16xf32>
  }
}

// -----

// A mask over the keys alone (padded keys of an uneven split) holds for
// every patch: each patch's attention reads it whole.
// CHECK-LABEL: func.func @main
// CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} mask %arg1 {ditc.schedule = 1 : i64, ditc.stage = 0 : i64} : (tensor<1x1x4x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x1x8xi1>) -> tensor<1x1x4x16xf32>
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 2 : i64} {
  func.func @main(%x: tensor<1x1x8x16xf32>, %m: tensor<1x1x1x8xi1>) -> tensor<1x1x8x16xf32> {
    %a = ditc.attention %x, %x, %x mask %m : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x1x8xi1>) -> tensor<1x1x8x16xf32>
    %a2 = ditc.attention %a, %a, %a mask %m : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x1x8xi1>) -> tensor<1x1x8x16xf32>
    return %a2 : tensor<1x1x8x16xf32>
  }
}

// -----

// A mask per query row depends on the rows: refused.
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 2 : i64} {
  // expected-warning @+1 {{is causal or masked per query row; PipeFusion's stale K/V needs an attention whose rows see the same keys}}
  func.func @main(%x: tensor<1x1x8x16xf32>, %m: tensor<1x1x8x8xi1>) -> tensor<1x1x8x16xf32> {
    %a = ditc.attention %x, %x, %x mask %m : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x8xi1>) -> tensor<1x1x8x16xf32>
    %a2 = ditc.attention %a, %a, %a : (tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>, tensor<1x1x8x16xf32>) -> tensor<1x1x8x16xf32>
    return %a2 : tensor<1x1x8x16xf32>
  }
}

// -----

// A stream shorter than the patches (1 text token, 2 patches): refused.
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 2 : i64} {
  // expected-warning @+1 {{has a stream of 1 query tokens (per rank), fewer than the 2 patches}}
  func.func @main(%x: tensor<1x1x4x16xf32>, %c: tensor<1x1x1x16xf32>) -> tensor<1x1x5x16xf32> {
    %j = ditc.concat %x, %c {axis = 2 : i64, ditc.token_pieces = array<i64: 4, 1>} : (tensor<1x1x4x16xf32>, tensor<1x1x1x16xf32>) -> tensor<1x1x5x16xf32>
    %a = ditc.attention %j, %j, %j : (tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x1x5x16xf32>
    %a2 = ditc.attention %a, %a, %a : (tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>, tensor<1x1x5x16xf32>) -> tensor<1x1x5x16xf32>
    return %a2 : tensor<1x1x5x16xf32>
  }
}
