// RUN: ditc-opt %s -split-input-file -ditc-test-chunk-legality -mlir-print-op-on-diagnostic=false -o /dev/null 2>&1 | FileCheck %s

// Which chunk flows -ditc-chunk may build: the rules come from the ops'
// sharding rules (a chunked dimension flows along parallel factors only).

// Tokens of an MLP: the norm, both linears and the GELU run per chunk of
// tokens; the input is cut, the weights are read whole.
// CHECK: remark: chunk legal: 4 ops [ditc.layer_norm, ditc.linear, ditc.gelu, ditc.linear], chunked inputs [arg0 dim 1], size 64
func.func @main(%x: tensor<1x64x32xf32>) -> tensor<1x64x32xf32> {
  %w1 = ditc.weight "w1" {file = "m.bin", offset = 0 : i64} : tensor<32x128xf32>
  %w2 = ditc.weight "w2" {file = "m.bin", offset = 16384 : i64} : tensor<128x32xf32>
  %n = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<1x64x32xf32>) -> tensor<1x64x32xf32>
  %h = ditc.linear %n, %w1 {test.chunk_dim = 1 : i64} : (tensor<1x64x32xf32>, tensor<32x128xf32>) -> tensor<1x64x128xf32>
  %g = ditc.gelu %h : tensor<1x64x128xf32>
  %y = ditc.linear %g, %w2 : (tensor<1x64x128xf32>, tensor<128x32xf32>) -> tensor<1x64x32xf32>
  return %y : tensor<1x64x32xf32>
}

// -----

// Hidden units of an MLP: the second linear contracts them.
// CHECK: remark: chunk refused: 'ditc.linear' {{.*}}reduces over its operand 0 dimension 2
func.func @main(%x: tensor<1x64x32xf32>) -> tensor<1x64x32xf32> {
  %w1 = ditc.weight "w1" {file = "m.bin", offset = 0 : i64} : tensor<32x128xf32>
  %w2 = ditc.weight "w2" {file = "m.bin", offset = 16384 : i64} : tensor<128x32xf32>
  %h = ditc.linear %x, %w1 : (tensor<1x64x32xf32>, tensor<32x128xf32>) -> tensor<1x64x128xf32>
  %g = ditc.gelu %h {test.chunk_dim = 2 : i64} : tensor<1x64x128xf32>
  %y = ditc.linear %g, %w2 : (tensor<1x64x128xf32>, tensor<128x32xf32>) -> tensor<1x64x32xf32>
  return %y : tensor<1x64x32xf32>
}

// -----

// The axis of a softmax.
// CHECK: remark: chunk refused: 'ditc.softmax' {{.*}}does not compute its operand 0 dimension 2 independently
func.func @main(%x: tensor<1x8x64xf32>) -> tensor<1x8x64xf32> {
  %e = ditc.exp %x {test.chunk_dim = 2 : i64} : tensor<1x8x64xf32>
  %s = ditc.softmax %e {axis = 2 : i64} : tensor<1x8x64xf32>
  return %s : tensor<1x8x64xf32>
}

// -----

// The axis of a norm.
// CHECK: remark: chunk refused: 'ditc.layer_norm' {{.*}}does not compute its operand 0 dimension 2 independently
func.func @main(%x: tensor<1x8x64xf32>) -> tensor<1x8x64xf32> {
  %e = ditc.exp %x {test.chunk_dim = 2 : i64} : tensor<1x8x64xf32>
  %n = ditc.layer_norm %e {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<1x8x64xf32>) -> tensor<1x8x64xf32>
  return %n : tensor<1x8x64xf32>
}

// -----

// Query rows of attention: Q and the result are cut, K and V read whole.
// CHECK: remark: chunk legal: 3 ops [ditc.mul, ditc.attention, ditc.add], chunked inputs [arg0 dim 2, arg3 dim 2], size 16
func.func @main(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>, %r: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %qs = ditc.mul %q, %c {test.chunk_dim = 2 : i64} : (tensor<1x2x16x8xf32>, tensor<f32>) -> tensor<1x2x16x8xf32>
  %o = ditc.attention %qs, %k, %v : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %y = ditc.add %o, %r : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %y : tensor<1x2x16x8xf32>
}

// -----

