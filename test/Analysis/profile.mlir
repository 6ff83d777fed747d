// RUN: ditc-opt %s -split-input-file -test-print-profile -o /dev/null | FileCheck %s
// RUN: ditc-opt %s -split-input-file -test-print-profile="hw=%S/Inputs/toy-hw.json" -o /dev/null | FileCheck %s --check-prefix=TIME
// RUN: ditc-opt %s -split-input-file -test-print-profile="hw=%S/Inputs/toy-movement-hw.json" -o /dev/null | FileCheck %s --check-prefix=MOVE

// Contractions, 2 FLOPs per multiply-add:
//   linear  4x64 . 64x32      2*(4*32)*64            = 16384, bias 4*32 = 128
//   matmul  3x4x5 . 5x6       2*(3*4*6)*5            = 720
//   conv    1x3x8x8 * 4x3x2x2 /2 -> 1x4x4x4: 2*64*(3*2*2) = 1536, bias 64
//   einsum  bij,bjk->bik      2*(b2*i3*j4*k5)        = 240
// linear reads x (1024 B), W (8192 B) and b (128 B) and writes 512 B; its
// parameters are W and b (2048 + 32 elements). conv reads 768 + 192 + 16 B,
// einsum 96 + 160 B. The four exps (1 FLOP per element) add 294 other FLOPs.
// CHECK-LABEL: step 0 ditc.linear: matrix 16384 other 128 read 9344 written 512 params 2080 live 512
// CHECK-NEXT: step 1 ditc.matmul: matrix 720 other 0 read 360 written 288 params 30 live 832
// CHECK-NEXT: step 2 ditc.conv: matrix 1536 other 64 read 976 written 256 params 52 live 1088
// CHECK-NEXT: step 3 ditc.einsum: matrix 240 other 0 read 256 written 120 params 0 live 1216
// CHECK: total: matrix 18880 other 486 {{.*}} params 2162 param-bytes 8648 inputs 2288 outputs 1176
// Roofline on the toy machine (1 GFLOP/s matrix, 0.1 GFLOP/s other,
// 1 GB/s, 1 us launch): linear = 16384/1e9 + 128/1e8 = 17.664 us compute vs
// 9.856 us memory, + 1 us.
// TIME-LABEL: step 0 ditc.linear: {{.*}} time 1.866E-05 compute
// TIME-NEXT: step 1 ditc.matmul: {{.*}} time 1.720E-06 compute
func.func @main(%x: tensor<4x64xf32>, %a: tensor<3x4x5xf32>, %img: tensor<1x3x8x8xf32>,
                %e0: tensor<2x3x4xf32>, %e1: tensor<2x4x5xf32>)
    -> (tensor<4x32xf32>, tensor<3x4x6xf32>, tensor<1x4x4x4xf32>, tensor<2x3x5xf32>) {
  %w = ditc.weight "w" {file = "m.onnx", offset = 0 : i64} : tensor<64x32xf32>
  %b = ditc.weight "b" {file = "m.onnx", offset = 8192 : i64} : tensor<32xf32>
  %m = ditc.weight "m" {file = "m.onnx", offset = 8320 : i64} : tensor<5x6xf32>
  %cw = ditc.weight "cw" {file = "m.onnx", offset = 8440 : i64} : tensor<4x3x2x2xf32>
  %cb = ditc.weight "cb" {file = "m.onnx", offset = 8632 : i64} : tensor<4xf32>
  %y = ditc.linear %x, %w bias %b : (tensor<4x64xf32>, tensor<64x32xf32>, tensor<32xf32>) -> tensor<4x32xf32>
  %z = ditc.matmul %a, %m : (tensor<3x4x5xf32>, tensor<5x6xf32>) -> tensor<3x4x6xf32>
  %c = ditc.conv %img, %cw bias %cb {strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>,
                                    dilations = array<i64: 1, 1>, group = 1 : i64}
      : (tensor<1x3x8x8xf32>, tensor<4x3x2x2xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  %s = ditc.einsum %e0, %e1 {equation = "bij,bjk->bik"} : (tensor<2x3x4xf32>, tensor<2x4x5xf32>) -> tensor<2x3x5xf32>
  %y2 = ditc.exp %y : tensor<4x32xf32>
  %z2 = ditc.exp %z : tensor<3x4x6xf32>
  %c2 = ditc.exp %c : tensor<1x4x4x4xf32>
  %s2 = ditc.exp %s : tensor<2x3x5xf32>
  return %y2, %z2, %c2, %s2 : tensor<4x32xf32>, tensor<3x4x6xf32>, tensor<1x4x4x4xf32>, tensor<2x3x5xf32>
}

// -----

// Attention over B=1, H=2, Sq=8, Sk=16, D=Dv=4: 256 scores;
//   matrix 2*256*(4+4) = 4096; other 5*256 + 64 outputs = 1344 (+256 with an
//   additive mask). Causal: 36 of 128 scores per head kept (8*9/2), so the
//   kernel executes 0.28125 of the products. The toy machine runs attention
//   at half its matrix rate: 4096*0.28125/0.5e9 = 2.304 us + 1344/1e8 =
//   13.44 us, + 1 us.
// CHECK-LABEL: step 0 ditc.attention: matrix 4096 other 1344 read 1280 written 256 params 0 live 0 executed 0.2812
// CHECK-NEXT: step 1 ditc.attention: matrix 4096 other 1600 read 1792 written 256 params 128 live 0
// TIME-LABEL: step 0 ditc.attention: {{.*}} time 1.674E-05 compute
func.func @main(%q: tensor<1x2x8x4xf32>, %k: tensor<1x2x16x4xf32>, %v: tensor<1x2x16x4xf32>)
    -> (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) {
  %mask = ditc.weight "mask" {file = "m.onnx", offset = 0 : i64} : tensor<1x1x8x16xf32>
  %a = ditc.attention %q, %k, %v {causal} : (tensor<1x2x8x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>) -> tensor<1x2x8x4xf32>
  %b = ditc.attention %q, %k, %v mask %mask : (tensor<1x2x8x4xf32>, tensor<1x2x16x4xf32>, tensor<1x2x16x4xf32>, tensor<1x1x8x16xf32>) -> tensor<1x2x8x4xf32>
  return %a, %b : tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>
}

// -----

// Per-element counts over 32 elements: layer_norm with scale and bias 7,
// rms_norm with scale 4, softmax 5, gelu 8, silu 4, sigmoid 3, add 1;
// reduce_sum 1 per input element; rope 3 per rotated element (W=4 of D=8 on
// 64 elements: 8 rows * 4); data movement none. A weight read twice (%g) is
// a parameter once (16 elements in all).
// CHECK-LABEL: step 0 ditc.layer_norm: matrix 0 other 224 {{.*}} params 16
// CHECK-NEXT: step 1 ditc.rms_norm: matrix 0 other 128 {{.*}} params 0
// CHECK-NEXT: step 2 ditc.softmax: matrix 0 other 160
// CHECK-NEXT: step 3 ditc.gelu: matrix 0 other 256
// CHECK-NEXT: step 4 ditc.silu: matrix 0 other 128
// CHECK-NEXT: step 5 ditc.sigmoid: matrix 0 other 96
// CHECK-NEXT: step 6 ditc.add: matrix 0 other 32
// CHECK-NEXT: step 7 ditc.reduce_sum: matrix 0 other 32 read 128 written 16
// CHECK-NEXT: step 8 ditc.rope: matrix 0 other 96
// CHECK-NEXT: step 9 ditc.transpose: matrix 0 other 0 read 256 written 256
// CHECK-NEXT: step 10 ditc.reshape: matrix 0 other 0 read 0 written 0
// CHECK-NEXT: total: matrix 0 other 1152 {{.*}} params 16 param-bytes 64
// The transpose moves 512 B: 0.512 us at the toy machine's 1 GB/s, + 1 us;
// on one whose data movement runs at a quarter of it (efficiency.movement
// 0.25), 2.048 us + 1 us, while the add (an elementwise op, 256 B read and
// 128 B written: 0.384 us) keeps the memory rate.
// TIME: step 6 ditc.add: {{.*}} time 1.384E-06 memory
// TIME: step 9 ditc.transpose: {{.*}} time 1.512E-06 memory
// MOVE: step 6 ditc.add: {{.*}} time 1.384E-06 memory
// MOVE: step 9 ditc.transpose: {{.*}} time 3.048E-06 memory
func.func @main(%x: tensor<4x8xf32>, %r: tensor<1x2x4x8xf32>, %cos: tensor<4x4xf32>, %sin: tensor<4x4xf32>)
    -> (tensor<4x8xf32>, tensor<4x1xf32>, tensor<64xf32>) {
  %g = ditc.weight "g" {file = "m.onnx", offset = 0 : i64} : tensor<8xf32>
  %b = ditc.weight "b" {file = "m.onnx", offset = 32 : i64} : tensor<8xf32>
  %0 = ditc.layer_norm %x scale %g bias %b {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %1 = ditc.rms_norm %0 scale %g {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %2 = ditc.softmax %1 {axis = 1 : i64} : tensor<4x8xf32>
  %3 = ditc.gelu %2 : tensor<4x8xf32>
  %4 = ditc.silu %3 : tensor<4x8xf32>
  %5 = ditc.sigmoid %4 : tensor<4x8xf32>
  %6 = ditc.add %5, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %7 = ditc.reduce_sum %6 {axes = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %8 = ditc.rope %r, %cos, %sin : (tensor<1x2x4x8xf32>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x8xf32>
  %9 = ditc.transpose %8 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x4x8xf32>) -> tensor<1x4x2x8xf32>
  %10 = ditc.reshape %9 : (tensor<1x4x2x8xf32>) -> tensor<64xf32>
  return %6, %7, %10 : tensor<4x8xf32>, tensor<4x1xf32>, tensor<64xf32>
}

// -----

// The liveness curve is the memory plan's (ditc-plan-memory places %a at 0,
// gelu writes over it, %b at 1024, the add over %b, the reshape is a view
// and sigmoid writes the output buffer): live bytes while each op runs, the
// arena peak (2048) and the step where it is first reached (2, the second
// linear, with %g and %b live).
// CHECK-LABEL: step 0 ditc.linear: {{.*}} live 1024
// CHECK-NEXT: step 1 ditc.gelu: {{.*}} live 1024
// CHECK-NEXT: step 2 ditc.linear: {{.*}} live 2048
// CHECK-NEXT: step 3 ditc.add: {{.*}} live 1024
// CHECK-NEXT: step 4 ditc.reshape: {{.*}} live 1024
// CHECK-NEXT: step 5 ditc.sigmoid: {{.*}} live 1024
// CHECK: memory: arena 2048 peak-live 2048 peak-step 2
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

// Layers are found by structure: three repetitions of [layer_norm, linear,
// gelu, add] (same op names and types) between a prologue and an epilogue;
// names and weights play no part.
// CHECK-LABEL: layer 'prologue': steps 0..0
// CHECK-NEXT: layer 'block A.0': steps 1..4
// CHECK-NEXT: layer 'block A.1': steps 5..8
// CHECK-NEXT: layer 'block A.2': steps 9..12
// CHECK-NEXT: layer 'epilogue': steps 13..13
func.func @main(%x: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %w0 = ditc.weight "w0" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %w1 = ditc.weight "w1" {file = "m.onnx", offset = 1024 : i64} : tensor<16x16xf32>
  %w2 = ditc.weight "w2" {file = "m.onnx", offset = 2048 : i64} : tensor<16x16xf32>
  %h = ditc.exp %x : tensor<4x16xf32>
  %n0 = ditc.layer_norm %h {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %l0 = ditc.linear %n0, %w0 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %g0 = ditc.gelu %l0 : tensor<4x16xf32>
  %h0 = ditc.add %g0, %h : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %n1 = ditc.layer_norm %h0 {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %l1 = ditc.linear %n1, %w1 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %g1 = ditc.gelu %l1 : tensor<4x16xf32>
  %h1 = ditc.add %g1, %h0 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %n2 = ditc.layer_norm %h1 {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<4x16xf32>) -> tensor<4x16xf32>
  %l2 = ditc.linear %n2, %w2 : (tensor<4x16xf32>, tensor<16x16xf32>) -> tensor<4x16xf32>
  %g2 = ditc.gelu %l2 : tensor<4x16xf32>
  %h2 = ditc.add %g2, %h1 : (tensor<4x16xf32>, tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = ditc.sigmoid %h2 : tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}

// -----

// An embedding look-up reads the rows it takes, not the table: 16 i64
// indices (128 B) and 16 rows of 32 f32 (2048 B), though the table is
// 1000 x 32 (128000 B); its parameters are the whole table. A slice reads
// the region it returns: half of a 16 x 32 input (1024 of 2048 B).
// CHECK-LABEL: step 0 ditc.gather: matrix 0 other 0 read 2176 written 2048 params 32000
// CHECK-NEXT: step 1 ditc.slice: matrix 0 other 0 read 1024 written 1024 params 0
func.func @main(%ids: tensor<1x16xi64>) -> tensor<1x8x32xf32> {
  %t = ditc.weight "table" {file = "m.onnx", offset = 0 : i64} : tensor<1000x32xf32>
  %e = ditc.gather %t, %ids {axis = 0 : i64} : (tensor<1000x32xf32>, tensor<1x16xi64>) -> tensor<1x16x32xf32>
  %h = ditc.slice %e {offsets = array<i64: 0, 8, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x16x32xf32>) -> tensor<1x8x32xf32>
  return %h : tensor<1x8x32xf32>
}
