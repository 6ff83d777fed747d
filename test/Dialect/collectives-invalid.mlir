// RUN: ditc-opt %s -split-input-file -verify-diagnostics

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @gather_size(%a: tensor<2x4x16xf32>) {
    // expected-error@+1 {{result dimension 1 should be 8 for a group of 2}}
    %0 = ditc.collective.all_gather %a {axis = 1 : i64, axes = ["ulysses"]} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @unknown_axis(%a: tensor<2x4x16xf32>) {
    // expected-error@+1 {{axis 'tp' is not an axis of the module's ditc.mesh}}
    %0 = ditc.collective.all_reduce %a {axes = ["tp"]} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 4 : ulysses]>} {
  func.func @indivisible(%a: tensor<2x6x16xf32>) {
    // expected-error@+1 {{dimension 1 (6) does not divide by the group size 4}}
    %0 = ditc.collective.shard %a {axis = 1 : i64, axes = ["ulysses"]} : (tensor<2x6x16xf32>) -> tensor<2x1x16xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @same_axes(%a: tensor<2x4x16xf32>) {
    // expected-error@+1 {{split_axis and concat_axis must differ}}
    %0 = ditc.collective.all_to_all %a {split_axis = 1 : i64, concat_axis = 1 : i64, axes = ["ulysses"]} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses]>} {
  func.func @no_axes(%a: tensor<2x4x16xf32>) {
    // expected-error@+1 {{needs at least one mesh axis}}
    %0 = ditc.collective.all_reduce %a {axes = []} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @ring_seq_major_count(%q: tensor<1x4x4x8xf32>) {
    // expected-error@+1 {{seq_major needs four entries (query, key, value, result), not 3}}
    %0 = ditc.ring_attention %q, %q, %q {axes = ["ring"], kv_valid = 0 : i64, seq_major = array<i1: true, true, true>} : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// -----

// The result read in its layout: [B, Sq, H, Dv] = 1x6x4x8, not 1x4x6x8.
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @ring_seq_major_result(%q: tensor<1x6x4x8xf32>) {
    // expected-error@+1 {{result must be [B, H, Sq, Dv] (in its layout)}}
    %0 = ditc.ring_attention %q, %q, %q {axes = ["ring"], kv_valid = 0 : i64, seq_major = array<i1: true, true, true, true>} : (tensor<1x6x4x8xf32>, tensor<1x6x4x8xf32>, tensor<1x6x4x8xf32>) -> tensor<1x4x6x8xf32>
    return
  }
}

// -----

// Seq-major keys read as [B, S, H, D]: 3 key heads do not group 4.
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @ring_seq_major_heads(%q: tensor<1x4x4x8xf32>, %k: tensor<1x4x3x8xf32>) {
    // expected-error@+1 {{key/value lengths differ or heads do not group}}
    %0 = ditc.ring_attention %q, %k, %k {axes = ["ring"], kv_valid = 0 : i64, seq_major = array<i1: false, true, true, false>} : (tensor<1x4x4x8xf32>, tensor<1x4x3x8xf32>, tensor<1x4x3x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @ring_shape(%q: tensor<1x4x4x8xf32>, %kv: tensor<1x3x4x8xf32>) {
    // expected-error@+1 {{key/value lengths differ or heads do not group}}
    %0 = ditc.ring_attention %q, %kv, %kv {axes = ["ring"], kv_valid = 0 : i64} : (tensor<1x4x4x8xf32>, tensor<1x3x4x8xf32>, tensor<1x3x4x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>} {
  func.func @inner_all(%q: tensor<1x4x4x8xf32>) {
    // expected-error@+1 {{inner must be the trailing axes of axes, not all of them}}
    %0 = ditc.ring_attention %q, %q, %q {axes = ["ring", "ring_inner"], inner = ["ring", "ring_inner"], kv_valid = 0 : i64} : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>} {
  func.func @inner_leading(%q: tensor<1x4x4x8xf32>) {
    // expected-error@+1 {{inner must be the trailing axes of axes, not all of them}}
    %0 = ditc.ring_attention %q, %q, %q {axes = ["ring", "ring_inner"], inner = ["ring"], kv_valid = 0 : i64} : (tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>, tensor<1x4x4x8xf32>) -> tensor<1x4x4x8xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["tp" = 2 : tensor]>} {
  func.func @twice(%a: tensor<2x4x16xf32>) {
    // expected-error@+1 {{names axis 'tp' twice}}
    %0 = ditc.collective.all_reduce %a {axes = ["tp", "tp"]} : (tensor<2x4x16xf32>) -> tensor<2x4x16xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @send_peer(%a: tensor<2x4xf32>) {
    // expected-error@+1 {{peer 2 is not a rank of the group of 2}}
    ditc.collective.send %a {axes = ["pp"], peer = 2 : i64, tag = 0 : i64} : tensor<2x4xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @recv_tag() {
    // expected-error@+1 {{tag must be >= 0}}
    %0 = ditc.collective.recv {axes = ["pp"], peer = 0 : i64, tag = -1 : i64} : tensor<2x4xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @broadcast_root(%a: tensor<2x4xf32>) {
    // expected-error@+1 {{root -1 is not a rank of the group of 2}}
    %0 = ditc.collective.broadcast %a {axes = ["pp"], root = -1 : i64} : (tensor<2x4xf32>) -> tensor<2x4xf32>
    return
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline]>} {
  func.func @broadcast_type(%a: tensor<2x4xf32>) {
    // expected-error@+1 {{result type must equal the input type}}
    %0 = ditc.collective.broadcast %a {axes = ["pp"], root = 0 : i64} : (tensor<2x4xf32>) -> tensor<4x2xf32>
    return
  }
}

// -----

func.func @kv_cache_axis(%a: tensor<1x2x4x8xf32>) {
  // expected-error@+1 {{axis 4 is not a dimension of both the input and the buffer}}
  %0 = ditc.kv_cache_update %a {cache = 0 : i64, axis = 4 : i64, offset = 0 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  return
}

// -----

func.func @kv_cache_dims(%a: tensor<1x2x4x8xf32>) {
  // expected-error@+1 {{input and buffer differ in dimension 1}}
  %0 = ditc.kv_cache_update %a {cache = 0 : i64, axis = 2 : i64, offset = 0 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @kv_cache_outside(%a: tensor<1x2x4x8xf32>) {
  // expected-error@+1 {{blocks at offset 6 end at 10, outside the buffer's 8}}
  %0 = ditc.kv_cache_update %a {cache = 0 : i64, axis = 2 : i64, offset = 6 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x8x8xf32>
  return
}

// -----

func.func @kv_cache_blocks(%a: tensor<1x2x4x8xf32>) {
  // expected-error@+1 {{blocks 3 do not divide the input's 4}}
  %0 = ditc.kv_cache_update %a {cache = 0 : i64, axis = 2 : i64, offset = 0 : i64, blocks = 3 : i64, stride = 4 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @kv_cache_stride(%a: tensor<1x2x4x8xf32>) {
  // expected-error@+1 {{stride 1 is below the block size 2}}
  %0 = ditc.kv_cache_update %a {cache = 0 : i64, axis = 2 : i64, offset = 0 : i64, blocks = 2 : i64, stride = 1 : i64} : (tensor<1x2x4x8xf32>) -> tensor<1x2x16x8xf32>
  return
}

// -----

func.func @schedule_select_types(%a: tensor<2x4xf32>, %b: tensor<4x2xf32>) {
  // expected-error@+1 {{failed to verify that all of {synchronous, stale, result} have same type}}
  %0 = "ditc.schedule_select"(%a, %b) : (tensor<2x4xf32>, tensor<4x2xf32>) -> tensor<2x4xf32>
  return
}
