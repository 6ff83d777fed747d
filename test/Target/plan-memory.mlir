// RUN: ditc-opt %s -split-input-file -ditc-plan-memory | FileCheck %s

// Buffers are reused once dead, elementwise ops write over an operand that
// dies there, a reshape is a view, and a returned result goes straight to
// its output buffer (offset -2 - k).
// CHECK-LABEL: module attributes {ditc.arena_bytes = 2048 : i64}
// CHECK: ditc.linear %arg0, %{{.*}} {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.gelu %{{.*}} {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.linear %{{.*}}, %{{.*}} {ditc.offsets = array<i64: 1024>}
// CHECK-NEXT: ditc.add %{{.*}}, %arg0 {ditc.offsets = array<i64: 1024>}
// CHECK-NEXT: ditc.reshape %{{.*}} {ditc.offsets = array<i64: -1>}
// CHECK-NEXT: ditc.sigmoid %{{.*}} {ditc.offsets = array<i64: -2>}
func.func @main(%x: tensor<4x64xf32> {ditc.name = "x"}) -> (tensor<4x64xf32> {ditc.name = "y"}, tensor<256xf32> {ditc.name = "z"}) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x64xf32>
  %a = ditc.linear %x, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %g = ditc.gelu %a : tensor<4x64xf32>
  %b = ditc.linear %g, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %s = ditc.add %b, %x : (tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %r = ditc.reshape %s : (tensor<4x64xf32>) -> tensor<256xf32>
  %t = ditc.sigmoid %s : tensor<4x64xf32>
  return %t, %r : tensor<4x64xf32>, tensor<256xf32>
}

// -----

// A view keeps its source alive: %a is not reused while %v is read; the add
// then writes in place through the view (same shape), not over %b (whose
// shape differs from the result's).
// CHECK-LABEL: module attributes {ditc.arena_bytes = 256 : i64}
// CHECK: ditc.exp %arg0 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.reshape
// CHECK-NEXT: ditc.exp %arg0 {ditc.offsets = array<i64: 128>}
// CHECK-NEXT: ditc.add %{{.*}}, %{{.*}} {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.add %{{.*}}, %arg1 {ditc.offsets = array<i64: -2>}
func.func @main(%x: tensor<32xf32>, %y: tensor<2x32xf32>) -> tensor<2x32xf32> {
  %a = ditc.exp %x : tensor<32xf32>
  %v = ditc.reshape %a : (tensor<32xf32>) -> tensor<1x32xf32>
  %b = ditc.exp %x : tensor<32xf32>
  %c = ditc.add %b, %v : (tensor<32xf32>, tensor<1x32xf32>) -> tensor<1x32xf32>
  %d = ditc.add %c, %y : (tensor<1x32xf32>, tensor<2x32xf32>) -> tensor<2x32xf32>
  return %d : tensor<2x32xf32>
}

// -----

// An empty result takes no slot: it must not evict the live buffer placed
// at the same offset (the split's full part stays at 0 and the exp is placed
// after it, not over it). The part is read contiguously (by a neg): not a
// view.
// CHECK-LABEL: module attributes {ditc.arena_bytes = 256 : i64}
// CHECK: ditc.split %arg0 {axis = 1 : i64, ditc.offsets = array<i64: 0, 0>}
// CHECK-NEXT: ditc.exp %arg1 {ditc.offsets = array<i64: 128>}
func.func @main(%x: tensor<4x8xf32>, %y: tensor<32xf32>) -> tensor<4x8xf32> {
  %s:2 = ditc.split %x {axis = 1 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x0xf32>)
  %g = ditc.exp %y : tensor<32xf32>
  %r = ditc.reshape %g : (tensor<32xf32>) -> tensor<4x8xf32>
  %n = ditc.neg %s#0 : tensor<4x8xf32>
  %a = ditc.add %n, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %a : tensor<4x8xf32>
}

// -----

// rope writes over its input when the input dies there (%r over %e), but
// never over a table, even one of the input's type that dies there (%t over
// %c would be read after being overwritten): %t gets a slot of its own.
// CHECK-LABEL: module attributes {ditc.arena_bytes = 1536 : i64}
// CHECK: ditc.exp %arg0 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.rope %{{.*}}, %arg1, %arg2 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.exp %arg0 {ditc.offsets = array<i64: 512>}
// CHECK-NEXT: ditc.rope %{{.*}}, %{{.*}}, %{{.*}} {ditc.offsets = array<i64: 1024>}
func.func @main(%x: tensor<1x2x8x8xf32>, %cos: tensor<8x8xf32>, %sin: tensor<8x8xf32>) -> tensor<1x2x8x8xf32> {
  %e = ditc.exp %x : tensor<1x2x8x8xf32>
  %r = ditc.rope %e, %cos, %sin : (tensor<1x2x8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) -> tensor<1x2x8x8xf32>
  %c = ditc.exp %x : tensor<1x2x8x8xf32>
  %t = ditc.rope %r, %c, %c : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %y = ditc.add %t, %r : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  return %y : tensor<1x2x8x8xf32>
}

