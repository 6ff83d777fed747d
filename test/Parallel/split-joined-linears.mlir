// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel | FileCheck %s
// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=tp=2" -ditc-split-joined-linears | FileCheck %s --check-prefix=ONLY
// RUN: ditc-opt %s -split-input-file -ditc-split-joined-linears | FileCheck %s --check-prefix=NOTP
// RUN: ditc-opt %s -split-input-file -ditc-plan="plan=tp=2" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel -ditc-propagate-sharding -ditc-partition | FileCheck %s --check-prefix=PART

// Joined inputs. Under tp, a linear layer over features joined along their
// last dimension (Flux's single blocks: attention output and MLP hidden
// units) becomes one linear layer per part on that part's rows of the
// weight (a window of the stored [12, 16] tensor: rows 0-7, rows 8-11),
// summed, with the bias once; the MLP part is then a Megatron pair like any
// other.
// CHECK-LABEL: func.func @main
// CHECK-NOT: ditc.concat
// CHECK: %[[A:.*]] = ditc.linear %arg0, %{{.*}} {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]} : {{.*}} -> tensor<1x8x8xf32>
// CHECK: %[[H:.*]] = ditc.linear %arg0, %{{.*}} {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]} : {{.*}} -> tensor<1x8x4xf32>
// CHECK: %[[W0:.*]] = ditc.weight "wo@rows0+8" {ditc.global_shape = array<i64: 12, 16>, ditc.source_name = "wo", ditc.window_offset = array<i64: 0, 0>, ditc.window_shape = array<i64: 8, 16>, file = "m.onnx", offset = 4096 : i64} : tensor<8x16xf32>
// CHECK: %[[Y0:.*]] = ditc.linear %[[A]], %[[W0]] bias %{{.*}} : (tensor<1x8x8xf32>, tensor<8x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
// CHECK: %[[W1:.*]] = ditc.weight "wo@rows8+4" {ditc.global_shape = array<i64: 12, 16>, ditc.source_name = "wo", ditc.window_offset = array<i64: 8, 0>, ditc.window_shape = array<i64: 4, 16>, file = "m.onnx", offset = 4096 : i64} : tensor<4x16xf32>
// CHECK: %[[Y1:.*]] = ditc.linear %{{.*}}, %[[W1]] : (tensor<1x8x4xf32>, tensor<4x16xf32>) -> tensor<1x8x16xf32>
// CHECK: %[[Y:.*]] = ditc.add %[[Y0]], %[[Y1]]
// CHECK: return %[[Y]]
// The pass alone: the split, and no seeds (-ditc-seed-tensor-parallel writes them).
// ONLY-LABEL: func.func @main
// ONLY-NOT: ditc.sharding
// ONLY-NOT: ditc.concat
// ONLY: ditc.weight "wo@rows0+8"
// ONLY: ditc.weight "wo@rows8+4"
// ONLY: ditc.add
// Without a tensor axis nothing changes.
// NOTP-LABEL: func.func @main
// NOTP: ditc.concat
// NOTP-NOT: @rows
// The partition cuts each window by rows (tp splits the contraction): rank
// r's block of rows 0-7 starts at row 4r of the window.
// PART-LABEL: func.func @main
// PART: ditc.weight "wo@rows0+8@{{.*}}" {ditc.global_shape = array<i64: 12, 16>, ditc.shard = #ditc.sharding<[{"tp"}, {}]>, ditc.source_name = "wo", ditc.window_offset = array<i64: 0, 0>, ditc.window_shape = array<i64: 8, 16>, file = "m.onnx", offset = 4096 : i64} : tensor<4x16xf32>
// PART: ditc.weight "wo@rows8+4@{{.*}}" {ditc.global_shape = array<i64: 12, 16>, ditc.shard = #ditc.sharding<[{"tp"}, {}]>, ditc.source_name = "wo", ditc.window_offset = array<i64: 8, 0>, ditc.window_shape = array<i64: 4, 16>, file = "m.onnx", offset = 4096 : i64} : tensor<2x16xf32>
// PART: ditc.collective.all_reduce

module {
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x4xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 256 : i64} : tensor<16x8xf32>
  %a = ditc.linear %x, %w2 : (tensor<1x8x16xf32>, tensor<16x8xf32>) -> tensor<1x8x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 4096 : i64} : tensor<12x16xf32>
  %bo = ditc.weight "bo" {file = "m.onnx", offset = 8192 : i64} : tensor<16xf32>
  %h = ditc.linear %x, %w1 : (tensor<1x8x16xf32>, tensor<16x4xf32>) -> tensor<1x8x4xf32>
  %g = ditc.gelu %h : tensor<1x8x4xf32>
  %c = ditc.concat %a, %g {axis = 2 : i64} : (tensor<1x8x8xf32>, tensor<1x8x4xf32>) -> tensor<1x8x12xf32>
  %y = ditc.linear %c, %wo bias %bo : (tensor<1x8x12xf32>, tensor<12x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}
}

