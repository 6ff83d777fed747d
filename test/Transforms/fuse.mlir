// RUN: ditc-opt %s -split-input-file -ditc-fuse -canonicalize | FileCheck %s

// TorchScript's scaled_dot_product_attention: sqrt(scale) on Q and on K^T,
// a constant causal mask added to the scores.
// CHECK-LABEL: func.func @sdpa_torchscript
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>)
// CHECK-NEXT: %[[O:.*]] = ditc.attention %[[Q]], %[[K]], %[[V]] {causal} :
// CHECK-NEXT: return %[[O]]
func.func @sdpa_torchscript(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %c = ditc.constant dense<0.594603539> : tensor<1xf32>
  %mask = ditc.constant dense<[[0.0, -1.0e+38, -1.0e+38, -1.0e+38], [0.0, 0.0, -1.0e+38, -1.0e+38], [0.0, 0.0, 0.0, -1.0e+38], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %qs = ditc.mul %q, %c : (tensor<1x2x4x8xf32>, tensor<1xf32>) -> tensor<1x2x4x8xf32>
  %ks = ditc.mul %kt, %c : (tensor<1x2x8x4xf32>, tensor<1xf32>) -> tensor<1x2x8x4xf32>
  %s = ditc.matmul %qs, %ks : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %m = ditc.add %s, %mask : (tensor<1x2x4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = ditc.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Eager attention code's form, (q k^T) * scale + mask, with a causal mask
// initializer as the importer writes it (the upper triangle, k = 1, of a
// splat of float32's lowest value): causal, the scale kept.
// CHECK-LABEL: func.func @eager_scaled_then_masked
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>)
// CHECK-NEXT: %[[O:.*]] = ditc.attention %[[Q]], %[[K]], %[[V]] {causal, scale = 5.000000e-01 : f64} :
// CHECK-NEXT: return %[[O]]
func.func @eager_scaled_then_masked(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %low = ditc.constant dense<-3.40282347E+38> : tensor<1x1x4x4xf32>
  %mask = ditc.trilu %low {k = 1 : i64, upper = true} : tensor<1x1x4x4xf32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = ditc.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %ss = ditc.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %m = ditc.add %ss, %mask : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = ditc.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// The same with any other mask: the mask stays an operand.
// CHECK-LABEL: func.func @eager_scaled_then_bias
// CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {scale = 5.000000e-01 : f64}
func.func @eager_scaled_then_bias(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %bias: tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = ditc.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %ss = ditc.mul %s, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %m = ditc.add %ss, %bias : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = ditc.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A scale outside the mask's add scales the mask too: (q k^T + bias) * c
// is not ditc.attention's softmax(c q k^T + bias) and stays unfused (it
// was fused with the bias unscaled before); a causal mask, which a
// positive scale leaves causal, fuses.
// CHECK-LABEL: func.func @scale_outside_the_bias
// CHECK-NOT: ditc.attention
// CHECK: ditc.softmax
// CHECK-LABEL: func.func @scale_outside_the_causal_mask
// CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} {causal, scale = 5.000000e-01 : f64}
func.func @scale_outside_the_bias(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>, %bias: tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = ditc.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %m = ditc.add %s, %bias : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %ms = ditc.mul %m, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %ms {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = ditc.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
func.func @scale_outside_the_causal_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<f32>
  %low = ditc.constant dense<-3.40282347E+38> : tensor<1x1x4x4xf32>
  %mask = ditc.trilu %low {k = 1 : i64, upper = true} : tensor<1x1x4x4xf32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %s = ditc.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %m = ditc.add %s, %mask : (tensor<1x2x4x4xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32>
  %ms = ditc.mul %m, %c : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %ms {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = ditc.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// The dynamo exporter's form with grouped K/V heads (repeat_kv) and K^T
// written through a batch-merging reshape; the mask is an argument.
// CHECK-LABEL: func.func @sdpa_dynamo_gqa
// CHECK-SAME: (%[[Q:.*]]: tensor<2x4x16x8xf32>, %[[K:.*]]: tensor<2x2x16x8xf32>, %[[V:.*]]: tensor<2x2x16x8xf32>, %[[M:.*]]: tensor<16x16xf32>)
// CHECK-NEXT: %[[O:.*]] = ditc.attention %[[Q]], %[[K]], %[[V]] mask %[[M]] {scale = 2.500000e-01 : f64} : (tensor<2x4x16x8xf32>, tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>, tensor<16x16xf32>) -> tensor<2x4x16x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @sdpa_dynamo_gqa(%q: tensor<2x4x16x8xf32>, %k: tensor<2x2x16x8xf32>, %v: tensor<2x2x16x8xf32>, %mask: tensor<16x16xf32>) -> tensor<2x4x16x8xf32> {
  %c = ditc.constant dense<0.5> : tensor<1xf32>
  %k5 = ditc.reshape %k : (tensor<2x2x16x8xf32>) -> tensor<2x2x1x16x8xf32>
  %kb = ditc.broadcast %k5 : (tensor<2x2x1x16x8xf32>) -> tensor<2x2x2x16x8xf32>
  %v5 = ditc.reshape %v : (tensor<2x2x16x8xf32>) -> tensor<2x2x1x16x8xf32>
  %vb = ditc.broadcast %v5 : (tensor<2x2x1x16x8xf32>) -> tensor<2x2x2x16x8xf32>
  %vr = ditc.reshape %vb : (tensor<2x2x2x16x8xf32>) -> tensor<2x4x16x8xf32>
  %k3 = ditc.reshape %kb : (tensor<2x2x2x16x8xf32>) -> tensor<8x16x8xf32>
  %kt3 = ditc.transpose %k3 {permutation = array<i64: 0, 2, 1>} : (tensor<8x16x8xf32>) -> tensor<8x8x16xf32>
  %kt = ditc.reshape %kt3 : (tensor<8x8x16xf32>) -> tensor<2x4x8x16xf32>
  %qs = ditc.mul %q, %c : (tensor<2x4x16x8xf32>, tensor<1xf32>) -> tensor<2x4x16x8xf32>
  %ks = ditc.mul %kt, %c : (tensor<2x4x8x16xf32>, tensor<1xf32>) -> tensor<2x4x8x16xf32>
  %s = ditc.matmul %qs, %ks : (tensor<2x4x16x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x16x16xf32>
  %m = ditc.add %s, %mask : (tensor<2x4x16x16xf32>, tensor<16x16xf32>) -> tensor<2x4x16x16xf32>
  %p = ditc.softmax %m {axis = 3 : i64} : tensor<2x4x16x16xf32>
  %o = ditc.matmul %p, %vr : (tensor<2x4x16x16xf32>, tensor<2x4x16x8xf32>) -> tensor<2x4x16x8xf32>
  return %o : tensor<2x4x16x8xf32>
}

// -----

// Eager attention on [B*H, S, D]: scores divided by sqrt(d).
// CHECK-LABEL: func.func @eager_rank3
// CHECK: %[[A:.*]] = ditc.attention %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
// CHECK: ditc.reshape %[[A]] : (tensor<1x4x8x16xf32>) -> tensor<4x8x16xf32>
// CHECK-NOT: ditc.softmax
func.func @eager_rank3(%q: tensor<4x8x16xf32>, %k: tensor<4x8x16xf32>, %v: tensor<4x8x16xf32>) -> tensor<4x8x16xf32> {
  %c = ditc.constant dense<4.0> : tensor<f32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 2, 1>} : (tensor<4x8x16xf32>) -> tensor<4x16x8xf32>
  %s = ditc.matmul %q, %kt : (tensor<4x8x16xf32>, tensor<4x16x8xf32>) -> tensor<4x8x8xf32>
  %d = ditc.div %s, %c : (tensor<4x8x8xf32>, tensor<f32>) -> tensor<4x8x8xf32>
  %p = ditc.softmax %d {axis = 2 : i64} : tensor<4x8x8xf32>
  %o = ditc.matmul %p, %v : (tensor<4x8x8xf32>, tensor<4x8x16xf32>) -> tensor<4x8x16xf32>
  return %o : tensor<4x8x16xf32>
}

// -----

// A softmax over another axis is not attention.
// CHECK-LABEL: func.func @not_attention
// CHECK-NOT: ditc.attention
// CHECK: ditc.softmax
func.func @not_attention(%q: tensor<1x2x4x8xf32>, %kt: tensor<1x2x8x4xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %s = ditc.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %s {axis = 2 : i64} : tensor<1x2x4x4xf32>
  %o = ditc.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Llama's RMSNorm: x * (1 / sqrt(mean(x^2) + eps)) * w.
// CHECK-LABEL: func.func @rms_norm
// CHECK: %[[W:.*]] = ditc.weight "w"
// CHECK-NEXT: %[[R:.*]] = ditc.rms_norm %arg0 scale %[[W]] {axis = 2 : i64, epsilon = 9.99999997{{[0-9]*}}E-7 : f64}
// CHECK-NEXT: return %[[R]]
func.func @rms_norm(%x: tensor<1x16x32xf32>) -> tensor<1x16x32xf32> {
  %two = ditc.constant dense<2.0> : tensor<f32>
  %eps = ditc.constant dense<1.0e-6> : tensor<f32>
  %one = ditc.constant dense<1.0> : tensor<f32>
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<32xf32>
  %p = ditc.pow %x, %two : (tensor<1x16x32xf32>, tensor<f32>) -> tensor<1x16x32xf32>
  %m = ditc.reduce_mean %p {axes = array<i64: 2>, keep_dims = true} : (tensor<1x16x32xf32>) -> tensor<1x16x1xf32>
  %a = ditc.add %m, %eps : (tensor<1x16x1xf32>, tensor<f32>) -> tensor<1x16x1xf32>
  %s = ditc.sqrt %a : tensor<1x16x1xf32>
  %r = ditc.div %one, %s : (tensor<f32>, tensor<1x16x1xf32>) -> tensor<1x16x1xf32>
  %n = ditc.mul %x, %r : (tensor<1x16x32xf32>, tensor<1x16x1xf32>) -> tensor<1x16x32xf32>
  %y = ditc.mul %w, %n : (tensor<32xf32>, tensor<1x16x32xf32>) -> tensor<1x16x32xf32>
  return %y : tensor<1x16x32xf32>
}

// -----

// The decomposed layer norm with a weight and a bias.
// CHECK-LABEL: func.func @layer_norm
// CHECK: %[[G:.*]] = ditc.weight "g"
// CHECK: %[[B:.*]] = ditc.weight "b"
// CHECK: %[[N:.*]] = ditc.layer_norm %arg0 scale %[[G]] bias %[[B]] {axis = 1 : i64, epsilon = 9.99999974{{[0-9]*}}E-6 : f64}
// CHECK-NEXT: return %[[N]]
func.func @layer_norm(%x: tensor<4x64xf32>) -> tensor<4x64xf32> {
  %g = ditc.weight "g" {file = "m.onnx", offset = 0 : i64} : tensor<64xf32>
  %b = ditc.weight "b" {file = "m.onnx", offset = 256 : i64} : tensor<64xf32>
  %two = ditc.constant dense<2.0> : tensor<f32>
  %eps = ditc.constant dense<1.0e-5> : tensor<f32>
  %mu = ditc.reduce_mean %x {axes = array<i64: 1>, keep_dims = true} : (tensor<4x64xf32>) -> tensor<4x1xf32>
  %d = ditc.sub %x, %mu : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %p = ditc.pow %d, %two : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64xf32>
  %v = ditc.reduce_mean %p {axes = array<i64: 1>, keep_dims = true} : (tensor<4x64xf32>) -> tensor<4x1xf32>
  %a = ditc.add %v, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ditc.sqrt %a : tensor<4x1xf32>
  %n = ditc.div %d, %s : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %y = ditc.mul %n, %g : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  %z = ditc.add %y, %b : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  return %z : tensor<4x64xf32>
}

// -----

// Arguments are not parameters: a mul by one is not folded into the norm's scale.
// CHECK-LABEL: func.func @norm_scale_must_be_parameter
// CHECK: ditc.rms_norm %arg0 {axis = 1 : i64
// CHECK: ditc.mul
func.func @norm_scale_must_be_parameter(%x: tensor<4x64xf32>, %g: tensor<64xf32>) -> tensor<4x64xf32> {
  %two = ditc.constant dense<2.0> : tensor<f32>
  %eps = ditc.constant dense<1.0e-5> : tensor<f32>
  %p = ditc.pow %x, %two : (tensor<4x64xf32>, tensor<f32>) -> tensor<4x64xf32>
  %v = ditc.reduce_mean %p {axes = array<i64: 1>, keep_dims = true} : (tensor<4x64xf32>) -> tensor<4x1xf32>
  %a = ditc.add %v, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %s = ditc.sqrt %a : tensor<4x1xf32>
  %r = ditc.reciprocal %s : tensor<4x1xf32>
  %n = ditc.mul %x, %r : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  %y = ditc.mul %n, %g : (tensor<4x64xf32>, tensor<64xf32>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}

// -----

// CHECK-LABEL: func.func @gelu_erf
// CHECK-NEXT: %[[G:.*]] = ditc.gelu %arg0 : tensor<2x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_erf(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = ditc.constant dense<1.41421354> : tensor<f32>
  %one = ditc.constant dense<1.0> : tensor<f32>
  %half = ditc.constant dense<0.5> : tensor<f32>
  %d = ditc.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %e = ditc.erf %d : tensor<2x8xf32>
  %a = ditc.add %e, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = ditc.mul %x, %a : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ditc.mul %m, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// TorchScript's tanh GELU: x^3 as x * (x * x).
// CHECK-LABEL: func.func @gelu_tanh
// CHECK-NEXT: %[[G:.*]] = ditc.gelu %arg0 approximate = <tanh> : tensor<2x8xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_tanh(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %c1 = ditc.constant dense<0.0447149985> : tensor<f32>
  %c2 = ditc.constant dense<0.797884583> : tensor<f32>
  %one = ditc.constant dense<1.0> : tensor<f32>
  %half = ditc.constant dense<0.5> : tensor<f32>
  %x2 = ditc.mul %x, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %x3 = ditc.mul %x, %x2 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %t1 = ditc.mul %x3, %c1 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %s = ditc.add %x, %t1 : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %t2 = ditc.mul %s, %c2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %th = ditc.tanh %t2 : tensor<2x8xf32>
  %a = ditc.add %th, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = ditc.mul %x, %a : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ditc.mul %m, %half : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// A wrong constant (0.6 instead of 0.5) is not GELU.
// CHECK-LABEL: func.func @not_gelu
// CHECK-NOT: ditc.gelu
// CHECK: ditc.erf
func.func @not_gelu(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %sqrt2 = ditc.constant dense<1.41421354> : tensor<f32>
  %one = ditc.constant dense<1.0> : tensor<f32>
  %c = ditc.constant dense<0.6> : tensor<f32>
  %d = ditc.div %x, %sqrt2 : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %e = ditc.erf %d : tensor<2x8xf32>
  %a = ditc.add %e, %one : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  %m = ditc.mul %x, %a : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  %y = ditc.mul %m, %c : (tensor<2x8xf32>, tensor<f32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @silu
// CHECK-NEXT: %[[S:.*]] = ditc.silu %arg0 : tensor<2x8xf32>
// CHECK-NEXT: return %[[S]]
func.func @silu(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  %s = ditc.sigmoid %x : tensor<2x8xf32>
  %y = ditc.mul %s, %x : (tensor<2x8xf32>, tensor<2x8xf32>) -> tensor<2x8xf32>
  return %y : tensor<2x8xf32>
}

// -----

// MatMul by a weight plus a bias (TorchScript writes the bias first).
// CHECK-LABEL: func.func @linear
// CHECK: %[[W:.*]] = ditc.weight "w"
// CHECK: %[[B:.*]] = ditc.weight "b"
// CHECK: %[[Y:.*]] = ditc.linear %arg0, %[[W]] bias %[[B]] : (tensor<2x16x32xf32>, tensor<32x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
// CHECK: %[[Z:.*]] = ditc.linear %arg0, %[[W]] : (tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
// CHECK: ditc.matmul %arg0, %arg1
func.func @linear(%x: tensor<2x16x32xf32>, %notw: tensor<32x64xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<32x64xf32>
  %b = ditc.weight "b" {file = "m.onnx", offset = 8192 : i64} : tensor<64xf32>
  %m = ditc.matmul %x, %w : (tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  %y = ditc.add %b, %m : (tensor<64xf32>, tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  %z = ditc.matmul %x, %w : (tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  %u = ditc.matmul %x, %notw : (tensor<2x16x32xf32>, tensor<32x64xf32>) -> tensor<2x16x64xf32>
  return %y, %z, %u : tensor<2x16x64xf32>, tensor<2x16x64xf32>, tensor<2x16x64xf32>
}

// -----

// Llama's rotate_half: x * cos + cat(-x[..., 4:], x[..., :4]) * sin.
// CHECK-LABEL: func.func @rope_rotate_half
// CHECK-NEXT: %[[R:.*]] = ditc.rope %arg0, %arg1, %arg2 : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
// CHECK-NEXT: return %[[R]]
func.func @rope_rotate_half(%x: tensor<1x4x16x8xf32>, %cos: tensor<1x1x16x8xf32>, %sin: tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %a = ditc.mul %x, %cos : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
  %lo = ditc.slice %x {offsets = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x4x16x8xf32>) -> tensor<1x4x16x4xf32>
  %hi = ditc.slice %x {offsets = array<i64: 0, 0, 0, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x4x16x8xf32>) -> tensor<1x4x16x4xf32>
  %n = ditc.neg %hi : tensor<1x4x16x4xf32>
  %r = ditc.concat %n, %lo {axis = 3 : i64} : (tensor<1x4x16x4xf32>, tensor<1x4x16x4xf32>) -> tensor<1x4x16x8xf32>
  %b = ditc.mul %r, %sin : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
  %y = ditc.add %a, %b : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %y : tensor<1x4x16x8xf32>
}

// -----

// Flux's interleaved form on [B, S, H, D] through a [..., D/2, 2] view.
// CHECK-LABEL: func.func @rope_interleaved
// CHECK-NEXT: %[[R:.*]] = ditc.rope %arg0, %arg1, %arg2 {interleaved} : (tensor<1x24x2x16xf32>, tensor<1x24x1x16xf32>, tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32>
// CHECK-NEXT: return %[[R]]
func.func @rope_interleaved(%x: tensor<1x24x2x16xf32>, %cos: tensor<1x24x1x16xf32>, %sin: tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32> {
  %v = ditc.reshape %x : (tensor<1x24x2x16xf32>) -> tensor<1x24x2x8x2xf32>
  %re = ditc.slice %v {offsets = array<i64: 0, 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<1x24x2x8x2xf32>) -> tensor<1x24x2x8x1xf32>
  %im = ditc.slice %v {offsets = array<i64: 0, 0, 0, 0, 1>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<1x24x2x8x2xf32>) -> tensor<1x24x2x8x1xf32>
  %im2 = ditc.reshape %im : (tensor<1x24x2x8x1xf32>) -> tensor<1x24x2x8xf32>
  %n = ditc.neg %im2 : tensor<1x24x2x8xf32>
  %n2 = ditc.reshape %n : (tensor<1x24x2x8xf32>) -> tensor<1x24x2x8x1xf32>
  %c = ditc.concat %n2, %re {axis = 4 : i64} : (tensor<1x24x2x8x1xf32>, tensor<1x24x2x8x1xf32>) -> tensor<1x24x2x8x2xf32>
  %r = ditc.reshape %c : (tensor<1x24x2x8x2xf32>) -> tensor<1x24x2x16xf32>
  %a = ditc.mul %x, %cos : (tensor<1x24x2x16xf32>, tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32>
  %b = ditc.mul %r, %sin : (tensor<1x24x2x16xf32>, tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32>
  %y = ditc.add %a, %b : (tensor<1x24x2x16xf32>, tensor<1x24x2x16xf32>) -> tensor<1x24x2x16xf32>
  return %y : tensor<1x24x2x16xf32>
}

// -----

// Swapped halves (x[..., :4] negated) are not a rotation.
// CHECK-LABEL: func.func @not_rope
// CHECK-NOT: ditc.rope
func.func @not_rope(%x: tensor<1x4x16x8xf32>, %cos: tensor<1x1x16x8xf32>, %sin: tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32> {
  %a = ditc.mul %x, %cos : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
  %lo = ditc.slice %x {offsets = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x4x16x8xf32>) -> tensor<1x4x16x4xf32>
  %hi = ditc.slice %x {offsets = array<i64: 0, 0, 0, 4>, steps = array<i64: 1, 1, 1, 1>} : (tensor<1x4x16x8xf32>) -> tensor<1x4x16x4xf32>
  %n = ditc.neg %lo : tensor<1x4x16x4xf32>
  %r = ditc.concat %n, %hi {axis = 3 : i64} : (tensor<1x4x16x4xf32>, tensor<1x4x16x4xf32>) -> tensor<1x4x16x8xf32>
  %b = ditc.mul %r, %sin : (tensor<1x4x16x8xf32>, tensor<1x1x16x8xf32>) -> tensor<1x4x16x8xf32>
  %y = ditc.add %a, %b : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %y : tensor<1x4x16x8xf32>
}

// -----

// The dynamo exporter's NaN guard after the softmax is absorbed.
// CHECK-LABEL: func.func @sdpa_nan_guard
// CHECK-NEXT: %[[O:.*]] = ditc.attention %arg0, %arg1, %arg2 : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
// CHECK-NEXT: return %[[O]]
func.func @sdpa_nan_guard(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %c = ditc.constant dense<0.594603539> : tensor<f32>
  %zero = ditc.constant dense<0.0> : tensor<f32>
  %kt = ditc.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x4xf32>
  %qs = ditc.mul %q, %c : (tensor<1x2x4x8xf32>, tensor<f32>) -> tensor<1x2x4x8xf32>
  %ks = ditc.mul %kt, %c : (tensor<1x2x8x4xf32>, tensor<f32>) -> tensor<1x2x8x4xf32>
  %s = ditc.matmul %qs, %ks : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %p = ditc.softmax %s {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %nan = ditc.is_nan %p : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xi1>
  %g = ditc.where %nan, %zero, %p : (tensor<1x2x4x4xi1>, tensor<f32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %o = ditc.matmul %g, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// An attention given the causal pattern as its mask (an ONNX Attention
// node's attn_mask from a folded causal initializer): causal, no mask.
// CHECK-LABEL: func.func @attention_with_a_causal_mask
// CHECK-SAME: (%[[Q:.*]]: tensor<1x2x4x8xf32>, %[[K:.*]]: tensor<1x2x4x8xf32>, %[[V:.*]]: tensor<1x2x4x8xf32>)
// CHECK-NEXT: %[[O:.*]] = ditc.attention %[[Q]], %[[K]], %[[V]] {causal} :
// CHECK-NEXT: return %[[O]]
func.func @attention_with_a_causal_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %low = ditc.constant dense<0xFF800000> : tensor<1x1x4x4xf32>
  %mask = ditc.trilu %low {k = 1 : i64, upper = true} : tensor<1x1x4x4xf32>
  %o = ditc.attention %q, %k, %v mask %mask : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A boolean causal mask as the importer writes one (the lower triangle of
// a splat of true) made additive by where(mask, 0, -inf): causal. With
// the triangle shifted (k = 1: one key more per query) it stays a mask.
// CHECK-LABEL: func.func @boolean_causal_mask
// CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} {causal} :
// CHECK-LABEL: func.func @boolean_shifted_mask
// CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} :
func.func @boolean_causal_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %true = ditc.constant dense<true> : tensor<1x1x4x4xi1>
  %le = ditc.trilu %true {k = 0 : i64, upper = false} : tensor<1x1x4x4xi1>
  %zero = ditc.constant dense<0.0> : tensor<f32>
  %ninf = ditc.constant dense<0xFF800000> : tensor<f32>
  %mask = ditc.where %le, %zero, %ninf : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x4x4xf32>
  %o = ditc.attention %q, %k, %v mask %mask : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}
func.func @boolean_shifted_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %true = ditc.constant dense<true> : tensor<1x1x4x4xi1>
  %le = ditc.trilu %true {k = 1 : i64, upper = false} : tensor<1x1x4x4xi1>
  %zero = ditc.constant dense<0.0> : tensor<f32>
  %ninf = ditc.constant dense<0xFF800000> : tensor<f32>
  %mask = ditc.where %le, %zero, %ninf : (tensor<1x1x4x4xi1>, tensor<f32>, tensor<f32>) -> tensor<1x1x4x4xf32>
  %o = ditc.attention %q, %k, %v mask %mask : (tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x2x4x8xf32>, tensor<1x1x4x4xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// Strided writes into an empty tensor that cover it (`out[..., 0::2] = a;
// out[..., 1::2] = b`), as the dynamo exporter writes them: the written axis
// moved first by a transpose, one index per slice. The empty tensor (a
// weight in the export) is dropped, the halves interleaved before the
// transpose, which then meets its inverse.
// CHECK-LABEL: func.func @scatter_interleave_dynamo
// CHECK-NOT: ditc.scatter_nd
// CHECK-NOT: ditc.weight
// CHECK-NOT: ditc.transpose
// CHECK: %[[A:.*]] = ditc.reshape %arg0 : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
// CHECK: %[[B:.*]] = ditc.reshape %arg1 : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
// CHECK: %[[C:.*]] = ditc.concat %[[A]], %[[B]] {axis = 4 : i64}
// CHECK: %[[R:.*]] = ditc.reshape %[[C]] : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x8xf32>
// CHECK: return %[[R]]
func.func @scatter_interleave_dynamo(%a: tensor<1x6x2x4xf32>, %b: tensor<1x6x2x4xf32>) -> tensor<1x6x2x8xf32> {
  %even = ditc.constant dense<[[0], [2], [4], [6]]> : tensor<4x1xi64>
  %odd = ditc.constant dense<[[1], [3], [5], [7]]> : tensor<4x1xi64>
  %empty = ditc.weight "empty" {file = "model.onnx", offset = 0 : i64} : tensor<8x6x2x1xf32>
  %ta = ditc.transpose %a {permutation = array<i64: 3, 1, 2, 0>} : (tensor<1x6x2x4xf32>) -> tensor<4x6x2x1xf32>
  %s0 = ditc.scatter_nd %empty, %even, %ta {reduction = #ditc.scatter_reduction<none>} : (tensor<8x6x2x1xf32>, tensor<4x1xi64>, tensor<4x6x2x1xf32>) -> tensor<8x6x2x1xf32>
  %tb = ditc.transpose %b {permutation = array<i64: 3, 1, 2, 0>} : (tensor<1x6x2x4xf32>) -> tensor<4x6x2x1xf32>
  %s1 = ditc.scatter_nd %s0, %odd, %tb {reduction = #ditc.scatter_reduction<none>} : (tensor<8x6x2x1xf32>, tensor<4x1xi64>, tensor<4x6x2x1xf32>) -> tensor<8x6x2x1xf32>
  %r = ditc.transpose %s1 {permutation = array<i64: 3, 1, 2, 0>} : (tensor<8x6x2x1xf32>) -> tensor<1x6x2x8xf32>
  return %r : tensor<1x6x2x8xf32>
}

// -----

// TorchScript's form: every index tuple listed (offsets + j * steps, the odd
// ones written first), negative indices counted from the end.
// CHECK-LABEL: func.func @scatter_interleave_torchscript
// CHECK-NOT: ditc.scatter_nd
// CHECK: %[[A:.*]] = ditc.reshape %arg0 : (tensor<2x2xf32>) -> tensor<2x2x1xf32>
// CHECK: %[[B:.*]] = ditc.reshape %arg1 : (tensor<2x2xf32>) -> tensor<2x2x1xf32>
// CHECK: %[[C:.*]] = ditc.concat %[[A]], %[[B]] {axis = 2 : i64}
// CHECK: ditc.reshape %[[C]] : (tensor<2x2x2xf32>) -> tensor<2x4xf32>
func.func @scatter_interleave_torchscript(%a: tensor<2x2xf32>, %b: tensor<2x2xf32>, %d: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %even = ditc.constant dense<[[[0, 0], [0, 2]], [[1, 0], [1, -2]]]> : tensor<2x2x2xi64>
  %odd = ditc.constant dense<[[[0, 1], [0, 3]], [[1, 1], [1, 3]]]> : tensor<2x2x2xi64>
  %s0 = ditc.scatter_nd %d, %odd, %b {reduction = #ditc.scatter_reduction<none>} : (tensor<2x4xf32>, tensor<2x2x2xi64>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %s1 = ditc.scatter_nd %s0, %even, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<2x4xf32>, tensor<2x2x2xi64>, tensor<2x2xf32>) -> tensor<2x4xf32>
  return %s1 : tensor<2x4xf32>
}

// -----

// The index tuples as full-size TorchScript exports compute them (too many
// to fold): the last axis a concatenation of one tensor per data axis, each
// a broadcast of a small range (a splat, the rows, the heads, the even or
// odd features). The same interleave.
// CHECK-LABEL: func.func @scatter_interleave_computed
// CHECK-NOT: ditc.scatter_nd
// CHECK: %[[A:.*]] = ditc.reshape %arg0 : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
// CHECK: %[[B:.*]] = ditc.reshape %arg1 : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
// CHECK: %[[C:.*]] = ditc.concat %[[A]], %[[B]] {axis = 4 : i64}
// CHECK: ditc.reshape %[[C]] : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x8xf32>
func.func @scatter_interleave_computed(%a: tensor<1x6x2x4xf32>, %b: tensor<1x6x2x4xf32>, %d: tensor<1x6x2x8xf32>) -> tensor<1x6x2x8xf32> {
  %zero = ditc.constant dense<0> : tensor<1x6x2x4x1xi64>
  %rows = ditc.constant dense<[[[0]], [[1]], [[2]], [[3]], [[4]], [[5]]]> : tensor<6x1x1xi64>
  %heads = ditc.constant dense<[[0], [1]]> : tensor<2x1xi64>
  %evens = ditc.constant dense<[0, 2, 4, 6]> : tensor<4xi64>
  %odds = ditc.constant dense<[1, 3, 5, 7]> : tensor<4xi64>
  %r0 = ditc.broadcast %rows : (tensor<6x1x1xi64>) -> tensor<1x6x2x4xi64>
  %r = ditc.reshape %r0 : (tensor<1x6x2x4xi64>) -> tensor<1x6x2x4x1xi64>
  %h0 = ditc.broadcast %heads : (tensor<2x1xi64>) -> tensor<1x6x2x4xi64>
  %h = ditc.reshape %h0 : (tensor<1x6x2x4xi64>) -> tensor<1x6x2x4x1xi64>
  %e0 = ditc.broadcast %evens : (tensor<4xi64>) -> tensor<1x6x2x4xi64>
  %e = ditc.reshape %e0 : (tensor<1x6x2x4xi64>) -> tensor<1x6x2x4x1xi64>
  %o0 = ditc.broadcast %odds : (tensor<4xi64>) -> tensor<1x6x2x4xi64>
  %o = ditc.reshape %o0 : (tensor<1x6x2x4xi64>) -> tensor<1x6x2x4x1xi64>
  %ie = ditc.concat %zero, %r, %h, %e {axis = 4 : i64} : (tensor<1x6x2x4x1xi64>, tensor<1x6x2x4x1xi64>, tensor<1x6x2x4x1xi64>, tensor<1x6x2x4x1xi64>) -> tensor<1x6x2x4x4xi64>
  %io = ditc.concat %zero, %r, %h, %o {axis = 4 : i64} : (tensor<1x6x2x4x1xi64>, tensor<1x6x2x4x1xi64>, tensor<1x6x2x4x1xi64>, tensor<1x6x2x4x1xi64>) -> tensor<1x6x2x4x4xi64>
  %s0 = ditc.scatter_nd %d, %ie, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<1x6x2x8xf32>, tensor<1x6x2x4x4xi64>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x8xf32>
  %s1 = ditc.scatter_nd %s0, %io, %b {reduction = #ditc.scatter_reduction<none>} : (tensor<1x6x2x8xf32>, tensor<1x6x2x4x4xi64>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x8xf32>
  return %s1 : tensor<1x6x2x8xf32>
}

// -----

// The heads' range broadcast along the rows' axis instead: the second index
// does not follow its own grid axis, and the scatters stay.
// CHECK-LABEL: func.func @scatter_computed_crossed
// CHECK-COUNT-2: ditc.scatter_nd
func.func @scatter_computed_crossed(%a: tensor<1x2x2x4xf32>, %b: tensor<1x2x2x4xf32>, %d: tensor<1x2x2x8xf32>) -> tensor<1x2x2x8xf32> {
  %zero = ditc.constant dense<0> : tensor<1x2x2x4x1xi64>
  %rows = ditc.constant dense<[[[0]], [[1]]]> : tensor<2x1x1xi64>
  %evens = ditc.constant dense<[0, 2, 4, 6]> : tensor<4xi64>
  %odds = ditc.constant dense<[1, 3, 5, 7]> : tensor<4xi64>
  %r0 = ditc.broadcast %rows : (tensor<2x1x1xi64>) -> tensor<1x2x2x4xi64>
  %r = ditc.reshape %r0 : (tensor<1x2x2x4xi64>) -> tensor<1x2x2x4x1xi64>
  %e0 = ditc.broadcast %evens : (tensor<4xi64>) -> tensor<1x2x2x4xi64>
  %e = ditc.reshape %e0 : (tensor<1x2x2x4xi64>) -> tensor<1x2x2x4x1xi64>
  %o0 = ditc.broadcast %odds : (tensor<4xi64>) -> tensor<1x2x2x4xi64>
  %o = ditc.reshape %o0 : (tensor<1x2x2x4xi64>) -> tensor<1x2x2x4x1xi64>
  %ie = ditc.concat %zero, %r, %r, %e {axis = 4 : i64} : (tensor<1x2x2x4x1xi64>, tensor<1x2x2x4x1xi64>, tensor<1x2x2x4x1xi64>, tensor<1x2x2x4x1xi64>) -> tensor<1x2x2x4x4xi64>
  %io = ditc.concat %zero, %r, %r, %o {axis = 4 : i64} : (tensor<1x2x2x4x1xi64>, tensor<1x2x2x4x1xi64>, tensor<1x2x2x4x1xi64>, tensor<1x2x2x4x1xi64>) -> tensor<1x2x2x4x4xi64>
  %s0 = ditc.scatter_nd %d, %ie, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<1x2x2x8xf32>, tensor<1x2x2x4x4xi64>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x8xf32>
  %s1 = ditc.scatter_nd %s0, %io, %b {reduction = #ditc.scatter_reduction<none>} : (tensor<1x2x2x8xf32>, tensor<1x2x2x4x4xi64>, tensor<1x2x2x4xf32>) -> tensor<1x2x2x8xf32>
  return %s1 : tensor<1x2x2x8xf32>
}

// -----

// Contiguous pieces that abut (`out[:2] = a; out[2:] = b`): a concat.
// CHECK-LABEL: func.func @scatter_concat
// CHECK-NEXT: %[[C:.*]] = ditc.concat %arg0, %arg1 {axis = 0 : i64} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<5x3xf32>
// CHECK-NEXT: return %[[C]]
func.func @scatter_concat(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>, %d: tensor<5x3xf32>) -> tensor<5x3xf32> {
  %i0 = ditc.constant dense<[[0], [1]]> : tensor<2x1xi64>
  %i1 = ditc.constant dense<[[2], [3], [4]]> : tensor<3x1xi64>
  %s0 = ditc.scatter_nd %d, %i0, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %s1 = ditc.scatter_nd %s0, %i1, %b {reduction = #ditc.scatter_reduction<none>} : (tensor<5x3xf32>, tensor<3x1xi64>, tensor<3x3xf32>) -> tensor<5x3xf32>
  return %s1 : tensor<5x3xf32>
}

// -----

// Writes that leave part of the data (a gap at index 4), that overlap (0
// written twice), that add (reduction), or whose indices are not a strided
// box (0, 2, 3): scatters stay.
// CHECK-LABEL: func.func @scatter_kept
// CHECK-COUNT-7: ditc.scatter_nd
func.func @scatter_kept(%a: tensor<2x3xf32>, %b: tensor<2x3xf32>, %c: tensor<3x3xf32>, %d: tensor<5x3xf32>) -> (tensor<5x3xf32>, tensor<4x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>) {
  %i0 = ditc.constant dense<[[0], [1]]> : tensor<2x1xi64>
  %i1 = ditc.constant dense<[[2], [3]]> : tensor<2x1xi64>
  %gap0 = ditc.scatter_nd %d, %i0, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %gap = ditc.scatter_nd %gap0, %i1, %b {reduction = #ditc.scatter_reduction<none>} : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %d4 = ditc.slice %d {offsets = array<i64: 0, 0>, steps = array<i64: 1, 1>} : (tensor<5x3xf32>) -> tensor<4x3xf32>
  %i2 = ditc.constant dense<[[0], [1], [2]]> : tensor<3x1xi64>
  %over0 = ditc.scatter_nd %d4, %i0, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %over = ditc.scatter_nd %over0, %i2, %c {reduction = #ditc.scatter_reduction<none>} : (tensor<4x3xf32>, tensor<3x1xi64>, tensor<3x3xf32>) -> tensor<4x3xf32>
  %i3 = ditc.constant dense<[[2], [3], [4]]> : tensor<3x1xi64>
  %add0 = ditc.scatter_nd %d, %i0, %a {reduction = #ditc.scatter_reduction<none>} : (tensor<5x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<5x3xf32>
  %add = ditc.scatter_nd %add0, %i3, %c {reduction = #ditc.scatter_reduction<add>} : (tensor<5x3xf32>, tensor<3x1xi64>, tensor<3x3xf32>) -> tensor<5x3xf32>
  %i4 = ditc.constant dense<[[0], [2], [3]]> : tensor<3x1xi64>
  %odd = ditc.scatter_nd %d, %i4, %c {reduction = #ditc.scatter_reduction<none>} : (tensor<5x3xf32>, tensor<3x1xi64>, tensor<3x3xf32>) -> tensor<5x3xf32>
  return %gap, %over, %add, %odd : tensor<5x3xf32>, tensor<4x3xf32>, tensor<5x3xf32>, tensor<5x3xf32>
}

// -----

// Wan's rotation: with x1 = x[..., 0::2] and x2 = x[..., 1::2] (pieces of a
// [..., D/2, 2] view of the projection), the even features x1 * c - x2 * s
// and the odd ones x1 * s + x2 * c, joined pair by pair: an interleaved
// rope whose tables are c and s with each entry twice.
// CHECK-LABEL: func.func @rope_pairs
// CHECK-DAG: %[[X:.*]] = ditc.reshape %arg0 : (tensor<1x6x16xf32>) -> tensor<1x6x2x8xf32>
// CHECK-DAG: %[[C1:.*]] = ditc.reshape %arg1 : (tensor<1x6x1x4xf32>) -> tensor<1x6x1x4x1xf32>
// CHECK-DAG: %[[C2:.*]] = ditc.concat %[[C1]], %[[C1]] {axis = 4 : i64}
// CHECK-DAG: %[[C:.*]] = ditc.reshape %[[C2]] : (tensor<1x6x1x4x2xf32>) -> tensor<1x6x1x8xf32>
// CHECK-DAG: %[[S1:.*]] = ditc.reshape %arg2 : (tensor<1x6x1x4xf32>) -> tensor<1x6x1x4x1xf32>
// CHECK-DAG: %[[S2:.*]] = ditc.concat %[[S1]], %[[S1]] {axis = 4 : i64}
// CHECK-DAG: %[[S:.*]] = ditc.reshape %[[S2]] : (tensor<1x6x1x4x2xf32>) -> tensor<1x6x1x8xf32>
// CHECK: %[[R:.*]] = ditc.rope %[[X]], %[[C]], %[[S]] {interleaved}
// CHECK-NOT: ditc.sub
// CHECK: return %[[R]]
func.func @rope_pairs(%x: tensor<1x6x16xf32>, %c: tensor<1x6x1x4xf32>, %s: tensor<1x6x1x4xf32>) -> tensor<1x6x2x8xf32> {
  %p = ditc.reshape %x : (tensor<1x6x16xf32>) -> tensor<1x6x2x4x2xf32>
  %e = ditc.slice %p {offsets = array<i64: 0, 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x4x1xf32>
  %x1 = ditc.reshape %e : (tensor<1x6x2x4x1xf32>) -> tensor<1x6x2x4xf32>
  %o = ditc.slice %p {offsets = array<i64: 0, 0, 0, 0, 1>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x4x1xf32>
  %x2 = ditc.reshape %o : (tensor<1x6x2x4x1xf32>) -> tensor<1x6x2x4xf32>
  %a1 = ditc.mul %x1, %c : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %a2 = ditc.mul %x2, %s : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %even = ditc.sub %a1, %a2 : (tensor<1x6x2x4xf32>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  %b1 = ditc.mul %s, %x1 : (tensor<1x6x1x4xf32>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  %b2 = ditc.mul %x2, %c : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %odd = ditc.add %b2, %b1 : (tensor<1x6x2x4xf32>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  %e1 = ditc.reshape %even : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
  %o1 = ditc.reshape %odd : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
  %cat = ditc.concat %e1, %o1 {axis = 4 : i64} : (tensor<1x6x2x4x1xf32>, tensor<1x6x2x4x1xf32>) -> tensor<1x6x2x4x2xf32>
  %r = ditc.reshape %cat : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x8xf32>
  return %r : tensor<1x6x2x8xf32>
}

// -----

// The same with the tables swapped in the odd features (x1 * c + x2 * s):
// not a rotation, left alone.
// CHECK-LABEL: func.func @rope_pairs_not
// CHECK-NOT: ditc.rope
// CHECK: ditc.sub
func.func @rope_pairs_not(%x: tensor<1x6x16xf32>, %c: tensor<1x6x1x4xf32>, %s: tensor<1x6x1x4xf32>) -> tensor<1x6x2x8xf32> {
  %p = ditc.reshape %x : (tensor<1x6x16xf32>) -> tensor<1x6x2x4x2xf32>
  %e = ditc.slice %p {offsets = array<i64: 0, 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x4x1xf32>
  %x1 = ditc.reshape %e : (tensor<1x6x2x4x1xf32>) -> tensor<1x6x2x4xf32>
  %o = ditc.slice %p {offsets = array<i64: 0, 0, 0, 0, 1>, steps = array<i64: 1, 1, 1, 1, 1>} : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x4x1xf32>
  %x2 = ditc.reshape %o : (tensor<1x6x2x4x1xf32>) -> tensor<1x6x2x4xf32>
  %a1 = ditc.mul %x1, %c : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %a2 = ditc.mul %x2, %s : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %even = ditc.sub %a1, %a2 : (tensor<1x6x2x4xf32>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  %b1 = ditc.mul %x1, %c : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %b2 = ditc.mul %x2, %s : (tensor<1x6x2x4xf32>, tensor<1x6x1x4xf32>) -> tensor<1x6x2x4xf32>
  %odd = ditc.add %b1, %b2 : (tensor<1x6x2x4xf32>, tensor<1x6x2x4xf32>) -> tensor<1x6x2x4xf32>
  %e1 = ditc.reshape %even : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
  %o1 = ditc.reshape %odd : (tensor<1x6x2x4xf32>) -> tensor<1x6x2x4x1xf32>
  %cat = ditc.concat %e1, %o1 {axis = 4 : i64} : (tensor<1x6x2x4x1xf32>, tensor<1x6x2x4x1xf32>) -> tensor<1x6x2x4x2xf32>
  %r = ditc.reshape %cat : (tensor<1x6x2x4x2xf32>) -> tensor<1x6x2x8xf32>
  return %r : tensor<1x6x2x8xf32>
}
