// RUN: ditc-opt %s -split-input-file -ditc-legalize-runtime -verify-diagnostics | FileCheck %s

// PixArt's unpatchify einsum is a transpose.
// CHECK-LABEL: func.func @einsum_transpose
// CHECK-NEXT: %[[T:.*]] = ditc.transpose %arg0 {permutation = array<i64: 0, 5, 1, 3, 2, 4>}
// CHECK-NEXT: return %[[T]]
func.func @einsum_transpose(%x: tensor<2x4x4x2x2x8xf32>) -> tensor<2x8x4x2x4x2xf32> {
  %y = ditc.einsum %x {equation = "nhwpqc->nchpwq"} : (tensor<2x4x4x2x2x8xf32>) -> tensor<2x8x4x2x4x2xf32>
  return %y : tensor<2x8x4x2x4x2xf32>
}

// -----

// A dropped index is summed away first.
// CHECK-LABEL: func.func @einsum_reduce
// CHECK-NEXT: %[[R:.*]] = ditc.reduce_sum %arg0 {axes = array<i64: 1>, keep_dims = false}
// CHECK-NEXT: %[[T:.*]] = ditc.transpose %[[R]] {permutation = array<i64: 1, 0>}
func.func @einsum_reduce(%x: tensor<3x4x5xf32>) -> tensor<5x3xf32> {
  %y = ditc.einsum %x {equation = "abc->ca"} : (tensor<3x4x5xf32>) -> tensor<5x3xf32>
  return %y : tensor<5x3xf32>
}

// -----

// Two operands: batch, free and contracted indices around one matmul.
// CHECK-LABEL: func.func @einsum_matmul
// CHECK: %[[B:.*]] = ditc.transpose %arg1 {permutation = array<i64: 0, 2, 1>} : (tensor<2x16x8xf32>) -> tensor<2x8x16xf32>
// CHECK: %[[M:.*]] = ditc.matmul %arg0, %[[B]] : (tensor<2x4x8xf32>, tensor<2x8x16xf32>) -> tensor<2x4x16xf32>
// CHECK-NEXT: return %[[M]]
func.func @einsum_matmul(%a: tensor<2x4x8xf32>, %b: tensor<2x16x8xf32>) -> tensor<2x4x16xf32> {
  %y = ditc.einsum %a, %b {equation = "bik,bjk->bij"} : (tensor<2x4x8xf32>, tensor<2x16x8xf32>) -> tensor<2x4x16xf32>
  return %y : tensor<2x4x16xf32>
}

// -----

// Norm parameters get the full normalised shape.
// CHECK-LABEL: func.func @norm_params
// CHECK: %[[S:.*]] = ditc.broadcast %arg2 : (tensor<1xf32>) -> tensor<4x8xf32>
// CHECK: ditc.layer_norm %arg0 scale %[[S]] {{.*}}axis = 1
// CHECK: %[[B:.*]] = ditc.reshape %arg3 : (tensor<8xf32>) -> tensor<1x8xf32>
// CHECK: ditc.rms_norm %arg1 scale %[[B]]
func.func @norm_params(%x: tensor<2x4x8xf32>, %u: tensor<2x1x8xf32>, %s: tensor<1xf32>, %b: tensor<8xf32>) -> (tensor<2x4x8xf32>, tensor<2x1x8xf32>) {
  %y = ditc.layer_norm %x scale %s {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x4x8xf32>, tensor<1xf32>) -> tensor<2x4x8xf32>
  %z = ditc.rms_norm %u scale %b {axis = 1 : i64, epsilon = 1.0e-5 : f64} : (tensor<2x1x8xf32>, tensor<8xf32>) -> tensor<2x1x8xf32>
  return %y, %z : tensor<2x4x8xf32>, tensor<2x1x8xf32>
}

// -----

// A 1-D convolution runs as a 2-D one of height 1.
// CHECK-LABEL: func.func @conv1d
// CHECK: %[[X:.*]] = ditc.reshape %arg0 : (tensor<1x4x16xf32>) -> tensor<1x4x1x16xf32>
// CHECK: %[[W:.*]] = ditc.reshape %arg1 : (tensor<8x4x3xf32>) -> tensor<8x4x1x3xf32>
// CHECK: %[[Y:.*]] = ditc.conv %[[X]], %[[W]] {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 1, 0, 1>, strides = array<i64: 1, 2>}
// CHECK: ditc.reshape %[[Y]] : (tensor<1x8x1x8xf32>) -> tensor<1x8x8xf32>
func.func @conv1d(%x: tensor<1x4x16xf32>, %w: tensor<8x4x3xf32>) -> tensor<1x8x8xf32> {
  %y = ditc.conv %x, %w {strides = array<i64: 2>, pads = array<i64: 1, 1>, dilations = array<i64: 1>, group = 1 : i64} : (tensor<1x4x16xf32>, tensor<8x4x3xf32>) -> tensor<1x8x8xf32>
  return %y : tensor<1x8x8xf32>
}

// -----

// A 3-D convolution with a (1, 2, 2) kernel (Wan's patch embedding): the
// frames fold into the batch of one 2-D convolution, and come back out
// after it.
// CHECK-LABEL: func.func @conv3d_patch
// CHECK: %[[T:.*]] = ditc.transpose %arg0 {permutation = array<i64: 0, 2, 1, 3, 4>} : (tensor<1x4x3x8x8xf32>) -> tensor<1x3x4x8x8xf32>
// CHECK: %[[X:.*]] = ditc.reshape %[[T]] : (tensor<1x3x4x8x8xf32>) -> tensor<3x4x8x8xf32>
// CHECK: %[[W:.*]] = ditc.reshape %arg1 : (tensor<16x4x1x2x2xf32>) -> tensor<16x4x2x2xf32>
// CHECK: %[[Y:.*]] = ditc.conv %[[X]], %[[W]] bias %arg2 {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>}
// CHECK: %[[R:.*]] = ditc.reshape %[[Y]] : (tensor<3x16x4x4xf32>) -> tensor<1x3x16x4x4xf32>
// CHECK: ditc.transpose %[[R]] {permutation = array<i64: 0, 2, 1, 3, 4>} : (tensor<1x3x16x4x4xf32>) -> tensor<1x16x3x4x4xf32>
// CHECK-NOT: ditc.add
func.func @conv3d_patch(%x: tensor<1x4x3x8x8xf32>, %w: tensor<16x4x1x2x2xf32>, %b: tensor<16xf32>) -> tensor<1x16x3x4x4xf32> {
  %y = ditc.conv %x, %w bias %b {strides = array<i64: 1, 2, 2>, pads = array<i64: 0, 0, 0, 0, 0, 0>, dilations = array<i64: 1, 1, 1>, group = 1 : i64} : (tensor<1x4x3x8x8xf32>, tensor<16x4x1x2x2xf32>, tensor<16xf32>) -> tensor<1x16x3x4x4xf32>
  return %y : tensor<1x16x3x4x4xf32>
}