// -----

// Joined outputs. GEGLU (Latte's, SD's feed-forwards): one layer gives the
// value and the gate side by side, chunked; value * gelu(gate) feeds the
// output projection. Split by columns whole, each rank would hold value
// features of one half and gate features of the other. One layer per part
// on its columns of the weight (PyTorch's [N, K] layout here: rows of the
// stored tensor) and its entries of the bias: each is then a column layer,
// and the pair of them with the output projection a Megatron pair.
// CHECK-LABEL: func.func @main
// CHECK-NOT: ditc.split
// CHECK: %[[WV:.*]] = ditc.weight "wp@cols0+8" {ditc.global_shape = array<i64: 16, 16>, ditc.source_name = "wp", ditc.window_offset = array<i64: 0, 0>, ditc.window_shape = array<i64: 8, 16>, file = "m.onnx", offset = 0 : i64} : tensor<8x16xf32>
// CHECK: %[[BV:.*]] = ditc.weight "bp@cols0+8" {ditc.global_shape = array<i64: 16>, ditc.source_name = "bp", ditc.window_offset = array<i64: 0>, ditc.window_shape = array<i64: 8>, file = "m.onnx", offset = 1024 : i64} : tensor<8xf32>
// CHECK: %[[V:.*]] = ditc.linear %arg0, %[[WV]] bias %[[BV]] {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>], transpose_weight} : {{.*}} -> tensor<1x8x8xf32>
// CHECK: %[[WG:.*]] = ditc.weight "wp@cols8+8" {{.*}}ditc.window_offset = array<i64: 8, 0>{{.*}} : tensor<8x16xf32>
// CHECK: %[[BG:.*]] = ditc.weight "bp@cols8+8" {{.*}}ditc.window_offset = array<i64: 8>{{.*}} : tensor<8xf32>
// CHECK: %[[G:.*]] = ditc.linear %arg0, %[[WG]] bias %[[BG]] {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>], transpose_weight} : {{.*}} -> tensor<1x8x8xf32>
// CHECK: %[[A:.*]] = ditc.gelu %[[G]]
// CHECK: %[[M:.*]] = ditc.mul %[[V]], %[[A]]
// CHECK: ditc.linear %[[M]]
// The old layer, its split and its weights are gone.
// CHECK-NOT: ditc.weight "wp" 
// ONLY-LABEL: func.func @main
// ONLY-NOT: ditc.split
// ONLY-NOT: ditc.weight "wp" 
// NOTP-LABEL: func.func @main
// NOTP: ditc.split
// NOTP-NOT: @cols
// Rank r holds value features 4r..4r+3 and gate features 8+4r..8+4r+3 (the
// window's block r along the stored tensor's rows): nothing moves before
// the output projection's all-reduce.
// PART-LABEL: func.func @main
// PART: ditc.weight "wp@cols0+8@{{.*}}" {ditc.global_shape = array<i64: 16, 16>, ditc.shard = #ditc.sharding<[{"tp"}, {}]>{{.*}}ditc.window_offset = array<i64: 0, 0>, ditc.window_shape = array<i64: 8, 16>{{.*}} : tensor<4x16xf32>
// PART: ditc.weight "wp@cols8+8@{{.*}}" {ditc.global_shape = array<i64: 16, 16>, ditc.shard = #ditc.sharding<[{"tp"}, {}]>{{.*}}ditc.window_offset = array<i64: 8, 0>, ditc.window_shape = array<i64: 8, 16>{{.*}} : tensor<4x16xf32>
// PART-NOT: ditc.collective.all_gather
// PART: ditc.collective.all_reduce
// PART-NOT: ditc.collective.all_gather
// PART: return

module {
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %wp = ditc.weight "wp" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %bp = ditc.weight "bp" {file = "m.onnx", offset = 1024 : i64} : tensor<16xf32>
  %p = ditc.linear %x, %wp bias %bp {transpose_weight} : (tensor<1x8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %v, %g = ditc.split %p {axis = 2 : i64} : (tensor<1x8x16xf32>) -> (tensor<1x8x8xf32>, tensor<1x8x8xf32>)
  %a = ditc.gelu %g : tensor<1x8x8xf32>
  %m = ditc.mul %v, %a : (tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 2048 : i64} : tensor<8x16xf32>
  %y = ditc.linear %m, %wo : (tensor<1x8x8xf32>, tensor<8x16xf32>) -> tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}
}

// -----

