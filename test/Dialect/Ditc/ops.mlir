// RUN: ditc-opt %s -split-input-file | ditc-opt | FileCheck %s
// Round-trips every op through the printer and parser.

// CHECK-LABEL: func.func @linear_gelu
func.func @linear_gelu(%x: tensor<2x16x64xf32>, %w: tensor<256x64xf32>, %b: tensor<256xf32>) -> tensor<2x16x256xf32> {
  // CHECK: ditc.linear %{{.*}}, %{{.*}} bias %{{.*}} {transpose_weight}
  %y = ditc.linear %x, %w bias %b {transpose_weight} : (tensor<2x16x64xf32>, tensor<256x64xf32>, tensor<256xf32>) -> tensor<2x16x256xf32>
  // CHECK: ditc.gelu %{{.*}} approximate = <tanh>
  %g = ditc.gelu %y approximate = <tanh> : tensor<2x16x256xf32>
  return %g : tensor<2x16x256xf32>
}

// -----

// CHECK-LABEL: func.func @attention
func.func @attention(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>, %m: tensor<1x1x16x16xi1>) -> tensor<1x4x16x8xf32> {
  // CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} mask %{{.*}} {causal, scale = 1.250000e-01 : f64}
  %o = ditc.attention %q, %k, %v mask %m {causal, scale = 0.125 : f64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x1x16x16xi1>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// Heads where a linear layer puts them: query and result [B, S, H, D].
// CHECK-LABEL: func.func @attention_seq_major
func.func @attention_seq_major(%q: tensor<1x16x4x8xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x16x4x8xf32> {
  // CHECK: ditc.attention %{{.*}}, %{{.*}}, %{{.*}} {seq_major = array<i1: true, false, false, true>} : (tensor<1x16x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x16x4x8xf32>
  %o = ditc.attention %q, %k, %k {seq_major = array<i1: true, false, false, true>} : (tensor<1x16x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x16x4x8xf32>
  return %o : tensor<1x16x4x8xf32>
}

// -----

// CHECK-LABEL: func.func @norms
func.func @norms(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> (tensor<2x16x64xf32>, tensor<2x16x64xf32>) {
  // CHECK: ditc.layer_norm %{{.*}} scale %{{.*}} bias %{{.*}} {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64}
  %l = ditc.layer_norm %x scale %g bias %b {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // CHECK: ditc.rms_norm %{{.*}} {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64}
  %r = ditc.rms_norm %x {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  // CHECK: ditc.layer_norm %{{.*}} scale %{{.*}} mod_scale %{{.*}} mod_shift %{{.*}} {axis = 2 : i64
  %s = ditc.slice %l {offsets = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<2x16x64xf32>) -> tensor<2x1x64xf32>
  %m = ditc.layer_norm %x scale %g mod_scale %s mod_shift %s {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x16x64xf32>, tensor<64xf32>, tensor<2x1x64xf32>, tensor<2x1x64xf32>) -> tensor<2x16x64xf32>
  // CHECK: ditc.layer_norm %{{.*}} mod_shift %{{.*}} {axis = 2 : i64
  %t = ditc.layer_norm %m mod_shift %s {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x16x64xf32>, tensor<2x1x64xf32>) -> tensor<2x16x64xf32>
  return %t, %r : tensor<2x16x64xf32>, tensor<2x16x64xf32>
}

// -----

// CHECK-LABEL: func.func @weights_and_movement
func.func @weights_and_movement(%x: tensor<2x16x64xf32>) -> tensor<2x4x16x16xf32> {
  // CHECK: ditc.weight "w" {file = "model.onnx.data", offset = 128 : i64} : tensor<64xf32>
  %w = ditc.weight "w" {file = "model.onnx.data", offset = 128 : i64} : tensor<64xf32>
  %a = ditc.add %x, %w : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  // CHECK: ditc.reshape
  %r = ditc.reshape %a : (tensor<2x16x64xf32>) -> tensor<2x16x4x16xf32>
  // CHECK: ditc.transpose %{{.*}} {permutation = array<i64: 0, 2, 1, 3>}
  %t = ditc.transpose %r {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x16x4x16xf32>) -> tensor<2x4x16x16xf32>
  return %t : tensor<2x4x16x16xf32>
}

// -----

// CHECK-LABEL: func.func @unary_float
func.func @unary_float(%x: tensor<2x8xf32>) -> (tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  // CHECK: ditc.abs %{{.*}} : tensor<2x8xf32>
  %a = ditc.abs %x : tensor<2x8xf32>
  // CHECK: ditc.log %{{.*}} : tensor<2x8xf32>
  %l = ditc.log %a : tensor<2x8xf32>
  // CHECK: ditc.floor %{{.*}} : tensor<2x8xf32>
  %f = ditc.floor %x : tensor<2x8xf32>
  // CHECK: ditc.ceil %{{.*}} : tensor<2x8xf32>
  %c = ditc.ceil %x : tensor<2x8xf32>
  // CHECK: ditc.round %{{.*}} : tensor<2x8xf32>
  %r = ditc.round %x : tensor<2x8xf32>
  return %a, %l, %f, %c, %r : tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}

// -----

// CHECK-LABEL: func.func @reduce_min_prod
func.func @reduce_min_prod(%x: tensor<2x3x4xf32>, %i: tensor<2x3xi32>) -> (tensor<2x1x4xf32>, tensor<2x3xf32>, tensor<2xi32>) {
  // CHECK: ditc.reduce_min %{{.*}} {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  %m = ditc.reduce_min %x {axes = array<i64: 1>} : (tensor<2x3x4xf32>) -> tensor<2x1x4xf32>
  // CHECK: ditc.reduce_prod %{{.*}} {axes = array<i64: 2>, keep_dims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  %p = ditc.reduce_prod %x {axes = array<i64: 2>, keep_dims = false} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  // CHECK: ditc.reduce_min %{{.*}} {axes = array<i64: 1>, keep_dims = false} : (tensor<2x3xi32>) -> tensor<2xi32>
  %n = ditc.reduce_min %i {axes = array<i64: 1>, keep_dims = false} : (tensor<2x3xi32>) -> tensor<2xi32>
  return %m, %p, %n : tensor<2x1x4xf32>, tensor<2x3xf32>, tensor<2xi32>
}

// -----

// CHECK-LABEL: func.func @arg_reduce
func.func @arg_reduce(%x: tensor<2x5xf32>, %i: tensor<3x4x5xi32>) -> (tensor<2x1xi64>, tensor<5xi64>, tensor<3x5xi64>) {
  // CHECK: ditc.argmax %{{.*}} {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi64>
  %a = ditc.argmax %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi64>
  // CHECK: ditc.argmax %{{.*}} {axis = 0 : i64, keep_dims = false, select_last_index} : (tensor<2x5xf32>) -> tensor<5xi64>
  %b = ditc.argmax %x {axis = 0 : i64, keep_dims = false, select_last_index} : (tensor<2x5xf32>) -> tensor<5xi64>
  // CHECK: ditc.argmin %{{.*}} {axis = 1 : i64, keep_dims = false} : (tensor<3x4x5xi32>) -> tensor<3x5xi64>
  %c = ditc.argmin %i {axis = 1 : i64, keep_dims = false} : (tensor<3x4x5xi32>) -> tensor<3x5xi64>
  return %a, %b, %c : tensor<2x1xi64>, tensor<5xi64>, tensor<3x5xi64>
}

// -----

// CHECK-LABEL: func.func @cumsum
func.func @cumsum(%x: tensor<2x5xf32>, %i: tensor<4xi64>) -> (tensor<2x5xf32>, tensor<2x5xf32>, tensor<4xi64>) {
  // CHECK: ditc.cumsum %{{.*}} {axis = 1 : i64} : tensor<2x5xf32>
  %a = ditc.cumsum %x {axis = 1 : i64} : tensor<2x5xf32>
  // CHECK: ditc.cumsum %{{.*}} {axis = 0 : i64, exclusive, reverse} : tensor<2x5xf32>
  %b = ditc.cumsum %x {axis = 0 : i64, exclusive, reverse} : tensor<2x5xf32>
  // CHECK: ditc.cumsum %{{.*}} {axis = 0 : i64, reverse} : tensor<4xi64>
  %c = ditc.cumsum %i {axis = 0 : i64, reverse} : tensor<4xi64>
  return %a, %b, %c : tensor<2x5xf32>, tensor<2x5xf32>, tensor<4xi64>
}

// -----

// CHECK-LABEL: func.func @pool
func.func @pool(%x: tensor<1x3x8x8xf32>, %s: tensor<2x3x6xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x4xi64>, tensor<1x3x4x4xf32>, tensor<2x3x3xf32>) {
  // CHECK: %{{.*}}, %{{.*}} = ditc.pool %{{.*}} {dilations = array<i64: 1, 1>, kernel_shape = array<i64: 3, 3>, kind = #ditc.pool_kind<max>, pads = array<i64: 1, 1, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x4xi64>)
  %m, %i = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x4xi64>)
  // CHECK: ditc.pool %{{.*}} {count_include_pad, dilations = array<i64: 1, 1>, kernel_shape = array<i64: 2, 2>, kind = #ditc.pool_kind<avg>, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  %a = ditc.pool %x {kind = #ditc.pool_kind<avg>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, count_include_pad} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  // CHECK: ditc.pool %{{.*}} {dilations = array<i64: 1>, kernel_shape = array<i64: 2>, kind = #ditc.pool_kind<lp>, p = 3 : i64, pads = array<i64: 0, 0>, strides = array<i64: 2>} : (tensor<2x3x6xf32>) -> tensor<2x3x3xf32>
  %l = ditc.pool %s {kind = #ditc.pool_kind<lp>, kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>, dilations = array<i64: 1>, p = 3 : i64} : (tensor<2x3x6xf32>) -> tensor<2x3x3xf32>
  return %m, %i, %a, %l : tensor<1x3x4x4xf32>, tensor<1x3x4x4xi64>, tensor<1x3x4x4xf32>, tensor<2x3x3xf32>
}

// -----

// CHECK-LABEL: func.func @conv_transpose
func.func @conv_transpose(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> (tensor<1x4x7x7xf32>, tensor<1x2x8x8xf32>) {
  // CHECK: ditc.conv_transpose %{{.*}}, %{{.*}} bias %{{.*}} {dilations = array<i64: 1, 1>, group = 2 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  %y = ditc.conv_transpose %x, %w bias %b {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x7x7xf32>
  // CHECK: ditc.conv_transpose %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, -1, -1>, strides = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  %z = ditc.conv_transpose %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, -1, -1>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  return %y, %z : tensor<1x4x7x7xf32>, tensor<1x2x8x8xf32>
}

// -----

// CHECK-LABEL: func.func @grid_sample
func.func @grid_sample(%x: tensor<1x2x4x4xf32>, %g: tensor<1x6x5x2xf32>) -> (tensor<1x2x6x5xf32>, tensor<1x2x6x5xf32>) {
  // CHECK: ditc.grid_sample %{{.*}}, %{{.*}} {mode = #ditc.grid_sample_mode<linear>, padding_mode = #ditc.grid_sample_padding<zeros>} : (tensor<1x2x4x4xf32>, tensor<1x6x5x2xf32>) -> tensor<1x2x6x5xf32>
  %a = ditc.grid_sample %x, %g {mode = #ditc.grid_sample_mode<linear>, padding_mode = #ditc.grid_sample_padding<zeros>} : (tensor<1x2x4x4xf32>, tensor<1x6x5x2xf32>) -> tensor<1x2x6x5xf32>
  // CHECK: ditc.grid_sample %{{.*}}, %{{.*}} {align_corners, mode = #ditc.grid_sample_mode<cubic>, padding_mode = #ditc.grid_sample_padding<reflection>} : (tensor<1x2x4x4xf32>, tensor<1x6x5x2xf32>) -> tensor<1x2x6x5xf32>
  %b = ditc.grid_sample %x, %g {mode = #ditc.grid_sample_mode<cubic>, padding_mode = #ditc.grid_sample_padding<reflection>, align_corners} : (tensor<1x2x4x4xf32>, tensor<1x6x5x2xf32>) -> tensor<1x2x6x5xf32>
  return %a, %b : tensor<1x2x6x5xf32>, tensor<1x2x6x5xf32>
}

// -----

// CHECK-LABEL: func.func @scatters
func.func @scatters(%d: tensor<4x5xf32>, %i: tensor<2x5xi64>, %u: tensor<2x5xf32>, %j: tensor<3x1xi32>, %r: tensor<3x5xf32>) -> (tensor<4x5xf32>, tensor<4x5xf32>) {
  // CHECK: ditc.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {axis = 0 : i64, reduction = #ditc.scatter_reduction<add>} : (tensor<4x5xf32>, tensor<2x5xi64>, tensor<2x5xf32>) -> tensor<4x5xf32>
  %a = ditc.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #ditc.scatter_reduction<add>} : (tensor<4x5xf32>, tensor<2x5xi64>, tensor<2x5xf32>) -> tensor<4x5xf32>
  // CHECK: ditc.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} {reduction = #ditc.scatter_reduction<max>} : (tensor<4x5xf32>, tensor<3x1xi32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  %b = ditc.scatter_nd %a, %j, %r {reduction = #ditc.scatter_reduction<max>} : (tensor<4x5xf32>, tensor<3x1xi32>, tensor<3x5xf32>) -> tensor<4x5xf32>
  return %a, %b : tensor<4x5xf32>, tensor<4x5xf32>
}

// -----

// CHECK-LABEL: func.func @bitwise
func.func @bitwise(%a: tensor<2x3xi32>, %b: tensor<3xi32>, %c: tensor<4xui8>) -> (tensor<2x3xi32>, tensor<2x3xi32>, tensor<4xui8>) {
  // CHECK: ditc.bitwise_and %{{.*}}, %{{.*}} : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  %x = ditc.bitwise_and %a, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi32>
  // CHECK: ditc.bitwise_or %{{.*}}, %{{.*}} : (tensor<3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  %y = ditc.bitwise_or %b, %x : (tensor<3xi32>, tensor<2x3xi32>) -> tensor<2x3xi32>
  // CHECK: ditc.bitwise_xor %{{.*}}, %{{.*}} : (tensor<4xui8>, tensor<ui8>) -> tensor<4xui8>
  %m = ditc.constant dense<255> : tensor<ui8>
  %z = ditc.bitwise_xor %c, %m : (tensor<4xui8>, tensor<ui8>) -> tensor<4xui8>
  return %x, %y, %z : tensor<2x3xi32>, tensor<2x3xi32>, tensor<4xui8>
}

// -----

// CHECK-LABEL: func.func @det
func.func @det(%x: tensor<4x3x3xf64>) -> tensor<4xf64> {
  // CHECK: ditc.det %{{.*}} : (tensor<4x3x3xf64>) -> tensor<4xf64>
  %d = ditc.det %x : (tensor<4x3x3xf64>) -> tensor<4xf64>
  return %d : tensor<4xf64>
}

// -----

// CHECK-LABEL: func.func @mul_add
func.func @mul_add(%g: tensor<2x1x64xbf16>, %y: tensor<2x16x64xbf16>, %x: tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16> {
  // CHECK: ditc.mul_add %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x1x64xbf16>, tensor<2x16x64xbf16>, tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  %r = ditc.mul_add %g, %y, %x : (tensor<2x1x64xbf16>, tensor<2x16x64xbf16>, tensor<2x16x64xbf16>) -> tensor<2x16x64xbf16>
  return %r : tensor<2x16x64xbf16>
}

// -----

// CHECK-LABEL: func.func @layer_norm_mod_scale_offset
func.func @layer_norm_mod_scale_offset(%x: tensor<2x16x8xf32>, %s: tensor<2x1x8xf32>) -> tensor<2x16x8xf32> {
  // CHECK: ditc.layer_norm %{{.*}} mod_scale %{{.*}} mod_shift %{{.*}} {axis = 2 : i64, epsilon = 9.9999999999999995E-7 : f64, mod_scale_offset = 1.000000e+00 : f64}
  %y = ditc.layer_norm %x mod_scale %s mod_shift %s {axis = 2 : i64, epsilon = 1.0e-6 : f64, mod_scale_offset = 1.0 : f64} : (tensor<2x16x8xf32>, tensor<2x1x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  return %y : tensor<2x16x8xf32>
}
