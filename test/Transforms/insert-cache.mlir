// RUN: ditc-opt %s -split-input-file -ditc-insert-cache="kind=fbcache threshold=0.2" | FileCheck %s --check-prefix=FB
// RUN: ditc-opt %s -split-input-file -ditc-insert-cache="kind=teacache threshold=0.5 coefficients=2.0,1.0,0.0" | FileCheck %s --check-prefix=TEA
// RUN: not ditc-opt %s -split-input-file -ditc-insert-cache="kind=deepcache" 2>&1 | FileCheck %s --check-prefix=KIND
// RUN: ditc-opt %s -split-input-file -ditc-insert-cache="kind=teacache" | FileCheck %s --check-prefix=DEFAULT
// RUN: ditc-opt %s -split-input-file -ditc-insert-cache="kind=fbcache stale=true" | FileCheck %s --check-prefix=STALE

// stale: each step decided from the previous step's measure.
// STALE-LABEL: func.func @main
// STALE: ditc.cache_decide %{{.*}} {coefficients = array<f64: 1.000000e+00, 0.000000e+00>, kind = #ditc.cache_kind<fbcache>, stale, threshold = 1.000000e-01 : f64}

// teacache's default polynomial: the identity for DiT blocks, Flux's for
// the joint blocks whose joined keys get rope (the second function).
// DEFAULT-LABEL: func.func @main
// DEFAULT: ditc.cache_decide %{{.*}} {coefficients = array<f64: 1.000000e+00, 0.000000e+00>, kind = #ditc.cache_kind<teacache>, threshold = 1.000000e-01 : f64}
// DEFAULT-LABEL: func.func @main
// DEFAULT: ditc.cache_decide %{{.*}} {coefficients = array<f64: 498.65165100000002, -283.781631, 55.855438200000002, -3.8202140099999999, 0.26423086099999998>, kind = #ditc.cache_kind<teacache>

// KIND: error: --cache deepcache: unknown kind (expected fbcache or teacache)