// -----

// A gated residual writes over its residual where that dies (the gate, of
// another shape, is never overwritten).
// CHECK-LABEL: module attributes {ditc.arena_bytes = 1024 : i64}
// CHECK: ditc.exp %arg0 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.mul_add %arg1, %arg0, %{{.*}} {ditc.offsets = array<i64: 0>}
func.func @main(%x: tensor<4x64xf32>, %g: tensor<1x64xf32>) -> tensor<4x64xf32> {
  %e = ditc.exp %x : tensor<4x64xf32>
  %r = ditc.mul_add %g, %x, %e : (tensor<1x64xf32>, tensor<4x64xf32>, tensor<4x64xf32>) -> tensor<4x64xf32>
  %s = ditc.sigmoid %r : tensor<4x64xf32>
  return %s : tensor<4x64xf32>
}

// -----

// Pieces of a split and slices that every user reads through strides
// (binary ops, mul_add, where; through reshapes of unit dims) are views of
// their input (-1), which stays live until their last use: the layer norm
// does not take offset 0. A piece read contiguously (the layer norm's) is
// copied. Nothing is written over a view's input through the view: the add
// of the reversed slice, whose input dies there and has its size, gets the
// split's freed slot, not offset 0.
// CHECK-LABEL: module attributes {ditc.arena_bytes = 192 : i64}
// CHECK: ditc.exp %arg0 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.split %{{.*}} {axis = 1 : i64, ditc.offsets = array<i64: -1, 64>}
// CHECK-NEXT: ditc.reshape %{{.*}}#0 {ditc.offsets = array<i64: -1>}
// CHECK-NEXT: ditc.mul_add %{{.*}}, %arg1, %arg1 {ditc.offsets = array<i64: -2>}
// CHECK-NEXT: ditc.layer_norm %{{.*}}#1 {axis = 1 : i64, ditc.offsets = array<i64: 128>
// CHECK-NEXT: ditc.slice %{{.*}} {ditc.offsets = array<i64: -1>
// CHECK-NEXT: ditc.add %{{.*}}, %arg0 {ditc.offsets = array<i64: 64>}
func.func @main(%x: tensor<2x8xf32>, %y: tensor<2x3x4xf32>)
    -> (tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2x8xf32>) {
  %p = ditc.exp %x : tensor<2x8xf32>
  %s:2 = ditc.split %p {axis = 1 : i64} : (tensor<2x8xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>)
  %g = ditc.reshape %s#0 : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
  %r = ditc.mul_add %g, %y, %y : (tensor<2x1x4xf32>, tensor<2x3x4xf32>, tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  %n = ditc.layer_norm %s#1 {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %v = ditc.slice %p {offsets = array<i64: 0, 7>, steps = array<i64: 1, -1>} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  %b = ditc.add %v, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %e = ditc.exp %n : tensor<2x4xf32>
  %f = ditc.neg %b : tensor<2x8xf32>
  return %r, %e, %f : tensor<2x3x4xf32>, tensor<2x4xf32>, tensor<2x8xf32>
}

// -----

// A layer norm reads a modulation's features contiguously: every other
// column of a projection is copied for it (no view).
// CHECK-LABEL: module attributes {ditc.arena_bytes = 64 : i64}
// CHECK: ditc.slice %arg1 {ditc.offsets = array<i64: 0>
// CHECK: ditc.layer_norm %arg0 mod_scale %{{.*}} {axis = 2 : i64, ditc.offsets = array<i64: -2>
func.func @main(%x: tensor<2x3x4xf32>, %p: tensor<2x8xf32>) -> tensor<2x3x4xf32> {
  %v = ditc.slice %p {offsets = array<i64: 0, 0>, steps = array<i64: 1, 2>} : (tensor<2x8xf32>) -> tensor<2x4xf32>
  %m = ditc.reshape %v : (tensor<2x4xf32>) -> tensor<2x1x4xf32>
  %y = ditc.layer_norm %x mod_scale %m {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x3x4xf32>, tensor<2x1x4xf32>) -> tensor<2x3x4xf32>
  return %y : tensor<2x3x4xf32>
}

// -----

// First-fit leaves a hole: %a dies when %b is placed after it, and %c
// (twice the size) does not fit in %a's slot (first-fit would end at 256).
// With every lifetime known, largest first packs it into 192 bytes: %c at
// 0, %b after it, %a (never alive with %c) at 0 again.
// CHECK-LABEL: module attributes {ditc.arena_bytes = 192 : i64}
// CHECK: ditc.exp %arg0 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.softmax %{{.*}} {axis = 0 : i64, ditc.offsets = array<i64: 128>}
// CHECK-NEXT: ditc.concat %{{.*}}, %{{.*}} {axis = 0 : i64, ditc.offsets = array<i64: 0>}
func.func @main(%x: tensor<16xf32>) -> tensor<32xf32> {
  %a = ditc.exp %x : tensor<16xf32>
  %b = ditc.softmax %a {axis = 0 : i64} : tensor<16xf32>
  %c = ditc.concat %b, %b {axis = 0 : i64} : (tensor<16xf32>, tensor<16xf32>) -> tensor<32xf32>
  %d = ditc.softmax %c {axis = 0 : i64} : tensor<32xf32>
  return %d : tensor<32xf32>
}

// -----

// Concat parts: the ops that write a concat's inputs write into its
// buffer, each at its place (no copy; the concat's buffer lives from the
// first of them), through a reshape that is its input's only user too.
// Text (2 rows of 16 floats, 128 bytes) and image (4 rows, 256 bytes):
// %t at 0, %i at 128 (its reshape %ir is a view), the concat at 0.
// CHECK-LABEL: module attributes {ditc.arena_bytes = 384 : i64}
// CHECK: ditc.linear %arg0, %{{.*}} {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.linear %arg1, %{{.*}} {ditc.offsets = array<i64: 128>}
// CHECK-NEXT: ditc.reshape %{{.*}} {ditc.offsets = array<i64: -1>}
// CHECK-NEXT: ditc.concat %{{.*}}, %{{.*}} {axis = 1 : i64, ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.softmax %{{.*}} {axis = 2 : i64, ditc.offsets = array<i64: -2>}
func.func @main(%x: tensor<1x2x16xf32>, %y: tensor<4x16xf32>) -> tensor<1x6x16xf32> {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %t = ditc.linear %x, %w : (tensor<1x2x16xf32>, tensor<16x16xf32>) -> tensor<1x2x16xf32>
  %i = ditc.linear %y, %w : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %ir = ditc.reshape %i : (tensor<4x16xf32>) -> tensor<1x4x16xf32>
  %c = ditc.concat %t, %ir {axis = 1 : i64} : (tensor<1x2x16xf32>, tensor<1x4x16xf32>) -> tensor<1x6x16xf32>
  %s = ditc.softmax %c {axis = 2 : i64} : tensor<1x6x16xf32>
  return %s : tensor<1x6x16xf32>
}

// -----

// Not parts: with two rows before the axis the pieces are not contiguous
// runs of the result (%a, %b and the concat each have a buffer); a part
// read by another op too (%e, also returned) keeps its own buffer; a
// concat returned from @main goes to the output buffer.
// (1024 bytes: %a, %b and %c each 256 or 512, %f after them; a part of
// %c would have made 512.)
// CHECK-LABEL: module attributes {ditc.arena_bytes = 1024 : i64}
// CHECK: ditc.exp %arg0 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.neg %arg0 {ditc.offsets = array<i64: 256>}
// CHECK-NEXT: ditc.concat %{{.*}}, %{{.*}} {axis = 1 : i64, ditc.offsets = array<i64: 512>}
// CHECK-NEXT: ditc.exp %arg1 {ditc.offsets = array<i64: -3>}
// CHECK-NEXT: ditc.neg %arg1 {ditc.offsets = array<i64: 0>}
// CHECK-NEXT: ditc.concat %{{.*}}, %{{.*}} {axis = 1 : i64, ditc.offsets = array<i64: -2>}
func.func @main(%x: tensor<2x2x16xf32>, %y: tensor<1x2x16xf32>) -> (tensor<1x4x16xf32>, tensor<1x2x16xf32>, tensor<2x4x16xf32>) {
  %a = ditc.exp %x : tensor<2x2x16xf32>
  %b = ditc.neg %x : tensor<2x2x16xf32>
  %c = ditc.concat %a, %b {axis = 1 : i64} : (tensor<2x2x16xf32>, tensor<2x2x16xf32>) -> tensor<2x4x16xf32>
  %e = ditc.exp %y : tensor<1x2x16xf32>
  %f = ditc.neg %y : tensor<1x2x16xf32>
  %g = ditc.concat %e, %f {axis = 1 : i64} : (tensor<1x2x16xf32>, tensor<1x2x16xf32>) -> tensor<1x4x16xf32>
  %h = ditc.sigmoid %c : tensor<2x4x16xf32>
  return %g, %e, %h : tensor<1x4x16xf32>, tensor<1x2x16xf32>, tensor<2x4x16xf32>
}
