// RUN: ditc-opt %s -split-input-file -ditc-plan-memory -ditc-lower-to-runtime -verify-diagnostics | FileCheck %s

// Each op is one runtime call: pointers into the arena, the input/output
// tables and the weight table; shapes and strides as constant globals.
// CHECK-LABEL: module
// CHECK: llvm.mlir.global private constant @ditc_i64_{{[0-9]+}}
// CHECK: llvm.func @ditc_generated_run(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: i32) -> i32
// CHECK: llvm.load %{{.*}} : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @ditc_rt_linear_f32
// CHECK: llvm.call @ditc_rt_unary_f32
// CHECK: llvm.call @ditc_rt_linear_f32
// CHECK: llvm.call @ditc_rt_binary
// CHECK: llvm.call @ditc_rt_unary_f32
// The reshaped output is copied into its buffer at the end.
// CHECK: llvm.call @ditc_rt_strided_copy
// CHECK: llvm.return
// CHECK-DAG: llvm.func @ditc_rt_linear_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i32, i32)
// CHECK-DAG: llvm.func @ditc_rt_unary_f32(i32, !llvm.ptr, !llvm.ptr, i64)
// CHECK-DAG: llvm.func @ditc_rt_binary(i32, i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32)
// CHECK-DAG: llvm.func @ditc_rt_strided_copy(
// CHECK-DAG: llvm.func @ditc_generated_json() -> !llvm.ptr
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

// The descriptor lists inputs, outputs, weights (deduplicated) and the arena.
// CHECK: llvm.mlir.global private constant @ditc_generated_json_data("{\22abi\22:2,\22arena_bytes\22:1024,\22constants\22:0,\22dtype\22:\22f32\22,\22inputs\22:[{\22dtype\22:\22f32\22,\22name\22:\22x\22,\22shape\22:[4,64]}],\22outputs\22:[{\22dtype\22:\22f32\22,\22name\22:\22y\22,\22shape\22:[4,64]}],\22target\22:\22cpu\22,\22weights\22:[{\22dtype\22:\22f32\22,\22file\22:\22m.onnx\22,\22name\22:\22w\22,\22offset\22:0,\22shape\22:[64,64]}]}\00")
func.func @main(%x: tensor<4x64xf32> {ditc.name = "x"}) -> (tensor<4x64xf32> {ditc.name = "y"}) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x64xf32>
  %w2 = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x64xf32>
  %a = ditc.linear %x, %w : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  %b = ditc.linear %a, %w2 : (tensor<4x64xf32>, tensor<64x64xf32>) -> tensor<4x64xf32>
  return %b : tensor<4x64xf32>
}

// -----

// Ops without a kernel are refused with the op named.
func.func @main(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // expected-error@+1 {{cannot generate code: no runtime lowering for 'ditc.einsum'}}
  %y = ditc.einsum %x {equation = "ab->ba"} : (tensor<4x8xf32>) -> tensor<8x4xf32>
  return %y : tensor<8x4xf32>
}

// -----

// The compute kernels take one of f32, f16 and bf16 for all their tensors:
// others (f64, integers) are refused instead of misread, and so is an
// additive mask of a 16-bit type (the kernels read it as f32).
func.func @main(%a: tensor<2x4xf64>, %b: tensor<4x3xf64>) -> tensor<2x3xf64> {
  // expected-error@+1 {{cannot generate code: the kernel takes f32, f16 or bf16, not f64}}
  %c = ditc.matmul %a, %b : (tensor<2x4xf64>, tensor<4x3xf64>) -> tensor<2x3xf64>
  return %c : tensor<2x3xf64>
}

// -----

func.func @main(%q: tensor<1x2x4x8xf16>, %m: tensor<4x4xf16>) -> tensor<1x2x4x8xf16> {
  // expected-error@+1 {{cannot generate code: an additive attention mask must be f32, not f16}}
  %o = ditc.attention %q, %q, %q mask %m : (tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<1x2x4x8xf16>, tensor<4x4xf16>) -> tensor<1x2x4x8xf16>
  return %o : tensor<1x2x4x8xf16>
}

// -----