// -----

// A temporal kernel of 2, stride 2 and a pad of 1 before: a zero frame
// concatenated in front, one 2-D convolution per kernel frame over the
// frames a strided slice picks (offsets 0 and 1, step 2), the bias in the
// first only, the two summed.
// CHECK-LABEL: func.func @conv3d_temporal
// CHECK: %[[Z:.*]] = ditc.constant dense<0.000000e+00> : tensor<1x2x1x4x4xf32>
// CHECK: %[[P:.*]] = ditc.concat %[[Z]], %arg0 {axis = 2 : i64} : (tensor<1x2x1x4x4xf32>, tensor<1x2x5x4x4xf32>) -> tensor<1x2x6x4x4xf32>
// CHECK: ditc.slice %[[P]] {offsets = array<i64: 0, 0, 0, 0, 0>, steps = array<i64: 1, 1, 2, 1, 1>} : (tensor<1x2x6x4x4xf32>) -> tensor<1x2x3x4x4xf32>
// CHECK: ditc.slice %arg1 {offsets = array<i64: 0, 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<8x2x2x3x3xf32>) -> tensor<8x2x1x3x3xf32>
// CHECK: %[[Y0:.*]] = ditc.conv {{.*}} bias %arg2 {{.*}} -> tensor<3x8x4x4xf32>
// CHECK: ditc.slice %[[P]] {offsets = array<i64: 0, 0, 1, 0, 0>, steps = array<i64: 1, 1, 2, 1, 1>}
// CHECK: ditc.slice %arg1 {offsets = array<i64: 0, 0, 1, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>}
// CHECK: %[[Y1:.*]] = ditc.conv {{.*}} {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 1, 1>} : {{.*}} -> tensor<3x8x4x4xf32>
// CHECK: ditc.add %[[Y0]], %[[Y1]]
func.func @conv3d_temporal(%x: tensor<1x2x5x4x4xf32>, %w: tensor<8x2x2x3x3xf32>, %b: tensor<8xf32>) -> tensor<1x8x3x4x4xf32> {
  %y = ditc.conv %x, %w bias %b {strides = array<i64: 2, 1, 1>, pads = array<i64: 1, 1, 1, 0, 1, 1>, dilations = array<i64: 1, 1, 1>, group = 1 : i64} : (tensor<1x2x5x4x4xf32>, tensor<8x2x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x3x4x4xf32>
  return %y : tensor<1x8x3x4x4xf32>
}

// -----

// Ropes the kernel takes stay: Llama's [B, H, S, D] with [1, 1, S, W] or
// [S, W] tables, a batch of tables ([B, 1, S, W]), Flux's [B, S, H, D] with
// [1, S, 1, D] tables (interleaved).
// CHECK-LABEL: func.func @rope_kernel
// CHECK-NEXT: %[[A:.*]] = ditc.rope %arg0, %arg1, %arg1 : (tensor<1x2x3x8xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<1x2x3x8xf32>
// CHECK-NEXT: %[[B:.*]] = ditc.rope %[[A]], %arg2, %arg2 : (tensor<1x2x3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<1x2x3x8xf32>
// CHECK-NEXT: %[[C:.*]] = ditc.rope %arg3, %arg4, %arg4 : (tensor<2x4x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x4x3x8xf32>
// CHECK-NEXT: %[[D:.*]] = ditc.rope %arg5, %arg6, %arg6 {interleaved} : (tensor<1x24x2x16xf32>, tensor<1x24x1x16xf32>, tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32>
// CHECK-NEXT: return %[[B]], %[[C]], %[[D]]
func.func @rope_kernel(%x: tensor<1x2x3x8xf32>, %c: tensor<1x1x3x4xf32>, %c2: tensor<3x8xf32>,
                       %xb: tensor<2x4x3x8xf32>, %cb: tensor<2x1x3x8xf32>,
                       %xf: tensor<1x24x2x16xf32>, %cf: tensor<1x24x1x16xf32>)
    -> (tensor<1x2x3x8xf32>, tensor<2x4x3x8xf32>, tensor<1x24x2x16xf32>) {
  %a = ditc.rope %x, %c, %c : (tensor<1x2x3x8xf32>, tensor<1x1x3x4xf32>, tensor<1x1x3x4xf32>) -> tensor<1x2x3x8xf32>
  %b = ditc.rope %a, %c2, %c2 : (tensor<1x2x3x8xf32>, tensor<3x8xf32>, tensor<3x8xf32>) -> tensor<1x2x3x8xf32>
  %d = ditc.rope %xb, %cb, %cb : (tensor<2x4x3x8xf32>, tensor<2x1x3x8xf32>, tensor<2x1x3x8xf32>) -> tensor<2x4x3x8xf32>
  %f = ditc.rope %xf, %cf, %cf {interleaved} : (tensor<1x24x2x16xf32>, tensor<1x24x1x16xf32>, tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32>
  return %b, %d, %f : tensor<1x2x3x8xf32>, tensor<2x4x3x8xf32>, tensor<1x24x2x16xf32>
}

// -----

// The kernels take f32, f16 and bf16 (ditc compile --dtype): f16 and bf16
// ropes with a partial rotation stay.
// CHECK-LABEL: func.func @rope_partial_f16
// CHECK-NEXT: %[[Y:.*]] = ditc.rope %arg0, %arg1, %arg2 : (tensor<1x2x3x8xf16>, tensor<1x1x3x4xf16>, tensor<1x1x3x4xf16>) -> tensor<1x2x3x8xf16>
// CHECK-NEXT: %[[Z:.*]] = ditc.rope %arg3, %arg4, %arg4 : (tensor<1x2x3x8xbf16>, tensor<3x4xbf16>, tensor<3x4xbf16>) -> tensor<1x2x3x8xbf16>
// CHECK-NEXT: return %[[Y]], %[[Z]]
func.func @rope_partial_f16(%x: tensor<1x2x3x8xf16>, %c: tensor<1x1x3x4xf16>, %s: tensor<1x1x3x4xf16>,
                            %xb: tensor<1x2x3x8xbf16>, %cb: tensor<3x4xbf16>) -> (tensor<1x2x3x8xf16>, tensor<1x2x3x8xbf16>) {
  %y = ditc.rope %x, %c, %s : (tensor<1x2x3x8xf16>, tensor<1x1x3x4xf16>, tensor<1x1x3x4xf16>) -> tensor<1x2x3x8xf16>
  %z = ditc.rope %xb, %cb, %cb : (tensor<1x2x3x8xbf16>, tensor<3x4xbf16>, tensor<3x4xbf16>) -> tensor<1x2x3x8xbf16>
  return %y, %z : tensor<1x2x3x8xf16>, tensor<1x2x3x8xbf16>
}

// -----

// Tables that vary, broadcast, vary, broadcast over the leading dims (four
// runs) do not fit the kernel's three row dims: decomposed, interleaved
// pairs as [..., W/2, 2] halves.
// CHECK-LABEL: func.func @rope_four_runs
// CHECK: ditc.reshape %arg0 : (tensor<2x3x4x5x8xf32>) -> tensor<2x3x4x5x4x2xf32>
// CHECK: ditc.neg
// CHECK: %[[B:.*]] = ditc.mul
// CHECK: ditc.mul_add %arg0, %arg1, %[[B]]
// CHECK-NOT: ditc.rope
func.func @rope_four_runs(%x: tensor<2x3x4x5x8xf32>, %c: tensor<2x1x4x1x8xf32>, %s: tensor<2x1x4x1x8xf32>) -> tensor<2x3x4x5x8xf32> {
  %y = ditc.rope %x, %c, %s {interleaved} : (tensor<2x3x4x5x8xf32>, tensor<2x1x4x1x8xf32>, tensor<2x1x4x1x8xf32>) -> tensor<2x3x4x5x8xf32>
  return %y : tensor<2x3x4x5x8xf32>
}

// -----

// f64 ropes are demoted to f32 first, then kept.
// CHECK-LABEL: func.func @rope_f64
// CHECK: ditc.rope {{.*}} -> tensor<1x2x3x8xf32>
// CHECK-NOT: ditc.neg
func.func @rope_f64(%x: tensor<1x2x3x8xf32>, %c: tensor<3x8xf32>) -> tensor<1x2x3x8xf32> {
  // expected-warning@+1 {{f64 arithmetic runs in f32 on the CPU runtime}}
  %d = ditc.cast %x : (tensor<1x2x3x8xf32>) -> tensor<1x2x3x8xf64>
  %e = ditc.cast %c : (tensor<3x8xf32>) -> tensor<3x8xf64>
  %y = ditc.rope %d, %e, %e : (tensor<1x2x3x8xf64>, tensor<3x8xf64>, tensor<3x8xf64>) -> tensor<1x2x3x8xf64>
  %r = ditc.cast %y : (tensor<1x2x3x8xf64>) -> tensor<1x2x3x8xf32>
  return %r : tensor<1x2x3x8xf32>
}

// -----

// f64 arithmetic is computed in f32 (with a warning); the casts around it go.
// CHECK-LABEL: func.func @demote_f64
// CHECK-NEXT: %[[C:.*]] = ditc.constant dense<[1.000000e+00, 0.00999999977]> : tensor<2xf32>
// CHECK-NEXT: %[[M:.*]] = ditc.mul %arg0, %[[C]] : (tensor<4x1xf32>, tensor<2xf32>) -> tensor<4x2xf32>
// CHECK-NEXT: %[[S:.*]] = ditc.cos %[[M]] : tensor<4x2xf32>
// CHECK-NEXT: return %[[S]] : tensor<4x2xf32>
func.func @demote_f64(%x: tensor<4x1xf32>) -> tensor<4x2xf32> {
  // expected-warning@+1 {{f64 arithmetic runs in f32 on the CPU runtime}}
  %c = ditc.constant dense<[1.0, 0.01]> : tensor<2xf64>
  %d = ditc.cast %x : (tensor<4x1xf32>) -> tensor<4x1xf64>
  %m = ditc.mul %d, %c : (tensor<4x1xf64>, tensor<2xf64>) -> tensor<4x2xf64>
  %s = ditc.cos %m : tensor<4x2xf64>
  %r = ditc.cast %s : (tensor<4x2xf64>) -> tensor<4x2xf32>
  return %r : tensor<4x2xf32>
}

// -----

// A GELU (either form) or SiLU that is a linear layer's only user becomes
// its epilogue.
// CHECK-LABEL: func.func @linear_activations
// CHECK-NEXT: %[[A:.*]] = ditc.linear %arg0, %arg1 bias %arg2 {activation = #ditc.activation<gelu_tanh>, transpose_weight}
// CHECK-NEXT: %[[B:.*]] = ditc.linear %[[A]], %arg3 {activation = #ditc.activation<gelu>}
// CHECK-NEXT: %[[C:.*]] = ditc.linear %[[B]], %arg3 {activation = #ditc.activation<silu>}
// CHECK-NEXT: return %[[C]]
func.func @linear_activations(%x: tensor<2x4x8xbf16>, %w: tensor<8x8xbf16>, %b: tensor<8xbf16>,
                              %w2: tensor<8x8xbf16>) -> tensor<2x4x8xbf16> {
  %l = ditc.linear %x, %w bias %b {transpose_weight} : (tensor<2x4x8xbf16>, tensor<8x8xbf16>, tensor<8xbf16>) -> tensor<2x4x8xbf16>
  %g = ditc.gelu %l approximate = <tanh> : tensor<2x4x8xbf16>
  %l2 = ditc.linear %g, %w2 : (tensor<2x4x8xbf16>, tensor<8x8xbf16>) -> tensor<2x4x8xbf16>
  %g2 = ditc.gelu %l2 : tensor<2x4x8xbf16>
  %l3 = ditc.linear %g2, %w2 : (tensor<2x4x8xbf16>, tensor<8x8xbf16>) -> tensor<2x4x8xbf16>
  %s = ditc.silu %l3 : tensor<2x4x8xbf16>
  return %s : tensor<2x4x8xbf16>
}

// -----

// Not fused: a product that has another user (the residual); a GELU whose
// placement differs from the layer's (another pipeline stage); a layer that
// already has an activation.
// CHECK-LABEL: func.func @linear_activations_kept
// CHECK: %[[L:.*]] = ditc.linear %arg0, %arg1 :
// CHECK-NEXT: ditc.gelu %[[L]]
// CHECK: %[[M:.*]] = ditc.linear %arg0, %arg1 {ditc.stage = 0 : i64}
// CHECK-NEXT: ditc.gelu %[[M]] {ditc.stage = 1 : i64}
// CHECK: %[[N:.*]] = ditc.linear %arg0, %arg1 {activation = #ditc.activation<silu>}
// CHECK-NEXT: ditc.silu %[[N]]
func.func @linear_activations_kept(%x: tensor<4x8xf32>, %w: tensor<8x8xf32>)
    -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %l = ditc.linear %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %g = ditc.gelu %l : tensor<4x8xf32>
  %r = ditc.add %g, %l : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %m = ditc.linear %x, %w {ditc.stage = 0 : i64} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %h = ditc.gelu %m {ditc.stage = 1 : i64} : tensor<4x8xf32>
  %n = ditc.linear %x, %w {activation = #ditc.activation<silu>} : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32>
  %s = ditc.silu %n : tensor<4x8xf32>
  return %r, %h, %s : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A DiT's adaLN modulation, norm(x) * (1 + scale) + shift with [B, 1, C]
// parameters, becomes the norm's mod_scale and mod_shift (either operand
// order of the mul and the add); a mul without an add after it becomes
// mod_scale alone; the full-shape modulation of a rank-4 input too. The
// fused norm keeps the placement attributes.
// CHECK-LABEL: func.func @norm_modulation
// CHECK: %[[S:.*]] = ditc.add %arg1, %arg3
// CHECK-NEXT: %[[N:.*]] = ditc.layer_norm %arg0 scale %arg4 mod_scale %[[S]] mod_shift %arg2 {axis = 2 : i64, ditc.stage = 1 : i64, epsilon = {{.*}}} : (tensor<2x16x8xbf16>, tensor<8xbf16>, tensor<2x1x8xbf16>, tensor<2x1x8xbf16>) -> tensor<2x16x8xbf16>
// CHECK-NEXT: %[[M:.*]] = ditc.layer_norm %[[N]] mod_scale %arg1 {axis = 2 : i64, epsilon = {{.*}}} : (tensor<2x16x8xbf16>, tensor<2x1x8xbf16>) -> tensor<2x16x8xbf16>
// CHECK-NEXT: %[[F:.*]] = ditc.layer_norm %arg5 mod_scale %arg6 mod_shift %arg6 {axis = 3 : i64, epsilon = {{.*}}} : (tensor<2x3x4x8xbf16>, tensor<2x3x1x8xbf16>, tensor<2x3x1x8xbf16>) -> tensor<2x3x4x8xbf16>
// CHECK-NEXT: return %[[M]], %[[F]]
func.func @norm_modulation(%x: tensor<2x16x8xbf16>, %s: tensor<2x1x8xbf16>, %t: tensor<2x1x8xbf16>,
                           %one: tensor<bf16>, %g: tensor<8xbf16>, %x4: tensor<2x3x4x8xbf16>,
                           %m4: tensor<2x3x1x8xbf16>) -> (tensor<2x16x8xbf16>, tensor<2x3x4x8xbf16>) {
  %n = ditc.layer_norm %x scale %g {axis = 2 : i64, epsilon = 1.0e-6 : f64, ditc.stage = 1 : i64} : (tensor<2x16x8xbf16>, tensor<8xbf16>) -> tensor<2x16x8xbf16>
  %s1 = ditc.add %s, %one : (tensor<2x1x8xbf16>, tensor<bf16>) -> tensor<2x1x8xbf16>
  %m = ditc.mul %s1, %n {ditc.stage = 1 : i64} : (tensor<2x1x8xbf16>, tensor<2x16x8xbf16>) -> tensor<2x16x8xbf16>
  %a = ditc.add %t, %m {ditc.stage = 1 : i64} : (tensor<2x1x8xbf16>, tensor<2x16x8xbf16>) -> tensor<2x16x8xbf16>
  %n2 = ditc.layer_norm %a {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xbf16>) -> tensor<2x16x8xbf16>
  %m2 = ditc.mul %n2, %s : (tensor<2x16x8xbf16>, tensor<2x1x8xbf16>) -> tensor<2x16x8xbf16>
  %n4 = ditc.layer_norm %x4 {axis = 3 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x3x4x8xbf16>) -> tensor<2x3x4x8xbf16>
  %m4m = ditc.mul %n4, %m4 : (tensor<2x3x4x8xbf16>, tensor<2x3x1x8xbf16>) -> tensor<2x3x4x8xbf16>
  %a4 = ditc.add %m4m, %m4 : (tensor<2x3x4x8xbf16>, tensor<2x3x1x8xbf16>) -> tensor<2x3x4x8xbf16>
  return %m2, %a4 : tensor<2x16x8xbf16>, tensor<2x3x4x8xbf16>
}

// -----

// Not fused: a norm with another user (the residual: the mul and the add
// become a mul_add), a mul in another
// pipeline stage, a parameter that broadcasts over the normalised axis
// ([B, N, 1]), one whose leading dims are not a prefix then ones
// ([1, N, C]: per token, not per batch), an add whose shift has another
// shape than the scale (the mul alone is fused), an rms_norm.
// CHECK-LABEL: func.func @norm_modulation_kept
// CHECK: %[[A:.*]] = ditc.layer_norm %arg0 {axis
// CHECK-NEXT: ditc.mul_add %[[A]], %arg1, %[[A]]
// CHECK: %[[B:.*]] = ditc.layer_norm %arg0 {axis = 2 : i64, ditc.stage = 0 : i64
// CHECK-NEXT: ditc.mul %[[B]], %arg1 {ditc.stage = 1 : i64}
// CHECK: %[[C:.*]] = ditc.layer_norm %arg0 {axis
// CHECK-NEXT: ditc.mul %[[C]], %arg2
// CHECK: %[[D:.*]] = ditc.layer_norm %arg0 {axis
// CHECK-NEXT: ditc.mul %[[D]], %arg3
// CHECK: %[[E:.*]] = ditc.layer_norm %arg0 mod_scale %arg1 {axis
// CHECK-NEXT: ditc.add %[[E]], %arg4
// CHECK: %[[F:.*]] = ditc.rms_norm %arg0
// CHECK-NEXT: ditc.mul %[[F]], %arg1
func.func @norm_modulation_kept(%x: tensor<2x16x8xf32>, %s: tensor<2x1x8xf32>, %c: tensor<2x16x1xf32>,
                                %p: tensor<1x16x8xf32>, %t: tensor<1x1x8xf32>)
    -> (tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>,
        tensor<2x16x8xf32>, tensor<2x16x8xf32>) {
  %a = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %am = ditc.mul %a, %s : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %ar = ditc.add %am, %a : (tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %b = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64, ditc.stage = 0 : i64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %bm = ditc.mul %b, %s {ditc.stage = 1 : i64} : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %c0 = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %cm = ditc.mul %c0, %c : (tensor<2x16x8xf32>, tensor<2x16x1xf32>) -> tensor<2x16x8xf32>
  %d = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %dm = ditc.mul %d, %p : (tensor<2x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x8xf32>
  %e = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %em = ditc.mul %e, %s : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %ea = ditc.add %em, %t : (tensor<2x16x8xf32>, tensor<1x1x8xf32>) -> tensor<2x16x8xf32>
  %f = ditc.rms_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %fm = ditc.mul %f, %s : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  return %ar, %bm, %cm, %dm, %ea, %fm : tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>,
      tensor<2x16x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>
}

// -----

// The transposes between a linear layer's heads ([B, S, H, D]) and the
// attention fold into it: query, key, value and result are seq_major, and
// no transpose is left.
// CHECK-LABEL: func.func @attention_heads
// CHECK-NOT: ditc.transpose
// CHECK: %[[O:.*]] = ditc.attention %arg0, %arg1, %arg2 {seq_major = array<i1: true, true, true, true>} : (tensor<2x16x4x8xf32>, tensor<2x12x2x8xf32>, tensor<2x12x2x8xf32>) -> tensor<2x16x4x8xf32>
// CHECK-NOT: ditc.transpose
// CHECK: return %[[O]]
func.func @attention_heads(%q: tensor<2x16x4x8xf32>, %k: tensor<2x12x2x8xf32>, %v: tensor<2x12x2x8xf32>) -> tensor<2x16x4x8xf32> {
  %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x12x2x8xf32>) -> tensor<2x2x12x8xf32>
  %vt = ditc.transpose %v {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x12x2x8xf32>) -> tensor<2x2x12x8xf32>
  %o = ditc.attention %qt, %kt, %vt : (tensor<2x4x16x8xf32>, tensor<2x2x12x8xf32>, tensor<2x2x12x8xf32>) -> tensor<2x4x16x8xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x16x8xf32>) -> tensor<2x16x4x8xf32>
  return %ot : tensor<2x16x4x8xf32>
}

// -----

// Only what may move moves: a transposed key with a second user stays (the
// tensor is made anyway), a value of another permutation stays, a mask and
// causal are kept, and a result with two users stays [B, H, S, D].
// CHECK-LABEL: func.func @attention_heads_partial
// CHECK: %[[K:.*]] = ditc.transpose %arg1 {permutation = array<i64: 0, 2, 1, 3>}
// CHECK: %[[V:.*]] = ditc.transpose %arg2 {permutation = array<i64: 1, 0, 2, 3>}
// CHECK: %[[O:.*]] = ditc.attention %arg0, %[[K]], %[[V]] mask %arg3 {causal, seq_major = array<i1: true, false, false, false>} : (tensor<2x16x4x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<16x16xi1>) -> tensor<2x4x16x8xf32>
// CHECK: ditc.transpose %[[O]]
func.func @attention_heads_partial(%q: tensor<2x16x4x8xf32>, %k: tensor<2x16x4x8xf32>, %v: tensor<4x2x16x8xf32>, %m: tensor<16x16xi1>)
    -> (tensor<2x16x4x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>) {
  %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  %vt = ditc.transpose %v {permutation = array<i64: 1, 0, 2, 3>} : (tensor<4x2x16x8xf32>) -> tensor<2x4x16x8xf32>
  %o = ditc.attention %qt, %kt, %vt mask %m {causal} : (tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>, tensor<16x16xi1>) -> tensor<2x4x16x8xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x16x8xf32>) -> tensor<2x16x4x8xf32>
  return %ot, %kt, %o : tensor<2x16x4x8xf32>, tensor<2x4x16x8xf32>, tensor<2x4x16x8xf32>
}

// -----

// A transpose in another pipeline stage stays where it is.
// CHECK-LABEL: func.func @attention_heads_other_stage
// CHECK: ditc.transpose %arg0 {{.*}}ditc.stage = 0
// CHECK: ditc.attention %{{.*}}, %arg1, %arg1 {ditc.stage = 1 : i64, seq_major = array<i1: false, true, true, false>}
func.func @attention_heads_other_stage(%q: tensor<1x8x2x4xf32>, %k: tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32> {
  %qt = ditc.transpose %q {ditc.stage = 0 : i64, permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  %kt = ditc.transpose %k {ditc.stage = 1 : i64, permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  %vt = ditc.transpose %k {ditc.stage = 1 : i64, permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x2x4xf32>) -> tensor<1x2x8x4xf32>
  %o = ditc.attention %qt, %kt, %vt {ditc.stage = 1 : i64} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
  return %o : tensor<1x2x8x4xf32>
}

// -----

// A joint attention's streams (SD3): each split into heads and transposed,
// then joined along the tokens. They are joined first (tokens are dim 1 of
// [B, S, H, D]), and the one transpose left folds into the attention.
// CHECK-LABEL: func.func @joint_attention_heads
// CHECK-NOT: ditc.transpose
// CHECK: %[[Q:.*]] = ditc.concat %arg0, %arg1 {axis = 1 : i64} : (tensor<2x16x4x8xf32>, tensor<2x6x4x8xf32>) -> tensor<2x22x4x8xf32>
// CHECK: ditc.attention %[[Q]], %[[Q]], %[[Q]] {seq_major = array<i1: true, true, true, true>}
// CHECK-NOT: ditc.transpose
func.func @joint_attention_heads(%img: tensor<2x16x4x8xf32>, %txt: tensor<2x6x4x8xf32>) -> tensor<2x22x4x8xf32> {
  %a = ditc.transpose %img {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x8xf32>) -> tensor<2x4x16x8xf32>
  %b = ditc.transpose %txt {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x6x4x8xf32>) -> tensor<2x4x6x8xf32>
  %q = ditc.concat %a, %b {axis = 2 : i64} : (tensor<2x4x16x8xf32>, tensor<2x4x6x8xf32>) -> tensor<2x4x22x8xf32>
  %o = ditc.attention %q, %q, %q : (tensor<2x4x22x8xf32>, tensor<2x4x22x8xf32>, tensor<2x4x22x8xf32>) -> tensor<2x4x22x8xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x22x8xf32>) -> tensor<2x22x4x8xf32>
  return %ot : tensor<2x22x4x8xf32>
}

// -----

// Ulysses (as -ditc-partition writes it, 2 ranks): heads transposed, then
// exchanged (heads split, tokens gathered) into the attention, and back.
// The transposes move across the exchanges to the attention (which then
// takes them in): the exchanges split the heads of [B, S, H, D] (dim 2) and
// gather its tokens (dim 1), and no transpose is left.
// CHECK-LABEL: func.func @ulysses_heads
// CHECK-NOT: ditc.transpose
// CHECK: %[[Q:.*]] = ditc.collective.all_to_all %arg0 {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<2x8x4x8xf32>) -> tensor<2x16x2x8xf32>
// CHECK: %[[K:.*]] = ditc.collective.all_to_all %arg1 {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<2x8x4x8xf32>) -> tensor<2x16x2x8xf32>
// CHECK: %[[O:.*]] = ditc.attention %[[Q]], %[[K]], %[[K]] {seq_major = array<i1: true, true, true, true>} : (tensor<2x16x2x8xf32>, tensor<2x16x2x8xf32>, tensor<2x16x2x8xf32>) -> tensor<2x16x2x8xf32>
// CHECK: %[[B:.*]] = ditc.collective.all_to_all %[[O]] {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<2x16x2x8xf32>) -> tensor<2x8x4x8xf32>
// CHECK-NOT: ditc.transpose
// CHECK: return %[[B]]
module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @ulysses_heads(%q: tensor<2x8x4x8xf32>, %k: tensor<2x8x4x8xf32>) -> tensor<2x8x4x8xf32> {
    %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x4x8xf32>) -> tensor<2x4x8x8xf32>
    %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x4x8xf32>) -> tensor<2x4x8x8xf32>
    %qx = ditc.collective.all_to_all %qt {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]} : (tensor<2x4x8x8xf32>) -> tensor<2x2x16x8xf32>
    %kx = ditc.collective.all_to_all %kt {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]} : (tensor<2x4x8x8xf32>) -> tensor<2x2x16x8xf32>
    %o = ditc.attention %qx, %kx, %kx : (tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>) -> tensor<2x2x16x8xf32>
    %ox = ditc.collective.all_to_all %o {split_axis = 2 : i64, concat_axis = 1 : i64, axes = ["ulysses"]} : (tensor<2x2x16x8xf32>) -> tensor<2x4x8x8xf32>
    %ot = ditc.transpose %ox {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x4x8x8xf32>) -> tensor<2x8x4x8xf32>
    return %ot : tensor<2x8x4x8xf32>
  }
}

