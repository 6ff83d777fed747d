// RUN: ditc-opt %s -split-input-file -verify-diagnostics

func.func @count(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{count must be >= 1, got 0}}
  %y = ditc.chunk (%x) {count = 0 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    ditc.yield %c : tensor<2x16xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @more(%x: tensor<2x6xf32>) -> tensor<2x6xf32> {
  // expected-error@+1 {{input 0: 8 chunks are more than its dimension 1 of size 6}}
  %y = ditc.chunk (%x) {count = 8 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x6xf32>) -> tensor<2x6xf32> {
  ^bb0(%c: tensor<2x1xf32>):
    ditc.yield %c : tensor<2x1xf32>
  }
  return %y : tensor<2x6xf32>
}

// -----

// 8 chunks of 60: chunks of 8, the last starting at 52.
func.func @uneven_type(%x: tensor<2x60xf32>) -> tensor<2x60xf32> {
  // expected-error@+1 {{body argument 0 has type 'tensor<2x7xf32>', expected 'tensor<2x8xf32>'}}
  %y = ditc.chunk (%x) {count = 8 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x60xf32>) -> tensor<2x60xf32> {
  ^bb0(%c: tensor<2x7xf32>):
    ditc.yield %c : tensor<2x7xf32>
  }
  return %y : tensor<2x60xf32>
}

// -----

// An uneven loop cuts dimensions of one size: 3 chunks of 64 and of 30
// would not line up.
func.func @uneven_sizes(%x: tensor<2x64xf32>, %z: tensor<30x2xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{input 1: its dimension 0 of size 30 differs from the size 64 that the count does not divide}}
  %y = ditc.chunk (%x, %z) {count = 3 : i64, input_dims = array<i64: 1, 0>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>, tensor<30x2xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x22xf32>, %d: tensor<10x2xf32>):
    ditc.yield %c : tensor<2x22xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @uneven_offset(%q: tensor<1x1x60x8xf32>, %k: tensor<1x1x60x8xf32>) -> tensor<1x1x60x8xf32> {
  %y = ditc.chunk (%q) {count = 8 : i64, input_dims = array<i64: 2>, result_dims = array<i64: 2>}
      : (tensor<1x1x60x8xf32>) -> tensor<1x1x60x8xf32> {
  ^bb0(%c: tensor<1x1x8x8xf32>):
    // expected-error@+1 {{stride 7 is not the chunk size 8 of its uneven loop (8 chunks of 60)}}
    %o = ditc.chunk_offset {stride = 7 : i64} : tensor<i64>
    %a = ditc.attention %c, %k, %k query_offset %o {causal}
        : (tensor<1x1x8x8xf32>, tensor<1x1x60x8xf32>, tensor<1x1x60x8xf32>, tensor<i64>) -> tensor<1x1x8x8xf32>
    ditc.yield %a : tensor<1x1x8x8xf32>
  }
  return %y : tensor<1x1x60x8xf32>
}

// -----

func.func @rank(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{input 0: dimension 2 is outside its rank 2}}
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 2>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    ditc.yield %c : tensor<2x16xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @dims(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{input_dims has 2 entries for 1 inputs}}
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1, 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    ditc.yield %c : tensor<2x16xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @argument(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{body argument 0 has type 'tensor<2x64xf32>', expected 'tensor<2x16xf32>'}}
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x64xf32>):
    %s = ditc.slice %c {offsets = array<i64: 0, 0>, sizes = array<i64: 2, 16>, steps = array<i64: 1, 1>} : (tensor<2x64xf32>) -> tensor<2x16xf32>
    ditc.yield %s : tensor<2x16xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @yield(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{yielded value 0 has type 'tensor<2x64xf32>', expected 'tensor<2x16xf32>'}}
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    %b = ditc.concat %c, %c, %c, %c {axis = 1 : i64} : (tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x64xf32>
    ditc.yield %b : tensor<2x64xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @yield_count(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{the body yields 0 values for 1 results}}
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    ditc.yield
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @parent(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  // expected-error@+1 {{expects parent op 'ditc.chunk'}}
  ditc.yield %x : tensor<2x64xf32>
}

// -----

func.func @offset_parent() -> tensor<i64> {
  // expected-error@+1 {{expects parent op 'ditc.chunk'}}
  %o = ditc.chunk_offset {stride = 4 : i64} : tensor<i64>
  return %o : tensor<i64>
}

// -----

func.func @offset_stride(%x: tensor<2x64xf32>) -> tensor<2x64xf32> {
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    // expected-error@+1 {{stride must be positive}}
    %o = ditc.chunk_offset {stride = 0 : i64} : tensor<i64>
    ditc.yield %c : tensor<2x16xf32>
  }
  return %y : tensor<2x64xf32>
}

// -----

func.func @offset_not_causal(%q: tensor<1x2x8x8xf32>, %k: tensor<1x2x64x8xf32>, %o: tensor<i64>) -> tensor<1x2x8x8xf32> {
  // expected-error@+1 {{query_offset is for causal attention only}}
  %a = ditc.attention %q, %k, %k query_offset %o
      : (tensor<1x2x8x8xf32>, tensor<1x2x64x8xf32>, tensor<1x2x64x8xf32>, tensor<i64>) -> tensor<1x2x8x8xf32>
  return %a : tensor<1x2x8x8xf32>
}

// -----

func.func @offset_base(%x: tensor<2x64xf32>, %b: tensor<i64>) -> tensor<2x64xf32> {
  %y = ditc.chunk (%x) {count = 4 : i64, input_dims = array<i64: 1>, result_dims = array<i64: 1>}
      : (tensor<2x64xf32>) -> tensor<2x64xf32> {
  ^bb0(%c: tensor<2x16xf32>):
    // expected-error@+1 {{base must be the ditc.chunk_offset of an enclosing loop}}
    %o = ditc.chunk_offset base %b {stride = 16 : i64} : tensor<i64>
    ditc.yield %c : tensor<2x16xf32>
  }
  return %y : tensor<2x64xf32>
}