// Heads of attention: Q, K and V are all cut.
// CHECK: remark: chunk legal: 2 ops [ditc.mul, ditc.attention], chunked inputs [arg0 dim 1, arg1 dim 1, arg2 dim 1], size 4
func.func @main(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %qs = ditc.mul %q, %c {test.chunk_dim = 1 : i64} : (tensor<1x4x16x8xf32>, tensor<f32>) -> tensor<1x4x16x8xf32>
  %o = ditc.attention %qs, %k, %v : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// Key tokens of attention: each query row reads all of them.
// CHECK: remark: chunk refused: 'ditc.attention' {{.*}}does not compute its operand 1 dimension 2 independently
func.func @main(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %ks = ditc.mul %k, %c {test.chunk_dim = 2 : i64} : (tensor<1x2x16x8xf32>, tensor<f32>) -> tensor<1x2x16x8xf32>
  %o = ditc.attention %q, %ks, %v : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

// -----

// Causal attention's query rows are legal too: the loop tells each chunk
// where its rows start (ditc.chunk_offset, test/Transforms/chunk-causal.mlir).
// CHECK: remark: chunk legal: 2 ops [ditc.mul, ditc.attention], chunked inputs [arg0 dim 2], size 16
func.func @main(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %qs = ditc.mul %q, %c {test.chunk_dim = 2 : i64} : (tensor<1x2x16x8xf32>, tensor<f32>) -> tensor<1x2x16x8xf32>
  %o = ditc.attention %qs, %k, %v {causal} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

// -----

// A value needed whole: the tokens' sum over the chunked axis.
// CHECK: remark: chunk refused: 'ditc.reduce_sum' {{.*}}does not compute its operand 0 dimension 1 independently
func.func @main(%x: tensor<1x64x32xf32>) -> tensor<1x1x32xf32> {
  %e = ditc.exp %x {test.chunk_dim = 1 : i64} : tensor<1x64x32xf32>
  %s = ditc.reduce_sum %e {axes = array<i64: 1>, keep_dims = true} : (tensor<1x64x32xf32>) -> tensor<1x1x32xf32>
  return %s : tensor<1x1x32xf32>
}

// -----

// Collectives stay outside loops.
// CHECK: remark: chunk refused: 'ditc.collective.all_reduce' {{.*}}cannot run in a chunk loop: it communicates
module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
func.func @main(%x: tensor<1x64x32xf32>) -> tensor<1x64x32xf32> {
  %e = ditc.exp %x {test.chunk_dim = 1 : i64} : tensor<1x64x32xf32>
  %s = ditc.collective.all_reduce %e {axes = ["tp"]} : (tensor<1x64x32xf32>) -> tensor<1x64x32xf32>
  return %s : tensor<1x64x32xf32>
}
}

// -----

// seq_major tensors ([B, S, H, D]) are cut where their tokens are: query
// rows are dim 1 of the query and of the result.
// CHECK: remark: chunk legal: 3 ops [ditc.mul, ditc.attention, ditc.add], chunked inputs [arg0 dim 1, arg3 dim 1], size 16
func.func @main(%q: tensor<1x16x2x8xf32>, %k: tensor<1x16x2x8xf32>, %v: tensor<1x2x16x8xf32>, %r: tensor<1x16x2x8xf32>) -> tensor<1x16x2x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %qs = ditc.mul %q, %c {test.chunk_dim = 1 : i64} : (tensor<1x16x2x8xf32>, tensor<f32>) -> tensor<1x16x2x8xf32>
  %o = ditc.attention %qs, %k, %v {causal, seq_major = array<i1: true, true, false, true>} : (tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x16x2x8xf32>
  %y = ditc.add %o, %r : (tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>) -> tensor<1x16x2x8xf32>
  return %y : tensor<1x16x2x8xf32>
}

// -----

// A seq_major key's tokens (dim 1) are every query row's: refused.
// CHECK: remark: chunk refused: 'ditc.attention' {{.*}}does not compute its operand 1 dimension 1 independently
func.func @main(%q: tensor<1x16x2x8xf32>, %k: tensor<1x16x2x8xf32>, %v: tensor<1x16x2x8xf32>) -> tensor<1x16x2x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %ks = ditc.mul %k, %c {test.chunk_dim = 1 : i64} : (tensor<1x16x2x8xf32>, tensor<f32>) -> tensor<1x16x2x8xf32>
  %o = ditc.attention %q, %ks, %v {seq_major = array<i1: true, true, true, true>} : (tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>) -> tensor<1x16x2x8xf32>
  return %o : tensor<1x16x2x8xf32>
}

// -----

// Heads of a seq_major attention are dim 2.
// CHECK: remark: chunk legal: 2 ops [ditc.mul, ditc.attention], chunked inputs [arg0 dim 2, arg1 dim 2], size 2
func.func @main(%q: tensor<1x16x2x8xf32>, %k: tensor<1x16x2x8xf32>) -> tensor<1x16x2x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %qs = ditc.mul %q, %c {test.chunk_dim = 2 : i64} : (tensor<1x16x2x8xf32>, tensor<f32>) -> tensor<1x16x2x8xf32>
  %o = ditc.attention %qs, %k, %k {seq_major = array<i1: true, true, true, true>} : (tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>) -> tensor<1x16x2x8xf32>
  return %o : tensor<1x16x2x8xf32>
}
