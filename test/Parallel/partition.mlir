// RUN: ditc-opt %s -split-input-file -ditc-partition | FileCheck %s

// Uneven Ulysses: 5 tokens and 3 heads over 2 ranks. The tokens are padded
// to 6 before each rank keeps its block, the heads to 4 before the
// all-to-all; the padded key is masked out; the padded head is dropped
// after the all-to-all back, and the padded token after the gather.
// CHECK-LABEL: func.func @main
// CHECK: %[[Z:.*]] = ditc.constant dense<0.000000e+00> : tensor<1x1x6xf32>
// CHECK: %[[P:.*]] = ditc.concat %arg0, %[[Z]] {axis = 1 : i64} : (tensor<1x5x6xf32>, tensor<1x1x6xf32>) -> tensor<1x6x6xf32>
// CHECK: ditc.collective.shard %[[P]] {axes = ["ulysses"], axis = 1 : i64} : (tensor<1x6x6xf32>) -> tensor<1x3x6xf32>
// CHECK: ditc.concat {{.*}} {axis = 1 : i64} : (tensor<1x3x3x2xf32>, tensor<1x1x3x2xf32>) -> tensor<1x4x3x2xf32>
// CHECK: %[[Q:.*]] = ditc.collective.all_to_all {{.*}} {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<1x4x3x2xf32>) -> tensor<1x2x6x2xf32>
// CHECK: %[[M:.*]] = ditc.constant dense<{{\[\[\[\[}}true, true, true, true, true, false]]]]> : tensor<1x1x1x6xi1>
// CHECK: %[[O:.*]] = ditc.attention %[[Q]], {{.*}} mask %[[M]] : {{.*}} -> tensor<1x2x6x2xf32>
// CHECK: %[[B:.*]] = ditc.collective.all_to_all %[[O]] {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<1x2x6x2xf32>) -> tensor<1x4x3x2xf32>
// CHECK: ditc.slice %[[B]] {{.*}} : (tensor<1x4x3x2xf32>) -> tensor<1x3x3x2xf32>
// CHECK: %[[G:.*]] = ditc.collective.all_gather {{.*}} {axes = ["ulysses"], axis = 1 : i64} : (tensor<1x3x6xf32>) -> tensor<1x6x6xf32>
// CHECK: %[[U:.*]] = ditc.slice %[[G]] {{.*}} : (tensor<1x6x6xf32>) -> tensor<1x5x6xf32>
// CHECK: return %[[U]]
module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @main(%x: tensor<1x5x6xf32>) -> tensor<1x5x6xf32> {
    %q = ditc.reshape %x {ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}, {}]>]} : (tensor<1x5x6xf32>) -> tensor<1x5x3x2xf32>
    %t = ditc.transpose %q {ditc.sharding = [#ditc.sharding<[{}, {}, {"ulysses"}, {}]>], permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x5x3x2xf32>) -> tensor<1x3x5x2xf32>
    %o = ditc.attention %t, %t, %t {ditc.sequence_parallel = #ditc.sequence_parallel<ulysses>, ditc.sharding = [#ditc.sharding<[{}, {}, {"ulysses"}, {}]>]} : (tensor<1x3x5x2xf32>, tensor<1x3x5x2xf32>, tensor<1x3x5x2xf32>) -> tensor<1x3x5x2xf32>
    %b = ditc.transpose %o {ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}, {}]>], permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x5x2xf32>) -> tensor<1x5x3x2xf32>
    %y = ditc.reshape %b {ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}]>]} : (tensor<1x5x3x2xf32>) -> tensor<1x5x6xf32>
    return %y : tensor<1x5x6xf32>
  }
}

// -----

