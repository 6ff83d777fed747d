// RUN: ditc-opt %s -split-input-file -verify-diagnostics

func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{shapes 2x3, 4 do not broadcast}}
  %c = ditc.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %c : tensor<2x3xf32>
}

// -----

func.func @bad_modulation_axis(%x: tensor<2x16x8xf32>, %m: tensor<2x16x1xf32>) -> tensor<2x16x8xf32> {
  // expected-error@+1 {{modulation shape 2x16x1 must be the input's 2x16x8 with a suffix of the dims before the axis set to 1}}
  %c = ditc.layer_norm %x mod_scale %m {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>, tensor<2x16x1xf32>) -> tensor<2x16x8xf32>
  return %c : tensor<2x16x8xf32>
}

// -----

func.func @bad_modulation_per_token(%x: tensor<2x16x8xf32>, %m: tensor<1x16x8xf32>) -> tensor<2x16x8xf32> {
  // expected-error@+1 {{modulation shape 1x16x8 must be}}
  %c = ditc.layer_norm %x mod_shift %m {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>, tensor<1x16x8xf32>) -> tensor<2x16x8xf32>
  return %c : tensor<2x16x8xf32>
}

// -----

func.func @bad_modulation_pair(%x: tensor<2x16x8xf32>, %s: tensor<2x1x8xf32>, %t: tensor<1x1x8xf32>) -> tensor<2x16x8xf32> {
  // expected-error@+1 {{mod_scale and mod_shift must have the same shape}}
  %c = ditc.layer_norm %x mod_scale %s mod_shift %t {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>, tensor<2x1x8xf32>, tensor<1x1x8xf32>) -> tensor<2x16x8xf32>
  return %c : tensor<2x16x8xf32>
}

// -----

func.func @bad_modulation_type(%x: tensor<2x16x8xf32>, %s: tensor<2x1x8xbf16>) -> tensor<2x16x8xf32> {
  // expected-error@+1 {{mod_scale and mod_shift must have the input's element type}}
  %c = ditc.layer_norm %x mod_scale %s {axis = 2 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x16x8xf32>, tensor<2x1x8xbf16>) -> tensor<2x16x8xf32>
  return %c : tensor<2x16x8xf32>
}

// -----

func.func @bad_matmul(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+1 {{matmul contraction mismatch: 2x3 x 4x5}}
  %c = ditc.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %c : tensor<2x5xf32>
}

// -----

