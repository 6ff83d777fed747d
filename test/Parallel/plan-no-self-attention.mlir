// Sequence parallelism needs self-attention to split.
// RUN: not ditc-opt %s -ditc-plan="plan=ring=2" 2>&1 | FileCheck %s
// CHECK: error: plan 'ring=2': sequence parallelism (ring) needs self-attention, and the graph has none
func.func @main(%q: tensor<2x2x8x8xf32>, %kv: tensor<2x2x4x8xf32>) -> tensor<2x2x8x8xf32> {
  %a = ditc.attention %q, %kv, %kv : (tensor<2x2x8x8xf32>, tensor<2x2x4x8xf32>, tensor<2x2x4x8xf32>) -> tensor<2x2x8x8xf32>
  return %a : tensor<2x2x8x8xf32>
}
