// RUN: ditc-opt %s -split-input-file -ditc-precision="dtype=bf16" | FileCheck %s
// RUN: ditc-opt %s -split-input-file -ditc-precision="dtype=f16 io-dtype=f16" | FileCheck %s --check-prefix=IO
// RUN: ditc-opt %s -split-input-file -ditc-precision="dtype=f32" | FileCheck %s --check-prefix=F32
// RUN: not ditc-opt %s -split-input-file -ditc-precision="dtype=f8" 2>&1 | FileCheck %s --check-prefix=BAD

// A DiT-style step: the timestep sinusoid (input times a frequency table,
// sin) stays f32 up to the linear that reads weights; the linear and all
// that follows compute in bf16; the output is cast back to f32. The weight
// only the linear reads is stored in bf16; the frequency table, which an f32
// op reads, stays f32.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<2x8xf32>, %[[T:.*]]: tensor<2x1xf32>) -> tensor<2x8xf32>
// The input's cast sits at the top, where every later user can share it.
// CHECK-NEXT: %[[XL:.*]] = ditc.cast %[[X]] : (tensor<2x8xf32>) -> tensor<2x8xbf16>
// CHECK-DAG: %[[F:.*]] = ditc.weight "freq" {file = "m.bin", offset = 0 : i64} : tensor<1x8xf32>
// CHECK-DAG: %[[W:.*]] = ditc.weight "w" {ditc.stored_type = f32, file = "m.bin", offset = 32 : i64} : tensor<8x8xbf16>
// CHECK-DAG: %[[B:.*]] = ditc.weight "b" {ditc.stored_type = f32, file = "m.bin", offset = 288 : i64} : tensor<8xbf16>
// CHECK: %[[P:.*]] = ditc.mul %[[T]], %[[F]] : (tensor<2x1xf32>, tensor<1x8xf32>) -> tensor<2x8xf32>
// CHECK: %[[S:.*]] = ditc.sin %[[P]] : tensor<2x8xf32>
// CHECK: %[[SL:.*]] = ditc.cast %[[S]] : (tensor<2x8xf32>) -> tensor<2x8xbf16>
// CHECK: %[[E:.*]] = ditc.linear %[[SL]], %[[W]] bias %[[B]] : (tensor<2x8xbf16>, tensor<8x8xbf16>, tensor<8xbf16>) -> tensor<2x8xbf16>
// CHECK: %[[A:.*]] = ditc.add %[[XL]], %[[E]] : (tensor<2x8xbf16>, tensor<2x8xbf16>) -> tensor<2x8xbf16>
// The constant is converted, not cast at run time (the f32 one is gone).
// CHECK-NOT: tensor<1xf32>
// CHECK: %[[C:.*]] = ditc.constant dense<1.500000e+00> : tensor<1xbf16>
// CHECK: %[[M:.*]] = ditc.mul %[[A]], %[[C]] : (tensor<2x8xbf16>, tensor<1xbf16>) -> tensor<2x8xbf16>
// CHECK: %[[N:.*]] = ditc.layer_norm %[[M]] {axis = 1 : i64, epsilon = {{.*}} : f64} : (tensor<2x8xbf16>) -> tensor<2x8xbf16>
// CHECK: %[[O:.*]] = ditc.cast %[[N]] : (tensor<2x8xbf16>) -> tensor<2x8xf32>
// CHECK: return %[[O]]

// With io-dtype the input arrives in f16 (an f32 copy feeds the sinusoid)
// and the output leaves in f16.
// IO-LABEL: func.func @main
// IO-SAME: (%[[X:.*]]: tensor<2x8xf16>, %[[T:.*]]: tensor<2x1xf16>) -> tensor<2x8xf16>
// IO: %[[T32:.*]] = ditc.cast %[[T]] : (tensor<2x1xf16>) -> tensor<2x1xf32>
// IO: ditc.mul %[[T32]], %{{.*}} : (tensor<2x1xf32>, tensor<1x8xf32>) -> tensor<2x8xf32>
// The f16 input meets the f16 add directly (cast f16 -> f32 -> f16 is none).
// IO: ditc.add %[[X]], %{{.*}} : (tensor<2x8xf16>, tensor<2x8xf16>) -> tensor<2x8xf16>
// IO: %[[N:.*]] = ditc.layer_norm
// IO-NEXT: return %[[N]] : tensor<2x8xf16>

