// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=ulysses=2" | FileCheck %s
// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=ulysses=2" -ditc-propagate-sharding | FileCheck %s --check-prefix=PROP
// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=pipefusion=2,ring=2" | FileCheck %s --check-prefix=PF
// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=pipefusion=2" | FileCheck %s --check-prefix=PF
// RUN: not ditc-opt %s -split-input-file -ditc-plan="plan=ulysses=2,whole_stream=1" -ditc-propagate-sharding 2>/dev/null | FileCheck %s --check-prefix=WHOLE
// RUN: not ditc-opt %s -split-input-file -ditc-plan="plan=ulysses=2,whole_stream=1" 2>&1 >/dev/null | FileCheck %s --check-prefix=WHOLE_CAUSAL

// Joint attention: an image stream (5 tokens) and a text stream (3) joined
// along the token axis and cut back by a slice and a split. The plan marks
// the concats and the slices and split that take exactly one stream (not
// the slice across both); propagation then splits both streams' tokens.
// CHECK-LABEL: func.func @main
// CHECK: ditc.concat {{.*}}ditc.token_pieces = array<i64: 5, 3>
// CHECK: ditc.attention
// CHECK: ditc.slice {{.*}}ditc.token_pieces = array<i64: 5, 3>{{.*}} -> tensor<1x5x4xf32>
// CHECK: ditc.split {{.*}}ditc.token_pieces = array<i64: 5, 3>
// CHECK: ditc.slice
// CHECK-NOT: token_pieces
// CHECK-SAME: -> tensor<1x4x4xf32>
// PROP-LABEL: func.func @main
// PROP-SAME: %arg0: tensor<1x5x4xf32> {ditc.sharding = #ditc.sharding<[{}, {"ulysses"}, {}]>}
// PROP-SAME: %arg1: tensor<1x3x4xf32> {ditc.sharding = #ditc.sharding<[{}, {"ulysses"}, {}]>}
// Under PipeFusion too, with a sequence split or alone (its synchronous
// schedule divides the streams; the stale one cuts each stream into the
// patches, test/Parallel/pipeline-stale.mlir and stale.test).
// whole_stream=1: the shortest stream (text, piece 1) is kept whole on
// every rank; propagation splits the image stream alone.
// WHOLE-LABEL: func.func @main
// WHOLE-SAME: %arg0: tensor<1x5x4xf32> {ditc.sharding = #ditc.sharding<[{}, {"ulysses"}, {}]>}
// WHOLE-SAME: %arg1: tensor<1x3x4xf32>)
// WHOLE: ditc.concat {{.*}}ditc.token_pieces = array<i64: 5, 3>, ditc.whole_pieces = array<i64: 1>
// WHOLE: ditc.slice {{.*}}ditc.token_pieces = array<i64: 5, 3>, ditc.whole_pieces = array<i64: 1>{{.*}} -> tensor<1x5x4xf32>
// WHOLE: ditc.split {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}]>, #ditc.sharding<[{}, {}, {}]>], ditc.token_pieces = array<i64: 5, 3>, ditc.whole_pieces = array<i64: 1>
// Causal attention keeps its streams joined whole: nothing to keep whole.
// WHOLE_CAUSAL: error: plan 'ulysses=2,whole_stream=1': whole_stream=1 keeps one stream of a joint attention whole, and no self-attention joins streams
// PF-LABEL: func.func @main
// PF: ditc.concat {{.*}}ditc.token_pieces = array<i64: 5, 3>
// PF: ditc.slice {{.*}}ditc.token_pieces = array<i64: 5, 3>{{.*}} -> tensor<1x5x4xf32>
// PF: ditc.split {{.*}}ditc.token_pieces = array<i64: 5, 3>
module {
  func.func @main(%x: tensor<1x5x4xf32>, %c: tensor<1x3x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>) {
    %xr = ditc.reshape %x : (tensor<1x5x4xf32>) -> tensor<1x5x2x2xf32>
    %xt = ditc.transpose %xr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x5x2x2xf32>) -> tensor<1x2x5x2xf32>
    %cr = ditc.reshape %c : (tensor<1x3x4xf32>) -> tensor<1x3x2x2xf32>
    %ct = ditc.transpose %cr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x2xf32>) -> tensor<1x2x3x2xf32>
    %j = ditc.concat %xt, %ct {axis = 2 : i64} : (tensor<1x2x5x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x8x2xf32>
    %a = ditc.attention %j, %j, %j : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %o = ditc.attention %a, %a, %a : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x2xf32>) -> tensor<1x8x2x2xf32>
    %or = ditc.reshape %ot : (tensor<1x8x2x2xf32>) -> tensor<1x8x4xf32>
    %ox = ditc.slice %or {offsets = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x5x4xf32>
    %s:2 = ditc.split %or {axis = 1 : i64} : (tensor<1x8x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>)
    %mid = ditc.slice %or {offsets = array<i64: 0, 2, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x4x4xf32>
    return %ox, %s#1, %mid : tensor<1x5x4xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>
  }
}