// -----

// Llama: query and key split into heads, transposed, then rotated. The
// transpose moves under the rope (its [S, W] tables reshaped to [1, S, 1,
// W], a view) and into the attention. A rope whose result feeds something
// else keeps its input.
// CHECK-LABEL: func.func @rope_heads
// CHECK: %[[C:.*]] = ditc.reshape %arg2 : (tensor<16x8xf32>) -> tensor<1x16x1x8xf32>
// CHECK: %[[S:.*]] = ditc.reshape %arg3 : (tensor<16x8xf32>) -> tensor<1x16x1x8xf32>
// CHECK: %[[Q:.*]] = ditc.rope %arg0, %[[C]], %[[S]] : (tensor<1x16x4x8xf32>, tensor<1x16x1x8xf32>, tensor<1x16x1x8xf32>) -> tensor<1x16x4x8xf32>
// CHECK: %[[K:.*]] = ditc.rope %arg1
// CHECK: ditc.attention %[[Q]], %[[K]], %arg1 {causal, seq_major = array<i1: true, true, true, true>}
// CHECK: %[[T:.*]] = ditc.transpose %arg0
// CHECK: ditc.rope %[[T]], %arg2, %arg3 : (tensor<1x4x16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>)
func.func @rope_heads(%q: tensor<1x16x4x8xf32>, %k: tensor<1x16x4x8xf32>, %cos: tensor<16x8xf32>, %sin: tensor<16x8xf32>)
    -> (tensor<1x16x4x8xf32>, tensor<1x4x16x8xf32>) {
  %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
  %vt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
  %qr = ditc.rope %qt, %cos, %sin : (tensor<1x4x16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16x8xf32>
  %kr = ditc.rope %kt, %cos, %sin : (tensor<1x4x16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16x8xf32>
  %o = ditc.attention %qr, %kr, %vt {causal} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x16x8xf32>) -> tensor<1x16x4x8xf32>
  %x = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
  %xr = ditc.rope %x, %cos, %sin : (tensor<1x4x16x8xf32>, tensor<16x8xf32>, tensor<16x8xf32>) -> tensor<1x4x16x8xf32>
  return %ot, %xr : tensor<1x16x4x8xf32>, tensor<1x4x16x8xf32>
}

// -----

// Llama under Ulysses: heads transposed, rotated, then exchanged. The
// transpose moves under the rope, then across the exchange, and into the
// attention.
// CHECK-LABEL: func.func @rope_ulysses_heads
// CHECK-NOT: ditc.transpose
// CHECK: %[[R:.*]] = ditc.rope %arg0, %{{.*}}, %{{.*}} : (tensor<1x8x4x8xf32>, tensor<1x8x1x8xf32>, tensor<1x8x1x8xf32>) -> tensor<1x8x4x8xf32>
// CHECK: %[[X:.*]] = ditc.collective.all_to_all %[[R]] {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<1x8x4x8xf32>) -> tensor<1x16x2x8xf32>
// CHECK: ditc.attention %[[X]], %[[X]], %[[X]] {causal, seq_major = array<i1: true, true, true, true>}
// CHECK-NOT: ditc.transpose
module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @rope_ulysses_heads(%q: tensor<1x8x4x8xf32>, %cos: tensor<1x1x8x8xf32>, %sin: tensor<1x1x8x8xf32>) -> tensor<1x8x4x8xf32> {
    %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x4x8xf32>) -> tensor<1x4x8x8xf32>
    %qr = ditc.rope %qt, %cos, %sin : (tensor<1x4x8x8xf32>, tensor<1x1x8x8xf32>, tensor<1x1x8x8xf32>) -> tensor<1x4x8x8xf32>
    %qx = ditc.collective.all_to_all %qr {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]} : (tensor<1x4x8x8xf32>) -> tensor<1x2x16x8xf32>
    %o = ditc.attention %qx, %qx, %qx {causal} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
    %ox = ditc.collective.all_to_all %o {split_axis = 2 : i64, concat_axis = 1 : i64, axes = ["ulysses"]} : (tensor<1x2x16x8xf32>) -> tensor<1x4x8x8xf32>
    %ot = ditc.transpose %ox {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x8x8xf32>) -> tensor<1x8x4x8xf32>
    return %ot : tensor<1x8x4x8xf32>
  }
}