// Slices instead of a split, a bias that is a constant (cut at compile
// time), and a layer whose parts gain nothing: adaLN's modulation (one layer, cut
// into shift and scale for a layer norm, which needs its features whole)
// stays one layer.
// CHECK-LABEL: func.func @main
// CHECK-NOT: ditc.slice
// CHECK: ditc.weight "ww@cols0+8"
// CHECK: %[[B0:.*]] = ditc.constant dense<[1.000000e-01, 2.000000e-01, 3.000000e-01, 4.000000e-01, 5.000000e-01, 6.000000e-01, 0.699999988, 8.000000e-01]> : tensor<8xf32>
// CHECK: ditc.linear %arg0, %{{.*}} bias %[[B0]] {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]}
// CHECK: ditc.weight "ww@cols8+8"
// CHECK: %[[B1:.*]] = ditc.constant dense<[-1.000000e-01, -2.000000e-01, -3.000000e-01, -4.000000e-01, -5.000000e-01, -6.000000e-01, -0.699999988, -8.000000e-01]> : tensor<8xf32>
// CHECK: ditc.linear %arg0, %{{.*}} bias %[[B1]] {ditc.sharding = [#ditc.sharding<[{}, {}, {"tp"}]>]}
// CHECK: %[[MOD:.*]] = ditc.linear %arg1, %{{.*}} : (tensor<1x16xf32>, tensor<16x32xf32>) -> tensor<1x32xf32>
// CHECK: ditc.split %[[MOD]]
// CHECK-NOT: "wm@cols
// ONLY-LABEL: func.func @main
// ONLY-NOT: "wm@cols

module {
func.func @main(%x: tensor<1x8x16xf32>, %t: tensor<1x16xf32>) -> tensor<1x8x16xf32> {
  %ww = ditc.weight "ww" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %c = ditc.constant dense<[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, -0.1, -0.2, -0.3, -0.4, -0.5, -0.6, -0.7, -0.8]> : tensor<16xf32>
  %p = ditc.linear %x, %ww bias %c : (tensor<1x8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<1x8x16xf32>
  %v = ditc.slice %p {offsets = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x16xf32>) -> tensor<1x8x8xf32>
  %g = ditc.slice %p {offsets = array<i64: 0, 0, 8>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x16xf32>) -> tensor<1x8x8xf32>
  %s = ditc.silu %g : tensor<1x8x8xf32>
  %m = ditc.mul %v, %s : (tensor<1x8x8xf32>, tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 2048 : i64} : tensor<8x16xf32>
  %y = ditc.linear %m, %wo : (tensor<1x8x8xf32>, tensor<8x16xf32>) -> tensor<1x8x16xf32>
  %wm = ditc.weight "wm" {file = "m.onnx", offset = 4096 : i64} : tensor<16x32xf32>
  %mod = ditc.linear %t, %wm : (tensor<1x16xf32>, tensor<16x32xf32>) -> tensor<1x32xf32>
  %shift, %scale = ditc.split %mod {axis = 1 : i64} : (tensor<1x32xf32>) -> (tensor<1x16xf32>, tensor<1x16xf32>)
  %n = ditc.layer_norm %y {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %sc = ditc.mul %n, %scale : (tensor<1x8x16xf32>, tensor<1x16xf32>) -> tensor<1x8x16xf32>
  %o = ditc.add %sc, %shift : (tensor<1x8x16xf32>, tensor<1x16xf32>) -> tensor<1x8x16xf32>
  return %o : tensor<1x8x16xf32>
}
}

// -----

// A layer over joined features with an activation stays one layer: the
// activation applies to the sum of the parts, not to each.
// CHECK-LABEL: func.func @main
// CHECK: ditc.concat
// CHECK: ditc.linear %{{.*}}, %{{.*}} {activation = #ditc.activation<gelu_tanh>
// CHECK-NOT: @rows
// ONLY-LABEL: func.func @main
// ONLY: ditc.concat
// ONLY-NOT: @rows

module {
func.func @main(%x: tensor<1x8x16xf32>) -> tensor<1x8x16xf32> {
  %w1 = ditc.weight "w1" {file = "m.onnx", offset = 0 : i64} : tensor<16x4xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 256 : i64} : tensor<16x8xf32>
  %a = ditc.linear %x, %w2 : (tensor<1x8x16xf32>, tensor<16x8xf32>) -> tensor<1x8x8xf32>
  %h = ditc.linear %x, %w1 : (tensor<1x8x16xf32>, tensor<16x4xf32>) -> tensor<1x8x4xf32>
  %c = ditc.concat %a, %h {axis = 2 : i64} : (tensor<1x8x8xf32>, tensor<1x8x4xf32>) -> tensor<1x8x12xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 4096 : i64} : tensor<12x16xf32>
  %y = ditc.linear %c, %wo {activation = #ditc.activation<gelu_tanh>} : (tensor<1x8x12xf32>, tensor<12x16xf32>) -> tensor<1x8x16xf32>
  return %y : tensor<1x8x16xf32>
}
}
