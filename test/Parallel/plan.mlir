// RUN: ditc-opt %s -ditc-plan="plan=ulysses=2,tp=2 devices=4" -ditc-split-joined-linears -ditc-repeat-kv-heads -ditc-pad-tensor-parallel -ditc-seed-tensor-parallel | FileCheck %s
// RUN: ditc-opt %s -ditc-plan="plan=cfg=2,ring=2" | FileCheck %s --check-prefix=CFG
// RUN: ditc-opt %s -ditc-plan="plan=tp=2,pp=2" | FileCheck %s --check-prefix=PP
// RUN: ditc-opt %s -ditc-plan="plan=ring=2,ulysses=2" | FileCheck %s --check-prefix=USP
// RUN: ditc-opt %s -ditc-plan="plan=ring=2,ulysses=2,context_first=1" | FileCheck %s --check-prefix=CTX
// RUN: ditc-opt %s -ditc-plan="plan=ring=2,ring_inner=2" | FileCheck %s --check-prefix=DOUBLE
// RUN: ditc-opt %s -ditc-plan="plan=ring_inner=2,ring=2,ulysses=2" | FileCheck %s --check-prefix=DOUBLE_USP
// RUN: ditc-opt %s -ditc-plan="plan=ring=2,ring_inner=2,ulysses=2,context_first=1" | FileCheck %s --check-prefix=DOUBLE_CTX

// The mesh keeps axes of degree > 1 in the order pp, dp, cfg, ring, ulysses, tp;
// seeds: every self-attention's Q/K/V tokens (sequence axes), the heads of
// the query, and the hidden units between a column- and a row-parallel
// linear layer (tp).
// CHECK: module attributes {ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses, "tp" = 2 : tensor]>, ditc.plan = "ulysses=2,tp=2"}
// CHECK-LABEL: func.func @main
// CHECK: %[[Q:.*]] = ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {"tp"}, {"ulysses"}, {}]>]
// CHECK: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ulysses"}, {}]>]
// CHECK: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ulysses"}, {}]>]
// The attention records the algorithm its split tokens run.
// CHECK: ditc.attention %[[Q]]{{.*}}ditc.sequence_parallel = #ditc.sequence_parallel<ulysses>
// CHECK-NOT: ditc.sharding
// CHECK: return

// Pipeline stages are the outermost axis; pp seeds nothing
// (-ditc-pipeline-stages cuts the partitioned program).
// PP: ditc.mesh = #ditc.mesh<["pp" = 2 : pipeline, "tp" = 2 : tensor]>, ditc.plan = "pp=2,tp=2"
// PP-NOT: ditc.sequence_parallel

// Both sequence axes: USP (ring across groups, ulysses within).
// USP: ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ulysses" = 2 : ulysses]>
// Context-first placement: the ring groups are the neighbouring ranks (the
// last mesh axis); the tokens stay split ring-major ([ring, ulysses]).
// CTX: ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses, "ring" = 2 : ring]>, ditc.plan = "ulysses=2,ring=2,context_first=1"
// CTX: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring", "ulysses"}, {}]>]
// USP: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring", "ulysses"}, {}]>]
// USP: ditc.attention {{.*}}ditc.sequence_parallel = #ditc.sequence_parallel<usp>

// A double ring: ring=2 groups of ring_inner=2 (the inner rings next to each
// other in the mesh, after the outer ring); the tokens split ring-major over
// [ring, ring_inner] (ring rank g * I + i holds block g * I + i), then
// ulysses; the degrees multiply to the devices. Context-first puts ulysses
// before both ring axes.
// DOUBLE: ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>, ditc.plan = "ring=2,ring_inner=2"
// DOUBLE: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring", "ring_inner"}, {}]>]
// DOUBLE: ditc.attention {{.*}}ditc.sequence_parallel = #ditc.sequence_parallel<ring>
// DOUBLE_USP: ditc.mesh = #ditc.mesh<["ring" = 2 : ring, "ring_inner" = 2 : ring_inner, "ulysses" = 2 : ulysses]>, ditc.plan = "ring=2,ring_inner=2,ulysses=2"
// DOUBLE_USP: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring", "ring_inner", "ulysses"}, {}]>]
// DOUBLE_USP: ditc.attention {{.*}}ditc.sequence_parallel = #ditc.sequence_parallel<usp>
// DOUBLE_CTX: ditc.mesh = #ditc.mesh<["ulysses" = 2 : ulysses, "ring" = 2 : ring, "ring_inner" = 2 : ring_inner]>, ditc.plan = "ulysses=2,ring=2,ring_inner=2,context_first=1"
// DOUBLE_CTX: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring", "ring_inner", "ulysses"}, {}]>]

// The batch of the first output (cfg), ring before ulysses on the tokens.
// CFG: ditc.mesh = #ditc.mesh<["cfg" = 2 : cfg, "ring" = 2 : ring]>, ditc.plan = "cfg=2,ring=2"
// CFG: ditc.transpose {{.*}}ditc.sharding = [#ditc.sharding<[{}, {}, {"ring"}, {}]>]
// CFG: ditc.attention {{.*}}ditc.sequence_parallel = #ditc.sequence_parallel<ring>
// CFG: ditc.layer_norm {{.*}}ditc.sharding = [#ditc.sharding<[{"cfg"}, {}, {}]>]
func.func @main(%x: tensor<2x8x16xf32> {ditc.name = "x"}) -> (tensor<2x8x16xf32> {ditc.name = "y"}) {
  %wq = ditc.weight "wq" {file = "m.onnx", offset = 0 : i64} : tensor<16x16xf32>
  %wk = ditc.weight "wk" {file = "m.onnx", offset = 1024 : i64} : tensor<16x16xf32>
  %wv = ditc.weight "wv" {file = "m.onnx", offset = 2048 : i64} : tensor<16x16xf32>
  %wo = ditc.weight "wo" {file = "m.onnx", offset = 3072 : i64} : tensor<16x16xf32>
  %bo = ditc.weight "bo" {file = "m.onnx", offset = 4096 : i64} : tensor<16xf32>
  %q = ditc.linear %x, %wq : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %k = ditc.linear %x, %wk : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %v = ditc.linear %x, %wv : (tensor<2x8x16xf32>, tensor<16x16xf32>) -> tensor<2x8x16xf32>
  %q4 = ditc.reshape %q : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %k4 = ditc.reshape %k : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %v4 = ditc.reshape %v : (tensor<2x8x16xf32>) -> tensor<2x8x2x8xf32>
  %qt = ditc.transpose %q4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %kt = ditc.transpose %k4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %vt = ditc.transpose %v4 {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x8x2x8xf32>) -> tensor<2x2x8x8xf32>
  %o = ditc.attention %qt, %kt, %vt : (tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>, tensor<2x2x8x8xf32>) -> tensor<2x2x8x8xf32>
  %ot = ditc.transpose %o {permutation = array<i64: 0, 2, 1, 3>} : (tensor<2x2x8x8xf32>) -> tensor<2x8x2x8xf32>
  %o3 = ditc.reshape %ot : (tensor<2x8x2x8xf32>) -> tensor<2x8x16xf32>
  %y = ditc.linear %o3, %wo bias %bo : (tensor<2x8x16xf32>, tensor<16x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  %r = ditc.add %y, %x : (tensor<2x8x16xf32>, tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  %n = ditc.layer_norm %r {axis = 2 : i64, epsilon = 1.0e-06 : f64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  return %n : tensor<2x8x16xf32>
}