// -----

// Ring attention takes the heads as they lie too: its query, key, value and
// result become seq_major (the K/V blocks travel [B, S, H, D]), and no
// transpose is left; one with a second user stays.
// CHECK-LABEL: func.func @ring_heads
// CHECK-NOT: ditc.transpose
// CHECK: %[[O:.*]] = ditc.ring_attention %arg0, %arg1, %arg1 {axes = ["ring"], kv_valid = 30 : i64, seq_major = array<i1: true, true, true, true>} : (tensor<1x16x4x8xf32>, tensor<1x16x2x8xf32>, tensor<1x16x2x8xf32>) -> tensor<1x16x4x8xf32>
// CHECK-NOT: ditc.transpose
// CHECK: return %[[O]]
// CHECK-LABEL: func.func @ring_heads_partial
// CHECK: %[[V:.*]] = ditc.transpose %arg1
// CHECK: %[[O:.*]] = ditc.ring_attention %arg0, %arg1, %[[V]] {axes = ["ring"], causal, kv_valid = 0 : i64, seq_major = array<i1: true, true, false, true>}
// CHECK: return %[[O]], %[[V]]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @ring_heads(%q: tensor<1x16x4x8xf32>, %k: tensor<1x16x2x8xf32>) -> tensor<1x16x4x8xf32> {
    %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
    %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x2x8xf32>) -> tensor<1x2x16x8xf32>
    %o = ditc.ring_attention %qt, %kt, %kt {axes = ["ring"], kv_valid = 30 : i64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
    %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x16x8xf32>) -> tensor<1x16x4x8xf32>
    return %ot : tensor<1x16x4x8xf32>
  }
  func.func @ring_heads_partial(%q: tensor<1x16x4x8xf32>, %k: tensor<1x16x4x8xf32>) -> (tensor<1x16x4x8xf32>, tensor<1x4x16x8xf32>) {
    %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
    %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
    %vt = ditc.transpose %k {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x16x4x8xf32>) -> tensor<1x4x16x8xf32>
    %o = ditc.ring_attention %qt, %kt, %vt {axes = ["ring"], causal, kv_valid = 0 : i64} : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
    %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x16x8xf32>) -> tensor<1x16x4x8xf32>
    return %ot, %vt : tensor<1x16x4x8xf32>, tensor<1x4x16x8xf32>
  }
}