// Two DiT-style blocks. fbcache: the first block runs, its residual (output
// minus input) is measured, the second block is cached and the output is
// the first block's output plus the kept residual when a step skips.
// FB-LABEL: func.func @main
// FB: %[[LN:.*]] = ditc.layer_norm %arg0 {axis = 2 : i64, epsilon
// FB: %[[X1:[0-9]+]] = ditc.add %[[X0:[0-9]+]], %{{.*}} : (tensor<1x8x16xf32>
// FB-NEXT: %[[R:.*]] = ditc.sub %[[X1]], %arg0
// FB-NEXT: ditc.cache_decide %[[R]] {coefficients = array<f64: 1.000000e+00, 0.000000e+00>, kind = #ditc.cache_kind<fbcache>, threshold = 2.000000e-01 : f64}
// FB: ditc.layer_norm %[[X1]] {axis = 2 : i64, ditc.cached
// FB-NOT: ditc.attention %{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}} :
// FB: ditc.attention %{{.*}} {ditc.cached}
// FB: %[[Y:.*]] = ditc.cache_apply %{{[0-9]+}}, %[[X1]] : tensor<1x8x16xf32>
// FB-NEXT: return %[[Y]]
//
// teacache: the first block's modulated input (what its first projection
// reads) is measured; both blocks are cached but the norm it needs, and the
// output is the blocks' input plus the kept residual.
// TEA-LABEL: func.func @main
// TEA: %[[M:.*]] = ditc.layer_norm %arg0 {axis = 2 : i64, epsilon
// TEA-NEXT: ditc.cache_decide %[[M]] {coefficients = array<f64: 2.000000e+00, 1.000000e+00, 0.000000e+00>, kind = #ditc.cache_kind<teacache>, threshold = 5.000000e-01 : f64}
// TEA-NEXT: ditc.linear %[[M]], %{{.*}} {ditc.cached}
// TEA-NOT: ditc.attention %{{[0-9]+}}, %{{[0-9]+}}, %{{[0-9]+}} :
// TEA: %[[Y:.*]] = ditc.cache_apply %{{[0-9]+}}, %arg0 : tensor<1x8x16xf32>
// TEA-NEXT: return %[[Y]]
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %wq0 = ditc.weight "wq0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wk0 = ditc.weight "wk0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wv0 = ditc.weight "wv0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wo0 = ditc.weight "wo0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %w10 = ditc.weight "w10" {file = "m.bin", offset = 0 : i64} : tensor<16x32xf32>
  %w20 = ditc.weight "w20" {file = "m.bin", offset = 0 : i64} : tensor<32x16xf32>
  %h0 = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %q0 = ditc.linear %h0, %wq0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %qr0 = ditc.reshape %q0 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %qt0 = ditc.transpose %qr0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x8xf32>) -> tensor<1x2x8x8xf32>
  %k0 = ditc.linear %h0, %wk0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %kr0 = ditc.reshape %k0 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %kt0 = ditc.transpose %kr0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x8xf32>) -> tensor<1x2x8x8xf32>
  %v0 = ditc.linear %h0, %wv0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %vr0 = ditc.reshape %v0 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %vt0 = ditc.transpose %vr0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x8xf32>) -> tensor<1x2x8x8xf32>
  %a0 = ditc.attention %qt0, %kt0, %vt0 : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %at0 = ditc.transpose %a0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x8xf32>) -> tensor<1x8x2x8xf32>
  %ar0 = ditc.reshape %at0 : (tensor<1x8x2x8xf32>) -> tensor<1x8x16xf32>
  %o0 = ditc.linear %ar0, %wo0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %x10 = ditc.add %x, %o0 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %m0 = ditc.linear %x10, %w10 : (tensor<1x8x16xf32>, tensor<16x32xf32>) -> tensor<1x8x32xf32>
  %g0 = ditc.gelu %m0 : tensor<1x8x32xf32>
  %m20 = ditc.linear %g0, %w20 : (tensor<1x8x32xf32>, tensor<32x16xf32>) -> tensor<1x8x16xf32>
  %x20 = ditc.add %x10, %m20 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %wq1 = ditc.weight "wq1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wk1 = ditc.weight "wk1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wv1 = ditc.weight "wv1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wo1 = ditc.weight "wo1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %w11 = ditc.weight "w11" {file = "m.bin", offset = 0 : i64} : tensor<16x32xf32>
  %w21 = ditc.weight "w21" {file = "m.bin", offset = 0 : i64} : tensor<32x16xf32>
  %h1 = ditc.layer_norm %x20 {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %q1 = ditc.linear %h1, %wq1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %qr1 = ditc.reshape %q1 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %qt1 = ditc.transpose %qr1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x8xf32>) -> tensor<1x2x8x8xf32>
  %k1 = ditc.linear %h1, %wk1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %kr1 = ditc.reshape %k1 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %kt1 = ditc.transpose %kr1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x8xf32>) -> tensor<1x2x8x8xf32>
  %v1 = ditc.linear %h1, %wv1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %vr1 = ditc.reshape %v1 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %vt1 = ditc.transpose %vr1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x8xf32>) -> tensor<1x2x8x8xf32>
  %a1 = ditc.attention %qt1, %kt1, %vt1 : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x2x8x8xf32>
  %at1 = ditc.transpose %a1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x8xf32>) -> tensor<1x8x2x8xf32>
  %ar1 = ditc.reshape %at1 : (tensor<1x8x2x8xf32>) -> tensor<1x8x16xf32>
  %o1 = ditc.linear %ar1, %wo1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %x11 = ditc.add %x20, %o1 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %m1 = ditc.linear %x11, %w11 : (tensor<1x8x16xf32>, tensor<16x32xf32>) -> tensor<1x8x32xf32>
  %g1 = ditc.gelu %m1 : tensor<1x8x32xf32>
  %m21 = ditc.linear %g1, %w21 : (tensor<1x8x32xf32>, tensor<32x16xf32>) -> tensor<1x8x16xf32>
  %x21 = ditc.add %x11, %m21 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  return %x21 : tensor<1x8x16xf32>
}

// -----

