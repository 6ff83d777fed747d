// RUN: ditc-opt %s -split-input-file -ditc-propagate-sharding | FileCheck %s

// Pooling, cumsum and argmax keep samples apart: a split of the samples
// reaches the pooled values and their indices, the running sums (along
// another axis) and the argmax over channels.
// CHECK-LABEL: func.func @samples
// CHECK: ditc.pool {{.*}}ditc.sharding = [#ditc.sharding<[{"ring"}, {}, {}, {}]>, #ditc.sharding<[{"ring"}, {}, {}, {}]>]
// CHECK: ditc.cumsum {{.*}}ditc.sharding = [#ditc.sharding<[{"ring"}, {}, {}, {}]>]
// CHECK: ditc.argmax {{.*}}ditc.sharding = [#ditc.sharding<[{"ring"}, {}, {}]>]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @samples(%x: tensor<4x3x8x8xf32>) -> (tensor<4x3x4x4xf32>, tensor<4x3x4x4xi64>, tensor<4x3x8x8xf32>, tensor<4x8x8xi64>) {
    %a = ditc.abs %x {ditc.sharding = [#ditc.sharding<[{"ring"}, {}, {}, {}]>]} : tensor<4x3x8x8xf32>
    %m, %i = ditc.pool %a {kind = #ditc.pool_kind<max>, kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>} : (tensor<4x3x8x8xf32>) -> (tensor<4x3x4x4xf32>, tensor<4x3x4x4xi64>)
    %c = ditc.cumsum %a {axis = 3 : i64} : tensor<4x3x8x8xf32>
    %g = ditc.argmax %a {axis = 1 : i64, keep_dims = false} : (tensor<4x3x8x8xf32>) -> tensor<4x8x8xi64>
    return %m, %i, %c, %g : tensor<4x3x4x4xf32>, tensor<4x3x4x4xi64>, tensor<4x3x8x8xf32>, tensor<4x8x8xi64>
  }
}

// -----

// The scan axis of cumsum and the reduced axis of argmax stay whole.
// CHECK-LABEL: func.func @scan_axis
// CHECK: ditc.cumsum
// CHECK-NOT: sharding
// CHECK: ditc.argmax
// CHECK-NOT: sharding
// CHECK: return
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @scan_axis(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4xi64>) {
    %a = ditc.abs %x {ditc.sharding = [#ditc.sharding<[{}, {"ring"}]>]} : tensor<4x8xf32>
    %c = ditc.cumsum %a {axis = 1 : i64} : tensor<4x8xf32>
    %g = ditc.argmax %a {axis = 1 : i64, keep_dims = false} : (tensor<4x8xf32>) -> tensor<4xi64>
    return %c, %g : tensor<4x8xf32>, tensor<4xi64>
  }
}

// -----

// ScatterElements off its axis ties data, indices, updates and result
// where the indices span the data dimension; ScatterND ties the data's
// trailing (sliced) dimensions to the updates'. The indexed dimensions stay
// whole.
// CHECK-LABEL: func.func @scatters
// CHECK-SAME: %arg1: tensor<4x2xi64> {ditc.sharding = #ditc.sharding<[{"ring"}, {}]>}
// CHECK-SAME: %arg2: tensor<4x2xf32> {ditc.sharding = #ditc.sharding<[{"ring"}, {}]>}
// CHECK-SAME: %arg3: tensor<3x1xi64>,
// CHECK-SAME: %arg4: tensor<3x4xf32> {ditc.sharding = #ditc.sharding<[{}, {"ring"}]>}
// CHECK: ditc.abs {{.*}}ditc.sharding = [#ditc.sharding<[{"ring"}, {}]>]
// CHECK: ditc.scatter_elements {{.*}}ditc.sharding = [#ditc.sharding<[{"ring"}, {}]>]
// CHECK: ditc.transpose
// CHECK: ditc.scatter_nd {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"ring"}]>]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @scatters(%d: tensor<4x6xf32>, %i: tensor<4x2xi64>, %u: tensor<4x2xf32>, %j: tensor<3x1xi64>, %r: tensor<3x4xf32>) -> (tensor<4x6xf32>, tensor<6x4xf32>) {
    %a = ditc.abs %d {ditc.sharding = [#ditc.sharding<[{"ring"}, {}]>]} : tensor<4x6xf32>
    %s = ditc.scatter_elements %a, %i, %u {axis = 1 : i64, reduction = #ditc.scatter_reduction<none>} : (tensor<4x6xf32>, tensor<4x2xi64>, tensor<4x2xf32>) -> tensor<4x6xf32>
    %t = ditc.transpose %s {permutation = array<i64: 1, 0>} : (tensor<4x6xf32>) -> tensor<6x4xf32>
    %n = ditc.scatter_nd %t, %j, %r {reduction = #ditc.scatter_reduction<none>} : (tensor<6x4xf32>, tensor<3x1xi64>, tensor<3x4xf32>) -> tensor<6x4xf32>
    return %s, %n : tensor<4x6xf32>, tensor<6x4xf32>
  }
}

// -----

// Det computes each matrix on its own: the batch dimension follows; the
// matrix dimensions stay whole.
// CHECK-LABEL: func.func @det
// CHECK: ditc.det {{.*}}ditc.sharding = [#ditc.sharding<[{"ring"}]>]
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @det(%x: tensor<4x3x3xf32>) -> tensor<4xf32> {
    %a = ditc.abs %x {ditc.sharding = [#ditc.sharding<[{"ring"}, {}, {}]>]} : tensor<4x3x3xf32>
    %d = ditc.det %a : (tensor<4x3x3xf32>) -> tensor<4xf32>
    return %d : tensor<4xf32>
  }
}
