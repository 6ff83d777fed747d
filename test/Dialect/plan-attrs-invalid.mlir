// RUN: ditc-opt %s -split-input-file -verify-diagnostics

// expected-error@+1 {{ditc.mesh names axis 'a' twice}}
module attributes {ditc.mesh = #ditc.mesh<["a" = 2 : cfg, "a" = 2 : ulysses]>} {}

// -----

// expected-error@+1 {{ditc.mesh has two axes of kind 'ring'}}
module attributes {ditc.mesh = #ditc.mesh<["r1" = 2 : ring, "r2" = 2 : ring]>} {}

// -----

// expected-error@+1 {{ditc.mesh has a ring_inner axis and no ring axis (the outer ring of the double ring)}}
module attributes {ditc.mesh = #ditc.mesh<["inner" = 2 : ring_inner, "u" = 2 : ulysses]>} {}

// -----

// expected-error@+1 {{mesh axis 'cfg' has size 0 (must be at least 1)}}
module attributes {ditc.mesh = #ditc.mesh<["cfg" = 0 : cfg]>} {}

// -----

// expected-error@+1 {{unknown mesh axis kind 'sequence' (expected data, cfg, ring, ulysses, tensor, pipeline, pipefusion or ring_inner)}}
module attributes {ditc.mesh = #ditc.mesh<["sp" = 2 : sequence]>} {}

// -----

// expected-error@+1 {{malformed ditc.mesh: expected #ditc.mesh<["NAME" = SIZE : KIND, ...]>}}
module attributes {ditc.mesh = {axes = ["cfg"], shape = array<i64: 2>}} {}

// -----

module {
  // expected-error@+1 {{ditc.mesh belongs on a module}}
  func.func @f() attributes {ditc.mesh = #ditc.mesh<["cfg" = 2 : cfg]>} {
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @count(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{ditc.sharding needs one #ditc.sharding per result (1)}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>, #ditc.sharding<[{}, {}]>]} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @rank(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{ditc.sharding has 3 dimensions for a value of type 'tensor<2x8xf32>'}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{}, {"tp"}, {}]>]} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @unknown(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{sharding names 'ring', which is not an axis of the module's ditc.mesh}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{"ring"}, {}]>]} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

// Without a mesh, no axis exists.
module {
  func.func @no_mesh(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{sharding names 'tp', which is not an axis of the module's ditc.mesh}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{}, {"tp"}]>]} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @twice(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{sharding splits over axis 'tp' twice}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{"tp"}, {"tp"}]>]} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @untyped(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{ditc.sharding must be a #ditc.sharding<[...]>, got [[], ["tp"]]}}
    %a = ditc.neg %x {ditc.sharding = [[[], ["tp"]]]} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  // expected-error@+1 {{argument ditc.sharding has 1 dimensions for a value of type 'tensor<2x8xf32>'}}
  func.func @arg(%x: tensor<2x8xf32> {ditc.sharding = #ditc.sharding<[{"tp"}]>}) -> tensor<2x8xf32> {
    return %x : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @algorithm(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{ditc.sequence_parallel belongs on a ditc.attention}}
    %a = ditc.neg %x {ditc.sequence_parallel = #ditc.sequence_parallel<ulysses>} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @algorithm_type(%x: tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32> {
    // expected-error@+1 {{ditc.sequence_parallel must be a #ditc.sequence_parallel<ulysses|ring|usp>}}
    %o = ditc.attention %x, %x, %x {ditc.sequence_parallel = "ulysses"} : (tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x8x4xf32>
    return %o : tensor<1x2x8x4xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @shard(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
    // expected-error@+1 {{ditc.shard belongs on a ditc.weight}}
    %a = ditc.neg %x {ditc.shard = #ditc.sharding<[{}, {"tp"}]>} : tensor<2x8xf32>
    return %a : tensor<2x8xf32>
  }
}

// -----

// expected-error@+1 {{ditc.mesh has both a pipeline and a pipefusion axis (both cut the layers into stages)}}
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline, "pf" = 2 : pipefusion]>} {}

// -----

// expected-error@+1 {{ditc.patches needs a mesh axis of kind pipefusion}}
module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>, ditc.patches = 2 : i64} {}

// -----

// expected-error@+1 {{ditc.patches must be a positive integer on a module}}
module attributes {ditc.mesh = #ditc.mesh<["pipefusion" = 2 : pipefusion]>, ditc.patches = 0 : i64} {}

// -----

func.func @pieces_op(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.token_pieces belongs on a ditc.concat, a ditc.split or a ditc.slice along one axis}}
  %a = ditc.neg %x {ditc.token_pieces = array<i64: 5, 3>} : tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

func.func @pieces_concat(%x: tensor<2x5xf32>, %y: tensor<2x3xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.token_pieces array<i64: 4, 4> are not the pieces this op joins along axis 1}}
  %a = ditc.concat %x, %y {axis = 1 : i64, ditc.token_pieces = array<i64: 4, 4>} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

func.func @pieces_slice(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  // expected-error@+1 {{ditc.token_pieces array<i64: 5, 3> are not the pieces this op takes one of along axis 1}}
  %a = ditc.slice %x {ditc.token_pieces = array<i64: 5, 3>, offsets = array<i64: 0, 1>, steps = array<i64: 1, 1>} : (tensor<2x8xf32>) -> tensor<2x4xf32>
  return %a : tensor<2x4xf32>
}

// -----

func.func @pieces_split(%x: tensor<2x8xf32>) -> (tensor<2x6xf32>, tensor<2x2xf32>) {
  // expected-error@+1 {{ditc.token_pieces array<i64: 5, 3> are not the pieces this op splits into along axis 1}}
  %a:2 = ditc.split %x {axis = 1 : i64, ditc.token_pieces = array<i64: 5, 3>} : (tensor<2x8xf32>) -> (tensor<2x6xf32>, tensor<2x2xf32>)
  return %a#0, %a#1 : tensor<2x6xf32>, tensor<2x2xf32>
}

// -----

func.func @pieces_type(%x: tensor<2x5xf32>, %y: tensor<2x3xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.token_pieces must be an array<i64> of two or more positive lengths}}
  %a = ditc.concat %x, %y {axis = 1 : i64, ditc.token_pieces = array<i64: 8>} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

func.func @whole_alone(%x: tensor<2x5xf32>, %y: tensor<2x3xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.whole_pieces needs ditc.token_pieces on the same op}}
  %a = ditc.concat %x, %y {axis = 1 : i64, ditc.whole_pieces = array<i64: 1>} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

func.func @whole_all(%x: tensor<2x5xf32>, %y: tensor<2x3xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.whole_pieces must be an array<i64> of some, not all, of the 2 pieces}}
  %a = ditc.concat %x, %y {axis = 1 : i64, ditc.token_pieces = array<i64: 5, 3>, ditc.whole_pieces = array<i64: 0, 1>} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

func.func @whole_index(%x: tensor<2x5xf32>, %y: tensor<2x3xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.whole_pieces must list ascending piece indices below 2}}
  %a = ditc.concat %x, %y {axis = 1 : i64, ditc.token_pieces = array<i64: 5, 3>, ditc.whole_pieces = array<i64: 2>} : (tensor<2x5xf32>, tensor<2x3xf32>) -> tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

func.func @replicated(%x: tensor<2x8xf32>) -> tensor<2x8xf32> {
  // expected-error@+1 {{ditc.replicated must be a string (the reason)}}
  %a = ditc.neg %x {ditc.replicated = 1 : i64} : tensor<2x8xf32>
  return %a : tensor<2x8xf32>
}

// -----

// A weight's window (a part of a joined weight) lies inside the stored tensor.
func.func @window_outside() -> tensor<4x8xf32> {
  // expected-error@+1 {{window dimension 1 ends outside the stored tensor}}
  %w = ditc.weight "w@cols12+8" {ditc.global_shape = array<i64: 4, 16>, ditc.window_offset = array<i64: 0, 12>, ditc.window_shape = array<i64: 4, 8>, file = "m.onnx", offset = 0 : i64} : tensor<4x8xf32>
  return %w : tensor<4x8xf32>
}

// -----

func.func @window_without_stored_shape() -> tensor<4x8xf32> {
  // expected-error@+1 {{a window needs ditc.window_offset, ditc.window_shape and ditc.global_shape of the weight's rank}}
  %w = ditc.weight "w@cols0+8" {ditc.window_offset = array<i64: 0, 0>, ditc.window_shape = array<i64: 4, 8>, file = "m.onnx", offset = 0 : i64} : tensor<4x8xf32>
  return %w : tensor<4x8xf32>
}