// bf16 and f16 compute ops call the dtype-taking entry points with the
// dtype code first (DITC_RT_BF16 = 5, DITC_RT_F16 = 4); elementwise ops
// pass it as their dtype; the descriptor records the module's dtype.
// CHECK-LABEL: ditc.dtype = "bf16"} {
// CHECK: %[[D1:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_linear(%[[D1]],
// CHECK: %[[D2:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_unary(%{{.*}}, %[[D2]],
// CHECK: %[[D3:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_layer_norm(%[[D3]],
// CHECK: %[[D4:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_attention(%[[D4]],
// CHECK: %[[D5:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_binary(%{{.*}}, %[[D5]],
// CHECK: %[[D6:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_reduce(%{{.*}}, %[[D6]],
// CHECK: %[[D7:.*]] = llvm.mlir.constant(5 : i32) : i32
// CHECK: llvm.call @ditc_rt_cast(%[[D7]],
// CHECK: %[[D8:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: llvm.call @ditc_rt_softmax(%[[D8]],
// CHECK-DAG: llvm.func @ditc_rt_linear(i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i32, i32)
// CHECK-DAG: llvm.func @ditc_rt_attention(i32, !llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i32, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, i64, i64, f32, i32)
// CHECK: ditc_generated_json_data("{{.*}}\22dtype\22:\22bf16\22{{.*}}\22target\22:\22cpu\22
module attributes {ditc.dtype = "bf16"} {
func.func @main(%x: tensor<1x2x4x8xbf16> {ditc.name = "x"}, %m: tensor<4x4xf32>, %h: tensor<2x3xf16>) -> (tensor<1x2x1x8xf32>, tensor<2x3xf16>) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<8x8xbf16>
  %a = ditc.linear %x, %w : (tensor<1x2x4x8xbf16>, tensor<8x8xbf16>) -> tensor<1x2x4x8xbf16>
  %g = ditc.gelu %a : tensor<1x2x4x8xbf16>
  %n = ditc.layer_norm %g {axis = 3 : i64, epsilon = 1.0e-6 : f64} : (tensor<1x2x4x8xbf16>) -> tensor<1x2x4x8xbf16>
  %o = ditc.attention %n, %n, %n mask %m : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>, tensor<4x4xf32>) -> tensor<1x2x4x8xbf16>
  %s = ditc.add %o, %a : (tensor<1x2x4x8xbf16>, tensor<1x2x4x8xbf16>) -> tensor<1x2x4x8xbf16>
  %r = ditc.reduce_mean %s {axes = array<i64: 2>} : (tensor<1x2x4x8xbf16>) -> tensor<1x2x1x8xbf16>
  %c = ditc.cast %r : (tensor<1x2x1x8xbf16>) -> tensor<1x2x1x8xf32>
  %p = ditc.softmax %h {axis = 1 : i64} : tensor<2x3xf16>
  return %c, %p : tensor<1x2x1x8xf32>, tensor<2x3xf16>
}
}

// -----

// Graph inputs of element types the model ABI does not carry are refused.
// expected-error@+1 {{a graph input or output has element type 'f8E4M3FN', which compiled models cannot take}}
func.func @main(%a: tensor<4xf8E4M3FN>) -> tensor<4xf8E4M3FN> {
  return %a : tensor<4xf8E4M3FN>
}

// -----

// Unsigned and narrow integers, f64 and f16 have binary kernels: the dtype
// codes are DITC_RT_U32 (11), I8 (7), F64 (6), F16 (4); mod is op 16, fmod
// (C's sign) op 17; is_nan passes its dtype.
// CHECK: module attributes {ditc.arena_bytes
// CHECK: %[[ADD:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: %[[U32:.*]] = llvm.mlir.constant(11 : i32) : i32
// CHECK: llvm.call @ditc_rt_binary(%[[ADD]], %[[U32]],
// CHECK: %[[MOD:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK: %[[I8:.*]] = llvm.mlir.constant(7 : i32) : i32
// CHECK: llvm.call @ditc_rt_binary(%[[MOD]], %[[I8]],
// CHECK: %[[FMOD:.*]] = llvm.mlir.constant(17 : i32) : i32
// CHECK: %[[F64:.*]] = llvm.mlir.constant(6 : i32) : i32
// CHECK: llvm.call @ditc_rt_binary(%[[FMOD]], %[[F64]],
// CHECK: %[[F16:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: llvm.call @ditc_rt_is_nan(%[[F16]],
// CHECK: llvm.call @ditc_rt_cast(
// CHECK: ditc_generated_json_data{{.*}}\22ui32\22{{.*}}\22ui64\22
func.func @main(%a: tensor<4xui32>, %b: tensor<4xi8>, %c: tensor<4xf64>, %d: tensor<4xf16>) -> (tensor<4xui32>, tensor<4xi8>, tensor<4xf64>, tensor<4xi1>, tensor<4xui64>) {
  %s = ditc.add %a, %a : (tensor<4xui32>, tensor<4xui32>) -> tensor<4xui32>
  %m = ditc.mod %b, %b : (tensor<4xi8>, tensor<4xi8>) -> tensor<4xi8>
  %f = ditc.mod %c, %c {fmod} : (tensor<4xf64>, tensor<4xf64>) -> tensor<4xf64>
  %n = ditc.is_nan %d : (tensor<4xf16>) -> tensor<4xi1>
  %u = ditc.cast %c : (tensor<4xf64>) -> tensor<4xui64>
  return %s, %m, %f, %n, %u : tensor<4xui32>, tensor<4xi8>, tensor<4xf64>, tensor<4xi1>, tensor<4xui64>
}

