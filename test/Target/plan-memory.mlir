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
// after it, not over it).
// CHECK-LABEL: module attributes {ditc.arena_bytes = 256 : i64}
// CHECK: ditc.split %arg0 {axis = 1 : i64, ditc.offsets = array<i64: 0, 0>}
// CHECK-NEXT: ditc.exp %arg1 {ditc.offsets = array<i64: 128>}
func.func @main(%x: tensor<4x8xf32>, %y: tensor<32xf32>) -> tensor<4x8xf32> {
  %s:2 = ditc.split %x {axis = 1 : i64} : (tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x0xf32>)
  %g = ditc.exp %y : tensor<32xf32>
  %r = ditc.reshape %g : (tensor<32xf32>) -> tensor<4x8xf32>
  %a = ditc.add %s#0, %r : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
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