// -----

// Ulysses x Ring: the transposes move across the all-to-alls to the ring
// attention, which takes them in.
// CHECK-LABEL: func.func @ulysses_ring_heads
// CHECK-NOT: ditc.transpose
// CHECK: %[[Q:.*]] = ditc.collective.all_to_all %arg0 {axes = ["ulysses"], concat_axis = 1 : i64, split_axis = 2 : i64} : (tensor<1x8x4x8xf32>) -> tensor<1x16x2x8xf32>
// CHECK: %[[O:.*]] = ditc.ring_attention %[[Q]], %[[Q]], %[[Q]] {axes = ["ring"], kv_valid = 0 : i64, seq_major = array<i1: true, true, true, true>}
// CHECK: ditc.collective.all_to_all %[[O]] {axes = ["ulysses"], concat_axis = 2 : i64, split_axis = 1 : i64} : (tensor<1x16x2x8xf32>) -> tensor<1x8x4x8xf32>
// CHECK-NOT: ditc.transpose
module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses, "ring" = 2 : ring]>} {
  func.func @ulysses_ring_heads(%q: tensor<1x8x4x8xf32>) -> tensor<1x8x4x8xf32> {
    %qt = ditc.transpose %q {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x8x4x8xf32>) -> tensor<1x4x8x8xf32>
    %qx = ditc.collective.all_to_all %qt {split_axis = 1 : i64, concat_axis = 2 : i64, axes = ["ulysses"]} : (tensor<1x4x8x8xf32>) -> tensor<1x2x16x8xf32>
    %o = ditc.ring_attention %qx, %qx, %qx {axes = ["ring"], kv_valid = 0 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
    %ox = ditc.collective.all_to_all %o {split_axis = 2 : i64, concat_axis = 1 : i64, axes = ["ulysses"]} : (tensor<1x2x16x8xf32>) -> tensor<1x4x8x8xf32>
    %ot = ditc.transpose %ox {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x4x8x8xf32>) -> tensor<1x8x4x8xf32>
    return %ot : tensor<1x8x4x8xf32>
  }
}

// -----

// A gated residual, x + gate * y, is one mul_add (either operand order of
// the add, f32 and bf16), with the mul's placement attributes; so is a mul
// that the add broadcasts. Not fused: a mul with another user, a mul in
// another stage, integers.
// CHECK-LABEL: func.func @gated_residual
// CHECK-NEXT: %[[A:.*]] = ditc.mul_add %arg1, %arg2, %arg0 {ditc.stage = 1 : i64} : (tensor<2x1x8xf32>, tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
// CHECK-NEXT: %[[B:.*]] = ditc.mul_add %arg2, %arg1, %[[A]] : (tensor<2x16x8xf32>, tensor<2x1x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
// CHECK-NEXT: %[[C:.*]] = ditc.mul_add %arg1, %arg1, %[[B]] : (tensor<2x1x8xf32>, tensor<2x1x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
// CHECK-NEXT: %[[H:.*]] = ditc.mul_add %arg3, %arg4, %arg4 : (tensor<4x8xbf16>, tensor<8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
// CHECK-NEXT: %[[M:.*]] = ditc.mul %arg1, %arg2
// CHECK-NEXT: %[[D:.*]] = ditc.add %[[C]], %[[M]]
// CHECK-NEXT: %[[E:.*]] = ditc.add %[[D]], %[[M]]
// CHECK-NEXT: %[[S:.*]] = ditc.mul %arg1, %arg2 {ditc.stage = 0 : i64}
// CHECK-NEXT: %[[F:.*]] = ditc.add %[[E]], %[[S]] {ditc.stage = 1 : i64}
// CHECK-NEXT: %[[I:.*]] = ditc.mul %arg5, %arg5
// CHECK-NEXT: %[[J:.*]] = ditc.add %[[I]], %arg5
// CHECK-NEXT: return %[[F]], %[[H]], %[[J]]
func.func @gated_residual(%x: tensor<2x16x8xf32>, %g: tensor<2x1x8xf32>, %y: tensor<2x16x8xf32>,
                          %hb: tensor<4x8xbf16>, %vb: tensor<8xbf16>, %i: tensor<4xi64>)
    -> (tensor<2x16x8xf32>, tensor<4x8xbf16>, tensor<4xi64>) {
  %m = ditc.mul %g, %y {ditc.stage = 1 : i64} : (tensor<2x1x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %a = ditc.add %x, %m {ditc.stage = 1 : i64} : (tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %m2 = ditc.mul %y, %g : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %b = ditc.add %m2, %a : (tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %sq = ditc.mul %g, %g : (tensor<2x1x8xf32>, tensor<2x1x8xf32>) -> tensor<2x1x8xf32>
  %c = ditc.add %b, %sq : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %hm = ditc.mul %hb, %vb : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
  %h = ditc.add %hm, %vb : (tensor<4x8xbf16>, tensor<8xbf16>) -> tensor<4x8xbf16>
  %twice = ditc.mul %g, %y : (tensor<2x1x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %d = ditc.add %c, %twice : (tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %e = ditc.add %d, %twice : (tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %s = ditc.mul %g, %y {ditc.stage = 0 : i64} : (tensor<2x1x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %f = ditc.add %e, %s {ditc.stage = 1 : i64} : (tensor<2x16x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %im = ditc.mul %i, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %j = ditc.add %im, %i : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  return %f, %h, %j : tensor<2x16x8xf32>, tensor<4x8xbf16>, tensor<4xi64>
}

// -----

// norm(x) * (1 + scale) + shift: the 1 + scale add, with a splat constant,
// folds into the norm as mod_scale_offset (either operand order, a splat of
// any rank that does not broadcast the scale). Not folded: an add with
// another user, a non-constant addend, an add that broadcasts the scale.
// CHECK-LABEL: func.func @mod_scale_offset
// CHECK-NEXT: %[[C:.*]] = ditc.constant
// CHECK-NEXT: %[[A:.*]] = ditc.layer_norm %arg0 mod_scale %arg1 mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}, mod_scale_offset = 1.000000e+00 : f64}
// CHECK-NEXT: %[[B:.*]] = ditc.layer_norm %[[A]] mod_scale %arg1 mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}, mod_scale_offset = 1.000000e+00 : f64}
// CHECK-NEXT: %[[K:.*]] = ditc.add %arg1, %[[C]]
// CHECK-NEXT: %[[D:.*]] = ditc.layer_norm %[[B]] mod_scale %[[K]] mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}} :
// CHECK-NEXT: %[[E:.*]] = ditc.mul_add %[[D]], %[[K]], %arg2
// CHECK-NEXT: %[[F:.*]] = ditc.add %arg1, %arg3
// CHECK-NEXT: ditc.layer_norm %[[E]] mod_scale %[[F]] mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}} :
func.func @mod_scale_offset(%x: tensor<2x16x8xf32>, %s: tensor<2x1x8xf32>, %t: tensor<2x1x8xf32>,
                            %o: tensor<2x1x8xf32>) -> tensor<2x16x8xf32> {
  %one = ditc.constant dense<1.0> : tensor<f32>
  %n = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %s1 = ditc.add %s, %one : (tensor<2x1x8xf32>, tensor<f32>) -> tensor<2x1x8xf32>
  %m = ditc.mul %n, %s1 : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %a = ditc.add %m, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %n2 = ditc.layer_norm %a {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %s2 = ditc.add %one, %s : (tensor<f32>, tensor<2x1x8xf32>) -> tensor<2x1x8xf32>
  %m2 = ditc.mul %s2, %n2 : (tensor<2x1x8xf32>, tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %a2 = ditc.add %m2, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %n3 = ditc.layer_norm %a2 {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %s3 = ditc.add %s, %one : (tensor<2x1x8xf32>, tensor<f32>) -> tensor<2x1x8xf32>
  %m3 = ditc.mul %n3, %s3 : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %a3 = ditc.add %m3, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %u = ditc.mul %a3, %s3 : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %v = ditc.add %u, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %n4 = ditc.layer_norm %v {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %s4 = ditc.add %s, %o : (tensor<2x1x8xf32>, tensor<2x1x8xf32>) -> tensor<2x1x8xf32>
  %m4 = ditc.mul %n4, %s4 : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %a4 = ditc.add %m4, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  return %a4 : tensor<2x16x8xf32>
}

// Through a reshape between the add and the norm (SD3's
// (1 + scale)[:, None, :]): the scale is reshaped instead.
// CHECK-LABEL: func.func @mod_scale_offset_reshaped
// CHECK: %[[R:.*]] = ditc.reshape %arg1 : (tensor<2x8xf32>) -> tensor<2x1x8xf32>
// CHECK-NEXT: ditc.layer_norm %arg0 mod_scale %[[R]] mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}, mod_scale_offset = 1.000000e+00 : f64}
// CHECK-NOT: ditc.add
func.func @mod_scale_offset_reshaped(%x: tensor<2x16x8xf32>, %s: tensor<2x8xf32>,
                                     %t: tensor<2x1x8xf32>) -> tensor<2x16x8xf32> {
  %one = ditc.constant dense<1.0> : tensor<1xf32>
  %n = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %s1 = ditc.add %s, %one : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %r = ditc.reshape %s1 : (tensor<2x8xf32>) -> tensor<2x1x8xf32>
  %m = ditc.mul %n, %r : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %a = ditc.add %m, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  return %a : tensor<2x16x8xf32>
}

// PipeFusion's patches share one 1 + scale among their norms: every norm
// folds it (so that each patch rounds alike), the shared reshape becomes
// one of the scale.
// CHECK-LABEL: func.func @mod_scale_offset_shared
// CHECK-NOT: ditc.add
// CHECK: %[[R:.*]] = ditc.reshape %arg1 : (tensor<2x8xf32>) -> tensor<2x1x8xf32>
// CHECK-NOT: ditc.add
// CHECK: ditc.layer_norm %arg0 mod_scale %[[R]] mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}, mod_scale_offset = 1.000000e+00 : f64}
// CHECK: ditc.layer_norm %arg3 mod_scale %[[R]] mod_shift %arg2 {axis = 2 : i64, epsilon = {{.*}}, mod_scale_offset = 1.000000e+00 : f64}
func.func @mod_scale_offset_shared(%x: tensor<2x16x8xf32>, %s: tensor<2x8xf32>, %t: tensor<2x1x8xf32>,
                                   %x2: tensor<2x16x8xf32>) -> (tensor<2x16x8xf32>, tensor<2x16x8xf32>) {
  %one = ditc.constant dense<1.0> : tensor<1xf32>
  %s1 = ditc.add %s, %one : (tensor<2x8xf32>, tensor<1xf32>) -> tensor<2x8xf32>
  %r = ditc.reshape %s1 : (tensor<2x8xf32>) -> tensor<2x1x8xf32>
  %n = ditc.layer_norm %x {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %m = ditc.mul %n, %r : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %a = ditc.add %m, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %n2 = ditc.layer_norm %x2 {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>) -> tensor<2x16x8xf32>
  %m2 = ditc.mul %n2, %r : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  %a2 = ditc.add %m2, %t : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  return %a, %a2 : tensor<2x16x8xf32>, tensor<2x16x8xf32>
}