// Joint blocks (image 8 tokens, text 4): fbcache measures the image
// residual; both streams leave through cache_apply with the first block's
// output of their own type.
// FB-LABEL: func.func @main
// FB: %[[R:.*]] = ditc.sub %[[X1I:.*]], %arg0 : (tensor<1x8x16xf32>
// FB-NEXT: ditc.cache_decide %[[R]]
// FB: %[[YI:.*]] = ditc.cache_apply %{{.*}}, %[[X1I]] : tensor<1x8x16xf32>
// FB-NEXT: %[[YT:.*]] = ditc.cache_apply %{{.*}}, %[[X1T:.*]] : tensor<1x4x16xf32>
// FB-NEXT: return %[[YI]], %[[YT]]
// TEA-LABEL: func.func @main
// TEA: ditc.cache_apply %{{.*}}, %arg0 : tensor<1x8x16xf32>
// TEA-NEXT: ditc.cache_apply %{{.*}}, %arg1 : tensor<1x4x16xf32>
func.func @main(%img: tensor<1x8x16xf32>, %txt: tensor<1x4x16xf32>, %cos: tensor<1x12x1x8xf32>, %sin: tensor<1x12x1x8xf32>) -> (tensor<1x8x16xf32>, tensor<1x4x16xf32>) {
  %wqi0 = ditc.weight "wqi0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wki0 = ditc.weight "wki0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wvi0 = ditc.weight "wvi0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %woi0 = ditc.weight "woi0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %hi0 = ditc.layer_norm %img {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %qi0 = ditc.linear %hi0, %wqi0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %qri0 = ditc.reshape %qi0 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %ki0 = ditc.linear %hi0, %wki0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %kri0 = ditc.reshape %ki0 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %vi0 = ditc.linear %hi0, %wvi0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %vri0 = ditc.reshape %vi0 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %wqt0 = ditc.weight "wqt0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wkt0 = ditc.weight "wkt0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wvt0 = ditc.weight "wvt0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wot0 = ditc.weight "wot0" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %ht0 = ditc.layer_norm %txt {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %qt0 = ditc.linear %ht0, %wqt0 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %qrt0 = ditc.reshape %qt0 : (tensor<1x4x16xf32>) -> tensor<1x4x2x8xf32>
  %kt0 = ditc.linear %ht0, %wkt0 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %krt0 = ditc.reshape %kt0 : (tensor<1x4x16xf32>) -> tensor<1x4x2x8xf32>
  %vt0 = ditc.linear %ht0, %wvt0 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %vrt0 = ditc.reshape %vt0 : (tensor<1x4x16xf32>) -> tensor<1x4x2x8xf32>
  %qc0 = ditc.concat %qri0, %qrt0 {axis = 1 : i64} : (tensor<1x8x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x12x2x8xf32>
  %kc0 = ditc.concat %kri0, %krt0 {axis = 1 : i64} : (tensor<1x8x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x12x2x8xf32>
  %vc0 = ditc.concat %vri0, %vrt0 {axis = 1 : i64} : (tensor<1x8x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x12x2x8xf32>
  %qe0 = ditc.rope %qc0, %cos, %sin : (tensor<1x12x2x8xf32>, tensor<1x12x1x8xf32>, tensor<1x12x1x8xf32>) -> tensor<1x12x2x8xf32>
  %ke0 = ditc.rope %kc0, %cos, %sin : (tensor<1x12x2x8xf32>, tensor<1x12x1x8xf32>, tensor<1x12x1x8xf32>) -> tensor<1x12x2x8xf32>
  %qx0 = ditc.transpose %qe0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x12x2x8xf32>) -> tensor<1x2x12x8xf32>
  %kx0 = ditc.transpose %ke0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x12x2x8xf32>) -> tensor<1x2x12x8xf32>
  %vx0 = ditc.transpose %vc0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x12x2x8xf32>) -> tensor<1x2x12x8xf32>
  %a0 = ditc.attention %qx0, %kx0, %vx0 : (tensor<1x2x12x8xf32>, tensor<1x2x12x8xf32>, tensor<1x2x12x8xf32>) -> tensor<1x2x12x8xf32>
  %at0 = ditc.transpose %a0 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x12x8xf32>) -> tensor<1x12x2x8xf32>
  %ar0 = ditc.reshape %at0 : (tensor<1x12x2x8xf32>) -> tensor<1x12x16xf32>
  %sp0:2 = ditc.split %ar0 {axis = 1 : i64} : (tensor<1x12x16xf32>) -> (tensor<1x8x16xf32>, tensor<1x4x16xf32>)
  %oi0 = ditc.linear %sp0#0, %woi0 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %ot0 = ditc.linear %sp0#1, %wot0 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %ni0 = ditc.add %img, %oi0 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %nt0 = ditc.add %txt, %ot0 : (tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %wqi1 = ditc.weight "wqi1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wki1 = ditc.weight "wki1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wvi1 = ditc.weight "wvi1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %woi1 = ditc.weight "woi1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %hi1 = ditc.layer_norm %ni0 {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %qi1 = ditc.linear %hi1, %wqi1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %qri1 = ditc.reshape %qi1 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %ki1 = ditc.linear %hi1, %wki1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %kri1 = ditc.reshape %ki1 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %vi1 = ditc.linear %hi1, %wvi1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %vri1 = ditc.reshape %vi1 : (tensor<1x8x16xf32>) -> tensor<1x8x2x8xf32>
  %wqt1 = ditc.weight "wqt1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wkt1 = ditc.weight "wkt1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wvt1 = ditc.weight "wvt1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %wot1 = ditc.weight "wot1" {file = "m.bin", offset = 0 : i64} : tensor<16x16xf32>
  %ht1 = ditc.layer_norm %nt0 {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  %qt1 = ditc.linear %ht1, %wqt1 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %qrt1 = ditc.reshape %qt1 : (tensor<1x4x16xf32>) -> tensor<1x4x2x8xf32>
  %kt1 = ditc.linear %ht1, %wkt1 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %krt1 = ditc.reshape %kt1 : (tensor<1x4x16xf32>) -> tensor<1x4x2x8xf32>
  %vt1 = ditc.linear %ht1, %wvt1 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %vrt1 = ditc.reshape %vt1 : (tensor<1x4x16xf32>) -> tensor<1x4x2x8xf32>
  %qc1 = ditc.concat %qri1, %qrt1 {axis = 1 : i64} : (tensor<1x8x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x12x2x8xf32>
  %kc1 = ditc.concat %kri1, %krt1 {axis = 1 : i64} : (tensor<1x8x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x12x2x8xf32>
  %vc1 = ditc.concat %vri1, %vrt1 {axis = 1 : i64} : (tensor<1x8x2x8xf32>, tensor<1x4x2x8xf32>) -> tensor<1x12x2x8xf32>
  %qe1 = ditc.rope %qc1, %cos, %sin : (tensor<1x12x2x8xf32>, tensor<1x12x1x8xf32>, tensor<1x12x1x8xf32>) -> tensor<1x12x2x8xf32>
  %ke1 = ditc.rope %kc1, %cos, %sin : (tensor<1x12x2x8xf32>, tensor<1x12x1x8xf32>, tensor<1x12x1x8xf32>) -> tensor<1x12x2x8xf32>
  %qx1 = ditc.transpose %qe1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x12x2x8xf32>) -> tensor<1x2x12x8xf32>
  %kx1 = ditc.transpose %ke1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x12x2x8xf32>) -> tensor<1x2x12x8xf32>
  %vx1 = ditc.transpose %vc1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x12x2x8xf32>) -> tensor<1x2x12x8xf32>
  %a1 = ditc.attention %qx1, %kx1, %vx1 : (tensor<1x2x12x8xf32>, tensor<1x2x12x8xf32>, tensor<1x2x12x8xf32>) -> tensor<1x2x12x8xf32>
  %at1 = ditc.transpose %a1 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x12x8xf32>) -> tensor<1x12x2x8xf32>
  %ar1 = ditc.reshape %at1 : (tensor<1x12x2x8xf32>) -> tensor<1x12x16xf32>
  %sp1:2 = ditc.split %ar1 {axis = 1 : i64} : (tensor<1x12x16xf32>) -> (tensor<1x8x16xf32>, tensor<1x4x16xf32>)
  %oi1 = ditc.linear %sp1#0, %woi1 : (tensor<1x8x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16xf32>
  %ot1 = ditc.linear %sp1#1, %wot1 : (tensor<1x4x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16xf32>
  %ni1 = ditc.add %ni0, %oi1 : (tensor<1x8x16xf32>, tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %nt1 = ditc.add %nt0, %ot1 : (tensor<1x4x16xf32>, tensor<1x4x16xf32>) -> tensor<1x4x16xf32>
  return %ni1, %nt1 : tensor<1x8x16xf32>, tensor<1x4x16xf32>
}