// -----

// An op the binary kernel does not take for the element type is refused.
func.func @main(%a: tensor<4xi1>) -> tensor<4xi1> {
  // expected-error@+1 {{cannot generate code: no runtime kernel for 'ditc.pow' on element type i1}}
  %p = ditc.pow %a, %a : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  return %p : tensor<4xi1>
}

// -----

// ditc.rope is one ditc_rt_rope_f32 call: [B, H, S, D] = [2, 4, 3, 8] with
// [B, 1, S, W] = [2, 1, 3, 6] tables as rows [2, 4, 3], table strides
// {18, 0, 6} (an i64 global), dim 8, 6 rotated; then Flux's [1, 24, 2, 16]
// with [1, 24, 1, 16] tables, interleaved, as rows [1, 24, 2], strides
// {0, 16, 0}. (Globals are inserted at the top: the last one comes first.)
// CHECK: llvm.mlir.global private constant @[[FLUX:ditc_i64_[0-9]+]]("\00\00\00\00\00\00\00\00\10\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")
// CHECK: llvm.mlir.global private constant @[[LLAMA:ditc_i64_[0-9]+]]("\12\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\06\00\00\00\00\00\00\00")
// CHECK: llvm.func @ditc_generated_run
// CHECK-DAG: %[[C2:.*]] = llvm.mlir.constant(2 : i64) : i64
// CHECK-DAG: %[[C4:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK-DAG: %[[C3:.*]] = llvm.mlir.constant(3 : i64) : i64
// CHECK-DAG: %[[C8:.*]] = llvm.mlir.constant(8 : i64) : i64
// CHECK-DAG: %[[C6:.*]] = llvm.mlir.constant(6 : i64) : i64
// CHECK-DAG: %[[LS:.*]] = llvm.mlir.addressof @[[LLAMA]]
// CHECK-DAG: %[[HALF:.*]] = llvm.mlir.constant(0 : i32) : i32
// CHECK: llvm.call @ditc_rt_rope_f32(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C2]], %[[C4]], %[[C3]], %[[C8]], %[[C6]], %[[LS]], %[[HALF]])
// CHECK-DAG: %[[FS:.*]] = llvm.mlir.addressof @[[FLUX]]
// CHECK-DAG: %[[INTER:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @ditc_rt_rope_f32({{.*}}, %[[FS]], %[[INTER]])
// CHECK: llvm.func @ditc_rt_rope_f32(!llvm.ptr, !llvm.ptr, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64, !llvm.ptr, i32)
func.func @main(%x: tensor<2x4x3x8xf32>, %c: tensor<2x1x3x6xf32>, %s: tensor<2x1x3x6xf32>,
                %xf: tensor<1x24x2x16xf32>, %cf: tensor<1x24x1x16xf32>) -> (tensor<2x4x3x8xf32>, tensor<1x24x2x16xf32>) {
  %y = ditc.rope %x, %c, %s : (tensor<2x4x3x8xf32>, tensor<2x1x3x6xf32>, tensor<2x1x3x6xf32>) -> tensor<2x4x3x8xf32>
  %f = ditc.rope %xf, %cf, %cf {interleaved} : (tensor<1x24x2x16xf32>, tensor<1x24x1x16xf32>, tensor<1x24x1x16xf32>) -> tensor<1x24x2x16xf32>
  return %y, %f : tensor<2x4x3x8xf32>, tensor<1x24x2x16xf32>
}

// -----

// A rope whose tables the kernel cannot index is refused (legalization
// decomposes it first).
func.func @main(%x: tensor<2x3x4x5x8xf32>, %c: tensor<2x1x4x1x8xf32>) -> tensor<2x3x4x5x8xf32> {
  // expected-error@+1 {{cannot generate code: the rope kernel takes tables of the input's float type (f32, f16 or bf16) that broadcast over at most three runs of dims}}
  %y = ditc.rope %x, %c, %c : (tensor<2x3x4x5x8xf32>, tensor<2x1x4x1x8xf32>, tensor<2x1x4x1x8xf32>) -> tensor<2x3x4x5x8xf32>
  return %y : tensor<2x3x4x5x8xf32>
}
