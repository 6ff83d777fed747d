// RUN: ditc-opt %s -split-input-file -verify-diagnostics -ditc-propagate-sharding

// Two different splits tied together through an op.
module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ulysses" = 2 : ulysses]>} {
  func.func @conflict(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
    // expected-note@+1 {{split here}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{}, {"ring"}, {}]>]} : tensor<2x8x16xf32>
    // expected-error@+1 {{dimension 1 is split over [ulysses], but it is tied to a dimension split over [ring]}}
    %b = ditc.neg %a {ditc.sharding = [#ditc.sharding<[{}, {"ulysses"}, {}]>]} : tensor<2x8x16xf32>
    return %b : tensor<2x8x16xf32>
  }
}

// -----

module attributes {ditc.mesh = #ditc.mesh<["ring" = 2 : ring]>} {
  func.func @unknown(%x: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
    // expected-error@+1 {{sharding names 'tp', which is not an axis of the module's ditc.mesh}}
    %a = ditc.neg %x {ditc.sharding = [#ditc.sharding<[{}, {"tp"}, {}]>]} : tensor<2x8x16xf32>
    return %a : tensor<2x8x16xf32>
  }
}

// -----

// expected-error@+1 {{malformed ditc.mesh}}
module attributes {ditc.mesh = {axes = ["ring"], shape = array<i64: 2, 2>}} {
  func.func @bad_mesh(%x: tensor<2xf32>) -> tensor<2xf32> {
    return %x : tensor<2xf32>
  }
}
