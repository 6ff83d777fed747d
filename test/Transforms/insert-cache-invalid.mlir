// RUN: not ditc-opt %s -ditc-insert-cache="kind=fbcache" 2>&1 | FileCheck %s --check-prefix=FB
// RUN: not ditc-opt %s -ditc-insert-cache="kind=teacache" 2>&1 | FileCheck %s --check-prefix=TEA

// No repeated blocks: nothing to skip.
// FB: error: --cache fbcache: the graph has no repeated transformer blocks to skip
// TEA: error: --cache teacache: the graph has no repeated transformer blocks to skip
func.func @main(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %y = ditc.add %x, %x : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}
