// Joint attention (two streams joined along the tokens, attended, cut back
// by a slice and a split): the module fuzz_plans.py plans (plan-fuzz.test).
module {
  func.func @main(%x: tensor<1x5x4xf32>, %c: tensor<1x3x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>) {
    %xr = ditc.reshape %x : (tensor<1x5x4xf32>) -> tensor<1x5x2x2xf32>
    %xt = ditc.transpose %xr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x5x2x2xf32>) -> tensor<1x2x5x2xf32>
    %cr = ditc.reshape %c : (tensor<1x3x4xf32>) -> tensor<1x3x2x2xf32>
    %ct = ditc.transpose %cr {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x3x2x2xf32>) -> tensor<1x2x3x2xf32>
    %j = ditc.concat %xt, %ct {axis = 2 : i64} : (tensor<1x2x5x2xf32>, tensor<1x2x3x2xf32>) -> tensor<1x2x8x2xf32>
    %a = ditc.attention %j, %j, %j : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %o = ditc.attention %a, %a, %a : (tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>, tensor<1x2x8x2xf32>) -> tensor<1x2x8x2xf32>
    %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<1x2x8x2xf32>) -> tensor<1x8x2x2xf32>
    %or = ditc.reshape %ot : (tensor<1x8x2x2xf32>) -> tensor<1x8x4xf32>
    %ox = ditc.slice %or {offsets = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x5x4xf32>
    %s:2 = ditc.split %or {axis = 1 : i64} : (tensor<1x8x4xf32>) -> (tensor<1x5x4xf32>, tensor<1x3x4xf32>)
    %mid = ditc.slice %or {offsets = array<i64: 0, 2, 0>, steps = array<i64: 1, 1, 1>} : (tensor<1x8x4xf32>) -> tensor<1x4x4xf32>
    return %ox, %s#1, %mid : tensor<1x5x4xf32>, tensor<1x3x4xf32>, tensor<1x4x4xf32>
  }
}