// -----

// Causal attention depends on the keys' order: its streams stay joined.
// CHECK-LABEL: func.func @main
// CHECK-NOT: token_pieces
module {
  func.func @main(%x: tensor<1x2x5x2xf32>, %c: tensor<1x2x3x2xf32>) -> tensor<1x2x8x2xf32> {
    %j = ditc.concat %x, %c {axis = 2 : i64} : (tensor<1x2x5x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x8x2xf32>
    %a = ditc.attention %j, %j, %j {causal} : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %o = ditc.attention %a, %a, %a {causal} : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    return %o : tensor<1x2x8x2xf32>
  }
}

// -----

// CogVideoX: the streams that the attention joined are joined again for the
// feed-forward (one linear over text and video concatenated, then cut). That
// join and its cuts get the same pieces, so the feed-forward runs on each
// rank's blocks of both streams (under PipeFusion too: the stale schedule
// cuts each stream into patches); a concat of other values along the tokens
// (the image stream with itself) is not a join of the streams and stays
// unmarked.
// CHECK-LABEL: func.func @main
// CHECK: ditc.concat {{.*}}ditc.token_pieces = array<i64: 5, 3>
// CHECK: ditc.split {{.*}}ditc.token_pieces = array<i64: 5, 3>
// CHECK: ditc.concat {{.*}}ditc.token_pieces = array<i64: 5, 3>{{.*}} -> tensor<1x8x4xf32>
// CHECK: ditc.linear
// CHECK: ditc.slice {{.*}}ditc.token_pieces = array<i64: 5, 3>{{.*}} -> tensor<1x5x4xf32>
// CHECK: ditc.slice {{.*}}ditc.token_pieces = array<i64: 5, 3>{{.*}} -> tensor<1x3x4xf32>
// CHECK: ditc.concat
// CHECK-NOT: token_pieces
// CHECK-SAME: -> tensor<1x10x4xf32>
// PROP-LABEL: func.func @main
// PROP: ditc.linear {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}]>]{{.*}} -> tensor<1x8x4xf32>
// PF-LABEL: func.func @main
// PF: ditc.split {{.*}}ditc.token_pieces = array<i64: 5, 3>
// PF: ditc.concat {{.*}}ditc.token_pieces = array<i64: 5, 3>{{.*}} -> tensor<1x8x4xf32>
module {
  func.func @main(%x: tensor<1x5x4xf32>, %c: tensor<1x3x4xf32>, %w: tensor<4x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>, tensor<1x10x4xf32>) {
    %j = ditc.concat %x, %c {axis = 1 : i64} : (tensor<1x5x4xf32>, tensor<1x3x4xf32>) -> tensor<1x8x4xf32>
    %r = ditc.reshape %j : (tensor<1x8x4xf32>) -> tensor<1x8x2x2xf32>
    %t = ditc.transpose %r {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x2xf32>) -> tensor<1x2x8x2xf32>
    %a0 = ditc.attention %t, %t, %t : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %a = ditc.attention %a0, %a0, %a0 : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %at = ditc.transpose %a {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x2xf32>) -> tensor<1x8x2x2xf32>
    %ar = ditc.reshape %at : (tensor<1x8x2x2xf32>) -> tensor<1x8x4xf32>
    %s:2 = ditc.split %ar {axis = 1 : i64} : (tensor<1x8x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>)
    %x1 = ditc.add %x, %s#0 : (tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<1x5x4xf32>
    %c1 = ditc.add %c, %s#1 : (tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %j2 = ditc.concat %x1, %c1 {axis = 1 : i64} : (tensor<1x5x4xf32>, tensor<1x3x4xf32>) -> tensor<1x8x4xf32>
    %f = ditc.linear %j2, %w : (tensor<1x8x4xf32>, tensor<4x4xf32>) -> tensor<1x8x4xf32>
    %fx = ditc.slice %f {offsets = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x5x4xf32>
    %fc = ditc.slice %f {offsets = array<i64: 0, 5, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x3x4xf32>
    %x2 = ditc.add %x1, %fx : (tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<1x5x4xf32>
    %c2 = ditc.add %c1, %fc : (tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> tensor<1x3x4xf32>
    %xx = ditc.concat %x2, %x2 {axis = 1 : i64} : (tensor<1x5x4xf32>, tensor<1x5x4xf32>) -> tensor<1x10x4xf32>
    return %x2, %c2, %xx : tensor<1x5x4xf32>, tensor<1x3x4xf32>, tensor<1x10x4xf32>
  }
}