func.func @bad_heads(%q: tensor<1x3x16x8xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32> {
  // expected-error@+1 {{query heads (3) are not a multiple of key/value heads (2)}}
  %o = ditc.attention %q, %k, %k : (tensor<1x3x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32>
  return %o : tensor<1x3x16x8xf32>
}

// -----

func.func @bad_seq_major_count(%q: tensor<1x16x4x8xf32>) -> tensor<1x16x4x8xf32> {
  // expected-error@+1 {{seq_major needs four entries (query, key, value, result), not 3}}
  %o = ditc.attention %q, %q, %q {seq_major = array<i1: true, true, true>} : (tensor<1x16x4x8xf32>, tensor<1x16x4x8xf32>, tensor<1x16x4x8xf32>) -> tensor<1x16x4x8xf32>
  return %o : tensor<1x16x4x8xf32>
}

// -----

// A seq_major query's heads are its dim 2.
func.func @bad_seq_major_heads(%q: tensor<1x16x3x8xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32> {
  // expected-error@+1 {{query heads (3) are not a multiple of key/value heads (2)}}
  %o = ditc.attention %q, %k, %k {seq_major = array<i1: true, false, false, false>} : (tensor<1x16x3x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x3x16x8xf32>
  return %o : tensor<1x3x16x8xf32>
}

// -----

// A seq_major result is [B, S, H, D].
func.func @bad_seq_major_result(%q: tensor<1x16x4x8xf32>, %k: tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32> {
  // expected-error@+1 {{result shape 1x4x16x8 should be 1x16x4x8}}
  %o = ditc.attention %q, %k, %k {seq_major = array<i1: true, false, false, true>} : (tensor<1x16x4x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

func.func @bad_reshape(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error@+1 {{cannot reshape 2x3 to 7}}
  %c = ditc.reshape %a : (tensor<2x3xf32>) -> tensor<7xf32>
  return %c : tensor<7xf32>
}

// -----

func.func @bad_linear(%x: tensor<2x8xf32>, %w: tensor<4x16xf32>) -> tensor<2x16xf32> {
  // expected-error@+1 {{linear input 2x8 does not match weight 4x16}}
  %c = ditc.linear %x, %w : (tensor<2x8xf32>, tensor<4x16xf32>) -> tensor<2x16xf32>
  return %c : tensor<2x16xf32>
}

// -----

func.func @bad_norm(%x: tensor<2x8xf32>, %g: tensor<4xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{parameter shape 4 does not broadcast to the normalised shape 8}}
  %c = ditc.rms_norm %x scale %g {axis = 1 : i64, epsilon = 1.0e-6 : f64} : (tensor<2x8xf32>, tensor<4xf32>) -> tensor<2x8xf32>
  return %c : tensor<2x8xf32>
}

// -----

func.func @bad_slice(%x: tensor<8xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{window leaves the input on axis 0}}
  %c = ditc.slice %x {offsets = array<i64: 6>, steps = array<i64: 1>} : (tensor<8xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @bad_rope(%x: tensor<1x4x16x8xf32>, %c: tensor<1x1x16x10xf32>) -> tensor<1x4x16x8xf32> {
  // expected-error@+1 {{cos/sin 1x1x16x10 must broadcast to input 1x4x16x8 with an even last dimension of at most 8}}
  %y = ditc.rope %x, %c, %c : (tensor<1x4x16x8xf32>, tensor<1x1x16x10xf32>, tensor<1x1x16x10xf32>) -> tensor<1x4x16x8xf32>
  return %y : tensor<1x4x16x8xf32>
}

// -----

func.func @bad_reduce_min_axes(%x: tensor<2x3x4xf32>) -> tensor<2xf32> {
  // expected-error@+1 {{reduction axes must be sorted and unique}}
  %y = ditc.reduce_min %x {axes = array<i64: 2, 1>, keep_dims = false} : (tensor<2x3x4xf32>) -> tensor<2xf32>
  return %y : tensor<2xf32>
}

// -----

func.func @bad_reduce_prod_shape(%x: tensor<2x3x4xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{result shape 2x3 should be 2x3x1}}
  %y = ditc.reduce_prod %x {axes = array<i64: 2>} : (tensor<2x3x4xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

func.func @bad_argmax_axis(%x: tensor<2x5xf32>) -> tensor<2x1xi64> {
  // expected-error@+1 {{'ditc.argmax' op axis 2 out of range for rank 2}}
  %y = ditc.argmax %x {axis = 2 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi64>
  return %y : tensor<2x1xi64>
}

// -----

func.func @bad_argmin_shape(%x: tensor<2x5xf32>) -> tensor<2x1xi64> {
  // expected-error@+1 {{'ditc.argmin' op result shape 2x1 should be 2}}
  %y = ditc.argmin %x {axis = 1 : i64, keep_dims = false} : (tensor<2x5xf32>) -> tensor<2x1xi64>
  return %y : tensor<2x1xi64>
}

// -----

func.func @bad_argmax_type(%x: tensor<2x5xf32>) -> tensor<2x1xi32> {
  // expected-error@+1 {{'ditc.argmax' op result #0 must be ranked tensor of 64-bit signless integer values}}
  %y = ditc.argmax %x {axis = 1 : i64} : (tensor<2x5xf32>) -> tensor<2x1xi32>
  return %y : tensor<2x1xi32>
}

// -----

func.func @bad_cumsum_axis(%x: tensor<2x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+1 {{'ditc.cumsum' op axis 2 out of range for rank 2}}
  %y = ditc.cumsum %x {axis = 2 : i64} : tensor<2x5xf32>
  return %y : tensor<2x5xf32>
}

// -----

func.func @bad_pool_rank(%x: tensor<3x8xf32>) -> tensor<3x4xf32> {
  // expected-error@+1 {{'ditc.pool' op input must be [N, C, spatial...], got 3x8}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>, dilations = array<i64: 1>} : (tensor<3x8xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// -----

func.func @bad_pool_window(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error@+1 {{'ditc.pool' op expects 2 positive entries per window attribute}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 0>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

func.func @bad_pool_pads(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error@+1 {{'ditc.pool' op expects 4 non-negative pads}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<avg>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, -1, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

func.func @bad_pool_channels(%x: tensor<1x3x8x8xf32>) -> tensor<1x4x4x4xf32> {
  // expected-error@+1 {{'ditc.pool' op result must be [N, C, spatial...] like the input}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}

// -----

func.func @bad_pool_element_type(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf16> {
  // expected-error@+1 {{'ditc.pool' op result must have the input's element type}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf16>
  return %y : tensor<1x3x4x4xf16>
}

// -----

func.func @bad_pool_indices_kind(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xi64> {
  // expected-error@+1 {{'ditc.pool' op indices come with max pooling, in the result's shape}}
  %y, %i = ditc.pool %x {kind = #ditc.pool_kind<avg>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x4xi64>)
  return %i : tensor<1x3x4x4xi64>
}

// -----

func.func @bad_pool_indices_shape(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x2xi64> {
  // expected-error@+1 {{'ditc.pool' op indices come with max pooling, in the result's shape}}
  %y, %i = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> (tensor<1x3x4x4xf32>, tensor<1x3x4x2xi64>)
  return %i : tensor<1x3x4x2xi64>
}

// -----

func.func @bad_pool_p(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  // expected-error@+1 {{'ditc.pool' op p must be >= 1}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<lp>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, p = 0 : i64} : (tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32>
  return %y : tensor<1x3x4x4xf32>
}

// -----

func.func @bad_conv_transpose_element_type(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf16>) -> tensor<1x2x5x5xf32> {
  // expected-error@+1 {{'ditc.conv_transpose' op operands and result must share an element type}}
  %y = ditc.conv_transpose %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf16>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

func.func @bad_conv_transpose_pads(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x5x5xf32> {
  // expected-error@+1 {{'ditc.conv_transpose' op expects 4 pads}}
  %y = ditc.conv_transpose %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

func.func @bad_conv_transpose_dilations(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x5x5xf32> {
  // expected-error@+1 {{'ditc.conv_transpose' op expects 2 positive entries per window attribute}}
  %y = ditc.conv_transpose %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1>, group = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

func.func @bad_conv_transpose_group(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x5x5xf32> {
  // expected-error@+1 {{'ditc.conv_transpose' op channels: input 1x4x3x3, weight 4x2x3x3, result 1x2x5x5, group 2}}
  %y = ditc.conv_transpose %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 2 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

func.func @bad_conv_transpose_bias(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x2x5x5xf32> {
  // expected-error@+1 {{'ditc.conv_transpose' op bias must have one entry per output channel}}
  %y = ditc.conv_transpose %x, %w bias %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, group = 1 : i64} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x2x5x5xf32>
  return %y : tensor<1x2x5x5xf32>
}

// -----

func.func @bad_grid_sample_element_type(%x: tensor<1x2x4x4xf32>, %g: tensor<1x6x5x2xf16>) -> tensor<1x2x6x5xf32> {
  // expected-error@+1 {{'ditc.grid_sample' op operands and result must share an element type}}
  %y = ditc.grid_sample %x, %g {mode = #ditc.grid_sample_mode<linear>, padding_mode = #ditc.grid_sample_padding<zeros>} : (tensor<1x2x4x4xf32>, tensor<1x6x5x2xf16>) -> tensor<1x2x6x5xf32>
  return %y : tensor<1x2x6x5xf32>
}

// -----

func.func @bad_grid_sample_grid(%x: tensor<1x2x4x4xf32>, %g: tensor<1x6x5x3xf32>) -> tensor<1x2x6x5xf32> {
  // expected-error@+1 {{'ditc.grid_sample' op expects input [N, C, d...], grid [N, o..., rank] and result [N, C, o...], got 1x2x4x4, 1x6x5x3, 1x2x6x5}}
  %y = ditc.grid_sample %x, %g {mode = #ditc.grid_sample_mode<nearest>, padding_mode = #ditc.grid_sample_padding<border>} : (tensor<1x2x4x4xf32>, tensor<1x6x5x3xf32>) -> tensor<1x2x6x5xf32>
  return %y : tensor<1x2x6x5xf32>
}

// -----

func.func @bad_grid_sample_result(%x: tensor<1x2x4x4xf32>, %g: tensor<1x6x5x2xf32>) -> tensor<1x2x5x6xf32> {
  // expected-error@+1 {{'ditc.grid_sample' op expects input [N, C, d...], grid [N, o..., rank] and result [N, C, o...], got 1x2x4x4, 1x6x5x2, 1x2x5x6}}
  %y = ditc.grid_sample %x, %g {mode = #ditc.grid_sample_mode<linear>, padding_mode = #ditc.grid_sample_padding<zeros>} : (tensor<1x2x4x4xf32>, tensor<1x6x5x2xf32>) -> tensor<1x2x5x6xf32>
  return %y : tensor<1x2x5x6xf32>
}

// -----

func.func @bad_scatter_elements_result(%d: tensor<4x5xf32>, %i: tensor<2x5xi64>, %u: tensor<2x5xf32>) -> tensor<4x6xf32> {
  // expected-error@+1 {{'ditc.scatter_elements' op result must have the data's type}}
  %y = ditc.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #ditc.scatter_reduction<none>} : (tensor<4x5xf32>, tensor<2x5xi64>, tensor<2x5xf32>) -> tensor<4x6xf32>
  return %y : tensor<4x6xf32>
}

// -----

func.func @bad_scatter_elements_updates_type(%d: tensor<4x5xf32>, %i: tensor<2x5xi64>, %u: tensor<2x5xf16>) -> tensor<4x5xf32> {
  // expected-error@+1 {{'ditc.scatter_elements' op updates must have the data's element type}}
  %y = ditc.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #ditc.scatter_reduction<add>} : (tensor<4x5xf32>, tensor<2x5xi64>, tensor<2x5xf16>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bad_scatter_elements_shapes(%d: tensor<4x5xf32>, %i: tensor<2x5xi64>, %u: tensor<2x4xf32>) -> tensor<4x5xf32> {
  // expected-error@+1 {{'ditc.scatter_elements' op indices and updates must share a shape of the data's rank}}
  %y = ditc.scatter_elements %d, %i, %u {axis = 0 : i64, reduction = #ditc.scatter_reduction<none>} : (tensor<4x5xf32>, tensor<2x5xi64>, tensor<2x4xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bad_scatter_elements_axis(%d: tensor<4x5xf32>, %i: tensor<2x5xi64>, %u: tensor<2x5xf32>) -> tensor<4x5xf32> {
  // expected-error@+1 {{'ditc.scatter_elements' op axis 2 out of range}}
  %y = ditc.scatter_elements %d, %i, %u {axis = 2 : i64, reduction = #ditc.scatter_reduction<max>} : (tensor<4x5xf32>, tensor<2x5xi64>, tensor<2x5xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bad_scatter_nd_result(%d: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3x5xf32>) -> tensor<4x5xf16> {
  // expected-error@+1 {{'ditc.scatter_nd' op result must have the data's type}}
  %y = ditc.scatter_nd %d, %i, %u {reduction = #ditc.scatter_reduction<none>} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3x5xf32>) -> tensor<4x5xf16>
  return %y : tensor<4x5xf16>
}

// -----

func.func @bad_scatter_nd_updates_type(%d: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3x5xi32>) -> tensor<4x5xf32> {
  // expected-error@+1 {{'ditc.scatter_nd' op updates must have the data's element type}}
  %y = ditc.scatter_nd %d, %i, %u {reduction = #ditc.scatter_reduction<none>} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3x5xi32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bad_scatter_nd_tuple(%d: tensor<4x5xf32>, %i: tensor<3x3xi64>, %u: tensor<3xf32>) -> tensor<4x5xf32> {
  // expected-error@+1 {{'ditc.scatter_nd' op indices must end in a tuple length within the data's rank}}
  %y = ditc.scatter_nd %d, %i, %u {reduction = #ditc.scatter_reduction<mul>} : (tensor<4x5xf32>, tensor<3x3xi64>, tensor<3xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bad_scatter_nd_updates(%d: tensor<4x5xf32>, %i: tensor<3x1xi64>, %u: tensor<3x4xf32>) -> tensor<4x5xf32> {
  // expected-error@+1 {{'ditc.scatter_nd' op updates shape 3x4 should be 3x5}}
  %y = ditc.scatter_nd %d, %i, %u {reduction = #ditc.scatter_reduction<min>} : (tensor<4x5xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

// -----

func.func @bad_bitwise_broadcast(%a: tensor<2x3xi32>, %b: tensor<4xi32>) -> tensor<2x3xi32> {
  // expected-error@+1 {{shapes 2x3, 4 do not broadcast}}
  %c = ditc.bitwise_and %a, %b : (tensor<2x3xi32>, tensor<4xi32>) -> tensor<2x3xi32>
  return %c : tensor<2x3xi32>
}

// -----

func.func @bad_bitwise_types(%a: tensor<4xi32>, %b: tensor<4xui8>) -> tensor<4xi32> {
  // expected-error@+1 {{'ditc.bitwise_xor' op failed to verify that all of {lhs, rhs, result} have same element type}}
  %c = ditc.bitwise_xor %a, %b : (tensor<4xi32>, tensor<4xui8>) -> tensor<4xi32>
  return %c : tensor<4xi32>
}

// -----

func.func @bitwise_on_floats(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{operand #0 must be ranked tensor of integer values}}
  %c = ditc.bitwise_and %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %c : tensor<4xf32>
}

// -----

func.func @pool_window_count(%x: tensor<1x3x8x8xf32>) -> tensor<1x3x7x2xf32> {
  // expected-error@+1 {{spatial axis 0 has 7 windows; expected 4}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>) -> tensor<1x3x7x2xf32>
  return %y : tensor<1x3x7x2xf32>
}

// -----

func.func @pool_ceil_bound(%x: tensor<1x1x5xf32>) -> tensor<1x1x4xf32> {
  // expected-error@+1 {{spatial axis 0 has 4 windows; expected 2 or 3}}
  %y = ditc.pool %x {kind = #ditc.pool_kind<avg>, kernel_shape = array<i64: 2>, strides = array<i64: 2>, pads = array<i64: 0, 0>, dilations = array<i64: 1>} : (tensor<1x1x5xf32>) -> tensor<1x1x4xf32>
  return %y : tensor<1x1x4xf32>
}

// -----

func.func @conv_transpose_size(%x: tensor<1x4x3x3xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x2x9x7xf32> {
  // expected-error@+1 {{spatial axis 0 has size 9; expected 7 plus an output padding below 2}}
  %y = ditc.conv_transpose %x, %w {dilations = array<i64: 1, 1>, group = 1 : i64, pads = array<i64: 0, 0, 0, 0>, strides = array<i64: 2, 2>} : (tensor<1x4x3x3xf32>, tensor<4x2x3x3xf32>) -> tensor<1x2x9x7xf32>
  return %y : tensor<1x2x9x7xf32>
}

// -----

func.func @det_not_square(%x: tensor<4x3x2xf32>) -> tensor<4xf32> {
  // expected-error@+1 {{input must be [..., n, n], got 4x3x2}}
  %d = ditc.det %x : (tensor<4x3x2xf32>) -> tensor<4xf32>
  return %d : tensor<4xf32>
}

// -----

func.func @det_result(%x: tensor<4x3x3xf32>) -> tensor<3xf32> {
  // expected-error@+1 {{result must be 4, got 3}}
  %d = ditc.det %x : (tensor<4x3x3xf32>) -> tensor<3xf32>
  return %d : tensor<3xf32>
}

// -----

func.func @mul_add_bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error@+1 {{shapes 2x3, 2x3, 4 do not broadcast}}
  %r = ditc.mul_add %a, %a, %b : (tensor<2x3xf32>, tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %r : tensor<2x3xf32>
}

// -----

func.func @mul_add_mixed_types(%a: tensor<4xf32>, %b: tensor<4xbf16>) -> tensor<4xf32> {
  // expected-error@+1 {{all of {lhs, rhs, addend, result} have same element type}}
  %r = ditc.mul_add %a, %b, %a : (tensor<4xf32>, tensor<4xbf16>, tensor<4xf32>) -> tensor<4xf32>
  return %r : tensor<4xf32>
}

// -----

func.func @mod_scale_offset_without_scale(%x: tensor<2x16x8xf32>, %t: tensor<2x1x8xf32>) -> tensor<2x16x8xf32> {
  // expected-error@+1 {{mod_scale_offset needs a mod_scale}}
  %y = ditc.layer_norm %x mod_shift %t {axis = 2 : i64, epsilon = 1.0e-6 : f64, mod_scale_offset = 1.0 : f64} : (tensor<2x16x8xf32>, tensor<2x1x8xf32>) -> tensor<2x16x8xf32>
  return %y : tensor<2x16x8xf32>
}