// dtype=f32 changes nothing.
// F32-LABEL: func.func @main
// F32-NOT: bf16
// F32-NOT: f16
// F32-NOT: ditc.cast
// F32: return

// BAD: error: unknown dtype 'f8' (expected f32, bf16 or f16)
func.func @main(%x: tensor<2x8xf32>, %t: tensor<2x1xf32>) -> tensor<2x8xf32> {
  %f = ditc.weight "freq" {file = "m.bin", offset = 0 : i64} : tensor<1x8xf32>
  %w = ditc.weight "w" {file = "m.bin", offset = 32 : i64} : tensor<8x8xf32>
  %b = ditc.weight "b" {file = "m.bin", offset = 288 : i64} : tensor<8xf32>
  %p = ditc.mul %t, %f : (tensor<2x1xf32>, tensor<1x8xf32>) -> tensor<2x8xf32>
  %s = ditc.sin %p : tensor<2x8xf32>
  %e = ditc.linear %s, %w bias %b : (tensor<2x8xf32>, tensor<8x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %a = ditc.add %x, %e : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %c = ditc.constant dense<1.5> : tensor<1xf32>
  %m = ditc.mul %a, %c : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %n = ditc.layer_norm %m {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %n : tensor<2x8xf32>
}

// -----

// Attention: q/k/v from weights go bf16; the additive mask computed from an
// input stays f32; a mask that became bf16 would be cast back to f32. A
// rotary table computed in f64 and cast to f32 is cast once more where the
// bf16 rope reads it.
// CHECK-LABEL: func.func @main
// CHECK: %[[Q:.*]] = ditc.linear {{.*}} -> tensor<1x2x4x8xbf16>
// CHECK: %[[R32:.*]] = ditc.cast %{{.*}} : (tensor<4x8xf64>) -> tensor<4x8xf32>
// CHECK: %[[R:.*]] = ditc.cast %[[R32]] : (tensor<4x8xf32>) -> tensor<4x8xbf16>
// CHECK: %[[QR:.*]] = ditc.rope %[[Q]], %[[R]], %[[R]] : (tensor<1x2x4x8xbf16>, tensor<4x8xbf16>, tensor<4x8xbf16>) -> tensor<1x2x4x8xbf16>
// CHECK: ditc.attention %[[QR]], %[[QR]], %[[QR]] mask %{{.*}} : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<4x4xf32>) -> tensor<1x2x4x8xbf16>
func.func @main(%x: tensor<1x2x4x8xf32>, %m: tensor<4x4xf32>, %tab: tensor<4x8xf64>) -> tensor<1x2x4x8xf32> {
  %w = ditc.weight "w" {file = "m.bin", offset = 0 : i64} : tensor<8x8xf32>
  %q = ditc.linear %x, %w : (tensor<1x2x4x8xf32>, tensor<8x8xf32>) -> tensor<1x2x4x8xf32>
  %t32 = ditc.cast %tab : (tensor<4x8xf64>) -> tensor<4x8xf32>
  %qr = ditc.rope %q, %t32, %t32 : (tensor<1x2x4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<1x2x4x8xf32>
  %mm = ditc.neg %m : tensor<4x4xf32>
  %o = ditc.attention %qr, %qr, %qr mask %mm : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<4x4xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Pipeline stages: the received value takes the type its send (same tag)
// sends.
// CHECK-LABEL: func.func @main
// CHECK: ditc.collective.send %{{.*}} {axes = ["pp"], peer = 1 : i64, tag = 7 : i64} : tensor<2x8xbf16>
// CHECK: %[[R:.*]] = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 7 : i64} : tensor<2x8xbf16>
// CHECK: ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 8 : i64} : tensor<2x8xf32>
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
func.func @main(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %w = ditc.weight "w" {file = "m.bin", offset = 0 : i64} : tensor<8x8xf32>
  %a = ditc.linear %x, %w : (tensor<2x8xf32>, tensor<8x8xf32>) -> tensor<2x8xf32>
  ditc.collective.send %a {axes = ["pp"], peer = 1 : i64, tag = 7 : i64} : tensor<2x8xf32>
  ditc.collective.send %x {axes = ["pp"], peer = 1 : i64, tag = 8 : i64} : tensor<2x8xf32>
  %r = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 7 : i64} : tensor<2x8xf32>
  %r2 = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = 8 : i64} : tensor<2x8xf32>
  %s = ditc.add %r, %r2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %s : tensor<2x8xf32>
}
}