// Ring on 6 tokens over 4 ranks: blocks of 2 (8 with padding), keys beyond
// the sixth are padding (kv_valid); a mask's query rows follow the ring
// block, its keys stay whole and are padded with -inf.
// CHECK-LABEL: func.func @ring
// CHECK: %[[X:.*]] = ditc.collective.shard {{.*}} {axes = ["ring"], axis = 2 : i64} : (tensor<1x2x8x4xf32>) -> tensor<1x2x2x4xf32>
// CHECK: %[[MP:.*]] = ditc.concat %arg1, {{.*}} {axis = 2 : i64} : (tensor<1x1x6x6xf32>, tensor<1x1x2x6xf32>) -> tensor<1x1x8x6xf32>
// CHECK: %[[MK:.*]] = ditc.concat %[[MP]], {{.*}} {axis = 3 : i64} : (tensor<1x1x8x6xf32>, tensor<1x1x8x2xf32>) -> tensor<1x1x8x8xf32>
// CHECK: %[[MS:.*]] = ditc.collective.shard %[[MK]] {axes = ["ring"], axis = 2 : i64} : (tensor<1x1x8x8xf32>) -> tensor<1x1x2x8xf32>
// CHECK: %[[O:.*]] = ditc.ring_attention %[[X]], %[[X]], %[[X]] mask %[[MS]] {axes = ["ring"], kv_valid = 6 : i64} : {{.*}} -> tensor<1x2x2x4xf32>
// CHECK: ditc.collective.all_gather %[[O]] {axes = ["ring"], axis = 2 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x8x4xf32>
// CHECK: ditc.slice {{.*}} -> tensor<1x2x6x4xf32>
module attributes {ditc.mesh = #ditc.mesh<["ring" = 4 : ring]>} {
  func.func @ring(%x: tensor<1x2x6x4xf32> {ditc.sharding = #ditc.sharding<[{}, {}, {"ring"}, {}]>}, %m: tensor<1x1x6x6xf32>) -> tensor<1x2x6x4xf32> {
    %o = ditc.attention %x, %x, %x mask %m {ditc.sequence_parallel = #ditc.sequence_parallel<ring>, ditc.sharding = [#ditc.sharding<[{}, {}, {"ring"}, {}]>]} : (tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x2x6x4xf32>, tensor<1x1x6x6xf32>) -> tensor<1x2x6x4xf32>
    return %o : tensor<1x2x6x4xf32>
  }
}

// -----

// A double ring: the ring over both ring axes, the inner rings over the
// ring_inner axis (the trailing one); 8 tokens in blocks of 2.
// CHECK-LABEL: func.func @double_ring
// CHECK: %[[X:.*]] = ditc.collective.shard {{.*}} {axes = ["ring", "ring_inner"], axis = 2 : i64} : (tensor<1x2x8x4xf32>) -> tensor<1x2x2x4xf32>
// CHECK: %[[O:.*]] = ditc.ring_attention %[[X]], %[[X]], %[[X]] {axes = ["ring", "ring_inner"], inner = ["ring_inner"], kv_valid = 0 : i64} : {{.*}} -> tensor<1x2x2x4xf32>
// CHECK: ditc.collective.all_gather %[[O]] {axes = ["ring", "ring_inner"], axis = 2 : i64} : (tensor<1x2x2x4xf32>) -> tensor<1x2x8x4xf32>
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>} {
  func.func @double_ring(%x: tensor<1x2x8x4xf32> {ditc.sharding = #ditc.sharding<[{}, {}, {"ring", "ring_inner"}, {}]>}) -> tensor<1x2x8x4xf32> {
    %o = ditc.attention %x, %x, %x {ditc.sequence_parallel = #ditc.sequence_parallel<ring>, ditc.sharding = [#ditc.sharding<[{}, {}, {"ring", "ring_inner"}, {}]>]} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    return %o : tensor<1x2x8x4xf32>
  }
}

// -----

// Tensor parallelism: a column-parallel layer, GELU on its block of hidden
// units, a row-parallel layer whose partial sums are added up by an
// all-reduce before the bias is added once. Weights become per-rank slices.
// CHECK-LABEL: func.func @mlp
// CHECK-DAG: %[[W1:.*]] = ditc.weight "w1@{{\[\[\], \[tp\]\]}}" {ditc.global_shape = array<i64: 16, 64>, ditc.shard = #ditc.sharding<[{}, {"tp"}]>, ditc.source_name = "w1", file = "m.onnx", offset = 0 : i64} : tensor<16x32xf32>
// CHECK-DAG: %[[B1:.*]] = ditc.weight "b1@{{\[\[tp\]\]}}" {{.*}} : tensor<32xf32>
// CHECK-DAG: %[[B2:.*]] = ditc.weight "b2" {file = "m.onnx", offset = 8448 : i64} : tensor<16xf32>
// CHECK: %[[H:.*]] = ditc.linear %arg0, %[[W1]] bias %[[B1]] : (tensor<8x16xf32>, tensor<16x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
// CHECK: %[[G:.*]] = ditc.gelu %[[H]] {{.*}}: tensor<8x32xf32>
// CHECK: %[[W2:.*]] = ditc.weight "w2@{{\[\[tp\], \[\]\]}}" {{.*}} : tensor<32x16xf32>
// CHECK: %[[Y:.*]] = ditc.linear %[[G]], %[[W2]] : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
// CHECK: %[[S:.*]] = ditc.collective.all_reduce %[[Y]] {axes = ["tp"]} : (tensor<8x16xf32>) -> tensor<8x16xf32>
// CHECK: %[[R:.*]] = ditc.add %[[S]], %[[B2]]
// CHECK: return %[[R]]
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @mlp(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
    %w1 = ditc.weight "w1" {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>], file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %b1 = ditc.weight "b1" {ditc.sharding = [#ditc.sharding<[{"tp"}]>], file = "m.onnx", offset = 4096 : i64} : tensor<64xf32>
    %w2 = ditc.weight "w2" {ditc.sharding = [#ditc.sharding<[{"tp"}, {}]>], file = "m.onnx", offset = 4352 : i64} : tensor<64x16xf32>
    %b2 = ditc.weight "b2" {file = "m.onnx", offset = 8448 : i64} : tensor<16xf32>
    %h = ditc.linear %x, %w1 bias %b1 {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x16xf32>, tensor<16x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %g = ditc.gelu %h {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : tensor<8x64xf32>
    %y = ditc.linear %g, %w2 bias %b2 : (tensor<8x64xf32>, tensor<64x16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}

// -----

// An RMS norm over features that tensor parallelism splits, cut into heads
// after it (Wan's q/k norm spans the heads): each rank squares and sums its
// 32 of the 64 features,
// the sums are all-reduced, the mean is over all 64, and the rank's block of
// the scale multiplies its block of the result.
// CHECK-LABEL: func.func @rms_norm_split
// CHECK: %[[H:.*]] = ditc.linear %arg0, {{.*}} -> tensor<8x32xf32>
// CHECK: %[[G:.*]] = ditc.weight "g@{{\[\[tp\]\]}}" {{.*}} : tensor<32xf32>
// CHECK: %[[SQ:.*]] = ditc.mul %[[H]], %[[H]] : (tensor<8x32xf32>, tensor<8x32xf32>) -> tensor<8x32xf32>
// CHECK: %[[SUM:.*]] = ditc.reduce_sum %[[SQ]] {axes = array<i64: 1>} : (tensor<8x32xf32>) -> tensor<8x1xf32>
// CHECK: %[[ALL:.*]] = ditc.collective.all_reduce %[[SUM]] {axes = ["tp"]} : (tensor<8x1xf32>) -> tensor<8x1xf32>
// CHECK: %[[N:.*]] = ditc.constant dense<1.562500e-02> : tensor<f32>
// CHECK: %[[MEAN:.*]] = ditc.mul %[[ALL]], %[[N]]
// CHECK: %[[EPS:.*]] = ditc.constant dense<9.99999997E-7> : tensor<f32>
// CHECK: %[[V:.*]] = ditc.add %[[MEAN]], %[[EPS]]
// CHECK: %[[R:.*]] = ditc.sqrt %[[V]]
// CHECK: %[[INV:.*]] = ditc.reciprocal %[[R]]
// CHECK: %[[Y:.*]] = ditc.mul %[[H]], %[[INV]] : (tensor<8x32xf32>, tensor<8x1xf32>) -> tensor<8x32xf32>
// CHECK: %[[N:.*]] = ditc.mul %[[Y]], %[[G]] : (tensor<8x32xf32>, tensor<32xf32>) -> tensor<8x32xf32>
// CHECK: ditc.reshape %[[N]] : (tensor<8x32xf32>) -> tensor<8x2x16xf32>
// CHECK-NOT: ditc.rms_norm
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @rms_norm_split(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
    %w1 = ditc.weight "w1" {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>], file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %g = ditc.weight "g" {ditc.sharding = [#ditc.sharding<[{"tp"}]>], file = "m.onnx", offset = 4096 : i64} : tensor<64xf32>
    %w2 = ditc.weight "w2" {ditc.sharding = [#ditc.sharding<[{"tp"}, {}]>], file = "m.onnx", offset = 4352 : i64} : tensor<64x16xf32>
    %h = ditc.linear %x, %w1 {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x16xf32>, tensor<16x64xf32>) -> tensor<8x64xf32>
    %n = ditc.rms_norm %h scale %g {axis = 1 : i64, epsilon = 1.0e-06 : f64, ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %heads = ditc.reshape %n {ditc.sharding = [#ditc.sharding<[{}, {"tp"}, {}]>]} : (tensor<8x64xf32>) -> tensor<8x4x16xf32>
    %e = ditc.exp %heads {ditc.sharding = [#ditc.sharding<[{}, {"tp"}, {}]>]} : tensor<8x4x16xf32>
    %back = ditc.reshape %e {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x4x16xf32>) -> tensor<8x64xf32>
    %y = ditc.linear %back, %w2 : (tensor<8x64xf32>, tensor<64x16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}

// -----

// The same norm feeding a layer directly (a residual stream's norm, as
// Llama's): its features stay whole, gathered before it.
// CHECK-LABEL: func.func @rms_norm_whole
// CHECK: ditc.collective.all_gather {{.*}} -> tensor<8x64xf32>
// CHECK: ditc.rms_norm {{.*}} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
// CHECK-NOT: ditc.reduce_sum
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @rms_norm_whole(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
    %w1 = ditc.weight "w1" {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>], file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %g = ditc.weight "g" {file = "m.onnx", offset = 4096 : i64} : tensor<64xf32>
    %w2 = ditc.weight "w2" {file = "m.onnx", offset = 4352 : i64} : tensor<64x16xf32>
    %h = ditc.linear %x, %w1 {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x16xf32>, tensor<16x64xf32>) -> tensor<8x64xf32>
    %n = ditc.rms_norm %h scale %g {axis = 1 : i64, epsilon = 1.0e-06 : f64} : (tensor<8x64xf32>, tensor<64xf32>) -> tensor<8x64xf32>
    %y = ditc.linear %n, %w2 : (tensor<8x64xf32>, tensor<64x16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}

// -----

// cfg and ulysses together: batch halves on one axis, tokens on the other;
// the all-to-all runs over the ulysses axis only; the output is gathered
// over both.
// CHECK-LABEL: func.func @cfg_ulysses
// CHECK: ditc.collective.shard %arg0 {axes = ["cfg"], axis = 0 : i64} : (tensor<2x2x4x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK: ditc.collective.shard {{.*}} {axes = ["ulysses"], axis = 2 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x2x8xf32>
// CHECK: ditc.collective.all_to_all {{.*}} {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<1x2x2x8xf32>) -> tensor<1x1x4x8xf32>
// CHECK: ditc.attention {{.*}} -> tensor<1x1x4x8xf32>
// CHECK: ditc.collective.all_to_all {{.*}} : (tensor<1x1x4x8xf32>) -> tensor<1x2x2x8xf32>
// CHECK: ditc.collective.all_gather {{.*}} {axes = ["cfg"], axis = 0 : i64} : (tensor<1x2x2x8xf32>) -> tensor<2x2x2x8xf32>
// CHECK: ditc.collective.all_gather {{.*}} {axes = ["ulysses"], axis = 2 : i64} : (tensor<2x2x2x8xf32>) -> tensor<2x2x4x8xf32>
module attributes {ditc.mesh = #ditc.mesh<["cfg" = 2 : cfg, "ulysses" = 2 : ulysses]>} {
  func.func @cfg_ulysses(%x: tensor<2x2x4x8xf32> {ditc.sharding = #ditc.sharding<[{"cfg"}, {}, {"ulysses"}, {}]>}) -> tensor<2x2x4x8xf32> {
    %o = ditc.attention %x, %x, %x {ditc.sequence_parallel = #ditc.sequence_parallel<ulysses>, ditc.sharding = [#ditc.sharding<[{"cfg"}, {}, {"ulysses"}, {}]>]} : (tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x4x8xf32>
    return %o : tensor<2x2x4x8xf32>
  }
}

// -----

// Tokens split but no algorithm recorded (ditc.sequence_parallel): no
// all-to-all and no ring; this rank's query rows attend to whole K/V.
// CHECK-LABEL: func.func @no_algorithm
// CHECK-NOT: all_to_all
// CHECK: %[[Q:.*]] = ditc.collective.shard %arg0 {axes = ["ulysses"], axis = 2 : i64}
// CHECK-NEXT: ditc.attention %[[Q]], %arg0, %arg0 : (tensor<1x2x4x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT: ditc.collective.all_gather
module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @no_algorithm(%x: tensor<1x2x8x4xf32> {ditc.sharding = #ditc.sharding<[{}, {}, {"ulysses"}, {}]>}) -> tensor<1x2x8x4xf32> {
    %o = ditc.attention %x, %x, %x {ditc.sharding = [#ditc.sharding<[{}, {}, {"ulysses"}, {}]>]} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    return %o : tensor<1x2x8x4xf32>
  }
}

// -----

// A layer with an activation (an epilogue, as code generation fuses it)
// never splits its contraction: the activation of a partial sum is not a
// part of the activation. The column-parallel layer's block of hidden units
// is gathered and the whole weight read; no all-reduce follows.
// CHECK-LABEL: func.func @row_with_activation
// CHECK: %[[H:.*]] = ditc.linear %arg0, %{{.*}} : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
// CHECK: %[[G:.*]] = ditc.collective.all_gather %[[H]] {{.*}}axes = ["tp"]{{.*}} : (tensor<8x32xf32>) -> tensor<8x64xf32>
// CHECK: %[[Y:.*]] = ditc.linear %[[G]], %{{.*}} {activation = #ditc.activation<gelu_tanh>{{.*}}} : (tensor<8x64xf32>, tensor<64x16xf32>) -> tensor<8x16xf32>
// CHECK-NOT: all_reduce
// CHECK: return %[[Y]]
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @row_with_activation(%x: tensor<8x16xf32>) -> tensor<8x16xf32> {
    %w1 = ditc.weight "w1" {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>], file = "m.onnx", offset = 0 : i64} : tensor<16x64xf32>
    %w2 = ditc.weight "w2" {ditc.sharding = [#ditc.sharding<[{"tp"}, {}]>], file = "m.onnx", offset = 4096 : i64} : tensor<64x16xf32>
    %h = ditc.linear %x, %w1 {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : (tensor<8x16xf32>, tensor<16x64xf32>) -> tensor<8x64xf32>
    %y = ditc.linear %h, %w2 {activation = #ditc.activation<gelu_tanh>} : (tensor<8x64xf32>, tensor<64x16xf32>) -> tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
}
